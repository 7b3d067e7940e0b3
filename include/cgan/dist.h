/* cgan/dist.h: the processes of a data-parallel job (see doc/scaling.md).
 *
 * A small collective interface: rank, size, all-reduce, broadcast, barrier. Started by
 * mpirun or srun in a build with MPI (configure --with-mpi), a cgan_dist spans the MPI
 * world; otherwise it is a single process (rank 0 of 1) whose collectives do nothing.
 * The trainer calls this interface and never MPI itself, so another engine can sit behind
 * it. Errors of the calls that take a context are recorded on it (CGAN_E_IO: the
 * collective failed). */
#ifndef CGAN_API_DIST_H
#define CGAN_API_DIST_H
#include <stddef.h>
#include "cgan/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cgan_dist cgan_dist;

typedef enum cgan_dist_type { CGAN_DIST_F32 = 0, CGAN_DIST_F64, CGAN_DIST_I64 } cgan_dist_type;
typedef enum cgan_dist_op { CGAN_DIST_SUM = 0, CGAN_DIST_MIN, CGAN_DIST_MAX } cgan_dist_op;

/* Join the job this process was started in. Under a launcher (mpirun/srun: Open MPI's,
 * PMI's or PMIx's environment variables) in an MPI build, MPI is initialised (thread level
 * FUNNELED) and the job's world is used; without a launcher, a single process. Launched
 * with more than one process by a build without MPI: CGAN_E_UNSUPPORTED. On failure the
 * message goes to err (errlen bytes) and *out is NULL. Once per process. */
CGAN_API cgan_status cgan_dist_init(cgan_dist **out, char *err, size_t errlen);
/* Leave the job (MPI_Finalize); NULL is accepted. */
CGAN_API void cgan_dist_finalize(cgan_dist *d);
/* Stop every process of the job at once after an error on this one (MPI_Abort; a no-op
 * for a single process). For the command line, after it has printed the error. */
CGAN_API void cgan_dist_abort(cgan_dist *d, int code);

CGAN_API int cgan_dist_rank(const cgan_dist *d);        /* 0 .. size-1; 0 for NULL */
CGAN_API int cgan_dist_size(const cgan_dist *d);        /* 1 for NULL */
CGAN_API int cgan_dist_local_rank(const cgan_dist *d);  /* rank among this node's processes */
CGAN_API int cgan_dist_local_size(const cgan_dist *d);
CGAN_API const char *cgan_dist_backend(const cgan_dist *d); /* "mpi" or "single" */

/* In-place all-reduce of n values (every rank passes the same n, type and op). */
CGAN_API cgan_status cgan_dist_allreduce(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t n, cgan_dist_type type,
                                         cgan_dist_op op);
/* Non-blocking in-place sum of n floats: returns a request slot in *req (a small integer)
 * to finish with cgan_dist_wait; at most CGAN_DIST_MAX_REQ in flight. buf must stay
 * untouched until then. */
#define CGAN_DIST_MAX_REQ 64
CGAN_API cgan_status cgan_dist_iallreduce_f32(cgan_dist *d, cgan_ctx *ctx, float *buf, size_t n, int *req);
/* Finish request req (blocking), or (cgan_dist_test) see whether it is done (*done = 1) and
 * let the library progress. */
CGAN_API cgan_status cgan_dist_wait(cgan_dist *d, cgan_ctx *ctx, int req);
CGAN_API cgan_status cgan_dist_test(cgan_dist *d, cgan_ctx *ctx, int req, int *done);
/* Every rank's n values (send) into recv, n * size values in rank order: recv[r*n ..] holds
 * rank r's (send and recv must not overlap). It runs on a communicator of its own, so it
 * may be called (blocking) while cgan_dist_iallreduce_f32 requests are in flight and started
 * in another order on other ranks; every rank must make the same sequence of allgathers. */
CGAN_API cgan_status cgan_dist_allgather(cgan_dist *d, cgan_ctx *ctx, const void *send, void *recv, size_t n,
                                         cgan_dist_type type);
/* Broadcast bytes from root to every rank. */
CGAN_API cgan_status cgan_dist_broadcast(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t bytes, int root);
CGAN_API cgan_status cgan_dist_barrier(cgan_dist *d, cgan_ctx *ctx);

/* Pick this process's device from a --device value for local rank `local` of `nlocal`:
 * a comma list "0,1,2" gives entry local (an error when too short), a single entry is used
 * by every rank, and NULL or "" give NULL (the caller then picks round-robin among the
 * GPUs: see cgan_ctx_open). out receives the entry (outlen bytes). */
CGAN_API cgan_status cgan_dist_device_spec(const char *spec, int local, int nlocal, char *out, size_t outlen,
                                           char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_DIST_H */
