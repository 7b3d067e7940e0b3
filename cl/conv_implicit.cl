/* Implicit-GEMM convolution on NCHW tensors (src/ops/conv_implicit.c): every product is a
 * tiled GEMM whose operand tiles are gathered straight from the images into local memory,
 * with no column buffer and no pack pass.
 *
 * Geometry of one convolution: the image X [N][C][H][W] is convolved by W [F][C][KS][KS]
 * (stride CS, padding pad) into the positions Y [N][F][Ho][Wo], P = Ho*Wo.
 *   conv_fwd       Y = conv(X)                 M = F, columns N*P,    K = C*KS*KS
 *   conv_bwd_data  X = conv^T(Y)  (a gather)   M = C, columns N*H*W,  K = F*KT*KT per phase
 *   conv_wgrad     dW (+)= Y . im2col(X)^T      M = F, columns C*KS*KS, K = N*P (split-K)
 * (a ConvTranspose2d is the same three with image and positions exchanged).
 *
 * Tiles: a WX x WY work-group computes a BM x BN block (BM = WY*RM rows, BN = WX*RN
 * columns); item (tx, ty) owns rows ty + r*WY and columns tx + c*WX, so neighbouring items
 * store to neighbouring columns (consecutive addresses of an NCHW plane). Operand tiles are
 * BK deep; each item fills fixed slots of them (slot i holds tile element tid + i*WG), so
 * the index arithmetic of a slot's column is done once, before the K loop. The fill order
 * puts the operand's contiguous axis on consecutive items: global loads coalesce.
 *
 * Defines: WX, WY, RM, RN, BK (tile), KS (kernel size), CS (stride). */

#if defined(WX) && defined(WY) && defined(RM) && defined(RN) && defined(BK) && defined(KS) && \
    defined(CS)
#define BM (WY * RM)
#define BN (WX * RN)
#define WG (WX * WY)
#define KK (KS * KS)
/* taps per dimension and stride phase of the backward-data gather */
#define KT ((KS + CS - 1) / CS)
/* slots per item of a BM x BK and a BK x BN tile */
#define SLOTS_A ((BM * BK + WG - 1) / WG)
#define SLOTS_B ((BN * BK + WG - 1) / WG)

/* The work-group's barrier; a one-item group has no one to wait for (and PoCL fails to
 * compile barriers in loops of one-item groups). */
#if WG > 1
#define SYNC() barrier(CLK_LOCAL_MEM_FENCE)
#else
#define SYNC() ((void)0)
#endif

/* acc += As^T Bs over one BK-deep tile pair. */
#define TILE_MAC(As, Bs)                                                                   \
    for (int kk = 0; kk < BK; kk++) {                                                      \
        float a_[RM], b_[RN];                                                              \
        for (int r = 0; r < RM; r++) a_[r] = As[kk][ty + r * WY];                          \
        for (int c = 0; c < RN; c++) b_[c] = Bs[kk][tx + c * WX];                          \
        for (int r = 0; r < RM; r++)                                                       \
            for (int c = 0; c < RN; c++) acc[r][c] = mad(a_[r], b_[c], acc[r][c]);         \
    }

#define ACC_ZERO()                                                                         \
    float acc[RM][RN];                                                                     \
    for (int r = 0; r < RM; r++)                                                           \
        for (int c = 0; c < RN; c++) acc[r][c] = 0.0f

/* ---- forward: Y[n,f,oy,ox] = sum W[f,c,ky,kx] X[n,c,oy*CS-pad+ky,ox*CS-pad+kx] ----------
 * (+ bias[f] when has_bias; + beta * Y when beta != 0). A = W rows (contiguous along K),
 * B = the gathered image, filled along the columns: consecutive items read consecutive
 * output positions, i.e. addresses CS apart in one image row. Range: (ceil(N*P/BN)*WX,
 * ceil(F/BM)*WY). */
__kernel void conv_fwd(__global const float *x, __global const float *wt,
                       __global const float *bias, const int has_bias, const float beta,
                       __global float *y, const int N, const int C, const int H, const int W,
                       const int F, const int Ho, const int Wo, const int pad)
{
    __local float As[BK][BM + 1];
    __local float Bs[BK][BN];
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1), tid = ty * WX + tx;
    const int P = Ho * Wo, NC = N * P, K = C * KK, HW = H * W;
    const int bi = (int)get_group_id(1) * BM, bj = (int)get_group_id(0) * BN;
    int sbase[SLOTS_B], sy[SLOTS_B], sx[SLOTS_B];
    for (int i = 0; i < SLOTS_B; i++) {
        const int e = tid + i * WG, col = bj + e % BN;
        sbase[i] = -1;
        sy[i] = sx[i] = 0;
        if (e < BN * BK && col < NC) {
            const int n = col / P, o = col - n * P, oy = o / Wo;
            sbase[i] = n * C * HW;
            sy[i] = oy * CS - pad;
            sx[i] = (o - oy * Wo) * CS - pad;
        }
    }
    ACC_ZERO();
    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int e = tid; e < BM * BK; e += WG) {
            const int kk = e % BK, ii = e / BK, gi = bi + ii, gk = k0 + kk;
            As[kk][ii] = (gi < F && gk < K) ? wt[gi * K + gk] : 0.0f;
        }
        for (int i = 0; i < SLOTS_B && tid + i * WG < BN * BK; i++) {
            const int e = tid + i * WG;
            const int kk = e / BN, gk = k0 + kk;
            float v = 0.0f;
            if (sbase[i] >= 0 && gk < K) {
                const int c = gk / KK, r = gk - c * KK, ky = r / KS;
                const int iy = sy[i] + ky, ix = sx[i] + r - ky * KS;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                    v = x[sbase[i] + c * HW + iy * W + ix];
            }
            Bs[kk][e % BN] = v;
        }
        SYNC();
        TILE_MAC(As, Bs);
        SYNC();
    }
    for (int r = 0; r < RM; r++) {
        const int f = bi + ty + r * WY;
        if (f >= F) continue;
        const float b = has_bias ? bias[f] : 0.0f;
        for (int c = 0; c < RN; c++) {
            const int col = bj + tx + c * WX;
            if (col >= NC) continue;
            const int n = col / P, idx = (n * F + f) * P + (col - n * P);
            const float v = acc[r][c] + b;
            y[idx] = beta == 0.0f ? v : mad(beta, y[idx], v);
        }
    }
}

/* ---- backward data: X[n,c,iy,ix] = sum over (f,ky,kx) with iy+pad-ky = oy*CS, ... of
 * W[f,c,ky,kx] Y[n,f,oy,ox] (+ bias[c]; + beta * X). A gather, no atomics.
 * Stride phases: pixels with (iy+pad) % CS == ry and (ix+pad) % CS == rx meet only the
 * taps ky = ry + CS*jy, kx = rx + CS*jx, and there oy = t - jy for iy = ry - pad + CS*t.
 * Group dimension 2 is the phase; within it the product is a stride-1 gather of Y (K =
 * F*KT*KT, taps past the kernel masked; no stride holes), and consecutive items read
 * consecutive Y addresses. Range: (ceil(N*ceil(H/CS)*ceil(W/CS)/BN)*WX, ceil(C/BM)*WY,
 * CS*CS). */
__kernel void conv_bwd_data(__global const float *yv, __global const float *wt,
                            __global const float *bias, const int has_bias, const float beta,
                            __global float *xo, const int N, const int C, const int H,
                            const int W, const int F, const int Ho, const int Wo, const int pad)
{
    __local float As[BK][BM + 1];
    __local float Bs[BK][BN];
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1), tid = ty * WX + tx;
    const int ph = (int)get_group_id(2), ry = ph / CS, rx = ph - ry * CS;
    /* this phase's pixels: iy = ry - pad + CS*t for t in [t0y, t0y + Hp) */
    const int t0y = pad >= ry ? (pad - ry + CS - 1) / CS : 0;
    const int t0x = pad >= rx ? (pad - rx + CS - 1) / CS : 0;
    const int t1y = H + pad - ry > 0 ? (H + pad - ry + CS - 1) / CS : 0;
    const int t1x = W + pad - rx > 0 ? (W + pad - rx + CS - 1) / CS : 0;
    const int Hp = max(t1y - t0y, 0), Wp = max(t1x - t0x, 0);
    const int PP = Hp * Wp, NC = N * PP, P = Ho * Wo;
    const int bi = (int)get_group_id(1) * BM, bj = (int)get_group_id(0) * BN;
    /* groups past this phase's pixels (it may have fewer than others) do no work; they
     * still pass the barriers */
    const int K = bj < NC ? F * KT * KT : 0;
    int sbase[SLOTS_B], sy[SLOTS_B], sx[SLOTS_B];
    for (int i = 0; i < SLOTS_B; i++) {
        const int e = tid + i * WG, col = bj + e % BN;
        sbase[i] = -1;
        sy[i] = sx[i] = 0;
        if (e < BN * BK && col < NC) {
            const int n = col / PP, o = col - n * PP, a = o / Wp;
            sbase[i] = n * F * P;
            sy[i] = t0y + a;
            sx[i] = t0x + o - a * Wp;
        }
    }
    ACC_ZERO();
    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int e = tid; e < BM * BK; e += WG) {
            const int kk = e % BK, ii = e / BK, gi = bi + ii, gk = k0 + kk;
            float v = 0.0f;
            if (gi < C && gk < K) {
                const int f = gk / (KT * KT), r = gk - f * (KT * KT), jy = r / KT;
                const int ky = ry + CS * jy, kx = rx + CS * (r - jy * KT);
                if (ky < KS && kx < KS) v = wt[((f * C + gi) * KS + ky) * KS + kx];
            }
            As[kk][ii] = v;
        }
        for (int i = 0; i < SLOTS_B && tid + i * WG < BN * BK; i++) {
            const int e = tid + i * WG;
            const int kk = e / BN, gk = k0 + kk;
            float v = 0.0f;
            if (sbase[i] >= 0 && gk < K) {
                const int f = gk / (KT * KT), r = gk - f * (KT * KT), jy = r / KT;
                const int oy = sy[i] - jy, ox = sx[i] - (r - jy * KT);
                if (oy >= 0 && oy < Ho && ox >= 0 && ox < Wo)
                    v = yv[sbase[i] + f * P + oy * Wo + ox];
            }
            Bs[kk][e % BN] = v;
        }
        SYNC();
        TILE_MAC(As, Bs);
        SYNC();
    }
    for (int r = 0; r < RM; r++) {
        const int c = bi + ty + r * WY;
        if (c >= C) continue;
        const float b = has_bias ? bias[c] : 0.0f;
        for (int q = 0; q < RN; q++) {
            const int col = bj + tx + q * WX;
            if (col >= NC) continue;
            const int n = col / PP, o = col - n * PP, a = o / Wp;
            const int iy = ry - pad + CS * (t0y + a), ix = rx - pad + CS * (t0x + o - a * Wp);
            const int idx = ((n * C + c) * H + iy) * W + ix;
            const float v = acc[r][q] + b;
            xo[idx] = beta == 0.0f ? v : mad(beta, xo[idx], v);
        }
    }
}

/* ---- weight gradient: dW[f, (c,ky,kx)] (+)= sum over (n,oy,ox) of Y[n,f,oy,ox] *
 * X[n,c,oy*CS-pad+ky,ox*CS-pad+kx]. K = N*P is long: group dimension 2 splits it into
 * chunks of kchunk (a multiple of BK). direct != 0: one chunk, added onto dw; otherwise
 * chunk s writes its partial block to out + s*F*C*KK (summed by wgrad_reduce). Both
 * operands are filled along K, so consecutive items read consecutive output positions.
 * Each slot keeps its K position (n, oy, ox) and steps it by BK, so the K loop divides
 * only when a row wraps. Range: (ceil(C*KK/BN)*WX, ceil(F/BM)*WY, splits). */
__kernel void conv_wgrad(__global const float *yv, __global const float *x,
                         __global float *out, const int direct, const int N, const int C,
                         const int H, const int W, const int F, const int Ho, const int Wo,
                         const int pad, const int kchunk)
{
    __local float As[BK][BM + 1];
    __local float Bs[BK][BN + 1];
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1), tid = ty * WX + tx;
    const int P = Ho * Wo, K = N * P, NC = C * KK, HW = H * W;
    const int kbeg = (int)get_group_id(2) * kchunk, kend = min(K, kbeg + kchunk);
    const int bi = (int)get_group_id(1) * BM, bj = (int)get_group_id(0) * BN;
    /* A slots: row f, K position (an, ao) of element kbeg + kk */
    int af[SLOTS_A], an[SLOTS_A], ao[SLOTS_A];
    for (int i = 0; i < SLOTS_A; i++) {
        const int e = tid + i * WG, k = kbeg + e % BK;
        af[i] = (e < BM * BK && bi + e / BK < F) ? bi + e / BK : -1;
        an[i] = k / P;
        ao[i] = k - an[i] * P;
    }
    /* B slots: column (c, ky, kx) as an image offset and tap, K position (bn, by, bx) */
    int boff[SLOTS_B], bky[SLOTS_B], bkx[SLOTS_B], bn[SLOTS_B], by[SLOTS_B], bx[SLOTS_B];
    for (int i = 0; i < SLOTS_B; i++) {
        const int e = tid + i * WG, col = bj + e / BK, k = kbeg + e % BK;
        const int c = col / KK, r = col - c * KK;
        boff[i] = (e < BN * BK && col < NC) ? c * HW : -1;
        bky[i] = r / KS - pad;
        bkx[i] = r % KS - pad;
        bn[i] = k / P;
        const int o = k - bn[i] * P;
        by[i] = o / Wo;
        bx[i] = o - by[i] * Wo;
    }
    ACC_ZERO();
    for (int k0 = kbeg; k0 < kend; k0 += BK) {
        for (int i = 0; i < SLOTS_A && tid + i * WG < BM * BK; i++) {
            const int e = tid + i * WG;
            const int kk = e % BK;
            As[kk][e / BK] = (af[i] >= 0 && k0 + kk < kend)
                                 ? yv[(an[i] * F + af[i]) * P + ao[i]] : 0.0f;
            ao[i] += BK;
            if (ao[i] >= P) {
                const int q = ao[i] / P;
                ao[i] -= q * P;
                an[i] += q;
            }
        }
        for (int i = 0; i < SLOTS_B && tid + i * WG < BN * BK; i++) {
            const int e = tid + i * WG;
            const int kk = e % BK;
            float v = 0.0f;
            if (boff[i] >= 0 && k0 + kk < kend) {
                const int iy = by[i] * CS + bky[i], ix = bx[i] * CS + bkx[i];
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                    v = x[bn[i] * C * HW + boff[i] + iy * W + ix];
            }
            Bs[kk][e / BK] = v;
            bx[i] += BK;
            if (bx[i] >= Wo) {
                int q = bx[i] / Wo;
                bx[i] -= q * Wo;
                by[i] += q;
                if (by[i] >= Ho) {
                    q = by[i] / Ho;
                    by[i] -= q * Ho;
                    bn[i] += q;
                }
            }
        }
        SYNC();
        TILE_MAC(As, Bs);
        SYNC();
    }
    __global float *dst = direct ? out : out + (int)get_group_id(2) * F * NC;
    for (int r = 0; r < RM; r++) {
        const int f = bi + ty + r * WY;
        if (f >= F) continue;
        for (int c = 0; c < RN; c++) {
            const int col = bj + tx + c * WX;
            if (col >= NC) continue;
            const int idx = f * NC + col;
            dst[idx] = direct ? dst[idx] + acc[r][c] : acc[r][c];
        }
    }
}
#endif /* tile defines */

/* dw[i] += sum over s < splits of part[s*total + i] (the split-K partial blocks). */
__kernel void conv_wgrad_reduce(const int total, const int splits, __global const float *part,
                                __global float *dw)
{
    CGAN_1D_GUARD(i, total);
    float s = 0.0f;
    for (int j = 0; j < splits; j++) s += part[j * total + i];
    dw[i] += s;
}
