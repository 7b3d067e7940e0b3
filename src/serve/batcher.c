/* The request queue and the batcher thread (see serve.h). The thread owns the OpenCL
 * context: it takes queued requests of the same weights, up to --max-batch images, fills
 * one generator pass with each request's own noise (cgan_gen_item: the slots of its seed)
 * and hands the images back. Samplers exist for batches of 1, 2, 4, ... and max_batch
 * images, made when first needed, so a lone request pays for its own size only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "serve.h"

typedef struct sized { int size; cgan_sampler *s; } sized;

struct serve_batcher {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    serve_req *head, *tail;
    int depth, cap, max_batch, stopping, started, delay_ms;
    pthread_t thread;
    cgan_ctx *ctx;
    cgan_gen *g;
    sized samplers[2][SERVE_MAX_SAMPLERS];
    int nz, nc, size;
    size_t img;                /* floats per image */
    float *z, *y, *out;        /* max_batch rows */
    serve_metrics *m;
    char device[300];
};

static void set_err(char *err, size_t errsz, const char *what, const char *msg)
{
    snprintf(err, errsz, "%s%s%s", what, *what ? ": " : "", msg);
}

static int pass_size(const serve_batcher *b, int images)
{
    int p = 1;
    while (p < images) p *= 2;
    return p < b->max_batch ? p : b->max_batch;
}

/* The sampler for passes of `size` images with the EMA or raw weights (made once). */
static cgan_sampler *sampler_for(serve_batcher *b, int use_ema, int size, char *err, size_t errsz)
{
    sized *t = b->samplers[use_ema ? 1 : 0];
    int i = 0;
    for (; i < SERVE_MAX_SAMPLERS && t[i].s; i++)
        if (t[i].size == size) return t[i].s;
    if (i == SERVE_MAX_SAMPLERS) {
        snprintf(err, errsz, "too many sampler sizes");
        return NULL;
    }
    if (cgan_gen_sampler(b->g, use_ema, size, &t[i].s) != CGAN_OK) {
        set_err(err, errsz, "loading the generator", cgan_last_error(b->ctx));
        return NULL;
    }
    t[i].size = size;
    return t[i].s;
}

static void free_all(serve_batcher *b)
{
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < SERVE_MAX_SAMPLERS; i++) cgan_sampler_destroy(b->samplers[w][i].s);
    cgan_gen_close(b->g);
    cgan_ctx_destroy(b->ctx);
    free(b->z);
    free(b->y);
    free(b->out);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->done);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void serve_req_free(serve_req *r)
{
    if (!r) return;
    free(r->images);
    free(r);
}

/* One forward of `rows` filled rows, padded like cgan_gen_run pads its last pass. */
static int forward(serve_batcher *b, int use_ema, int rows, char *err, size_t errsz)
{
    int size = pass_size(b, rows);
    cgan_sampler *s = sampler_for(b, use_ema, size, err, errsz);
    if (!s) return -1;
    for (int j = rows; j < size; j++) {
        memset(b->z + (size_t)j * b->nz, 0, (size_t)b->nz * sizeof *b->z);
        b->y[j] = 0.0f;
    }
    if (b->delay_ms > 0) nanosleep(&(struct timespec){ b->delay_ms / 1000, (b->delay_ms % 1000) * 1000000L }, NULL);
    if (cgan_sampler_run(s, b->z, cgan_gen_num_classes(b->g) > 0 ? b->y : NULL, b->out) != CGAN_OK) {
        set_err(err, errsz, "generator pass", cgan_last_error(b->ctx));
        return -1;
    }
    return 0;
}

/* Run the requests of list (linked by next): passes of up to max_batch images, each
 * request's image k from slot k of its seed. */
static int run_batch(serve_batcher *b, serve_req *list, char *err, size_t errsz)
{
    int use_ema = list->use_ema, rows = 0;
    for (serve_req *r = list; r; r = r->next) {
        if (!(r->images = malloc((size_t)r->n * b->img * sizeof *r->images))) {
            snprintf(err, errsz, "out of memory");
            return -1;
        }
    }
    /* (request, image) pairs of the current pass, to copy the results back */
    serve_req *owner[4096];
    int slot[4096], nreq = 0;
    for (serve_req *r = list; r; r = r->next) {
        for (int k = 0; k < r->n; k++) {
            if (cgan_gen_item(b->g, r->cls, r->seed, k, b->z + (size_t)rows * b->nz, b->y + rows) != CGAN_OK) {
                set_err(err, errsz, "", cgan_last_error(b->ctx));
                return -1;
            }
            nreq += rows == 0 || owner[rows - 1] != r; /* requests in this pass */
            owner[rows] = r;
            slot[rows] = k;
            if (++rows == b->max_batch || (k == r->n - 1 && !r->next)) {
                if (forward(b, use_ema, rows, err, errsz)) return -1;
                for (int j = 0; j < rows; j++)
                    memcpy(owner[j]->images + (size_t)slot[j] * b->img, b->out + (size_t)j * b->img,
                           b->img * sizeof *b->out);
                metrics_pass(b->m, rows, nreq);
                rows = nreq = 0;
            }
        }
    }
    return 0;
}

static void *loop(void *arg)
{
    serve_batcher *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->head && !b->stopping) pthread_cond_wait(&b->work, &b->mu);
        if (!b->head) break;
        /* the head, then later requests of the same weights while they fit */
        int use_ema = b->head->use_ema, images = 0;
        serve_req *list = NULL, **lt = &list, **pp = &b->head, *prev = NULL;
        while (*pp) {
            serve_req *r = *pp;
            if (r->use_ema == use_ema && (images == 0 || images + r->n <= b->max_batch)) {
                *pp = r->next;
                if (b->tail == r) b->tail = prev;
                r->next = NULL;
                r->state = REQ_RUNNING;
                *lt = r;
                lt = &r->next;
                images += r->n;
                b->depth--;
                if (images >= b->max_batch) break;
            } else {
                prev = r;
                pp = &r->next;
            }
        }
        pthread_mutex_unlock(&b->mu);
        char err[512] = "";
        int rc = run_batch(b, list, err, sizeof err);
        pthread_mutex_lock(&b->mu);
        for (serve_req *r = list, *next; r; r = next) {
            next = r->next;
            r->next = NULL;
            if (r->abandoned) {
                serve_req_free(r);
                continue;
            }
            r->state = rc == 0 ? REQ_DONE : REQ_FAILED;
            if (rc) snprintf(r->err, sizeof r->err, "%s", err);
        }
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

int batcher_start(const serve_cfg *cfg, serve_metrics *m, serve_batcher **out, char *err, size_t errsz)
{
    *out = NULL;
    serve_batcher *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->done, NULL);
    b->cap = cfg->queue;
    b->max_batch = cfg->max_batch;
    b->delay_ms = cfg->test_delay_ms;
    b->m = m;
    if (!(b->ctx = cgan_ctx_new())) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    if (cgan_gen_open(b->ctx, cfg->checkpoint, &b->g) != CGAN_OK) {
        set_err(err, errsz, "", cgan_last_error(b->ctx));
        goto fail;
    }
    if (cgan_gen_is_text(b->g)) {
        snprintf(err, errsz, "%s: a text model (--cond text); serve takes class-conditional and unconditional models",
                 cgan_gen_path(b->g));
        goto fail;
    }
    if ((cfg->open_device ? cfg->open_device(b->ctx, cfg->device) : cgan_ctx_open(b->ctx, cfg->device)) != CGAN_OK) {
        set_err(err, errsz, "device", cgan_last_error(b->ctx));
        goto fail;
    }
    const cgan_device_info *d = cgan_ctx_device(b->ctx);
    snprintf(b->device, sizeof b->device, "%s (%s)", d->name, d->platform);
    const cgan_model_cfg *mc = &cgan_gen_cfg(b->g)->model;
    b->nz = mc->nz;
    b->nc = mc->nc;
    b->size = mc->size;
    b->img = (size_t)mc->nc * mc->size * mc->size;
    b->z = malloc((size_t)b->max_batch * b->nz * sizeof *b->z);
    b->y = malloc((size_t)b->max_batch * sizeof *b->y);
    b->out = malloc((size_t)b->max_batch * b->img * sizeof *b->out);
    if (!b->z || !b->y || !b->out) {
        snprintf(err, errsz, "out of memory for batches of %d", b->max_batch);
        goto fail;
    }
    /* load the default weights now: a bad checkpoint fails here, not at the first request */
    if (!sampler_for(b, cgan_gen_has_ema(b->g), 1, err, errsz)) goto fail;
    int rc = pthread_create(&b->thread, NULL, loop, b);
    if (rc) {
        snprintf(err, errsz, "cannot start the batcher thread: %s", strerror(rc));
        goto fail;
    }
    b->started = 1;
    *out = b;
    return 0;
fail:
    free_all(b);
    return -1;
}

int batcher_submit(serve_batcher *b, serve_req *r)
{
    pthread_mutex_lock(&b->mu);
    int ok = !b->stopping && b->depth < b->cap;
    if (ok) {
        r->state = REQ_QUEUED;
        r->next = NULL;
        if (b->tail) b->tail->next = r;
        else b->head = r;
        b->tail = r;
        b->depth++;
        pthread_cond_signal(&b->work);
    }
    pthread_mutex_unlock(&b->mu);
    return ok ? 0 : -1;
}

int batcher_wait(serve_batcher *b, serve_req *r, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = until.tv_sec + until.tv_nsec / 1e9 + seconds;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&b->mu);
    int rc = 0;
    while (r->state == REQ_QUEUED || r->state == REQ_RUNNING) {
        if (pthread_cond_timedwait(&b->done, &b->mu, &until) == ETIMEDOUT &&
            (r->state == REQ_QUEUED || r->state == REQ_RUNNING)) {
            rc = -1;
            break;
        }
    }
    if (rc && r->state == REQ_QUEUED) { /* still waiting: take it out */
        serve_req **pp = &b->head, *prev = NULL;
        while (*pp && *pp != r) prev = *pp, pp = &(*pp)->next;
        if (*pp) {
            *pp = r->next;
            if (b->tail == r) b->tail = prev;
            b->depth--;
        }
        serve_req_free(r);
    } else if (rc) {
        r->abandoned = 1; /* in a pass now: the batcher frees it */
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int batcher_depth(serve_batcher *b)
{
    pthread_mutex_lock(&b->mu);
    int d = b->depth;
    pthread_mutex_unlock(&b->mu);
    return d;
}

const char *batcher_device(const serve_batcher *b) { return b->device; }

void batcher_stop(serve_batcher *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->mu);
    if (b->started) pthread_join(b->thread, NULL);
    free_all(b);
}
