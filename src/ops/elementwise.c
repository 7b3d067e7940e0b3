/* Element-wise device operations (cl/elementwise.cl). */
#include <math.h>
#include <limits.h>
#include <stdlib.h>
#include "elementwise.h"
#include "core/rng.h"

static cgan_status too_big(cgan_ctx *ctx, const char *what, size_t n)
{
    return cgan_error(ctx, CGAN_E_INVALID, "%s: %zu elements exceed the 32-bit index range", what, n);
}

cgan_status cgan_axpby(cgan_ctx *ctx, size_t n, float a, cl_mem x, float b, cl_mem y)
{
    if (n == 0) return CGAN_OK;
    if (n > INT_MAX) return too_big(ctx, "axpby", n);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "elementwise", NULL, "axpby", &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KFLOAT(a), CGAN_KMEM(x), CGAN_KFLOAT(b),
                       CGAN_KMEM(y));
}

cgan_status cgan_fill(cgan_ctx *ctx, size_t n, float value, cl_mem y)
{
    if (n == 0) return CGAN_OK;
    if (n > INT_MAX) return too_big(ctx, "fill", n);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "elementwise", NULL, "fill", &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KFLOAT(value), CGAN_KMEM(y));
}

static cgan_status binary(cgan_ctx *ctx, const char *name, size_t n, cl_mem x, cl_mem y, cl_mem z)
{
    if (n == 0) return CGAN_OK;
    if (n > INT_MAX) return too_big(ctx, name, n);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "elementwise", NULL, name, &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KMEM(x), CGAN_KMEM(y), CGAN_KMEM(z));
}

cgan_status cgan_add(cgan_ctx *ctx, size_t n, cl_mem x, cl_mem y, cl_mem z)
{
    return binary(ctx, "add", n, x, y, z);
}

cgan_status cgan_mul(cgan_ctx *ctx, size_t n, cl_mem x, cl_mem y, cl_mem z)
{
    return binary(ctx, "mul", n, x, y, z);
}

/* Self-check: axpby with b = 0 and b != 0 on random data against double arithmetic. */
cgan_status cgan_check_axpby(cgan_ctx *ctx, cgan_check_result *res)
{
    const size_t n = 1003; /* deliberately not a multiple of any work-group size */
    const float a = 1.75f, b = -0.5f;
    cgan_status st = CGAN_OK;
    cl_mem x = NULL, y = NULL;
    float *hx = malloc(n * sizeof *hx), *hy = malloc(n * sizeof *hy), *got = malloc(n * sizeof *got);
    double *ref = malloc(n * sizeof *ref);
    if (!hx || !hy || !got || !ref) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto done; }
    cgan_rng rng;
    cgan_rng_init(&rng, 42, 0);
    cgan_rng_fill_uniform(&rng, hx, n, -2.f, 2.f);
    cgan_rng_fill_uniform(&rng, hy, n, -2.f, 2.f);
    for (size_t i = 0; i < n; i++) ref[i] = (double)a * hx[i] + (double)b * hy[i];
    if ((st = cgan_buffer_create(ctx, n * 4, "x", &x)) || (st = cgan_buffer_create(ctx, n * 4, "y", &y)) ||
        (st = cgan_buffer_write(ctx, x, 0, n * 4, hx)) || (st = cgan_buffer_write(ctx, y, 0, n * 4, hy)) ||
        (st = cgan_axpby(ctx, n, a, x, b, y)) || (st = cgan_buffer_read(ctx, y, 0, n * 4, got)))
        goto done;
    res->tol = 1e-6;
    res->max_err = cgan_max_rel_err(got, ref, n);
    if (res->max_err > res->tol) {
        st = cgan_error(ctx, CGAN_E_NUMERIC, "axpby: error %.3g exceeds %.3g", res->max_err, res->tol);
        goto done;
    }
    /* b == 0 must not read y: poison y with NaN first. */
    for (size_t i = 0; i < n; i++) { hy[i] = NAN; ref[i] = (double)a * hx[i]; }
    if ((st = cgan_buffer_write(ctx, y, 0, n * 4, hy)) || (st = cgan_axpby(ctx, n, a, x, 0.f, y)) ||
        (st = cgan_buffer_read(ctx, y, 0, n * 4, got)))
        goto done;
    double e2 = cgan_max_rel_err(got, ref, n);
    if (e2 > res->max_err) res->max_err = e2;
    if (e2 > res->tol)
        st = cgan_error(ctx, CGAN_E_NUMERIC, "axpby (b=0): error %.3g exceeds %.3g", e2, res->tol);
done:
    cgan_buffer_release(x);
    cgan_buffer_release(y);
    free(hx); free(hy); free(got); free(ref);
    return st;
}
