/* Timing of whatever is enqueued between two points: the host clock around a drained
 * queue, and the device's view from profiling markers (the context's queue is created with
 * CL_QUEUE_PROFILING_ENABLE; in an in-order queue a marker ends when all before it ended). */
#include <stdlib.h>
#include "bench.h"

static cgan_status marker(cgan_ctx *ctx, cl_event *ev)
{
    CGAN_CL_CHECK(ctx, clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, ev),
                  "clEnqueueMarkerWithWaitList", "benchmark timing marker");
    return CGAN_OK;
}

static cgan_status end_ns(cgan_ctx *ctx, cl_event ev, cl_ulong *ns)
{
    CGAN_CL_CHECK(ctx, clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof *ns, ns, NULL),
                  "clGetEventProfilingInfo", "CL_PROFILING_COMMAND_END of a timing marker");
    return CGAN_OK;
}

cgan_status bench_clock_start(cgan_ctx *ctx, bench_clock *c)
{
    c->start = NULL;
    CGAN_TRY(cgan_finish(ctx));
    CGAN_TRY(marker(ctx, &c->start));
    c->t0 = bench_now_ms();
    return CGAN_OK;
}

cgan_status bench_clock_stop(cgan_ctx *ctx, bench_clock *c, double *host_ms, double *event_ms)
{
    cl_event stop = NULL;
    cl_ulong a = 0, b = 0;
    cgan_status st = marker(ctx, &stop);
    if (st == CGAN_OK) st = cgan_finish(ctx);
    double t1 = bench_now_ms();
    if (st == CGAN_OK) st = end_ns(ctx, c->start, &a);
    if (st == CGAN_OK) st = end_ns(ctx, stop, &b);
    if (st == CGAN_OK) {
        *host_ms = t1 - c->t0;
        *event_ms = b > a ? (double)(b - a) * 1e-6 : 0.0;
    }
    if (stop) clReleaseEvent(stop);
    if (c->start) clReleaseEvent(c->start);
    c->start = NULL;
    return st;
}

cgan_status bench_time(cgan_ctx *ctx, bench_fn fn, void *user, int warmup, int repeat,
                       double *host_ms, double *event_ms)
{
    double *h = malloc((size_t)repeat * sizeof *h), *e = malloc((size_t)repeat * sizeof *e);
    cgan_status st = h && e ? CGAN_OK : cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    for (int i = 0; i < warmup && st == CGAN_OK; i++) {
        st = fn(ctx, user);
        if (st == CGAN_OK) st = cgan_finish(ctx);
    }
    for (int i = 0; i < repeat && st == CGAN_OK; i++) {
        bench_clock c;
        st = bench_clock_start(ctx, &c);
        if (st == CGAN_OK) st = fn(ctx, user);
        if (st == CGAN_OK) st = bench_clock_stop(ctx, &c, &h[i], &e[i]);
        else if (c.start) clReleaseEvent(c.start);
    }
    if (st == CGAN_OK) {
        *host_ms = bench_median(h, repeat);
        *event_ms = bench_median(e, repeat);
    }
    free(h);
    free(e);
    return st;
}
