/* The feature network (cgan/eval.h): a CNN classifier trained with the library's own
 * graph, executor and Adam; its penultimate layer is the feature space of the metrics. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "eval/eval_impl.h"
#include "io/safetensors.h"
#include "runtime/runtime.h"

#define FORMAT "cgan-cl-features"
#define FORMAT_VERSION 1
#define RUN_BATCH 100        /* images per inference pass */
#define DROPOUT 0.3f
#define MAX_SIDE_STAGES 8

void cgan_featnet_opts_default(cgan_featnet_opts *o)
{
    o->epochs = 3;
    o->batch = 100;
    o->lr = 2e-3f;
    o->seed = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(cgan_eval_message msg, void *user, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(cgan_eval_message msg, void *user, const char *fmt, ...)
{
    if (!msg) return;
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    msg(user, buf);
}

/* The default conv widths for a side: one stride-2 stage per halving down to 4x4. */
static int default_widths(int size, int *w)
{
    int n = 0;
    for (int side = size; side > 4 && n < MAX_SIDE_STAGES; side = (side + 2 - 4) / 2 + 1)
        w[n] = n < 2 ? 32 << n : 128, n++;
    return n;
}

/* conv 4x4/2 + BN + ReLU per width, linear to dim + BN + ReLU (the features), dropout,
 * linear to the logits. *feat: the features' tensor id. */
static int build(cgan_graph *g, int x, const int *widths, int nw, int dim, int K, int *feat)
{
    char name[32];
    for (int i = 0; i < nw; i++) {
        snprintf(name, sizeof name, "conv%d", i + 1);
        x = cgan_nn_conv2d(g, name, x, widths[i], 4, 2, 1, 0);
        snprintf(name, sizeof name, "bn%d", i + 1);
        x = cgan_nn_batchnorm_act(g, name, x, CGAN_ACT_RELU, 0.f);
    }
    x = cgan_nn_linear(g, "fc1", x, dim, 0);
    x = cgan_nn_batchnorm_act(g, "bnf", x, CGAN_ACT_RELU, 0.f);
    *feat = x;
    x = cgan_nn_dropout(g, "drop", x, DROPOUT);
    return cgan_nn_linear(g, "fc2", x, K, 1);
}

void cgan_featnet_destroy(cgan_featnet *f)
{
    if (!f) return;
    cgan_graph_destroy(f->g);
    free(f);
}

/* The inference network of f's shape (f->g), run in eval passes. */
static cgan_status make_eval_graph(cgan_featnet *f)
{
    cgan_graph *g = cgan_graph_new(f->ctx, "F");
    if (!g) return cgan_error(f->ctx, CGAN_E_NOMEM, "out of memory");
    f->in = cgan_graph_input(g, "x", cgan_shape4(RUN_BATCH, f->channels, f->size, f->size));
    f->logits = build(g, f->in, f->widths, f->nw, f->dim, f->num_classes, &f->feat);
    cgan_status st = cgan_graph_status(g);
    /* planned for training although only eval passes run: an eval plan reuses the memory
     * of activations no later node reads, and the features (an inner activation) would be
     * overwritten by the logits before they are read */
    if (st == CGAN_OK) st = cgan_graph_plan(g, CGAN_MODE_TRAIN, 0);
    if (st != CGAN_OK) {
        cgan_graph_destroy(g);
        return cgan_error_wrap(f->ctx, st, "feature network");
    }
    f->g = g;
    return CGAN_OK;
}

static cgan_featnet *featnet_new(cgan_ctx *ctx, int size, int channels, int K)
{
    cgan_featnet *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->ctx = ctx;
    f->size = size;
    f->channels = channels;
    f->num_classes = K;
    f->dim = CGAN_FEATNET_DIM;
    f->test_acc = -1;
    f->nw = default_widths(size, f->widths);
    return f;
}

/* Copy every parameter and state tensor of `from` into the tensor of the same name in
 * `to`. */
static cgan_status copy_weights(cgan_ctx *ctx, cgan_graph *from, cgan_graph *to)
{
    for (int i = 0; i < cgan_graph_tensor_count(to); i++) {
        cgan_tensor_kind k = cgan_graph_tensor_kind(to, i);
        if (k != CGAN_TENSOR_PARAM && k != CGAN_TENSOR_STATE) continue;
        int j = cgan_graph_find_tensor(from, cgan_graph_tensor_name(to, i));
        size_t n = cgan_numel(cgan_graph_tensor_shape(to, i));
        if (j < 0) return cgan_error(ctx, CGAN_E_NOT_FOUND, "feature network: no tensor %s", cgan_graph_tensor_name(to, i));
        float *h = malloc(n * sizeof *h);
        if (!h) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        cgan_status st = cgan_graph_read(from, j, h);
        if (st == CGAN_OK) st = cgan_graph_write(to, i, h);
        free(h);
        CGAN_TRY(st);
    }
    return CGAN_OK;
}

cgan_status cgan_featnet_train(cgan_ctx *ctx, const cgan_dataset *train, const cgan_dataset *test,
                               const cgan_featnet_opts *opts, cgan_eval_message msg, void *user, cgan_featnet **out)
{
    *out = NULL;
    cgan_featnet_opts o;
    cgan_featnet_opts_default(&o);
    if (opts) o = *opts;
    const int B = o.batch, K = cgan_dataset_num_classes(train);
    const int S = cgan_dataset_size(train), C = cgan_dataset_channels(train);
    if (o.epochs < 1 || B < 2 || !(o.lr > 0 && isfinite(o.lr)))
        return cgan_error(ctx, CGAN_E_INVALID, "feature network: epochs %d, batch %d, lr %g: expected epochs >= 1, "
                          "batch >= 2, lr > 0", o.epochs, B, (double)o.lr);
    if (K < 2)
        return cgan_error(ctx, CGAN_E_INVALID, "feature network: the data has %d class(es); a classifier needs at "
                          "least 2", K);
    if (cgan_dataset_count(train) < B)
        return cgan_error(ctx, CGAN_E_INVALID, "feature network: %d training images, fewer than a batch of %d",
                          cgan_dataset_count(train), B);
    cgan_featnet *f = featnet_new(ctx, S, C, K);
    if (!f) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_graph *g = cgan_graph_new(ctx, "F");
    cgan_loader *ld = NULL;
    cgan_optimizer *adam = NULL;
    float *x = malloc((size_t)B * C * S * S * sizeof *x), *y = malloc((size_t)B * sizeof *y);
    cgan_status st = CGAN_OK;
    if (!g || !x || !y) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto done; }
    int in = cgan_graph_input(g, "x", cgan_shape4(B, C, S, S));
    int lab = cgan_graph_input_labels(g, "y", B, K);
    int feat;
    int logits = build(g, in, f->widths, f->nw, f->dim, K, &feat);
    int ce = cgan_nn_loss_softmax_ce(g, "loss", logits, lab);
    cgan_adam_cfg a = cgan_adam_defaults();
    a.lr = o.lr;
    a.beta1 = 0.9f;
    if ((st = cgan_graph_status(g)) || (st = cgan_graph_plan(g, CGAN_MODE_TRAIN, o.seed)) ||
        (st = cgan_adam_create(g, &a, &adam)) || (st = cgan_loader_create(ctx, train, B, o.seed, 0, &ld)))
        goto done;
    const int per_epoch = cgan_loader_batches_per_epoch(ld);
    const int64_t steps = (int64_t)o.epochs * per_epoch;
    const double t0 = now_s();
    say(msg, user, "feature network: training on %d images (%dx%dx%d, %d classes), %d epochs of %d steps",
        cgan_dataset_count(train), C, S, S, K, o.epochs, per_epoch);
    for (int64_t s = 1; s <= steps; s++) {
        /* cosine decay from lr to 0 */
        float lr = (float)(0.5 * o.lr * (1.0 + cos(M_PI * (double)(s - 1) / (double)steps)));
        if ((st = cgan_optimizer_set_lr(adam, lr)) || (st = cgan_loader_next(ld, x, y, NULL)) ||
            (st = cgan_graph_write(g, in, x)) || (st = cgan_graph_write(g, lab, y)) || (st = cgan_graph_zero_grad(g)) ||
            (st = cgan_graph_forward(g, 1, (uint64_t)s)) || (st = cgan_graph_backward(g, ce, CGAN_GRAD_PARAMS)) ||
            (st = cgan_optimizer_step(adam)))
            goto done;
        if (s % per_epoch == 0) {
            float loss = 0;
            if ((st = cgan_graph_read(g, ce, &loss))) goto done;
            if (!isfinite(loss)) {
                st = cgan_error(ctx, CGAN_E_NUMERIC, "feature network: non-finite loss at step %" PRId64, s);
                goto done;
            }
            say(msg, user, "feature network: epoch %d/%d, loss %.4f, %.0f s", (int)(s / per_epoch), o.epochs,
                (double)loss, now_s() - t0);
        }
    }
    if ((st = make_eval_graph(f)) || (st = copy_weights(ctx, g, f->g))) goto done;
    f->train_s = now_s() - t0;
    f->epochs = o.epochs;
    f->train_images = cgan_dataset_count(train);
    if (test) {
        if ((st = cgan_featnet_accuracy(f, test, &f->test_acc))) goto done;
        say(msg, user, "feature network: test accuracy %.2f%% (%d images), trained in %.0f s", 100 * f->test_acc,
            cgan_dataset_count(test), f->train_s);
    }
done:
    cgan_loader_destroy(ld);
    cgan_optimizer_destroy(adam);
    cgan_graph_destroy(g);
    free(x);
    free(y);
    if (st != CGAN_OK) {
        cgan_featnet_destroy(f);
        return st;
    }
    *out = f;
    return CGAN_OK;
}

cgan_status cgan_featnet_run(cgan_featnet *f, const float *images, int n, float *features, float *logits)
{
    const size_t img = (size_t)f->channels * f->size * f->size;
    float *x = malloc(RUN_BATCH * img * sizeof *x);
    float *fb = malloc((size_t)RUN_BATCH * f->dim * sizeof *fb);
    float *lb = malloc((size_t)RUN_BATCH * f->num_classes * sizeof *lb);
    cgan_status st = CGAN_OK;
    if (!x || !fb || !lb) st = cgan_error(f->ctx, CGAN_E_NOMEM, "out of memory");
    for (int i0 = 0; i0 < n && st == CGAN_OK; i0 += RUN_BATCH) {
        int m = n - i0 < RUN_BATCH ? n - i0 : RUN_BATCH;
        memcpy(x, images + (size_t)i0 * img, (size_t)m * img * sizeof *x);
        if (m < RUN_BATCH) memset(x + (size_t)m * img, 0, (size_t)(RUN_BATCH - m) * img * sizeof *x);
        if ((st = cgan_graph_write(f->g, f->in, x)) || (st = cgan_graph_forward(f->g, 0, 0))) break;
        if (features && (st = cgan_graph_read(f->g, f->feat, fb)) == CGAN_OK)
            memcpy(features + (size_t)i0 * f->dim, fb, (size_t)m * f->dim * sizeof *fb);
        if (st == CGAN_OK && logits && (st = cgan_graph_read(f->g, f->logits, lb)) == CGAN_OK)
            memcpy(logits + (size_t)i0 * f->num_classes, lb, (size_t)m * f->num_classes * sizeof *lb);
    }
    free(x);
    free(fb);
    free(lb);
    return st;
}

int cgan_eval_argmax(const float *v, int n)
{
    int best = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[best]) best = k;
    return best;
}

cgan_status cgan_eval_read_images(cgan_ctx *ctx, const cgan_dataset *ds, const int *idx, int n, float *out)
{
    const size_t img = cgan_dataset_image_size_bytes(ds);
    uint8_t *px = malloc(img);
    if (!px) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = CGAN_OK;
    for (int i = 0; i < n && st == CGAN_OK; i++) {
        st = cgan_dataset_read(ctx, ds, idx ? idx[i] : i, px);
        for (size_t j = 0; j < img && st == CGAN_OK; j++) out[(size_t)i * img + j] = (float)px[j] / 127.5f - 1.0f;
    }
    free(px);
    return st;
}

cgan_status cgan_featnet_accuracy(cgan_featnet *f, const cgan_dataset *ds, double *acc)
{
    *acc = 0;
    if (cgan_dataset_size(ds) != f->size || cgan_dataset_channels(ds) != f->channels ||
        cgan_dataset_num_classes(ds) != f->num_classes)
        return cgan_error(f->ctx, CGAN_E_SHAPE, "feature network of %dx%dx%d, %d classes: the data is %dx%dx%d, %d "
                          "classes", f->channels, f->size, f->size, f->num_classes, cgan_dataset_channels(ds),
                          cgan_dataset_size(ds), cgan_dataset_size(ds), cgan_dataset_num_classes(ds));
    const int n = cgan_dataset_count(ds), K = f->num_classes;
    const size_t img = cgan_dataset_image_size_bytes(ds);
    float *x = malloc(RUN_BATCH * img * sizeof *x), *lg = malloc((size_t)RUN_BATCH * K * sizeof *lg);
    int *idx = malloc(RUN_BATCH * sizeof *idx);
    cgan_status st = x && lg && idx ? CGAN_OK : cgan_error(f->ctx, CGAN_E_NOMEM, "out of memory");
    long right = 0;
    for (int i0 = 0; i0 < n && st == CGAN_OK; i0 += RUN_BATCH) {
        int m = n - i0 < RUN_BATCH ? n - i0 : RUN_BATCH;
        for (int i = 0; i < m; i++) idx[i] = i0 + i;
        if ((st = cgan_eval_read_images(f->ctx, ds, idx, m, x)) || (st = cgan_featnet_run(f, x, m, NULL, lg))) break;
        for (int i = 0; i < m; i++) right += cgan_eval_argmax(lg + (size_t)i * K, K) == cgan_dataset_label(ds, i0 + i);
    }
    free(x);
    free(lg);
    free(idx);
    if (st == CGAN_OK) *acc = n ? (double)right / n : 0;
    return st;
}

int cgan_featnet_size(const cgan_featnet *f) { return f->size; }
int cgan_featnet_channels(const cgan_featnet *f) { return f->channels; }
int cgan_featnet_num_classes(const cgan_featnet *f) { return f->num_classes; }
int cgan_featnet_dim(const cgan_featnet *f) { return f->dim; }
double cgan_featnet_test_accuracy(const cgan_featnet *f) { return f->test_acc; }
double cgan_featnet_train_seconds(const cgan_featnet *f) { return f->train_s; }

/* ---- files -------------------------------------------------------------------------- */

cgan_status cgan_featnet_save(cgan_featnet *f, const char *path)
{
    cgan_st_writer *w = NULL;
    CGAN_TRY(cgan_st_writer_new(&w));
    cgan_graph *g = f->g;
    cgan_status st = CGAN_OK;
    for (int i = 0; i < cgan_graph_tensor_count(g) && st == CGAN_OK; i++) {
        cgan_tensor_kind k = cgan_graph_tensor_kind(g, i);
        if (k != CGAN_TENSOR_PARAM && k != CGAN_TENSOR_STATE) continue;
        cgan_shape s = cgan_graph_tensor_shape(g, i);
        int64_t shape[4] = { s.n, s.c, s.h, s.w };
        float *h = malloc(cgan_numel(s) * sizeof *h);
        if (!h) st = cgan_error(f->ctx, CGAN_E_NOMEM, "out of memory");
        if (st == CGAN_OK) st = cgan_graph_read(g, i, h);
        if (st == CGAN_OK) cgan_st_add_f32(w, cgan_graph_tensor_name(g, i), shape, 4, h);
        free(h);
    }
    char widths[64] = "", v[64];
    for (int i = 0; i < f->nw; i++)
        snprintf(widths + strlen(widths), sizeof widths - strlen(widths), "%s%d", i ? "," : "", f->widths[i]);
    cgan_st_set_meta(w, "format", FORMAT);
    snprintf(v, sizeof v, "%d", FORMAT_VERSION);
    cgan_st_set_meta(w, "format_version", v);
    const struct { const char *k; int v; } ints[] = { { "size", f->size }, { "channels", f->channels },
                                                      { "num_classes", f->num_classes }, { "dim", f->dim },
                                                      { "epochs", f->epochs }, { "train_images", f->train_images } };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        snprintf(v, sizeof v, "%d", ints[i].v);
        cgan_st_set_meta(w, ints[i].k, v);
    }
    cgan_st_set_meta(w, "widths", widths);
    snprintf(v, sizeof v, "%.6f", f->test_acc);
    cgan_st_set_meta(w, "test_accuracy", v);
    snprintf(v, sizeof v, "%016" PRIx64, f->key);
    cgan_st_set_meta(w, "data_hash", v);
    if (st == CGAN_OK) st = cgan_st_write(f->ctx, w, path);
    cgan_st_writer_destroy(w);
    return st;
}

static cgan_status meta_int(cgan_ctx *ctx, const cgan_st_file *sf, const char *key, int lo, int hi, int *out)
{
    const char *v = cgan_st_meta(sf, key);
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || end == v || *end || x < lo || x > hi)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: not a feature network file: metadata '%s' is %s%s%s (expected an "
                          "integer in [%d, %d])", cgan_st_path(sf), key, v ? "'" : "missing", v ? v : "",
                          v ? "'" : "", lo, hi);
    *out = (int)x;
    return CGAN_OK;
}

cgan_status cgan_featnet_load(cgan_ctx *ctx, const char *path, cgan_featnet **out)
{
    *out = NULL;
    cgan_st_file *sf = NULL;
    CGAN_TRY(cgan_st_open(ctx, path, &sf));
    cgan_featnet *f = NULL;
    cgan_status st = CGAN_OK;
    const char *fmt = cgan_st_meta(sf, "format");
    if (!fmt || strcmp(fmt, FORMAT) != 0) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: not a feature network file (metadata 'format' is %s%s%s, expected "
                        "'" FORMAT "')", path, fmt ? "'" : "missing", fmt ? fmt : "", fmt ? "'" : "");
        goto done;
    }
    int ver, size, ch, K, dim;
    if ((st = meta_int(ctx, sf, "format_version", 1, FORMAT_VERSION, &ver)) ||
        (st = meta_int(ctx, sf, "size", 8, 1024, &size)) || (st = meta_int(ctx, sf, "channels", 1, 3, &ch)) ||
        (st = meta_int(ctx, sf, "num_classes", 2, 100000, &K)) || (st = meta_int(ctx, sf, "dim", 1, 4096, &dim)))
        goto done;
    if (!(f = featnet_new(ctx, size, ch, K))) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto done; }
    f->dim = dim;
    const char *ws = cgan_st_meta(sf, "widths");
    f->nw = 0;
    for (const char *p = ws; p && *p && f->nw < MAX_SIDE_STAGES;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096) break;
        f->widths[f->nw++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (!*end) { ws = NULL; break; }
    }
    if (ws || f->nw == 0) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: not a feature network file: metadata 'widths' is malformed", path);
        goto done;
    }
    const char *acc = cgan_st_meta(sf, "test_accuracy");
    f->test_acc = acc ? strtod(acc, NULL) : -1;
    const char *key = cgan_st_meta(sf, "data_hash");
    f->key = key ? strtoull(key, NULL, 16) : 0;
    meta_int(ctx, sf, "epochs", 0, 1000000, &f->epochs);
    meta_int(ctx, sf, "train_images", 0, 1000000000, &f->train_images);
    if ((st = make_eval_graph(f))) goto done;
    for (int i = 0; i < cgan_graph_tensor_count(f->g) && st == CGAN_OK; i++) {
        cgan_tensor_kind k = cgan_graph_tensor_kind(f->g, i);
        if (k != CGAN_TENSOR_PARAM && k != CGAN_TENSOR_STATE) continue;
        size_t n = cgan_numel(cgan_graph_tensor_shape(f->g, i));
        float *h = malloc(n * sizeof *h);
        if (!h) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); break; }
        st = cgan_st_read(ctx, sf, cgan_graph_tensor_name(f->g, i), CGAN_ST_F32, h, (int64_t)n);
        if (st == CGAN_OK) st = cgan_graph_write(f->g, i, h);
        free(h);
    }
done:
    cgan_st_close(sf);
    if (st != CGAN_OK) {
        cgan_featnet_destroy(f);
        return st;
    }
    *out = f;
    return CGAN_OK;
}

/* ---- the cache ---------------------------------------------------------------------- */

cgan_status cgan_featnet_key(cgan_ctx *ctx, const cgan_dataset *train, const cgan_featnet_opts *opts, uint64_t *key)
{
    cgan_featnet_opts o;
    cgan_featnet_opts_default(&o);
    if (opts) o = *opts;
    const int n = cgan_dataset_count(train);
    char head[256];
    int hl = snprintf(head, sizeof head, "%s v%d n%d s%d c%d k%d e%d b%d lr%.9g seed%" PRIu64, FORMAT, FORMAT_VERSION,
                      n, cgan_dataset_size(train), cgan_dataset_channels(train), cgan_dataset_num_classes(train),
                      o.epochs, o.batch, (double)o.lr, o.seed);
    uint64_t h = cgan_hash64(head, (size_t)hl, 0);
    const size_t img = cgan_dataset_image_size_bytes(train);
    uint8_t *px = malloc(img);
    if (!px) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        cgan_status st = cgan_dataset_read(ctx, train, i, px);
        if (st != CGAN_OK) { free(px); return st; }
        int32_t lab = cgan_dataset_label(train, i);
        h = cgan_hash64(&lab, sizeof lab, h);
        h = cgan_hash64(px, img, h);
    }
    free(px);
    *key = h;
    return CGAN_OK;
}

cgan_status cgan_featnet_cache_path(cgan_ctx *ctx, uint64_t key, char *buf, size_t n)
{
    const char *dir = cgan_ctx_cache_dir(ctx);
    if (!dir || !*dir) {
        if (n) buf[0] = '\0';
        return CGAN_OK;
    }
    if ((size_t)snprintf(buf, n, "%s/features-%016" PRIx64 ".safetensors", dir, key) >= n)
        return cgan_error(ctx, CGAN_E_INVALID, "feature network cache: the path under %s is too long", dir);
    return CGAN_OK;
}

static cgan_status check_fits(cgan_featnet *f, const cgan_dataset *train, const char *path)
{
    if (f->size != cgan_dataset_size(train) || f->channels != cgan_dataset_channels(train) ||
        f->num_classes != cgan_dataset_num_classes(train))
        return cgan_error(f->ctx, CGAN_E_SHAPE, "%s: a feature network for %dx%dx%d images of %d classes; the data is "
                          "%dx%dx%d, %d classes", path, f->channels, f->size, f->size, f->num_classes,
                          cgan_dataset_channels(train), cgan_dataset_size(train), cgan_dataset_size(train),
                          cgan_dataset_num_classes(train));
    return CGAN_OK;
}

cgan_status cgan_featnet_obtain(cgan_ctx *ctx, const cgan_dataset *train, const cgan_dataset *test, const char *file,
                                const cgan_featnet_opts *o, cgan_eval_message msg, void *user, int *trained,
                                cgan_featnet **out)
{
    *out = NULL;
    if (trained) *trained = 0;
    cgan_featnet *f = NULL;
    if (file) {
        CGAN_TRY(cgan_featnet_load(ctx, file, &f));
        cgan_status st = check_fits(f, train, file);
        if (st != CGAN_OK) { cgan_featnet_destroy(f); return st; }
        say(msg, user, "feature network: %s (test accuracy %.2f%%)", file, 100 * f->test_acc);
        *out = f;
        return CGAN_OK;
    }
    uint64_t key;
    char path[1200];
    CGAN_TRY(cgan_featnet_key(ctx, train, o, &key));
    CGAN_TRY(cgan_featnet_cache_path(ctx, key, path, sizeof path));
    if (path[0]) {
        FILE *probe = fopen(path, "rb");
        if (probe) {
            fclose(probe);
            if (cgan_featnet_load(ctx, path, &f) == CGAN_OK && check_fits(f, train, path) == CGAN_OK && f->key == key) {
                say(msg, user, "feature network: cached %s (test accuracy %.2f%%)", path, 100 * f->test_acc);
                *out = f;
                return CGAN_OK;
            }
            say(msg, user, "feature network: %s does not match (%s); training anew", path, cgan_last_error(ctx));
            cgan_featnet_destroy(f);
            f = NULL;
        }
    }
    CGAN_TRY(cgan_featnet_train(ctx, train, test, o, msg, user, &f));
    f->key = key;
    if (trained) *trained = 1;
    if (path[0]) {
        /* a cache that cannot be written costs the next run a training, nothing more */
        cgan_status st = cgan_cache_mkdir(ctx);
        if (st == CGAN_OK) st = cgan_featnet_save(f, path);
        if (st == CGAN_OK) say(msg, user, "feature network: saved in the cache, %s", path);
        else say(msg, user, "feature network: not cached: %s", cgan_last_error(ctx));
    }
    *out = f;
    return CGAN_OK;
}
