/* Element-wise device operations over flat float buffers. */
#ifndef CGAN_OPS_ELEMENTWISE_H
#define CGAN_OPS_ELEMENTWISE_H
#include "runtime/runtime.h"
#include "core/selftest.h"

/* y = a*x + b*y over n floats (b == 0: y is only written). */
cgan_status cgan_axpby(cgan_ctx *ctx, size_t n, float a, cl_mem x, float b, cl_mem y);
/* y = value over n floats. */
cgan_status cgan_fill(cgan_ctx *ctx, size_t n, float value, cl_mem y);
/* z = x + y, z = x * y. */
cgan_status cgan_add(cgan_ctx *ctx, size_t n, cl_mem x, cl_mem y, cl_mem z);
cgan_status cgan_mul(cgan_ctx *ctx, size_t n, cl_mem x, cl_mem y, cl_mem z);

cgan_status cgan_check_axpby(cgan_ctx *ctx, cgan_check_result *res);
#endif
