/* A training run in a run folder (see run.h). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "run.h"
#include "checkpoint.h"
#include "model_desc.h"
#include "sampler.h"
#include "text.h"
#include "trainer.h"
#include "accum.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "runtime/atomic.h"
#include "io/image.h"
#include "eval/train_eval.h"

void cgan_run_defaults(cgan_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->train = cgan_train_defaults();
    o->out = "run";
    o->steps = 0;
    o->epochs = 1;
    o->sample_every = 500;
    o->ckpt_every = 1000;
    o->keep = 3;
    o->log_every = 50;
    o->eval_n = CGAN_EVAL_TRAIN_N;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static cgan_status mkdirs(cgan_ctx *ctx, const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; ; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return cgan_error(ctx, CGAN_E_IO, "%s: cannot create folder: %s", tmp, strerror(errno));
            *p = c;
        }
        if (c == '\0') break;
    }
    return CGAN_OK;
}

typedef struct run_state {
    cgan_ctx *ctx;
    cgan_run_opts o;
    char rundir[900];
    cgan_dataset *ds;
    cgan_loader *loader;
    cgan_trainer *t;
    cgan_sampler *sampler;
    float *fixed_z, *fixed_y, *grid;
    int grid_n, grid_cols;
    cgan_vocab vocab;                /* text models */
    float *tokens;                   /* text: the token ids of every image's caption */
    float *batch_x, *batch_y;
    /* metrics kept for the plot */
    double *m_step, *m_ld, *m_lg;
    int m_n, m_cap;
    double t0, elapsed_before;
    cgan_run_callback cb;
    void *user;
    char *data_owned;                /* --data read back from a resumed run */
    char *desc_owned;                /* the model description read back from a resumed run */
    float *log_rows;                 /* LOG_ROWS rows read from the trainer's log */
    int64_t *log_steps;
    int skips_said;                  /* loader files reported as failed at batch time */
    int lock_fd;                     /* the run folder's lock, -1 when not held */
    int writer;                      /* rank 0 of a data-parallel job (or the only process):
                                      * it alone writes the run folder and reports */
    cgan_train_eval *te;             /* --eval-every */
} run_state;

#define LOG_ROWS 1024

static void emit(run_state *s, cgan_run_event *e)
{
    /* what the library noted since (a GEMM that fell back, say) comes first, once */
    char line[600];
    for (const char *w; (w = cgan_ctx_next_warning(s->ctx));) {
        snprintf(line, sizeof line, "warning: %s", w);
        cgan_run_event we = { .kind = CGAN_RUN_INFO, .text = line, .trainer = s->t };
        if (s->cb) s->cb(s->user, &we);
    }
    e->trainer = s->t;
    if (s->cb && s->writer) s->cb(s->user, e);
}

static void info(run_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info(run_state *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cgan_run_event e = { .kind = CGAN_RUN_INFO, .text = buf };
    emit(s, &e);
}

static char *run_json(const run_state *s)
{
    const cgan_run_opts *o = &s->o;
    char *train = cgan_train_cfg_json(&o->train);
    json_t *t = train ? json_loads(train, 0, NULL) : NULL;
    free(train);
    /* what was used, not what was asked for: the data's path and channels once resolved */
    json_t *r = json_pack("{s:s, s:i, s:i, s:b, s:I, s:i, s:i, s:i, s:i}", "data",
                          o->data && *o->data ? o->data : CGAN_DATA_DEFAULT_PATH, "channels",
                          s->ds ? cgan_dataset_channels(s->ds) : o->channels, "max_images", o->max_images, "flip", o->flip, "steps", (json_int_t)o->steps,
                          "sample_every", o->sample_every, "ckpt_every", o->ckpt_every, "keep", o->keep,
                          "log_every", o->log_every);
    if (!t || !r) { json_decref(t); json_decref(r); return NULL; }
    json_object_set_new(r, "train", t);
    char *out = json_dumps(r, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(r);
    return out;
}

/* Settings of a run saved in its checkpoint's "run" metadata, each checked against its
 * range (the same as the options') before use. */
static cgan_status read_run_json(run_state *s, const char *text, const char *path)
{
    json_error_t jerr;
    json_t *r = text ? json_loads(text, 0, &jerr) : NULL;
    if (!r) return cgan_error(s->ctx, CGAN_E_FORMAT, "%s: missing or malformed 'run' metadata", path);
    const char *data = NULL;
    json_int_t steps = 0, channels, max_images, sample_every, ckpt_every, keep, log_every;
    int flip = 0;
    int bad = json_unpack_ex(r, &jerr, 0, "{s?s, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I}", "data", &data,
                             "channels", &channels, "max_images", &max_images, "flip", &flip, "steps", &steps,
                             "sample_every", &sample_every, "ckpt_every", &ckpt_every, "keep", &keep,
                             "log_every", &log_every);
    cgan_status st = CGAN_OK;
    if (bad) {
        st = cgan_error(s->ctx, CGAN_E_FORMAT, "%s: 'run' metadata: %s", path, jerr.text);
        goto done;
    }
    const struct { const char *name; json_int_t v, lo, hi; } f[] = {
        { "channels", channels, 0, 3 }, { "max_images", max_images, 0, 100000000 },
        { "steps", steps, 0, CGAN_CKPT_MAX_STEPS }, { "sample_every", sample_every, 1, 1000000000 },
        { "ckpt_every", ckpt_every, 1, 1000000000 }, { "keep", keep, 1, 10000 }, { "log_every", log_every, 1, 1000 },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < f[i].lo || f[i].v > f[i].hi || (!strcmp(f[i].name, "channels") && f[i].v == 2)) {
            st = cgan_error(s->ctx, CGAN_E_FORMAT, "%s: 'run' metadata: field '%s' = %lld: expected %s in [%lld, %lld]",
                            path, f[i].name, (long long)f[i].v, i ? "an integer" : "0 (from the data), 1 or 3",
                            (long long)f[i].lo, (long long)f[i].hi);
            goto done;
        }
    s->o.channels = (int)channels;
    s->o.max_images = (int)max_images;
    s->o.sample_every = (int)sample_every;
    s->o.ckpt_every = (int)ckpt_every;
    s->o.keep = (int)keep;
    s->o.log_every = (int)log_every;
    s->o.flip = flip;
    if (s->o.steps == 0) s->o.steps = steps;
    if (data && *data && !(s->o.data = s->data_owned = strdup(data)))
        st = cgan_error(s->ctx, CGAN_E_NOMEM, "out of memory");
done:
    json_decref(r);
    return st;
}

static cgan_status metrics_add(run_state *s, double step, double ld, double lg)
{
    if (s->m_n == s->m_cap) {
        int cap = s->m_cap ? s->m_cap * 2 : 1024;
        double *a = realloc(s->m_step, (size_t)cap * sizeof *a);
        if (a) s->m_step = a;
        double *b = realloc(s->m_ld, (size_t)cap * sizeof *b);
        if (b) s->m_ld = b;
        double *c = realloc(s->m_lg, (size_t)cap * sizeof *c);
        if (c) s->m_lg = c;
        if (!a || !b || !c) return cgan_error(s->ctx, CGAN_E_NOMEM, "out of memory");
        s->m_cap = cap;
    }
    s->m_step[s->m_n] = step;
    s->m_ld[s->m_n] = ld;
    s->m_lg[s->m_n] = lg;
    s->m_n++;
    return CGAN_OK;
}

#define METRICS_HEADER "step,time_s,loss_d,loss_d_real,loss_d_fake,loss_g,d_x,d_g_z,acc_real,acc_fake,img_per_s"

/* The header line of metrics.csv: with the evaluation's columns when it runs. */
static const char *metrics_header(const run_state *s, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s\n", METRICS_HEADER, s->te ? "," : "", s->te ? cgan_eval_csv_header() : "");
    return buf;
}

/* Keep rows of metrics.csv before step `upto` (a resumed run rewrites what follows). */
static cgan_status metrics_reload(run_state *s, int64_t upto)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/metrics.csv", s->rundir);
    FILE *f = fopen(path, "r");
    char *keep = NULL;
    size_t kn = 0;
    FILE *mem = open_memstream(&keep, &kn);
    if (!mem) { if (f) fclose(f); return cgan_error(s->ctx, CGAN_E_NOMEM, "out of memory"); }
    char line[512];
    fputs(metrics_header(s, line, sizeof line), mem);
    while (f && fgets(line, sizeof line, f)) {
        double v[11];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7], &v[8], &v[9], &v[10]) != 11 || v[0] >= (double)upto)
            continue;
        fputs(line, mem);
        s->elapsed_before = v[1];
        CGAN_TRY(metrics_add(s, v[0], v[2], v[5]));
    }
    if (f) fclose(f);
    fclose(mem);
    cgan_status st = cgan_atomic_write(s->ctx, path, keep, kn);
    free(keep);
    return st;
}

/* Read the device log, append to metrics.csv, stop on a non-finite loss, report. */
static cgan_status log_now(run_state *s, double *last_t, int64_t *last_step)
{
    float *rows = s->log_rows;
    int64_t *steps = s->log_steps;
    int n = 0;
    CGAN_TRY(cgan_trainer_read_log(s->t, rows, steps, LOG_ROWS, &n));
    if (n == 0) return CGAN_OK;
    CGAN_TRY(cgan_dist_check_params(s->t)); /* the replicas still agree */
    double t = now_s();
    int64_t cur = cgan_trainer_steps(s->t);
    double rate = (t > *last_t && cur > *last_step)
                      ? (double)(cur - *last_step) * s->o.train.model.batch / (t - *last_t) : 0;
    *last_t = t;
    *last_step = cur;
    /* the values are the same on every process (all-reduced): each stops alike on a
     * non-finite one, and rank 0 alone writes them */
    static const int checked[] = { CGAN_LOG_LOSS_D_REAL, CGAN_LOG_LOSS_D_FAKE, CGAN_LOG_LOSS_G, CGAN_LOG_LOSS_D_WRONG };
    for (int i = 0; i < n && !s->writer; i++)
        for (int k = 0; k < 4; k++)
            if (!isfinite(rows[(size_t)i * CGAN_LOG_FIELDS + checked[k]]))
                return cgan_error(s->ctx, CGAN_E_NUMERIC, "non-finite loss at step %" PRId64, steps[i] + 1);
    if (!s->writer) return CGAN_OK;
    char path[1024];
    snprintf(path, sizeof path, "%s/metrics.csv", s->rundir);
    FILE *f = fopen(path, "a");
    if (!f) return cgan_error(s->ctx, CGAN_E_IO, "%s: cannot append: %s", path, strerror(errno));
    float ld = 0, lg = 0, dx = 0, dgz = 0, ar = 0, af = 0;
    const int text = s->o.train.model.cond == CGAN_COND_TEXT;
    static const int losses[] = { CGAN_LOG_LOSS_D_REAL, CGAN_LOG_LOSS_D_FAKE, CGAN_LOG_LOSS_G, CGAN_LOG_LOSS_D_WRONG };
    static const char *names[] = { "loss_D(real)", "loss_D(fake)", "loss_G", "loss_D(mismatched caption)" };
    for (int i = 0; i < n; i++) {
        const float *r = rows + (size_t)i * CGAN_LOG_FIELDS;
        for (int k = 0; k < 4; k++)
            if (!isfinite(r[losses[k]])) {
                fclose(f);
                return cgan_error(s->ctx, CGAN_E_NUMERIC,
                                  "non-finite loss at step %" PRId64 " (%s = %g); training stopped, the last "
                                  "checkpoint is kept", steps[i] + 1, names[k], r[losses[k]]);
            }
        /* text: the fake side is the mean of the mismatched-caption and fake terms */
        const float fake = text ? 0.5f * (r[CGAN_LOG_LOSS_D_FAKE] + r[CGAN_LOG_LOSS_D_WRONG]) : r[CGAN_LOG_LOSS_D_FAKE];
        ld = r[CGAN_LOG_LOSS_D_REAL] + fake;
        lg = r[CGAN_LOG_LOSS_G];
        dx = r[CGAN_LOG_D_X];
        dgz = r[CGAN_LOG_D_GZ];
        ar = r[CGAN_LOG_ACC_REAL];
        af = 1.0f - r[CGAN_LOG_ACC_FAKE];
        char ev[256] = "";
        if (s->te) cgan_train_eval_columns(s->te, steps[i] + 1, ev, sizeof ev);
        fprintf(f, "%" PRId64 ",%.3f,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4g,%.4g,%.2f%s\n", steps[i] + 1,
                s->elapsed_before + t - s->t0, ld, r[CGAN_LOG_LOSS_D_REAL], fake, lg, dx, dgz,
                ar, af, rate, ev);
        CGAN_TRY(metrics_add(s, (double)(steps[i] + 1), ld, lg));
    }
    if (fclose(f) != 0) return cgan_error(s->ctx, CGAN_E_IO, "%s: write failed", path);
    cgan_run_event e = { .kind = CGAN_RUN_LOG, .step = cur, .total = s->o.steps, .img_per_s = rate,
                         .loss_d = ld, .loss_g = lg, .d_x = dx, .d_gz = dgz, .acc_real = ar, .acc_fake = af };
    /* the loader's position is the next batch's: the last batch taken lies in its epoch,
     * or, when that begins a new epoch, in the one before; counted from 1 */
    int ep = 0, idx = 0;
    cgan_loader_tell(s->loader, &ep, &idx);
    e.epoch = idx == 0 && ep > 0 ? ep : ep + 1;
    e.eta_s = rate > 0 ? (double)(s->o.steps - cur) * s->o.train.model.batch / rate : 0;
    emit(s, &e);
    return CGAN_OK;
}

static cgan_status sample(run_state *s)
{
    CGAN_TRY(cgan_sampler_from_trainer(s->sampler, s->t, 1));
    CGAN_TRY(cgan_sampler_run(s->sampler, s->fixed_z, s->fixed_y, s->grid));
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/step_%06" PRId64 ".png", s->rundir, cgan_trainer_steps(s->t));
    const cgan_model_cfg *m = &s->o.train.model;
    CGAN_TRY(cgan_grid_write(s->ctx, path, s->grid, s->grid_n, m->nc, m->size, s->grid_cols, 2));
    snprintf(path + strlen(s->rundir), sizeof path - strlen(s->rundir), "/loss.png");
    const double *series[2] = { s->m_ld, s->m_lg };
    const char *labels[2] = { "loss D", "loss G" };
    if (s->m_n >= 2) CGAN_TRY(cgan_plot_losses(s->ctx, path, s->m_step, series, 2, s->m_n, labels));
    snprintf(path, sizeof path, "%s/samples/step_%06" PRId64 ".png", s->rundir, cgan_trainer_steps(s->t));
    cgan_run_event e = { .kind = CGAN_RUN_SAMPLE, .text = path, .step = cgan_trainer_steps(s->t) };
    emit(s, &e);
    return CGAN_OK;
}

/* Streamed data: files that failed to decode during training (each replaced by the next
 * image of the epoch's order), said when their number has grown. */
static void report_loader_skips(run_state *s)
{
    const char *example = NULL;
    int n = s->loader ? cgan_loader_skipped(s->loader, &example) : 0;
    if (n <= s->skips_said) return;
    info(s, "loader: %d file(s) could not be decoded during training and were replaced by the next image "
         "of the epoch's order (first: %s)", n, example ? example : "?");
    s->skips_said = n;
}

/* Save the trainer to path with the run's metadata (and extra_kv, may be NULL). */
static cgan_status save_to(run_state *s, const char *path, const cgan_ckpt_kv *extra_kv, int n_extra)
{
    char *run = run_json(s);
    int ep = 0, idx = 0;
    cgan_loader_tell(s->loader, &ep, &idx);
    char eps[32], idxs[32];
    snprintf(eps, sizeof eps, "%d", ep);
    snprintf(idxs, sizeof idxs, "%d", idx);
    const int text = s->o.train.model.cond == CGAN_COND_TEXT;
    char *vocab = text ? cgan_vocab_json(&s->vocab) : NULL;
    if (!run || (text && !vocab)) {
        free(run);
        free(vocab);
        return cgan_error(s->ctx, CGAN_E_FORMAT, "%s: cannot encode the %s as JSON (out of memory or not UTF-8); not "
                          "saved", path, !run ? "run settings" : "vocabulary");
    }
    cgan_ckpt_kv extra[8] = { { "run", run }, { "loader_epoch", eps }, { "loader_index", idxs } };
    int ne = 3;
    if (text) extra[ne++] = (cgan_ckpt_kv){ "vocabulary", vocab };
    for (int i = 0; i < n_extra && ne < 8; i++) extra[ne++] = extra_kv[i];
    const int cond = s->o.train.model.num_classes > 0;
    cgan_status st = cgan_checkpoint_save(s->t, path, s->ds->class_names, cond ? s->ds->num_classes : 0, extra, ne);
    free(run);
    free(vocab);
    return st;
}

static cgan_status checkpoint(run_state *s)
{
    char rel[128], path[1200];
    snprintf(rel, sizeof rel, "checkpoints/step_%06" PRId64 ".safetensors", cgan_trainer_steps(s->t));
    snprintf(path, sizeof path, "%s/%s", s->rundir, rel);
    CGAN_TRY(save_to(s, path, NULL, 0));
    char ptr[160];
    int l = snprintf(ptr, sizeof ptr, "%s\n", rel);
    snprintf(path, sizeof path, "%s/latest", s->rundir);
    CGAN_TRY(cgan_atomic_write(s->ctx, path, ptr, (size_t)l));
    CGAN_TRY(cgan_run_prune(s->ctx, s->rundir, s->o.keep));
    snprintf(path, sizeof path, "%s/%s", s->rundir, rel);
    cgan_run_event e = { .kind = CGAN_RUN_CHECKPOINT, .text = path, .step = cgan_trainer_steps(s->t) };
    emit(s, &e);
    report_loader_skips(s);
    return CGAN_OK;
}

/* Text models: the vocabulary (a resumed run's, else that of an --init checkpoint that has
 * one, else built from the captions) and the token ids of every caption. */
static cgan_status text_setup(run_state *s, const cgan_st_file *resume)
{
    cgan_ctx *ctx = s->ctx;
    cgan_model_cfg *m = &s->o.train.model;
    cgan_st_file *init = NULL;
    const cgan_st_file *from = resume;
    if (!from && s->o.init) {
        CGAN_TRY(cgan_st_open(ctx, s->o.init, &init));
        if (cgan_st_meta(init, "vocabulary")) from = init;
    }
    cgan_status st;
    if (from) st = cgan_vocab_from_json(ctx, cgan_st_meta(from, "vocabulary"), cgan_st_path(from), &s->vocab);
    else st = cgan_vocab_build(ctx, s->ds->captions, s->ds->n, CGAN_TEXT_TOKENS, &s->vocab);
    if (st == CGAN_OK && resume && s->vocab.n != m->vocab)
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: a vocabulary of %d words for a model of %d", cgan_st_path(resume),
                        s->vocab.n, m->vocab);
    int unknown = 0, dropped = 0;
    if (st == CGAN_OK)
        st = cgan_vocab_encode_all(ctx, &s->vocab, s->ds->captions, s->ds->n, CGAN_TEXT_TOKENS, &s->tokens, &unknown,
                                   &dropped);
    if (st == CGAN_OK) {
        info(s, "captions: %d, vocabulary of %d words%s%s", s->ds->n, s->vocab.n, from ? " from " : "",
             from ? cgan_st_path(from) : "");
        if (dropped) info(s, "captions: %d words past the first %d of a caption are not used", dropped, CGAN_TEXT_TOKENS);
        if (unknown) info(s, "captions: %d words are not in the vocabulary and are ignored", unknown);
        m->vocab = s->vocab.n;
        m->num_classes = 0;
    }
    cgan_st_close(init);
    return st;
}

/* The condition of sample-grid row r: class r, or the caption of image r * n / rows. */
static void grid_rows(run_state *s, int rows)
{
    const cgan_model_cfg *m = &s->o.train.model;
    const int width = cgan_model_cond_width(m);
    for (int i = 0; i < s->grid_n; i++) {
        int r = i / 8;
        if (m->cond == CGAN_COND_TEXT) {
            int img = (int)((long long)r * s->ds->n / rows);
            memcpy(s->fixed_y + (size_t)i * width, s->tokens + (size_t)img * width, (size_t)width * sizeof(float));
            if (i % 8 == 0) info(s, "sample row %d: \"%s\"", r + 1, s->ds->captions[img]);
        } else {
            s->fixed_y[i] = (float)(m->num_classes > 0 ? r : 0);
        }
    }
}

static void eval_msg(void *user, const char *line)
{
    info(user, "%s", line);
}

/* Score the EMA generator now (fixed noise and real sets: the run's own random state is
 * not touched), plot the curve, and keep the checkpoint when its FID is the best. */
static cgan_status eval_now(run_state *s)
{
    const cgan_model_cfg *m = &s->o.train.model;
    const int64_t step = cgan_trainer_steps(s->t);
    int improved = 0;
    CGAN_TRY(cgan_sampler_from_trainer(s->sampler, s->t, 1));
    CGAN_TRY(cgan_train_eval_run(s->te, s->sampler, m->cond == CGAN_COND_NONE ? 0 : m->num_classes, step, &improved));
    const cgan_eval_result *r = cgan_train_eval_last(s->te);
    char path[1100];
    snprintf(path, sizeof path, "%s/eval.png", s->rundir);
    CGAN_TRY(cgan_train_eval_plot(s->te, path));
    info(s, "eval at step %" PRId64 ": FID %.2f (real floor %.2f), KID %.4f, precision %.3f, recall %.3f, "
         "cond. accuracy %.3f, n = %d, %.1f s%s", step, r->fid, r->fid_floor, r->kid, r->precision, r->recall,
         r->cond_acc, r->n, r->seconds, improved ? "; the best so far: best.safetensors" : "");
    if (!improved) return CGAN_OK;
    char fid[32], n[32];
    snprintf(fid, sizeof fid, "%.9g", r->fid);
    snprintf(n, sizeof n, "%d", r->n);
    const cgan_ckpt_kv kv[2] = { { "eval_fid", fid }, { "eval_n", n } };
    snprintf(path, sizeof path, "%s/best.safetensors", s->rundir);
    return save_to(s, path, kv, 2);
}

static void report_init(void *user, const char *line)
{
    info(user, "init: %s", line);
}

/* One writer per run folder: its lock, then what a writer that died left behind. */
static cgan_status take_folder(run_state *s)
{
    CGAN_TRY(cgan_rundir_lock(s->ctx, s->rundir, &s->lock_fd));
    int removed = 0;
    CGAN_TRY(cgan_rundir_clean_tmp(s->ctx, s->rundir, &removed));
    if (removed)
        info(s, "%s: removed %d stale temporary file(s) left by an interrupted save", s->rundir, removed);
    return CGAN_OK;
}

static cgan_status setup(run_state *s)
{
    cgan_ctx *ctx = s->ctx;
    cgan_run_opts *o = &s->o;
    cgan_st_file *resume = NULL;
    cgan_status st = CGAN_OK;
    /* the run folder's paths are built in fixed buffers: a longer folder name is refused,
     * never cut (issue 15, defect 8) */
    const char *folder = o->resume ? o->resume : o->out;
    if (!folder || !*folder) return cgan_error(ctx, CGAN_E_INVALID, "no run folder given (--out)");
    if (strlen(folder) >= sizeof s->rundir - 64)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: a run folder path of %zu characters is too long (at most %zu)",
                          o->resume ? "--resume" : "--out", strlen(folder), sizeof s->rundir - 65);
    if (o->resume) {
        char latest[1200], rel[256] = "";
        snprintf(s->rundir, sizeof s->rundir, "%s", o->resume);
        snprintf(latest, sizeof latest, "%s/latest", o->resume);
        if (access(o->resume, F_OK) != 0)
            return cgan_error(ctx, CGAN_E_NOT_FOUND, "--resume %s: no such run folder", o->resume);
        if (s->writer) CGAN_TRY(take_folder(s));
        FILE *f = fopen(latest, "r");
        if (!f || !fgets(rel, sizeof rel, f)) {
            if (f) fclose(f);
            return cgan_error(ctx, CGAN_E_NOT_FOUND, "--resume %s: no checkpoint to resume (%s is missing or empty)",
                              o->resume, latest);
        }
        fclose(f);
        rel[strcspn(rel, "\r\n")] = '\0';
        char path[1500];
        snprintf(path, sizeof path, "%s/%s", o->resume, rel);
        CGAN_TRY(cgan_st_open(ctx, path, &resume));
        /* how this process splits the work is the caller's to choose anew, not the run's */
        const int accum = o->train.accum, sync_bn = o->train.sync_bn;
        st = cgan_checkpoint_config(ctx, resume, &o->train);
        o->train.accum = accum;
        o->train.sync_bn = sync_bn;
        if (st ||
            (st = read_run_json(s, cgan_st_meta(resume, "run"), path))) {
            cgan_st_close(resume);
            return st;
        }
        /* the description lives in the file's metadata: keep a copy past its closing */
        if (o->train.model.desc && !(o->train.model.desc = s->desc_owned = strdup(o->train.model.desc))) {
            cgan_st_close(resume);
            return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        }
        info(s, "resuming %s at step %s", path, cgan_st_meta(resume, "step") ? cgan_st_meta(resume, "step") : "?");
    } else {
        snprintf(s->rundir, sizeof s->rundir, "%s", o->out);
        if (!s->writer) goto folder_done; /* rank 0 alone checks and writes the folder */
        CGAN_TRY(mkdirs(ctx, s->rundir));
        CGAN_TRY(take_folder(s));
        const char *what = cgan_rundir_existing(s->rundir);
        if (what)
            return cgan_error(ctx, CGAN_E_INVALID, "--out %s: this folder holds a run already (its %s); continue it "
                              "with --resume %s, or choose another --out (nothing in it was changed)", s->rundir,
                              what, s->rundir);
    }
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/samples", s->rundir);
    if (s->writer && (st = mkdirs(ctx, sub))) goto done;
    snprintf(sub, sizeof sub, "%s/checkpoints", s->rundir);
    if (s->writer && (st = mkdirs(ctx, sub))) goto done;
folder_done:;

    cgan_model_cfg *m = &o->train.model;
    cgan_data_opts dopts;
    cgan_data_opts_default(&dopts);
    dopts.size = m->size;
    dopts.channels = o->channels;
    dopts.max_images = o->max_images;
    dopts.captions = m->cond == CGAN_COND_TEXT;
    dopts.cache_decoded = o->cache_decoded;
    if ((st = cgan_dataset_open(ctx, o->data, &dopts, &s->ds))) goto done;
    info(s, "data: %s (%s): %d images, %d classes, %dx%dx%d, %s", s->ds->source, s->ds->format, s->ds->n,
         s->ds->num_classes, s->ds->channels, s->ds->size, s->ds->size,
         cgan_dataset_streamed(s->ds) ? "decoded from disk while training" : "in memory");
    if (s->ds->skipped) {
        char why[256];
        info(s, "skipped %d file(s): %s; e.g.:", s->ds->skipped, cgan_dataset_skip_summary(s->ds, why, sizeof why));
        for (int i = 0; i < s->ds->skipped_kept; i++) info(s, "  %s", s->ds->skipped_examples[i]);
    }
    if (o->resume && (m->nc != s->ds->channels)) {
        st = cgan_error(ctx, CGAN_E_SHAPE, "--resume: the run used %d channels, the data has %d", m->nc, s->ds->channels);
        goto done;
    }
    m->nc = s->ds->channels;
    m->num_classes = m->cond == CGAN_COND_NONE ? 0 : s->ds->num_classes;
    if (m->cond == CGAN_COND_TEXT && (st = text_setup(s, resume))) goto done;
    if (o->eval_every > 0 && s->writer) { /* rank 0 alone evaluates */
        if (m->cond == CGAN_COND_TEXT) {
            st = cgan_error(ctx, CGAN_E_UNSUPPORTED, "--eval-every: a text-conditioned model has no classes to score");
            goto done;
        }
        snprintf(sub, sizeof sub, "%s/best.safetensors", s->rundir);
        if ((st = cgan_train_eval_create(ctx, o, o->data, m->size, m->nc, sub, eval_msg, s, &s->te))) goto done;
    }
    /* a model description is checked against the data (channels, classes) before the
     * trainer builds it, so that its errors name where it came from */
    if (m->desc && (st = cgan_model_check(ctx, m, o->resume ? cgan_st_path(resume) : o->model_origin ? o->model_origin
                                                                                     : "model description")))
        goto done;
    if (s->ds->n < m->batch) {
        st = cgan_error(ctx, CGAN_E_INVALID, "--batch %d is larger than the data set (%d images)", m->batch, s->ds->n);
        goto done;
    }
    const int width = cgan_model_cond_width(m);
    if ((st = cgan_loader_create_rows(ctx, s->ds, m->batch, o->train.seed, o->flip ? CGAN_AUG_FLIP : 0, s->tokens,
                                      s->tokens ? width : 1, &s->loader))) goto done;
    if (o->steps <= 0) o->steps = (int64_t)(o->epochs > 0 ? o->epochs : 1) * cgan_loader_batches_per_epoch(s->loader) /
                                  o->train.d_steps;
    o->train.lr_steps = o->steps; /* the learning-rate schedule spans the run (a longer --resume stretches it) */
    if ((st = cgan_trainer_create_dist(ctx, &o->train, o->dist, &s->t))) goto done;
    if (resume) {
        const char *path = cgan_st_path(resume);
        if ((st = cgan_checkpoint_load(s->t, path, NULL))) goto done;
        int64_t epoch, index; /* an index within the data set; the loader moves to the next epoch */
        if ((st = cgan_ckpt_meta_int(ctx, resume, "loader_epoch", 0, INT_MAX - 1, &epoch)) ||
            (st = cgan_ckpt_meta_int(ctx, resume, "loader_index", 0, s->ds->n - 1, &index)))
            goto done;
        if ((st = cgan_loader_seek(s->loader, (int)epoch, (int)index))) {
            st = cgan_error(ctx, st, "%s: cannot seek the loader to epoch %d, index %d", path, (int)epoch, (int)index);
            goto done;
        }
        if (s->writer && (st = metrics_reload(s, cgan_trainer_steps(s->t) + 1))) goto done;
    } else {
        char path[1100];
        snprintf(path, sizeof path, "%s/metrics.csv", s->rundir);
        char head[512];
        metrics_header(s, head, sizeof head);
        if (s->writer && (st = cgan_atomic_write(ctx, path, head, strlen(head)))) goto done;
        if (o->init) {
            int loaded, fresh, skipped;
            if ((st = cgan_checkpoint_init_from(s->t, o->init, report_init, s, &loaded, &fresh, &skipped))) goto done;
            info(s, "init from %s: %d tensors loaded, %d new, %d skipped", o->init, loaded, fresh, skipped);
        }
    }
    char *cfg = run_json(s);
    if (!cfg) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s/config: cannot encode the run settings as JSON (out of memory or not "
                        "UTF-8)", s->rundir);
        goto done;
    }
    snprintf(sub, sizeof sub, "%s/config", s->rundir);
    st = s->writer ? cgan_atomic_write(ctx, sub, cfg, strlen(cfg)) : CGAN_OK;
    free(cfg);
    if (st) goto done;

    /* fixed noise for the sample grids: one row per class or sample caption (8 columns), or 8x8 */
    const int S = m->size, rows = m->num_classes > 0 ? m->num_classes : 8;
    const size_t yw = (size_t)(width ? width : 1);
    s->grid_cols = 8;
    s->grid_n = rows * 8;
    if ((st = cgan_sampler_create(ctx, m, s->grid_n, &s->sampler))) goto done;
    s->fixed_z = malloc((size_t)s->grid_n * m->nz * sizeof(float));
    s->fixed_y = malloc((size_t)s->grid_n * yw * sizeof(float));
    s->grid = malloc((size_t)s->grid_n * m->nc * S * S * sizeof(float));
    s->batch_x = malloc((size_t)o->train.d_steps * m->batch * m->nc * S * S * sizeof(float));
    s->batch_y = malloc((size_t)o->train.d_steps * m->batch * yw * sizeof(float));
    s->log_rows = malloc((size_t)LOG_ROWS * CGAN_LOG_FIELDS * sizeof(float));
    s->log_steps = malloc((size_t)LOG_ROWS * sizeof(int64_t));
    if (!s->fixed_z || !s->fixed_y || !s->grid || !s->batch_x || !s->batch_y || !s->log_rows || !s->log_steps) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    cgan_rng r;
    cgan_rng_init(&r, o->train.seed, 0xF1ED);
    for (int i = 0; i < 8; i++) /* the same 8 noise vectors in every row */
        cgan_rng_fill_normal(&r, s->fixed_z + (size_t)i * m->nz, (size_t)m->nz, 0, 1);
    for (int i = 8; i < s->grid_n; i++) {
        if (width > 0) memcpy(s->fixed_z + (size_t)i * m->nz, s->fixed_z + (size_t)(i % 8) * m->nz, (size_t)m->nz * sizeof(float));
        else cgan_rng_fill_normal(&r, s->fixed_z + (size_t)i * m->nz, (size_t)m->nz, 0, 1);
    }
    grid_rows(s, rows);
done:
    cgan_st_close(resume);
    return st;
}

static void teardown(run_state *s)
{
    if (s->t) cgan_finish(s->ctx);
    cgan_loader_destroy(s->loader);
    cgan_sampler_destroy(s->sampler);
    cgan_trainer_destroy(s->t);
    cgan_dataset_destroy(s->ds);
    free(s->fixed_z); free(s->fixed_y); free(s->grid); free(s->batch_x); free(s->batch_y);
    free(s->m_step); free(s->m_ld); free(s->m_lg);
    free(s->data_owned); free(s->desc_owned); free(s->log_rows); free(s->log_steps);
    free(s->tokens);
    cgan_vocab_free(&s->vocab);
    cgan_train_eval_destroy(s->te);
    s->te = NULL;
    cgan_rundir_unlock(s->lock_fd);
    s->lock_fd = -1;
}

/* The message of a failed training step or log read (where an asynchronous device fault
 * shows): the step it was at, and what the run folder still holds. */
static cgan_status step_failed(run_state *s, cgan_status st, int64_t step, int64_t last_ckpt)
{
    if (last_ckpt > 0)
        return cgan_error_wrap(s->ctx, st, "training stopped at step %" PRId64 "; nothing was saved after the "
                               "checkpoint of step %" PRId64 ", which %s keeps (continue with --resume %s)", step,
                               last_ckpt, s->rundir, s->rundir);
    return cgan_error_wrap(s->ctx, st, "training stopped at step %" PRId64 ", before any checkpoint of %s was written",
                           step, s->rundir);
}

cgan_status cgan_run_train(cgan_ctx *ctx, const cgan_run_opts *o, cgan_run_callback cb, void *user, int *stopped)
{
    run_state s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.o = *o;
    s.cb = cb;
    s.user = user;
    s.lock_fd = -1;
    s.writer = cgan_dist_rank(o->dist) == 0;
    *stopped = 0;
    if (o->sample_every < 1 || o->ckpt_every < 1 || o->keep < 1 || o->log_every < 1) {
        return cgan_error(ctx, CGAN_E_INVALID, "--sample-every, --ckpt-every, --keep and --log-every must be at least 1");
    }
    if (o->log_every > 1000) /* the device keeps the last 1024 steps' values */
        return cgan_error(ctx, CGAN_E_INVALID, "--log-every %d: at most 1000", o->log_every);
    cgan_status st = cgan_run_agree(ctx, o->dist, setup(&s), "set up the run");
    if (st) { teardown(&s); return st; }
    const cgan_model_cfg *m = &s.o.train.model;
    const size_t img = (size_t)m->batch * m->nc * m->size * m->size;
    const size_t ybatch = (size_t)m->batch * (size_t)(s.tokens ? cgan_model_cond_width(m) : 1);
    s.t0 = now_s();
    double last_t = s.t0;
    int64_t last_step = cgan_trainer_steps(s.t);
    int64_t last_sample = -1, last_ckpt = cgan_trainer_steps(s.t);
    while (cgan_trainer_steps(s.t) < s.o.steps) {
        /* a signal to any process stops all of them at the same step */
        if ((st = cgan_run_stop_agreed(ctx, o->dist, o->stop, stopped)) || *stopped) break;
        for (int d = 0; d < s.o.train.d_steps && st == CGAN_OK; d++)
            st = cgan_loader_next(s.loader, s.batch_x + (size_t)d * img, s.batch_y + (size_t)d * ybatch, NULL);
        if (st) break;
        if ((st = cgan_trainer_step(s.t, s.batch_x, cgan_model_cond_width(m) ? s.batch_y : NULL))) {
            /* a device fault mid-step (CL_OUT_OF_RESOURCES, a lost device): the device state
             * is not trusted, so nothing more is saved; the last checkpoint stays as it was */
            st = step_failed(&s, st, cgan_trainer_steps(s.t) + 1, last_ckpt);
            break;
        }
        int64_t step = cgan_trainer_steps(s.t);
        int last = step == s.o.steps;
        int do_sample = step % s.o.sample_every == 0 || last, do_ckpt = step % s.o.ckpt_every == 0 || last;
        /* the same on every process (log_now is collective); rank 0 alone evaluates */
        int do_eval = s.o.eval_every > 0 && (step % s.o.eval_every == 0 || last);
        if (do_eval && s.te && (st = eval_now(&s))) break;
        if (step % s.o.log_every == 0 || do_sample || do_ckpt || do_eval)  /* the wait where a device fault shows */
            if ((st = log_now(&s, &last_t, &last_step))) { st = step_failed(&s, st, step, last_ckpt); break; }
        if (do_sample) { if (s.writer && (st = sample(&s))) break; last_sample = step; }
        if (do_ckpt) { if (s.writer && (st = checkpoint(&s))) break; last_ckpt = step; }
    }
    if (st == CGAN_OK && *stopped) {
        /* finish cleanly: the log (finite losses) first, then a checkpoint and a grid */
        if ((st = log_now(&s, &last_t, &last_step)) == CGAN_OK && last_ckpt != cgan_trainer_steps(s.t) && s.writer)
            st = checkpoint(&s);
        if (st == CGAN_OK && last_sample != cgan_trainer_steps(s.t) && s.writer) st = sample(&s);
    }
    report_loader_skips(&s);
    teardown(&s);
    return st;
}
