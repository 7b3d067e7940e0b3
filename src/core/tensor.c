/* Standalone device tensors (cgan/tensor.h): a buffer, its shape and its context. */
#include <stdlib.h>
#include "core/tensor.h"

struct cgan_tensor {
    cgan_ctx *ctx;
    cgan_shape shape;
    cl_mem mem;
};

static cgan_status check_shape(cgan_ctx *ctx, cgan_shape s, const char *what)
{
    char b[64];
    if (s.n < 1 || s.c < 1 || s.h < 1 || s.w < 1 || cgan_numel(s) > ((size_t)1 << 40))
        return cgan_error(ctx, CGAN_E_SHAPE, "%s: shape %s: every dimension must be >= 1", what,
                          cgan_shape_str(s, b, sizeof b));
    return CGAN_OK;
}

static cgan_status make(cgan_ctx *ctx, cgan_shape shape, cl_mem mem, cgan_tensor **out)
{
    cgan_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        cgan_buffer_release(mem);
        return cgan_error(ctx, CGAN_E_NOMEM, "tensor: out of memory");
    }
    t->ctx = ctx;
    t->shape = shape;
    t->mem = mem;
    *out = t;
    return CGAN_OK;
}

cgan_status cgan_tensor_create(cgan_ctx *ctx, cgan_shape shape, cgan_tensor **out)
{
    if (!ctx || !out) return CGAN_E_INVALID;
    *out = NULL;
    if (!ctx->opened) return cgan_error(ctx, CGAN_E_INVALID, "cgan_tensor_create: the context has no device open");
    CGAN_TRY(check_shape(ctx, shape, "cgan_tensor_create"));
    cl_mem m = NULL;
    CGAN_TRY(cgan_buffer_create(ctx, cgan_numel(shape) * sizeof(float), "tensor", &m));
    return make(ctx, shape, m, out);
}

cgan_status cgan_tensor_wrap(cgan_ctx *ctx, cl_mem mem, cgan_shape shape, cgan_tensor **out)
{
    if (!ctx || !out) return CGAN_E_INVALID;
    *out = NULL;
    if (!ctx->opened) return cgan_error(ctx, CGAN_E_INVALID, "cgan_tensor_wrap: the context has no device open");
    CGAN_TRY(check_shape(ctx, shape, "cgan_tensor_wrap"));
    if (!mem) return cgan_error(ctx, CGAN_E_INVALID, "cgan_tensor_wrap: no buffer");
    size_t bytes = 0;
    cl_context owner = NULL;
    CGAN_CL_CHECK(ctx, clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof bytes, &bytes, NULL), "clGetMemObjectInfo",
                  "CL_MEM_SIZE of the wrapped buffer");
    CGAN_CL_CHECK(ctx, clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof owner, &owner, NULL), "clGetMemObjectInfo",
                  "CL_MEM_CONTEXT of the wrapped buffer");
    if (owner != ctx->context)
        return cgan_error(ctx, CGAN_E_INVALID, "cgan_tensor_wrap: the buffer belongs to another OpenCL context");
    if (bytes < cgan_numel(shape) * sizeof(float))
        return cgan_error(ctx, CGAN_E_SHAPE, "cgan_tensor_wrap: the buffer holds %zu bytes, the shape needs %zu",
                          bytes, cgan_numel(shape) * sizeof(float));
    CGAN_CL_CHECK(ctx, clRetainMemObject(mem), "clRetainMemObject", "cgan_tensor_wrap");
    return make(ctx, shape, mem, out);
}

void cgan_tensor_destroy(cgan_tensor *t)
{
    if (!t) return;
    cgan_buffer_release(t->mem);
    free(t);
}

cgan_shape cgan_tensor_shape(const cgan_tensor *t) { return t ? t->shape : cgan_shape4(0, 0, 0, 0); }
size_t cgan_tensor_numel(const cgan_tensor *t) { return t ? cgan_numel(t->shape) : 0; }
cl_mem cgan_tensor_cl_mem(const cgan_tensor *t) { return t ? t->mem : NULL; }

cgan_status cgan_tensor_upload(cgan_tensor *t, const float *src)
{
    if (!t || !src) return CGAN_E_INVALID;
    return cgan_buffer_write(t->ctx, t->mem, 0, cgan_numel(t->shape) * sizeof(float), src);
}

cgan_status cgan_tensor_download(cgan_tensor *t, float *dst)
{
    if (!t || !dst) return CGAN_E_INVALID;
    return cgan_buffer_read(t->ctx, t->mem, 0, cgan_numel(t->shape) * sizeof(float), dst);
}

cgan_status cgan_tensor_fill(cgan_tensor *t, float value)
{
    if (!t) return CGAN_E_INVALID;
    return cgan_buffer_fill_f32(t->ctx, t->mem, 0, cgan_numel(t->shape), value);
}
