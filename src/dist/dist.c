/* The collective interface (cgan/dist.h): dispatch and the single-process engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "dist_impl.h"

static cgan_status one_allreduce(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t n, cgan_dist_type t, cgan_dist_op op)
{
    (void)d; (void)ctx; (void)buf; (void)n; (void)t; (void)op;
    return CGAN_OK;
}

static cgan_status one_iallreduce(cgan_dist *d, cgan_ctx *ctx, float *buf, size_t n, int *req)
{
    (void)d; (void)ctx; (void)buf; (void)n;
    *req = 0;
    return CGAN_OK;
}

static cgan_status one_test(cgan_dist *d, cgan_ctx *ctx, int req, int wait, int *done)
{
    (void)d; (void)ctx; (void)req; (void)wait;
    *done = 1;
    return CGAN_OK;
}

static size_t type_size(cgan_dist_type t) { return t == CGAN_DIST_F32 ? 4 : 8; }

static cgan_status one_allgather(cgan_dist *d, cgan_ctx *ctx, const void *send, void *recv, size_t n,
                                 cgan_dist_type t)
{
    (void)d; (void)ctx;
    if (recv != send) memmove(recv, send, n * type_size(t));
    return CGAN_OK;
}

static cgan_status one_broadcast(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t bytes, int root)
{
    (void)d; (void)ctx; (void)buf; (void)bytes; (void)root;
    return CGAN_OK;
}

static cgan_status one_barrier(cgan_dist *d, cgan_ctx *ctx)
{
    (void)d; (void)ctx;
    return CGAN_OK;
}

static void one_finalize(cgan_dist *d) { (void)d; }
static void one_abort(cgan_dist *d, int code) { (void)d; (void)code; }

static const dist_ops single_ops = { "single", one_allreduce, one_iallreduce, one_test, one_allgather,
                                     one_broadcast, one_barrier, one_finalize, one_abort };

static int env_int(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : 0;
}

int cgan_dist_launched_size(void)
{
    /* SLURM_STEP_NUM_TASKS: the tasks of this srun step (SLURM_NTASKS also holds in a batch
     * script that starts cgan-cl without srun) */
    static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        int n = env_int(vars[i]);
        if (n > 0) return n;
    }
    return 1;
}

/* Whether a launcher started this process (then MPI must be initialised even for one). */
static int launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") ||
           env_int("SLURM_STEP_NUM_TASKS") > 1;
}

cgan_status cgan_dist_init(cgan_dist **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen) err[0] = '\0';
    cgan_dist *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return CGAN_E_NOMEM;
    }
    d->ops = &single_ops;
    d->rank = d->local_rank = 0;
    d->size = d->local_size = 1;
    if (launched()) {
#ifdef CGAN_HAVE_MPI
        cgan_status st = cgan_dist_mpi_open(d, err, errlen);
        if (st != CGAN_OK) {
            free(d);
            return st;
        }
#else
        int n = cgan_dist_launched_size();
        if (n > 1) {
            snprintf(err, errlen, "started by a launcher (mpirun or srun) as one of %d processes, but this cgan-cl was "
                     "built without MPI: install libopenmpi-dev and configure --with-mpi", n);
            free(d);
            return CGAN_E_UNSUPPORTED;
        }
#endif
    }
    *out = d;
    return CGAN_OK;
}

void cgan_dist_finalize(cgan_dist *d)
{
    if (!d) return;
    d->ops->finalize(d);
    free(d);
}

void cgan_dist_abort(cgan_dist *d, int code)
{
    if (d && d->size > 1) d->ops->abort(d, code);
}

int cgan_dist_rank(const cgan_dist *d) { return d ? d->rank : 0; }
int cgan_dist_size(const cgan_dist *d) { return d ? d->size : 1; }
int cgan_dist_local_rank(const cgan_dist *d) { return d ? d->local_rank : 0; }
int cgan_dist_local_size(const cgan_dist *d) { return d ? d->local_size : 1; }
const char *cgan_dist_backend(const cgan_dist *d) { return d ? d->ops->name : single_ops.name; }

cgan_status cgan_dist_allreduce(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t n, cgan_dist_type type,
                                cgan_dist_op op)
{
    return d && n ? d->ops->allreduce(d, ctx, buf, n, type, op) : CGAN_OK;
}

cgan_status cgan_dist_iallreduce_f32(cgan_dist *d, cgan_ctx *ctx, float *buf, size_t n, int *req)
{
    if (!d) { *req = 0; return CGAN_OK; }
    return d->ops->iallreduce(d, ctx, buf, n, req);
}

cgan_status cgan_dist_wait(cgan_dist *d, cgan_ctx *ctx, int req)
{
    int done = 0;
    return d ? d->ops->test(d, ctx, req, 1, &done) : CGAN_OK;
}

cgan_status cgan_dist_test(cgan_dist *d, cgan_ctx *ctx, int req, int *done)
{
    *done = 1;
    return d ? d->ops->test(d, ctx, req, 0, done) : CGAN_OK;
}

cgan_status cgan_dist_allgather(cgan_dist *d, cgan_ctx *ctx, const void *send, void *recv, size_t n,
                                cgan_dist_type type)
{
    if (!n) return CGAN_OK;
    return d ? d->ops->allgather(d, ctx, send, recv, n, type) : one_allgather(d, ctx, send, recv, n, type);
}

cgan_status cgan_dist_broadcast(cgan_dist *d, cgan_ctx *ctx, void *buf, size_t bytes, int root)
{
    return d && bytes ? d->ops->broadcast(d, ctx, buf, bytes, root) : CGAN_OK;
}

cgan_status cgan_dist_barrier(cgan_dist *d, cgan_ctx *ctx)
{
    return d ? d->ops->barrier(d, ctx) : CGAN_OK;
}

cgan_status cgan_dist_device_spec(const char *spec, int local, int nlocal, char *out, size_t outlen, char *err,
                                  size_t errlen)
{
    if (outlen) out[0] = '\0';
    if (!spec || !*spec) return CGAN_OK;
    if (!strchr(spec, ',')) {
        if (strlen(spec) >= outlen) {
            snprintf(err, errlen, "--device '%s': too long", spec);
            return CGAN_E_INVALID;
        }
        memcpy(out, spec, strlen(spec) + 1);
        return CGAN_OK;
    }
    int entries = 1;
    for (const char *p = spec; *p; p++) entries += *p == ',';
    if (entries < nlocal) {
        snprintf(err, errlen, "--device '%s': %d entries for %d processes on this node; give one per local rank "
                 "(or a single device for all)", spec, entries, nlocal);
        return CGAN_E_INVALID;
    }
    const char *p = spec;
    for (int i = 0; i < local; i++) p = strchr(p, ',') + 1;
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= outlen) {
        snprintf(err, errlen, "--device '%s': entry %d is %s", spec, local, len ? "too long" : "empty");
        return CGAN_E_INVALID;
    }
    memcpy(out, p, len);
    out[len] = '\0';
    return CGAN_OK;
}
