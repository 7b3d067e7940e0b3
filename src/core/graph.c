/* Graph construction: tensors, nodes, named parameters, shape errors by node name. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph_impl.h"
#include "cgan/tools.h"

const char *cgan_shape_str(cgan_shape s, char *buf, size_t n)
{
    snprintf(buf, n, "[%d,%d,%d,%d]", s.n, s.c, s.h, s.w);
    return buf;
}

cgan_graph *cgan_graph_new(cgan_ctx *ctx, const char *prefix)
{
    cgan_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->ctx = ctx;
    snprintf(g->prefix, sizeof g->prefix, "%s", prefix ? prefix : "");
    return g;
}

void cgan_graph_destroy(cgan_graph *g)
{
    if (!g) return;
    cgan_plan_free(g->plan);
    free(g->t);
    free(g->index_range);
    free(g->nodes);
    free(g);
}

cgan_ctx *cgan_graph_ctx(const cgan_graph *g) { return g->ctx; }
const char *cgan_graph_prefix(const cgan_graph *g) { return g->prefix; }
cgan_status cgan_graph_status(const cgan_graph *g) { return g ? g->status : CGAN_E_NOMEM; }
int cgan_graph_tensor_count(const cgan_graph *g) { return g->nt; }
int cgan_graph_node_count(const cgan_graph *g) { return g->nn; }

cgan_gtensor *cgan_graph_tensor(cgan_graph *g, int id)
{
    return (id >= 0 && id < g->nt) ? &g->t[id] : NULL;
}

cgan_node *cgan_graph_node(cgan_graph *g, int i)
{
    return (i >= 0 && i < g->nn) ? &g->nodes[i] : NULL;
}

int cgan_graph_index_range(const cgan_graph *g, int id)
{
    return (id >= 0 && id < g->nt) ? g->index_range[id] : 0;
}

int cgan_graph_find_tensor(const cgan_graph *g, const char *name)
{
    for (int i = 0; i < g->nt; i++)
        if (strcmp(g->t[i].name, name) == 0) return i;
    return -1;
}

const char *cgan_graph_tensor_name(const cgan_graph *g, int id)
{
    return (id >= 0 && id < g->nt) ? g->t[id].name : NULL;
}

cgan_shape cgan_graph_tensor_shape(const cgan_graph *g, int id)
{
    return (id >= 0 && id < g->nt) ? g->t[id].shape : cgan_shape4(0, 0, 0, 0);
}

cgan_tensor_kind cgan_graph_tensor_kind(const cgan_graph *g, int id)
{
    return (id >= 0 && id < g->nt) ? g->t[id].kind : CGAN_TENSOR_ACT;
}

cgan_status cgan_graph_set_init(cgan_graph *g, int id, cgan_init init, float mean, float std)
{
    cgan_gtensor *t = cgan_graph_tensor(g, id);
    if (!t || t->kind != CGAN_TENSOR_PARAM)
        return cgan_error(g->ctx, CGAN_E_INVALID, "set_init: tensor %d of graph %s is not a parameter", id, g->prefix);
    if (init != CGAN_INIT_NORMAL && init != CGAN_INIT_CONST && init != CGAN_INIT_UNIFORM)
        return cgan_error(g->ctx, CGAN_E_INVALID, "set_init %s: unknown initialisation %d", t->name, (int)init);
    if (!isfinite(mean) || !isfinite(std) || std < 0)
        return cgan_error(g->ctx, CGAN_E_INVALID, "set_init %s: mean %g and std %g must be finite, std >= 0",
                          t->name, mean, std);
    if (g->plan) return cgan_error(g->ctx, CGAN_E_INVALID, "set_init %s: graph already planned", t->name);
    t->init = init;
    t->init_mean = mean;
    t->init_std = std;
    return CGAN_OK;
}

const char *cgan_graph_node_name(const cgan_graph *g, int i)
{
    return (i >= 0 && i < g->nn) ? g->nodes[i].name : NULL;
}

_Static_assert(CGAN_NODE_MAX_IN >= CGAN_MAX_IN && CGAN_NODE_MAX_PARAM >= CGAN_MAX_PARAM,
               "cgan_node_info holds every input and parameter");

cgan_status cgan_graph_node_info(const cgan_graph *g, int i, cgan_node_info *out)
{
    if (!g || !out) return CGAN_E_INVALID;
    if (i < 0 || i >= g->nn)
        return cgan_error(g->ctx, CGAN_E_INVALID, "graph %s: no node %d (%d nodes)", g->prefix, i, g->nn);
    const cgan_node *nd = &g->nodes[i];
    memset(out, 0, sizeof *out);
    out->name = nd->name;
    out->op = cgan_op_get(nd->op)->name;
    out->k = nd->op == CGAN_OP_CONV2D || nd->op == CGAN_OP_DECONV2D ? nd->a.k : 0;
    out->n_in = nd->n_in;
    for (int j = 0; j < nd->n_in; j++) out->in[j] = nd->in[j];
    out->out = nd->out;
    out->n_param = nd->n_param;
    for (int j = 0; j < nd->n_param; j++) out->param[j] = nd->param[j];
    return CGAN_OK;
}

int cgan_graph_producer(const cgan_graph *g, int id)
{
    for (int i = 0; i < g->nn; i++)
        if (g->nodes[i].out == id) return i;
    return -1;
}

static int record(cgan_graph *g, cgan_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int record(cgan_graph *g, cgan_status st, const char *fmt, ...)
{
    if (g->status == CGAN_OK) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        g->status = st;
        cgan_error(g->ctx, st, "%s", msg);
    }
    g->is_building = 0;
    return -1;
}

static void full_name(const cgan_graph *g, const char *name, char *out, size_t n)
{
    if (g->prefix[0]) snprintf(out, n, "%s.%s", g->prefix, name);
    else snprintf(out, n, "%s", name);
}

static int new_tensor(cgan_graph *g, const char *name, cgan_shape s, cgan_tensor_kind kind)
{
    char sb[64];
    if (s.n <= 0 || s.c <= 0 || s.h <= 0 || s.w <= 0)
        return record(g, CGAN_E_SHAPE, "tensor %s: invalid shape %s", name,
                      cgan_shape_str(s, sb, sizeof sb));
    if (strlen(name) >= sizeof g->t[0].name)
        return record(g, CGAN_E_INVALID, "tensor name '%s' is too long", name);
    if (cgan_graph_find_tensor(g, name) >= 0)
        return record(g, CGAN_E_INVALID, "tensor %s: the name is used twice", name);
    if (g->nt == g->capt) {
        int cap = g->capt ? g->capt * 2 : 32;
        cgan_gtensor *nt = realloc(g->t, (size_t)cap * sizeof *nt);
        if (!nt) return record(g, CGAN_E_NOMEM, "out of memory adding tensor %s", name);
        g->t = nt;
        int *ir = realloc(g->index_range, (size_t)cap * sizeof *ir);
        if (!ir) return record(g, CGAN_E_NOMEM, "out of memory adding tensor %s", name);
        g->index_range = ir;
        g->capt = cap;
    }
    cgan_gtensor *t = &g->t[g->nt];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->shape = s;
    t->kind = kind;
    t->requires_grad = kind == CGAN_TENSOR_PARAM;
    g->index_range[g->nt] = 0;
    return g->nt++;
}

int cgan_graph_input(cgan_graph *g, const char *name, cgan_shape s)
{
    if (!g) return -1;
    char fn[96];
    full_name(g, name, fn, sizeof fn);
    return new_tensor(g, fn, s, CGAN_TENSOR_INPUT);
}

int cgan_graph_input_labels(cgan_graph *g, const char *name, int n, int num_classes)
{
    if (!g) return -1;
    if (num_classes <= 0)
        return record(g, CGAN_E_INVALID, "labels %s: %d classes", name, num_classes);
    int id = cgan_graph_input(g, name, cgan_shape4(n, 1, 1, 1));
    if (id >= 0) g->index_range[id] = num_classes;
    return id;
}

int cgan_graph_input_tokens(cgan_graph *g, const char *name, int n, int len, int vocab)
{
    if (!g) return -1;
    if (vocab <= 0 || len <= 0)
        return record(g, CGAN_E_INVALID, "tokens %s: %d ids of a vocabulary of %d", name, len, vocab);
    int id = cgan_graph_input(g, name, cgan_shape4(n, len, 1, 1));
    if (id >= 0) g->index_range[id] = vocab;
    return id;
}

cgan_node *cgan_graph_begin(cgan_graph *g, cgan_op_type op, const char *name, const int *inputs,
                            int n_in)
{
    if (!g) return NULL;
    if (g->is_building) {
        record(g, CGAN_E_INVALID, "node %s begun while %s is unfinished", name, g->building.name);
        return NULL;
    }
    for (int i = 0; i < n_in; i++)
        if (inputs[i] < 0) {
            if (g->status == CGAN_OK)
                record(g, CGAN_E_INVALID, "node %s.%s: input %d is missing", g->prefix, name, i);
            return NULL;
        }
    cgan_node *nd = &g->building;
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    full_name(g, name, nd->name, sizeof nd->name);
    if (n_in > CGAN_MAX_IN) {
        record(g, CGAN_E_INVALID, "node %s: %d inputs", nd->name, n_in);
        return NULL;
    }
    for (int i = 0; i < g->nn; i++)
        if (strcmp(g->nodes[i].name, nd->name) == 0) {
            record(g, CGAN_E_INVALID, "node %s: the name is used twice", nd->name);
            return NULL;
        }
    nd->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        if (inputs[i] >= g->nt) {
            record(g, CGAN_E_INVALID, "node %s: input %d is not a tensor of this graph", nd->name, i);
            return NULL;
        }
        nd->in[i] = inputs[i];
        nd->in_shape[i] = g->t[inputs[i]].shape;
    }
    nd->out = -1;
    nd->a.eps = 1e-5f;
    nd->a.momentum = 0.1f;
    g->is_building = 1;
    return nd;
}

int cgan_graph_add_param(cgan_graph *g, cgan_node *nd, const char *pname, cgan_shape s,
                         cgan_init init, float mean, float std)
{
    if (!g->is_building || nd != &g->building) return record(g, CGAN_E_INVALID, "add_param outside a node");
    if (nd->n_param >= CGAN_MAX_PARAM) return record(g, CGAN_E_INVALID, "node %s: too many parameters", nd->name);
    char fn[96];
    snprintf(fn, sizeof fn, "%s.%s", nd->name, pname);
    int id = new_tensor(g, fn, s, CGAN_TENSOR_PARAM);
    if (id < 0) return -1;
    g->t[id].init = init;
    g->t[id].init_mean = mean;
    g->t[id].init_std = std;
    nd->param[nd->n_param] = id;
    nd->param_shape[nd->n_param++] = s;
    return id;
}

int cgan_graph_add_state(cgan_graph *g, cgan_node *nd, const char *sname, cgan_shape s, float value)
{
    if (!g->is_building || nd != &g->building) return record(g, CGAN_E_INVALID, "add_state outside a node");
    if (nd->n_state >= CGAN_MAX_STATE) return record(g, CGAN_E_INVALID, "node %s: too many states", nd->name);
    char fn[96];
    snprintf(fn, sizeof fn, "%s.%s", nd->name, sname);
    int id = new_tensor(g, fn, s, CGAN_TENSOR_STATE);
    if (id < 0) return -1;
    g->t[id].init = CGAN_INIT_CONST;
    g->t[id].init_mean = value;
    nd->state[nd->n_state] = id;
    nd->state_shape[nd->n_state++] = s;
    return id;
}

int cgan_graph_end(cgan_graph *g, cgan_node *nd, cgan_shape out)
{
    if (!g->is_building || nd != &g->building) return record(g, CGAN_E_INVALID, "end outside a node");
    char fn[96], sb[64];
    if (out.n <= 0 || out.c <= 0 || out.h <= 0 || out.w <= 0)
        return record(g, CGAN_E_SHAPE, "%s: output shape %s is empty", nd->name,
                      cgan_shape_str(out, sb, sizeof sb));
    for (int i = 0; i < nd->n_aux; i++)
        if (cgan_numel(nd->aux_shape[i]) == 0)
            return record(g, CGAN_E_INVALID, "%s: aux %d has no size", nd->name, i);
    snprintf(fn, sizeof fn, "%s.out", nd->name);
    int id = new_tensor(g, fn, out, CGAN_TENSOR_ACT);
    if (id < 0) return -1;
    if (g->nn == g->capn) {
        int cap = g->capn ? g->capn * 2 : 16;
        cgan_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return record(g, CGAN_E_NOMEM, "out of memory adding node %s", nd->name);
        g->nodes = nn;
        g->capn = cap;
    }
    nd->out = id;
    nd->out_shape = out;
    g->nodes[g->nn++] = *nd;
    g->is_building = 0;
    return id;
}

int cgan_graph_move_last(cgan_graph *g, int pos)
{
    if (g->nn < 1 || pos < 0 || pos >= g->nn)
        return record(g, CGAN_E_INVALID, "graph %s: cannot move a node to %d of %d", g->prefix, pos, g->nn);
    cgan_node last = g->nodes[g->nn - 1];
    memmove(&g->nodes[pos + 1], &g->nodes[pos], (size_t)(g->nn - 1 - pos) * sizeof last);
    g->nodes[pos] = last;
    return pos;
}

int cgan_graph_fail(cgan_graph *g, const cgan_node *nd, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return record(g, CGAN_E_SHAPE, "%s: %s", nd ? nd->name : g->prefix, msg);
}
