/* cgan/cgan_cl.h: OpenCL interop, for programs that share a device with their own OpenCL
 * code. The only public header with OpenCL types; it needs the OpenCL headers
 * (pkg-config OpenCL).
 *
 * Ownership: the library never releases what the caller lent it (a wrapped context, queue
 * or buffer), and the caller must not release what the library returns here (it stays
 * the library's, valid until the owning object is destroyed). Work the library enqueues
 * goes on the context's one in-order queue: a caller using other queues synchronises with
 * it (clFinish(cgan_ctx_cl_queue(ctx)) or events) before touching shared buffers. */
#ifndef CGAN_API_CGAN_CL_H
#define CGAN_API_CGAN_CL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include "cgan/context.h"
#include "cgan/tensor.h"
#include "cgan/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Open ctx (instead of cgan_ctx_open) on the caller's device, context and in-order queue.
 * The library retains all three while ctx lives and releases only its own references. */
CGAN_API cgan_status cgan_ctx_wrap(cgan_ctx *ctx, cl_device_id device, cl_context context,
                                   cl_command_queue queue);

/* The OpenCL objects of an opened context (NULL before cgan_ctx_open); the context keeps
 * them: retain them to keep them longer. */
CGAN_API cl_context cgan_ctx_cl_context(const cgan_ctx *ctx);
CGAN_API cl_command_queue cgan_ctx_cl_queue(const cgan_ctx *ctx);
CGAN_API cl_device_id cgan_ctx_cl_device(const cgan_ctx *ctx);

/* Name of an OpenCL status code ("CL_OUT_OF_RESOURCES"); "CL_UNKNOWN_ERROR" if unknown. */
CGAN_API const char *cgan_cl_error_name(cl_int err);

/* The buffer of a standalone tensor (numel floats, NCHW). */
CGAN_API cl_mem cgan_tensor_cl_mem(const cgan_tensor *t);
/* A tensor over the caller's buffer (at least numel(shape) floats, on ctx's context); the
 * buffer is retained, not copied. */
CGAN_API cgan_status cgan_tensor_wrap(cgan_ctx *ctx, cl_mem mem, cgan_shape shape,
                                      cgan_tensor **out);

/* The buffers of a planned graph's tensor: its value and its gradient (NULL when it has
 * none in this plan). */
CGAN_API cl_mem cgan_graph_value(cgan_graph *g, int id);
CGAN_API cl_mem cgan_graph_grad(cgan_graph *g, int id);
/* Point an input at the caller's buffers (grad may be NULL); before or after planning. */
CGAN_API cgan_status cgan_graph_bind(cgan_graph *g, int id, cl_mem value, cl_mem grad);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_CGAN_CL_H */
