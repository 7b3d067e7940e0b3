/* The collective interface's engines (cgan/dist.h): a table of operations per engine.
 * dist.c holds the single-process engine and the dispatch; dist_mpi.c the MPI one. */
#ifndef CGAN_DIST_IMPL_H
#define CGAN_DIST_IMPL_H
#include "cgan/dist.h"

typedef struct dist_ops {
    const char *name;
    cgan_status (*allreduce)(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t n, cgan_dist_type t, cgan_dist_op op);
    cgan_status (*iallreduce)(cgan_dist *d, cgan_ctx *ctx, float *buf, size_t n, int *req);
    cgan_status (*test)(cgan_dist *d, cgan_ctx *ctx, int req, int wait, int *done);
    cgan_status (*allgather)(cgan_dist *d, cgan_ctx *ctx, const void *send, void *recv, size_t n, cgan_dist_type t);
    cgan_status (*broadcast)(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t bytes, int root);
    cgan_status (*barrier)(cgan_dist *d, cgan_ctx *ctx);
    void (*finalize)(cgan_dist *d);
    void (*abort)(cgan_dist *d, int code);
} dist_ops;

struct cgan_dist {
    const dist_ops *ops;
    int rank, size, local_rank, local_size;
    void *impl;
};

/* The size a launcher gave this process's job from its environment (Open MPI, PMI, PMIx,
 * Slurm's srun), 1 when none. */
int cgan_dist_launched_size(void);

#ifdef CGAN_HAVE_MPI
/* Initialise MPI and fill d (rank, size, local rank, ops). */
cgan_status cgan_dist_mpi_open(cgan_dist *d, char *err, size_t errlen);
#endif
#endif
