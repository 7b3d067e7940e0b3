/* The context: one device, one OpenCL context, one in-order queue with profiling. */
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "device.h"
#include "program.h"
#include "cgan/check.h"

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
    cgan_mem_meter_drop(ctx);
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

cgan_status cgan_ctx_wrap(cgan_ctx *ctx, cl_device_id device, cl_context context,
                          cl_command_queue queue)
{
    if (!ctx) return CGAN_E_INVALID;
    if (ctx->opened) return cgan_error(ctx, CGAN_E_INVALID, "cgan_ctx_wrap: context is already open");
    if (!device || !context || !queue)
        return cgan_error(ctx, CGAN_E_INVALID, "cgan_ctx_wrap: device, context and queue are required");
    cl_device_id qdev = NULL;
    cl_context qctx = NULL;
    cl_command_queue_properties qprops = 0;
    CGAN_CL_CHECK(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL),
                  "clGetCommandQueueInfo", "CL_QUEUE_DEVICE");
    CGAN_CL_CHECK(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL),
                  "clGetCommandQueueInfo", "CL_QUEUE_CONTEXT");
    CGAN_CL_CHECK(ctx, clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof qprops, &qprops, NULL),
                  "clGetCommandQueueInfo", "CL_QUEUE_PROPERTIES");
    if (qdev != device || qctx != context)
        return cgan_error(ctx, CGAN_E_INVALID, "cgan_ctx_wrap: the queue belongs to another device or context");
    if (qprops & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return cgan_error(ctx, CGAN_E_INVALID, "cgan_ctx_wrap: the queue must be in-order");
    cl_platform_id platform = NULL;
    CGAN_CL_CHECK(ctx, clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL),
                  "clGetDeviceInfo", "CL_DEVICE_PLATFORM");
    /* the device's place in the flat list, for its index and the default mark */
    cgan_device_entry *list = NULL;
    int n = 0, found = 0;
    CGAN_TRY(cgan_device_enumerate(ctx, &list, &n));
    for (int i = 0; i < n && !found; i++)
        if (list[i].device == device) { ctx->info = list[i].info; found = 1; }
    free(list);
    if (!found) {
        char pname[128] = "";
        clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
        cgan_device_fill_info(device, pname, -1, -1, &ctx->info);
    }
    CGAN_CL_CHECK(ctx, clRetainContext(context), "clRetainContext", "cgan_ctx_wrap");
    ctx->context = context;
    cl_int e = clRetainCommandQueue(queue);
    if (e != CL_SUCCESS) return cgan_cl_fail(ctx, e, "clRetainCommandQueue", "cgan_ctx_wrap");
    ctx->queue = queue;
    ctx->platform = platform;
    ctx->device = device;
    CGAN_TRY(cgan_profile_init(ctx, ctx->class_req[0] ? ctx->class_req : NULL));
    cgan_cache_init(ctx);
    ctx->opened = 1;
    return CGAN_OK;
}

const char *cgan_ctx_cache_dir(const cgan_ctx *ctx)
{
    return !ctx || ctx->cache_disabled ? "" : ctx->cache_dir;
}

const char *cgan_version(int *major, int *minor, int *patch)
{
    if (major) *major = CGAN_VERSION_MAJOR;
    if (minor) *minor = CGAN_VERSION_MINOR;
    if (patch) *patch = CGAN_VERSION_PATCH;
    return CGAN_VERSION_STRING;
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
