/* The MPI engine of the collective interface (cgan/dist.h). Every MPI return code is
 * checked; errors name the call and carry MPI's own text. Communicators: a duplicate of
 * the world (so a library user's traffic never meets ours) and a per-node split for the
 * local rank. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include "config.h"
#include "dist_impl.h"
#include "runtime/runtime.h"

typedef struct mpi_impl {
    MPI_Comm world, node;
    MPI_Comm side;               /* blocking allgathers (--sync-bn) while world has requests in flight */
    MPI_Request req[CGAN_DIST_MAX_REQ];
    int owns_init;               /* MPI_Init was ours: finalize it */
} mpi_impl;

static cgan_status mpi_fail(cgan_ctx *ctx, int rc, const char *call)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", rc);
    return cgan_error(ctx, CGAN_E_IO, "%s failed: %s", call, text);
}

#define MPI_TRY(ctx, call, name) do { int rc_ = (call); if (rc_ != MPI_SUCCESS) return mpi_fail(ctx, rc_, name); } while (0)

static MPI_Datatype mpi_type(cgan_dist_type t)
{
    return t == CGAN_DIST_F64 ? MPI_DOUBLE : t == CGAN_DIST_I64 ? MPI_INT64_T : MPI_FLOAT;
}

static MPI_Op mpi_op(cgan_dist_op op)
{
    return op == CGAN_DIST_MIN ? MPI_MIN : op == CGAN_DIST_MAX ? MPI_MAX : MPI_SUM;
}

static cgan_status m_allreduce(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t n, cgan_dist_type t, cgan_dist_op op)
{
    mpi_impl *m = d->impl;
    const size_t esz = t == CGAN_DIST_F32 ? 4 : 8;
    for (size_t off = 0; off < n;) { /* MPI counts are ints */
        size_t c = n - off < (size_t)INT_MAX ? n - off : (size_t)INT_MAX;
        MPI_TRY(ctx, MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * esz, (int)c, mpi_type(t), mpi_op(op), m->world),
                "MPI_Allreduce");
        off += c;
    }
    return CGAN_OK;
}

static cgan_status m_iallreduce(cgan_dist *d, cgan_ctx *ctx, float *buf, size_t n, int *req)
{
    mpi_impl *m = d->impl;
    if (n > (size_t)INT_MAX) return cgan_error(ctx, CGAN_E_INVALID, "MPI_Iallreduce: %zu floats in one bucket", n);
    int slot = -1;
    for (int i = 0; i < CGAN_DIST_MAX_REQ && slot < 0; i++)
        if (m->req[i] == MPI_REQUEST_NULL) slot = i;
    if (slot < 0) return cgan_error(ctx, CGAN_E_INVALID, "MPI_Iallreduce: more than %d requests in flight", CGAN_DIST_MAX_REQ);
    MPI_TRY(ctx, MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, m->world, &m->req[slot]),
            "MPI_Iallreduce");
    *req = slot;
    return CGAN_OK;
}

static cgan_status m_test(cgan_dist *d, cgan_ctx *ctx, int req, int wait, int *done)
{
    mpi_impl *m = d->impl;
    if (req < 0 || req >= CGAN_DIST_MAX_REQ) return cgan_error(ctx, CGAN_E_INVALID, "no MPI request %d", req);
    if (wait) {
        MPI_TRY(ctx, MPI_Wait(&m->req[req], MPI_STATUS_IGNORE), "MPI_Wait");
        *done = 1;
    } else {
        MPI_TRY(ctx, MPI_Test(&m->req[req], done, MPI_STATUS_IGNORE), "MPI_Test");
    }
    return CGAN_OK;
}

static cgan_status m_allgather(cgan_dist *d, cgan_ctx *ctx, const void *send, void *recv, size_t n,
                               cgan_dist_type t)
{
    mpi_impl *m = d->impl;
    if (n > (size_t)INT_MAX) return cgan_error(ctx, CGAN_E_INVALID, "MPI_Allgather: %zu values per process", n);
    MPI_TRY(ctx, MPI_Allgather(send, (int)n, mpi_type(t), recv, (int)n, mpi_type(t), m->side), "MPI_Allgather");
    return CGAN_OK;
}

static cgan_status m_broadcast(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t bytes, int root)
{
    mpi_impl *m = d->impl;
    for (size_t off = 0; off < bytes;) {
        size_t c = bytes - off < (size_t)INT_MAX ? bytes - off : (size_t)INT_MAX;
        MPI_TRY(ctx, MPI_Bcast((char *)buf + off, (int)c, MPI_BYTE, root, m->world), "MPI_Bcast");
        off += c;
    }
    return CGAN_OK;
}

static cgan_status m_barrier(cgan_dist *d, cgan_ctx *ctx)
{
    MPI_TRY(ctx, MPI_Barrier(((mpi_impl *)d->impl)->world), "MPI_Barrier");
    return CGAN_OK;
}

static void m_finalize(cgan_dist *d)
{
    mpi_impl *m = d->impl;
    if (!m) return;
    for (int i = 0; i < CGAN_DIST_MAX_REQ; i++)
        if (m->req[i] != MPI_REQUEST_NULL) MPI_Wait(&m->req[i], MPI_STATUS_IGNORE);
    if (m->node != MPI_COMM_NULL) MPI_Comm_free(&m->node);
    if (m->side != MPI_COMM_NULL) MPI_Comm_free(&m->side);
    if (m->world != MPI_COMM_NULL) MPI_Comm_free(&m->world);
    int fin = 0;
    if (m->owns_init && MPI_Finalized(&fin) == MPI_SUCCESS && !fin) MPI_Finalize();
    free(m);
    d->impl = NULL;
}

static void m_abort(cgan_dist *d, int code)
{
    MPI_Abort(MPI_COMM_WORLD, code);
    (void)d;
}

static const dist_ops mpi_ops = { "mpi", m_allreduce, m_iallreduce, m_test, m_allgather, m_broadcast, m_barrier,
                                  m_finalize, m_abort };

#define OPEN_TRY(call, name) do { int rc_ = (call); if (rc_ != MPI_SUCCESS) { \
    char t_[MPI_MAX_ERROR_STRING] = ""; int l_ = 0; MPI_Error_string(rc_, t_, &l_); \
    snprintf(err, errlen, "%s failed: %s", name, t_); goto fail; } } while (0)

cgan_status cgan_dist_mpi_open(cgan_dist *d, char *err, size_t errlen)
{
    mpi_impl *m = calloc(1, sizeof *m);
    if (!m) { snprintf(err, errlen, "out of memory"); return CGAN_E_NOMEM; }
    m->world = m->node = m->side = MPI_COMM_NULL;
    for (int i = 0; i < CGAN_DIST_MAX_REQ; i++) m->req[i] = MPI_REQUEST_NULL;
    int inited = 0, provided = 0;
    OPEN_TRY(MPI_Initialized(&inited), "MPI_Initialized");
    if (!inited) {
        /* only the main thread calls MPI (the loader's threads never do) */
        OPEN_TRY(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
        m->owns_init = 1;
    }
    /* errors come back as codes, checked at every call, instead of aborting the job */
    OPEN_TRY(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    OPEN_TRY(MPI_Comm_dup(MPI_COMM_WORLD, &m->world), "MPI_Comm_dup");
    OPEN_TRY(MPI_Comm_set_errhandler(m->world, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    OPEN_TRY(MPI_Comm_dup(m->world, &m->side), "MPI_Comm_dup");
    OPEN_TRY(MPI_Comm_set_errhandler(m->side, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    OPEN_TRY(MPI_Comm_rank(m->world, &d->rank), "MPI_Comm_rank");
    OPEN_TRY(MPI_Comm_size(m->world, &d->size), "MPI_Comm_size");
    OPEN_TRY(MPI_Comm_split_type(m->world, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &m->node),
             "MPI_Comm_split_type");
    OPEN_TRY(MPI_Comm_rank(m->node, &d->local_rank), "MPI_Comm_rank");
    OPEN_TRY(MPI_Comm_size(m->node, &d->local_size), "MPI_Comm_size");
    d->impl = m;
    d->ops = &mpi_ops;
    return CGAN_OK;
fail:
    d->impl = m;
    m_finalize(d);
    return CGAN_E_IO;
}
