/* Timing of whatever is enqueued between two points: the host clock around a drained
 * queue, and the device's view from profiling markers (the context's queue is created with
 * CL_QUEUE_PROFILING_ENABLE; in an in-order queue a marker ends when all before it ended). */
#include <stdlib.h>
#include "bench.h"

static cgan_status cl_fail(cgan_ctx *ctx, cl_int e, const char *call, const char *what)
{
    return bench_fail(ctx, CGAN_E_OPENCL, "%s failed: %s (%d) [%s]", call, cgan_cl_error_name(e),
                      (int)e, what);
}

static cgan_status marker(cgan_ctx *ctx, cl_event *ev)
{
    cl_int e = clEnqueueMarkerWithWaitList(cgan_ctx_cl_queue(ctx), 0, NULL, ev);
    return e == CL_SUCCESS ? CGAN_OK
                           : cl_fail(ctx, e, "clEnqueueMarkerWithWaitList", "benchmark timing marker");
}

static cgan_status end_ns(cgan_ctx *ctx, cl_event ev, cl_ulong *ns)
{
    cl_int e = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof *ns, ns, NULL);
    return e == CL_SUCCESS ? CGAN_OK
                           : cl_fail(ctx, e, "clGetEventProfilingInfo",
                                     "CL_PROFILING_COMMAND_END of a timing marker");
}

cgan_status bench_finish(cgan_ctx *ctx)
{
    cl_int e = clFinish(cgan_ctx_cl_queue(ctx));
    return e == CL_SUCCESS ? CGAN_OK : cl_fail(ctx, e, "clFinish", "draining the queue");
}

cgan_status bench_clock_start(cgan_ctx *ctx, bench_clock *c)
{
    c->start = NULL;
    BENCH_TRY(bench_finish(ctx));
    BENCH_TRY(marker(ctx, &c->start));
    c->t0 = bench_now_ms();
    return CGAN_OK;
}

cgan_status bench_clock_stop(cgan_ctx *ctx, bench_clock *c, double *host_ms, double *event_ms)
{
    cl_event stop = NULL;
    cl_ulong a = 0, b = 0;
    cgan_status st = marker(ctx, &stop);
    if (st == CGAN_OK) st = bench_finish(ctx);
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
    cgan_status st = h && e ? CGAN_OK : bench_fail(ctx, CGAN_E_NOMEM, "out of memory");
    for (int i = 0; i < warmup && st == CGAN_OK; i++) {
        st = fn(ctx, user);
        if (st == CGAN_OK) st = bench_finish(ctx);
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
