/* Counters of the server in Prometheus text format (version 0.0.4). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "serve.h"

static const double lat_bounds[SERVE_LAT_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1,     2.5,  5,     10,  30 };
static const int batch_bounds[SERVE_BATCH_BUCKETS] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192 };

int metrics_init(serve_metrics *m)
{
    memset(m, 0, sizeof *m);
    return pthread_mutex_init(&m->mu, NULL) ? -1 : 0;
}

void metrics_free(serve_metrics *m) { pthread_mutex_destroy(&m->mu); }

void metrics_request(serve_metrics *m, int code, double seconds)
{
    pthread_mutex_lock(&m->mu);
    if (code >= 100 && code < 600) m->by_code[code]++;
    int i = 0;
    while (i < SERVE_LAT_BUCKETS && seconds > lat_bounds[i]) i++;
    m->lat_count[i]++;
    m->lat_sum += seconds;
    m->lat_n++;
    pthread_mutex_unlock(&m->mu);
}

static int bucket_of(int v)
{
    int i = 0;
    while (i < SERVE_BATCH_BUCKETS && v > batch_bounds[i]) i++;
    return i;
}

void metrics_pass(serve_metrics *m, int images, int requests)
{
    pthread_mutex_lock(&m->mu);
    m->batch_images[bucket_of(images)]++;
    m->batch_reqs[bucket_of(requests)]++;
    m->batches++;
    m->batch_images_sum += (uint64_t)images;
    m->batch_reqs_sum += (uint64_t)requests;
    if (requests > 1) m->merged_batches++;
    m->images += (uint64_t)images;
    pthread_mutex_unlock(&m->mu);
}

typedef struct text { char *p; size_t len, cap; int failed; } text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    if (t->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { t->failed = 1; return; }
        if (t->p && t->len + (size_t)n < t->cap) { t->len += (size_t)n; return; }
        size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
        char *p = realloc(t->p, cap);
        if (!p) { t->failed = 1; return; }
        t->p = p;
        t->cap = cap;
    }
}

static void int_histogram(text *t, const char *name, const char *help, const uint64_t *counts, uint64_t sum,
                          uint64_t n)
{
    put(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t acc = 0;
    for (int i = 0; i < SERVE_BATCH_BUCKETS; i++) {
        acc += counts[i];
        put(t, "%s_bucket{le=\"%d\"} %llu\n", name, batch_bounds[i], (unsigned long long)acc);
    }
    acc += counts[SERVE_BATCH_BUCKETS];
    put(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %llu\n%s_count %llu\n", name, (unsigned long long)acc, name,
        (unsigned long long)sum, name, (unsigned long long)n);
}

char *metrics_text(serve_metrics *m, int queue_depth, int inflight)
{
    text t = { 0 };
    pthread_mutex_lock(&m->mu);
    put(&t, "# HELP cgan_serve_requests_total HTTP requests answered, by status code.\n"
            "# TYPE cgan_serve_requests_total counter\n");
    for (int c = 100; c < 600; c++)
        if (m->by_code[c]) put(&t, "cgan_serve_requests_total{code=\"%d\"} %llu\n", c, (unsigned long long)m->by_code[c]);
    put(&t, "# HELP cgan_serve_request_seconds Time from a request's arrival to its response.\n"
            "# TYPE cgan_serve_request_seconds histogram\n");
    uint64_t acc = 0;
    for (int i = 0; i < SERVE_LAT_BUCKETS; i++) {
        acc += m->lat_count[i];
        put(&t, "cgan_serve_request_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds[i], (unsigned long long)acc);
    }
    acc += m->lat_count[SERVE_LAT_BUCKETS];
    put(&t, "cgan_serve_request_seconds_bucket{le=\"+Inf\"} %llu\ncgan_serve_request_seconds_sum %.6f\n"
            "cgan_serve_request_seconds_count %llu\n",
        (unsigned long long)acc, m->lat_sum, (unsigned long long)m->lat_n);
    int_histogram(&t, "cgan_serve_batch_images", "Images in one generator pass.", m->batch_images,
                  m->batch_images_sum, m->batches);
    int_histogram(&t, "cgan_serve_batch_requests", "Requests merged into one generator pass.", m->batch_reqs,
                  m->batch_reqs_sum, m->batches);
    put(&t, "# HELP cgan_serve_merged_batches_total Generator passes that served more than one request.\n"
            "# TYPE cgan_serve_merged_batches_total counter\ncgan_serve_merged_batches_total %llu\n",
        (unsigned long long)m->merged_batches);
    put(&t, "# HELP cgan_serve_images_total Images generated.\n# TYPE cgan_serve_images_total counter\n"
            "cgan_serve_images_total %llu\n", (unsigned long long)m->images);
    pthread_mutex_unlock(&m->mu);
    put(&t, "# HELP cgan_serve_queue_depth Requests waiting for a generator pass.\n"
            "# TYPE cgan_serve_queue_depth gauge\ncgan_serve_queue_depth %d\n", queue_depth);
    put(&t, "# HELP cgan_serve_inflight Requests being answered.\n# TYPE cgan_serve_inflight gauge\n"
            "cgan_serve_inflight %d\n", inflight);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    return t.p;
}
