/* The op check harness: device vs double reference, forward and backward, plus finite
 * differences of the reference. See opcheck.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "opcheck.h"
#include "graph_impl.h"
#include "core/rng.h"

#define FD_SAMPLES 48
#define FD_STEP 1e-5

typedef struct hbuf {      /* one tensor's host data and device buffer */
    size_t n;
    float *f;              /* what the device got / returned */
    double *d;             /* reference data */
    cl_mem m;
} hbuf;

typedef struct harness {
    cgan_ctx *ctx;
    const cgan_node *nd;
    const cgan_op_def *def;
    hbuf in[CGAN_MAX_IN], din[CGAN_MAX_IN];
    int in_grad[CGAN_MAX_IN];
    hbuf par[CGAN_MAX_PARAM], dpar[CGAN_MAX_PARAM], dpar0[CGAN_MAX_PARAM];
    hbuf st[CGAN_MAX_STATE], st0[CGAN_MAX_STATE];
    hbuf aux[CGAN_MAX_AUX];
    hbuf out, dout, din0[CGAN_MAX_IN];
    cl_mem work;
} harness;

static cgan_status hb_alloc(harness *h, hbuf *b, size_t n, const char *what, int device)
{
    b->n = n;
    b->f = calloc(n ? n : 1, sizeof *b->f);
    b->d = calloc(n ? n : 1, sizeof *b->d);
    if (!b->f || !b->d) return cgan_error(h->ctx, CGAN_E_NOMEM, "opcheck: out of memory");
    if (device) return cgan_buffer_create(h->ctx, (n ? n : 1) * sizeof(float), what, &b->m);
    return CGAN_OK;
}

static void hb_free(hbuf *b)
{
    free(b->f);
    free(b->d);
    cgan_buffer_release(b->m);
    memset(b, 0, sizeof *b);
}

/* Copy the float data to the double side (so both sides see the same numbers). */
static void hb_sync_d(hbuf *b)
{
    for (size_t i = 0; i < b->n; i++) b->d[i] = b->f[i];
}

static cgan_status hb_upload(harness *h, hbuf *b)
{
    return cgan_buffer_write(h->ctx, b->m, 0, b->n * sizeof(float), b->f);
}

static cgan_status hb_download(harness *h, hbuf *b)
{
    return cgan_buffer_read(h->ctx, b->m, 0, b->n * sizeof(float), b->f);
}

static cgan_status hb_poison(harness *h, hbuf *b)
{
    return cgan_buffer_fill_f32(h->ctx, b->m, 0, b->n, NAN);
}

static void harness_free(harness *h)
{
    for (int i = 0; i < CGAN_MAX_IN; i++) { hb_free(&h->in[i]); hb_free(&h->din[i]); hb_free(&h->din0[i]); }
    for (int i = 0; i < CGAN_MAX_PARAM; i++) { hb_free(&h->par[i]); hb_free(&h->dpar[i]); hb_free(&h->dpar0[i]); }
    for (int i = 0; i < CGAN_MAX_STATE; i++) { hb_free(&h->st[i]); hb_free(&h->st0[i]); }
    for (int i = 0; i < CGAN_MAX_AUX; i++) hb_free(&h->aux[i]);
    hb_free(&h->out);
    hb_free(&h->dout);
    cgan_buffer_release(h->work);
}

static void fill_args(harness *h, cgan_op_args *a, int train, uint64_t seed, int backward, float beta)
{
    memset(a, 0, sizeof *a);
    a->node = h->nd;
    a->train = train;
    a->seed = seed;
    a->counter = 7;
    for (int i = 0; i < h->nd->n_in; i++) {
        a->in[i] = h->in[i].m;
        if (backward && h->in_grad[i]) { a->din[i] = h->din[i].m; a->din_beta[i] = beta; }
    }
    for (int i = 0; i < h->nd->n_param; i++) {
        a->param[i] = h->par[i].m;
        if (backward) a->dparam[i] = h->dpar[i].m;
    }
    for (int i = 0; i < h->nd->n_state; i++) a->state[i] = h->st[i].m;
    for (int i = 0; i < h->nd->n_aux; i++) a->aux[i] = h->aux[i].m;
    a->out = h->out.m;
    if (backward) a->dout = h->dout.m;
    a->work = h->work;
}

static void fill_ref(harness *h, cgan_ref_args *a, int train, uint64_t seed, int backward, double beta)
{
    memset(a, 0, sizeof *a);
    a->node = h->nd;
    a->train = train;
    a->seed = seed;
    a->counter = 7;
    for (int i = 0; i < h->nd->n_in; i++) {
        a->in[i] = h->in[i].d;
        if (backward && h->in_grad[i]) { a->din[i] = h->din[i].d; a->din_beta[i] = beta; }
    }
    for (int i = 0; i < h->nd->n_param; i++) {
        a->param[i] = h->par[i].d;
        if (backward) a->dparam[i] = h->dpar[i].d;
    }
    for (int i = 0; i < h->nd->n_state; i++) a->state[i] = h->st[i].d;
    for (int i = 0; i < h->nd->n_aux; i++) a->aux[i] = h->aux[i].d;
    a->out = h->out.d;
    if (backward) a->dout = h->dout.d;
}

/* Error of the device result (f) against the reference (d) of one buffer. */
static double buf_err(const hbuf *b)
{
    return cgan_max_rel_err(b->f, b->d, b->n);
}

static cgan_status over(harness *h, const cgan_opcheck_case *c, const char *what,
                        const char *tensor, double err, double tol)
{
    return cgan_error(h->ctx, CGAN_E_NUMERIC, "opcheck %s (%s): %s error %.3g exceeds %.3g on %s",
                      c->label ? c->label : "", h->nd->name, what, err, tol, tensor);
}

/* Loss for finite differences: sum(out * dout) from a reference forward on fresh state. */
static double fd_loss(harness *h, int train, uint64_t seed)
{
    for (int i = 0; i < h->nd->n_state; i++) memcpy(h->st[i].d, h->st0[i].d, h->st[i].n * sizeof(double));
    cgan_ref_args ra;
    fill_ref(h, &ra, train, seed, 0, 0);
    h->def->ref_forward(&ra);
    double L = 0;
    for (size_t i = 0; i < h->out.n; i++) L += h->out.d[i] * h->dout.d[i];
    return L;
}

static double fd_check(harness *h, double *x, const double *grad, size_t n, int train,
                       uint64_t seed, cgan_rng *rng)
{
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) if (fabs(grad[i]) > scale) scale = fabs(grad[i]);
    if (scale < 1e-6) scale = 1e-6;
    size_t samples = n < FD_SAMPLES ? n : FD_SAMPLES;
    for (size_t s = 0; s < samples; s++) {
        size_t i = n <= FD_SAMPLES ? s : cgan_rng_below(rng, (uint32_t)n);
        double keep = x[i];
        x[i] = keep + FD_STEP;
        double lp = fd_loss(h, train, seed);
        x[i] = keep - FD_STEP;
        double lm = fd_loss(h, train, seed);
        x[i] = keep;
        double fd = (lp - lm) / (2 * FD_STEP);
        double e = fabs(fd - grad[i]) / scale;
        if (!(e <= worst)) worst = e; /* NaN propagates as the worst */
    }
    return worst;
}

cgan_status cgan_opcheck(cgan_ctx *ctx, cgan_graph *g, const cgan_opcheck_case *c,
                         cgan_opcheck_result *r)
{
    memset(r, 0, sizeof *r);
    if (cgan_graph_status(g) != CGAN_OK) return cgan_graph_status(g);
    if (g->nn == 0) return cgan_error(ctx, CGAN_E_INVALID, "opcheck: the graph has no node");
    harness h;
    memset(&h, 0, sizeof h);
    h.ctx = ctx;
    h.nd = &g->nodes[g->nn - 1];
    h.def = cgan_op_get(h.nd->op);
    if (!h.def || !h.def->forward || !h.def->ref_forward)
        return cgan_error(ctx, CGAN_E_NOT_FOUND, "opcheck: op of %s is not available", h.nd->name);
    const cgan_node *nd = h.nd;
    cgan_rng rng;
    cgan_rng_init(&rng, c->seed ? c->seed : 1234, 99);
    cgan_status st = CGAN_OK;
    int train = c->train;
    cgan_op_args a;
    cgan_ref_args ra;
    char sb[64];

#define TRY(x) do { if ((st = (x)) != CGAN_OK) goto done; } while (0)
    for (int i = 0; i < nd->n_in; i++) {
        int id = nd->in[i];
        cgan_gtensor *t = &g->t[id];
        if (t->kind != CGAN_TENSOR_INPUT) {
            st = cgan_error(ctx, CGAN_E_INVALID, "opcheck: input %s of %s is not a graph input",
                            t->name, nd->name);
            goto done;
        }
        TRY(hb_alloc(&h, &h.in[i], cgan_numel(t->shape), t->name, 1));
        int range = g->index_range[id];
        for (size_t j = 0; j < h.in[i].n; j++)
            h.in[i].f[j] = range ? (float)cgan_rng_below(&rng, (uint32_t)range)
                                 : cgan_rng_uniform(&rng) * 2.f - 1.f;
        hb_sync_d(&h.in[i]);
        TRY(hb_upload(&h, &h.in[i]));
        h.in_grad[i] = range == 0 && h.def->backward != NULL;
        if (h.in_grad[i]) {
            TRY(hb_alloc(&h, &h.din[i], h.in[i].n, "din", 1));
            TRY(hb_alloc(&h, &h.din0[i], h.in[i].n, "din0", 0));
        }
    }
    for (int i = 0; i < nd->n_param; i++) {
        cgan_gtensor *t = &g->t[nd->param[i]];
        TRY(hb_alloc(&h, &h.par[i], cgan_numel(t->shape), t->name, 1));
        TRY(hb_alloc(&h, &h.dpar[i], h.par[i].n, "dparam", 1));
        TRY(hb_alloc(&h, &h.dpar0[i], h.par[i].n, "dparam0", 0));
        for (size_t j = 0; j < h.par[i].n; j++) {
            float base = t->init == CGAN_INIT_NORMAL ? t->init_mean + t->init_std * cgan_rng_normal(&rng)
                                                     : t->init_mean;
            h.par[i].f[j] = base + cgan_rng_uniform(&rng) - 0.5f;
            h.dpar0[i].f[j] = cgan_rng_uniform(&rng) * 2.f - 1.f;
        }
        hb_sync_d(&h.par[i]);
        hb_sync_d(&h.dpar0[i]);
        TRY(hb_upload(&h, &h.par[i]));
    }
    for (int i = 0; i < nd->n_state; i++) {
        cgan_gtensor *t = &g->t[nd->state[i]];
        TRY(hb_alloc(&h, &h.st[i], cgan_numel(t->shape), t->name, 1));
        TRY(hb_alloc(&h, &h.st0[i], h.st[i].n, "state0", 0));
        /* a state initialised to 1 (a variance) stays positive */
        for (size_t j = 0; j < h.st[i].n; j++)
            h.st[i].f[j] = t->init_mean > 0.5f ? 0.5f + cgan_rng_uniform(&rng)
                                               : cgan_rng_uniform(&rng) * 2.f - 1.f;
        hb_sync_d(&h.st[i]);
        memcpy(h.st0[i].d, h.st[i].d, h.st[i].n * sizeof(double));
        TRY(hb_upload(&h, &h.st[i]));
    }
    for (int i = 0; i < nd->n_aux; i++) {
        TRY(hb_alloc(&h, &h.aux[i], cgan_numel(nd->aux_shape[i]), "aux", 1));
        TRY(hb_poison(&h, &h.aux[i]));
    }
    TRY(hb_alloc(&h, &h.out, cgan_numel(nd->out_shape), "out", 1));
    TRY(hb_poison(&h, &h.out));
    TRY(hb_alloc(&h, &h.dout, h.out.n, "dout", 1));
    if (nd->work_floats) {
        TRY(cgan_buffer_create(ctx, nd->work_floats * sizeof(float), "work", &h.work));
        TRY(cgan_buffer_fill_f32(ctx, h.work, 0, nd->work_floats, NAN));
    }

    /* ---- forward ---- */
    fill_args(&h, &a, train, c->seed, 0, 0);
    st = h.def->forward(ctx, &a);
    if (st != CGAN_OK) { cgan_error_wrap(ctx, st, "opcheck %s: forward", nd->name); goto done; }
    fill_ref(&h, &ra, train, c->seed, 0, 0);
    h.def->ref_forward(&ra);
    TRY(hb_download(&h, &h.out));
    r->err_fwd = buf_err(&h.out);
    if (!(r->err_fwd <= c->tol_fwd)) { st = over(&h, c, "forward", cgan_shape_str(nd->out_shape, sb, sizeof sb), r->err_fwd, c->tol_fwd); goto done; }
    for (int i = 0; train && i < nd->n_aux; i++) { /* aux is written in train mode only */
        TRY(hb_download(&h, &h.aux[i]));
        double e = buf_err(&h.aux[i]);
        if (e > r->err_fwd) r->err_fwd = e;
        if (!(e <= c->tol_fwd)) { st = over(&h, c, "forward", "aux", e, c->tol_fwd); goto done; }
    }
    for (int i = 0; i < nd->n_state; i++) {
        TRY(hb_download(&h, &h.st[i]));
        double e = buf_err(&h.st[i]);
        if (e > r->err_state) r->err_state = e;
        if (!(e <= c->tol_fwd)) { st = over(&h, c, "state update", g->t[nd->state[i]].name, e, c->tol_fwd); goto done; }
    }
    if (!h.def->backward) goto done;

    /* ---- backward, beta 0 (din poisoned) then beta 1 (din random) ---- */
    for (size_t j = 0; j < h.dout.n; j++) h.dout.f[j] = cgan_rng_uniform(&rng) * 2.f - 1.f;
    hb_sync_d(&h.dout);
    TRY(hb_upload(&h, &h.dout));
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < nd->n_in; i++) {
            if (!h.in_grad[i]) continue;
            if (pass == 0) {
                TRY(hb_poison(&h, &h.din[i]));
                for (size_t j = 0; j < h.din[i].n; j++) h.din[i].d[j] = NAN;
            } else {
                for (size_t j = 0; j < h.din[i].n; j++) h.din[i].f[j] = cgan_rng_uniform(&rng) * 2.f - 1.f;
                hb_sync_d(&h.din[i]);
                TRY(hb_upload(&h, &h.din[i]));
            }
        }
        for (int i = 0; i < nd->n_param; i++) {
            memcpy(h.dpar[i].f, h.dpar0[i].f, h.dpar[i].n * sizeof(float));
            memcpy(h.dpar[i].d, h.dpar0[i].d, h.dpar[i].n * sizeof(double));
            TRY(hb_upload(&h, &h.dpar[i]));
        }
        fill_args(&h, &a, train, c->seed, 1, (float)pass);
        st = h.def->backward(ctx, &a);
        if (st != CGAN_OK) { cgan_error_wrap(ctx, st, "opcheck %s: backward", nd->name); goto done; }
        fill_ref(&h, &ra, train, c->seed, 1, pass);
        h.def->ref_backward(&ra);
        for (int i = 0; i < nd->n_in; i++) {
            if (!h.in_grad[i]) continue;
            TRY(hb_download(&h, &h.din[i]));
            double e = buf_err(&h.din[i]);
            if (e > r->err_bwd) r->err_bwd = e;
            if (!(e <= c->tol_bwd)) {
                st = over(&h, c, pass ? "input gradient (accumulate)" : "input gradient",
                          g->t[nd->in[i]].name, e, c->tol_bwd);
                goto done;
            }
        }
        for (int i = 0; i < nd->n_param; i++) {
            TRY(hb_download(&h, &h.dpar[i]));
            /* compare the increments, so the random starting values do not mask errors */
            for (size_t j = 0; j < h.dpar[i].n; j++) {
                h.dpar[i].f[j] -= h.dpar0[i].f[j];
                h.dpar[i].d[j] -= h.dpar0[i].d[j];
            }
            double e = buf_err(&h.dpar[i]);
            if (e > r->err_bwd) r->err_bwd = e;
            if (!(e <= c->tol_bwd)) {
                st = over(&h, c, "parameter gradient", g->t[nd->param[i]].name, e, c->tol_bwd);
                goto done;
            }
        }
    }

    /* ---- finite differences of the reference ---- */
    if (c->tol_fd > 0) {
        /* reference gradients with beta 0 and zeroed parameter gradients */
        for (int i = 0; i < nd->n_param; i++) memset(h.dpar[i].d, 0, h.dpar[i].n * sizeof(double));
        (void)fd_loss(&h, train, c->seed); /* restores forward outputs/aux for backward */
        fill_ref(&h, &ra, train, c->seed, 1, 0);
        h.def->ref_backward(&ra);
        for (int i = 0; i < nd->n_in; i++) {
            if (!h.in_grad[i]) continue;
            double *grad = malloc(h.din[i].n * sizeof *grad);
            if (!grad) { st = cgan_error(ctx, CGAN_E_NOMEM, "opcheck: out of memory"); goto done; }
            memcpy(grad, h.din[i].d, h.din[i].n * sizeof *grad);
            double e = fd_check(&h, h.in[i].d, grad, h.in[i].n, train, c->seed, &rng);
            free(grad);
            if (!(e <= r->err_fd)) r->err_fd = e;
            if (!(e <= c->tol_fd)) { st = over(&h, c, "finite-difference", g->t[nd->in[i]].name, e, c->tol_fd); goto done; }
        }
        for (int i = 0; i < nd->n_param; i++) {
            double *grad = malloc(h.dpar[i].n * sizeof *grad);
            if (!grad) { st = cgan_error(ctx, CGAN_E_NOMEM, "opcheck: out of memory"); goto done; }
            memcpy(grad, h.dpar[i].d, h.dpar[i].n * sizeof *grad);
            double e = fd_check(&h, h.par[i].d, grad, h.par[i].n, train, c->seed, &rng);
            free(grad);
            if (!(e <= r->err_fd)) r->err_fd = e;
            if (!(e <= c->tol_fd)) { st = over(&h, c, "finite-difference", g->t[nd->param[i]].name, e, c->tol_fd); goto done; }
        }
    }
#undef TRY
done:
    harness_free(&h);
    return st;
}

void cgan_opcheck_to_check(const cgan_opcheck_case *c, const cgan_opcheck_result *r,
                           cgan_check_result *out)
{
    double worst = r->err_fwd / c->tol_fwd, tol = c->tol_fwd, err = r->err_fwd;
    if (c->tol_bwd > 0 && r->err_bwd / c->tol_bwd > worst) { worst = r->err_bwd / c->tol_bwd; err = r->err_bwd; tol = c->tol_bwd; }
    if (c->tol_fd > 0 && r->err_fd / c->tol_fd > worst) { err = r->err_fd; tol = c->tol_fd; }
    out->max_err = err;
    out->tol = tol;
}

cgan_status cgan_opcheck_graph(cgan_ctx *ctx, cgan_graph *g, const cgan_opcheck_case *c,
                               cgan_check_result *res, double *worst)
{
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", c->label ? c->label : "self-check");
    cgan_status st = cgan_graph_status(g);
    if (st == CGAN_OK) {
        cgan_opcheck_result r = { 0, 0, 0, 0 };
        cgan_check_result one;
        st = cgan_opcheck(ctx, g, c, &r);
        cgan_opcheck_to_check(c, &r, &one);
        if (!worst) *res = one;
        else if (one.max_err / one.tol > *worst) {
            *worst = one.max_err / one.tol;
            *res = one;
        }
    }
    cgan_graph_destroy(g);
    return st;
}
