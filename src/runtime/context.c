/* The context: one device, one OpenCL context, one in-order queue with profiling. */
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "device.h"
#include "program.h"

cgan_ctx *cgan_ctx_new(void)
{
    return calloc(1, sizeof(cgan_ctx));
}

void cgan_ctx_destroy(cgan_ctx *ctx)
{
    if (!ctx) return;
    if (ctx->queue) clFinish(ctx->queue);
    if (ctx->blas && ctx->blas_destroy) ctx->blas_destroy(ctx->blas);
    cgan_programs_release(ctx);
    if (ctx->queue) clReleaseCommandQueue(ctx->queue);
    if (ctx->context) clReleaseContext(ctx->context);
    free(ctx->prof);
    free(ctx);
}

cgan_status cgan_ctx_open(cgan_ctx *ctx, const char *spec)
{
    if (!ctx) return CGAN_E_INVALID;
    if (ctx->opened) return cgan_error(ctx, CGAN_E_INVALID, "context is already open");
    const char *origin = "--device";
    if (!spec || !*spec) {
        spec = getenv("CGAN_DEVICE");
        origin = "CGAN_DEVICE";
    }
    cgan_device_entry *list = NULL;
    int n = 0, idx = 0;
    CGAN_TRY(cgan_device_enumerate(ctx, &list, &n));
    cgan_status st = cgan_device_resolve(ctx, list, n, spec, origin, &idx);
    if (st != CGAN_OK) { free(list); return st; }
    ctx->platform = list[idx].platform;
    ctx->device = list[idx].device;
    ctx->info = list[idx].info;
    free(list);

    cl_int e = CL_SUCCESS;
    cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform, 0 };
    ctx->context = clCreateContext(props, 1, &ctx->device, NULL, NULL, &e);
    if (e != CL_SUCCESS || !ctx->context) {
        ctx->context = NULL;
        return cgan_cl_fail(ctx, e, "clCreateContext", "device %s", ctx->info.name);
    }
    ctx->queue = clCreateCommandQueue(ctx->context, ctx->device, CL_QUEUE_PROFILING_ENABLE, &e);
    if (e != CL_SUCCESS || !ctx->queue) {
        ctx->queue = NULL;
        return cgan_cl_fail(ctx, e, "clCreateCommandQueue", "device %s", ctx->info.name);
    }
    CGAN_TRY(cgan_profile_init(ctx, ctx->class_req[0] ? ctx->class_req : NULL));
    cgan_cache_init(ctx);
    ctx->opened = 1;
    return CGAN_OK;
}

const cgan_device_info *cgan_ctx_device(const cgan_ctx *ctx)
{
    return ctx && ctx->opened ? &ctx->info : NULL;
}

cgan_cache_stats cgan_ctx_cache_stats(const cgan_ctx *ctx)
{
    cgan_cache_stats z = { 0, 0, 0, 0 };
    return ctx ? ctx->cache : z;
}

cl_context cgan_ctx_cl_context(const cgan_ctx *ctx) { return ctx ? ctx->context : NULL; }
cl_command_queue cgan_ctx_cl_queue(const cgan_ctx *ctx) { return ctx ? ctx->queue : NULL; }
cl_device_id cgan_ctx_cl_device(const cgan_ctx *ctx) { return ctx ? ctx->device : NULL; }
