/* The op interface: one definition per op, with device forward and backward and a plain-C
 * double-precision reference of both. The executor (src/core) and the host reference
 * executor call ops only through this interface. */
#ifndef CGAN_OP_H
#define CGAN_OP_H
#include <stdint.h>
#include "core/tensor.h"

#define CGAN_MAX_IN 3
#define CGAN_MAX_PARAM 4
#define CGAN_MAX_STATE 2
#define CGAN_MAX_AUX 2

typedef enum cgan_op_type {
    CGAN_OP_CONV2D = 0,
    CGAN_OP_DECONV2D,
    CGAN_OP_BATCHNORM,      /* BatchNorm2d; conditional when attrs.num_classes > 0 */
    CGAN_OP_ACTIVATION,
    CGAN_OP_LINEAR,
    CGAN_OP_EMBEDDING,
    CGAN_OP_EMBED_MEAN,     /* mean of word embeddings over each row's token ids (pad -1) */
    CGAN_OP_CONCAT,         /* channel concat; a [N,C2,1,1] second input is broadcast to HxW */
    CGAN_OP_RESHAPE,
    CGAN_OP_ADD,
    CGAN_OP_MUL,
    CGAN_OP_DROPOUT,
    CGAN_OP_PROJECTION,
    CGAN_OP_ONEHOT,
    CGAN_OP_LOSS_BCE,
    CGAN_OP_LOSS_HINGE_D,
    CGAN_OP_LOSS_HINGE_G,
    CGAN_OP_LOSS_SOFTMAX_CE,
    CGAN_OP_DIFFAUG,        /* DiffAugment: translation + cutout, per sample, differentiable */
    CGAN_OP_SPECTRAL_NORM,  /* W / sigma(W) of another node's weight (power iteration) */
    CGAN_OP_MBSTD,          /* minibatch standard deviation: one plane of group statistics appended */
    CGAN_OP_COUNT
} cgan_op_type;

/* Attributes of a node; each op reads the fields it documents. */
typedef struct cgan_attrs {
    int k, stride, pad, has_bias;   /* conv2d, deconv2d (square kernels) */
    cgan_act act;                   /* activation; batchnorm: the fused one (NONE: plain) */
    float slope;                    /* leaky ReLU negative slope */
    float eps, momentum;            /* batchnorm */
    int num_classes;                /* conditional batchnorm, embedding, projection */
    float p;                        /* dropout probability */
    float target;                   /* BCE target (1 real, 0 fake); hinge D: +1 real, -1 fake */
    int iterate;                    /* spectral_norm: a training pass takes a power iteration */
    int group;                      /* mbstd: samples per group */
} cgan_attrs;

typedef struct cgan_node {
    cgan_op_type op;
    char name[64];                  /* "G.deconv1", "D.bn2" */
    cgan_attrs a;
    int n_in;
    int in[CGAN_MAX_IN];            /* tensor ids in the graph */
    cgan_shape in_shape[CGAN_MAX_IN];
    int out;
    cgan_shape out_shape;
    int n_param;
    int param[CGAN_MAX_PARAM];      /* e.g. weight, bias / gamma, beta */
    cgan_shape param_shape[CGAN_MAX_PARAM];
    int n_state;
    int state[CGAN_MAX_STATE];      /* e.g. running_mean, running_var */
    cgan_shape state_shape[CGAN_MAX_STATE];
    int n_aux;
    cgan_shape aux_shape[CGAN_MAX_AUX]; /* kept from forward for backward (BN stats, dropout mask) */
    size_t work_floats;             /* scratch needed during forward or backward (im2col columns) */
} cgan_node;

/* Device buffers handed to an op by the executor. NULL din/dparam: not wanted. */
/* BatchNorm statistics across the processes of a data-parallel job (train --sync-bn), set
 * on a graph by its owner (cgan_graph_set_bn_sync in exec.h); NULL: each process's own.
 * gather: the 2*n floats of part (n per-plane sums, then n per-plane sums of squared
 *   deviations) of every process into *out, a device buffer of 2*n*ranks floats laid out
 *   [every sum][every deviation], processes in rank order; its contents stay valid until
 *   the next call.
 * mean: the n floats at buf + off (floats) replaced by their mean over the processes.
 * Every process makes the same sequence of calls. */
typedef struct cgan_bn_sync {
    int ranks;
    cgan_status (*gather)(void *user, cgan_ctx *ctx, cl_mem part, size_t n, cl_mem *out);
    cgan_status (*mean)(void *user, cgan_ctx *ctx, cl_mem buf, size_t off, size_t n);
    void *user;
} cgan_bn_sync;

typedef struct cgan_op_args {
    const cgan_node *node;
    int train;                      /* 1: training mode (batch statistics, dropout on) */
    cl_mem in[CGAN_MAX_IN];
    cl_mem out;
    cl_mem dout;                    /* backward: gradient of the output */
    cl_mem din[CGAN_MAX_IN];        /* backward: gradient of each input */
    float din_beta[CGAN_MAX_IN];    /* 0: overwrite din, 1: accumulate into it */
    cl_mem param[CGAN_MAX_PARAM];
    cl_mem dparam[CGAN_MAX_PARAM];  /* always accumulated into (+=); the trainer zeroes them */
    cl_mem state[CGAN_MAX_STATE];
    cl_mem aux[CGAN_MAX_AUX];
    cl_mem work;                    /* at least node->work_floats floats, contents undefined */
    uint64_t seed;                  /* dropout: seed and a per-call counter */
    uint64_t counter;
    const cgan_bn_sync *bn_sync;    /* batchnorm in training: statistics over the job, or NULL */
} cgan_op_args;

/* The same on the host in double precision, for the reference executor and tests. */
typedef struct cgan_ref_args {
    const cgan_node *node;
    int train;
    const double *in[CGAN_MAX_IN];
    double *out;
    const double *dout;
    double *din[CGAN_MAX_IN];
    double din_beta[CGAN_MAX_IN];
    const double *param[CGAN_MAX_PARAM];
    double *dparam[CGAN_MAX_PARAM];
    double *state[CGAN_MAX_STATE];
    double *aux[CGAN_MAX_AUX];
    uint64_t seed, counter;
} cgan_ref_args;

/* Flags: what backward reads besides dout. */
#define CGAN_BWD_NEEDS_INPUT  1u
#define CGAN_BWD_NEEDS_OUTPUT 2u

typedef struct cgan_op_def {
    const char *name;
    unsigned flags;
    cgan_status (*forward)(cgan_ctx *ctx, const cgan_op_args *a);
    cgan_status (*backward)(cgan_ctx *ctx, const cgan_op_args *a);
    void (*ref_forward)(const cgan_ref_args *a);
    void (*ref_backward)(const cgan_ref_args *a);
} cgan_op_def;

/* The op table (src/ops/optable.c), indexed by cgan_op_type. */
const cgan_op_def *cgan_op_get(cgan_op_type t);
#endif
