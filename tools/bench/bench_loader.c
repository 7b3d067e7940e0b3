/* cgan-bench loader: how fast the batch loader turns a dataset into batches, and how much
 * memory it takes. The caller only takes batches, so the time is the loader's: decoding
 * from disk when the folder is streamed, copying from memory with --cache-decoded (whose
 * decoding happens when the dataset is opened, timed apart). No OpenCL device is used. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include "bench.h"

static double peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

int bench_loader(const bench_opts *o)
{
    int rc = 1;
    cgan_ctx *ctx = cgan_ctx_new(); /* messages only */
    cgan_dataset *ds = NULL;
    cgan_loader *l = NULL;
    float *img = NULL, *lab = NULL;
    if (!ctx) {
        fprintf(stderr, "cgan-bench loader: out of memory\n");
        return 1;
    }
    cgan_data_opts dopts;
    cgan_data_opts_default(&dopts);
    dopts.size = o->size;
    dopts.cache_decoded = o->cache_decoded;
    double t0 = bench_now_ms();
    if (cgan_dataset_open(ctx, o->data, &dopts, &ds)) goto done;
    double open_ms = bench_now_ms() - t0;
    const int n = cgan_dataset_count(ds), skipped = cgan_dataset_skipped(ds), S = cgan_dataset_size(ds);
    if (o->batch > n) {
        bench_fail(ctx, CGAN_E_INVALID, "--batch %d is larger than the data set (%d images)", o->batch, n);
        goto done;
    }
    size_t isz = cgan_dataset_image_size_bytes(ds);
    img = malloc((size_t)o->batch * isz * sizeof *img);
    lab = malloc((size_t)o->batch * sizeof *lab);
    if (!img || !lab) {
        bench_fail(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    t0 = bench_now_ms();
    if (cgan_loader_create_workers(ctx, ds, o->batch, 1, CGAN_AUG_FLIP, o->workers, &l)) goto done;
    double first_ms = 0;
    for (int k = 0; k < o->batches; k++) {
        if (cgan_loader_next(l, img, lab, NULL)) goto done;
        if (k == 0) first_ms = bench_now_ms() - t0;
    }
    double ms = bench_now_ms() - t0;
    const char *example = NULL;
    int failed = cgan_loader_skipped(l, &example);
    int streamed = cgan_dataset_streams(ds), workers = cgan_loader_workers(l);
    double images = (double)o->batches * o->batch, ips = images / (ms / 1e3);
    double rss = peak_rss_mib();
    if (o->json) {
        json_t *r = json_pack("{s:s, s:s, s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:i, s:i}",
                              "bench", "loader", "data", cgan_dataset_source(ds), "streamed", streamed, "images_in_set", n,
                              "channels", cgan_dataset_channels(ds), "size", S, "batch", o->batch, "batches", o->batches,
                              "workers", workers, "open_ms", open_ms, "first_batch_ms", first_ms, "img_per_s", ips,
                              "peak_rss_mib", rss, "skipped_at_open", skipped, "failed_in_batches", failed);
        char *text = r ? json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
        if (text) printf("%s\n", text);
        free(text);
        json_decref(r);
    } else {
        printf("data: %s: %d images, %dx%dx%d, %s; %d skipped at open\n", cgan_dataset_source(ds), n, cgan_dataset_channels(ds), S,
               S, streamed ? "streamed from disk" : "decoded in memory (--cache-decoded)", skipped);
        if (streamed)
            printf("open: %.2f s (headers of %d files: %.0f files/s)\n", open_ms / 1e3, n + skipped,
                   (n + skipped) / (open_ms / 1e3));
        else
            printf("open: %.2f s (decoded %d files: %.0f img/s, all CPUs)\n", open_ms / 1e3, n + skipped,
                   (n + skipped) / (open_ms / 1e3));
        printf("loader: %d batches of %d with flips, %d worker thread%s, first batch after %.1f ms\n", o->batches,
               o->batch, workers, workers == 1 ? "" : "s", first_ms);
        printf("%s: %.0f img/s (%.0f images in %.2f s)\n", streamed ? "decoded" : "served from memory", ips, images,
               ms / 1e3);
        if (failed) printf("failed to decode in batches (replaced): %d, first: %s\n", failed, example ? example : "?");
        printf("peak RSS: %.1f MiB\n", rss);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "cgan-bench loader: %s\n", bench_error(ctx));
    cgan_loader_destroy(l);
    cgan_dataset_destroy(ds);
    free(img);
    free(lab);
    cgan_ctx_destroy(ctx);
    return rc;
}
