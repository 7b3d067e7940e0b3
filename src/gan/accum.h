/* Data parallelism and gradient accumulation in the trainer (doc/scaling.md).
 *
 * A step's global batch of B images is cut into M = K x N micro batches of B / M images
 * (K = --accum on each of the N ranks). Micro batch m (counted over the whole job: rank r
 * holds m = r*K .. r*K+K-1) sees rows [m*B/M, (m+1)*B/M) of the batch and draws its noise
 * and labels from counter stream m (cgan_micro_counter), so one rank with --accum M and M
 * ranks with --accum 1 compute the same micro batches. The gradient of the step is the
 * mean of the micro batches' gradients: summed on each rank in micro batch order, summed
 * over the ranks by the all-reduce, then scaled by 1/M.
 *
 * cgan_gsync moves one gradient arena through the all-reduce: a backward hook reads each
 * bucket of finished gradients to pinned host memory as backward reaches it (asynchronous
 * reads), the bucket's MPI_Iallreduce starts as soon as its read completes, and reduced
 * buckets are written back before the optimizer step; OpenCL has no GPU-direct path, so
 * this host staging is the one transfer per step that data parallelism needs. */
#ifndef CGAN_ACCUM_H
#define CGAN_ACCUM_H
#include "cgan/dist.h"
#include <signal.h>
#include "cgan/trainer.h"
#include "core/graph.h"
#include "runtime/runtime.h"

/* The noise/label counter of micro batch m for a step whose single-batch counter is base:
 * base itself for m = 0 (one micro batch trains exactly as before), else a stream of its
 * own in the counter's high bits. */
uint64_t cgan_micro_counter(uint64_t base, int m);

/* The micro batch size for cfg's batch cut into accum micro batches on each of `world`
 * processes; an error naming --batch and --accum when it does not divide. */
cgan_status cgan_micro_batch(cgan_ctx *ctx, const cgan_train_cfg *cfg, int world, int *micro);


typedef struct cgan_gsync cgan_gsync;
typedef struct cgan_gsync_stats {
    double comm_s;        /* wall time from the first bucket's all-reduce to the last's end */
    double exposed_s;     /* time the host waited on communication after backward had finished */
    int64_t bytes;        /* bytes all-reduced (per rank) */
    int64_t syncs;
} cgan_gsync_stats;

/* For g's gradient arena of n floats (n > 0). The hook goes on g. */
cgan_status cgan_gsync_create(cgan_ctx *ctx, cgan_dist *d, cgan_graph *g, size_t bucket_floats, cgan_gsync **out);
void cgan_gsync_destroy(cgan_gsync *s);
/* The next backward of g streams its finished buckets (call right before it). */
void cgan_gsync_arm(cgan_gsync *s);
/* Reduce what backward has not streamed, wait for every bucket, write the sums back, then
 * scale the arena by `scale` (1: no scaling). */
cgan_status cgan_gsync_finish(cgan_gsync *s, float scale);
const cgan_gsync_stats *cgan_gsync_stats_get(const cgan_gsync *s);
/* A checksum of a parameter arena of the same size (its sum and the sum of magnitudes, in
 * double), read through the staging memory; blocking. */
cgan_status cgan_gsync_checksum(cgan_gsync *s, cl_mem params, double out[2]);
/* --sync-bn (bnsync.c): g's training BatchNorm statistics, and the batch terms of their
 * backward, over every process of d, through host memory. *out stays NULL for a graph
 * without BatchNorm. Destroy it after the graph's last pass (or unset the graph's hook). */
typedef struct cgan_bnsync cgan_bnsync;
cgan_status cgan_bnsync_create(cgan_ctx *ctx, cgan_dist *d, cgan_graph *g, cgan_bnsync **out);
void cgan_bnsync_destroy(cgan_bnsync *s);

/* ---- the run's agreements (collectives every process makes at the same point) ---- */

/* After a step each process took on its own: CGAN_OK when every process got CGAN_OK; else
 * this process's own error, or one naming the process that failed and `what`. */
cgan_status cgan_run_agree(cgan_ctx *ctx, cgan_dist *d, cgan_status mine, const char *what);
/* Whether any process has its stop flag set (*stopped = 1 on every process then). */
cgan_status cgan_run_stop_agreed(cgan_ctx *ctx, cgan_dist *d, volatile sig_atomic_t *stop, int *stopped);
/* Compare a checksum of G's and D's parameters across the processes: CGAN_E_NUMERIC with
 * the values when they differ. Nothing for one process. Test hook: CGAN_TEST_DIVERGE_RANK (the profile)
 * names a rank whose D parameters are scaled by 1.001 first (tests/check_dist.c). */
cgan_status cgan_dist_check_params(cgan_trainer *t);
#endif
