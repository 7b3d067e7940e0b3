/* The per-device GEMM tuning table: entries, the device key, the JSON file, dispatch of a
 * stored choice and CLBlast's parameter overrides. */
#include <clblast_c.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "config.h"
#include "tune.h"
#include "runtime/atomic.h"

#ifndef CGAN_CLBLAST_VERSION
#define CGAN_CLBLAST_VERSION "unknown"
#endif

/* ---- shapes and entries ------------------------------------------------------------------ */
cgan_tune_shape cgan_tune_shape_of(const cgan_gemm_args *g)
{
    cgan_tune_shape s = { g->ta == CGAN_TRANS, g->tb == CGAN_TRANS, g->m, g->n, g->k, g->batch,
                          g->lda, g->ldb, g->ldc, 0, 0, 0 };
    if (g->batch > 1) { /* strides of a single GEMM mean nothing */
        s.a_stride = g->a_stride;
        s.b_stride = g->b_stride;
        s.c_stride = g->c_stride;
    }
    return s;
}

int cgan_tune_shape_eq(const cgan_tune_shape *a, const cgan_tune_shape *b)
{
    return a->ta == b->ta && a->tb == b->tb && a->m == b->m && a->n == b->n && a->k == b->k &&
           a->batch == b->batch && a->lda == b->lda && a->ldb == b->ldb && a->ldc == b->ldc &&
           a->a_stride == b->a_stride && a->b_stride == b->b_stride && a->c_stride == b->c_stride;
}

void cgan_tune_shape_str(const cgan_tune_shape *s, char *out, size_t n)
{
    snprintf(out, n, "%s%s m=%zu n=%zu k=%zu batch=%zu lda=%zu ldb=%zu ldc=%zu strides=%zu/%zu/%zu",
             s->ta ? "T" : "N", s->tb ? "T" : "N", s->m, s->n, s->k, s->batch, s->lda, s->ldb,
             s->ldc, s->a_stride, s->b_stride, s->c_stride);
}

void cgan_tune_table_init(cgan_tune_table *t)
{
    memset(t, 0, sizeof *t);
}

void cgan_tune_table_free(cgan_tune_table *t)
{
    if (!t) return;
    free(t->e);
    cgan_tune_table_init(t);
}

const cgan_tune_entry *cgan_tune_table_find(const cgan_tune_table *t, const cgan_tune_shape *s)
{
    for (int i = 0; t && i < t->n; i++)
        if (cgan_tune_shape_eq(&t->e[i].s, s)) return &t->e[i];
    return NULL;
}

cgan_status cgan_tune_table_set(cgan_ctx *ctx, cgan_tune_table *t, const cgan_tune_shape *s,
                                const char *choice, double default_ms, double tuned_ms)
{
    if (strlen(choice) >= CGAN_TUNE_CHOICE_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "tuning: choice '%s' is too long", choice);
    cgan_tune_entry *e = (cgan_tune_entry *)cgan_tune_table_find(t, s);
    if (!e) {
        if (t->n == t->cap) {
            int cap = t->cap ? 2 * t->cap : 16;
            cgan_tune_entry *ne = realloc(t->e, (size_t)cap * sizeof *ne);
            if (!ne) return cgan_error(ctx, CGAN_E_NOMEM, "tuning table: out of memory");
            t->e = ne;
            t->cap = cap;
        }
        e = &t->e[t->n++];
        memset(e, 0, sizeof *e);
        e->s = *s;
    }
    snprintf(e->choice, sizeof e->choice, "%s", choice);
    e->default_ms = default_ms;
    e->tuned_ms = tuned_ms;
    return CGAN_OK;
}

/* ---- choices ------------------------------------------------------------------------------ */
cgan_status cgan_tune_choice_check(cgan_ctx *ctx, const char *choice)
{
    if (!choice) return cgan_error(ctx, CGAN_E_INVALID, "tuning: NULL choice");
    if (!strcmp(choice, "clblast")) return CGAN_OK;
    if (!strncmp(choice, "own:", 4)) return cgan_gemm_own_spec_check(ctx, choice + 4);
    return cgan_error(ctx, CGAN_E_INVALID, "tuning: choice '%s' is neither 'clblast' nor "
                      "'own:<spec>'", choice);
}

cgan_status cgan_tune_run_choice(cgan_ctx *ctx, const cgan_gemm_args *g, const char *choice)
{
    if (!strcmp(choice, "clblast")) return cgan_gemm_provider_clblast()->gemm(ctx, g);
    if (!strncmp(choice, "own:", 4)) return cgan_gemm_own_run_spec(ctx, g, choice + 4);
    return cgan_tune_choice_check(ctx, choice);
}

cgan_status cgan_tune_apply_overrides(cgan_ctx *ctx, const cgan_tune_override *ov, int n)
{
    for (int i = 0; i < n; i++) {
        const char *names[CGAN_TUNE_PARAMS_MAX];
        for (int j = 0; j < ov[i].count; j++) names[j] = ov[i].names[j];
        CLBlastStatusCode s = CLBlastOverrideParameters(ctx->device, ov[i].kernel,
                                                        CLBlastPrecisionSingle,
                                                        (size_t)ov[i].count, names, ov[i].values);
        if (s != CLBlastSuccess)
            return cgan_error(ctx, CGAN_E_BLAS, "CLBlastOverrideParameters(%s) failed: %s (%d)",
                              ov[i].kernel, cgan_clblast_status_str(s), (int)s);
    }
    return CGAN_OK;
}

/* ---- the device key and the file ---------------------------------------------------------- */
cgan_status cgan_tune_device_key(cgan_ctx *ctx, char *out, size_t n)
{
    char plat[128] = "";
    cl_int e = clGetPlatformInfo(ctx->platform, CL_PLATFORM_VERSION, sizeof plat, plat, NULL);
    if (e != CL_SUCCESS)
        return cgan_cl_fail(ctx, e, "clGetPlatformInfo", "CL_PLATFORM_VERSION (tuning key)");
    plat[sizeof plat - 1] = '\0';
    char *src = NULL;
    size_t len = 0;
    CGAN_TRY(cgan_source_load(ctx, "gemm", &src, &len));
    unsigned long long h = (unsigned long long)cgan_hash64(src, len, 0);
    free(src);
    snprintf(out, n, "cgan-cl " CGAN_VERSION_STRING "|platform=%s|%s|device=%s|driver=%s|"
             "version=%s|clblast=" CGAN_CLBLAST_VERSION "|gemm.cl=%016llx",
             ctx->info.platform, plat, ctx->info.name, ctx->info.driver, ctx->info.version, h);
    return CGAN_OK;
}

cgan_status cgan_tune_path(cgan_ctx *ctx, char *out, size_t n)
{
    if (!ctx->cache_dir[0])
        return cgan_error(ctx, CGAN_E_NOT_FOUND, "tuning: no cache folder (set CGAN_CACHE_DIR)");
    char key[CGAN_TUNE_KEY_MAX];
    CGAN_TRY(cgan_tune_device_key(ctx, key, sizeof key));
    snprintf(out, n, "%s/tune-%016llx.json", ctx->cache_dir,
             (unsigned long long)cgan_hash64(key, strlen(key), 0));
    return CGAN_OK;
}

static json_t *shape_json(const cgan_tune_entry *e)
{
    const cgan_tune_shape *s = &e->s;
    return json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:f,s:f}",
                     "ta", s->ta, "tb", s->tb, "m", (json_int_t)s->m, "n", (json_int_t)s->n,
                     "k", (json_int_t)s->k, "batch", (json_int_t)s->batch,
                     "lda", (json_int_t)s->lda, "ldb", (json_int_t)s->ldb,
                     "ldc", (json_int_t)s->ldc, "a_stride", (json_int_t)s->a_stride,
                     "b_stride", (json_int_t)s->b_stride, "c_stride", (json_int_t)s->c_stride,
                     "choice", e->choice, "default_ms", e->default_ms, "tuned_ms", e->tuned_ms);
}

static json_t *table_json(cgan_ctx *ctx, const cgan_tune_table *t, const char *key)
{
    char date[32] = "";
    time_t now = time(NULL);
    struct tm tmv;
    if (gmtime_r(&now, &tmv)) strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    json_t *root = json_pack("{s:i,s:s,s:{s:s,s:s,s:s,s:s},s:s,s:s}", "format", CGAN_TUNE_FORMAT,
                             "device_key", key, "device", "name", ctx->info.name, "platform",
                             ctx->info.platform, "driver", ctx->info.driver, "version",
                             ctx->info.version, "clblast_version", CGAN_CLBLAST_VERSION, "date",
                             date);
    json_t *entries = json_array(), *ovs = json_array();
    if (!root || !entries || !ovs) goto fail;
    for (int i = 0; i < t->n; i++)
        if (json_array_append_new(entries, shape_json(&t->e[i]))) goto fail;
    for (int i = 0; i < t->n_ov; i++) {
        json_t *params = json_object();
        if (!params) goto fail;
        for (int j = 0; j < t->ov[i].count; j++)
            json_object_set_new(params, t->ov[i].names[j], json_integer((json_int_t)t->ov[i].values[j]));
        if (json_array_append_new(ovs, json_pack("{s:s,s:o}", "kernel", t->ov[i].kernel,
                                                 "params", params)))
            goto fail;
    }
    json_object_set_new(root, "entries", entries);
    json_object_set_new(root, "clblast_overrides", ovs);
    return root;
fail:
    json_decref(root);
    json_decref(entries);
    json_decref(ovs);
    return NULL;
}

cgan_status cgan_tune_save(cgan_ctx *ctx, const cgan_tune_table *t)
{
    char path[1200], key[CGAN_TUNE_KEY_MAX];
    CGAN_TRY(cgan_tune_path(ctx, path, sizeof path));
    CGAN_TRY(cgan_tune_device_key(ctx, key, sizeof key));
    /* the kernel cache normally made the folder; make it (one level) when it did not */
    if (mkdir(ctx->cache_dir, 0755) != 0 && errno != EEXIST)
        return cgan_error(ctx, CGAN_E_IO, "tuning file: cannot create %s: %s", ctx->cache_dir,
                          strerror(errno));
    json_t *root = table_json(ctx, t, key);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) return cgan_error(ctx, CGAN_E_NOMEM, "tuning file %s: out of memory", path);
    cgan_status st = cgan_atomic_write(ctx, path, text, strlen(text));
    free(text);
    return st;
}

/* ---- loading ------------------------------------------------------------------------------- */
static int get_size(json_t *o, const char *name, size_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (size_t)json_integer_value(v);
    return 0;
}

static cgan_status bad(cgan_ctx *ctx, const char *path, const char *what)
{
    return cgan_error(ctx, CGAN_E_FORMAT, "tuning file %s ignored: %s", path, what);
}

static cgan_status load_entry(cgan_ctx *ctx, const char *path, json_t *je, cgan_tune_table *t)
{
    cgan_tune_shape s;
    size_t ta, tb;
    json_t *ch = json_object_get(je, "choice");
    if (!json_is_object(je) || get_size(je, "ta", &ta) || get_size(je, "tb", &tb) || ta > 1 ||
        tb > 1 || get_size(je, "m", &s.m) || get_size(je, "n", &s.n) || get_size(je, "k", &s.k) ||
        get_size(je, "batch", &s.batch) || get_size(je, "lda", &s.lda) ||
        get_size(je, "ldb", &s.ldb) || get_size(je, "ldc", &s.ldc) ||
        get_size(je, "a_stride", &s.a_stride) || get_size(je, "b_stride", &s.b_stride) ||
        get_size(je, "c_stride", &s.c_stride) || !json_is_string(ch))
        return bad(ctx, path, "an entry lacks a field or has a wrong type");
    s.ta = (int)ta;
    s.tb = (int)tb;
    if (cgan_tune_choice_check(ctx, json_string_value(ch)) != CGAN_OK)
        return cgan_error_wrap(ctx, CGAN_E_FORMAT, "tuning file %s ignored", path);
    json_t *d = json_object_get(je, "default_ms"), *u = json_object_get(je, "tuned_ms");
    return cgan_tune_table_set(ctx, t, &s, json_string_value(ch),
                               json_is_number(d) ? json_number_value(d) : 0,
                               json_is_number(u) ? json_number_value(u) : 0);
}

static cgan_status load_override(cgan_ctx *ctx, const char *path, json_t *jo, cgan_tune_table *t)
{
    json_t *k = json_object_get(jo, "kernel"), *params = json_object_get(jo, "params");
    if (t->n_ov >= 2 || !json_is_string(k) || !json_is_object(params) ||
        json_object_size(params) == 0 || json_object_size(params) > CGAN_TUNE_PARAMS_MAX ||
        (strcmp(json_string_value(k), "Xgemm") && strcmp(json_string_value(k), "XgemmDirect")))
        return bad(ctx, path, "a CLBlast override is malformed");
    cgan_tune_override *ov = &t->ov[t->n_ov++];
    memset(ov, 0, sizeof *ov);
    snprintf(ov->kernel, sizeof ov->kernel, "%s", json_string_value(k));
    const char *name;
    json_t *v;
    json_object_foreach(params, name, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || strlen(name) >= sizeof ov->names[0])
            return bad(ctx, path, "a CLBlast parameter is malformed");
        snprintf(ov->names[ov->count], sizeof ov->names[0], "%s", name);
        ov->values[ov->count++] = (size_t)json_integer_value(v);
    }
    return CGAN_OK;
}

static cgan_status load_root(cgan_ctx *ctx, const char *path, json_t *root, cgan_tune_table *t)
{
    char key[CGAN_TUNE_KEY_MAX];
    CGAN_TRY(cgan_tune_device_key(ctx, key, sizeof key));
    json_t *fmt = json_object_get(root, "format"), *jk = json_object_get(root, "device_key");
    json_t *entries = json_object_get(root, "entries");
    json_t *ovs = json_object_get(root, "clblast_overrides");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != CGAN_TUNE_FORMAT)
        return bad(ctx, path, "unknown format");
    if (!json_is_string(jk) || strcmp(json_string_value(jk), key) != 0)
        return bad(ctx, path, "written for another device, driver, CLBlast or cgan-cl version");
    if (!json_is_array(entries) || (ovs && !json_is_array(ovs)))
        return bad(ctx, path, "no entries");
    size_t i;
    json_t *v;
    json_array_foreach(entries, i, v) CGAN_TRY(load_entry(ctx, path, v, t));
    json_array_foreach(ovs, i, v) CGAN_TRY(load_override(ctx, path, v, t));
    return CGAN_OK;
}

cgan_status cgan_tune_load(cgan_ctx *ctx, cgan_tune_table *t)
{
    cgan_tune_table_init(t);
    char path[1200];
    CGAN_TRY(cgan_tune_path(ctx, path, sizeof path));
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cgan_error(ctx, CGAN_E_NOT_FOUND, "tuning file %s: %s", path, strerror(errno));
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return cgan_error(ctx, CGAN_E_FORMAT, "tuning file %s ignored: line %d: %s", path, je.line,
                          root ? "not a JSON object" : je.text);
    }
    cgan_status st = load_root(ctx, path, root, t);
    json_decref(root);
    if (st != CGAN_OK) cgan_tune_table_free(t);
    return st;
}
