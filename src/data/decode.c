/* Reading image files: a decoder per thread (its own TurboJPEG handle, message buffer and
 * file buffer), the header check of a folder scan, the decode + resize of one file, and a
 * small pool that runs such work on a few threads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>
#include "runtime/runtime.h"
#include "image.h"
#include "internal.h"

#define MAX_FILE_BYTES ((long long)256 << 20)
#define PROBE_BYTES ((size_t)64 << 10)      /* read for a header check (more if a JPEG needs it) */
#define KEEP_BUFFER_BYTES ((size_t)16 << 20) /* a larger file buffer is given back after use */
#define MAX_THREADS 16

cgan_status cgan_decoder_init(cgan_decoder *d, cgan_ctx *ctx)
{
    memset(d, 0, sizeof *d);
    d->ctx = ctx;
    if (!ctx) {
        d->ctx = cgan_ctx_new();
        d->own_ctx = d->ctx != NULL;
    }
    d->tj = tjInitDecompress();
    if (!d->ctx || !d->tj) return cgan_error(d->ctx, CGAN_E_NOMEM, "image decoder: out of memory");
    return CGAN_OK;
}

void cgan_decoder_free(cgan_decoder *d)
{
    if (!d) return;
    if (d->tj) tjDestroy(d->tj);
    if (d->own_ctx) cgan_ctx_destroy(d->ctx);
    free(d->buf);
    memset(d, 0, sizeof *d);
}

/* The first `limit` bytes of the file (limit 0: all of it) into d->buf; *total is its size. */
static cgan_status read_file(cgan_decoder *d, const char *path, size_t limit, size_t *len, size_t *total)
{
    *len = *total = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cgan_error(d->ctx, CGAN_E_IO, "cannot open: %s", strerror(errno));
    cgan_status st = CGAN_E_IO;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        cgan_error(d->ctx, st, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (sb.st_size == 0) {
        st = cgan_error(d->ctx, CGAN_E_FORMAT, "empty file");
        goto done;
    }
    if ((long long)sb.st_size > MAX_FILE_BYTES) {
        st = cgan_error(d->ctx, CGAN_E_FORMAT, "file of %lld bytes is too large", (long long)sb.st_size);
        goto done;
    }
    *total = (size_t)sb.st_size;
    size_t want = limit && limit < *total ? limit : *total;
    if (want > d->cap) {
        uint8_t *b = realloc(d->buf, want);
        if (!b) {
            st = cgan_error(d->ctx, CGAN_E_NOMEM, "out of memory");
            goto done;
        }
        d->buf = b;
        d->cap = want;
    }
    while (*len < want) {
        ssize_t got = read(fd, d->buf + *len, want - *len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break; /* the file shrank, or an error: use what came */
        *len += (size_t)got;
    }
    if (*len == 0) {
        cgan_error(d->ctx, st, "read error");
        goto done;
    }
    st = CGAN_OK;
done:
    close(fd);
    return st;
}

/* After a failure: a fresh TurboJPEG handle (libjpeg-turbo 2.1 can leave one that failed
 * inside a header in a state where the next header reads as 0 x 0), the file's name in
 * the message. */
static void reset_tj(cgan_decoder *d)
{
    if (d->tj) {
        tjDestroy(d->tj);
        d->tj = tjInitDecompress(); /* NULL: the image functions make one per call */
    }
}

static void after_failure(cgan_decoder *d, cgan_status st, const char *path)
{
    reset_tj(d);
    cgan_error_wrap(d->ctx, st, "%s", path);
}

/* Give back a buffer that one large file made large. */
static void trim_buffer(cgan_decoder *d)
{
    if (d->cap > KEEP_BUFFER_BYTES) {
        free(d->buf);
        d->buf = NULL;
        d->cap = 0;
    }
}

cgan_status cgan_decoder_probe(cgan_decoder *d, const char *path, int size, int *channels)
{
    size_t len, total;
    cgan_status st = read_file(d, path, PROBE_BYTES, &len, &total);
    if (st == CGAN_OK) st = cgan_image_probe(d->ctx, d->tj, d->buf, len, size, channels);
    if (st == CGAN_E_FORMAT && len < total && len >= 3 && d->buf[0] == 0xFF && d->buf[1] == 0xD8) {
        /* a JPEG whose tables lie beyond the first bytes (large EXIF or ICC segments) */
        reset_tj(d);
        st = read_file(d, path, 0, &len, &total);
        if (st == CGAN_OK) st = cgan_image_probe(d->ctx, d->tj, d->buf, len, size, channels);
    }
    trim_buffer(d);
    if (st != CGAN_OK) after_failure(d, st, path);
    return st;
}

cgan_status cgan_decoder_load(cgan_decoder *d, const char *path, int size, int channels, uint8_t *out,
                              int *src_channels)
{
    cgan_image im = { 0 };
    size_t len, total;
    cgan_status st = read_file(d, path, 0, &len, &total);
    if (st == CGAN_OK) st = cgan_image_decode_tj(d->ctx, d->tj, d->buf, len, size, &im);
    if (st == CGAN_OK) st = cgan_image_fit(d->ctx, &im, size, channels, out);
    if (st == CGAN_OK && src_channels) *src_channels = im.c;
    cgan_image_free(&im);
    trim_buffer(d);
    if (st != CGAN_OK) after_failure(d, st, path);
    return st;
}

typedef struct pool {
    void (*fn)(cgan_decoder *d, void *user, int i);
    void *user;
    int count, next;
    pthread_mutex_t mu;
} pool;

static void *pool_worker(void *arg)
{
    pool *p = arg;
    cgan_decoder d;
    cgan_decoder_init(&d, NULL); /* without memory, each item fails with a message of its own */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->count) break;
        p->fn(&d, p->user, i);
    }
    cgan_decoder_free(&d);
    return NULL;
}

cgan_status cgan_decoder_parallel(cgan_ctx *ctx, int count, void (*fn)(cgan_decoder *d, void *user, int i),
                                  void *user)
{
    pool p = { .fn = fn, .user = user, .count = count };
    if (pthread_mutex_init(&p.mu, NULL) != 0) return cgan_error(ctx, CGAN_E_NOMEM, "cannot create a mutex");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = ncpu < 1 ? 1 : ncpu > MAX_THREADS ? MAX_THREADS : (int)ncpu;
    if (nt > count / 8) nt = count / 8 > 0 ? count / 8 : 1;
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < nt; t++) {
        if (pthread_create(&th[started], NULL, pool_worker, &p) != 0) break; /* fewer threads is fine */
        started++;
    }
    pool_worker(&p);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&p.mu);
    return CGAN_OK;
}
