/* GEMM kernels of the own provider (src/blas/owngemm.c).
 *
 * Every kernel computes, for batch entry b = get_global_id(2),
 *     D = alpha * op(P) op(Q) + beta * D        D: M x N, op(P): M x K, op(Q): K x N
 * on row-major storage: leading dimensions in floats, 64-bit offsets and batch strides.
 * D is C itself, or C transposed when TC == 1 (the host swaps the operands to compute
 * C^T = op(B)^T op(A)^T). With beta == 0, D is never read: garbage (NaN) in it is ignored.
 * In the CPU kernels, items past the edges clamp their loads to the last row/column and
 * skip the stores, so every load is in bounds and the inner loops have no branches; the
 * GPU kernel fills its tiles with zeros past the edges.
 *
 * Compile-time parameters (-D):
 *   TA, TB   1 when P (resp. Q) is stored transposed: op(P)[i,k] = P[k*lda + i]
 *   TC       1: D[i,j] lives at C[j*ldc + i]
 *   gemm_reg    (CPU) each item TM rows x NV vectors of VW columns, outer products along K;
 *               work-groups of 1 x LY items share operand panels KC deep in local memory
 *   gemm_direct (CPU, -DDIRECT) gemm_reg's tile without local memory or barriers
 *   gemm_dot    (CPU, A.B^T shapes) each item TM x TN outputs, VW-wide partial sums along K
 *   gemm_local  (GPU) WX x WY work-group, RM x RN outputs per item, tiles BK deep in local
 *               memory; the block is (WY*RM) x (WX*RN)
 */
#ifndef TA
#define TA 0
#endif
#ifndef TB
#define TB 0
#endif
#ifndef TC
#define TC 0
#endif
#ifndef VW
#define VW 16
#endif
#ifndef KC
#define KC 256
#endif
#ifndef LY
#define LY 4
#endif

/* op(P)[i,k] and op(Q)[k,j] */
#if TA
#define PE(i, k) P[(k) * lda + (i)]
#else
#define PE(i, k) P[(i) * lda + (k)]
#endif
#if TB
#define QE(k, j) Q[(j) * ldb + (k)]
#else
#define QE(k, j) Q[(k) * ldb + (j)]
#endif
/* D[i,j] in C */
#if TC
#define DIDX(i, j) ((j) * ldc + (i))
#else
#define DIDX(i, j) ((i) * ldc + (j))
#endif

/* The vector type of VW floats and its loads/stores (any address alignment). */
#define CGAN_CAT_(a, b) a##b
#define CGAN_CAT(a, b) CGAN_CAT_(a, b)
#if VW == 1
typedef float vfloat;
#define VLOAD(p) (*(p))
#define VSTORE(v, p) (*(p) = (v))
#define VLOADP(p) (*(p))
#define VSTOREL(v, p) (*(p) = (v))
#define VSTOREP(v, p) (*(p) = (v))
#else
typedef CGAN_CAT(float, VW) vfloat;
#define VLOAD(p) CGAN_CAT(vload, VW)(0, (__global const float *)(p))
#define VSTORE(v, p) CGAN_CAT(vstore, VW)((v), 0, (__global float *)(p))
#define VLOADP(p) CGAN_CAT(vload, VW)(0, (const __private float *)(p))
#define VSTOREL(v, p) CGAN_CAT(vstore, VW)((v), 0, (__local float *)(p))
#define VSTOREP(v, p) CGAN_CAT(vstore, VW)((v), 0, (__private float *)(p))
#endif

/* VW floats p[0], p[s], p[2s], ... as one vector (strided gather). */
vfloat gather_v(__global const float *p, const int s)
{
    float t[VW];
#pragma unroll
    for (int e = 0; e < VW; e++) t[e] = p[e * s];
    return VLOADP(t);
}

/* The common argument list: D = alpha op(P) op(Q) + beta D, batch entry get_global_id(2). */
#define GEMM_ARGS                                                                           \
    const int M, const int N, const int K, const float alpha,                              \
    __global const float *P, const long p_off, const int lda, const long p_stride,         \
    __global const float *Q, const long q_off, const int ldb, const long q_stride,         \
    const float beta, __global float *C, const long c_off, const int ldc, const long c_stride

#define GEMM_BATCH_BASE()                                  \
    do {                                                   \
        const long bat_ = (long)get_global_id(2);          \
        P += p_off + bat_ * p_stride;                      \
        Q += q_off + bat_ * q_stride;                      \
        C += c_off + bat_ * c_stride;                      \
    } while (0)

/* Stores one output: D[i,j] = alpha*v (+ beta*D[i,j]), bounds-checked. */
void put1(__global float *C, const int ldc, const int i, const int j, const int M,
          const int N, const float alpha, const float beta, const float v)
{
    if (i >= M || j >= N) return;
    __global float *d = C + DIDX(i, j);
    *d = beta == 0.0f ? alpha * v : mad(beta, *d, alpha * v);
}

/* ---- gemm_reg: register tiles, outer products along K (CPU) ------------------------------ */
#if defined(TM) && defined(NV) && !defined(DIRECT)
#define TNC (NV * VW)

#define BMW (LY * TM) /* rows of the work-group block; its columns are the TNC of one item */
/* Copies the KC-deep slice of the group's op(Q) columns into local memory, k-major and
 * contiguous (and, when P is stored transposed, that of its op(P) rows too: then both are
 * rows of the stored matrices and copy as vectors). Each item copies a share, along the
 * operand's contiguous axis. */
void load_block(__global const float *P, const int lda, __global const float *Q, const int ldb,
                const int M, const int N, const int bi, const int bj, const int k0,
                const int kc, __local float (*al)[BMW], __local vfloat (*bl)[NV])
{
    const int t = (int)get_local_id(1);
#if TA
    for (int kk = t; kk < kc; kk += LY) {
        __global const float *src = P + (k0 + kk) * lda;
        int ii = 0;
        if (bi + BMW <= M)
            for (; ii + VW <= BMW; ii += VW) VSTOREL(VLOAD(src + bi + ii), al[kk] + ii);
        for (; ii < BMW; ii++) al[kk][ii] = src[min(bi + ii, M - 1)];
    }
#endif
#if TB
    __local float *blf = (__local float *)bl;
    for (int jj = t; jj < TNC; jj += LY) {
        const int j = min(bj + jj, N - 1);
        for (int kk = 0; kk < kc; kk++) blf[kk * TNC + jj] = QE(k0 + kk, j);
    }
#else
    for (int kk = t; kk < kc; kk += LY)
        for (int c = 0; c < NV; c++) {
            const int j = bj + c * VW;
            if (j + VW <= N) {
                bl[kk][c] = VLOAD(Q + (k0 + kk) * ldb + j);
            } else {
                float e[VW];
                for (int x = 0; x < VW; x++) e[x] = QE(k0 + kk, min(j + x, N - 1));
                bl[kk][c] = VLOADP(e);
            }
        }
#endif
}

__kernel void gemm_reg(GEMM_ARGS)
{
    /* A work-group of 1 x LY items (a column of tiles) shares KC-deep slices of its op(Q)
     * columns (and of its op(P) rows when P is stored transposed), copied into local
     * memory: contiguous, so no cache-set aliasing at power-of-two leading dimensions, and
     * read from global memory once per group. Launched with local size 1 x LY x 1. Items
     * past the bottom edge take part in the copies and barriers and store nothing. */
    __local float al[TA ? KC : 1][BMW];
    __local vfloat bl[KC][NV];
    const int bi = (int)get_group_id(1) * BMW, bj = (int)get_group_id(0) * TNC;
    const int ly = (int)get_local_id(1);
    const int i0 = bi + ly * TM, j0 = bj;
    if (bi >= M || bj >= N) return; /* the whole work-group */
    GEMM_BATCH_BASE();
    vfloat acc[TM][NV];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++) acc[r][v] = (vfloat)(0.0f);
#if !TA
    /* one pointer per row (rows past the edge clamped to the last): integer row indices
     * made the compiler rebuild each address from a vector of indices per k */
    __global const float *arow[TM];
#pragma unroll
    for (int r = 0; r < TM; r++) arow[r] = P + min(i0 + r, M - 1) * lda;
#endif
    for (int k0 = 0; k0 < K; k0 += KC) {
        const int kc = min(KC, K - k0);
        load_block(P, lda, Q, ldb, M, N, bi, bj, k0, kc, al, bl);
        barrier(CLK_LOCAL_MEM_FENCE);
#if !TA
        __global const float *ak[TM];
#pragma unroll
        for (int r = 0; r < TM; r++) ak[r] = arow[r] + k0;
#endif
        for (int kk = 0; kk < kc; kk++) {
            vfloat b[NV];
#pragma unroll
            for (int v = 0; v < NV; v++) b[v] = bl[kk][v];
#pragma unroll
            for (int r = 0; r < TM; r++) {
#if TA
                const vfloat a = (vfloat)(al[kk][ly * TM + r]);
#else
                const vfloat a = (vfloat)(ak[r][kk]);
#endif
#pragma unroll
                for (int v = 0; v < NV; v++) acc[r][v] = fma(a, b[v], acc[r][v]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (i0 >= M || j0 >= N) return;

#if !TC
    if (j0 + TNC <= N && i0 + TM <= M) {
#pragma unroll
        for (int r = 0; r < TM; r++)
#pragma unroll
            for (int v = 0; v < NV; v++) {
                __global float *d = C + (i0 + r) * ldc + j0 + v * VW;
                vfloat o = alpha * acc[r][v];
                if (beta != 0.0f) o = mad((vfloat)(beta), VLOAD(d), o);
                VSTORE(o, d);
            }
        return;
    }
#endif
    /* edges and transposed stores: one element at a time, from a private copy (a rolled
     * loop keeps the code small) */
    float t[TM * TNC];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++) VSTOREP(acc[r][v], t + r * TNC + v * VW);
#pragma unroll 1
    for (int e = 0; e < TM * TNC; e++)
        put1(C, ldc, i0 + e / TNC, j0 + e % TNC, M, N, alpha, beta, t[e]);
}
#endif /* TM && NV */

/* ---- gemm_direct: register tiles straight from global memory (CPU) --------------------- */
#if defined(TM) && defined(NV) && defined(DIRECT)
#if TB
#error "gemm_direct reads rows of op(Q): TB must be 0"
#endif
#define TND (NV * VW)
/* Like gemm_reg without local memory or barriers: each item owns TM rows x NV vectors of
 * VW columns and streams its operands from global memory. On a CPU device a work-group
 * is a loop over its items, and values live across a barrier are kept in memory per item;
 * with no barrier the accumulators stay in registers. Launched with 1 x 1 work-groups. */
__kernel void gemm_direct(GEMM_ARGS)
{
    const int j0 = (int)get_global_id(0) * TND, i0 = (int)get_global_id(1) * TM;
    if (i0 >= M || j0 >= N) return;
    GEMM_BATCH_BASE();
    vfloat acc[TM][NV];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++) acc[r][v] = (vfloat)(0.0f);
#if !TA
    __global const float *arow[TM]; /* one pointer per row, as in gemm_reg */
#pragma unroll
    for (int r = 0; r < TM; r++) arow[r] = P + min(i0 + r, M - 1) * lda;
#define PDIR(r, k) (arow[r][(k)])
#else
    int rows[TM];
#pragma unroll
    for (int r = 0; r < TM; r++) rows[r] = min(i0 + r, M - 1);
#define PDIR(r, k) PE(rows[r], (k))
#endif
    if (j0 + TND <= N) {
        for (int k = 0; k < K; k++) {
            __global const float *q = Q + k * ldb + j0;
            vfloat b[NV];
#pragma unroll
            for (int v = 0; v < NV; v++) b[v] = VLOAD(q + v * VW);
#pragma unroll
            for (int r = 0; r < TM; r++) {
                const vfloat a = (vfloat)(PDIR(r, k));
#pragma unroll
                for (int v = 0; v < NV; v++) acc[r][v] = fma(a, b[v], acc[r][v]);
            }
        }
    } else { /* the right edge: columns clamped to the last one (their sums are dropped) */
        for (int k = 0; k < K; k++) {
            vfloat b[NV];
            for (int v = 0; v < NV; v++) {
                float e[VW];
                for (int x = 0; x < VW; x++) e[x] = QE(k, min(j0 + v * VW + x, N - 1));
                b[v] = VLOADP(e);
            }
#pragma unroll
            for (int r = 0; r < TM; r++) {
                const vfloat a = (vfloat)(PDIR(r, k));
#pragma unroll
                for (int v = 0; v < NV; v++) acc[r][v] = fma(a, b[v], acc[r][v]);
            }
        }
    }
    /* gemm_reg's store, written out again: as a shared function it cost gemm_reg 6-8%
     * of its time over a seed32 pass on PoCL */
#if !TC
    if (j0 + TND <= N && i0 + TM <= M) {
#pragma unroll
        for (int r = 0; r < TM; r++)
#pragma unroll
            for (int v = 0; v < NV; v++) {
                __global float *d = C + (i0 + r) * ldc + j0 + v * VW;
                vfloat o = alpha * acc[r][v];
                if (beta != 0.0f) o = mad((vfloat)(beta), VLOAD(d), o);
                VSTORE(o, d);
            }
        return;
    }
#endif
    float t[TM * TND];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++) VSTOREP(acc[r][v], t + r * TND + v * VW);
#pragma unroll 1
    for (int e = 0; e < TM * TND; e++)
        put1(C, ldc, i0 + e / TND, j0 + e % TND, M, N, alpha, beta, t[e]);
}
#endif /* DIRECT */

/* ---- gemm_dot: dot products along K (CPU; A.B^T shapes, where K is contiguous) --------- */
#if defined(TM) && defined(TN)
#if TA
#define PK(i, k) gather_v(P + (k) * lda + (i), lda)
#else
#define PK(i, k) VLOAD(P + (i) * lda + (k))
#endif
#if TB
#define QK(k, j) VLOAD(Q + (j) * ldb + (k))
#else
#define QK(k, j) gather_v(Q + (k) * ldb + (j), ldb)
#endif

/* Horizontal sum of one vector. */
float hsum_v(vfloat v)
{
#if VW == 16
    const float8 h8 = v.lo + v.hi;
    const float4 h4 = h8.lo + h8.hi;
#elif VW == 8
    const float4 h4 = v.lo + v.hi;
#endif
#if VW >= 8
    const float2 h2 = h4.lo + h4.hi;
#elif VW == 4
    const float2 h2 = v.lo + v.hi;
#endif
#if VW >= 4
    return h2.x + h2.y;
#elif VW == 2
    return v.x + v.y;
#else
    return v;
#endif
}

/* Both operands are read along K with wide loads where they are stored that way (P not
 * transposed, Q transposed: the A.B^T of weight gradients); otherwise gathered. */
__kernel void gemm_dot(GEMM_ARGS)
{
    const int j0 = (int)get_global_id(0) * TN;
    const int i0 = (int)get_global_id(1) * TM;
    if (j0 >= N || i0 >= M) return;
    GEMM_BATCH_BASE();
    int rows[TM], cols[TN];
#pragma unroll
    for (int r = 0; r < TM; r++) rows[r] = min(i0 + r, M - 1);
#pragma unroll
    for (int c = 0; c < TN; c++) cols[c] = min(j0 + c, N - 1);
    vfloat acc[TM][TN];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int c = 0; c < TN; c++) acc[r][c] = (vfloat)(0.0f);
    const int kv = K - K % VW;
    for (int k = 0; k < kv; k += VW) {
        vfloat a[TM], b[TN];
#pragma unroll
        for (int r = 0; r < TM; r++) a[r] = PK(rows[r], k);
#pragma unroll
        for (int c = 0; c < TN; c++) b[c] = QK(k, cols[c]);
#pragma unroll
        for (int r = 0; r < TM; r++)
#pragma unroll
            for (int c = 0; c < TN; c++) acc[r][c] = fma(a[r], b[c], acc[r][c]);
    }
    float s[TM][TN];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int c = 0; c < TN; c++) s[r][c] = hsum_v(acc[r][c]);
    for (int k = kv; k < K; k++) {
#pragma unroll
        for (int r = 0; r < TM; r++) {
            const float a = PE(rows[r], k);
#pragma unroll
            for (int c = 0; c < TN; c++) s[r][c] = fma(a, QE(k, cols[c]), s[r][c]);
        }
    }
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int c = 0; c < TN; c++) put1(C, ldc, i0 + r, j0 + c, M, N, alpha, beta, s[r][c]);
}
#endif /* TM && TN */

/* ---- gemm_local: tiles in local memory (GPU) --------------------------------------------- */
#if defined(WX) && defined(WY) && defined(RM) && defined(RN) && defined(BK)
#define BM (WY * RM)
#define BN (WX * RN)

/* Item (tx, ty) owns rows ty + r*WY and columns tx + c*WX of the block: neighbouring items
 * read neighbouring local words. Tiles are filled along the operand's contiguous axis so
 * global reads coalesce, and padded by one word against bank conflicts on the transposing
 * stores. */
__kernel void gemm_local(GEMM_ARGS)
{
    __local float As[BK][BM + 1];
    __local float Bs[BK][BN + 1];
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    const int tid = ty * WX + tx;
    const int bi = (int)get_group_id(1) * BM, bj = (int)get_group_id(0) * BN;
    GEMM_BATCH_BASE();
    float acc[RM][RN];
#pragma unroll
    for (int r = 0; r < RM; r++)
#pragma unroll
        for (int c = 0; c < RN; c++) acc[r][c] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int e = tid; e < BM * BK; e += WX * WY) {
#if TA
            const int ii = e % BM, kk = e / BM;
#else
            const int kk = e % BK, ii = e / BK;
#endif
            const int gi = bi + ii, gk = k0 + kk;
            As[kk][ii] = (gi < M && gk < K) ? PE(gi, gk) : 0.0f;
        }
        for (int e = tid; e < BN * BK; e += WX * WY) {
#if TB
            const int kk = e % BK, jj = e / BK;
#else
            const int jj = e % BN, kk = e / BN;
#endif
            const int gj = bj + jj, gk = k0 + kk;
            Bs[kk][jj] = (gj < N && gk < K) ? QE(gk, gj) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[RM], b[RN];
#pragma unroll
            for (int r = 0; r < RM; r++) a[r] = As[kk][ty + r * WY];
#pragma unroll
            for (int c = 0; c < RN; c++) b[c] = Bs[kk][tx + c * WX];
#pragma unroll
            for (int r = 0; r < RM; r++)
#pragma unroll
                for (int c = 0; c < RN; c++) acc[r][c] = fma(a[r], b[c], acc[r][c]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
#pragma unroll
    for (int r = 0; r < RM; r++)
#pragma unroll
        for (int c = 0; c < RN; c++)
            put1(C, ldc, bi + ty + r * WY, bj + tx + c * WX, M, N, alpha, beta, acc[r][c]);
}
#endif /* local tiling */
