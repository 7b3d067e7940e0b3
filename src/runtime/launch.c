/* The typed launch helper: set arguments by kind, pick a work-group size, enqueue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "program.h"
#include "cgan/tools.h"

cgan_range cgan_range_1d(size_t n)
{
    cgan_range r = { 1, { n ? n : 1, 1, 1 }, { 0, 0, 0 } };
    return r;
}

cgan_range cgan_range_2d(size_t gx, size_t gy, size_t lx, size_t ly)
{
    cgan_range r = { 2, { cgan_align_up(gx ? gx : 1, lx), cgan_align_up(gy ? gy : 1, ly), 1 },
                     { lx, ly, 1 } };
    return r;
}

/* Work-group size for a 1-D launch: the largest multiple of the kernel's preferred
 * multiple that fits the kernel's limit, capped at 256. */
static size_t pick_wg(const cgan_kernel *k)
{
    size_t cap = k->max_wg < 256 ? k->max_wg : 256;
    size_t m = k->wg_multiple;
    if (m > cap) return cap ? cap : 1;
    return cap / m * m;
}

static cgan_status record_profile(cgan_ctx *ctx, const char *name, cl_event ev)
{
    cl_ulong t0 = 0, t1 = 0;
    ctx->sync.host_waits++;
    CGAN_CL_CHECK(ctx, clWaitForEvents(1, &ev), "clWaitForEvents", "kernel %s", name);
    CGAN_CL_CHECK(ctx, clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL),
                  "clGetEventProfilingInfo", "kernel %s", name);
    CGAN_CL_CHECK(ctx, clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL),
                  "clGetEventProfilingInfo", "kernel %s", name);
    for (int i = 0; i < ctx->prof_count; i++)
        if (strcmp(ctx->prof[i].name, name) == 0) {
            ctx->prof[i].count++;
            ctx->prof[i].total_ms += (double)(t1 - t0) / 1e6;
            return CGAN_OK;
        }
    if (ctx->prof_count == ctx->prof_cap) {
        int cap = ctx->prof_cap ? ctx->prof_cap * 2 : 32;
        cgan_prof_entry *np = realloc(ctx->prof, (size_t)cap * sizeof *np);
        if (!np) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        ctx->prof = np;
        ctx->prof_cap = cap;
    }
    cgan_prof_entry *e = &ctx->prof[ctx->prof_count++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->count = 1;
    e->total_ms = (double)(t1 - t0) / 1e6;
    return CGAN_OK;
}

cgan_status cgan_launch_args(cgan_ctx *ctx, cgan_kernel *k, const cgan_range *r,
                             const cgan_karg *args)
{
    cl_uint n = 0;
    while (args[n].kind != CGAN_KARG_END) n++;
    if (n != k->nargs)
        return cgan_error(ctx, CGAN_E_INVALID, "kernel %s takes %u arguments, %u given", k->name,
                          k->nargs, n);
    for (cl_uint i = 0; i < n; i++) {
        const cgan_karg *a = &args[i];
        cl_int e;
        switch (a->kind) {
        case CGAN_KARG_MEM: e = clSetKernelArg(k->k, i, sizeof(cl_mem), &a->v.mem); break;
        case CGAN_KARG_INT: e = clSetKernelArg(k->k, i, sizeof(cl_int), &a->v.i); break;
        case CGAN_KARG_UINT: e = clSetKernelArg(k->k, i, sizeof(cl_uint), &a->v.u); break;
        case CGAN_KARG_FLOAT: e = clSetKernelArg(k->k, i, sizeof(cl_float), &a->v.f); break;
        case CGAN_KARG_LONG: e = clSetKernelArg(k->k, i, sizeof(cl_long), &a->v.l); break;
        case CGAN_KARG_ULONG: e = clSetKernelArg(k->k, i, sizeof(cl_ulong), &a->v.ul); break;
        case CGAN_KARG_LOCAL: e = clSetKernelArg(k->k, i, a->v.local_bytes, NULL); break;
        default: return cgan_error(ctx, CGAN_E_INVALID, "kernel %s: bad argument kind at %u", k->name, i);
        }
        if (e != CL_SUCCESS)
            return cgan_cl_fail(ctx, e, "clSetKernelArg", "kernel %s, argument %u", k->name, i);
    }
    size_t global[3], local[3];
    const size_t *lp = NULL;
    memcpy(global, r->global, sizeof global);
    if (r->local[0]) {
        memcpy(local, r->local, sizeof local);
        lp = local;
        size_t items = 1;
        for (cl_uint d = 0; d < r->dims; d++) {
            items *= local[d];
            if (!local[d] || local[d] > ctx->profile.wg_item_max[d] || global[d] % local[d])
                return cgan_error(ctx, CGAN_E_INVALID, "kernel %s: local size %zu in dimension %u "
                                  "(global %zu) is 0, over the limit of %zu or does not divide "
                                  "the global size", k->name, local[d], d, global[d],
                                  ctx->profile.wg_item_max[d]);
        }
        if (items > k->max_wg)
            return cgan_error(ctx, CGAN_E_INVALID, "kernel %s: a work-group of %zu items exceeds "
                              "the limit of %zu (kernel %zu, profile %zu)", k->name, items,
                              k->max_wg, k->device_max_wg, ctx->profile.wg_limit);
    } else if (r->dims == 1) {
        local[0] = pick_wg(k);
        global[0] = cgan_align_up(global[0], local[0]);
        lp = local;
    }
    if (++ctx->sync.launches == ctx->profile.fault_launch) /* the test hook (profile.h) */
        return cgan_cl_fail(ctx, CL_OUT_OF_RESOURCES, "clEnqueueNDRangeKernel",
                            "kernel %s, launch %llu of the context: injected by CGAN_FAULT_LAUNCH", k->name,
                            (unsigned long long)ctx->sync.launches);
    cl_event ev = NULL;
    cl_int e = clEnqueueNDRangeKernel(ctx->queue, k->k, r->dims, NULL, global, lp, 0, NULL,
                                      ctx->profiling ? &ev : NULL);
    if (e != CL_SUCCESS)
        return cgan_cl_fail(ctx, e, "clEnqueueNDRangeKernel", "kernel %s, global %zux%zux%zu",
                            k->name, global[0], r->dims > 1 ? global[1] : 1,
                            r->dims > 2 ? global[2] : 1);
    if (ev) {
        cgan_status st = record_profile(ctx, k->name, ev);
        clReleaseEvent(ev);
        return st;
    }
    return CGAN_OK;
}

cgan_status cgan_profile_enable(cgan_ctx *ctx, int on)
{
    ctx->profiling = on;
    return CGAN_OK;
}

void cgan_profile_reset(cgan_ctx *ctx)
{
    ctx->prof_count = 0;
}

/* The public calls (cgan/tools.h). */
cgan_status cgan_kernel_profile(cgan_ctx *ctx, int on)
{
    if (!ctx) return CGAN_E_INVALID;
    return cgan_profile_enable(ctx, on != 0);
}

void cgan_kernel_profile_reset(cgan_ctx *ctx)
{
    if (ctx) cgan_profile_reset(ctx);
}

int cgan_kernel_profile_count(const cgan_ctx *ctx)
{
    return ctx ? ctx->prof_count : 0;
}

cgan_status cgan_kernel_profile_get(const cgan_ctx *ctx, int i, const char **name, unsigned *calls,
                                    double *ms)
{
    if (!ctx || i < 0 || i >= ctx->prof_count) return CGAN_E_INVALID;
    const cgan_prof_entry *e = &ctx->prof[i];
    if (name) *name = e->name;
    if (calls) *calls = e->count;
    if (ms) *ms = e->total_ms;
    return CGAN_OK;
}
