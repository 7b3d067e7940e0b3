/* Device random fills and their host twins. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include "random.h"
#include "rng.h"

#define TAG_NORMAL 0x4E4F524Du
#define TAG_INT 0x494E5449u

static void draw(uint32_t out[4], size_t i, uint32_t tag, uint64_t seed, uint64_t counter)
{
    uint32_t ctr[4] = { (uint32_t)i, (uint32_t)counter, (uint32_t)(counter >> 32), tag };
    uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
    cgan_philox4x32(ctr, key, out);
}

void cgan_randn_host(float *y, size_t n, uint64_t seed, uint64_t counter)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t r[4];
        draw(r, i, TAG_NORMAL, seed, counter);
        float u1 = ((float)(r[0] >> 8) + 0.5f) * (1.0f / 16777216.0f);
        float u2 = (float)(r[1] >> 8) * (1.0f / 16777216.0f);
        y[i] = sqrtf(-2.0f * logf(u1)) * cosf(6.283185307f * u2);
    }
}

void cgan_randint_host(float *y, size_t n, int k, uint64_t seed, uint64_t counter)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t r[4];
        draw(r, i, TAG_INT, seed, counter);
        int c = (int)((float)(r[0] >> 8) * (1.0f / 16777216.0f) * (float)k);
        y[i] = (float)(c < k ? c : k - 1);
    }
}

cgan_status cgan_randn(cgan_ctx *ctx, cl_mem y, size_t n, uint64_t seed, uint64_t counter)
{
    if (!n) return CGAN_OK;
    if (n > INT_MAX) return cgan_error(ctx, CGAN_E_INVALID, "randn: %zu elements", n);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "random", NULL, "randn", &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KUINT((uint32_t)seed), CGAN_KUINT((uint32_t)(seed >> 32)),
                       CGAN_KUINT((uint32_t)counter), CGAN_KUINT((uint32_t)(counter >> 32)), CGAN_KMEM(y));
}

cgan_status cgan_randint(cgan_ctx *ctx, cl_mem y, size_t n, int kk, uint64_t seed, uint64_t counter)
{
    if (!n) return CGAN_OK;
    if (n > INT_MAX || kk < 1) return cgan_error(ctx, CGAN_E_INVALID, "randint: %zu elements, %d classes", n, kk);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "random", NULL, "randint", &k));
    cgan_range r = cgan_range_1d(n);
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KINT(kk), CGAN_KUINT((uint32_t)seed),
                       CGAN_KUINT((uint32_t)(seed >> 32)), CGAN_KUINT((uint32_t)counter),
                       CGAN_KUINT((uint32_t)(counter >> 32)), CGAN_KMEM(y));
}

/* Device draws equal the host twins; the normal sample has mean ~0 and variance ~1. */
cgan_status cgan_check_random(cgan_ctx *ctx, cgan_check_result *res)
{
    const size_t n = 4099;
    cgan_status st = CGAN_OK;
    cl_mem m = NULL;
    float *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
    double *ref = malloc(n * sizeof *ref);
    res->tol = 1e-5;
    res->max_err = 0;
    if (!got || !want || !ref) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto done; }
    if ((st = cgan_buffer_create(ctx, n * sizeof(float), "random", &m))) goto done;
    for (int kind = 0; kind < 2; kind++) {
        uint64_t seed = 0x123456789abcull, counter = 77 + (uint64_t)kind;
        st = kind ? cgan_randint(ctx, m, n, 10, seed, counter) : cgan_randn(ctx, m, n, seed, counter);
        if (st || (st = cgan_buffer_read(ctx, m, 0, n * sizeof(float), got))) goto done;
        if (kind) cgan_randint_host(want, n, 10, seed, counter);
        else cgan_randn_host(want, n, seed, counter);
        for (size_t i = 0; i < n; i++) ref[i] = want[i];
        double e = cgan_max_rel_err(got, ref, n);
        if (e > res->max_err) res->max_err = e;
        if (!(e <= res->tol)) {
            st = cgan_error(ctx, CGAN_E_NUMERIC, "random: device %s differs from the host (%.3g)",
                            kind ? "randint" : "randn", e);
            goto done;
        }
        if (!kind) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < n; i++) { s += got[i]; s2 += (double)got[i] * got[i]; }
            double mean = s / n, var = s2 / n - mean * mean;
            if (fabs(mean) > 0.1 || fabs(var - 1) > 0.1) {
                st = cgan_error(ctx, CGAN_E_NUMERIC, "randn: mean %.3f variance %.3f", mean, var);
                goto done;
            }
        } else {
            for (size_t i = 0; i < n; i++)
                if (got[i] < 0 || got[i] > 9 || got[i] != floorf(got[i])) {
                    st = cgan_error(ctx, CGAN_E_NUMERIC, "randint: value %g out of range", got[i]);
                    goto done;
                }
        }
    }
done:
    cgan_buffer_release(m);
    free(got); free(want); free(ref);
    return st;
}
