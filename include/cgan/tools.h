/* cgan/tools.h: benchmarking and tuning (what cgan-bench is built on).
 *
 * The GEMM the layers run, called directly on tensors, with any of its providers; the
 * GEMMs a pass issues, recorded as it runs; the per-device tuning table that picks a
 * provider per GEMM shape (the file `cgan-bench tune` writes and every later context on
 * that device applies); CLBlast's kernel parameters; per-kernel launch timing; and what a
 * graph's nodes are, for cost models. Per-node timing is cgan_graph_profile (graph.h).
 *
 * GEMMs are row-major, as the layers use them: C = alpha * op(A) * op(B) + beta * C with
 * op(A) m x k and op(B) k x n, leading dimensions and batch strides in floats, each batch
 * entry b at b * stride floats from the start of its tensor (a tensor's memory read as
 * one flat array of floats, whatever its shape).
 *
 * GEMM choices are strings: "own" (the engine's own GEMM, the variant it picks for the
 * device), "own:<spec>" (an own-kernel variant with explicit parameters, as
 * cgan_gemm_candidates lists them), "clblast" (CLBlast); NULL is the default choice, what
 * the layers get: the device profile's provider, or the tuning table's entry for the
 * shape. */
#ifndef CGAN_API_TOOLS_H
#define CGAN_API_TOOLS_H
#include <stddef.h>
#include "cgan/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- GEMM ------------------------------------------------------------------------ */

/* Bytes of a GEMM choice string, the terminating zero included. */
#define CGAN_GEMM_CHOICE_MAX 72

/* A GEMM's shape: everything but the operands and the scalars. ta, tb: 1 when A or B is
 * stored transposed (A then k x m, B n x k). batch >= 1; strides may be 0 (an operand
 * shared by every batch entry). */
typedef struct cgan_gemm_shape {
    int ta, tb;
    size_t m, n, k, batch, lda, ldb, ldc, a_stride, b_stride, c_stride;
} cgan_gemm_shape;

/* Enqueue one (strided-batched) GEMM on ctx's queue with the given choice (NULL: the
 * default). The tensors must hold every element the shape reaches (CGAN_E_SHAPE
 * otherwise); with beta == 0, C is not read. CGAN_E_INVALID for an unknown choice or bad
 * leading dimensions, CGAN_E_BLAS when the provider fails. */
CGAN_API cgan_status cgan_gemm_run(cgan_ctx *ctx, const char *choice, const cgan_gemm_shape *s,
                                   float alpha, const cgan_tensor *a, const cgan_tensor *b,
                                   float beta, cgan_tensor *c);

/* The default choice's name on ctx before any tuning ("own:<variant>" or "clblast"), into
 * buf (n bytes; CGAN_GEMM_CHOICE_MAX is enough). */
CGAN_API cgan_status cgan_gemm_default_choice(cgan_ctx *ctx, char *buf, size_t n);
/* The route the default choice takes for shape s now: the provider's name ("own",
 * "clblast"), or "tuned:<choice>" when the tuning table decides. Loads the table when it
 * applies and was not read yet. */
CGAN_API cgan_status cgan_gemm_default_route(cgan_ctx *ctx, const cgan_gemm_shape *s, char *buf,
                                             size_t n);
/* The own-kernel choices worth timing for s on ctx's device ("own:<spec>", the automatic
 * one first): at most max into out, *count of them. */
CGAN_API cgan_status cgan_gemm_candidates(cgan_ctx *ctx, const cgan_gemm_shape *s,
                                          char (*out)[CGAN_GEMM_CHOICE_MAX], int max, int *count);

/* Called for every GEMM the default choice runs (the layers' GEMMs, cgan_gemm_run with a
 * NULL choice), before it runs, with its shape, scalars and route (as
 * cgan_gemm_default_route). */
typedef void (*cgan_gemm_record_fn)(void *user, const cgan_gemm_shape *s, float alpha,
                                    float beta, const char *route);
/* Start recording into fn (NULL stops). */
CGAN_API cgan_status cgan_gemm_record(cgan_ctx *ctx, cgan_gemm_record_fn fn, void *user);

/* ---- CLBlast's kernel parameters ---------------------------------------------------- */

#define CGAN_CLBLAST_PARAMS_MAX 16

/* Every parameter of one CLBlast kernel ("Xgemm", "XgemmDirect"), as CLBlast names them
 * ("MWG", "NWG", "KWG", ...). */
typedef struct cgan_clblast_params {
    char kernel[16];
    int count;
    char names[CGAN_CLBLAST_PARAMS_MAX][12];
    size_t values[CGAN_CLBLAST_PARAMS_MAX];
} cgan_clblast_params;

/* Make CLBlast use these parameters for its single-precision kernels on ctx's device
 * (CLBlastOverrideParameters), n sets. CGAN_E_BLAS, naming the kernel, when CLBlast
 * refuses a set. */
CGAN_API cgan_status cgan_clblast_apply(cgan_ctx *ctx, const cgan_clblast_params *p, int n);

/* ---- the tuning table ---------------------------------------------------------------
 * Per device: for each GEMM shape, the choice the default takes, and CLBlast parameters.
 * It lives in "<cache folder>/tune-<hash>.json" (the kernel cache's folder), keyed by the
 * device, driver, CLBlast and cgan-cl versions: a file written for anything else is
 * ignored. It applies to the default choice only: not while $CGAN_GEMM_PROVIDER or
 * $CGAN_GEMM_VARIANT pins a provider, nor with $CGAN_TUNE_DISABLE=1. */

typedef struct cgan_tuning cgan_tuning;

/* 1 when the table would apply to ctx's default choice now. */
CGAN_API int cgan_tuning_applies(cgan_ctx *ctx);
/* Apply the table (on) or not (off) from now on, whatever $CGAN_TUNE_DISABLE says; either
 * way the file is read again at the next GEMM that uses it (after a tool rewrote it). */
CGAN_API cgan_status cgan_tuning_use(cgan_ctx *ctx, int on);
/* The table file's path for ctx's device, into buf (n bytes). */
CGAN_API cgan_status cgan_tuning_path(cgan_ctx *ctx, char *buf, size_t n);

/* An empty table for ctx's device. */
CGAN_API cgan_status cgan_tuning_create(cgan_ctx *ctx, cgan_tuning **out);
/* Read ctx's device's table. CGAN_E_NOT_FOUND when there is no file; CGAN_E_FORMAT, with a
 * message naming the file, when it is malformed, written for another device, or names an
 * invalid choice. *out is NULL on error. */
CGAN_API cgan_status cgan_tuning_load(cgan_ctx *ctx, cgan_tuning **out);
/* Write the table to its path atomically (a reader sees the old file or the new one). */
CGAN_API cgan_status cgan_tuning_save(cgan_tuning *t);
CGAN_API void cgan_tuning_destroy(cgan_tuning *t);

/* Entries: shape, choice, and the times the tuner measured (informative). */
CGAN_API int cgan_tuning_count(const cgan_tuning *t);
/* Entry i (0 <= i < count): its shape and choice (owned by the table, valid until it
 * changes); each pointer may be NULL. CGAN_E_INVALID for a bad i. */
CGAN_API cgan_status cgan_tuning_entry(const cgan_tuning *t, int i, cgan_gemm_shape *s,
                                       const char **choice);
/* Add the entry of s, or replace it. CGAN_E_INVALID for an invalid choice. */
CGAN_API cgan_status cgan_tuning_set(cgan_tuning *t, const cgan_gemm_shape *s, const char *choice,
                                     double default_ms, double tuned_ms);
/* Remove entry i (later entries move down one). */
CGAN_API cgan_status cgan_tuning_remove(cgan_tuning *t, int i);
/* The CLBlast parameters the table applies (at most 2 sets, *n of them; 0: CLBlast's
 * own), and their replacement. */
CGAN_API cgan_status cgan_tuning_clblast(const cgan_tuning *t, cgan_clblast_params p[2], int *n);
CGAN_API cgan_status cgan_tuning_set_clblast(cgan_tuning *t, const cgan_clblast_params *p, int n);

/* ---- kernel launch timing ---------------------------------------------------------- */

/* Time every kernel launch on ctx by kernel name (OpenCL profiling events; the host waits
 * for each launch, so passes get slower). Turning it off keeps the totals. */
CGAN_API cgan_status cgan_kernel_profile(cgan_ctx *ctx, int on);
/* Forget the totals. */
CGAN_API void cgan_kernel_profile_reset(cgan_ctx *ctx);
/* Kernels timed so far, and kernel i's name (owned by ctx), launches and device
 * milliseconds in all; each pointer may be NULL. CGAN_E_INVALID for a bad i. */
CGAN_API int cgan_kernel_profile_count(const cgan_ctx *ctx);
CGAN_API cgan_status cgan_kernel_profile_get(const cgan_ctx *ctx, int i, const char **name,
                                             unsigned *calls, double *ms);

/* ---- what a graph's nodes are -------------------------------------------------------- */

#define CGAN_NODE_MAX_IN 4
#define CGAN_NODE_MAX_PARAM 4

/* A node: its op, kernel side, and tensors (ids for cgan_graph_tensor_shape and the
 * other cgan_graph_tensor_* calls). */
typedef struct cgan_node_info {
    const char *name;   /* "G.deconv1" (owned by the graph) */
    const char *op;     /* "conv2d", "deconv2d", "batchnorm", "linear", "activation", ... */
    int k;              /* conv2d and deconv2d: the kernel's side; else 0 */
    int n_in, in[CGAN_NODE_MAX_IN];
    int out;
    int n_param, param[CGAN_NODE_MAX_PARAM];
} cgan_node_info;

/* Node i (0 <= i < cgan_graph_node_count, in the order they run). CGAN_E_INVALID for a
 * bad i. */
CGAN_API cgan_status cgan_graph_node_info(const cgan_graph *g, int i, cgan_node_info *out);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_TOOLS_H */
