/* The evaluator (cgan/eval.h): real sets and their features, generation through the
 * sampler, and every metric of one evaluation. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "eval/eval_impl.h"
#include "gan/generate.h"
#include "gan/run.h"
#include "runtime/atomic.h"
#include "gan/sampler.h"
#include "runtime/runtime.h"

#define CHUNK 100   /* real images read per feature pass */
#define KID_SUBSET_MAX 1000

struct cgan_evaluator {
    cgan_ctx *ctx;
    cgan_eval_opts o;
    cgan_dataset *train, *test;   /* test NULL: the training images are the real ones */
    cgan_featnet *f;
    int K, n, floor_n, d;
    float *fa;                    /* real features: set A [n, d], then the rest of the draw */
    float *ffa;                   /* the floor's first set: fa or its first floor_n rows */
    int *la;                      /* labels of A */
    double real_acc;
    double fid_floor, kid_floor, kid_floor_std, p_floor, r_floor;
};

void cgan_eval_opts_default(cgan_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->size = 32;
    o->n = 0;   /* half the real set, at most CGAN_EVAL_DEFAULT_N */
    o->kid_subsets = 100;
    cgan_featnet_opts_default(&o->featnet);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void cgan_eval_result_free(cgan_eval_result *r)
{
    if (!r) return;
    free(r->class_acc);
    free(r->class_fid);
    r->class_acc = r->class_fid = NULL;
}

void cgan_evaluator_destroy(cgan_evaluator *e)
{
    if (!e) return;
    cgan_featnet_destroy(e->f);
    cgan_dataset_destroy(e->test);
    cgan_dataset_destroy(e->train);
    free(e->fa);
    free(e->la);
    free(e);
}

cgan_featnet *cgan_evaluator_featnet(cgan_evaluator *e) { return e->f; }
int cgan_evaluator_num_classes(const cgan_evaluator *e) { return e->K; }
int cgan_evaluator_n(const cgan_evaluator *e) { return e->n; }
char *const *cgan_evaluator_class_names(const cgan_evaluator *e) { return cgan_dataset_class_names(e->train); }

/* Features (and logits) of real images idx[0..n) of ds, in chunks. */
static cgan_status real_features(cgan_evaluator *e, const cgan_dataset *ds, const int *idx, int n, float *feat,
                                 float *logits)
{
    const size_t img = cgan_dataset_image_size_bytes(ds);
    float *x = malloc(CHUNK * img * sizeof *x);
    if (!x) return cgan_error(e->ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = CGAN_OK;
    for (int i0 = 0; i0 < n && st == CGAN_OK; i0 += CHUNK) {
        int m = n - i0 < CHUNK ? n - i0 : CHUNK;
        st = cgan_eval_read_images(e->ctx, ds, idx + i0, m, x);
        if (st == CGAN_OK)
            st = cgan_featnet_run(e->f, x, m, feat + (size_t)i0 * e->d, logits ? logits + (size_t)i0 * e->K : NULL);
    }
    free(x);
    return st;
}

static int kid_subset(int n) { return n / 2 < KID_SUBSET_MAX ? (n / 2 > 2 ? n / 2 : 2) : KID_SUBSET_MAX; }

cgan_status cgan_evaluator_create(cgan_ctx *ctx, const cgan_eval_opts *o, cgan_eval_message msg, void *user,
                                  cgan_evaluator **out)
{
    *out = NULL;
    if (o->n && (o->n < 2 * (CGAN_EVAL_K + 1) || o->n > 1000000))
        return cgan_error(ctx, CGAN_E_INVALID, "--n %d: expected %d to 1000000 images", o->n, 2 * (CGAN_EVAL_K + 1));
    if (o->kid_subsets < 1) return cgan_error(ctx, CGAN_E_INVALID, "KID subsets %d: at least 1", o->kid_subsets);
    cgan_evaluator *e = calloc(1, sizeof *e);
    if (!e) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    e->ctx = ctx;
    e->o = *o;
    e->o.data = e->o.features = NULL;   /* not kept past this call */
    cgan_status st;
    cgan_data_opts dopts;
    cgan_data_opts_default(&dopts);
    dopts.size = o->size;
    dopts.channels = o->channels;
    int *perm = NULL;
    float *logits = NULL;
    if ((st = cgan_dataset_open(ctx, o->data, &dopts, &e->train))) goto fail;
    if (!strcmp(cgan_dataset_format(e->train), "idx")) {
        dopts.split = "test";
        dopts.channels = cgan_dataset_channels(e->train);
        if ((st = cgan_dataset_open(ctx, o->data, &dopts, &e->test))) goto fail;
    }
    e->K = cgan_dataset_num_classes(e->train);
    if ((st = cgan_featnet_obtain(ctx, e->train, e->test, o->features, &o->featnet, msg, user, NULL, &e->f))) goto fail;
    e->d = cgan_featnet_dim(e->f);
    const cgan_dataset *real = e->test ? e->test : e->train;
    const int N = cgan_dataset_count(real);
    const int n = o->n ? o->n : N / 2 < CGAN_EVAL_DEFAULT_N ? N / 2 : CGAN_EVAL_DEFAULT_N;
    if (n > N || n < 2 * (CGAN_EVAL_K + 1)) {
        const char *set = e->test ? "the test split" : "the training images";
        st = o->n ? cgan_error(ctx, CGAN_E_INVALID, "--n %d: the real set (%s of %s) has only %d images", n, set,
                               cgan_dataset_source(real), N)
                  : cgan_error(ctx, CGAN_E_INVALID, "the real set (%s of %s) has only %d images; scoring takes at "
                               "least %d", set, cgan_dataset_source(real), N, 4 * (CGAN_EVAL_K + 1));
        goto fail;
    }
    /* A: the first n of a permutation drawn from the seed; the floor compares A with the
     * next n (or, when there are fewer than 2n, the two halves) */
    e->n = e->o.n = n;
    const int total = N >= 2 * n ? 2 * n : N;
    e->floor_n = N >= 2 * n ? n : N / 2;
    perm = malloc((size_t)N * sizeof *perm);
    e->fa = malloc((size_t)total * e->d * sizeof(float));
    e->la = malloc((size_t)n * sizeof *e->la);
    logits = malloc((size_t)n * e->K * sizeof *logits);
    if (!perm || !e->fa || !e->la || !logits) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto fail; }
    cgan_rng r;
    cgan_rng_init(&r, o->seed, 0xE7A1);
    for (int i = 0; i < N; i++) perm[i] = i;
    for (int i = 0; i < total; i++) {
        int j = i + (int)cgan_rng_below(&r, (uint32_t)(N - i)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    if ((st = real_features(e, real, perm, n, e->fa, logits))) goto fail;
    if (total > n && (st = real_features(e, real, perm + n, total - n, e->fa + (size_t)n * e->d, NULL)))
        goto fail;
    int right = 0;
    for (int i = 0; i < n; i++) {
        e->la[i] = cgan_dataset_label(real, perm[i]);
        right += cgan_eval_argmax(logits + (size_t)i * e->K, e->K) == e->la[i];
    }
    e->real_acc = (double)right / n;
    /* the floor's sets: [0, floor_n) and [total - floor_n, total) of the drawn images */
    e->ffa = e->fa;
    const float *fb = e->fa + (size_t)(total - e->floor_n) * e->d;
    if ((st = cgan_fid(ctx, e->ffa, e->floor_n, fb, e->floor_n, e->d, &e->fid_floor)) ||
        (st = cgan_kid(ctx, e->ffa, e->floor_n, fb, e->floor_n, e->d, o->kid_subsets, kid_subset(e->floor_n),
                       o->seed, &e->kid_floor, &e->kid_floor_std)) ||
        (st = cgan_precision_recall(ctx, e->ffa, e->floor_n, fb, e->floor_n, e->d, CGAN_EVAL_K, &e->p_floor,
                                    &e->r_floor)))
        goto fail;
    free(perm);
    free(logits);
    *out = e;
    return CGAN_OK;
fail:
    free(perm);
    free(logits);
    cgan_evaluator_destroy(e);
    return st;
}

/* Every figure of one evaluation from the features and logits of n scored images, image i
 * of class i % num_classes (num_classes 0: unconditional). On failure r holds nothing. */
static cgan_status score(cgan_evaluator *e, const float *feat, const float *lg, int num_classes, cgan_eval_result *r)
{
    cgan_ctx *ctx = e->ctx;
    const int n = e->n, d = e->d, K = e->K;
    float *ga = NULL, *ra = NULL;
    cgan_status st = CGAN_OK;
    r->n = n;
    r->floor_n = e->floor_n;
    r->num_classes = num_classes;
    r->real_acc = e->real_acc;
    r->fid_floor = e->fid_floor;
    r->kid_floor = e->kid_floor;
    r->kid_floor_std = e->kid_floor_std;
    r->precision_floor = e->p_floor;
    r->recall_floor = e->r_floor;
    if ((st = cgan_fid(ctx, feat, n, e->fa, n, d, &r->fid)) ||
        (st = cgan_kid(ctx, feat, n, e->fa, n, d, e->o.kid_subsets, kid_subset(n), e->o.seed, &r->kid, &r->kid_std)) ||
        (st = cgan_precision_recall(ctx, e->fa, n, feat, n, d, CGAN_EVAL_K, &r->precision, &r->recall)))
        goto done;
    r->cond_acc = NAN;
    if (num_classes) {
        r->class_acc = calloc((size_t)K, sizeof *r->class_acc);
        r->class_fid = calloc((size_t)K, sizeof *r->class_fid);
        ga = malloc((size_t)n * d * sizeof *ga);
        ra = malloc((size_t)n * d * sizeof *ra);
        if (!r->class_acc || !r->class_fid || !ga || !ra) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto done; }
        int right = 0;
        for (int c = 0; c < K && st == CGAN_OK; c++) {
            int ng = 0, nr = 0, rc = 0;
            for (int i = c; i < n; i += K) {
                int ok = cgan_eval_argmax(lg + (size_t)i * K, K) == c;
                rc += ok;
                memcpy(ga + (size_t)ng++ * d, feat + (size_t)i * d, (size_t)d * sizeof *ga);
            }
            for (int i = 0; i < n; i++)
                if (e->la[i] == c) memcpy(ra + (size_t)nr++ * d, e->fa + (size_t)i * d, (size_t)d * sizeof *ra);
            right += rc;
            r->class_acc[c] = ng ? (double)rc / ng : NAN;
            r->class_fid[c] = NAN;
            if (ng >= 2 && nr >= 2) st = cgan_fid(ctx, ga, ng, ra, nr, d, &r->class_fid[c]);
        }
        r->cond_acc = (double)right / n;
    }
done:
    free(ga);
    free(ra);
    if (st != CGAN_OK) cgan_eval_result_free(r);
    return st;
}

cgan_status cgan_evaluator_run(cgan_evaluator *e, cgan_sampler *s, int num_classes, cgan_eval_result *r)
{
    memset(r, 0, sizeof *r);
    /* the queue may still hold a caller's work (training steps run ahead of the host):
     * drain it first, so that r->seconds is the evaluation's own time */
    CGAN_TRY(cgan_finish(e->ctx));
    const double t0 = now_s();
    cgan_ctx *ctx = e->ctx;
    const cgan_model_cfg *m = cgan_sampler_model(s);
    const int n = e->n, d = e->d, K = e->K, B = cgan_sampler_batch(s);
    if (m->cond == CGAN_COND_TEXT)
        return cgan_error(ctx, CGAN_E_UNSUPPORTED, "eval: a text-conditioned model has no classes to score; eval "
                          "takes class-conditional and unconditional models");
    if (m->size != cgan_featnet_size(e->f) || m->nc != cgan_featnet_channels(e->f))
        return cgan_error(ctx, CGAN_E_SHAPE, "eval: the generator makes %dx%dx%d images, the feature network reads "
                          "%dx%dx%d", m->nc, m->size, m->size, cgan_featnet_channels(e->f), cgan_featnet_size(e->f),
                          cgan_featnet_size(e->f));
    if (num_classes && num_classes != K)
        return cgan_error(ctx, CGAN_E_SHAPE, "eval: the generator has %d classes, the data %d", num_classes, K);
    const size_t img = (size_t)m->nc * m->size * m->size;
    float *z = malloc((size_t)B * m->nz * sizeof *z), *y = malloc((size_t)B * sizeof *y);
    float *x = malloc((size_t)B * img * sizeof *x);
    float *feat = malloc((size_t)n * d * sizeof *feat), *lg = malloc((size_t)n * K * sizeof *lg);
    cgan_status st = CGAN_OK;
    if (!z || !y || !x || !feat || !lg) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto done; }
    for (int i0 = 0; i0 < n && st == CGAN_OK; i0 += B) {
        int cnt = n - i0 < B ? n - i0 : B;
        for (int i = 0; i < B; i++) {   /* a short last batch is padded with the next slots */
            cgan_gen_noise(e->o.seed, (uint32_t)(i0 + i), m->nz, z + (size_t)i * m->nz);
            y[i] = num_classes ? (float)((i0 + i) % num_classes) : 0.f;
        }
        st = cgan_sampler_run(s, z, num_classes ? y : NULL, x);
        if (st == CGAN_OK) st = cgan_featnet_run(e->f, x, cnt, feat + (size_t)i0 * d, lg + (size_t)i0 * K);
    }
    if (st == CGAN_OK) st = score(e, feat, lg, num_classes, r);
done:
    free(z); free(y); free(x); free(feat); free(lg);
    r->seconds = now_s() - t0;
    return st;
}

/* The data class whose file-safe name (cgan_class_filename, as `generate --out-dir`
 * writes) equals name's, ignoring case; -1 when none. */
static int data_class(const cgan_evaluator *e, const char *name)
{
    char a[256], b[256];
    cgan_class_filename(name, a, sizeof a);
    char *const *names = cgan_dataset_class_names(e->train);
    for (int c = 0; c < e->K; c++) {
        cgan_class_filename(names[c], b, sizeof b);
        if (!strcasecmp(a, b)) return c;
    }
    return -1;
}

cgan_status cgan_evaluator_images(cgan_evaluator *e, const char *path, cgan_eval_result *r)
{
    memset(r, 0, sizeof *r);
    const double t0 = now_s();
    cgan_ctx *ctx = e->ctx;
    const int n = e->n, d = e->d, K = e->K;
    cgan_data_opts dopts;
    cgan_data_opts_default(&dopts);
    dopts.size = cgan_featnet_size(e->f);
    dopts.channels = cgan_featnet_channels(e->f);
    cgan_dataset *ds = NULL;
    CGAN_TRY(cgan_dataset_open(ctx, path, &dopts, &ds));
    const int N = cgan_dataset_count(ds), KS = cgan_dataset_num_classes(ds);
    char *const *names = cgan_dataset_class_names(ds);
    int *map = malloc((size_t)(KS > 0 ? KS : 1) * sizeof *map), *have = calloc((size_t)K, sizeof *have);
    int *idx = malloc((size_t)n * sizeof *idx), *perm = malloc((size_t)(N > 0 ? N : 1) * sizeof *perm);
    float *feat = malloc((size_t)n * d * sizeof *feat), *lg = malloc((size_t)n * K * sizeof *lg);
    cgan_status st = CGAN_OK;
    if (!map || !have || !idx || !perm || !feat || !lg) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto done; }
    /* the set's classes, by name, to the data's */
    for (int c = 0; c < KS && st == CGAN_OK; c++)
        if ((map[c] = data_class(e, names[c])) < 0)
            st = cgan_error(ctx, CGAN_E_INVALID, "--images %s: class '%s' is not a class of the data (%s, %d "
                            "classes); name the class folders as the data's classes", path, names[c],
                            cgan_dataset_source(e->train), K);
    if (st) goto done;
    /* image i of class i % K: each class's images in an order drawn from the seed */
    cgan_rng rng;
    cgan_rng_init(&rng, e->o.seed, 0x1A6E5);
    for (int i = 0; i < N; i++) perm[i] = i;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)cgan_rng_below(&rng, (uint32_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < n; i++) idx[i] = -1;
    for (int i = 0; i < N; i++) {
        int c = map[cgan_dataset_label(ds, perm[i])], slot = c + K * have[c];
        if (slot < n) {
            idx[slot] = perm[i];
            have[c]++;
        }
    }
    for (int c = 0; c < K && st == CGAN_OK; c++) {
        int need = n / K + (c < n % K);
        if (have[c] < need)
            st = cgan_error(ctx, CGAN_E_INVALID, "--images %s: %d image(s) of class '%s'; --n %d takes %d of each "
                            "class (image i of class i %% %d)", path, have[c], cgan_dataset_class_names(e->train)[c],
                            n, need, K);
    }
    if (st == CGAN_OK) st = real_features(e, ds, idx, n, feat, lg);
    if (st == CGAN_OK) st = score(e, feat, lg, K, r);
done:
    free(map); free(have); free(idx); free(perm); free(feat); free(lg);
    cgan_dataset_destroy(ds);
    r->seconds = now_s() - t0;
    return st;
}

cgan_status cgan_evaluator_checkpoint(cgan_evaluator *e, const char *path, cgan_gen_weights w, cgan_eval_result *r)
{
    memset(r, 0, sizeof *r);
    cgan_gen *g = NULL;
    CGAN_TRY(cgan_gen_open(e->ctx, path, &g));
    cgan_status st = CGAN_OK;
    if (cgan_gen_is_text(g))
        st = cgan_error(e->ctx, CGAN_E_UNSUPPORTED, "%s: a text-conditioned model has no classes to score; eval takes "
                        "class-conditional and unconditional models", cgan_gen_path(g));
    if (st == CGAN_OK) st = cgan_gen_load(g, w, 100);
    if (st == CGAN_OK) {
        st = cgan_evaluator_run(e, cgan_gen_loaded_sampler(g), cgan_gen_num_classes(g), r);
        if (st != CGAN_OK) st = cgan_error_wrap(e->ctx, st, "%s", cgan_gen_path(g));
    }
    cgan_gen_close(g);
    return st;
}

/* ---- a run folder: every checkpoint, as a curve ------------------------------------ */

typedef struct ck { long long step; char *name; } ck;

static int ck_cmp(const void *a, const void *b)
{
    const ck *x = a, *y = b;
    return x->step < y->step ? -1 : x->step > y->step;
}

cgan_status cgan_evaluator_run_folder(cgan_evaluator *e, const char *rundir, cgan_gen_weights w, cgan_eval_each cb,
                                      void *user, int *count)
{
    cgan_ctx *ctx = e->ctx;
    *count = 0;
    char dir[1100];
    if ((size_t)snprintf(dir, sizeof dir, "%s/checkpoints", rundir) >= sizeof dir)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: path too long", rundir);
    DIR *d = opendir(dir);
    if (!d) return cgan_error(ctx, CGAN_E_NOT_FOUND, "%s: not a run folder (no checkpoints folder: %s)", rundir,
                              strerror(errno));
    ck *v = NULL;
    int n = 0, cap = 0;
    cgan_status st = CGAN_OK;
    for (struct dirent *de; (de = readdir(d));) {
        long long step = cgan_rundir_ckpt_step(de->d_name);
        if (step < 0) continue;
        if (n == cap) {
            ck *nv = realloc(v, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *nv);
            if (!nv) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); break; }
            v = nv;
        }
        if (!(v[n].name = strdup(de->d_name))) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); break; }
        v[n++].step = step;
    }
    closedir(d);
    if (st == CGAN_OK && n == 0) st = cgan_error(ctx, CGAN_E_NOT_FOUND, "%s: no checkpoint (step_N.safetensors)", dir);
    double *steps = NULL, *fid = NULL, *floor = NULL;
    char *csv = NULL;
    size_t csvn = 0;
    FILE *mem = NULL;
    if (st == CGAN_OK) {
        qsort(v, (size_t)n, sizeof *v, ck_cmp);
        steps = malloc((size_t)n * sizeof *steps);
        fid = malloc((size_t)n * sizeof *fid);
        floor = malloc((size_t)n * sizeof *floor);
        mem = open_memstream(&csv, &csvn);
        if (!steps || !fid || !floor || !mem) st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    }
    if (st == CGAN_OK) fprintf(mem, "step,checkpoint,%s\n", cgan_eval_csv_header());
    for (int i = 0; i < n && st == CGAN_OK; i++) {
        char path[1400], row[512];
        snprintf(path, sizeof path, "%s/%s", dir, v[i].name);
        cgan_eval_result r;
        if ((st = cgan_evaluator_checkpoint(e, path, w, &r))) break;
        steps[i] = (double)v[i].step;
        fid[i] = r.fid;
        floor[i] = r.fid_floor;
        cgan_eval_csv_row(&r, row, sizeof row);
        fprintf(mem, "%lld,checkpoints/%s,%s\n", v[i].step, v[i].name, row);
        if (cb) cb(user, v[i].step, path, &r);
        cgan_eval_result_free(&r);
        (*count)++;
    }
    if (mem) fclose(mem);
    if (st == CGAN_OK) {
        snprintf(dir, sizeof dir, "%s/eval.csv", rundir);
        st = cgan_atomic_write(ctx, dir, csv, csvn);
    }
    if (st == CGAN_OK) {
        snprintf(dir, sizeof dir, "%s/eval.png", rundir);
        st = cgan_eval_plot_curve(ctx, dir, steps, fid, floor, n);
    }
    for (int i = 0; i < n; i++) free(v[i].name);
    free(v); free(steps); free(fid); free(floor); free(csv);
    return st;
}
