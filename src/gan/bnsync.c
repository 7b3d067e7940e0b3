/* --sync-bn: BatchNorm statistics over the processes of a data-parallel job (accum.h).
 *
 * Forward: each process's per-plane partial sums (bn_stats_part's 2*N*C floats) are read to
 * the host, gathered from every process (MPI_Allgather on the collective interface's side
 * communicator, so it may run while gradient buckets are in flight) into the layout of one
 * batch of N x processes planes, and written back for bn_stats_final: the statistics are
 * those of the job's whole micro batch, identical on every process, and so are the running
 * statistics. Backward: the two batch terms of the input gradient (2*C floats) are averaged
 * over the processes the same way. OpenCL has no GPU-direct path, so each is a blocking
 * round trip through the host per BatchNorm layer and pass: --sync-bn trades speed for
 * statistics of the global batch (doc/scaling.md). Buffers are sized once, for the largest
 * BatchNorm of the graph. */
#include <stdlib.h>
#include "accum.h"
#include "core/exec.h"
#include "ops/op.h"

struct cgan_bnsync {
    cgan_bn_sync hook;
    cgan_dist *d;
    cl_mem all;           /* 2 * max_nc * ranks floats: the gathered planes */
    float *mine, *gathered;
    size_t max_nc;
};

static cgan_status bnsync_gather(void *user, cgan_ctx *ctx, cl_mem part, size_t n, cl_mem *out)
{
    cgan_bnsync *s = user;
    const size_t R = (size_t)s->hook.ranks;
    if (n > s->max_nc) return cgan_error(ctx, CGAN_E_INVALID, "--sync-bn: %zu planes, buffers hold %zu", n, s->max_nc);
    CGAN_TRY(cgan_buffer_read(ctx, part, 0, 2 * n * sizeof(float), s->mine));
    /* sums of every process first, then their deviations: [r0 sums .. rR-1 sums][r0 devs ..] */
    CGAN_TRY(cgan_dist_allgather(s->d, ctx, s->mine, s->gathered, n, CGAN_DIST_F32));
    CGAN_TRY(cgan_dist_allgather(s->d, ctx, s->mine + n, s->gathered + R * n, n, CGAN_DIST_F32));
    CGAN_TRY(cgan_buffer_write(ctx, s->all, 0, 2 * R * n * sizeof(float), s->gathered));
    *out = s->all;
    return CGAN_OK;
}

static cgan_status bnsync_mean(void *user, cgan_ctx *ctx, cl_mem buf, size_t off, size_t n)
{
    cgan_bnsync *s = user;
    const int R = s->hook.ranks;
    if (n > 2 * s->max_nc) return cgan_error(ctx, CGAN_E_INVALID, "--sync-bn: %zu values, buffers hold %zu", n,
                                             2 * s->max_nc);
    CGAN_TRY(cgan_buffer_read(ctx, buf, off * sizeof(float), n * sizeof(float), s->mine));
    CGAN_TRY(cgan_dist_allgather(s->d, ctx, s->mine, s->gathered, n, CGAN_DIST_F32));
    /* in rank order on every process, so every process gets the same bits */
    for (size_t i = 0; i < n; i++) {
        float v = 0.0f;
        for (int r = 0; r < R; r++) v += s->gathered[(size_t)r * n + i];
        s->mine[i] = v / (float)R;
    }
    return cgan_buffer_write(ctx, buf, off * sizeof(float), n * sizeof(float), s->mine);
}

cgan_status cgan_bnsync_create(cgan_ctx *ctx, cgan_dist *d, cgan_graph *g, cgan_bnsync **out)
{
    *out = NULL;
    size_t max_nc = 0;
    for (int i = 0; i < cgan_graph_node_count(g); i++) {
        const cgan_node *nd = cgan_graph_node(g, i);
        if (nd->op != CGAN_OP_BATCHNORM) continue;
        size_t nc = (size_t)nd->in_shape[0].n * (size_t)nd->in_shape[0].c;
        if (nc > max_nc) max_nc = nc;
    }
    if (!max_nc) return CGAN_OK; /* no BatchNorm: nothing to synchronise */
    cgan_bnsync *s = calloc(1, sizeof *s);
    if (!s) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    const size_t R = (size_t)cgan_dist_size(d);
    s->d = d;
    s->max_nc = max_nc;
    s->hook.ranks = (int)R;
    s->hook.gather = bnsync_gather;
    s->hook.mean = bnsync_mean;
    s->hook.user = s;
    s->mine = malloc(2 * max_nc * sizeof(float));
    s->gathered = malloc(2 * max_nc * R * sizeof(float));
    cgan_status st = s->mine && s->gathered ? CGAN_OK : cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    if (st == CGAN_OK) st = cgan_buffer_create(ctx, 2 * max_nc * R * sizeof(float), "--sync-bn statistics", &s->all);
    if (st != CGAN_OK) {
        cgan_bnsync_destroy(s);
        return st;
    }
    cgan_graph_set_bn_sync(g, &s->hook);
    *out = s;
    return CGAN_OK;
}

void cgan_bnsync_destroy(cgan_bnsync *s)
{
    if (!s) return;
    if (s->all) cgan_buffer_release(s->all);
    free(s->mine);
    free(s->gathered);
    free(s);
}
