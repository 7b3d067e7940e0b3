/* Graph tensors (the executor's record of each tensor of a graph). Shapes and standalone
 * tensors are public: cgan/tensor.h. Layout is NCHW float32 on the device. */
#ifndef CGAN_CORE_TENSOR_H
#define CGAN_CORE_TENSOR_H
#include <stddef.h>
#include "cgan/graph.h"
#include "runtime/runtime.h"

typedef struct cgan_gtensor {
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
} cgan_gtensor;
#endif
