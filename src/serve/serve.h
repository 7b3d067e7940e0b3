/* cgan-cl serve: an HTTP front (libmicrohttpd), a request queue and a batcher that merges
 * queued requests into generator passes (the sampler `cgan-cl generate` uses).
 *
 * Compiled into the cgan-cl program, not into libcgan, and written against the public
 * headers only: the library does not depend on libmicrohttpd, and the server is one more
 * user of the public generate API (include/cgan/generate.h, "Serving").
 *
 *   http.c     daemon, routing, token, body limit, responses, shutdown
 *   api.c      /api/generate and /api/info: JSON in and out, validation
 *   batcher.c  the queue and the thread that owns the OpenCL context
 *   metrics.c  Prometheus text
 *
 * Threads: libmicrohttpd runs one thread per connection; handlers parse, resolve the
 * class (under a lock, on a device-less cgan_gen), queue the request and wait for it. The
 * batcher thread alone uses the OpenCL context. Nothing here prints; errors come back as
 * text in the caller's buffer. */
#ifndef CGAN_SERVE_H
#define CGAN_SERVE_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "cgan/cgan.h"

#define SERVE_MAX_BODY 4096        /* bytes of a request body; more is 413 */
#define SERVE_DEFAULT_PORT 8080
#define SERVE_DEFAULT_MAX_BATCH 64
#define SERVE_DEFAULT_MAX_N 64
#define SERVE_DEFAULT_QUEUE 256
#define SERVE_DEFAULT_TIMEOUT 30.0
#define SERVE_MAX_SAMPLERS 16      /* sampler sizes per weights: 1, 2, 4, ... max_batch */

typedef struct serve_cfg {
    const char *checkpoint;
    const char *host;          /* numeric address; "127.0.0.1" by default */
    int port;                  /* 0: any free port (serve_port tells which) */
    int max_batch, max_n, queue;
    double timeout;            /* seconds a request may wait for its images */
    const char *token;         /* NULL: no token (loopback only; the CLI checks) */
    const char *device;
    /* opens the batcher's context on `device` (cgan-cl passes its cli_open_ctx, which
     * applies --device-class); NULL: cgan_ctx_open */
    cgan_status (*open_device)(cgan_ctx *ctx, const char *device);
    int test_delay_ms;         /* testing: the batcher sleeps this long before each pass */
} serve_cfg;

/* ---- metrics (metrics.c) */
#define SERVE_LAT_BUCKETS 14
#define SERVE_BATCH_BUCKETS 14
typedef struct serve_metrics {
    pthread_mutex_t mu;
    uint64_t by_code[600];
    uint64_t lat_count[SERVE_LAT_BUCKETS + 1]; /* per bucket, the last is +Inf */
    double lat_sum;
    uint64_t lat_n;
    uint64_t batch_images[SERVE_BATCH_BUCKETS + 1], batch_reqs[SERVE_BATCH_BUCKETS + 1];
    uint64_t batches, batch_images_sum, batch_reqs_sum, merged_batches;
    uint64_t images;
} serve_metrics;

int metrics_init(serve_metrics *m);
void metrics_free(serve_metrics *m);
void metrics_request(serve_metrics *m, int code, double seconds);
void metrics_pass(serve_metrics *m, int images, int requests);
/* Prometheus text exposition (malloc'ed), with the queue depth and in-flight gauges. */
char *metrics_text(serve_metrics *m, int queue_depth, int inflight);

/* ---- queue and batcher (batcher.c) */
typedef enum { REQ_QUEUED, REQ_RUNNING, REQ_DONE, REQ_FAILED } serve_req_state;

typedef struct serve_req {
    int cls, n, use_ema;       /* in: class (-1: unconditional), images, weights */
    uint64_t seed;
    float *images;             /* out: n images (NCHW), malloc'ed by the batcher */
    char err[512];             /* out: why REQ_FAILED */
    serve_req_state state;
    int abandoned;             /* the waiter gave up (504): the batcher frees it */
    struct serve_req *next;
} serve_req;

typedef struct serve_batcher serve_batcher;

/* Open the device, load the model and warm one sampler; the thread starts. */
int batcher_start(const serve_cfg *cfg, serve_metrics *m, serve_batcher **out, char *err, size_t errsz);
/* Queue a request (0), or -1 when the queue is full or the batcher is stopping. */
int batcher_submit(serve_batcher *b, serve_req *r);
/* Wait until r is done or failed (0), or until `seconds` have passed (-1): then r is
 * taken out of the queue and freed, or left for the batcher to free when it runs. */
int batcher_wait(serve_batcher *b, serve_req *r, double seconds);
void serve_req_free(serve_req *r);
int batcher_depth(serve_batcher *b);
/* The device's name and the model (for /api/info). */
const char *batcher_device(const serve_batcher *b);
/* Finish every queued request, then stop the thread and free everything. */
void batcher_stop(serve_batcher *b);

/* ---- the server (http.c) */
typedef struct serve serve;
int serve_start(const serve_cfg *cfg, serve **out, char *err, size_t errsz);
int serve_port(const serve *s);
/* Stop accepting, let requests in flight finish (up to the timeout and a grace), stop. */
void serve_stop(serve *s);

/* ---- handlers (api.c): the status code and a response body */
typedef struct serve_reply {
    int code;
    const char *type;          /* content type */
    unsigned char *body;       /* malloc'ed */
    size_t len;
    int retry_after;           /* seconds, for 503; 0: none */
    const char *allow;         /* for 405: the methods the path takes */
} serve_reply;

typedef struct serve_api {
    const serve_cfg *cfg;
    pthread_mutex_t mu;        /* guards meta and its ctx */
    cgan_ctx *meta_ctx;        /* no device: class and prompt lookup in handler threads */
    cgan_gen *meta;
    serve_batcher *b;
    serve_metrics *m;
} serve_api;

int api_init(serve_api *a, const serve_cfg *cfg, serve_batcher *b, serve_metrics *m, char *err, size_t errsz);
void api_free(serve_api *a);
void api_generate(serve_api *a, const char *body, size_t len, serve_reply *r);
void api_info(serve_api *a, serve_reply *r);
/* A JSON error {"error": msg, "field": field} (field may be NULL). */
void api_error(serve_reply *r, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif
