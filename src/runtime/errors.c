/* Status names, OpenCL error names and the context's error message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "runtime.h"

static const char *const status_names[CGAN_STATUS_COUNT] = {
    "CGAN_OK", "CGAN_E_INVALID", "CGAN_E_NOMEM", "CGAN_E_OPENCL", "CGAN_E_BUILD",
    "CGAN_E_NOT_FOUND", "CGAN_E_IO", "CGAN_E_FORMAT", "CGAN_E_SHAPE", "CGAN_E_BLAS",
    "CGAN_E_UNSUPPORTED", "CGAN_E_NUMERIC", "CGAN_E_INTERRUPTED",
};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == CGAN_STATUS_COUNT,
               "status_names and cgan_status differ in length");

const char *cgan_status_str(cgan_status st)
{
    int i = -(int)st;
    if (i < 0 || i >= CGAN_STATUS_COUNT) return "CGAN_E_UNKNOWN";
    return status_names[i];
}

/* OpenCL 1.0 to 3.0 status codes: 0 .. -19 and -30 .. -72 (-20..-29 are unassigned). */
static const char *const cl_low[] = {
    "CL_SUCCESS", "CL_DEVICE_NOT_FOUND", "CL_DEVICE_NOT_AVAILABLE",
    "CL_COMPILER_NOT_AVAILABLE", "CL_MEM_OBJECT_ALLOCATION_FAILURE", "CL_OUT_OF_RESOURCES",
    "CL_OUT_OF_HOST_MEMORY", "CL_PROFILING_INFO_NOT_AVAILABLE", "CL_MEM_COPY_OVERLAP",
    "CL_IMAGE_FORMAT_MISMATCH", "CL_IMAGE_FORMAT_NOT_SUPPORTED", "CL_BUILD_PROGRAM_FAILURE",
    "CL_MAP_FAILURE", "CL_MISALIGNED_SUB_BUFFER_OFFSET",
    "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST", "CL_COMPILE_PROGRAM_FAILURE",
    "CL_LINKER_NOT_AVAILABLE", "CL_LINK_PROGRAM_FAILURE", "CL_DEVICE_PARTITION_FAILED",
    "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
};
static const char *const cl_high[] = {
    "CL_INVALID_VALUE", "CL_INVALID_DEVICE_TYPE", "CL_INVALID_PLATFORM", "CL_INVALID_DEVICE",
    "CL_INVALID_CONTEXT", "CL_INVALID_QUEUE_PROPERTIES", "CL_INVALID_COMMAND_QUEUE",
    "CL_INVALID_HOST_PTR", "CL_INVALID_MEM_OBJECT", "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
    "CL_INVALID_IMAGE_SIZE", "CL_INVALID_SAMPLER", "CL_INVALID_BINARY",
    "CL_INVALID_BUILD_OPTIONS", "CL_INVALID_PROGRAM", "CL_INVALID_PROGRAM_EXECUTABLE",
    "CL_INVALID_KERNEL_NAME", "CL_INVALID_KERNEL_DEFINITION", "CL_INVALID_KERNEL",
    "CL_INVALID_ARG_INDEX", "CL_INVALID_ARG_VALUE", "CL_INVALID_ARG_SIZE",
    "CL_INVALID_KERNEL_ARGS", "CL_INVALID_WORK_DIMENSION", "CL_INVALID_WORK_GROUP_SIZE",
    "CL_INVALID_WORK_ITEM_SIZE", "CL_INVALID_GLOBAL_OFFSET", "CL_INVALID_EVENT_WAIT_LIST",
    "CL_INVALID_EVENT", "CL_INVALID_OPERATION", "CL_INVALID_GL_OBJECT",
    "CL_INVALID_BUFFER_SIZE", "CL_INVALID_MIP_LEVEL", "CL_INVALID_GLOBAL_WORK_SIZE",
    "CL_INVALID_PROPERTY", "CL_INVALID_IMAGE_DESCRIPTOR", "CL_INVALID_COMPILER_OPTIONS",
    "CL_INVALID_LINKER_OPTIONS", "CL_INVALID_DEVICE_PARTITION_COUNT",
    "CL_INVALID_PIPE_SIZE", "CL_INVALID_DEVICE_QUEUE", "CL_INVALID_SPEC_ID",
    "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
};
_Static_assert(sizeof(cl_low) / sizeof(cl_low[0]) == 20, "cl_low covers 0..-19");
_Static_assert(sizeof(cl_high) / sizeof(cl_high[0]) == 43, "cl_high covers -30..-72");

const char *cgan_cl_error_name(cl_int err)
{
    if (err <= 0 && err >= -19) return cl_low[-err];
    if (err <= -30 && err >= -72) return cl_high[-30 - err];
    switch (err) {
    case -1000: return "CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    case -1002: return "CL_INVALID_D3D10_DEVICE_KHR";
    case -1057: return "CL_DEVICE_PARTITION_FAILED_EXT";
    case -1058: return "CL_INVALID_PARTITION_COUNT_EXT";
    case -1059: return "CL_INVALID_PARTITION_NAME_EXT";
    default: return "CL_UNKNOWN_ERROR";
    }
}

static void vset(cgan_ctx *ctx, const char *fmt, va_list ap)
{
    if (!ctx) return;
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
}

cgan_status cgan_error(cgan_ctx *ctx, cgan_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(ctx, fmt, ap);
    va_end(ap);
    return st;
}

cgan_status cgan_cl_fail(cgan_ctx *ctx, cl_int err, const char *call, const char *fmt, ...)
{
    if (!ctx) return CGAN_E_OPENCL;
    char detail[1024] = "";
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    snprintf(ctx->err, sizeof ctx->err, "%s failed: %s (%d)%s%s%s", call,
             cgan_cl_error_name(err), (int)err, detail[0] ? " [" : "", detail,
             detail[0] ? "]" : "");
    return CGAN_E_OPENCL;
}

cgan_status cgan_error_wrap(cgan_ctx *ctx, cgan_status st, const char *fmt, ...)
{
    if (!ctx) return st;
    char prefix[1024], old[CGAN_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, ctx->err, sizeof old);
    size_t pl = strlen(prefix);
    if (pl > sizeof ctx->err - 3) pl = sizeof ctx->err - 3;
    memcpy(ctx->err, prefix, pl);
    memcpy(ctx->err + pl, ": ", 2);
    size_t room = sizeof ctx->err - pl - 3;
    size_t ol = strnlen(old, room);
    memcpy(ctx->err + pl + 2, old, ol);
    ctx->err[pl + 2 + ol] = '\0';
    return st;
}

const char *cgan_last_error(const cgan_ctx *ctx)
{
    return ctx ? ctx->err : "no context";
}

void cgan_clear_error(cgan_ctx *ctx)
{
    if (ctx) ctx->err[0] = '\0';
}

void cgan_warn(cgan_ctx *ctx, const char *fmt, ...)
{
    if (!ctx || ctx->n_warnings >= CGAN_WARN_MAX) return;
    char buf[sizeof ctx->warnings[0]];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (int i = 0; i < ctx->n_warnings; i++)
        if (!strcmp(ctx->warnings[i], buf)) return;
    memcpy(ctx->warnings[ctx->n_warnings++], buf, sizeof buf);
}

const char *cgan_ctx_next_warning(cgan_ctx *ctx)
{
    if (!ctx || ctx->warnings_read >= ctx->n_warnings) return NULL;
    return ctx->warnings[ctx->warnings_read++];
}
