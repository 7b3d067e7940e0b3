/* Model descriptions: parse, check and build (see model_desc.h and doc/model-format.md). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/atomic.h"
#include "model_desc.h"
#include "ops/builders.h"
#include "ops/diffaug.h"
#include "ops/spectral_norm.h"

/* ---- layer types ------------------------------------------------------------------- */

enum { F_OUT = 1 << 0, F_K = 1 << 1, F_STRIDE = 1 << 2, F_PAD = 1 << 3, F_BIAS = 1 << 4, F_INIT = 1 << 5,
       F_ACT = 1 << 6, F_SLOPE = 1 << 7, F_DIM = 1 << 8, F_SHAPE = 1 << 9, F_P = 1 << 10,
       F_GROUP = 1 << 11 };
static const char *const field_names[] = { "out", "k", "stride", "pad", "bias", "init_std",
                                           "act", "slope", "dim", "shape", "p", "group" };
#define N_FIELDS (int)(sizeof field_names / sizeof field_names[0])

/* How a layer takes its inputs. */
typedef enum in_kind {
    IN_ONE,       /* "input": a float tensor (default: the previous layer) */
    IN_TWO,       /* "inputs": [a, b], float tensors */
    IN_X_LABELS,  /* "inputs": [x, labels], or "input": x with the network's labels */
    IN_LABELS,    /* "input": class labels (default "labels") */
    IN_TOKENS     /* "input": token ids (default "tokens") */
} in_kind;

typedef enum ltype {
    T_CONV, T_DECONV, T_LINEAR, T_BN, T_CBN, T_RELU, T_LRELU, T_TANH, T_SIGMOID, T_EMBED, T_EMBED_MEAN,
    T_ONEHOT, T_CONCAT, T_ADD, T_MUL, T_RESHAPE, T_DROPOUT, T_PROJ, T_MBSTD, T_COUNT
} ltype;

static const struct type_def {
    const char *name;
    in_kind in;
    unsigned req, opt;
} types[T_COUNT] = {
    [T_CONV] = { "conv", IN_ONE, F_OUT | F_K, F_STRIDE | F_PAD | F_BIAS | F_INIT },
    [T_DECONV] = { "deconv", IN_ONE, F_OUT | F_K, F_STRIDE | F_PAD | F_BIAS | F_INIT },
    [T_LINEAR] = { "linear", IN_ONE, F_OUT, F_BIAS | F_INIT },
    [T_BN] = { "batchnorm", IN_ONE, 0, F_ACT | F_SLOPE },
    [T_CBN] = { "cond_batchnorm", IN_X_LABELS, 0, F_ACT | F_SLOPE },
    [T_RELU] = { "relu", IN_ONE, 0, 0 },
    [T_LRELU] = { "lrelu", IN_ONE, 0, F_SLOPE },
    [T_TANH] = { "tanh", IN_ONE, 0, 0 },
    [T_SIGMOID] = { "sigmoid", IN_ONE, 0, 0 },
    [T_EMBED] = { "embedding", IN_LABELS, 0, F_DIM | F_INIT },
    [T_EMBED_MEAN] = { "embed_mean", IN_TOKENS, 0, F_DIM | F_INIT },
    [T_ONEHOT] = { "onehot", IN_LABELS, 0, 0 },
    [T_CONCAT] = { "concat", IN_TWO, 0, 0 },
    [T_ADD] = { "add", IN_TWO, 0, 0 },
    [T_MUL] = { "mul", IN_TWO, 0, 0 },
    [T_RESHAPE] = { "reshape", IN_ONE, F_SHAPE, 0 },
    [T_DROPOUT] = { "dropout", IN_ONE, F_P, 0 },
    [T_PROJ] = { "projection", IN_X_LABELS, 0, F_INIT },
    [T_MBSTD] = { "mbstd", IN_ONE, 0, F_GROUP },
};

/* What a tensor of the network holds. */
enum { V_FLOAT = 0, V_LABELS, V_TOKENS };

static const char *const net_names[2] = { "G", "D" };
static const char *const reserved[] = { "z", "x", "labels", "tokens", "diffaug", "loss_d", "loss_g" };

/* ---- checking ---------------------------------------------------------------------- */

/* One network being checked or built. */
typedef struct net_check {
    cgan_ctx *ctx;
    const char *origin, *net;
    int which;               /* 0: G, 1: D */
    int cond;                /* cgan_cond, or -1: not known yet (parse only) */
    json_t *list;
    int n;
} net_check;

static cgan_status verr(const net_check *c, int i, cgan_status st, const char *fmt, va_list ap)
{
    char msg[768], where[160] = "";
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *name = json_string_value(json_object_get(json_array_get(c->list, (size_t)i), "name"));
    if (name) snprintf(where, sizeof where, " \"%s\"", name);
    return cgan_error(c->ctx, st, "%s: %s layer %d%s: %s", c->origin, c->net, i + 1, where, msg);
}

/* A description error at layer i (0-based; shown 1-based with its name). */
static cgan_status lerr(const net_check *c, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static cgan_status lerr(const net_check *c, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cgan_status st = verr(c, i, CGAN_E_FORMAT, fmt, ap);
    va_end(ap);
    return st;
}

static int find_type(const char *s)
{
    for (int t = 0; t < T_COUNT; t++)
        if (!strcmp(types[t].name, s)) return t;
    return -1;
}

static int find_field(const char *s)
{
    for (int f = 0; f < N_FIELDS; f++)
        if (!strcmp(field_names[f], s)) return f;
    return -1;
}

/* The layer index of name among layers 0..before-1, or -1. */
static int find_layer(const net_check *c, const char *name, int before)
{
    for (int j = 0; j < before; j++) {
        const char *s = json_string_value(json_object_get(json_array_get(c->list, (size_t)j), "name"));
        if (s && !strcmp(s, name)) return j;
    }
    return -1;
}

static int int_at_least(json_t *v, json_int_t lo, json_int_t hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

static cgan_status check_name(const net_check *c, int i, json_t *v)
{
    if (!v) return lerr(c, i, "\"name\" is missing");
    const char *s = json_string_value(v);
    if (!s) return lerr(c, i, "\"name\" must be a string");
    size_t n = strlen(s);
    if (n == 0 || n > CGAN_MODEL_NAME_MAX)
        return lerr(c, i, "\"name\" must have 1 to %d characters", CGAN_MODEL_NAME_MAX);
    for (size_t k = 0; k < n; k++) {
        char ch = s[k];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '.'))
            return lerr(c, i, "\"name\" may hold letters, digits, '_', '-' and '.' only");
    }
    for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
        if (!strcmp(s, reserved[k])) return lerr(c, i, "\"name\" \"%s\" is reserved", s);
    int j = find_layer(c, s, i);
    if (j >= 0) return lerr(c, i, "\"name\" \"%s\" is used by layer %d too", s, j + 1);
    return CGAN_OK;
}

/* The kind of the network's input called name, or -1 (with the reason in *why). */
static int net_input(const net_check *c, const char *name, const char **why)
{
    *why = NULL;
    if (!strcmp(name, c->which ? "x" : "z")) return V_FLOAT;
    int labels = !strcmp(name, "labels"), tokens = !strcmp(name, "tokens");
    if (!labels && !tokens) return -1;
    if (c->cond < 0) return labels ? V_LABELS : V_TOKENS;
    if (c->cond == CGAN_COND_NONE) {
        *why = "the model is unconditional (cond none): no layer may read labels or tokens";
        return -1;
    }
    if (labels && c->cond == CGAN_COND_TEXT) {
        *why = "a text model (cond text) has \"tokens\", not \"labels\"";
        return -1;
    }
    if (tokens && c->cond != CGAN_COND_TEXT) {
        *why = "a class-conditional model has \"labels\", not \"tokens\"";
        return -1;
    }
    return labels ? V_LABELS : V_TOKENS;
}

/* Check the reference `ref` (field `field`) of layer i, wanting a tensor of kind want. */
static cgan_status check_ref(const net_check *c, int i, const char *field, json_t *ref, int want)
{
    const char *s = json_string_value(ref);
    if (!s) return lerr(c, i, "\"%s\" must be a layer name", field);
    int kind;
    if (find_layer(c, s, i) >= 0) {
        kind = V_FLOAT;
    } else {
        const char *why;
        kind = net_input(c, s, &why);
        if (why) return lerr(c, i, "\"%s\" \"%s\": %s", field, s, why);
        if (kind < 0) {
            const char *more = c->cond == CGAN_COND_NONE ? "" : c->cond == CGAN_COND_TEXT ? ", tokens"
                               : c->cond < 0 ? ", labels, tokens" : ", labels";
            return lerr(c, i, "\"%s\" \"%s\" names no earlier layer nor an input of %s (%s%s)", field, s, c->net,
                        c->which ? "x" : "z", more);
        }
    }
    if (kind == want) return CGAN_OK;
    if (want == V_LABELS) return lerr(c, i, "\"%s\" \"%s\" is not the class labels", field, s);
    if (want == V_TOKENS) return lerr(c, i, "\"%s\" \"%s\" is not the caption tokens", field, s);
    return lerr(c, i, "\"%s\" \"%s\" holds %s; only embedding, onehot, projection and cond_batchnorm read "
                "labels, and embed_mean tokens", field, s, kind == V_LABELS ? "class labels" : "token ids");
}

static cgan_status check_inputs(const net_check *c, int i, json_t *layer, in_kind in)
{
    json_t *one = json_object_get(layer, "input"), *two = json_object_get(layer, "inputs");
    if (one && two) return lerr(c, i, "give \"input\" or \"inputs\", not both");
    if (in == IN_TWO || (in == IN_X_LABELS && two)) {
        if (!two) return lerr(c, i, "\"inputs\" is missing (a list of two layer names)");
        if (!json_is_array(two) || json_array_size(two) != 2)
            return lerr(c, i, "\"inputs\" must be a list of two layer names");
        CGAN_TRY(check_ref(c, i, "inputs", json_array_get(two, 0), V_FLOAT));
        return check_ref(c, i, "inputs", json_array_get(two, 1), in == IN_TWO ? V_FLOAT : V_LABELS);
    }
    if (two) return lerr(c, i, "takes one input: use \"input\", not \"inputs\"");
    /* the network's labels, read implicitly (IN_X_LABELS) or by default (IN_LABELS) */
    if ((in == IN_X_LABELS || (in == IN_LABELS && !one)) && c->cond >= 0 &&
        (c->cond == CGAN_COND_NONE || c->cond == CGAN_COND_TEXT))
        return lerr(c, i, "reads the class labels, but %s", c->cond == CGAN_COND_NONE
                    ? "the model is unconditional (cond none)" : "a text model (cond text) has caption tokens instead");
    if (in == IN_TOKENS && !one && c->cond >= 0 && c->cond != CGAN_COND_TEXT)
        return lerr(c, i, "reads caption tokens, but only a text model (cond text) has them");
    if (one) return check_ref(c, i, "input", one, in == IN_LABELS ? V_LABELS : in == IN_TOKENS ? V_TOKENS : V_FLOAT);
    return CGAN_OK;
}

static cgan_status check_field(const net_check *c, int i, json_t *layer, int f, json_t *v)
{
    const char *name = field_names[f];
    switch (1u << f) {
    case F_OUT:
        if (int_at_least(v, 1, 65536) || (json_is_string(v) && !strcmp(json_string_value(v), "channels")))
            return CGAN_OK;
        return lerr(c, i, "\"out\" must be an integer >= 1 or \"channels\"");
    case F_K: case F_STRIDE: case F_DIM:
        return int_at_least(v, 1, 65536) ? CGAN_OK : lerr(c, i, "\"%s\" must be an integer >= 1", name);
    case F_PAD:
        return int_at_least(v, 0, 65536) ? CGAN_OK : lerr(c, i, "\"pad\" must be an integer >= 0");
    case F_BIAS:
        return json_is_boolean(v) ? CGAN_OK : lerr(c, i, "\"bias\" must be true or false");
    case F_INIT:
        return json_is_number(v) && json_number_value(v) > 0 && isfinite(json_number_value(v))
                   ? CGAN_OK : lerr(c, i, "\"init_std\" must be a number > 0");
    case F_ACT: {
        const char *s = json_string_value(v);
        if (s && (!strcmp(s, "none") || !strcmp(s, "relu") || !strcmp(s, "lrelu"))) return CGAN_OK;
        return lerr(c, i, "\"act\" must be \"none\", \"relu\" or \"lrelu\"");
    }
    case F_SLOPE: {
        if (!json_is_number(v) || !(json_number_value(v) >= 0) || !isfinite(json_number_value(v)))
            return lerr(c, i, "\"slope\" must be a number >= 0");
        const char *act = json_string_value(json_object_get(layer, "act"));
        if (json_object_get(layer, "type") && find_type(json_string_value(json_object_get(layer, "type"))) != T_LRELU &&
            (!act || strcmp(act, "lrelu")))
            return lerr(c, i, "\"slope\" needs \"act\": \"lrelu\"");
        return CGAN_OK;
    }
    case F_SHAPE:
        if (json_is_array(v) && json_array_size(v) == 3 && int_at_least(json_array_get(v, 0), 1, 1 << 24) &&
            int_at_least(json_array_get(v, 1), 1, 1 << 24) && int_at_least(json_array_get(v, 2), 1, 1 << 24))
            return CGAN_OK;
        return lerr(c, i, "\"shape\" must be [C, H, W], three integers >= 1");
    case F_P:
        return json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) < 1
                   ? CGAN_OK : lerr(c, i, "\"p\" must be a number in [0, 1)");
    case F_GROUP:
        return int_at_least(v, 1, 4096) ? CGAN_OK : lerr(c, i, "\"group\" must be an integer in [1, 4096]");
    }
    return CGAN_OK;
}

/* The fields a type takes, "a, b, c" into buf. */
static const char *field_list(unsigned mask, char *buf, size_t n)
{
    size_t u = 0;
    buf[0] = '\0';
    for (int f = 0; f < N_FIELDS && u < n; f++)
        if (mask & (1u << f)) u += (size_t)snprintf(buf + u, n - u, "%s%s", u ? ", " : "", field_names[f]);
    return u ? buf : "no other fields";
}

static cgan_status check_layer(const net_check *c, int i)
{
    json_t *layer = json_array_get(c->list, (size_t)i);
    if (!json_is_object(layer)) return lerr(c, i, "a layer must be a JSON object");
    CGAN_TRY(check_name(c, i, json_object_get(layer, "name")));
    json_t *tv = json_object_get(layer, "type");
    if (!tv) return lerr(c, i, "\"type\" is missing");
    int t = json_is_string(tv) ? find_type(json_string_value(tv)) : -1;
    if (t < 0) {
        char known[400];
        size_t u = 0;
        for (int k = 0; k < T_COUNT; k++) u += (size_t)snprintf(known + u, sizeof known - u, "%s%s", k ? ", " : "", types[k].name);
        return lerr(c, i, "unknown \"type\" %s%s%s; known types: %s", json_is_string(tv) ? "\"" : "",
                    json_is_string(tv) ? json_string_value(tv) : "(not a string)", json_is_string(tv) ? "\"" : "", known);
    }
    const struct type_def *d = &types[t];
    if (t == T_MBSTD && c->which == 0)
        return lerr(c, i, "an mbstd layer belongs in D: in G each image would depend on the others of its batch");
    const char *key;
    json_t *v;
    char list[160];
    json_object_foreach(layer, key, v) {
        if (!strcmp(key, "name") || !strcmp(key, "type") || !strcmp(key, "input") || !strcmp(key, "inputs")) continue;
        int f = find_field(key);
        if (f < 0 || !((d->req | d->opt) & (1u << f)))
            return lerr(c, i, "unknown field \"%s\" for a %s layer (it takes %s)", key, d->name,
                        field_list(d->req | d->opt, list, sizeof list));
        CGAN_TRY(check_field(c, i, layer, f, v));
    }
    for (int f = 0; f < N_FIELDS; f++)
        if ((d->req & (1u << f)) && !json_object_get(layer, field_names[f]))
            return lerr(c, i, "\"%s\" is missing", field_names[f]);
    return check_inputs(c, i, layer, d->in);
}

static cgan_status check_net(net_check *c, json_t *root)
{
    c->list = json_object_get(root, c->net);
    if (!c->list) return cgan_error(c->ctx, CGAN_E_FORMAT, "%s: \"%s\" is missing (the list of %s's layers)", c->origin,
                                    c->net, c->net);
    if (!json_is_array(c->list) || json_array_size(c->list) == 0)
        return cgan_error(c->ctx, CGAN_E_FORMAT, "%s: \"%s\" must be a non-empty list of layers", c->origin, c->net);
    if (json_array_size(c->list) > CGAN_MODEL_MAX_LAYERS)
        return cgan_error(c->ctx, CGAN_E_FORMAT, "%s: \"%s\" has %zu layers (at most %d)", c->origin, c->net,
                          json_array_size(c->list), CGAN_MODEL_MAX_LAYERS);
    c->n = (int)json_array_size(c->list);
    for (int i = 0; i < c->n; i++) CGAN_TRY(check_layer(c, i));
    return CGAN_OK;
}

static cgan_status check_head(cgan_ctx *ctx, json_t *root, const char *origin, cgan_model_head *h)
{
    static const char *const known[] = { "format", "version", "name", "description", "size", "nz", "cond", "G", "D" };
    memset(h, 0, sizeof *h);
    h->nz = 100;
    h->cond = -1;
    if (!json_is_object(root)) return cgan_error(ctx, CGAN_E_FORMAT, "%s: a model description is a JSON object", origin);
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(key, known[k])) k++;
        if (k == sizeof known / sizeof known[0])
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: unknown field \"%s\" (a description has format, version, name, "
                              "description, size, nz, cond, G and D)", origin, key);
    }
    const char *fmt = json_string_value(json_object_get(root, "format"));
    if (!fmt || strcmp(fmt, CGAN_MODEL_FORMAT))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: \"format\" must be \"%s\"", origin, CGAN_MODEL_FORMAT);
    v = json_object_get(root, "version");
    if (!int_at_least(v, 1, 1 << 30)) return cgan_error(ctx, CGAN_E_FORMAT, "%s: \"version\" must be an integer >= 1", origin);
    if (json_integer_value(v) > CGAN_MODEL_VERSION)
        return cgan_error(ctx, CGAN_E_UNSUPPORTED, "%s: description version %lld is newer than this cgan-cl reads (%d)",
                          origin, (long long)json_integer_value(v), CGAN_MODEL_VERSION);
    v = json_object_get(root, "size");
    if (!int_at_least(v, 4, 4096)) return cgan_error(ctx, CGAN_E_FORMAT, "%s: \"size\" must be an integer in [4, 4096]", origin);
    h->size = (int)json_integer_value(v);
    if ((v = json_object_get(root, "nz"))) {
        if (!int_at_least(v, 1, 4096)) return cgan_error(ctx, CGAN_E_FORMAT, "%s: \"nz\" must be an integer in [1, 4096]", origin);
        h->nz = (int)json_integer_value(v);
    }
    if ((v = json_object_get(root, "cond"))) {
        h->cond = json_is_string(v) ? cgan_cond_parse(json_string_value(v)) : -1;
        if (h->cond < 0)
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: \"cond\" must be \"none\", \"concat\", \"proj\" or \"text\"", origin);
    }
    if ((v = json_object_get(root, "name"))) {
        if (!json_is_string(v)) return cgan_error(ctx, CGAN_E_FORMAT, "%s: \"name\" must be a string", origin);
        snprintf(h->name, sizeof h->name, "%s", json_string_value(v));
    }
    if ((v = json_object_get(root, "description")) && !json_is_string(v))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: \"description\" must be a string", origin);
    return CGAN_OK;
}

static json_t *load_json(cgan_ctx *ctx, const char *text, const char *origin, cgan_status *st)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    *st = root ? CGAN_OK : cgan_error(ctx, CGAN_E_FORMAT, "%s: not valid JSON: line %d column %d: %s", origin, jerr.line,
                                      jerr.column, jerr.text);
    return root;
}

cgan_status cgan_model_parse(cgan_ctx *ctx, const char *text, const char *origin, cgan_model_head *head)
{
    cgan_status st;
    cgan_model_head h;
    json_t *root = load_json(ctx, text, origin, &st);
    if (!root) return st;
    if ((st = check_head(ctx, root, origin, &h)) == CGAN_OK) {
        for (int w = 0; w < 2 && st == CGAN_OK; w++) {
            net_check c = { ctx, origin, net_names[w], w, h.cond, NULL, 0 };
            st = check_net(&c, root);
        }
    }
    json_decref(root);
    if (st == CGAN_OK && head) *head = h;
    return st;
}

cgan_status cgan_model_file_read(cgan_ctx *ctx, const char *path, char **text, cgan_model_head *head)
{
    *text = NULL;
    cgan_status ost = CGAN_OK;
    FILE *f = cgan_fopen_regular(ctx, path, "model file", &ost);
    if (!f) return ost;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    cgan_status st = CGAN_OK;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *b = cap <= (16u << 20) ? realloc(buf, cap) : NULL;
            if (!b) { st = cgan_error(ctx, CGAN_E_FORMAT, "%s: a model file of more than 16 MiB", path); break; }
            buf = b;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096) {
            if (ferror(f)) st = cgan_error(ctx, CGAN_E_IO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (st == CGAN_OK) {
        buf[n] = '\0';
        if (strlen(buf) != n) st = cgan_error(ctx, CGAN_E_FORMAT, "%s: not a text file (a NUL byte)", path);
        else st = cgan_model_parse(ctx, buf, path, head);
    }
    if (st != CGAN_OK) { free(buf); return st; }
    *text = buf;
    return CGAN_OK;
}

/* ---- building ---------------------------------------------------------------------- */

static int int_field(json_t *layer, const char *key, int dflt)
{
    json_t *v = json_object_get(layer, key);
    return v ? (int)json_integer_value(v) : dflt;
}

static float num_field(json_t *layer, const char *key, float dflt)
{
    json_t *v = json_object_get(layer, key);
    return v ? (float)json_number_value(v) : dflt;
}

static cgan_act act_field(json_t *layer)
{
    const char *s = json_string_value(json_object_get(layer, "act"));
    return !s || !strcmp(s, "none") ? CGAN_ACT_NONE : !strcmp(s, "relu") ? CGAN_ACT_RELU : CGAN_ACT_LRELU;
}

/* The tensor id a reference names: an earlier layer's output or a network input. */
static int ref_id(const net_check *c, const int *ids, int i, const char *name, const cgan_model_net *net)
{
    int j = find_layer(c, name, i);
    if (j >= 0) return ids[j];
    if (!strcmp(name, "labels") || !strcmp(name, "tokens")) return net->labels;
    return ids[-1]; /* "z", or "x" after DiffAugment */
}

/* Input a (0) or b (1) of layer i. */
static int input_id(const net_check *c, const int *ids, int i, json_t *layer, int which_in, const cgan_model_net *net)
{
    in_kind in = types[find_type(json_string_value(json_object_get(layer, "type")))].in;
    json_t *two = json_object_get(layer, "inputs"), *one = json_object_get(layer, "input");
    if (two) return ref_id(c, ids, i, json_string_value(json_array_get(two, (size_t)which_in)), net);
    if (which_in == 1 || in == IN_LABELS || in == IN_TOKENS) {
        if (one && which_in == 0) return ref_id(c, ids, i, json_string_value(one), net);
        return net->labels;
    }
    if (one) return ref_id(c, ids, i, json_string_value(one), net);
    return i > 0 ? ids[i - 1] : ids[-1];
}

/* Set the init_std of the layer's weight (or a projection's embedding). */
static void set_init_std(cgan_graph *g, const char *name, const char *param, json_t *layer)
{
    json_t *v = json_object_get(layer, "init_std");
    if (!v) return;
    char full[160];
    snprintf(full, sizeof full, "%s.%s.%s", cgan_graph_prefix(g), name, param);
    cgan_gtensor *w = cgan_graph_tensor(g, cgan_graph_find_tensor(g, full));
    if (w) w->init_std = (float)json_number_value(v);
}

/* Add layer i to the graph; returns its output id or -1 (the graph has the error). */
static int build_layer(const net_check *c, const cgan_model_cfg *cfg, const int *ids, int i, const cgan_model_net *net)
{
    cgan_graph *g = net->g;
    json_t *L = json_array_get(c->list, (size_t)i);
    const char *name = json_string_value(json_object_get(L, "name"));
    int t = find_type(json_string_value(json_object_get(L, "type")));
    int a = input_id(c, ids, i, L, 0, net), b = types[t].in == IN_TWO || types[t].in == IN_X_LABELS
                                                    ? input_id(c, ids, i, L, 1, net) : -1;
    json_t *outv = json_object_get(L, "out");
    int out = json_is_string(outv) ? cfg->nc : (int)json_integer_value(outv);
    int k = int_field(L, "k", 1), stride = int_field(L, "stride", 1), pad = int_field(L, "pad", 0);
    int bias = json_is_true(json_object_get(L, "bias"));
    cgan_act act = act_field(L);
    float slope = num_field(L, "slope", act == CGAN_ACT_LRELU || t == T_LRELU ? 0.2f : 0.0f);
    const int K = cfg->num_classes;
    int y = -1;
    switch ((ltype)t) {
    case T_CONV: y = cgan_nn_conv2d(g, name, a, out, k, stride, pad, bias); set_init_std(g, name, "weight", L); break;
    case T_DECONV: y = cgan_nn_deconv2d(g, name, a, out, k, stride, pad, bias); set_init_std(g, name, "weight", L); break;
    case T_LINEAR: y = cgan_nn_linear(g, name, a, out, bias); set_init_std(g, name, "weight", L); break;
    case T_BN:
        y = act == CGAN_ACT_NONE ? cgan_nn_batchnorm(g, name, a) : cgan_nn_batchnorm_act(g, name, a, act, slope);
        break;
    case T_CBN:
        y = act == CGAN_ACT_NONE ? cgan_nn_cond_batchnorm(g, name, a, b, K)
                                 : cgan_nn_cond_batchnorm_act(g, name, a, b, K, act, slope);
        break;
    case T_RELU: y = cgan_nn_activation(g, name, a, CGAN_ACT_RELU, 0.f); break;
    case T_LRELU: y = cgan_nn_activation(g, name, a, CGAN_ACT_LRELU, slope); break;
    case T_TANH: y = cgan_nn_activation(g, name, a, CGAN_ACT_TANH, 0.f); break;
    case T_SIGMOID: y = cgan_nn_activation(g, name, a, CGAN_ACT_SIGMOID, 0.f); break;
    case T_EMBED: y = cgan_nn_embedding(g, name, a, K, int_field(L, "dim", K)); set_init_std(g, name, "weight", L); break;
    case T_EMBED_MEAN:
        y = cgan_nn_embed_mean(g, name, a, cfg->vocab, int_field(L, "dim", CGAN_TEXT_EMBED));
        set_init_std(g, name, "weight", L);
        break;
    case T_ONEHOT: y = cgan_nn_onehot(g, name, a, K); break;
    case T_CONCAT: y = cgan_nn_concat(g, name, a, b); break;
    case T_ADD: y = cgan_nn_add(g, name, a, b); break;
    case T_MUL: y = cgan_nn_mul(g, name, a, b); break;
    case T_RESHAPE: {
        json_t *s = json_object_get(L, "shape");
        cgan_shape sh = cgan_shape4(cfg->batch, (int)json_integer_value(json_array_get(s, 0)),
                                    (int)json_integer_value(json_array_get(s, 1)), (int)json_integer_value(json_array_get(s, 2)));
        y = cgan_nn_reshape(g, name, a, sh);
        break;
    }
    case T_DROPOUT: y = cgan_nn_dropout(g, name, a, num_field(L, "p", 0.f)); break;
    case T_PROJ: y = cgan_nn_projection(g, name, a, b, K); set_init_std(g, name, "embed", L); break;
    case T_MBSTD: y = cgan_nn_mbstd(g, name, a, int_field(L, "group", CGAN_MBSTD_GROUP)); break;
    case T_COUNT: break;
    }
    return y;
}

static cgan_status build_layers(net_check *c, const cgan_model_cfg *cfg, cgan_model_net *net, cgan_model_layer_fn fn,
                                void *user)
{
    int *mem = malloc(((size_t)c->n + 1) * sizeof *mem);
    if (!mem) return cgan_error(c->ctx, CGAN_E_NOMEM, "out of memory");
    int *ids = mem + 1; /* ids[-1]: the network's input (after DiffAugment in D) */
    cgan_status st = CGAN_OK;
    ids[-1] = net->in;
    if (c->which == 1 && cfg->diffaug) {
        /* DiffAugment on every image D sees in training (real and fake, D and G steps); the
         * gradient flows through it to G. The identity in eval mode. */
        ids[-1] = cgan_nn_diffaug(net->g, "diffaug", net->in, 0.125f, 0.5f);
        if ((st = cgan_graph_status(net->g))) goto done;
    }
    for (int i = 0; i < c->n; i++) {
        int nt0 = cgan_graph_tensor_count(net->g);
        ids[i] = build_layer(c, cfg, ids, i, net);
        if ((st = cgan_graph_status(net->g)) != CGAN_OK) {
            const char *name = json_string_value(json_object_get(json_array_get(c->list, (size_t)i), "name"));
            st = cgan_error_wrap(c->ctx, st == CGAN_E_INVALID ? CGAN_E_SHAPE : st, "%s: %s layer %d \"%s\"", c->origin,
                                 c->net, i + 1, name);
            goto done;
        }
        if (fn) {
            cgan_model_layer l = { c->net, i + 1, json_string_value(json_object_get(json_array_get(c->list, (size_t)i), "name")),
                                   json_string_value(json_object_get(json_array_get(c->list, (size_t)i), "type")),
                                   cgan_graph_tensor(net->g, ids[i])->shape, 0 };
            for (int k = nt0; k < cgan_graph_tensor_count(net->g); k++) {
                const cgan_gtensor *x = cgan_graph_tensor(net->g, k);
                if (x->kind == CGAN_TENSOR_PARAM) l.params += cgan_numel(x->shape);
            }
            fn(user, &l);
        }
    }
    net->out = ids[c->n - 1];
    /* spectral normalisation of D's conv and linear weights (ops/spectral_norm.h) */
    if (c->which == 1 && cfg->spectral_norm && (st = cgan_spectral_norm_graph(net->g))) goto done;
    cgan_shape want = c->which ? cgan_shape4(cfg->batch, 1, 1, 1) : cgan_shape4(cfg->batch, cfg->nc, cfg->size, cfg->size);
    cgan_shape got = cgan_graph_tensor(net->g, net->out)->shape;
    if (!cgan_shape_eq(got, want)) {
        char a[64], b[64];
        cgan_shape_str(got, a, sizeof a);
        cgan_shape_str(want, b, sizeof b);
        st = c->which ? cgan_error(c->ctx, CGAN_E_SHAPE, "%s: D layer %d \"%s\" (D's output) is %s; D must end in one "
                                   "logit per image, %s", c->origin, c->n, json_string_value(json_object_get(
                                   json_array_get(c->list, (size_t)c->n - 1), "name")), a, b)
                      : cgan_error(c->ctx, CGAN_E_SHAPE, "%s: G layer %d \"%s\" (G's output) is %s; G must end in "
                                   "%s (batch, %d channel%s of the data, size %d)", c->origin, c->n,
                                   json_string_value(json_object_get(json_array_get(c->list, (size_t)c->n - 1), "name")),
                                   a, b, cfg->nc, cfg->nc == 1 ? "" : "s", cfg->size);
    }
done:
    free(mem);
    return st;
}

/* The description of cfg as JSON: cfg->desc parsed, or the built-in family's. */
static json_t *cfg_json(cgan_ctx *ctx, const cgan_model_cfg *cfg, const char *origin, cgan_status *st)
{
    if (cfg->desc) return load_json(ctx, cfg->desc, origin, st);
    json_t *root = cgan_model_builtin_json(cfg);
    *st = root ? CGAN_OK : cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    return root;
}

cgan_status cgan_model_build_net(cgan_ctx *ctx, const cgan_model_cfg *cfg, const char *origin, int which,
                                 cgan_model_layer_fn fn, void *user, cgan_model_net *out)
{
    memset(out, 0, sizeof *out);
    out->labels = -1;
    CGAN_TRY(cgan_model_cfg_check(ctx, cfg));
    cgan_status st;
    json_t *root = cfg_json(ctx, cfg, origin, &st);
    if (!root) return st;
    cgan_model_head h;
    cgan_model_net net = { NULL, -1, -1, -1 };
    net_check c = { ctx, origin, net_names[which ? 1 : 0], which ? 1 : 0, (int)cfg->cond, NULL, 0 };
    if ((st = check_head(ctx, root, origin, &h))) goto done;
    if (h.size != cfg->size || h.nz != cfg->nz) {
        st = cgan_error(ctx, CGAN_E_INVALID, "%s: the description is for size %d and nz %d; the run has size %d and nz %d",
                        origin, h.size, h.nz, cfg->size, cfg->nz);
        goto done;
    }
    if (h.cond >= 0 && h.cond != (int)cfg->cond) {
        st = cgan_error(ctx, CGAN_E_INVALID, "%s: the description has cond %s; the run has %s", origin,
                        cgan_cond_name((cgan_cond)h.cond), cgan_cond_name(cfg->cond));
        goto done;
    }
    if ((st = check_net(&c, root))) goto done;
    net.g = cgan_graph_new(ctx, c.net);
    if (!net.g) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto done; }
    const int N = cfg->batch;
    net.in = c.which ? cgan_graph_input(net.g, "x", cgan_shape4(N, cfg->nc, cfg->size, cfg->size))
                     : cgan_graph_input(net.g, "z", cgan_shape4(N, cfg->nz, 1, 1));
    if (cfg->cond == CGAN_COND_TEXT) net.labels = cgan_graph_input_tokens(net.g, "tokens", N, CGAN_TEXT_TOKENS, cfg->vocab);
    else if (cfg->cond != CGAN_COND_NONE) net.labels = cgan_graph_input_labels(net.g, "labels", N, cfg->num_classes);
    if ((st = cgan_graph_status(net.g))) goto done;
    st = build_layers(&c, cfg, &net, fn, user);
done:
    json_decref(root);
    if (st != CGAN_OK) {
        cgan_graph_destroy(net.g);
        return st;
    }
    *out = net;
    return CGAN_OK;
}

cgan_status cgan_model_check(cgan_ctx *ctx, const cgan_model_cfg *cfg, const char *origin)
{
    for (int w = 0; w < 2; w++) {
        cgan_model_net n;
        CGAN_TRY(cgan_model_build_net(ctx, cfg, origin, w, NULL, NULL, &n));
        cgan_graph_destroy(n.g);
    }
    return CGAN_OK;
}

cgan_status cgan_model_layers(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_model_layer_fn fn, void *user)
{
    cgan_model_cfg c = *cfg;
    c.batch = 1;
    c.diffaug = 0;
    const char *origin = cfg->desc ? "model description" : "built-in model";
    for (int w = 0; w < 2; w++) {
        cgan_model_net n;
        CGAN_TRY(cgan_model_build_net(ctx, &c, origin, w, fn, user, &n));
        cgan_graph_destroy(n.g);
    }
    return CGAN_OK;
}
