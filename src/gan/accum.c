/* Gradient all-reduce through host staging, in buckets that start as backward finishes
 * them (see accum.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "accum.h"
#include "trainer.h"
#include "core/exec.h"
#include "ops/elementwise.h"

#define MAX_BUCKETS CGAN_DIST_MAX_REQ

enum { B_READING = 0, B_REDUCING, B_DONE };

typedef struct bucket {
    size_t off, len;      /* floats */
    cl_event read;
    int req, state;
} bucket;

struct cgan_gsync {
    cgan_ctx *ctx;
    cgan_dist *d;
    cgan_graph *g;
    cl_mem grads;
    size_t n, bucket_floats;
    cgan_staging st;
    int armed;
    size_t issued_lo;     /* [issued_lo, n) has its reads enqueued this step */
    int nb;
    bucket b[MAX_BUCKETS];
    double t_comm0;       /* when this step's first all-reduce started (0: none yet) */
    cgan_gsync_stats stats;
};

uint64_t cgan_micro_counter(uint64_t base, int m)
{
    return base + ((uint64_t)(unsigned)m << 44);
}

cgan_status cgan_micro_batch(cgan_ctx *ctx, const cgan_train_cfg *cfg, int world, int *micro)
{
    const int A = cfg->accum > 1 ? cfg->accum : 1, B = cfg->model.batch;
    const long M = (long)A * (world > 1 ? world : 1);
    if (B < M || B % M != 0) {
        if (world > 1)
            return cgan_error(ctx, CGAN_E_INVALID, "--batch %d cannot be cut into %ld equal micro batches (%d "
                              "processes x --accum %d): give a multiple of %ld", B, M, world, A, M);
        return cgan_error(ctx, CGAN_E_INVALID, "--batch %d cannot be cut into %d equal micro batches (--accum %d): "
                          "give a multiple of %d", B, A, A, A);
    }
    *micro = (int)(B / M);
    return CGAN_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static cgan_status event_done(cgan_ctx *ctx, cl_event e, int *done)
{
    cl_int status = CL_QUEUED;
    CGAN_CL_CHECK(ctx, clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
                  "clGetEventInfo", "gradient bucket read");
    if (status < 0) return cgan_error(ctx, CGAN_E_OPENCL, "reading a gradient bucket to the host failed (%d)", status);
    *done = status == CL_COMPLETE;
    return CGAN_OK;
}

/* Enqueue the read of [off, off+len) into the staging memory. */
static cgan_status issue(cgan_gsync *s, size_t off, size_t len)
{
    bucket *b = &s->b[s->nb];
    b->off = off;
    b->len = len;
    b->state = B_READING;
    b->req = -1;
    CGAN_TRY(cgan_buffer_read_async(s->ctx, s->grads, off * sizeof(float), len * sizeof(float),
                                    (float *)s->st.host + off, &b->read));
    s->nb++;
    return CGAN_OK;
}

/* Start the all-reduce of every bucket whose read has completed (in order: every rank
 * issues the same buckets in the same order, as MPI requires of collectives); with wait,
 * block for the next read first. */
static cgan_status progress(cgan_gsync *s, int wait)
{
    for (int i = 0; i < s->nb; i++) {
        bucket *b = &s->b[i];
        if (b->state != B_READING) continue;
        int done = 0;
        if (wait) {
            CGAN_CL_CHECK(s->ctx, clWaitForEvents(1, &b->read), "clWaitForEvents", "gradient bucket read");
            done = 1;
        } else {
            CGAN_TRY(event_done(s->ctx, b->read, &done));
        }
        if (!done) break;
        clReleaseEvent(b->read);
        b->read = NULL;
        if (s->t_comm0 == 0) s->t_comm0 = now_s();
        CGAN_TRY(cgan_dist_iallreduce_f32(s->d, s->ctx, (float *)s->st.host + b->off, b->len, &b->req));
        b->state = B_REDUCING;
        s->stats.bytes += (int64_t)(b->len * sizeof(float));
    }
    /* let MPI move the requests in flight (no progress thread is assumed) */
    for (int i = 0; i < s->nb; i++) {
        int done = 0;
        if (s->b[i].state == B_REDUCING) CGAN_TRY(cgan_dist_test(s->d, s->ctx, s->b[i].req, &done));
    }
    return CGAN_OK;
}

static cgan_status hook(void *user, size_t ready)
{
    cgan_gsync *s = user;
    if (!s->armed || ready >= s->issued_lo) return CGAN_OK;
    if (s->issued_lo - ready < s->bucket_floats && ready > 0) return CGAN_OK;
    if (s->nb >= MAX_BUCKETS - 1) return CGAN_OK; /* the rest goes at finish */
    CGAN_TRY(issue(s, ready, s->issued_lo - ready));
    s->issued_lo = ready;
    CGAN_TRY(cgan_flush(s->ctx));
    return progress(s, 0);
}

cgan_status cgan_gsync_create(cgan_ctx *ctx, cgan_dist *d, cgan_graph *g, size_t bucket_floats, cgan_gsync **out)
{
    *out = NULL;
    cgan_gsync *s = calloc(1, sizeof *s);
    if (!s) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    s->ctx = ctx;
    s->d = d;
    s->g = g;
    s->grads = cgan_graph_grad_arena(g, &s->n);
    s->bucket_floats = bucket_floats ? bucket_floats : ctx->profile.bucket_floats;
    s->issued_lo = s->n;
    cgan_status st = s->n ? cgan_staging_alloc(ctx, s->n * sizeof(float), "gradient all-reduce staging", &s->st)
                          : cgan_error(ctx, CGAN_E_INVALID, "gradient all-reduce: the graph has no gradients");
    if (st != CGAN_OK) {
        free(s);
        return st;
    }
    cgan_graph_set_grad_hook(g, hook, s);
    *out = s;
    return CGAN_OK;
}

void cgan_gsync_destroy(cgan_gsync *s)
{
    if (!s) return;
    cgan_graph_set_grad_hook(s->g, NULL, NULL);
    if (s->ctx->queue) clFinish(s->ctx->queue);
    for (int i = 0; i < s->nb; i++) {
        if (s->b[i].read) clReleaseEvent(s->b[i].read);
        if (s->b[i].state == B_REDUCING) cgan_dist_wait(s->d, s->ctx, s->b[i].req);
    }
    cgan_staging_free(s->ctx, &s->st);
    free(s);
}

void cgan_gsync_arm(cgan_gsync *s)
{
    s->armed = 1;
}

cgan_status cgan_gsync_finish(cgan_gsync *s, float scale)
{
    s->armed = 0;
    /* what backward did not stream: the front of the arena, in bucket-sized pieces (larger
     * ones when the request slots run short) */
    size_t left = s->issued_lo;
    int slots = MAX_BUCKETS - s->nb;
    size_t piece = s->bucket_floats;
    if (slots > 0 && (left + piece - 1) / piece > (size_t)slots) piece = (left + (size_t)slots - 1) / (size_t)slots;
    while (left > 0) {
        size_t len = left < piece ? left : piece;
        CGAN_TRY(issue(s, left - len, len));
        left -= len;
    }
    s->issued_lo = 0;
    CGAN_TRY(cgan_flush(s->ctx));
    /* every read started; wait for each in turn, starting its reduction at once. The waits
     * block (no polling): on a CPU device the host thread shares the cores with the kernels
     * that are still computing the gradients */
    CGAN_TRY(progress(s, 1));
    const double t_backward_done = now_s();
    for (int i = 0; i < s->nb; i++) {
        bucket *b = &s->b[i];
        CGAN_TRY(cgan_dist_wait(s->d, s->ctx, b->req));
        b->state = B_DONE;
        cl_event e;
        CGAN_TRY(cgan_buffer_write_async(s->ctx, s->grads, b->off * sizeof(float), b->len * sizeof(float),
                                         (float *)s->st.host + b->off, &e));
        clReleaseEvent(e); /* the in-order queue runs it before the optimizer; the next
                            * step's reads into the same memory come after it */
    }
    const double t_end = now_s();
    s->stats.exposed_s += t_end - t_backward_done;
    if (s->t_comm0 > 0) s->stats.comm_s += t_end - s->t_comm0;
    s->stats.syncs++;
    s->t_comm0 = 0;
    s->nb = 0;
    s->issued_lo = s->n;
    if (scale != 1.0f) CGAN_TRY(cgan_axpby(s->ctx, s->n, 0.0f, s->grads, scale, s->grads));
    return CGAN_OK;
}

const cgan_gsync_stats *cgan_gsync_stats_get(const cgan_gsync *s)
{
    return &s->stats;
}

cgan_status cgan_gsync_checksum(cgan_gsync *s, cl_mem params, double out[2])
{
    float *h = s->st.host;
    CGAN_TRY(cgan_buffer_read(s->ctx, params, 0, s->n * sizeof(float), h));
    double sum = 0, mag = 0;
    for (size_t i = 0; i < s->n; i++) {
        sum += h[i];
        mag += h[i] < 0 ? -(double)h[i] : (double)h[i];
    }
    out[0] = sum;
    out[1] = mag;
    return CGAN_OK;
}

cgan_status cgan_run_agree(cgan_ctx *ctx, cgan_dist *d, cgan_status mine, const char *what)
{
    if (cgan_dist_size(d) <= 1) return mine;
    /* the lowest failed rank, or size when none */
    int64_t failed = mine != CGAN_OK ? cgan_dist_rank(d) : cgan_dist_size(d);
    cgan_status st = cgan_dist_allreduce(d, ctx, &failed, 1, CGAN_DIST_I64, CGAN_DIST_MIN);
    if (st != CGAN_OK || mine != CGAN_OK) return mine != CGAN_OK ? mine : st;
    if (failed < cgan_dist_size(d))
        return cgan_error(ctx, CGAN_E_INVALID, "process %d of %d could not %s (its message comes from it)", (int)failed,
                          cgan_dist_size(d), what);
    return CGAN_OK;
}

cgan_status cgan_run_stop_agreed(cgan_ctx *ctx, cgan_dist *d, volatile sig_atomic_t *stop, int *stopped)
{
    int64_t v = stop && *stop ? 1 : 0;
    CGAN_TRY(cgan_dist_allreduce(d, ctx, &v, 1, CGAN_DIST_I64, CGAN_DIST_MAX));
    *stopped = v != 0;
    return CGAN_OK;
}

cgan_status cgan_dist_check_params(cgan_trainer *t)
{
    cgan_dist *d = cgan_trainer_dist(t);
    if (cgan_dist_size(d) <= 1) return CGAN_OK;
    cgan_ctx *ctx = NULL;
    double v[4], lo[4], hi[4];
    for (int which = 0; which < 2; which++) {
        cgan_gsync *s = cgan_trainer_gsync(t, which);
        cgan_graph *g = cgan_trainer_graph(t, which);
        size_t n = 0;
        cl_mem params = cgan_graph_param_arena(g, &n);
        ctx = s->ctx;
        if (which == 1 && ctx->profile.diverge_rank == cgan_dist_rank(d))
            CGAN_TRY(cgan_axpby(ctx, n, 0.0f, params, 1.001f, params));
        CGAN_TRY(cgan_gsync_checksum(s, params, v + 2 * which));
    }
    memcpy(lo, v, sizeof v);
    memcpy(hi, v, sizeof v);
    CGAN_TRY(cgan_dist_allreduce(d, ctx, lo, 4, CGAN_DIST_F64, CGAN_DIST_MIN));
    CGAN_TRY(cgan_dist_allreduce(d, ctx, hi, 4, CGAN_DIST_F64, CGAN_DIST_MAX));
    for (int which = 0; which < 2; which++) {
        const double a = lo[2 * which], b = hi[2 * which], mag = hi[2 * which + 1];
        const double ma = lo[2 * which + 1];
        /* replicas on alike devices agree bit for bit; 1e-6 of the magnitude leaves room for
         * mixed devices' rounding */
        if (b - a > 1e-6 * mag || mag - ma > 1e-6 * mag)
            return cgan_error(ctx, CGAN_E_NUMERIC, "the processes' copies of %s diverged at step %lld: parameter "
                              "sums range over [%.9g, %.9g] (magnitudes [%.9g, %.9g]) across the %d processes, "
                              "which should hold the same values; training stopped (no checkpoint of this "
                              "state is written)", which ? "D" : "G", (long long)cgan_trainer_steps(t), a, b, ma,
                              mag, cgan_dist_size(d));
    }
    return CGAN_OK;
}
