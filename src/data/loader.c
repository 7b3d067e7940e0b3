/* Batch loader: one producer thread, two batch slots. The producer takes a free slot,
 * fills it outside the lock, and marks it ready with its sequence number; the caller takes
 * the ready slot with the sequence it expects. A seek bumps a generation counter so that
 * a batch being filled for the old position is dropped when it completes. The caller's
 * calls (next, tell, seek) are meant for one thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/runtime.h"
#include "core/rng.h"
#include "loader.h"

#define NSLOTS 2

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };

typedef struct slot {
    float *images, *labels;
    int state, epoch, index;
    uint64_t seq;
} slot;

struct cgan_loader {
    const cgan_dataset *ds;
    int batch, bpe;
    const float *rows;          /* condition rows instead of class labels, or NULL */
    int width;                  /* floats of labels per image */
    uint64_t seed;
    unsigned flags;
    size_t isz;                 /* floats per image */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t ready_cv, free_cv;
    int thread_ok, mu_ok, ready_ok, free_ok;
    slot slots[NSLOTS];
    int stop, gen;
    int prod_epoch, prod_index; /* next batch the producer fills */
    uint64_t prod_seq;
    int cons_epoch, cons_index; /* next batch the caller gets */
    uint64_t cons_seq;
    /* owned by the producer */
    int *perm;
    uint8_t *flip;
    int perm_epoch;
    float lut[256];
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
static void make_epoch(cgan_loader *l, int e)
{
    int n = l->ds->n;
    cgan_rng r;
    cgan_rng_init(&r, l->seed ^ CGAN_LOADER_SALT, (uint32_t)e);
    for (int i = 0; i < n; i++) l->perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cgan_rng_below(&r, (uint32_t)i + 1);
        int t = l->perm[i];
        l->perm[i] = l->perm[j];
        l->perm[j] = t;
    }
    for (int i = 0; i < n; i++)
        l->flip[i] = (l->flags & CGAN_AUG_FLIP) ? (uint8_t)(cgan_rng_u32(&r) >> 31) : 0;
    l->perm_epoch = e;
}

static void fill(cgan_loader *l, slot *s, int epoch, int index)
{
    const cgan_dataset *ds = l->ds;
    if (l->perm_epoch != epoch) make_epoch(l, epoch);
    int side = ds->size, rows = ds->channels * side;
    for (int b = 0; b < l->batch; b++) {
        int src = l->perm[index + b];
        const uint8_t *px = cgan_dataset_image(ds, src);
        float *dst = s->images + (size_t)b * l->isz;
        for (int y = 0; y < rows; y++) { /* channel planes stacked: rows of every plane */
            const uint8_t *in = px + (size_t)y * (size_t)side;
            float *out = dst + (size_t)y * (size_t)side;
            if (l->flip[index + b])
                for (int x = 0; x < side; x++) out[x] = l->lut[in[side - 1 - x]];
            else
                for (int x = 0; x < side; x++) out[x] = l->lut[in[x]];
        }
        if (l->rows) memcpy(s->labels + (size_t)b * l->width, l->rows + (size_t)src * l->width,
                            (size_t)l->width * sizeof *s->labels);
        else s->labels[b] = (float)ds->labels[src];
    }
}

static void *producer(void *arg)
{
    cgan_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        slot *s = NULL;
        while (!l->stop) {
            for (int i = 0; i < NSLOTS && !s; i++)
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
        fill(l, s, epoch, index);
        pthread_mutex_lock(&l->mu);
        if (gen == l->gen) {
            s->state = SLOT_READY;
            s->epoch = epoch;
            s->index = index;
            s->seq = seq;
            pthread_cond_broadcast(&l->ready_cv);
        } else {
            s->state = SLOT_FREE; /* filled for a position given up by a seek */
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

cgan_status cgan_loader_create(cgan_ctx *ctx, const cgan_dataset *ds, int batch, uint64_t seed,
                               unsigned flags, cgan_loader **out)
{
    return cgan_loader_create_rows(ctx, ds, batch, seed, flags, NULL, 1, out);
}

cgan_status cgan_loader_create_rows(cgan_ctx *ctx, const cgan_dataset *ds, int batch, uint64_t seed,
                                    unsigned flags, const float *rows, int width, cgan_loader **out)
{
    *out = NULL;
    if (!ds || ds->n <= 0 || !ds->pixels || !ds->labels)
        return cgan_error(ctx, CGAN_E_INVALID, "loader: empty dataset");
    if (batch <= 0 || batch > ds->n)
        return cgan_error(ctx, CGAN_E_INVALID,
                          "loader: batch size %d does not fit the dataset of %d images", batch,
                          ds->n);
    if (flags & ~CGAN_AUG_FLIP)
        return cgan_error(ctx, CGAN_E_INVALID, "loader: unknown flags 0x%x", flags);
    if (width < 1 || width > 4096 || (!rows && width != 1))
        return cgan_error(ctx, CGAN_E_INVALID, "loader: condition rows of %d floats", width);
    cgan_status st = CGAN_E_NOMEM;
    cgan_loader *l = calloc(1, sizeof *l);
    if (!l) return cgan_error(ctx, st, "loader: out of memory");
    l->ds = ds;
    l->batch = batch;
    l->rows = rows;
    l->width = width;
    l->bpe = ds->n / batch;
    l->seed = seed;
    l->flags = flags;
    l->isz = (size_t)ds->channels * (size_t)ds->size * (size_t)ds->size;
    l->perm_epoch = -1;
    for (int v = 0; v < 256; v++) l->lut[v] = (float)v / 127.5f - 1.0f;
    l->perm = malloc((size_t)ds->n * sizeof *l->perm);
    l->flip = malloc((size_t)ds->n);
    if (!l->perm || !l->flip) goto fail;
    for (int i = 0; i < NSLOTS; i++) {
        l->slots[i].images = malloc((size_t)batch * l->isz * sizeof(float));
        l->slots[i].labels = malloc((size_t)batch * (size_t)width * sizeof(float));
        if (!l->slots[i].images || !l->slots[i].labels) goto fail;
    }
    if (!(l->mu_ok = pthread_mutex_init(&l->mu, NULL) == 0) ||
        !(l->ready_ok = pthread_cond_init(&l->ready_cv, NULL) == 0) ||
        !(l->free_ok = pthread_cond_init(&l->free_cv, NULL) == 0) ||
        !(l->thread_ok = pthread_create(&l->thread, NULL, producer, l) == 0)) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "loader: cannot start its thread");
        goto fail_quiet;
    }
    *out = l;
    return CGAN_OK;
fail:
    cgan_error(ctx, st, "loader: out of memory for batches of %d", batch);
fail_quiet:
    cgan_loader_destroy(l);
    return st;
}

cgan_status cgan_loader_next(cgan_loader *l, float *images, float *labels, int *epoch)
{
    if (!l || !images || !labels) return CGAN_E_INVALID;
    pthread_mutex_lock(&l->mu);
    slot *s = NULL;
    for (;;) {
        for (int i = 0; i < NSLOTS && !s; i++)
            if (l->slots[i].state == SLOT_READY && l->slots[i].seq == l->cons_seq) s = &l->slots[i];
        if (s) break;
        pthread_cond_wait(&l->ready_cv, &l->mu);
    }
    memcpy(images, s->images, (size_t)l->batch * l->isz * sizeof(float));
    memcpy(labels, s->labels, (size_t)l->batch * (size_t)l->width * sizeof(float));
    if (epoch) *epoch = s->epoch;
    s->state = SLOT_FREE;
    l->cons_seq++;
    advance(l, &l->cons_epoch, &l->cons_index);
    pthread_cond_signal(&l->free_cv);
    pthread_mutex_unlock(&l->mu);
    return CGAN_OK;
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
    for (int i = 0; i < NSLOTS; i++)
        if (l->slots[i].state == SLOT_READY) l->slots[i].state = SLOT_FREE;
    l->prod_epoch = l->cons_epoch = epoch;
    l->prod_index = l->cons_index = index;
    l->prod_seq = l->cons_seq;
    pthread_cond_signal(&l->free_cv);
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
    for (int i = 0; i < NSLOTS; i++) n += l->slots[i].state == SLOT_READY;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void cgan_loader_destroy(cgan_loader *l)
{
    if (!l) return;
    if (l->thread_ok) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->free_cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    if (l->free_ok) pthread_cond_destroy(&l->free_cv);
    if (l->ready_ok) pthread_cond_destroy(&l->ready_cv);
    if (l->mu_ok) pthread_mutex_destroy(&l->mu);
    for (int i = 0; i < NSLOTS; i++) {
        free(l->slots[i].images);
        free(l->slots[i].labels);
    }
    free(l->perm);
    free(l->flip);
    free(l);
}
