/* The GAN training step on the shared executor. */
#include <stdlib.h>
#include <string.h>
#include "trainer.h"
#include "stats.h"
#include "accum.h"
#include "stab.h"
#include "core/exec.h"
#include "core/random.h"
#include "ops/builders.h"
#include "ops/elementwise.h"
#include "ops/spectral_norm.h"

#define LOG_CAP 1024

#define STAGING_SLOTS 4

struct cgan_trainer {
    cgan_ctx *ctx;
    cgan_train_cfg cfg;              /* cfg.model.desc points at desc */
    char *desc;                      /* the trainer's copy of the model description */
    cgan_generator G;
    cgan_discriminator D;
    int loss_d, loss_g;              /* loss tensors in D's graph */
    int loss_d_node, loss_g_node;    /* their nodes (targets change between passes) */
    size_t img_floats;               /* per batch */
    size_t cond_floats;              /* labels or token ids per batch */
    int text;                        /* a text model: matching-aware D */
    cl_mem real_x[2], real_y[2];     /* double-buffered real batches */
    cl_mem wrong_y[2];               /* text: the mismatched captions of each real batch */
    /* host copies the asynchronous uploads read from, pinned on GPUs (profile.h), in a
     * ring: a slot is refilled STAGING_SLOTS batches later, when its upload has long
     * finished unless the host ran a whole ring ahead of the device (then it waits) */
    cl_event upload[STAGING_SLOTS];
    cgan_staging staging[STAGING_SLOTS];
    int cur, slot;
    cl_mem m[2], v[2], ema;          /* Adam moments of G (0) and D (1); EMA of G */
    size_t nparam[2];
    cl_mem log;                      /* LOG_CAP rows of `accum` micro batches of CGAN_LOG_FIELDS floats */
    /* data parallelism and accumulation (accum.h): `accum` micro batches of `micro` images
     * on each of `world` ranks; this rank holds micro batches rank*accum .. */
    cgan_dist *dist;
    int rank, world, accum, micro;
    int cur_micro;                   /* the micro batch the step is on (its log row) */
    cl_mem acc[2];                   /* accum > 1: the sum of the micro batches' gradients */
    cgan_gsync *sync[2];             /* world > 1: the gradient all-reduce of G (0) and D (1) */
    cgan_bnsync *bnsync[2];          /* world > 1 and --sync-bn: BatchNorm over the job */
    int64_t steps, d_updates, g_updates, logged_until;
    struct cgan_standing *standing;  /* standing BN statistics (stab.h), made on first use */
};

cgan_train_cfg cgan_train_defaults(void)
{
    cgan_train_cfg c;
    memset(&c, 0, sizeof c);
    c.model = cgan_model_defaults();
    c.loss = CGAN_LOSS_BCE;
    c.lr_g = c.lr_d = 4e-4f; /* with beta1 0: ahead early and at 3,000 steps (BENCHMARKS.md) */
    c.beta1 = 0.f; /* better FID than DCGAN's 0.5 on both seeds measured (BENCHMARKS.md) */
    c.beta2 = 0.999f;
    c.d_steps = 1;
    c.accum = 1;
    c.ema = 0.999f;
    c.ema_rampup = CGAN_EMA_RAMPUP_LEGACY;
    c.standing_stats = CGAN_STANDING_AUTO; /* 20 batches where the model allows them (BENCHMARKS.md) */
    c.seed = 1;
    return c;
}

const char *cgan_loss_name(cgan_loss_kind k) { return k == CGAN_LOSS_HINGE ? "hinge" : "bce"; }

int cgan_loss_parse(const char *s)
{
    if (!strcmp(s, "bce")) return CGAN_LOSS_BCE;
    if (!strcmp(s, "hinge")) return CGAN_LOSS_HINGE;
    return -1;
}

void cgan_trainer_destroy(cgan_trainer *t)
{
    if (!t) return;
    if (t->ctx && t->ctx->queue) clFinish(t->ctx->queue);
    for (int i = 0; i < STAGING_SLOTS; i++) {
        if (t->upload[i]) clReleaseEvent(t->upload[i]);
        cgan_staging_free(t->ctx, &t->staging[i]);
    }
    for (int i = 0; i < 2; i++) {
        cgan_buffer_release(t->real_x[i]);
        cgan_buffer_release(t->real_y[i]);
        cgan_buffer_release(t->wrong_y[i]);
        cgan_buffer_release(t->m[i]);
        cgan_buffer_release(t->v[i]);
        cgan_buffer_release(t->acc[i]);
        cgan_gsync_destroy(t->sync[i]);
    }
    cgan_buffer_release(t->ema);
    cgan_buffer_release(t->log);
    cgan_standing_destroy(t->standing);
    cgan_graph_destroy(t->G.g);
    cgan_graph_destroy(t->D.g);
    for (int i = 0; i < 2; i++) cgan_bnsync_destroy(t->bnsync[i]);
    free(t->desc);
    free(t);
}

static cgan_status check_cfg(cgan_ctx *ctx, const cgan_train_cfg *c)
{
    if (!(c->lr_g >= 0) || !(c->lr_d >= 0)) return cgan_error(ctx, CGAN_E_INVALID, "learning rates must be >= 0");
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
        return cgan_error(ctx, CGAN_E_INVALID, "Adam betas must be in [0, 1)");
    if (c->d_steps < 1 || c->d_steps > 16) return cgan_error(ctx, CGAN_E_INVALID, "d-steps %d must be 1..16", c->d_steps);
    if (c->accum < 0 || c->accum > 256) return cgan_error(ctx, CGAN_E_INVALID, "--accum %d must be 1..256", c->accum);
    if (!(c->ema >= 0 && c->ema < 1)) return cgan_error(ctx, CGAN_E_INVALID, "EMA decay %g must be in [0, 1)", c->ema);
    if (!(c->ema_rampup > 0 && c->ema_rampup <= 100))
        return cgan_error(ctx, CGAN_E_INVALID, "--ema-rampup %g must be in (0, 100]", c->ema_rampup);
    return cgan_stab_check(ctx, c);
}

static cgan_status zeros(cgan_ctx *ctx, size_t n, const char *what, cl_mem *out)
{
    CGAN_TRY(cgan_buffer_create(ctx, (n ? n : 1) * sizeof(float), what, out));
    return cgan_buffer_fill_f32(ctx, *out, 0, n ? n : 1, 0.f);
}

cgan_status cgan_trainer_create(cgan_ctx *ctx, const cgan_train_cfg *cfg, cgan_trainer **out)
{
    return cgan_trainer_create_dist(ctx, cfg, NULL, out);
}

cgan_status cgan_trainer_create_dist(cgan_ctx *ctx, const cgan_train_cfg *cfg, cgan_dist *dist, cgan_trainer **out)
{
    *out = NULL;
    CGAN_TRY(check_cfg(ctx, cfg));
    int micro = 0;
    CGAN_TRY(cgan_micro_batch(ctx, cfg, cgan_dist_size(dist), &micro));
    cgan_trainer *t = calloc(1, sizeof *t);
    if (!t) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    t->ctx = ctx;
    t->cfg = *cfg;
    t->cfg.standing_stats = cgan_train_standing_batches(cfg);
    if (cfg->model.desc && !(t->cfg.model.desc = t->desc = strdup(cfg->model.desc))) {
        free(t);
        return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    }
    cgan_status st;
    t->dist = dist;
    t->rank = cgan_dist_rank(dist);
    t->world = cgan_dist_size(dist);
    t->accum = cfg->accum > 1 ? cfg->accum : 1;
    t->micro = micro;
    /* the graphs are built for one micro batch */
    cgan_model_cfg micro_cfg = t->cfg.model;
    micro_cfg.batch = micro;
    const cgan_model_cfg *mc = &micro_cfg;
    const int N = mc->batch, S = mc->size;
    t->img_floats = (size_t)N * mc->nc * S * S;
    t->cond_floats = (size_t)N * (size_t)cgan_model_cond_width(mc);
    t->text = mc->cond == CGAN_COND_TEXT;
#define TRY(x) do { if ((st = (x)) != CGAN_OK) goto fail; } while (0)
    TRY(cgan_build_generator(ctx, mc, &t->G));
    TRY(cgan_build_discriminator(ctx, mc, &t->D));
    cgan_graph *D = t->D.g;
    if (cfg->loss == CGAN_LOSS_HINGE) {
        t->loss_d = cgan_nn_loss_hinge_d(D, "loss_d", t->D.logit, 1.0f);
        t->loss_g = cgan_nn_loss_hinge_g(D, "loss_g", t->D.logit);
    } else {
        t->loss_d = cgan_nn_loss_bce(D, "loss_d", t->D.logit, 1.0f);
        t->loss_g = cgan_nn_loss_bce(D, "loss_g", t->D.logit, 1.0f);
    }
    TRY(cgan_graph_status(D));
    t->loss_d_node = cgan_graph_producer(D, t->loss_d);
    t->loss_g_node = cgan_graph_producer(D, t->loss_g);
    TRY(cgan_graph_plan(t->G.g, CGAN_MODE_TRAIN, cfg->seed));
    /* D reads G's output (and writes its gradient) on fake passes, real batches otherwise */
    TRY(cgan_graph_requires_grad(D, t->D.x));
    TRY(cgan_graph_bind(D, t->D.x, cgan_graph_value(t->G.g, t->G.out), cgan_graph_grad(t->G.g, t->G.out)));
    if (t->D.labels >= 0) TRY(cgan_graph_bind(D, t->D.labels, cgan_graph_value(t->G.g, t->G.labels), NULL));
    TRY(cgan_graph_plan(D, CGAN_MODE_TRAIN, cfg->seed ^ 0x5eed0d15cull));
    for (int i = 0; i < 2; i++) {
        TRY(cgan_buffer_create(ctx, t->img_floats * sizeof(float), "real images", &t->real_x[i]));
        TRY(zeros(ctx, t->cond_floats, "real labels", &t->real_y[i]));
        if (t->text) TRY(zeros(ctx, t->cond_floats, "mismatched captions", &t->wrong_y[i]));
        cgan_graph *g = i ? D : t->G.g;
        cgan_graph_param_arena(g, &t->nparam[i]);
        TRY(zeros(ctx, t->nparam[i], "adam m", &t->m[i]));
        TRY(zeros(ctx, t->nparam[i], "adam v", &t->v[i]));
        if (t->accum > 1) TRY(zeros(ctx, t->nparam[i], "accumulated gradients", &t->acc[i]));
        if (t->world > 1) TRY(cgan_gsync_create(ctx, dist, g, 0, &t->sync[i]));
        if (t->world > 1 && cfg->sync_bn) TRY(cgan_bnsync_create(ctx, dist, g, &t->bnsync[i]));
    }
    for (int i = 0; i < STAGING_SLOTS; i++)
        TRY(cgan_staging_alloc(ctx, (t->img_floats + 2 * t->cond_floats) * sizeof(float),
                               "real batch staging", &t->staging[i]));
    if (cfg->ema > 0) {
        TRY(cgan_buffer_create(ctx, t->nparam[0] * sizeof(float), "ema", &t->ema));
        TRY(cgan_buffer_copy(ctx, cgan_graph_param_arena(t->G.g, NULL), 0, t->ema, 0, t->nparam[0] * sizeof(float)));
    }
    TRY(zeros(ctx, (size_t)LOG_CAP * t->accum * CGAN_LOG_FIELDS, "training log", &t->log));
#undef TRY
    *out = t;
    return CGAN_OK;
fail:
    cgan_trainer_destroy(t);
    return st;
}

const cgan_train_cfg *cgan_trainer_cfg(const cgan_trainer *t) { return &t->cfg; }
cgan_generator *cgan_trainer_generator(cgan_trainer *t) { return &t->G; }
cgan_discriminator *cgan_trainer_discriminator(cgan_trainer *t) { return &t->D; }
int64_t cgan_trainer_steps(const cgan_trainer *t) { return t->steps; }
cl_mem cgan_trainer_adam_m(cgan_trainer *t, int d) { return t->m[d ? 1 : 0]; }
cl_mem cgan_trainer_adam_v(cgan_trainer *t, int d) { return t->v[d ? 1 : 0]; }
cl_mem cgan_trainer_ema(cgan_trainer *t) { return t->ema; }
struct cgan_standing **cgan_trainer_standing_slot(cgan_trainer *t) { return &t->standing; }

void cgan_trainer_set_steps(cgan_trainer *t, int64_t steps, int64_t d_updates, int64_t g_updates)
{
    t->steps = t->logged_until = steps;
    t->d_updates = d_updates;
    t->g_updates = g_updates;
}

void cgan_trainer_counts(const cgan_trainer *t, int64_t *d_updates, int64_t *g_updates)
{
    *d_updates = t->d_updates;
    *g_updates = t->g_updates;
}

/* The mismatched captions of a batch (see trainer.h): row i gets the tokens of the next
 * row (cyclically) whose tokens differ from row i's. */
static void mismatch(const float *tokens, size_t n, size_t width, float *wrong)
{
    for (size_t i = 0; i < n; i++) {
        const float *own = tokens + i * width;
        size_t j = (i + 1) % n;
        for (size_t k = 1; k < n; k++) {
            size_t c = (i + k) % n;
            if (memcmp(tokens + c * width, own, width * sizeof *own) != 0) { j = c; break; }
        }
        memcpy(wrong + i * width, tokens + j * width, width * sizeof *wrong);
    }
}

/* Copy one real batch to the next staging slot and start its upload. */
static cgan_status upload(cgan_trainer *t, const float *images, const float *labels)
{
    cgan_ctx *ctx = t->ctx;
    /* device buffers alternate (the queue is in order, so a write waits for the kernels
     * before it); host slots go round the ring */
    int b = t->cur = !t->cur, s = t->slot = (t->slot + 1) % STAGING_SLOTS;
    const size_t N = (size_t)t->micro, C = t->cond_floats;
    if (t->upload[s]) { /* the slot's last upload must be done before its memory is reused */
        CGAN_TRY(cgan_wait_for_reuse(ctx, t->upload[s], "real batch upload"));
        clReleaseEvent(t->upload[s]);
        t->upload[s] = NULL;
    }
    float *x = t->staging[s].host;
    memcpy(x, images, t->img_floats * sizeof(float));
    CGAN_TRY(cgan_buffer_write_async(ctx, t->real_x[b], 0, t->img_floats * sizeof(float), x, &t->upload[s]));
    if (labels && t->D.labels >= 0) {
        cl_event e;
        float *y = x + t->img_floats;
        memcpy(y, labels, C * sizeof(float));
        CGAN_TRY(cgan_buffer_write_async(ctx, t->real_y[b], 0, C * sizeof(float), y, &e));
        /* the queue is in order: waiting on the later write covers both */
        clReleaseEvent(t->upload[s]);
        t->upload[s] = e;
        if (t->text) {
            mismatch(y, N, C / N, y + C);
            CGAN_TRY(cgan_buffer_write_async(ctx, t->wrong_y[b], 0, C * sizeof(float), y + C, &e));
            clReleaseEvent(t->upload[s]);
            t->upload[s] = e;
        }
    }
    return CGAN_OK;
}

static cgan_status log_value(cgan_trainer *t, cl_mem src, int field)
{
    size_t row = (size_t)(t->steps % LOG_CAP) * (size_t)t->accum + (size_t)t->cur_micro;
    return cgan_buffer_copy(t->ctx, src, 0, t->log, (row * CGAN_LOG_FIELDS + (size_t)field) * sizeof(float), sizeof(float));
}

static cgan_status log_stats(cgan_trainer *t, int field)
{
    size_t row = (size_t)(t->steps % LOG_CAP) * (size_t)t->accum + (size_t)t->cur_micro;
    return cgan_logit_stats(t->ctx, cgan_graph_value(t->D.g, t->D.logit), (size_t)t->micro, t->log,
                            (int)(row * CGAN_LOG_FIELDS) + field);
}

static cgan_status adam(cgan_trainer *t, int which, int64_t step)
{
    cgan_graph *g = which ? t->D.g : t->G.g;
    /* the schedule's rate for this step (cgan_lr_at): a kernel argument, no device read */
    cgan_adam_cfg a = { cgan_lr_at(&t->cfg, which, t->steps), t->cfg.beta1, t->cfg.beta2, 1e-8f, 0.f };
    return cgan_adam_step(t->ctx, &a, t->nparam[which], cgan_graph_param_arena(g, NULL),
                          cgan_graph_grad_arena(g, NULL), t->m[which], t->v[which], (int)step);
}

/* One pass of D on images x (gradient buffer xg, may be NULL) with condition y against
 * `target`: forward, the logit statistics into log field `stats` (-1: none), backward into
 * D's parameter gradients, the loss into log field `loss`. */
static cgan_status d_pass(cgan_trainer *t, cl_mem x, cl_mem xg, cl_mem y, float target, uint64_t ctr, int stats,
                          int loss)
{
    cgan_graph *D = t->D.g;
    CGAN_TRY(cgan_graph_bind(D, t->D.x, x, xg));
    if (y) CGAN_TRY(cgan_graph_bind(D, t->D.labels, y, NULL));
    cgan_graph_node(D, t->loss_d_node)->a.target = target;
    CGAN_TRY(cgan_graph_forward(D, 1, ctr));
    cgan_spectral_norm_iterate(D, 0); /* one power iteration per D update: the first pass's */
    if (stats >= 0) CGAN_TRY(log_stats(t, stats)); /* before backward: the logits' memory is reused */
    CGAN_TRY(cgan_graph_backward(D, t->loss_d, CGAN_GRAD_PARAMS));
    return log_value(t, cgan_graph_value(D, t->loss_d), loss);
}

/* accum > 1: fold micro batch k's gradients of network `which` into the sum, in micro
 * batch order (the order the all-reduce of one micro batch per rank adds them in); the
 * last one leaves the sum in the gradient arena. */
static cgan_status accumulate(cgan_trainer *t, int which, int k)
{
    cgan_graph *g = which ? t->D.g : t->G.g;
    size_t n = 0;
    cl_mem grads = cgan_graph_grad_arena(g, &n);
    if (k == 0) return cgan_buffer_copy(t->ctx, grads, 0, t->acc[which], 0, n * sizeof(float));
    if (k < t->accum - 1) return cgan_axpby(t->ctx, n, 1.0f, grads, 1.0f, t->acc[which]);
    return cgan_axpby(t->ctx, n, 1.0f, t->acc[which], 1.0f, grads);
}

/* The step's gradient of network `which`: the sum over the ranks (all-reduce), then the
 * mean over the job's micro batches. */
static cgan_status reduce(cgan_trainer *t, int which)
{
    const int M = t->accum * t->world;
    const float scale = M > 1 ? 1.0f / (float)M : 1.0f;
    if (t->sync[which]) return cgan_gsync_finish(t->sync[which], scale);
    if (scale == 1.0f) return CGAN_OK;
    size_t n = 0;
    cl_mem grads = cgan_graph_grad_arena(which ? t->D.g : t->G.g, &n);
    return cgan_axpby(t->ctx, n, 0.0f, grads, scale, grads);
}

/* The noise and labels of micro batch m for counter base, then G's forward. */
static cgan_status g_forward(cgan_trainer *t, uint64_t base, int m, cl_mem right)
{
    const cgan_train_cfg *c = &t->cfg;
    cgan_graph *G = t->G.g;
    const uint64_t ctr = cgan_micro_counter(base, m);
    CGAN_TRY(cgan_randn(t->ctx, cgan_graph_value(G, t->G.z), (size_t)t->micro * (size_t)c->model.nz, c->seed, ctr));
    if (t->text) /* G draws from the real batch's captions */
        CGAN_TRY(cgan_graph_bind(G, t->G.labels, right, NULL));
    else if (t->G.labels >= 0)
        CGAN_TRY(cgan_randint(t->ctx, cgan_graph_value(G, t->G.labels), (size_t)t->micro, c->model.num_classes, c->seed,
                              ctr + 1));
    return cgan_graph_forward(G, 1, ctr);
}

cgan_status cgan_trainer_step(cgan_trainer *t, const float *images, const float *labels)
{
    cgan_ctx *ctx = t->ctx;
    cgan_graph *G = t->G.g, *D = t->D.g;
    const cgan_train_cfg *c = &t->cfg;
    const int cond = t->G.labels >= 0, A = t->accum;
    const float fake = c->loss == CGAN_LOSS_HINGE ? -1.0f : 0.0f;
    const float real_target = 1.0f - c->label_smooth; /* one-sided label smoothing (BCE only) */
    cl_mem gout = cgan_graph_value(G, t->G.out), gout_grad = cgan_graph_grad(G, t->G.out);
    if (t->text && !labels)
        return cgan_error(ctx, CGAN_E_INVALID, "training step: a text model needs the captions' token ids");
    /* one global batch holds the job's accum x world micro batches; this rank's are
     * rank*accum .. rank*accum + accum-1 */
    const size_t M = (size_t)A * (size_t)t->world, m0 = (size_t)t->rank * (size_t)A;
    const size_t gimg = t->img_floats * M, gcond = t->cond_floats * M;
#define MICRO_X(d, k) (images + (size_t)(d) * gimg + (m0 + (size_t)(k)) * t->img_floats)
#define MICRO_Y(d, k) (labels ? labels + (size_t)(d) * gcond + (m0 + (size_t)(k)) * t->cond_floats : NULL)

    for (int d = 0; d < c->d_steps; d++) {
        const uint64_t base = (uint64_t)t->d_updates * 8;
        for (int k = 0; k < A; k++) {
            const int m = (int)m0 + k;
            const uint64_t ctr = cgan_micro_counter(base, m);
            const int arm = A == 1 && t->sync[1]; /* stream the last backward's buckets */
            t->cur_micro = k;
            CGAN_TRY(upload(t, MICRO_X(d, k), MICRO_Y(d, k)));
            cl_mem real = t->real_x[t->cur], right = cond ? t->real_y[t->cur] : NULL;
            cl_mem glabels = t->text ? right : cond ? cgan_graph_value(G, t->G.labels) : NULL;
            CGAN_TRY(g_forward(t, base, m, right));
            CGAN_TRY(cgan_graph_zero_grad(D));
            /* one power iteration per D update, in its first pass (every process makes the
             * same one, so replicas and micro batches see the same normalised weights) */
            if (k == 0) cgan_spectral_norm_iterate(D, 1);
            if (t->text) {
                /* the two fake-side terms, halved (trainer.h), then the real one */
                size_t np = 0;
                cl_mem grads = cgan_graph_grad_arena(D, &np);
                CGAN_TRY(d_pass(t, real, NULL, t->wrong_y[t->cur], fake, ctr + 5, -1, CGAN_LOG_LOSS_D_WRONG));
                CGAN_TRY(d_pass(t, gout, gout_grad, right, fake, ctr + 3, CGAN_LOG_D_GZ, CGAN_LOG_LOSS_D_FAKE));
                CGAN_TRY(cgan_axpby(ctx, np, 0.0f, grads, 0.5f, grads));
                if (arm) cgan_gsync_arm(t->sync[1]);
                CGAN_TRY(d_pass(t, real, NULL, right, real_target, ctr + 2, CGAN_LOG_D_X, CGAN_LOG_LOSS_D_REAL));
            } else {
                CGAN_TRY(d_pass(t, real, NULL, right, real_target, ctr + 2, CGAN_LOG_D_X, CGAN_LOG_LOSS_D_REAL));
                /* fake batch (G's output, no gradient into G) */
                if (arm) cgan_gsync_arm(t->sync[1]);
                CGAN_TRY(d_pass(t, gout, gout_grad, glabels, fake, ctr + 3, CGAN_LOG_D_GZ, CGAN_LOG_LOSS_D_FAKE));
            }
            if (A > 1) CGAN_TRY(accumulate(t, 1, k));
        }
        CGAN_TRY(reduce(t, 1));
        CGAN_TRY(adam(t, 1, ++t->d_updates));
    }
    /* G through the updated D on its last fake batches: gradient w.r.t. D's input only,
     * then G's backward. With several micro batches per rank, G's output of each is made
     * again (the same noise, labels and counters as in the D step). */
    const uint64_t base = (uint64_t)t->d_updates * 8, last = base - 8;
    for (int k = 0; k < A; k++) {
        const int m = (int)m0 + k;
        t->cur_micro = k;
        if (A > 1) {
            if (t->text) CGAN_TRY(upload(t, MICRO_X(c->d_steps - 1, k), MICRO_Y(c->d_steps - 1, k)));
            CGAN_TRY(g_forward(t, last, m, cond ? t->real_y[t->cur] : NULL));
        }
        cl_mem glabels = t->text ? t->real_y[t->cur] : cond ? cgan_graph_value(G, t->G.labels) : NULL;
        CGAN_TRY(cgan_graph_bind(D, t->D.x, gout, gout_grad));
        if (cond) CGAN_TRY(cgan_graph_bind(D, t->D.labels, glabels, NULL));
        CGAN_TRY(cgan_graph_zero_grad(G));
        CGAN_TRY(cgan_graph_forward(D, 1, cgan_micro_counter(base, m) + 4));
        CGAN_TRY(cgan_graph_backward(D, t->loss_g, CGAN_GRAD_INPUTS));
        if (A == 1 && t->sync[0]) cgan_gsync_arm(t->sync[0]);
        CGAN_TRY(cgan_graph_backward(G, -1, CGAN_GRAD_PARAMS));
        CGAN_TRY(log_value(t, cgan_graph_value(D, t->loss_g), CGAN_LOG_LOSS_G));
        if (A > 1) CGAN_TRY(accumulate(t, 0, k));
    }
#undef MICRO_X
#undef MICRO_Y
    CGAN_TRY(reduce(t, 0));
    CGAN_TRY(adam(t, 0, ++t->g_updates));
    if (t->ema) {
        /* warm-up: the average follows the weights closely at first, so that samples of a
         * short run do not show the initialisation; its time constant grows as ema_rampup
         * times the updates so far, until the decay reaches ema */
        double n = (double)t->g_updates;
        double warm = c->ema_rampup == CGAN_EMA_RAMPUP_LEGACY ? (1.0 + n) / (10.0 + n) /* the same bits as before */
                                                             : 1.0 - 1.0 / (1.0 + (double)c->ema_rampup * (n + 1.0));
        float decay = (float)(warm < c->ema ? warm : c->ema);
        CGAN_TRY(cgan_ema_update(ctx, t->nparam[0], decay, t->ema, cgan_graph_param_arena(G, NULL)));
    }
    t->cur_micro = 0;
    t->steps++;
    /* the step is queued: submit it, so the device works while the host prepares the next */
    return cgan_flush(ctx);
}

cgan_status cgan_trainer_read_log(cgan_trainer *t, float *rows, int64_t *steps, int cap, int *count)
{
    *count = 0;
    int64_t from = t->logged_until;
    if (t->steps - from > LOG_CAP) from = t->steps - LOG_CAP;
    if (t->steps - from > cap) from = t->steps - cap;
    int n = (int)(t->steps - from);
    if (n <= 0) return CGAN_OK;
    /* each step's row is the mean over the job's micro batches: summed here in micro batch
     * order, over the ranks by the all-reduce (a collective: every rank logs at the same
     * steps), then divided */
    const size_t A = (size_t)t->accum, F = CGAN_LOG_FIELDS;
    float *all = malloc((size_t)LOG_CAP * A * F * sizeof(float));
    if (!all) return cgan_error(t->ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = cgan_buffer_read(t->ctx, t->log, 0, (size_t)LOG_CAP * A * F * sizeof(float), all);
    if (st == CGAN_OK) {
        for (int i = 0; i < n; i++) {
            int64_t s = from + i;
            const float *src = all + (size_t)(s % LOG_CAP) * A * F;
            float *dst = rows + (size_t)i * F;
            memcpy(dst, src, F * sizeof(float));
            for (size_t k = 1; k < A; k++)
                for (size_t f = 0; f < F; f++) dst[f] += src[k * F + f];
            steps[i] = s;
        }
        st = cgan_dist_allreduce(t->dist, t->ctx, rows, (size_t)n * F, CGAN_DIST_F32, CGAN_DIST_SUM);
    }
    if (st == CGAN_OK) {
        const size_t M = A * (size_t)t->world;
        if (M > 1)
            for (size_t i = 0; i < (size_t)n * F; i++) rows[i] /= (float)M;
        *count = n;
        t->logged_until = t->steps;
    }
    free(all);
    return st;
}

cgan_gsync *cgan_trainer_gsync(cgan_trainer *t, int d) { return t->sync[d ? 1 : 0]; }
cgan_dist *cgan_trainer_dist(cgan_trainer *t) { return t->dist; }

void cgan_trainer_comm_stats(const cgan_trainer *t, double *comm_s, double *exposed_s, int64_t *bytes)
{
    *comm_s = *exposed_s = 0;
    *bytes = 0;
    for (int i = 0; i < 2; i++)
        if (t->sync[i]) {
            const cgan_gsync_stats *s = cgan_gsync_stats_get(t->sync[i]);
            *comm_s += s->comm_s;
            *exposed_s += s->exposed_s;
            *bytes += s->bytes;
        }
}

size_t cgan_trainer_param_count(const cgan_trainer *t, int d)
{
    return t->nparam[d ? 1 : 0];
}

struct cgan_graph *cgan_trainer_graph(cgan_trainer *t, int d)
{
    return d ? t->D.g : t->G.g;
}
