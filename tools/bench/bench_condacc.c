/* cgan-bench condacc: how well a conditional generator follows its condition, measured
 * without a trained classifier: each generated image is assigned to the nearest class
 * mean of the real data (L2 in pixel space); the score is the fraction assigned to the
 * class that was asked for. The same nearest-mean rule applied to real held-out images
 * gives the ceiling this proxy can reach. The held-out images are split in two: one part
 * gives the class means, the other the ceiling. An IDX set comes shuffled and is split in
 * halves (its first half, then its second); an image folder lists its files class by class,
 * so its files alternate (even places, odd places) and both parts hold every class. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

/* Images from, from + step, ... below to of ds, one at a time, as floats in [-1, 1], to fn. */
typedef void (*image_fn)(void *user, const float *img, int label);
static cgan_status each_image(cgan_ctx *ctx, const cgan_dataset *ds, size_t px, int from, int to, int step,
                              image_fn fn, void *user)
{
    uint8_t *p = malloc(px);
    float *img = malloc(px * sizeof *img);
    cgan_status st = p && img ? CGAN_OK : bench_fail(ctx, CGAN_E_NOMEM, "condacc: out of memory");
    for (int i = from; st == CGAN_OK && i < to; i += step) {
        st = cgan_dataset_read(ctx, ds, i, p);
        for (size_t j = 0; st == CGAN_OK && j < px; j++) img[j] = p[j] / 127.5f - 1.0f;
        if (st == CGAN_OK) fn(user, img, cgan_dataset_label(ds, i));
    }
    free(p);
    free(img);
    return st;
}

typedef struct class_means { double *means; int *count; size_t px; } class_means;

static void add_to_mean(void *user, const float *img, int label)
{
    class_means *m = user;
    for (size_t j = 0; j < m->px; j++) m->means[(size_t)label * m->px + j] += img[j];
    m->count[label]++;
}

typedef struct ceiling { const double *means; int k; size_t px; int ok, n; } ceiling;

static int nearest(const double *means, int k, const float *img, size_t px);

static void judge(void *user, const float *img, int label)
{
    ceiling *c = user;
    c->ok += nearest(c->means, c->k, img, c->px) == label;
    c->n++;
}

static int nearest(const double *means, int k, const float *img, size_t px)
{
    int best = 0;
    double bd = 1e300;
    for (int c = 0; c < k; c++) {
        double d = 0;
        for (size_t i = 0; i < px; i++) {
            double t = img[i] - means[(size_t)c * px + i];
            d += t * t;
        }
        if (d < bd) { bd = d; best = c; }
    }
    return best;
}

int bench_condacc(cgan_ctx *ctx, const bench_opts *o, const char *arg, const char *data, int per_class)
{
    int rc = 1;
    char *ckpt = NULL; /* a file, or a run folder's latest checkpoint (as cgan-cl generate) */
    cgan_st_file *f = NULL;
    cgan_dataset *ds = NULL;
    cgan_sampler *s = NULL;
    double *means = NULL;
    float *z = NULL, *y = NULL, *img = NULL;
    int *count = NULL;
    cgan_train_cfg cfg;
    if (cgan_gen_resolve(ctx, arg, &ckpt) || cgan_st_open(ctx, ckpt, &f) ||
        cgan_checkpoint_config(ctx, f, &cfg))
        goto done;
    const int K = cfg.model.num_classes, S = cfg.model.size, C = cfg.model.nc;
    if (K < 2) { bench_fail(ctx, CGAN_E_INVALID, "%s: the model is not conditional", ckpt); goto done; }
    cgan_data_opts dopts;
    cgan_data_opts_default(&dopts);
    dopts.size = S;
    dopts.channels = C;
    dopts.split = "test";
    if (cgan_dataset_open(ctx, data, &dopts, &ds)) {
        dopts.split = NULL; /* image folders have no split */
        bench_clear_error(ctx);
        if (cgan_dataset_open(ctx, data, &dopts, &ds)) goto done;
    }
    if (cgan_dataset_num_classes(ds) != K) { bench_fail(ctx, CGAN_E_SHAPE, "data has %d classes, the model %d", cgan_dataset_num_classes(ds), K); goto done; }
    const size_t px = (size_t)C * S * S;
    means = calloc((size_t)K * px, sizeof *means);
    count = calloc((size_t)K, sizeof *count);
    img = malloc(px * (size_t)(per_class > 64 ? 64 : per_class) * sizeof *img);
    if (!means || !count || !img) goto done;
    /* class means from one part of the held-out images, the ceiling from the other */
    const int n_real = cgan_dataset_count(ds), half = n_real / 2;
    const int alternate = strcmp(cgan_dataset_format(ds), "imagefolder") == 0;
    class_means cm = { means, count, px };
    if (each_image(ctx, ds, px, 0, alternate ? n_real : half, alternate ? 2 : 1, add_to_mean, &cm)) goto done;
    for (int c = 0; c < K; c++)
        for (size_t j = 0; j < px; j++) means[(size_t)c * px + j] /= count[c] ? count[c] : 1;
    ceiling ceil_run = { means, K, px, 0, 0 };
    if (each_image(ctx, ds, px, alternate ? 1 : half, n_real, alternate ? 2 : 1, judge, &ceil_run)) goto done;
    int real_ok = ceil_run.ok;
    int batch = per_class > 64 ? 64 : per_class;
    if (cgan_sampler_create(ctx, &cfg.model, batch, &s) || cgan_sampler_from_checkpoint(s, f, 1)) goto done;
    z = malloc((size_t)batch * cfg.model.nz * sizeof *z);
    y = malloc((size_t)batch * sizeof *y);
    if (!z || !y) goto done;
    cgan_rng r;
    cgan_rng_init(&r, 4242, 1);
    int ok = 0, total = 0;
    for (int c = 0; c < K; c++)
        for (int done_n = 0; done_n < per_class; done_n += batch) {
            cgan_rng_fill_normal(&r, z, (size_t)batch * cfg.model.nz, 0, 1);
            for (int i = 0; i < batch; i++) y[i] = (float)c;
            if (cgan_sampler_run(s, z, y, img)) goto done;
            for (int i = 0; i < batch && done_n + i < per_class; i++) {
                ok += nearest(means, K, img + (size_t)i * px, px) == c;
                total++;
            }
        }
    double gen = (double)ok / total, real = (double)real_ok / (alternate ? n_real / 2 : n_real - half);
    if (o->json)
        bench_emit(ctx, json_pack("{s:s,s:s,s:s,s:s?,s:f,s:f,s:i}", "bench", "condacc", "checkpoint",
                                  ckpt, "cond", cgan_cond_name(cfg.model.cond), "step",
                                  cgan_st_meta(f, "step"), "generated", gen, "real_ceiling", real,
                                  "per_class", per_class));
    else
        printf("%s (%s, step %s): nearest-class-mean accuracy of generated images %.1f%% "
               "(real held-out images: %.1f%%, chance %.1f%%)\n",
               ckpt, cgan_cond_name(cfg.model.cond), cgan_st_meta(f, "step"), 100 * gen, 100 * real, 100.0 / K);
    rc = 0;
done:
    if (rc) fprintf(stderr, "cgan-bench condacc: %s\n", bench_error(ctx));
    cgan_sampler_destroy(s);
    cgan_dataset_destroy(ds);
    cgan_st_close(f);
    free(means); free(count); free(img); free(z); free(y);
    free(ckpt);
    return rc;
}
