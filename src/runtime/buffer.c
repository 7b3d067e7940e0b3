/* Device buffers: creation, sub-buffer views, copies and fills. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

size_t cgan_align_up(size_t v, size_t a)
{
    return a ? (v + a - 1) / a * a : v;
}

typedef struct meter_entry {
    cgan_mem_meter *meter;
    size_t bytes;
} meter_entry;

static void meter_unref(cgan_mem_meter *m)
{
    if (atomic_fetch_sub(&m->refs, 1) == 1) free(m);
}

/* A buffer's destructor callback: its bytes leave the count. */
static void CL_CALLBACK meter_release(cl_mem mem, void *user)
{
    (void)mem;
    meter_entry *e = user;
    atomic_fetch_sub(&e->meter->live, e->bytes);
    meter_unref(e->meter);
    free(e);
}

size_t cgan_mem_live(const cgan_ctx *ctx)
{
    return ctx->meter ? atomic_load(&ctx->meter->live) : 0;
}

void cgan_mem_meter_drop(cgan_ctx *ctx)
{
    if (ctx->meter) meter_unref(ctx->meter);
    ctx->meter = NULL;
}

cgan_status cgan_buffer_create(cgan_ctx *ctx, size_t bytes, const char *what, cl_mem *out)
{
    *out = NULL;
    if (bytes == 0) return cgan_error(ctx, CGAN_E_INVALID, "buffer '%s': size 0", what);
    if (bytes > ctx->info.max_alloc && ctx->info.max_alloc)
        return cgan_error(ctx, CGAN_E_NOMEM,
                          "buffer '%s': %zu bytes exceeds the device's largest allocation (%llu)",
                          what, bytes, (unsigned long long)ctx->info.max_alloc);
    if (!ctx->meter) {
        if (!(ctx->meter = calloc(1, sizeof *ctx->meter)))
            return cgan_error(ctx, CGAN_E_NOMEM, "buffer '%s': out of host memory", what);
        atomic_init(&ctx->meter->refs, 1);
    }
    const size_t live = cgan_mem_live(ctx), cap = ctx->profile.max_alloc;
    if (cap && (bytes > cap || live > cap - bytes))
        return cgan_error(ctx, CGAN_E_NOMEM, "buffer '%s': %zu bytes, with the %zu this context holds already, "
                          "exceeds CGAN_MAX_ALLOC=%zu", what, bytes, live, cap);
    meter_entry *me = malloc(sizeof *me);
    if (!me) return cgan_error(ctx, CGAN_E_NOMEM, "buffer '%s': out of host memory", what);
    cl_int e = CL_SUCCESS;
    ctx->sync.buffers++;
    cl_mem m = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (e != CL_SUCCESS || !m) {
        free(me);
        return cgan_cl_fail(ctx, e, "clCreateBuffer", "'%s', %zu bytes", what, bytes);
    }
    *me = (meter_entry){ ctx->meter, bytes };
    atomic_fetch_add(&ctx->meter->live, bytes);
    atomic_fetch_add(&ctx->meter->refs, 1);
    e = clSetMemObjectDestructorCallback(m, meter_release, me);
    if (e != CL_SUCCESS) {
        atomic_fetch_sub(&ctx->meter->live, bytes);
        atomic_fetch_sub(&ctx->meter->refs, 1);
        free(me);
        clReleaseMemObject(m);
        return cgan_cl_fail(ctx, e, "clSetMemObjectDestructorCallback", "'%s'", what);
    }
    *out = m;
    return CGAN_OK;
}

cgan_status cgan_buffer_sub(cgan_ctx *ctx, cl_mem parent, size_t offset, size_t bytes,
                            const char *what, cl_mem *out)
{
    *out = NULL;
    if (offset % ctx->profile.mem_align)
        return cgan_error(ctx, CGAN_E_INVALID, "sub-buffer '%s': offset %zu not aligned to %zu",
                          what, offset, ctx->profile.mem_align);
    cl_buffer_region r = { offset, bytes };
    cl_int e = CL_SUCCESS;
    ctx->sync.buffers++;
    cl_mem m = clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &e);
    if (e != CL_SUCCESS || !m)
        return cgan_cl_fail(ctx, e, "clCreateSubBuffer", "'%s', offset %zu, %zu bytes", what,
                            offset, bytes);
    *out = m;
    return CGAN_OK;
}

void cgan_buffer_release(cl_mem m)
{
    if (m) clReleaseMemObject(m);
}

cgan_status cgan_buffer_write(cgan_ctx *ctx, cl_mem m, size_t offset, size_t bytes, const void *src)
{
    if (!bytes) return CGAN_OK;
    ctx->sync.host_waits++;
    CGAN_CL_CHECK(ctx, clEnqueueWriteBuffer(ctx->queue, m, CL_TRUE, offset, bytes, src, 0, NULL, NULL),
                  "clEnqueueWriteBuffer", "%zu bytes at %zu", bytes, offset);
    return CGAN_OK;
}

cgan_status cgan_buffer_write_async(cgan_ctx *ctx, cl_mem m, size_t offset, size_t bytes,
                                    const void *src, cl_event *done)
{
    *done = NULL;
    CGAN_CL_CHECK(ctx, clEnqueueWriteBuffer(ctx->queue, m, CL_FALSE, offset, bytes, src, 0, NULL, done),
                  "clEnqueueWriteBuffer", "%zu bytes at %zu, asynchronous", bytes, offset);
    return CGAN_OK;
}

cgan_status cgan_buffer_read_async(cgan_ctx *ctx, cl_mem m, size_t offset, size_t bytes, void *dst, cl_event *done)
{
    *done = NULL;
    CGAN_CL_CHECK(ctx, clEnqueueReadBuffer(ctx->queue, m, CL_FALSE, offset, bytes, dst, 0, NULL, done),
                  "clEnqueueReadBuffer", "%zu bytes at %zu, asynchronous", bytes, offset);
    return CGAN_OK;
}

cgan_status cgan_buffer_read(cgan_ctx *ctx, cl_mem m, size_t offset, size_t bytes, void *dst)
{
    if (!bytes) return CGAN_OK;
    ctx->sync.host_waits++;
    CGAN_CL_CHECK(ctx, clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, offset, bytes, dst, 0, NULL, NULL),
                  "clEnqueueReadBuffer", "%zu bytes at %zu", bytes, offset);
    return CGAN_OK;
}

cgan_status cgan_buffer_fill_f32(cgan_ctx *ctx, cl_mem m, size_t first, size_t count, float value)
{
    if (!count) return CGAN_OK;
    if (first + count > 0x7fffffff)
        return cgan_error(ctx, CGAN_E_INVALID, "fill: %zu floats at %zu exceed the 32-bit index range",
                          count, first);
    cgan_kernel *k;
    CGAN_TRY(cgan_kernel_get(ctx, "elementwise", NULL, "fill_range", &k));
    cgan_range r = cgan_range_1d(count);
    return cgan_launch(ctx, k, &r, CGAN_KINT(count), CGAN_KINT(first), CGAN_KFLOAT(value), CGAN_KMEM(m));
}

cgan_status cgan_buffer_copy(cgan_ctx *ctx, cl_mem src, size_t src_off, cl_mem dst,
                             size_t dst_off, size_t bytes)
{
    if (!bytes) return CGAN_OK;
    CGAN_CL_CHECK(ctx, clEnqueueCopyBuffer(ctx->queue, src, dst, src_off, dst_off, bytes, 0, NULL, NULL),
                  "clEnqueueCopyBuffer", "%zu bytes", bytes);
    return CGAN_OK;
}

cgan_status cgan_finish(cgan_ctx *ctx)
{
    ctx->sync.host_waits++;
    CGAN_CL_CHECK(ctx, clFinish(ctx->queue), "clFinish", "%s", "");
    return CGAN_OK;
}

cgan_status cgan_wait_for_reuse(cgan_ctx *ctx, cl_event ev, const char *what)
{
    cl_int status = CL_QUEUED;
    CGAN_CL_CHECK(ctx, clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
                  "clGetEventInfo", "%s", what);
    if (status != CL_COMPLETE && status >= 0) {
        ctx->sync.reuse_waits++;
        CGAN_CL_CHECK(ctx, clWaitForEvents(1, &ev), "clWaitForEvents", "%s", what);
        CGAN_CL_CHECK(ctx, clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
                      "clGetEventInfo", "%s", what);
    }
    if (status < 0) return cgan_cl_fail(ctx, status, "asynchronous upload", "%s", what);
    return CGAN_OK;
}

cgan_status cgan_flush(cgan_ctx *ctx)
{
    CGAN_CL_CHECK(ctx, clFlush(ctx->queue), "clFlush", "%s", "");
    return CGAN_OK;
}

cgan_status cgan_staging_alloc(cgan_ctx *ctx, size_t bytes, const char *what, cgan_staging *out)
{
    memset(out, 0, sizeof *out);
    if (!bytes) bytes = 1;
    out->bytes = bytes;
    if (ctx->profile.staging != CGAN_STAGING_PINNED) {
        out->host = malloc(bytes);
        if (!out->host) return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory (%zu bytes)", what, bytes);
        return CGAN_OK;
    }
    cl_int e = CL_SUCCESS;
    out->buf = clCreateBuffer(ctx->context, CL_MEM_ALLOC_HOST_PTR | CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (e != CL_SUCCESS || !out->buf) {
        out->buf = NULL;
        return cgan_cl_fail(ctx, e, "clCreateBuffer", "%s: %zu bytes of pinned staging", what, bytes);
    }
    ctx->sync.buffers++;
    ctx->sync.host_waits++;
    out->host = clEnqueueMapBuffer(ctx->queue, out->buf, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes,
                                   0, NULL, NULL, &e);
    if (e != CL_SUCCESS || !out->host) {
        clReleaseMemObject(out->buf);
        memset(out, 0, sizeof *out);
        return cgan_cl_fail(ctx, e, "clEnqueueMapBuffer", "%s: %zu bytes of pinned staging", what, bytes);
    }
    return CGAN_OK;
}

void cgan_staging_free(cgan_ctx *ctx, cgan_staging *s)
{
    if (!s) return;
    if (s->buf) {
        /* the buffer goes once the unmap (and anything else using it) has run */
        if (s->host && ctx && ctx->queue)
            clEnqueueUnmapMemObject(ctx->queue, s->buf, s->host, 0, NULL, NULL);
        clReleaseMemObject(s->buf);
    } else {
        free(s->host);
    }
    memset(s, 0, sizeof *s);
}
