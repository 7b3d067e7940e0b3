/* Training statistics reduced on the device. */
#include "stats.h"

cgan_status cgan_logit_stats(cgan_ctx *ctx, cl_mem logits, size_t n, cl_mem out, int slot)
{
    if (n == 0 || n > 0x7fffffff) return cgan_error(ctx, CGAN_E_INVALID, "logit_stats: %zu logits", n);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "gan_stats", NULL, "logit_stats", &k));
    size_t wg = 1;
    while (wg * 2 <= cgan_kernel_max_wg(k) && wg * 2 <= 256 && wg < n) wg *= 2;
    cgan_range r = { 1, { wg, 1, 1 }, { wg, 1, 1 } };
    return cgan_launch(ctx, k, &r, CGAN_KINT(n), CGAN_KMEM(logits), CGAN_KMEM(out), CGAN_KINT(slot),
                       CGAN_KLOCAL(wg * sizeof(float)), CGAN_KLOCAL(wg * sizeof(float)));
}
