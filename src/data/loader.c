/* Batch loader: worker threads fill CGAN_LOADER_SLOTS batch slots in sequence order. A
 * worker takes a free slot and the next position under the lock (so positions are handed
 * out in order), fills the whole batch outside it, and marks it ready with its sequence
 * number; the caller takes the ready slot with the sequence it expects. What a batch holds
 * depends only on its position, never on which worker filled it or when, so any number of
 * workers gives the same batches. A seek bumps a generation counter so that a batch being
 * filled for the old position is dropped when it completes. The caller's calls (next,
 * tell, seek) are meant for one thread.
 *
 * Streamed datasets are decoded here, each worker with its own decoder (TurboJPEG handle,
 * file buffer, message context). A file that fails is marked bad (once, counted, its
 * message kept as the example) and replaced by the next image of the epoch's permutation
 * that decodes, wrapping around; the flip stays that of the position. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runtime/runtime.h"
#include "core/rng.h"
#include "internal.h"
#include "loader.h"

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_TAKEN };

typedef struct slot {
    float *images, *labels;
    int state, epoch, index;
    uint64_t seq;
    cgan_status st;             /* not CGAN_OK: no image could be decoded */
    char msg[512];
} slot;

typedef struct worker {
    struct cgan_loader *l;
    pthread_t thread;
    int started;
    cgan_decoder dec;           /* streamed datasets */
    uint8_t *px;                /* one image, CHW bytes */
    int *perm;                  /* the permutation and flips of perm_epoch */
    uint8_t *flip;
    int perm_epoch;
} worker;

struct cgan_loader {
    const cgan_dataset *ds;
    cgan_ctx *err_ctx;
    int batch, bpe;
    const float *rows;          /* condition rows instead of class labels, or NULL */
    int width;                  /* floats of labels per image */
    uint64_t seed;
    unsigned flags;
    size_t isz;                 /* floats (and bytes) per image */
    float lut[256];
    pthread_mutex_t mu;
    pthread_cond_t ready_cv, free_cv;
    int mu_ok, ready_ok, free_ok;
    slot slots[CGAN_LOADER_SLOTS];
    int stop, gen;
    int prod_epoch, prod_index; /* next batch a worker fills */
    uint64_t prod_seq;
    int cons_epoch, cons_index; /* next batch the caller gets */
    uint64_t cons_seq;
    cgan_status failed;         /* sticky: a batch could not be made */
    worker workers[CGAN_LOADER_MAX_WORKERS];
    int nworkers;
    /* files that failed at batch time (bad_mu) */
    pthread_mutex_t bad_mu;
    int bad_mu_ok;
    uint8_t *bad;               /* per image: 1 once it failed */
    int bad_count;
    char *bad_example;          /* the first failure's message, set once */
};

/* An index that leaves less than a batch means the next epoch's start. */
static void normalize(const cgan_loader *l, int *epoch, int *index)
{
    if (*index + l->batch > l->ds->n) {
        (*epoch)++;
        *index = 0;
    }
}

static void advance(const cgan_loader *l, int *epoch, int *index)
{
    *index += l->batch;
    normalize(l, epoch, index);
}

/* The permutation and the flips of epoch e. */
static void make_epoch(const cgan_loader *l, worker *w, int e)
{
    int n = l->ds->n;
    cgan_rng r;
    cgan_rng_init(&r, l->seed ^ CGAN_LOADER_SALT, (uint32_t)e);
    for (int i = 0; i < n; i++) w->perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cgan_rng_below(&r, (uint32_t)i + 1);
        int t = w->perm[i];
        w->perm[i] = w->perm[j];
        w->perm[j] = t;
    }
    for (int i = 0; i < n; i++)
        w->flip[i] = (l->flags & CGAN_AUG_FLIP) ? (uint8_t)(cgan_rng_u32(&r) >> 31) : 0;
    w->perm_epoch = e;
}

/* Image i's bytes: in memory, or decoded into w->px. NULL when its file fails (now or
 * before). */
static const uint8_t *image_of(cgan_loader *l, worker *w, int i)
{
    const cgan_dataset *ds = l->ds;
    if (ds->pixels) return cgan_dataset_image(ds, i);
    pthread_mutex_lock(&l->bad_mu);
    int known_bad = l->bad[i];
    pthread_mutex_unlock(&l->bad_mu);
    if (known_bad) return NULL;
    if (cgan_decoder_load(&w->dec, cgan_dataset_path(ds, i), ds->size, ds->channels, w->px, NULL) == CGAN_OK)
        return w->px;
    pthread_mutex_lock(&l->bad_mu);
    if (!l->bad[i]) {
        l->bad[i] = 1;
        l->bad_count++;
        if (!l->bad_example) l->bad_example = strdup(w->dec.ctx ? cgan_last_error(w->dec.ctx) : cgan_dataset_path(ds, i));
    }
    pthread_mutex_unlock(&l->bad_mu);
    return NULL;
}

static cgan_status fill(worker *w, slot *s, int epoch, int index)
{
    cgan_loader *l = w->l;
    const cgan_dataset *ds = l->ds;
    const int n = ds->n;
    if (w->perm_epoch != epoch) make_epoch(l, w, epoch);
    int side = ds->size, rows = ds->channels * side;
    for (int b = 0; b < l->batch; b++) {
        int p = index + b, src = -1;
        const uint8_t *px = NULL;
        for (int k = 0; k < n && !px; k++) { /* the position's image, else the next that decodes */
            src = w->perm[(p + k) % n];
            px = image_of(l, w, src);
        }
        if (!px) {
            pthread_mutex_lock(&l->bad_mu);
            snprintf(s->msg, sizeof s->msg, "loader: none of the %d images of %s could be decoded (first failure: %s)",
                     n, ds->source ? ds->source : "the dataset", l->bad_example ? l->bad_example : "?");
            pthread_mutex_unlock(&l->bad_mu);
            return CGAN_E_FORMAT;
        }
        float *dst = s->images + (size_t)b * l->isz;
        for (int y = 0; y < rows; y++) { /* channel planes stacked: rows of every plane */
            const uint8_t *in = px + (size_t)y * (size_t)side;
            float *out = dst + (size_t)y * (size_t)side;
            if (w->flip[p])
                for (int x = 0; x < side; x++) out[x] = l->lut[in[side - 1 - x]];
            else
                for (int x = 0; x < side; x++) out[x] = l->lut[in[x]];
        }
        if (l->rows) memcpy(s->labels + (size_t)b * l->width, l->rows + (size_t)src * l->width,
                            (size_t)l->width * sizeof *s->labels);
        else s->labels[b] = (float)ds->labels[src];
    }
    return CGAN_OK;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    cgan_loader *l = w->l;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        slot *s = NULL;
        while (!l->stop) {
            for (int i = 0; i < CGAN_LOADER_SLOTS && !s; i++)
                if (l->slots[i].state == SLOT_FREE) s = &l->slots[i];
            if (s) break;
            pthread_cond_wait(&l->free_cv, &l->mu);
        }
        if (l->stop) break;
        int epoch = l->prod_epoch, index = l->prod_index, gen = l->gen;
        uint64_t seq = l->prod_seq++;
        advance(l, &l->prod_epoch, &l->prod_index);
        s->state = SLOT_FILLING;
        pthread_mutex_unlock(&l->mu);
        cgan_status st = fill(w, s, epoch, index);
        pthread_mutex_lock(&l->mu);
        if (gen == l->gen) {
            s->state = SLOT_READY;
            s->epoch = epoch;
            s->index = index;
            s->seq = seq;
            s->st = st;
            pthread_cond_broadcast(&l->ready_cv);
        } else {
            s->state = SLOT_FREE; /* filled for a position given up by a seek */
            pthread_cond_signal(&l->free_cv);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

cgan_status cgan_loader_create(cgan_ctx *ctx, const cgan_dataset *ds, int batch, uint64_t seed,
                               unsigned flags, cgan_loader **out)
{
    return cgan_loader_create_full(ctx, ds, batch, seed, flags, NULL, 1, 0, out);
}

cgan_status cgan_loader_create_rows(cgan_ctx *ctx, const cgan_dataset *ds, int batch, uint64_t seed,
                                    unsigned flags, const float *rows, int width, cgan_loader **out)
{
    return cgan_loader_create_full(ctx, ds, batch, seed, flags, rows, width, 0, out);
}

int cgan_loader_auto_workers(const cgan_dataset *ds)
{
    if (!ds || !cgan_dataset_streamed(ds)) return 1;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return ncpu < 1 ? 1 : ncpu > CGAN_LOADER_MAX_WORKERS ? CGAN_LOADER_MAX_WORKERS : (int)ncpu;
}

static cgan_status start(cgan_ctx *ctx, cgan_loader *l, int workers)
{
    const cgan_dataset *ds = l->ds;
    for (int k = 0; k < workers; k++) {
        worker *w = &l->workers[k];
        w->l = l;
        w->perm_epoch = -1;
        w->perm = malloc((size_t)ds->n * sizeof *w->perm);
        w->flip = malloc((size_t)ds->n);
        if (!w->perm || !w->flip)
            return cgan_error(ctx, CGAN_E_NOMEM, "loader: out of memory for the order of %d images", ds->n);
        if (!ds->pixels) {
            if (!(w->px = malloc(l->isz))) return cgan_error(ctx, CGAN_E_NOMEM, "loader: out of memory");
            if (cgan_decoder_init(&w->dec, NULL) != CGAN_OK)
                return cgan_error(ctx, CGAN_E_NOMEM, "loader: out of memory for a decoder");
        }
    }
    for (int k = 0; k < workers; k++) {
        worker *w = &l->workers[k];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            if (k > 0) break; /* fewer workers give the same batches */
            return cgan_error(ctx, CGAN_E_NOMEM, "loader: cannot start its thread");
        }
        w->started = 1;
        l->nworkers++;
    }
    return CGAN_OK;
}

cgan_status cgan_loader_create_full(cgan_ctx *ctx, const cgan_dataset *ds, int batch, uint64_t seed, unsigned flags,
                                    const float *rows, int width, int workers, cgan_loader **out)
{
    *out = NULL;
    if (!ds || ds->n <= 0 || (!ds->pixels && !ds->path_off) || !ds->labels)
        return cgan_error(ctx, CGAN_E_INVALID, "loader: empty dataset");
    if (batch <= 0 || batch > ds->n)
        return cgan_error(ctx, CGAN_E_INVALID,
                          "loader: batch size %d does not fit the dataset of %d images", batch,
                          ds->n);
    if (flags & ~CGAN_AUG_FLIP)
        return cgan_error(ctx, CGAN_E_INVALID, "loader: unknown flags 0x%x", flags);
    if (width < 1 || width > 4096 || (!rows && width != 1))
        return cgan_error(ctx, CGAN_E_INVALID, "loader: condition rows of %d floats", width);
    if (workers < 0 || workers > CGAN_LOADER_MAX_WORKERS)
        return cgan_error(ctx, CGAN_E_INVALID, "loader: %d workers (0 = automatic, at most %d)", workers,
                          CGAN_LOADER_MAX_WORKERS);
    if (workers == 0) workers = cgan_loader_auto_workers(ds);
    cgan_status st = CGAN_E_NOMEM;
    cgan_loader *l = calloc(1, sizeof *l);
    if (!l) return cgan_error(ctx, st, "loader: out of memory");
    l->ds = ds;
    l->err_ctx = ctx;
    l->batch = batch;
    l->rows = rows;
    l->width = width;
    l->bpe = ds->n / batch;
    l->seed = seed;
    l->flags = flags;
    l->isz = cgan_dataset_image_bytes(ds);
    for (int v = 0; v < 256; v++) l->lut[v] = (float)v / 127.5f - 1.0f;
    if (!ds->pixels && !(l->bad = calloc((size_t)ds->n, 1))) {
        cgan_error(ctx, st, "loader: out of memory");
        goto fail;
    }
    for (int i = 0; i < CGAN_LOADER_SLOTS; i++) {
        l->slots[i].images = malloc((size_t)batch * l->isz * sizeof(float));
        l->slots[i].labels = malloc((size_t)batch * (size_t)width * sizeof(float));
        if (!l->slots[i].images || !l->slots[i].labels) {
            cgan_error(ctx, st, "loader: out of memory for batches of %d", batch);
            goto fail;
        }
    }
    if (!(l->mu_ok = pthread_mutex_init(&l->mu, NULL) == 0) ||
        !(l->bad_mu_ok = pthread_mutex_init(&l->bad_mu, NULL) == 0) ||
        !(l->ready_ok = pthread_cond_init(&l->ready_cv, NULL) == 0) ||
        !(l->free_ok = pthread_cond_init(&l->free_cv, NULL) == 0)) {
        cgan_error(ctx, st, "loader: cannot create its locks");
        goto fail;
    }
    if ((st = start(ctx, l, workers)) != CGAN_OK) goto fail;
    *out = l;
    return CGAN_OK;
fail:
    cgan_loader_destroy(l);
    return st;
}

cgan_status cgan_loader_next(cgan_loader *l, float *images, float *labels, int *epoch)
{
    if (!l || !images || !labels) return CGAN_E_INVALID;
    if (l->failed) return l->failed;
    pthread_mutex_lock(&l->mu);
    slot *s = NULL;
    for (;;) {
        for (int i = 0; i < CGAN_LOADER_SLOTS && !s; i++)
            if (l->slots[i].state == SLOT_READY && l->slots[i].seq == l->cons_seq) s = &l->slots[i];
        if (s) break;
        pthread_cond_wait(&l->ready_cv, &l->mu);
    }
    s->state = SLOT_TAKEN; /* copied outside the lock: the workers go on meanwhile */
    pthread_mutex_unlock(&l->mu);
    cgan_status st = s->st;
    if (st == CGAN_OK) {
        memcpy(images, s->images, (size_t)l->batch * l->isz * sizeof(float));
        memcpy(labels, s->labels, (size_t)l->batch * (size_t)l->width * sizeof(float));
        if (epoch) *epoch = s->epoch;
    } else {
        l->failed = cgan_error(l->err_ctx, st, "%s", s->msg);
    }
    pthread_mutex_lock(&l->mu);
    s->state = SLOT_FREE;
    if (st == CGAN_OK) {
        l->cons_seq++;
        advance(l, &l->cons_epoch, &l->cons_index);
    }
    pthread_cond_signal(&l->free_cv);
    pthread_mutex_unlock(&l->mu);
    return st;
}

void cgan_loader_tell(const cgan_loader *l, int *epoch, int *index)
{
    *epoch = l->cons_epoch;
    *index = l->cons_index;
}

cgan_status cgan_loader_seek(cgan_loader *l, int epoch, int index)
{
    if (!l || epoch < 0 || index < 0) return CGAN_E_INVALID;
    normalize(l, &epoch, &index);
    pthread_mutex_lock(&l->mu);
    l->gen++;
    for (int i = 0; i < CGAN_LOADER_SLOTS; i++)
        if (l->slots[i].state == SLOT_READY) l->slots[i].state = SLOT_FREE;
    l->prod_epoch = l->cons_epoch = epoch;
    l->prod_index = l->cons_index = index;
    l->prod_seq = l->cons_seq;
    pthread_cond_broadcast(&l->free_cv);
    pthread_mutex_unlock(&l->mu);
    return CGAN_OK;
}

int cgan_loader_batches_per_epoch(const cgan_loader *l)
{
    return l->bpe;
}

int cgan_loader_ready(cgan_loader *l)
{
    int n = 0;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < CGAN_LOADER_SLOTS; i++) n += l->slots[i].state == SLOT_READY;
    pthread_mutex_unlock(&l->mu);
    return n;
}

int cgan_loader_workers(const cgan_loader *l)
{
    return l->nworkers;
}

int cgan_loader_skipped(cgan_loader *l, const char **example)
{
    pthread_mutex_lock(&l->bad_mu);
    int n = l->bad_count;
    if (example) *example = l->bad_example;
    pthread_mutex_unlock(&l->bad_mu);
    return n;
}

void cgan_loader_destroy(cgan_loader *l)
{
    if (!l) return;
    if (l->nworkers) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->free_cv);
        pthread_mutex_unlock(&l->mu);
    }
    for (int k = 0; k < CGAN_LOADER_MAX_WORKERS; k++) {
        worker *w = &l->workers[k];
        if (w->started) pthread_join(w->thread, NULL);
        cgan_decoder_free(&w->dec);
        free(w->px);
        free(w->perm);
        free(w->flip);
    }
    if (l->free_ok) pthread_cond_destroy(&l->free_cv);
    if (l->ready_ok) pthread_cond_destroy(&l->ready_cv);
    if (l->bad_mu_ok) pthread_mutex_destroy(&l->bad_mu);
    if (l->mu_ok) pthread_mutex_destroy(&l->mu);
    for (int i = 0; i < CGAN_LOADER_SLOTS; i++) {
        free(l->slots[i].images);
        free(l->slots[i].labels);
    }
    free(l->bad);
    free(l->bad_example);
    free(l);
}
