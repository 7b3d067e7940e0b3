/* Prelude prepended to every cgan-cl program. OpenCL C 1.2, no extensions assumed. */
#define CGAN_GID0 ((int)get_global_id(0))

/* Index guard for 1-D kernels launched on a rounded-up range. */
#define CGAN_1D_GUARD(i, n) \
    const int i = (int)get_global_id(0); \
    if (i >= (n)) return
