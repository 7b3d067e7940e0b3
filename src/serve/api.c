/* /api/generate and /api/info (see serve.h): JSON in through jansson, validated field by
 * field; the class resolved like `cgan-cl generate --class/--prompt` resolves it. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "serve.h"

#define MAX_SEED 2147483647LL /* as `cgan-cl generate --seed` */

static void reply_json(serve_reply *r, int code, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        r->code = 500;
        r->body = (unsigned char *)strdup(oom);
        r->len = r->body ? strlen(oom) : 0;
    } else {
        r->code = code;
        r->body = (unsigned char *)s;
        r->len = strlen(s);
    }
    r->type = "application/json";
}

static json_t *error_object(const char *field, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    json_t *o = json_object();
    if (o) json_object_set_new(o, "error", json_string(msg));
    if (o && field) json_object_set_new(o, "field", json_string(field));
    return o;
}

void api_error(serve_reply *r, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *o = error_object(field, fmt, ap);
    va_end(ap);
    reply_json(r, code, o);
}

static json_t *class_array(serve_api *a)
{
    json_t *arr = json_array();
    char *const *names = cgan_gen_classes(a->meta);
    for (int i = 0; arr && i < cgan_gen_num_classes(a->meta); i++) json_array_append_new(arr, json_string(names[i]));
    return arr;
}

/* 422: the prompt or class matched nothing; the message and the list of classes. */
static void unknown_class(serve_api *a, serve_reply *r, const char *field, const char *msg)
{
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "error", json_string(msg));
        json_object_set_new(o, "field", json_string(field));
        json_object_set_new(o, "classes", class_array(a));
    }
    reply_json(r, 422, o);
}

int api_init(serve_api *a, const serve_cfg *cfg, serve_batcher *b, serve_metrics *m, char *err, size_t errsz)
{
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->b = b;
    a->m = m;
    if (pthread_mutex_init(&a->mu, NULL) || !(a->meta_ctx = cgan_ctx_new())) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    if (cgan_gen_open(a->meta_ctx, cfg->checkpoint, &a->meta) != CGAN_OK) {
        snprintf(err, errsz, "%s", cgan_last_error(a->meta_ctx));
        return -1;
    }
    return 0;
}

void api_free(serve_api *a)
{
    cgan_gen_close(a->meta);
    cgan_ctx_destroy(a->meta_ctx);
    pthread_mutex_destroy(&a->mu);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* A parsed and checked request. */
typedef struct gen_req {
    int cls, n, use_ema, images_format;
    uint64_t seed;
    const char *prompt;
} gen_req;

/* Check every field of o into q; 0, or -1 with the error reply set. */
static int parse_fields(serve_api *a, json_t *o, gen_req *q, serve_reply *r)
{
    const serve_cfg *cfg = a->cfg;
    const char *key;
    json_t *v;
    json_t *prompt = NULL, *cls = NULL;
    q->n = 1;
    q->seed = 0;
    q->use_ema = cgan_gen_has_ema(a->meta);
    q->images_format = 0;
    q->cls = -1;
    json_object_foreach(o, key, v) {
        if (!strcmp(key, "prompt")) {
            if (!json_is_string(v)) goto type_error;
            prompt = v;
        } else if (!strcmp(key, "class")) {
            if (!json_is_string(v) && !json_is_integer(v)) goto type_error;
            cls = v;
        } else if (!strcmp(key, "n")) {
            if (!json_is_integer(v)) goto type_error;
            json_int_t n = json_integer_value(v);
            if (n < 1 || n > cfg->max_n) {
                api_error(r, 400, "n", "\"n\" must be in [1, %d] (the server's --max-n); %lld given", cfg->max_n,
                          (long long)n);
                return -1;
            }
            q->n = (int)n;
        } else if (!strcmp(key, "seed")) {
            if (!json_is_integer(v)) goto type_error;
            json_int_t s = json_integer_value(v);
            if (s < 0 || s > MAX_SEED) {
                api_error(r, 400, "seed", "\"seed\" must be in [0, %lld]", MAX_SEED);
                return -1;
            }
            q->seed = (uint64_t)s;
        } else if (!strcmp(key, "weights")) {
            const char *w = json_string_value(v);
            if (!w || (strcmp(w, "ema") && strcmp(w, "raw"))) {
                api_error(r, 400, "weights", "\"weights\" must be \"ema\" or \"raw\"");
                return -1;
            }
            q->use_ema = !strcmp(w, "ema");
            if (q->use_ema && !cgan_gen_has_ema(a->meta)) {
                api_error(r, 400, "weights", "the checkpoint has no EMA weights; use \"raw\"");
                return -1;
            }
        } else if (!strcmp(key, "format")) {
            const char *f = json_string_value(v);
            if (!f || (strcmp(f, "grid") && strcmp(f, "images"))) {
                api_error(r, 400, "format", "\"format\" must be \"grid\" or \"images\"");
                return -1;
            }
            q->images_format = !strcmp(f, "images");
        } else {
            api_error(r, 400, key, "unknown field \"%s\"; the fields are prompt, class, n, seed, weights, format", key);
            return -1;
        }
        continue;
    type_error:
        api_error(r, 400, key, "\"%s\" has the wrong type: expected %s", key,
                  !strcmp(key, "prompt") ? "a string"
                  : !strcmp(key, "class") ? "a class name (string) or index (integer)"
                                          : "an integer");
        return -1;
    }
    if (prompt && cls) {
        api_error(r, 400, "class", "give \"prompt\" or \"class\", not both");
        return -1;
    }
    int conditional = cgan_gen_num_classes(a->meta) > 0;
    if (!conditional && (prompt || cls)) {
        api_error(r, 400, prompt ? "prompt" : "class", "the model is unconditional: leave out \"prompt\" and \"class\"");
        return -1;
    }
    if (conditional && !prompt && !cls) {
        api_error(r, 400, "prompt", "give \"prompt\" (a short text) or \"class\" (a name or index)");
        return -1;
    }
    if (cls && json_is_integer(cls)) {
        json_int_t c = json_integer_value(cls);
        if (c < 0 || c >= cgan_gen_num_classes(a->meta)) {
            char msg[128];
            snprintf(msg, sizeof msg, "class index %lld out of range [0, %d)", (long long)c,
                     cgan_gen_num_classes(a->meta));
            unknown_class(a, r, "class", msg);
            return -1;
        }
        q->cls = (int)c;
    } else if (cls || prompt) {
        const char *text = json_string_value(cls ? cls : prompt);
        if (strlen(text) != json_string_length(cls ? cls : prompt)) {
            api_error(r, 400, cls ? "class" : "prompt", "\"%s\" holds a NUL character", cls ? "class" : "prompt");
            return -1;
        }
        if (prompt && cgan_text_count_words(text) == 0) {
            api_error(r, 400, "prompt", "empty prompt; describe a class, e.g. \"a dress\"");
            return -1;
        }
        pthread_mutex_lock(&a->mu);
        cgan_status st = cls ? cgan_gen_find_class(a->meta, text, &q->cls) : cgan_gen_prompt(a->meta, text, &q->cls);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cgan_last_error(a->meta_ctx));
        pthread_mutex_unlock(&a->mu);
        if (st == CGAN_E_NOT_FOUND) {
            unknown_class(a, r, cls ? "class" : "prompt", msg);
            return -1;
        }
        if (st != CGAN_OK) {
            api_error(r, 400, cls ? "class" : "prompt", "%s", msg);
            return -1;
        }
        q->prompt = prompt ? text : NULL;
    }
    return 0;
}

/* The response of a finished request: a PNG grid, or JSON with one PNG per image. */
static void answer(serve_api *a, const gen_req *q, const serve_req *sr, serve_reply *r)
{
    const cgan_model_cfg *m = &cgan_gen_cfg(a->meta)->model;
    unsigned char *png = NULL;
    size_t len = 0;
    if (!q->images_format) {
        int cols, rows;
        cgan_gen_grid_cols(a->meta, q->n, &cols, &rows);
        if (cgan_gen_grid_png(NULL, sr->images, q->n, m->nc, m->size, cols, CGAN_GEN_GRID_PAD, &png, &len) != CGAN_OK) {
            api_error(r, 500, NULL, "encoding the grid failed");
            return;
        }
        r->code = 200;
        r->type = "image/png";
        r->body = png;
        r->len = len;
        return;
    }
    json_t *o = json_object(), *imgs = json_array();
    if (!o || !imgs) {
        json_decref(o);
        json_decref(imgs);
        api_error(r, 500, NULL, "out of memory");
        return;
    }
    size_t img = (size_t)m->nc * m->size * m->size;
    for (int k = 0; k < q->n; k++) {
        if (cgan_gen_grid_png(NULL, sr->images + (size_t)k * img, 1, m->nc, m->size, 1, 0, &png, &len) != CGAN_OK) {
            json_decref(o);
            json_decref(imgs);
            api_error(r, 500, NULL, "encoding image %d failed", k);
            return;
        }
        char *s = base64(png, len);
        free(png);
        json_array_append_new(imgs, s ? json_string(s) : json_null());
        free(s);
    }
    if (q->cls >= 0) {
        json_object_set_new(o, "class", json_string(cgan_gen_classes(a->meta)[q->cls]));
        json_object_set_new(o, "class_index", json_integer(q->cls));
    }
    if (q->prompt) json_object_set_new(o, "prompt", json_string(q->prompt));
    json_object_set_new(o, "n", json_integer(q->n));
    json_object_set_new(o, "seed", json_integer((json_int_t)q->seed));
    json_object_set_new(o, "weights", json_string(q->use_ema ? "ema" : "raw"));
    json_object_set_new(o, "width", json_integer(m->size));
    json_object_set_new(o, "height", json_integer(m->size));
    json_object_set_new(o, "images", imgs);
    reply_json(r, 200, o);
}

void api_generate(serve_api *a, const char *body, size_t len, serve_reply *r)
{
    json_error_t jerr;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        api_error(r, 400, "body", "malformed JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        api_error(r, 400, "body", "the body must be a JSON object, e.g. {\"prompt\": \"a dress\", \"n\": 4}");
        return;
    }
    gen_req q;
    if (parse_fields(a, o, &q, r)) {
        json_decref(o);
        return;
    }
    serve_req *sr = calloc(1, sizeof *sr);
    if (!sr) {
        json_decref(o);
        api_error(r, 500, NULL, "out of memory");
        return;
    }
    sr->cls = q.cls;
    sr->n = q.n;
    sr->seed = q.seed;
    sr->use_ema = q.use_ema;
    if (batcher_submit(a->b, sr)) {
        serve_req_free(sr);
        json_decref(o);
        api_error(r, 503, NULL, "the queue is full (%d requests); retry shortly", a->cfg->queue);
        r->retry_after = 1;
        return;
    }
    if (batcher_wait(a->b, sr, a->cfg->timeout)) { /* sr is the batcher's or freed now */
        json_decref(o);
        api_error(r, 504, NULL, "no images within the server's --timeout of %g s", a->cfg->timeout);
        return;
    }
    if (sr->state == REQ_DONE) answer(a, &q, sr, r);
    else api_error(r, 500, NULL, "generation failed: %s", sr->err);
    serve_req_free(sr);
    json_decref(o);
}

void api_info(serve_api *a, serve_reply *r)
{
    const cgan_train_cfg *tc = cgan_gen_cfg(a->meta);
    const cgan_model_cfg *m = &tc->model;
    const serve_cfg *cfg = a->cfg;
    json_t *o = json_object(), *lim = json_object(), *w = json_array();
    if (!o || !lim || !w) {
        json_decref(o);
        json_decref(lim);
        json_decref(w);
        api_error(r, 500, NULL, "out of memory");
        return;
    }
    const char *path = cgan_gen_path(a->meta), *slash = strrchr(path, '/');
    json_object_set_new(o, "checkpoint", json_string(slash ? slash + 1 : path));
    json_object_set_new(o, "model", json_string(m->desc && !cgan_model_is_builtin(m, m->desc)
                                                    ? "custom" : cgan_model_family_name(m->size)));
    json_object_set_new(o, "conditioning", json_string(cgan_cond_name(m->cond)));
    json_object_set_new(o, "classes", class_array(a));
    json_object_set_new(o, "width", json_integer(m->size));
    json_object_set_new(o, "height", json_integer(m->size));
    json_object_set_new(o, "channels", json_integer(m->nc));
    json_object_set_new(o, "nz", json_integer(m->nz));
    if (cgan_gen_has_ema(a->meta)) json_array_append_new(w, json_string("ema"));
    json_array_append_new(w, json_string("raw"));
    json_object_set_new(o, "weights", w);
    json_object_set_new(o, "default_weights", json_string(cgan_gen_has_ema(a->meta) ? "ema" : "raw"));
    json_object_set_new(o, "device", json_string(batcher_device(a->b)));
    json_object_set_new(lim, "max_batch", json_integer(cfg->max_batch));
    json_object_set_new(lim, "max_n", json_integer(cfg->max_n));
    json_object_set_new(lim, "queue", json_integer(cfg->queue));
    json_object_set_new(lim, "timeout_s", json_real(cfg->timeout));
    json_object_set_new(lim, "max_body_bytes", json_integer(SERVE_MAX_BODY));
    json_object_set_new(o, "limits", lim);
    int vmaj, vmin, vpat;
    json_object_set_new(o, "version", json_string(cgan_version(&vmaj, &vmin, &vpat)));
    reply_json(r, 200, o);
}
