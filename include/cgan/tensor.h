/* cgan/tensor.h: shapes and device tensors.
 *
 * Every tensor is float32 in NCHW order on the context's device: n images of c channels of
 * h rows of w columns, w fastest. A vector of k values is [1,k,1,1] or [k,1,1,1] as the op
 * documents; a scalar is [1,1,1,1].
 *
 * Two kinds of tensors exist:
 *  - graph tensors (cgan/graph.h): inputs, parameters and activations of a graph, named
 *    by their module path ("G.deconv1.weight") and addressed by an integer id; the graph's
 *    memory plan owns their storage;
 *  - standalone tensors (cgan_tensor, below): buffers the caller owns, to hold data, to feed
 *    a graph input without a host copy (cgan_graph_bind_tensor), or to share with OpenCL
 *    code (cgan_cl.h). */
#ifndef CGAN_API_TENSOR_H
#define CGAN_API_TENSOR_H
#include <stddef.h>
#include "cgan/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cgan_shape {
    int n, c, h, w;
} cgan_shape;

static inline cgan_shape cgan_shape4(int n, int c, int h, int w)
{
    cgan_shape s = { n, c, h, w };
    return s;
}
/* Elements of a shape (n * c * h * w). */
static inline size_t cgan_numel(cgan_shape s)
{
    return (size_t)s.n * (size_t)s.c * (size_t)s.h * (size_t)s.w;
}
static inline int cgan_shape_eq(cgan_shape a, cgan_shape b)
{
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
}
/* "[n,c,h,w]" into buf (n bytes); returns buf. */
CGAN_API const char *cgan_shape_str(cgan_shape s, char *buf, size_t n);

typedef struct cgan_tensor cgan_tensor;

/* A device tensor of the given shape (every dimension >= 1) on an opened context. Its
 * contents are undefined until written. CGAN_E_SHAPE for a bad shape, CGAN_E_OPENCL when
 * the device refuses the allocation. */
CGAN_API cgan_status cgan_tensor_create(cgan_ctx *ctx, cgan_shape shape, cgan_tensor **out);
/* Frees the tensor (NULL is accepted). A graph input bound to it must be re-bound or not
 * run again. */
CGAN_API void cgan_tensor_destroy(cgan_tensor *t);
CGAN_API cgan_shape cgan_tensor_shape(const cgan_tensor *t);
CGAN_API size_t cgan_tensor_numel(const cgan_tensor *t);
/* Blocking copies of all numel floats from host memory and back. */
CGAN_API cgan_status cgan_tensor_upload(cgan_tensor *t, const float *src);
CGAN_API cgan_status cgan_tensor_download(cgan_tensor *t, float *dst);
/* Set every element to value (enqueued; no host wait). */
CGAN_API cgan_status cgan_tensor_fill(cgan_tensor *t, float value);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_TENSOR_H */
