/* Packed GEMM for CPU devices (src/blas/packgemm.c).
 *
 * For batch entry b = get_global_id(2):
 *     C = alpha * op(P) op(Q) + beta * C        C: M x N (row-major), op(P): M x K, op(Q): K x N
 * in two steps. First both operands are copied into a workspace as micro-panels:
 *     P panel ip: op(P)[ip*TM + r, k] at ((ip*K + k)*TM + r)         (TM rows, k-major)
 *     Q panel jp: op(Q)[k, jp*TNC + c] at ((jp*K + k)*TNC + c)       (TNC columns, k-major)
 * Rows and columns past the edges repeat the last one, or are zero (copies from views);
 * their sums are never stored, and the multiply has no bounds checks. Then each work-item
 * multiplies one P panel by one Q panel over a chunk of K, both read strictly in sequence:
 * the hardware prefetchers see two streams, no leading dimension aliases cache sets, and
 * the accumulators stay in registers (no local memory, no barriers). Every index inside
 * the workspace fits an int: the host keeps it under 2^28 floats.
 *
 * The grid runs P panels fastest (get_global_id(0)), so consecutive work-items share a Q
 * panel, which stays in L1/L2 while the P panels stream past; the host splits K into
 * chunks (beta 1 after the first) so that a Q panel stays in L2.
 *
 * Compile-time parameters (-D): TA, TB (1 when P, resp. Q, is stored transposed), VW (the
 * vector width), NV (vectors per row of a tile: TNC = NV*VW columns), TM (rows per tile).
 *
 * Views (-D PV, QV, CV; 0 by default): the operands and C may also be read or written
 * straight from NCHW images, so that a convolution needs no im2col, channel-major pack or
 * unpack pass of its own (src/ops/conv2d.c, deconv2d.c):
 *   0  a row-major matrix with its leading dimension (and TA / TB)
 *   1  channel-major: X[r][n*VP + q] = img[((n0 + n)*R + r)*VP + q] (R = the rows of X)
 *   2  im2col (QV only): X[(ch*KS + ky)*KS + kx][n*Ho*Wo + oy*Wo + ox] =
 *      img[n0 + n][ch][oy*CS - pad + ky][ox*CS - pad + kx], 0 outside the image
 * With a view, op(P) = X (TA 0), op(Q) = X or X^T (TB 1), C = X. Image offsets are 64-bit.
 */
#ifndef TA
#define TA 0
#endif
#ifndef TB
#define TB 0
#endif
#ifndef VW
#define VW 16
#endif
#ifndef NV
#define NV 2
#endif
#ifndef TM
#define TM 12
#endif
#ifndef PV
#define PV 0
#endif
#ifndef QV
#define QV 0
#endif
#ifndef CV
#define CV 0
#endif
#define TNC (NV * VW)

#define CGAN_CAT_(a, b) a##b
#define CGAN_CAT(a, b) CGAN_CAT_(a, b)
typedef CGAN_CAT(float, VW) vfloat;
#define VLOAD(p) CGAN_CAT(vload, VW)(0, (p))
#define VSTORE(v, p) CGAN_CAT(vstore, VW)((v), 0, (p))
#define VSTOREP(v, p) CGAN_CAT(vstore, VW)((v), 0, (__private float *)(p))
#define VLOADP(p) CGAN_CAT(vload, VW)(0, (const __private float *)(p))

#if TA
#define PE(i, k) P[(long)(k) * lda + (i)]
#else
#define PE(i, k) P[(long)(i) * lda + (k)]
#endif
#if TB
#define QE(k, j) Q[(long)(j) * ldb + (k)]
#else
#define QE(k, j) Q[(long)(k) * ldb + (j)]
#endif

/* Items pack PACK_K consecutive k of one panel each. */
#define PACK_K 64

/* gemm_pack_p: grid (ceil(K/PACK_K), ceil(M/TM), batch). v_n0, v_p: the channel-major
 * view (PV 1; its rows are the M rows of op(P)). */
__kernel void gemm_pack_p(const int M, const int K, __global const float *P, const long p_off,
                          const int lda, const long p_stride, const int v_n0, const int v_p,
                          __global float *W, const long w_off, const long w_stride)
{
    const int k0 = (int)get_global_id(0) * PACK_K, ip = (int)get_global_id(1);
    const long b = (long)get_global_id(2);
    if (k0 >= K) return;
    P += p_off + b * p_stride;
    __global float *o = W + w_off + b * w_stride + (long)ip * K * TM;
    const int i0 = ip * TM, k1 = min(k0 + PACK_K, K);
    int rows[TM];
#pragma unroll
    for (int r = 0; r < TM; r++) rows[r] = min(i0 + r, M - 1);
#if PV == 1
    for (int k = k0; k < k1; k++) {
        const int n = k / v_p, q = k - n * v_p;
        __global const float *src = P + (long)(v_n0 + n) * M * v_p + q;
#pragma unroll
        for (int r = 0; r < TM; r++) o[k * TM + r] = src[(long)rows[r] * v_p];
    }
#else
    for (int k = k0; k < k1; k++)
#pragma unroll
        for (int r = 0; r < TM; r++) o[k * TM + r] = PE(rows[r], k);
#endif
}

#if QV == 2 && !(defined(KS) && defined(CS))
#error "the im2col view needs the kernel size KS and stride CS"
#endif
#if PV != 0 && TA
#error "views: op(P) = X needs TA 0"
#endif
/* gemm_pack_q: grid (ceil(K/PACK_K), ceil(N/TNC), batch); matrices, and the channel-major
 * view with TB 1 (v_n0, v_p). The other views go through gemm_pack_q_planes. */
__kernel void gemm_pack_q(const int N, const int K, __global const float *Q, const long q_off,
                          const int ldb, const long q_stride, const int v_n0, const int v_p,
                          __global float *W, const long w_off, const long w_stride)
{
    const int k0 = (int)get_global_id(0) * PACK_K, jp = (int)get_global_id(1);
    const long b = (long)get_global_id(2);
    if (k0 >= K) return;
    Q += q_off + b * q_stride;
    __global float *o = W + w_off + b * w_stride + (long)jp * K * TNC;
    const int j0 = jp * TNC, k1 = min(k0 + PACK_K, K);
#if QV == 0 && !TB
    if (j0 + TNC <= N) { /* whole rows of the panel: vector copies */
        for (int k = k0; k < k1; k++)
#pragma unroll
            for (int v = 0; v < NV; v++) VSTORE(VLOAD(Q + (long)k * ldb + j0 + v * VW),
                                                o + k * TNC + v * VW);
        return;
    }
#endif
    int cols[TNC];
#pragma unroll
    for (int c = 0; c < TNC; c++) cols[c] = min(j0 + c, N - 1);
#if QV == 0
    for (int k = k0; k < k1; k++)
#pragma unroll
        for (int c = 0; c < TNC; c++) o[k * TNC + c] = QE(k, cols[c]);
#elif QV == 1 && TB /* op(Q)[k, j] = X[j][k]: X has N rows */
    for (int k = k0; k < k1; k++) {
        const int n = k / v_p;
        __global const float *src = Q + (long)(v_n0 + n) * N * v_p + (k - n * v_p);
#pragma unroll
        for (int c = 0; c < TNC; c++) o[k * TNC + c] = src[(long)cols[c] * v_p];
    }
#endif
}

/* gemm_pack_q_planes (batch 1; QV 1 with TB 0, or QV 2), with incremental indices and no
 * division per element.
 *   TB 0: one item per row r of X and image n copies the row's positions of that image (a
 *         plane of the image, or its im2col row) in order along panel row r, across panels
 *         every TNC columns; the last image also zeroes the columns past N of the last
 *         panel. Grid (rows of X, images).
 *   TB 1 (im2col only): one item per panel r and image n writes, for each position, the
 *         panel's TNC taps as one contiguous panel row. Grid (panels, images). */
__kernel void gemm_pack_q_planes(const int N, const int K, __global const float *Q,
                                 const int v_n0, const int v_p, const int v_r, const int v_h,
                                 const int v_w, const int v_pad, const int v_ho,
                                 const int v_wo, __global float *W, const long w_off)
{
    const int r = (int)get_global_id(0), n = (int)get_global_id(1);
#if QV == 1
    const int P = v_p;
#else
    const int P = v_ho * v_wo;
#endif
#if TB
    const int rows = (N + TNC - 1) / TNC, nimg = K / P; /* items: panels x images */
#else
    const int rows = K, nimg = N / P;
#endif
    if (r >= rows || n >= nimg) return;
#if TB && QV == 2
    /* Item (panel r, image n): at each position, the panel's TNC rows of X are taps of a
     * KS x KS patch of the image (in one or more channels), written as one contiguous
     * panel row. Rows past N read as zero. */
    long choff[TNC];
    int kyc[TNC], kxc[TNC];
    const int full = (r + 1) * TNC <= N;
#pragma unroll
    for (int c = 0; c < TNC; c++) {
        const int x = min(r * TNC + c, N - 1);
        kyc[c] = (x / KS) % KS;
        kxc[c] = x % KS;
        choff[c] = (long)(x / (KS * KS)) * v_h * v_w;
        if (r * TNC + c >= N) kyc[c] = -v_h - KS * CS; /* never inside the image */
    }
    __global const float *img = Q + (long)(v_n0 + n) * v_r * v_h * v_w;
    __global float *dst = W + w_off + ((long)r * K + (long)n * P) * TNC;
    for (int oy = 0; oy < v_ho; oy++) {
        const int iy0 = oy * CS - v_pad;
        for (int ox = 0; ox < v_wo; ox++, dst += TNC) {
            const int ix0 = ox * CS - v_pad;
            float t[TNC];
            if (full && iy0 >= 0 && iy0 + KS <= v_h && ix0 >= 0 && ix0 + KS <= v_w) {
                const long base = (long)iy0 * v_w + ix0;
#pragma unroll
                for (int c = 0; c < TNC; c++) t[c] = img[choff[c] + base + kyc[c] * v_w + kxc[c]];
            } else {
#pragma unroll
                for (int c = 0; c < TNC; c++) {
                    const int iy = iy0 + kyc[c], ix = ix0 + kxc[c];
                    t[c] = (iy >= 0 && iy < v_h && ix >= 0 && ix < v_w)
                               ? img[choff[c] + (long)iy * v_w + ix] : 0.0f;
                }
            }
#pragma unroll
            for (int v = 0; v < NV; v++) VSTORE(VLOADP(t + v * VW), dst + v * VW);
        }
    }
#else /* !TB: runs of values along panel row r, TNC - c at a time, so that the inner loops
       * have no branch (contiguous copies where the source is) */
    const int j = n * P, jp = j / TNC;
    int c = j - jp * TNC;
    __global float *dst = W + w_off + ((long)jp * K + r) * TNC;
    const long step = (long)K * TNC;
#define RUN(len, V)                                                                         \
    for (int s0_ = 0, l_ = (len); s0_ < l_;) {                                              \
        const int seg_ = min(TNC - c, l_ - s0_);                                            \
        __global float *d_ = dst + c;                                                       \
        for (int s = 0; s < seg_; s++) d_[s] = V(s0_ + s);                                  \
        s0_ += seg_;                                                                        \
        c += seg_;                                                                          \
        if (c == TNC) {                                                                     \
            c = 0;                                                                          \
            dst += step;                                                                    \
        }                                                                                   \
    }
#define ZERO(s) 0.0f
#if QV == 1
    __global const float *src = Q + ((long)(v_n0 + n) * K + r) * P;
#define V_SRC(s) src[s]
    RUN(P, V_SRC)
#undef V_SRC
#elif QV == 2
    const int ch = r / (KS * KS), ky = (r / KS) % KS, kx = r % KS;
    __global const float *plane = Q + ((long)(v_n0 + n) * v_r + ch) * v_h * v_w;
    /* the positions ox in [lo, hi) read inside the row: ox*CS - pad + kx in [0, W) */
    const int lo = min(v_pad - kx > 0 ? (v_pad - kx + CS - 1) / CS : 0, v_wo);
    const int hi = v_w - 1 + v_pad - kx < 0 ? lo : clamp((v_w - 1 + v_pad - kx) / CS + 1, lo, v_wo);
    for (int oy = 0; oy < v_ho; oy++) {
        const int iy = oy * CS - v_pad + ky;
        if (iy < 0 || iy >= v_h) {
            RUN(v_wo, ZERO)
            continue;
        }
        __global const float *rp = plane + (long)iy * v_w + lo * CS - v_pad + kx;
#define V_ROW(s) rp[(s) * CS]
        RUN(lo, ZERO)
        RUN(hi - lo, V_ROW)
        RUN(v_wo - hi, ZERO)
#undef V_ROW
    }
#endif
    if (n == nimg - 1 && c) RUN(TNC - c, ZERO) /* the last panel's columns past N */
#undef RUN
#undef ZERO
#endif
}

/* gemm_packed: one TM x TNC tile of C per item over k in [k0, k0 + kc); grid
 * (ceil(M/TM), ceil(N/TNC), batch), rounded up to the work-group. c_n0, c_p: the
 * channel-major view of C (CV 1; its rows are the M rows of C). */
__kernel void gemm_packed(const int M, const int N, const int K, const float alpha,
                          __global const float *W, const long p_off, const long p_stride,
                          const long q_off, const long q_stride, const int k0, const int kc,
                          const float beta, __global float *C, const long c_off, const int ldc,
                          const long c_stride, const int c_n0, const int c_p)
{
    const int ip = (int)get_global_id(0), jp = (int)get_global_id(1);
    const int i0 = ip * TM, j0 = jp * TNC;
    if (i0 >= M || j0 >= N) return;
    const long b = (long)get_global_id(2);
    __global const float *a = W + p_off + b * p_stride + ((long)ip * K + k0) * TM;
    __global const float *q = W + q_off + b * q_stride + ((long)jp * K + k0) * TNC;
    C += c_off + b * c_stride;
    vfloat acc[TM][NV];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++) acc[r][v] = (vfloat)(0.0f);
    for (int k = 0; k < kc; k++) {
        vfloat bv[NV];
#pragma unroll
        for (int v = 0; v < NV; v++) bv[v] = VLOAD(q + v * VW);
#pragma unroll
        for (int r = 0; r < TM; r++) {
            const vfloat av = (vfloat)(a[r]);
#pragma unroll
            for (int v = 0; v < NV; v++) acc[r][v] = fma(av, bv[v], acc[r][v]);
        }
        a += TM;
        q += TNC;
    }
    /* A whole tile is stored a vector at a time: vector v of row i0 + r at dv[v] + r*rs.
     * In a channel-major C (column j = n*c_p + q of row i at ((c_n0 + n)*M + i)*c_p + q)
     * that holds when planes hold whole vectors (c_p a multiple of VW). */
    __global float *dv[NV];
#if CV == 0
    const int whole = i0 + TM <= M && j0 + TNC <= N;
    const long rs = ldc;
#pragma unroll
    for (int v = 0; v < NV; v++) dv[v] = C + (long)i0 * ldc + j0 + v * VW;
#else
    const int whole = i0 + TM <= M && j0 + TNC <= N && c_p % VW == 0;
    const long rs = c_p;
#pragma unroll
    for (int v = 0; v < NV; v++) {
        const int j = min(j0 + v * VW, N - 1), n = j / c_p;
        dv[v] = C + ((long)(c_n0 + n) * M + i0) * c_p + (j - n * c_p);
    }
#endif
    if (whole) {
#pragma unroll
        for (int r = 0; r < TM; r++)
#pragma unroll
            for (int v = 0; v < NV; v++) {
                __global float *d = dv[v] + r * rs;
                vfloat o = alpha * acc[r][v];
                if (beta != 0.0f) o = mad((vfloat)(beta), VLOAD(d), o);
                VSTORE(o, d);
            }
        return;
    }
    /* the bottom and right edges (and planes that split vectors): one element at a time,
     * from a private copy */
#if CV == 0
#define CIDX(i, j, c) ((long)(i) * ldc + (j))
#else
    long cbase[TNC];
    for (int c = 0; c < TNC; c++) {
        const int j = min(j0 + c, N - 1), n = j / c_p;
        cbase[c] = (long)(c_n0 + n) * M * c_p + (j - n * c_p);
    }
#define CIDX(i, j, c) (cbase[c] + (long)(i) * c_p)
#endif
    float t[TM * TNC];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++) VSTOREP(acc[r][v], t + r * TNC + v * VW);
    const int rm = min(TM, M - i0), cn = min(TNC, N - j0);
    for (int r = 0; r < rm; r++)
        for (int c = 0; c < cn; c++) {
            __global float *d = C + CIDX(i0 + r, j0 + c, c);
            const float v = alpha * t[r * TNC + c];
            *d = beta == 0.0f ? v : mad(beta, *d, v);
        }
}
