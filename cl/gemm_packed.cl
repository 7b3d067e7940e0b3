/* Packed GEMM for CPU devices (src/blas/packgemm.c).
 *
 * For batch entry b = get_global_id(2):
 *     C = alpha * op(P) op(Q) + beta * C        C: M x N (row-major), op(P): M x K, op(Q): K x N
 * in two steps. First both operands are copied into a workspace as micro-panels:
 *     P panel ip: op(P)[ip*TM + r, k] at ((ip*K + k)*TM + r)         (TM rows, k-major)
 *     Q panel jp: op(Q)[k, jp*TNC + c] at ((jp*K + k)*TNC + c)       (TNC columns, k-major)
 * Rows and columns past the edges repeat the last one (their sums are never stored), so
 * the multiply has no bounds checks. Then each work-item multiplies one P panel by one Q
 * panel over a chunk of K, both read strictly in sequence: the hardware prefetchers see
 * two streams, no leading dimension aliases cache sets, and the accumulators stay in
 * registers (no local memory, no barriers).
 *
 * The grid runs P panels fastest (get_global_id(0)), so consecutive work-items share a Q
 * panel, which stays in L1/L2 while the P panels stream past; the host splits K into
 * chunks (beta 1 after the first) so that a Q panel stays in L2.
 *
 * Compile-time parameters (-D): TA, TB (1 when P, resp. Q, is stored transposed), VW (the
 * vector width), NV (vectors per row of a tile: TNC = NV*VW columns), TM (rows per tile).
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
#define TNC (NV * VW)

#define CGAN_CAT_(a, b) a##b
#define CGAN_CAT(a, b) CGAN_CAT_(a, b)
typedef CGAN_CAT(float, VW) vfloat;
#define VLOAD(p) CGAN_CAT(vload, VW)(0, (p))
#define VSTORE(v, p) CGAN_CAT(vstore, VW)((v), 0, (p))
#define VSTOREP(v, p) CGAN_CAT(vstore, VW)((v), 0, (__private float *)(p))

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

/* gemm_pack_p: grid (ceil(K/PACK_K), ceil(M/TM), batch). */
__kernel void gemm_pack_p(const int M, const int K, __global const float *P, const long p_off,
                          const int lda, const long p_stride, __global float *W,
                          const long w_off, const long w_stride)
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
    for (int k = k0; k < k1; k++)
#pragma unroll
        for (int r = 0; r < TM; r++) o[k * TM + r] = PE(rows[r], k);
}

/* gemm_pack_q: grid (ceil(K/PACK_K), ceil(N/TNC), batch). */
__kernel void gemm_pack_q(const int N, const int K, __global const float *Q, const long q_off,
                          const int ldb, const long q_stride, __global float *W,
                          const long w_off, const long w_stride)
{
    const int k0 = (int)get_global_id(0) * PACK_K, jp = (int)get_global_id(1);
    const long b = (long)get_global_id(2);
    if (k0 >= K) return;
    Q += q_off + b * q_stride;
    __global float *o = W + w_off + b * w_stride + (long)jp * K * TNC;
    const int j0 = jp * TNC, k1 = min(k0 + PACK_K, K);
#if !TB
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
    for (int k = k0; k < k1; k++)
#pragma unroll
        for (int c = 0; c < TNC; c++) o[k * TNC + c] = QE(k, cols[c]);
}

/* gemm_packed: one TM x TNC tile of C per item over k in [k0, k0 + kc); grid
 * (ceil(M/TM), ceil(N/TNC), batch), rounded up to the work-group. */
__kernel void gemm_packed(const int M, const int N, const int K, const float alpha,
                          __global const float *W, const long p_off, const long p_stride,
                          const long q_off, const long q_stride, const int k0, const int kc,
                          const float beta, __global float *C, const long c_off, const int ldc,
                          const long c_stride)
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
    if (i0 + TM <= M && j0 + TNC <= N) {
#pragma unroll
        for (int r = 0; r < TM; r++)
#pragma unroll
            for (int v = 0; v < NV; v++) {
                __global float *d = C + (long)(i0 + r) * ldc + j0 + v * VW;
                vfloat o = alpha * acc[r][v];
                if (beta != 0.0f) o = mad((vfloat)(beta), VLOAD(d), o);
                VSTORE(o, d);
            }
        return;
    }
    /* the bottom and right edges: one element at a time, from a private copy */
    float t[TM * TNC];
#pragma unroll
    for (int r = 0; r < TM; r++)
#pragma unroll
        for (int v = 0; v < NV; v++) VSTOREP(acc[r][v], t + r * TNC + v * VW);
    const int rm = min(TM, M - i0), cn = min(TNC, N - j0);
    for (int r = 0; r < rm; r++)
        for (int c = 0; c < cn; c++) {
            __global float *d = C + (long)(i0 + r) * ldc + j0 + c;
            const float v = alpha * t[r * TNC + c];
            *d = beta == 0.0f ? v : mad(beta, *d, v);
        }
}
