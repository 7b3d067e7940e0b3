/* Shapes and tensors. Layout is NCHW float32 on the device. */
#ifndef CGAN_TENSOR_H
#define CGAN_TENSOR_H
#include <stddef.h>
#include "runtime/runtime.h"

typedef struct cgan_shape {
    int n, c, h, w;
} cgan_shape;

static inline cgan_shape cgan_shape4(int n, int c, int h, int w)
{
    cgan_shape s = { n, c, h, w };
    return s;
}
static inline size_t cgan_numel(cgan_shape s)
{
    return (size_t)s.n * (size_t)s.c * (size_t)s.h * (size_t)s.w;
}
static inline int cgan_shape_eq(cgan_shape a, cgan_shape b)
{
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
}
/* "[n,c,h,w]" into buf. */
const char *cgan_shape_str(cgan_shape s, char *buf, size_t n);

typedef enum cgan_tensor_kind {
    CGAN_TENSOR_ACT = 0,   /* activation produced by a node */
    CGAN_TENSOR_INPUT,     /* fed from outside (images, noise, labels, another graph's output) */
    CGAN_TENSOR_PARAM,     /* trained parameter; lives in the graph's parameter arena */
    CGAN_TENSOR_STATE      /* non-trained state saved in checkpoints (BN running stats) */
} cgan_tensor_kind;

/* How a parameter is initialised (DCGAN conventions). */
typedef enum cgan_init {
    CGAN_INIT_NORMAL = 0,  /* N(mean, std) */
    CGAN_INIT_CONST,       /* every element = mean */
    CGAN_INIT_UNIFORM      /* U(-std, std) */
} cgan_init;

typedef struct cgan_tensor {
    char name[96];          /* module path: "G.deconv1.weight", "D.conv2.out" */
    cgan_shape shape;
    cgan_tensor_kind kind;
    cgan_init init;
    float init_mean, init_std;
    int requires_grad;      /* params always; inputs when set by the caller */
    /* set by the planner: */
    cl_mem mem;             /* value (a sub-buffer of an arena, or bound from outside) */
    cl_mem grad;            /* gradient, when one is needed */
    size_t arena_offset;    /* params/state: float offset inside the arena */
    int external;           /* mem/grad were bound by the caller */
} cgan_tensor;
#endif
