/* The executor: memory planning once per graph and mode; forward and backward passes that
 * only enqueue work. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "exec.h"
#include "graph_impl.h"
#include "core/rng.h"

#define INF_TIME 0x3fffffff

typedef struct planned {
    size_t bytes, offset;
    int start, end;
    cl_mem *slot;          /* where the sub-buffer goes */
} planned;

struct cgan_plan {
    cgan_mode mode;
    uint64_t seed;
    cl_mem params, grads, state, acts, scratch;
    size_t param_floats, state_floats, act_bytes, scratch_bytes, param_count;
    cl_mem *subs;          /* every sub-buffer the plan created, to release */
    int nsubs, capsubs;
    cl_mem *aux;           /* node i, aux j at [i * CGAN_MAX_AUX + j] */
    unsigned char *needs;  /* per tensor, per backward call */
    unsigned char *reached;
    unsigned char *written;
    /* per-node timing for the tools: waits for the queue around every node */
    int profiling;
    double *prof_ms;       /* [node * 2 + (0 forward, 1 backward)] */
    unsigned *prof_calls;
};

void cgan_plan_free(struct cgan_plan *p)
{
    if (!p) return;
    for (int i = 0; i < p->nsubs; i++) cgan_buffer_release(p->subs[i]);
    cgan_buffer_release(p->params);
    cgan_buffer_release(p->grads);
    cgan_buffer_release(p->state);
    cgan_buffer_release(p->acts);
    cgan_buffer_release(p->scratch);
    free(p->subs);
    free(p->aux);
    free(p->needs);
    free(p->reached);
    free(p->written);
    free(p->prof_ms);
    free(p->prof_calls);
    free(p);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

cgan_status cgan_graph_profile(cgan_graph *g, int on)
{
    if (!g->plan) return cgan_error(g->ctx, CGAN_E_INVALID, "profile: graph %s is not planned", g->prefix);
    struct cgan_plan *p = g->plan;
    if (on && !p->prof_ms) {
        p->prof_ms = calloc((size_t)g->nn * 2, sizeof *p->prof_ms);
        p->prof_calls = calloc((size_t)g->nn * 2, sizeof *p->prof_calls);
        if (!p->prof_ms || !p->prof_calls) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
    }
    if (p->prof_ms) {
        memset(p->prof_ms, 0, (size_t)g->nn * 2 * sizeof *p->prof_ms);
        memset(p->prof_calls, 0, (size_t)g->nn * 2 * sizeof *p->prof_calls);
    }
    p->profiling = on;
    return CGAN_OK;
}

void cgan_graph_profile_get(const cgan_graph *g, int node, double *fwd_ms, double *bwd_ms,
                            unsigned *fwd_calls, unsigned *bwd_calls)
{
    const struct cgan_plan *p = g->plan;
    int ok = p && p->prof_ms && node >= 0 && node < g->nn;
    *fwd_ms = ok ? p->prof_ms[2 * node] : 0;
    *bwd_ms = ok ? p->prof_ms[2 * node + 1] : 0;
    *fwd_calls = ok ? p->prof_calls[2 * node] : 0;
    *bwd_calls = ok ? p->prof_calls[2 * node + 1] : 0;
}

/* Run one node's forward or backward, timed when profiling. */
static cgan_status run_node(cgan_graph *g, int i, int backward, const cgan_op_args *a)
{
    const cgan_op_def *d = cgan_op_get(g->nodes[i].op);
    struct cgan_plan *p = g->plan;
    double t0 = 0;
    if (p->profiling) {
        CGAN_TRY(cgan_finish(g->ctx));
        t0 = now_ms();
    }
    cgan_status st = backward ? d->backward(g->ctx, a) : d->forward(g->ctx, a);
    if (st != CGAN_OK)
        return cgan_error_wrap(g->ctx, st, "%s %s", backward ? "backward" : "forward", g->nodes[i].name);
    if (p->profiling) {
        CGAN_TRY(cgan_finish(g->ctx));
        p->prof_ms[2 * i + backward] += now_ms() - t0;
        p->prof_calls[2 * i + backward]++;
    }
    return CGAN_OK;
}

static cgan_status sub(cgan_graph *g, struct cgan_plan *p, cl_mem parent, size_t off, size_t bytes,
                       const char *what, cl_mem *out)
{
    if (p->nsubs == p->capsubs) {
        int cap = p->capsubs ? p->capsubs * 2 : 64;
        cl_mem *ns = realloc(p->subs, (size_t)cap * sizeof *ns);
        if (!ns) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory planning %s", what);
        p->subs = ns;
        p->capsubs = cap;
    }
    CGAN_TRY(cgan_buffer_sub(g->ctx, parent, off, bytes, what, out));
    p->subs[p->nsubs++] = *out;
    return CGAN_OK;
}

cgan_status cgan_graph_requires_grad(cgan_graph *g, int id)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id);
    if (!t || t->kind != CGAN_TENSOR_INPUT)
        return cgan_error(g->ctx, CGAN_E_INVALID, "requires_grad: tensor %d is not an input", id);
    if (g->index_range[id])
        return cgan_error(g->ctx, CGAN_E_INVALID, "requires_grad: %s holds class indices", t->name);
    if (g->plan) return cgan_error(g->ctx, CGAN_E_INVALID, "requires_grad: %s: graph already planned", t->name);
    t->requires_grad = 1;
    return CGAN_OK;
}

cgan_status cgan_graph_bind(cgan_graph *g, int id, cl_mem value, cl_mem grad)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id);
    if (!t || t->kind != CGAN_TENSOR_INPUT)
        return cgan_error(g->ctx, CGAN_E_INVALID, "bind: tensor %d is not an input of graph %s", id, g->prefix);
    if (!value) return cgan_error(g->ctx, CGAN_E_INVALID, "bind %s: no buffer", t->name);
    t->mem = value;
    if (grad) t->grad = grad;
    t->external = 1;
    return CGAN_OK;
}

static int cmp_size_desc(const void *a, const void *b)
{
    const planned *x = *(const planned *const *)a, *y = *(const planned *const *)b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static int cmp_offset(const void *a, const void *b)
{
    const planned *x = *(const planned *const *)a, *y = *(const planned *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

/* Greedy by size: each value goes at the lowest aligned offset free during its lifetime. */
static size_t place(planned *v, int nv, size_t align)
{
    planned **order = malloc((size_t)(nv ? nv : 1) * sizeof *order);
    planned **live = malloc((size_t)(nv ? nv : 1) * sizeof *live);
    size_t total = 0;
    if (!order || !live) { free(order); free(live); return (size_t)-1; }
    for (int i = 0; i < nv; i++) order[i] = &v[i];
    qsort(order, (size_t)nv, sizeof *order, cmp_size_desc);
    for (int i = 0; i < nv; i++) {
        planned *x = order[i];
        int nl = 0;
        for (int j = 0; j < i; j++)
            if (order[j]->start <= x->end && x->start <= order[j]->end) live[nl++] = order[j];
        qsort(live, (size_t)nl, sizeof *live, cmp_offset);
        size_t off = 0;
        for (int j = 0; j < nl; j++) {
            if (off + x->bytes <= live[j]->offset) break;
            size_t e = cgan_align_up(live[j]->offset + live[j]->bytes, align);
            if (e > off) off = e;
        }
        x->offset = off;
        if (off + x->bytes > total) total = off + x->bytes;
    }
    free(order);
    free(live);
    return cgan_align_up(total, align);
}

static uint32_t name_stream(const char *name)
{
    uint64_t h = cgan_hash64(name, strlen(name), 0);
    return (uint32_t)(h ^ (h >> 32));
}

static cgan_status init_params(cgan_graph *g, struct cgan_plan *p)
{
    for (int i = 0; i < g->nt; i++) {
        cgan_gtensor *t = &g->t[i];
        if (t->kind != CGAN_TENSOR_PARAM && t->kind != CGAN_TENSOR_STATE) continue;
        size_t n = cgan_numel(t->shape);
        float *h = malloc(n * sizeof *h);
        if (!h) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory initialising %s", t->name);
        cgan_rng r;
        cgan_rng_init(&r, p->seed, name_stream(t->name));
        if (t->init == CGAN_INIT_NORMAL) cgan_rng_fill_normal(&r, h, n, t->init_mean, t->init_std);
        else if (t->init == CGAN_INIT_UNIFORM) cgan_rng_fill_uniform(&r, h, n, -t->init_std, t->init_std);
        else for (size_t j = 0; j < n; j++) h[j] = t->init_mean;
        cgan_status st = cgan_buffer_write(g->ctx, t->mem, 0, n * sizeof(float), h);
        free(h);
        if (st != CGAN_OK) return cgan_error_wrap(g->ctx, st, "initialising %s", t->name);
    }
    return CGAN_OK;
}

/* A plan over CGAN_MAX_ALLOC fails before any buffer is created, naming its largest arena
 * and its largest tensor with their sizes. */
static cgan_status check_cap(cgan_graph *g, size_t params, size_t grads, size_t state,
                             size_t acts, size_t scratch)
{
    const size_t cap = g->ctx->profile.max_alloc;
    const size_t part[5] = { params, grads, state, acts, scratch };
    static const char *const names[5] = { "parameters", "gradients", "state", "activations", "scratch" };
    size_t total = 0;
    int big = 0, bt = -1;
    for (int i = 0; i < 5; i++) {
        total += part[i];
        if (part[i] > part[big]) big = i;
    }
    const size_t live = cgan_mem_live(g->ctx); /* what the context's other buffers hold */
    if (!cap || (total <= cap && live <= cap - total)) return CGAN_OK;
    size_t tb = 0;
    for (int i = 0; i < g->nt; i++) {
        size_t b = cgan_numel(g->t[i].shape) * sizeof(float);
        if (b > tb) { tb = b; bt = i; }
    }
    return cgan_error(g->ctx, CGAN_E_NOMEM,
                      "%s: the plan needs %zu bytes of device memory, which with the %zu the context "
                      "holds already is over CGAN_MAX_ALLOC=%zu "
                      "(parameters %zu, gradients %zu, state %zu, activations %zu, scratch %zu; "
                      "largest arena '%s', %zu bytes; largest tensor '%s', %zu bytes); "
                      "nothing was allocated or run",
                      g->prefix, total, live, cap, params, grads, state, acts, scratch, names[big],
                      part[big], bt >= 0 ? g->t[bt].name : "-", tb);
}

cgan_status cgan_graph_plan(cgan_graph *g, cgan_mode mode, uint64_t seed)
{
    cgan_ctx *ctx = g->ctx;
    if (g->status != CGAN_OK) return g->status;
    if (g->plan) return cgan_error(ctx, CGAN_E_INVALID, "graph %s is already planned", g->prefix);
    if (g->nn == 0) return cgan_error(ctx, CGAN_E_INVALID, "graph %s has no nodes", g->prefix);
    for (int i = 0; i < g->nn; i++) {
        const cgan_op_def *d = cgan_op_get(g->nodes[i].op);
        if (!d || !d->forward || (mode == CGAN_MODE_TRAIN && !d->backward))
            return cgan_error(ctx, CGAN_E_NOT_FOUND, "node %s: op not available", g->nodes[i].name);
        for (int a = 0; a < g->nodes[i].n_in; a++)
            for (int b = 0; b < a; b++)
                if (g->nodes[i].in[a] == g->nodes[i].in[b])
                    return cgan_error(ctx, CGAN_E_INVALID, "node %s reads %s twice", g->nodes[i].name,
                                      g->t[g->nodes[i].in[a]].name);
    }
    struct cgan_plan *p = calloc(1, sizeof *p);
    planned *v = NULL;
    int *last_fwd = NULL, *last_bwd = NULL, *first_bwd = NULL;
    cgan_status st = CGAN_OK;
    if (!p) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory planning %s", g->prefix);
    p->mode = mode;
    p->seed = seed;
    const size_t al = ctx->profile.mem_align;
    const int n = g->nn, train = mode == CGAN_MODE_TRAIN;
    p->aux = calloc((size_t)n * CGAN_MAX_AUX, sizeof *p->aux);
    p->needs = calloc((size_t)g->nt, 1);
    p->reached = calloc((size_t)g->nt, 1);
    p->written = calloc((size_t)g->nt, 1);
    if (!p->aux || !p->needs || !p->reached || !p->written) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto fail; }

    /* parameters, their gradients, state: contiguous arenas with aligned slots */
    size_t poff = 0, soff = 0;
    for (int i = 0; i < g->nt; i++) {
        cgan_gtensor *t = &g->t[i];
        size_t bytes = cgan_numel(t->shape) * sizeof(float);
        if (t->kind == CGAN_TENSOR_PARAM) {
            t->arena_offset = poff / sizeof(float);
            poff = cgan_align_up(poff + bytes, al);
            p->param_count += cgan_numel(t->shape);
        } else if (t->kind == CGAN_TENSOR_STATE) {
            t->arena_offset = soff / sizeof(float);
            soff = cgan_align_up(soff + bytes, al);
        }
    }
    p->param_floats = poff / sizeof(float);
    p->state_floats = soff / sizeof(float);
    /* lifetimes: node i runs forward at time i and backward at time 2n-1-i */
    last_fwd = malloc((size_t)g->nt * sizeof *last_fwd);
    last_bwd = malloc((size_t)g->nt * sizeof *last_bwd);
    first_bwd = malloc((size_t)g->nt * sizeof *first_bwd);
    v = calloc((size_t)(2 * g->nt + n * CGAN_MAX_AUX + 1), sizeof *v);
    if (!last_fwd || !last_bwd || !first_bwd || !v) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto fail; }
    for (int i = 0; i < g->nt; i++) { last_fwd[i] = -1; last_bwd[i] = -1; first_bwd[i] = INF_TIME; }
    for (int i = 0; i < n; i++) {
        const cgan_node *nd = &g->nodes[i];
        const cgan_op_def *d = cgan_op_get(nd->op);
        int bt = 2 * n - 1 - i;
        for (int j = 0; j < nd->n_in; j++) {
            int id = nd->in[j];
            last_fwd[id] = i;
            if (train && (d->flags & CGAN_BWD_NEEDS_INPUT) && bt > last_bwd[id]) last_bwd[id] = bt;
            if (bt < first_bwd[id]) first_bwd[id] = bt;
        }
        if (train && (d->flags & CGAN_BWD_NEEDS_OUTPUT) && bt > last_bwd[nd->out]) last_bwd[nd->out] = bt;
        /* a parameter slot fed by another node's output (spectral_norm's W / sigma) is read
         * like an input, forward and backward */
        for (int j = 0; j < nd->n_param; j++) {
            int id = nd->param[j];
            if (g->t[id].kind != CGAN_TENSOR_ACT) continue;
            last_fwd[id] = i;
            if (train && bt > last_bwd[id]) last_bwd[id] = bt;
            if (bt < first_bwd[id]) first_bwd[id] = bt;
        }
    }
    int nv = 0;
    for (int i = 0; i < g->nt; i++) {
        cgan_gtensor *t = &g->t[i];
        size_t bytes = cgan_numel(t->shape) * sizeof(float);
        if (t->kind == CGAN_TENSOR_INPUT) {
            if (!t->mem) v[nv++] = (planned){ bytes, 0, 0, INF_TIME, &t->mem };
            if (train && t->requires_grad && !t->grad) v[nv++] = (planned){ bytes, 0, 0, INF_TIME, &t->grad };
        } else if (t->kind == CGAN_TENSOR_ACT) {
            int prod = cgan_graph_producer(g, i);
            int end = last_fwd[i] < 0 ? INF_TIME : last_fwd[i];
            if (last_bwd[i] > end) end = last_bwd[i];
            v[nv++] = (planned){ bytes, 0, prod, end, &t->mem };
            if (train) {
                int start = last_fwd[i] < 0 ? n - 1 : first_bwd[i];
                v[nv++] = (planned){ bytes, 0, start, 2 * n - 1 - prod, &t->grad };
            }
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].n_aux; j++) {
            size_t bytes = cgan_numel(g->nodes[i].aux_shape[j]) * sizeof(float);
            v[nv++] = (planned){ bytes, 0, i, train ? 2 * n - 1 - i : i, &p->aux[i * CGAN_MAX_AUX + j] };
        }
    p->act_bytes = place(v, nv, al);
    if (p->act_bytes == (size_t)-1) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory planning"); goto fail; }
    size_t work = 0;
    for (int i = 0; i < n; i++) if (g->nodes[i].work_floats > work) work = g->nodes[i].work_floats;
    p->scratch_bytes = work * sizeof(float);
    /* the whole plan against CGAN_MAX_ALLOC, before any buffer exists or any work is done */
    if ((st = check_cap(g, poff, train ? poff : 0, soff, p->act_bytes, p->scratch_bytes))) goto fail;
    if (poff) {
        if ((st = cgan_buffer_create(ctx, poff, "parameters", &p->params))) goto fail;
        if ((st = cgan_buffer_fill_f32(ctx, p->params, 0, p->param_floats, 0.f))) goto fail;
        if (train) {
            if ((st = cgan_buffer_create(ctx, poff, "gradients", &p->grads))) goto fail;
            if ((st = cgan_buffer_fill_f32(ctx, p->grads, 0, p->param_floats, 0.f))) goto fail;
        }
    }
    if (soff) {
        if ((st = cgan_buffer_create(ctx, soff, "state", &p->state))) goto fail;
        if ((st = cgan_buffer_fill_f32(ctx, p->state, 0, p->state_floats, 0.f))) goto fail;
    }
    for (int i = 0; i < g->nt; i++) {
        cgan_gtensor *t = &g->t[i];
        size_t bytes = cgan_numel(t->shape) * sizeof(float), off = t->arena_offset * sizeof(float);
        if (t->kind == CGAN_TENSOR_PARAM) {
            if ((st = sub(g, p, p->params, off, bytes, t->name, &t->mem))) goto fail;
            if (train && (st = sub(g, p, p->grads, off, bytes, t->name, &t->grad))) goto fail;
        } else if (t->kind == CGAN_TENSOR_STATE) {
            if ((st = sub(g, p, p->state, off, bytes, t->name, &t->mem))) goto fail;
        }
    }

    if (p->act_bytes) {
        if ((st = cgan_buffer_create(ctx, p->act_bytes, "activations", &p->acts))) goto fail;
        for (int i = 0; i < nv; i++)
            if ((st = sub(g, p, p->acts, v[i].offset, v[i].bytes, "activation", v[i].slot))) goto fail;
    }
    if (work && (st = cgan_buffer_create(ctx, p->scratch_bytes, "scratch", &p->scratch))) goto fail;
    g->plan = p;
    if ((st = init_params(g, p)) != CGAN_OK) { g->plan = NULL; goto fail; }
    free(v); free(last_fwd); free(last_bwd); free(first_bwd);
    return CGAN_OK;
fail:
    for (int i = 0; i < g->nt; i++) {
        cgan_gtensor *t = &g->t[i];
        if (!t->external) { t->mem = NULL; t->grad = NULL; }
    }
    cgan_plan_free(p);
    free(v); free(last_fwd); free(last_bwd); free(first_bwd);
    return st;
}

static cgan_status need_plan(cgan_graph *g, const char *what)
{
    if (!g->plan) return cgan_error(g->ctx, CGAN_E_INVALID, "%s: graph %s is not planned", what, g->prefix);
    return CGAN_OK;
}

static void node_args(cgan_graph *g, int i, int train, cgan_op_args *a)
{
    const cgan_node *nd = &g->nodes[i];
    memset(a, 0, sizeof *a);
    a->node = nd;
    a->train = train;
    for (int j = 0; j < nd->n_in; j++) a->in[j] = g->t[nd->in[j]].mem;
    a->out = g->t[nd->out].mem;
    for (int j = 0; j < nd->n_param; j++) a->param[j] = g->t[nd->param[j]].mem;
    for (int j = 0; j < nd->n_state; j++) a->state[j] = g->t[nd->state[j]].mem;
    for (int j = 0; j < nd->n_aux; j++) a->aux[j] = g->plan->aux[i * CGAN_MAX_AUX + j];
    a->work = g->plan->scratch;
    a->seed = g->plan->seed;
    a->bn_sync = train ? g->bn_sync : NULL;
}

cgan_status cgan_graph_forward(cgan_graph *g, int train, uint64_t counter)
{
    CGAN_TRY(need_plan(g, "forward"));
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].kind == CGAN_TENSOR_INPUT && !g->t[i].mem)
            return cgan_error(g->ctx, CGAN_E_INVALID, "forward: input %s is not bound", g->t[i].name);
    for (int i = 0; i < g->nn; i++) {
        cgan_op_args a;
        node_args(g, i, train, &a);
        a.counter = (counter << 16) + (uint64_t)i;
        CGAN_TRY(run_node(g, i, 0, &a));
    }
    return CGAN_OK;
}

/* The first gradient offset (floats) that no node before node i writes: what backward
 * has finished once node i's kernels ran (the parameters of a node follow those of the
 * nodes before it in the arena). */
static size_t grads_ready_from(const cgan_graph *g, int i)
{
    size_t end = 0;
    for (int k = 0; k < i; k++)
        for (int j = 0; j < g->nodes[k].n_param; j++) {
            const cgan_gtensor *t = &g->t[g->nodes[k].param[j]];
            size_t e = t->arena_offset + cgan_numel(t->shape);
            if (e > end) end = e;
        }
    return end;
}

cgan_status cgan_graph_backward(cgan_graph *g, int seed_id, unsigned what)
{
    CGAN_TRY(need_plan(g, "backward"));
    struct cgan_plan *p = g->plan;
    if (p->mode != CGAN_MODE_TRAIN)
        return cgan_error(g->ctx, CGAN_E_INVALID, "backward: graph %s was planned for evaluation", g->prefix);
    /* which tensors need a gradient for this call */
    for (int i = 0; i < g->nt; i++) {
        const cgan_gtensor *t = &g->t[i];
        p->needs[i] = t->kind == CGAN_TENSOR_INPUT && t->requires_grad && t->grad && (what & CGAN_GRAD_INPUTS);
        p->reached[i] = 0;
        p->written[i] = 0;
    }
    for (int i = 0; i < g->nn; i++) {
        const cgan_node *nd = &g->nodes[i];
        int need = (what & CGAN_GRAD_PARAMS) && nd->n_param > 0;
        for (int j = 0; j < nd->n_in; j++) need |= p->needs[nd->in[j]];
        p->needs[nd->out] = (unsigned char)need;
    }
    if (seed_id >= 0) {
        cgan_gtensor *t = cgan_graph_tensor(g, seed_id);
        if (!t || !t->grad) return cgan_error(g->ctx, CGAN_E_INVALID, "backward: tensor %d has no gradient", seed_id);
        CGAN_TRY(cgan_buffer_fill_f32(g->ctx, t->grad, 0, cgan_numel(t->shape), 1.0f));
        p->reached[seed_id] = 1;
    } else {
        for (int i = 0; i < g->nn; i++) {
            int out = g->nodes[i].out, used = 0;
            for (int k = 0; k < g->nn && !used; k++) {
                for (int j = 0; j < g->nodes[k].n_in; j++) used |= g->nodes[k].in[j] == out;
                for (int j = 0; j < g->nodes[k].n_param; j++) used |= g->nodes[k].param[j] == out;
            }
            if (!used) p->reached[out] = 1;
        }
    }
    for (int i = g->nn - 1; i >= 0; i--) {
        const cgan_node *nd = &g->nodes[i];
        if (!p->reached[nd->out] || !p->needs[nd->out]) continue;
        cgan_op_args a;
        node_args(g, i, 1, &a);
        a.dout = g->t[nd->out].grad;
        for (int j = 0; j < nd->n_in; j++) {
            int id = nd->in[j];
            if (!p->needs[id]) continue;
            a.din[j] = g->t[id].grad;
            a.din_beta[j] = p->written[id] ? 1.0f : 0.0f;
            p->written[id] = 1;
            p->reached[id] = 1;
        }
        if (what & CGAN_GRAD_PARAMS)
            for (int j = 0; j < nd->n_param; j++) {
                int id = nd->param[j];
                a.dparam[j] = g->t[id].grad;
                if (g->t[id].kind != CGAN_TENSOR_ACT) continue;
                /* another node's output: ops accumulate into parameter gradients, so it
                 * starts at 0, and its producer's backward runs next */
                if (!p->written[id])
                    CGAN_TRY(cgan_buffer_fill_f32(g->ctx, g->t[id].grad, 0, cgan_numel(g->t[id].shape), 0.f));
                p->written[id] = p->reached[id] = 1;
            }
        CGAN_TRY(run_node(g, i, 1, &a));
        if (g->grad_hook && (what & CGAN_GRAD_PARAMS) && nd->n_param > 0)
            CGAN_TRY(g->grad_hook(g->grad_hook_user, grads_ready_from(g, i)));
    }
    return CGAN_OK;
}

void cgan_graph_set_grad_hook(cgan_graph *g, cgan_grad_hook fn, void *user)
{
    g->grad_hook = fn;
    g->grad_hook_user = user;
}

void cgan_graph_set_bn_sync(cgan_graph *g, const struct cgan_bn_sync *sync)
{
    g->bn_sync = sync;
}

cgan_status cgan_graph_zero_grad(cgan_graph *g)
{
    CGAN_TRY(need_plan(g, "zero_grad"));
    if (!g->plan->grads) return CGAN_OK;
    return cgan_buffer_fill_f32(g->ctx, g->plan->grads, 0, g->plan->param_floats, 0.f);
}

cl_mem cgan_graph_value(cgan_graph *g, int id)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id);
    return t ? t->mem : NULL;
}

cl_mem cgan_graph_grad(cgan_graph *g, int id)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id);
    return t ? t->grad : NULL;
}

cl_mem cgan_graph_param_arena(cgan_graph *g, size_t *n)
{
    if (n) *n = g->plan ? g->plan->param_floats : 0;
    return g->plan ? g->plan->params : NULL;
}

cl_mem cgan_graph_grad_arena(cgan_graph *g, size_t *n)
{
    if (n) *n = g->plan ? g->plan->param_floats : 0;
    return g->plan ? g->plan->grads : NULL;
}

cl_mem cgan_graph_state_arena(cgan_graph *g, size_t *n)
{
    if (n) *n = g->plan ? g->plan->state_floats : 0;
    return g->plan ? g->plan->state : NULL;
}

size_t cgan_graph_activation_bytes(const cgan_graph *g) { return g->plan ? g->plan->act_bytes : 0; }
size_t cgan_graph_scratch_bytes(const cgan_graph *g) { return g->plan ? g->plan->scratch_bytes : 0; }

size_t cgan_graph_param_count(const cgan_graph *g)
{
    size_t c = 0;
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].kind == CGAN_TENSOR_PARAM) c += cgan_numel(g->t[i].shape);
    return c;
}

static cgan_status copy(cgan_graph *g, int id, int grad, int write, void *host)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id);
    if (!t) return cgan_error(g->ctx, CGAN_E_INVALID, "graph %s: no tensor %d", g->prefix, id);
    cl_mem m = grad ? t->grad : t->mem;
    if (!m) return cgan_error(g->ctx, CGAN_E_INVALID, "tensor %s has no %s buffer", t->name, grad ? "gradient" : "value");
    size_t bytes = cgan_numel(t->shape) * sizeof(float);
    return write ? cgan_buffer_write(g->ctx, m, 0, bytes, host) : cgan_buffer_read(g->ctx, m, 0, bytes, host);
}

cgan_status cgan_graph_write(cgan_graph *g, int id, const float *src) { return copy(g, id, 0, 1, (void *)src); }
cgan_status cgan_graph_read(cgan_graph *g, int id, float *dst) { return copy(g, id, 0, 0, dst); }
cgan_status cgan_graph_read_grad(cgan_graph *g, int id, float *dst) { return copy(g, id, 1, 0, dst); }
cgan_status cgan_graph_write_grad(cgan_graph *g, int id, const float *src) { return copy(g, id, 1, 1, (void *)src); }

cgan_status cgan_graph_bind_tensor(cgan_graph *g, int id, cgan_tensor *value, cgan_tensor *grad)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id);
    if (!t || t->kind != CGAN_TENSOR_INPUT)
        return cgan_error(g->ctx, CGAN_E_INVALID, "bind: tensor %d is not an input of graph %s", id, g->prefix);
    char a[48], b[48];
    if (!value) return cgan_error(g->ctx, CGAN_E_INVALID, "bind %s: no tensor", t->name);
    if (!cgan_shape_eq(cgan_tensor_shape(value), t->shape) || (grad && !cgan_shape_eq(cgan_tensor_shape(grad), t->shape)))
        return cgan_error(g->ctx, CGAN_E_SHAPE, "bind %s: the input is %s, the tensor %s", t->name,
                          cgan_shape_str(t->shape, a, sizeof a),
                          cgan_shape_str(cgan_tensor_shape(cgan_shape_eq(cgan_tensor_shape(value), t->shape) ? grad : value), b, sizeof b));
    return cgan_graph_bind(g, id, cgan_tensor_cl_mem(value), grad ? cgan_tensor_cl_mem(grad) : NULL);
}

cgan_status cgan_graph_connect(cgan_graph *g, int id, cgan_graph *src, int src_id)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id), *s = src ? cgan_graph_tensor(src, src_id) : NULL;
    if (!t || t->kind != CGAN_TENSOR_INPUT)
        return cgan_error(g->ctx, CGAN_E_INVALID, "connect: tensor %d is not an input of graph %s", id, g->prefix);
    if (!s) return cgan_error(g->ctx, CGAN_E_INVALID, "connect %s: no source tensor %d", t->name, src_id);
    if (src->ctx != g->ctx) return cgan_error(g->ctx, CGAN_E_INVALID, "connect %s: %s is on another context", t->name, s->name);
    if (!src->plan) return cgan_error(g->ctx, CGAN_E_INVALID, "connect %s: graph %s is not planned", t->name, src->prefix);
    char a[48], b[48];
    if (!cgan_shape_eq(s->shape, t->shape))
        return cgan_error(g->ctx, CGAN_E_SHAPE, "connect %s %s to %s %s: shapes differ", t->name,
                          cgan_shape_str(t->shape, a, sizeof a), s->name, cgan_shape_str(s->shape, b, sizeof b));
    return cgan_graph_bind(g, id, s->mem, s->grad);
}

uint64_t cgan_plan_seed(const struct cgan_plan *p)
{
    return p ? p->seed : 0;
}
