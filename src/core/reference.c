/* Host reference executor over the ops' double-precision references. */
#include <stdlib.h>
#include <string.h>
#include "reference.h"
#include "exec.h"
#include "graph_impl.h"

struct cgan_refexec {
    cgan_graph *g;
    uint64_t seed;
    double **val, **grad, **aux;
    unsigned char *needs, *reached, *written;
};

void cgan_refexec_destroy(cgan_refexec *r)
{
    if (!r) return;
    for (int i = 0; r->val && i < r->g->nt; i++) { free(r->val[i]); free(r->grad[i]); }
    for (int i = 0; r->aux && i < r->g->nn * CGAN_MAX_AUX; i++) free(r->aux[i]);
    free(r->val); free(r->grad); free(r->aux);
    free(r->needs); free(r->reached); free(r->written);
    free(r);
}

cgan_status cgan_refexec_create(cgan_graph *g, cgan_refexec **out)
{
    *out = NULL;
    cgan_refexec *r = calloc(1, sizeof *r);
    if (!r) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
    r->g = g;
    r->seed = cgan_plan_seed(g->plan);
    r->val = calloc((size_t)g->nt, sizeof *r->val);
    r->grad = calloc((size_t)g->nt, sizeof *r->grad);
    r->aux = calloc((size_t)g->nn * CGAN_MAX_AUX, sizeof *r->aux);
    r->needs = calloc((size_t)g->nt, 1);
    r->reached = calloc((size_t)g->nt, 1);
    r->written = calloc((size_t)g->nt, 1);
    if (!r->val || !r->grad || !r->aux || !r->needs || !r->reached || !r->written) goto oom;
    float *tmp = NULL;
    for (int i = 0; i < g->nt; i++) {
        size_t n = cgan_numel(g->t[i].shape);
        r->val[i] = calloc(n, sizeof(double));
        r->grad[i] = calloc(n, sizeof(double));
        if (!r->val[i] || !r->grad[i]) goto oom;
        if ((g->t[i].kind == CGAN_TENSOR_PARAM || g->t[i].kind == CGAN_TENSOR_STATE) && g->t[i].mem) {
            float *nt = realloc(tmp, n * sizeof *nt);
            if (!nt) { free(tmp); goto oom; }
            tmp = nt;
            cgan_status st = cgan_graph_read(g, i, tmp);
            if (st != CGAN_OK) { free(tmp); cgan_refexec_destroy(r); return st; }
            for (size_t j = 0; j < n; j++) r->val[i][j] = tmp[j];
        }
    }
    free(tmp);
    for (int i = 0; i < g->nn; i++)
        for (int j = 0; j < g->nodes[i].n_aux; j++) {
            r->aux[i * CGAN_MAX_AUX + j] = calloc(cgan_numel(g->nodes[i].aux_shape[j]), sizeof(double));
            if (!r->aux[i * CGAN_MAX_AUX + j]) goto oom;
        }
    *out = r;
    return CGAN_OK;
oom:
    cgan_refexec_destroy(r);
    return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory for the reference executor");
}

double *cgan_refexec_value(cgan_refexec *r, int id) { return (id >= 0 && id < r->g->nt) ? r->val[id] : NULL; }
double *cgan_refexec_grad(cgan_refexec *r, int id) { return (id >= 0 && id < r->g->nt) ? r->grad[id] : NULL; }

static void args(cgan_refexec *r, int i, int train, cgan_ref_args *a)
{
    const cgan_node *nd = &r->g->nodes[i];
    memset(a, 0, sizeof *a);
    a->node = nd;
    a->train = train;
    a->seed = r->seed;
    for (int j = 0; j < nd->n_in; j++) a->in[j] = r->val[nd->in[j]];
    a->out = r->val[nd->out];
    for (int j = 0; j < nd->n_param; j++) a->param[j] = r->val[nd->param[j]];
    for (int j = 0; j < nd->n_state; j++) a->state[j] = r->val[nd->state[j]];
    for (int j = 0; j < nd->n_aux; j++) a->aux[j] = r->aux[i * CGAN_MAX_AUX + j];
}

void cgan_refexec_forward(cgan_refexec *r, int train, uint64_t counter)
{
    for (int i = 0; i < r->g->nn; i++) {
        cgan_ref_args a;
        args(r, i, train, &a);
        a.counter = (counter << 16) + (uint64_t)i;
        cgan_op_get(r->g->nodes[i].op)->ref_forward(&a);
    }
}

void cgan_refexec_backward(cgan_refexec *r, int seed_id, unsigned what)
{
    cgan_graph *g = r->g;
    for (int i = 0; i < g->nt; i++) {
        r->needs[i] = g->t[i].kind == CGAN_TENSOR_INPUT && g->t[i].requires_grad && (what & CGAN_GRAD_INPUTS);
        r->reached[i] = r->written[i] = 0;
    }
    for (int i = 0; i < g->nn; i++) {
        const cgan_node *nd = &g->nodes[i];
        int need = (what & CGAN_GRAD_PARAMS) && nd->n_param > 0;
        for (int j = 0; j < nd->n_in; j++) need |= r->needs[nd->in[j]];
        r->needs[nd->out] = (unsigned char)need;
    }
    if (seed_id >= 0) {
        size_t n = cgan_numel(g->t[seed_id].shape);
        for (size_t j = 0; j < n; j++) r->grad[seed_id][j] = 1.0;
        r->reached[seed_id] = 1;
    } else {
        for (int i = 0; i < g->nn; i++) {
            int out = g->nodes[i].out, used = 0;
            for (int k = 0; k < g->nn; k++) {
                for (int j = 0; j < g->nodes[k].n_in; j++) used |= g->nodes[k].in[j] == out;
                for (int j = 0; j < g->nodes[k].n_param; j++) used |= g->nodes[k].param[j] == out;
            }
            if (!used) r->reached[out] = 1;
        }
    }
    for (int i = g->nn - 1; i >= 0; i--) {
        const cgan_node *nd = &g->nodes[i];
        if (!r->reached[nd->out] || !r->needs[nd->out]) continue;
        cgan_ref_args a;
        args(r, i, 1, &a);
        a.dout = r->grad[nd->out];
        for (int j = 0; j < nd->n_in; j++) {
            int id = nd->in[j];
            if (!r->needs[id]) continue;
            a.din[j] = r->grad[id];
            a.din_beta[j] = r->written[id] ? 1.0 : 0.0;
            r->written[id] = r->reached[id] = 1;
        }
        if (what & CGAN_GRAD_PARAMS)
            for (int j = 0; j < nd->n_param; j++) {
                int id = nd->param[j];
                a.dparam[j] = r->grad[id];
                if (g->t[id].kind != CGAN_TENSOR_ACT) continue;
                /* another node's output (spectral_norm's W / sigma), as the executor does */
                if (!r->written[id]) memset(r->grad[id], 0, cgan_numel(g->t[id].shape) * sizeof(double));
                r->written[id] = r->reached[id] = 1;
            }
        cgan_op_get(nd->op)->ref_backward(&a);
    }
}
