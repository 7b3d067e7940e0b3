/* Checkpoints of a trainer in safetensors (io/safetensors.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checkpoint.h"
#include "core/exec.h"
#include "stab.h"

/* Shape without size-1 dimensions in front (batch) and at the back (H, W). */
static int squeeze(cgan_shape s, int64_t dims[4])
{
    int64_t d[4] = { s.n, s.c, s.h, s.w };
    int b = 0, e = 4;
    while (e > b && d[e - 1] == 1) e--;
    while (b < e && d[b] == 1) b++;
    for (int i = b; i < e; i++) dims[i - b] = d[i];
    return e - b;
}

static void shape_text(const int64_t *d, int nd, char *out, size_t n)
{
    size_t u = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < nd && u < n; i++) u += (size_t)snprintf(out + u, n - u, "%s%" PRId64, i ? "," : "", d[i]);
    if (u < n) snprintf(out + u, n - u, "]");
}

typedef struct arena_view { cgan_graph *g; float *params, *state, *ema, *m, *v; } arena_view;

static void views_free(arena_view *a)
{
    free(a->params); free(a->state); free(a->ema); free(a->m); free(a->v);
}

/* Read one graph's arenas (and optimiser/EMA buffers) to the host. */
static cgan_status views_read(cgan_trainer *t, int which, arena_view *a)
{
    cgan_ctx *ctx = cgan_graph_ctx(which ? cgan_trainer_discriminator(t)->g : cgan_trainer_generator(t)->g);
    memset(a, 0, sizeof *a);
    a->g = which ? cgan_trainer_discriminator(t)->g : cgan_trainer_generator(t)->g;
    size_t np = 0, ns = 0;
    cl_mem pm = cgan_graph_param_arena(a->g, &np), sm = cgan_graph_state_arena(a->g, &ns);
    size_t pb = (np ? np : 1) * sizeof(float), sb = (ns ? ns : 1) * sizeof(float);
    a->params = malloc(pb); a->m = malloc(pb); a->v = malloc(pb); a->state = malloc(sb);
    if (!which && cgan_trainer_ema(t)) a->ema = malloc(pb);
    if (!a->params || !a->m || !a->v || !a->state || (!which && cgan_trainer_ema(t) && !a->ema))
        return cgan_error(ctx, CGAN_E_NOMEM, "out of memory reading the model");
    CGAN_TRY(cgan_buffer_read(ctx, pm, 0, np * sizeof(float), a->params));
    CGAN_TRY(cgan_buffer_read(ctx, cgan_trainer_adam_m(t, which), 0, np * sizeof(float), a->m));
    CGAN_TRY(cgan_buffer_read(ctx, cgan_trainer_adam_v(t, which), 0, np * sizeof(float), a->v));
    if (a->ema) CGAN_TRY(cgan_buffer_read(ctx, cgan_trainer_ema(t), 0, np * sizeof(float), a->ema));
    if (ns) CGAN_TRY(cgan_buffer_read(ctx, sm, 0, ns * sizeof(float), a->state));
    return CGAN_OK;
}

static cgan_status views_write(cgan_trainer *t, int which, arena_view *a, int with_optim)
{
    cgan_ctx *ctx = cgan_graph_ctx(a->g);
    size_t np = 0, ns = 0;
    cl_mem pm = cgan_graph_param_arena(a->g, &np), sm = cgan_graph_state_arena(a->g, &ns);
    CGAN_TRY(cgan_buffer_write(ctx, pm, 0, np * sizeof(float), a->params));
    if (ns) CGAN_TRY(cgan_buffer_write(ctx, sm, 0, ns * sizeof(float), a->state));
    if (a->ema) CGAN_TRY(cgan_buffer_write(ctx, cgan_trainer_ema(t), 0, np * sizeof(float), a->ema));
    if (with_optim) {
        CGAN_TRY(cgan_buffer_write(ctx, cgan_trainer_adam_m(t, which), 0, np * sizeof(float), a->m));
        CGAN_TRY(cgan_buffer_write(ctx, cgan_trainer_adam_v(t, which), 0, np * sizeof(float), a->v));
    }
    return CGAN_OK;
}

/* The double of a float's shortest decimal that reads back as the same float: 0.999f is
 * written 0.999, not 0.99900001287460327. */
static double tidy(float f)
{
    char buf[32];
    for (int p = 6; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if ((float)strtod(buf, NULL) == f) return strtod(buf, NULL);
    }
    return (double)f;
}

char *cgan_train_cfg_json(const cgan_train_cfg *c)
{
    const char *arch = c->model.desc ? "custom" : cgan_model_family_name(c->model.size);
    json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:f, s:f, s:f, s:i, s:f, s:I, s:b, s:i}",
                          "arch", arch, "size", c->model.size, "cond", cgan_cond_name(c->model.cond),
                          "batch", c->model.batch, "nz", c->model.nz, "nc", c->model.nc,
                          "classes", c->model.num_classes, "ngf", c->model.ngf, "ndf", c->model.ndf,
                          "loss", cgan_loss_name(c->loss), "lr_g", tidy(c->lr_g), "lr_d", tidy(c->lr_d),
                          "beta1", tidy(c->beta1), "beta2", tidy(c->beta2), "d_steps", c->d_steps,
                          "ema", tidy(c->ema), "seed", (json_int_t)c->seed, "diffaug", c->model.diffaug,
                          "vocab", c->model.vocab);
    if (!o) return NULL;
    /* the stabilisers (issue 20), written only when set: a run with the defaults keeps the
     * config text of the releases before them */
    if (c->lr_schedule != CGAN_LR_CONSTANT)
        json_object_set_new(o, "lr_schedule", json_string(cgan_lr_schedule_name(c->lr_schedule)));
    if (c->warmup) json_object_set_new(o, "warmup", json_integer((json_int_t)c->warmup));
    if (c->lr_schedule != CGAN_LR_CONSTANT || c->warmup)
        json_object_set_new(o, "lr_steps", json_integer((json_int_t)c->lr_steps));
    if (c->label_smooth > 0) json_object_set_new(o, "label_smooth", json_real(tidy(c->label_smooth)));
    if (c->ema_rampup != CGAN_EMA_RAMPUP_LEGACY) json_object_set_new(o, "ema_rampup", json_real(tidy(c->ema_rampup)));
    const int standing = cgan_train_standing_batches(c);
    if (standing) json_object_set_new(o, "standing_stats", json_integer(standing));
    if (c->model.spectral_norm) json_object_set_new(o, "spectral_norm", json_true());
    if (c->model.mbstd) json_object_set_new(o, "mbstd", json_integer(c->model.mbstd));
    /* 9 significant digits hold any float; the tidied values print in their shortest form */
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(o);
    return s;
}

/* The stabilisers' optional fields of a config (absent: off), each in its range. */
static cgan_status stab_config(cgan_ctx *ctx, json_t *o, const char *path, cgan_train_cfg *cfg)
{
    json_t *v;
    if ((v = json_object_get(o, "lr_schedule"))) {
        int k = json_is_string(v) ? cgan_lr_schedule_parse(json_string_value(v)) : -1;
        if (k < 0)
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field 'lr_schedule': expected \"constant\", "
                              "\"linear\" or \"cosine\"", path);
        cfg->lr_schedule = (cgan_lr_schedule)k;
    }
    const struct { const char *name; json_int_t lo, hi; } ints[] = {
        { "warmup", 0, 1000000000 }, { "lr_steps", 0, CGAN_CKPT_MAX_STEPS }, { "standing_stats", 0, 10000 },
        { "mbstd", 0, 4096 },
    };
    json_int_t iv[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < 4; i++) {
        if (!(v = json_object_get(o, ints[i].name))) continue;
        if (!json_is_integer(v) || json_integer_value(v) < ints[i].lo || json_integer_value(v) > ints[i].hi)
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field '%s': expected an integer in [%lld, %lld]",
                              path, ints[i].name, (long long)ints[i].lo, (long long)ints[i].hi);
        iv[i] = json_integer_value(v);
    }
    cfg->warmup = iv[0];
    cfg->lr_steps = iv[1];
    cfg->standing_stats = (int)iv[2];
    cfg->model.mbstd = (int)iv[3];
    if ((v = json_object_get(o, "label_smooth"))) {
        double x = json_is_number(v) ? json_number_value(v) : -1;
        if (!(x >= 0 && x < 0.5))
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field 'label_smooth': expected a number in "
                              "[0, 0.5)", path);
        cfg->label_smooth = (float)x;
    }
    cfg->ema_rampup = CGAN_EMA_RAMPUP_LEGACY;   /* absent: a run from before the field */
    if ((v = json_object_get(o, "ema_rampup"))) {
        double x = json_is_number(v) ? json_number_value(v) : -1;
        if (!(x > 0 && x <= 100))
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field 'ema_rampup': expected a number in "
                              "(0, 100]", path);
        cfg->ema_rampup = (float)x;
    }
    if ((v = json_object_get(o, "spectral_norm"))) {
        if (!json_is_boolean(v))
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field 'spectral_norm': expected true or false",
                              path);
        cfg->model.spectral_norm = json_is_true(v);
    }
    return CGAN_OK;
}

cgan_status cgan_checkpoint_config(cgan_ctx *ctx, const cgan_st_file *f, cgan_train_cfg *cfg)
{
    const char *path = cgan_st_path(f);
    const char *fmt = cgan_st_meta(f, "format"), *ver = cgan_st_meta(f, "format_version");
    if (!fmt || strcmp(fmt, "cgan-cl") != 0)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: not a cgan-cl checkpoint (no format=cgan-cl in its metadata)", path);
    long v = ver ? strtol(ver, NULL, 10) : 0;
    if (v < 1) return cgan_error(ctx, CGAN_E_FORMAT, "%s: bad format_version '%s'", path, ver ? ver : "");
    if (v > CGAN_CKPT_FORMAT_VERSION)
        return cgan_error(ctx, CGAN_E_UNSUPPORTED,
                          "%s: checkpoint format version %ld is newer than this cgan-cl supports (%d); upgrade cgan-cl",
                          path, v, CGAN_CKPT_FORMAT_VERSION);
    const char *text = cgan_st_meta(f, "config");
    json_error_t jerr;
    json_t *o = text ? json_loads(text, 0, &jerr) : NULL;
    if (!o) return cgan_error(ctx, CGAN_E_FORMAT, "%s: missing or malformed 'config' metadata", path);
    *cfg = cgan_train_defaults();
    const char *arch = NULL, *cond = NULL, *loss = NULL;
    double lr_g = cfg->lr_g, lr_d = cfg->lr_d, b1 = cfg->beta1, b2 = cfg->beta2, ema = cfg->ema;
    json_int_t seed = 1, size = 0, batch, nz, nc, classes, ngf, ndf, d_steps, vocab = 0;
    int diffaug = 0;
    int bad = json_unpack_ex(o, &jerr, 0, "{s:s, s?I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:F, s:F, s:F, s:F, s:I, s:F, s:I, s?b, s?I}",
                             "arch", &arch, "size", &size, "cond", &cond, "batch", &batch, "nz", &nz,
                             "nc", &nc, "classes", &classes, "ngf", &ngf, "ndf", &ndf, "loss", &loss,
                             "lr_g", &lr_g, "lr_d", &lr_d, "beta1", &b1, "beta2", &b2, "d_steps", &d_steps,
                             "ema", &ema, "seed", &seed, "diffaug", &diffaug, "vocab", &vocab);
    cgan_status st = CGAN_OK;
    if (bad) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: %s", path, jerr.text);
        goto done;
    }
    /* every field in its range before anything is built from it (shifts, divisions) */
    const struct { const char *name; json_int_t v, lo, hi; int *dst; } ints[] = {
        { "size", size, 0, 4096, &cfg->model.size }, { "batch", batch, 1, 4096, &cfg->model.batch },
        { "nz", nz, 1, 4096, &cfg->model.nz }, { "nc", nc, 1, 3, &cfg->model.nc },
        { "classes", classes, 0, CGAN_CKPT_MAX_CLASSES, &cfg->model.num_classes },
        { "ngf", ngf, 1, 1024, &cfg->model.ngf }, { "ndf", ndf, 1, 1024, &cfg->model.ndf },
        { "d_steps", d_steps, 1, 16, &cfg->d_steps }, { "vocab", vocab, 0, CGAN_CKPT_MAX_VOCAB, &cfg->model.vocab },
        { "seed", seed, 0, INT64_MAX, NULL },
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (ints[i].v < ints[i].lo || ints[i].v > ints[i].hi || (!strcmp(ints[i].name, "nc") && ints[i].v == 2)) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field '%s' = %lld: expected %s in [%lld, %lld]",
                            path, ints[i].name, (long long)ints[i].v, strcmp(ints[i].name, "nc") ? "an integer" : "1 or 3",
                            (long long)ints[i].lo, (long long)ints[i].hi);
            goto done;
        }
        if (ints[i].dst) *ints[i].dst = (int)ints[i].v;
    }
    const struct { const char *name; double v, lo, hi; int hi_open; } reals[] = {
        { "lr_g", lr_g, 0, 1, 0 }, { "lr_d", lr_d, 0, 1, 0 }, { "beta1", b1, 0, 1, 1 }, { "beta2", b2, 0, 1, 1 },
        { "ema", ema, 0, 1, 1 },
    };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        double v = reals[i].v;
        if (!(v >= reals[i].lo && (reals[i].hi_open ? v < reals[i].hi : v <= reals[i].hi))) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field '%s' = %g: expected a number in [%g, %g%c",
                            path, reals[i].name, v, reals[i].lo, reals[i].hi, reals[i].hi_open ? ')' : ']');
            goto done;
        }
    }
    /* checkpoints made before sizes and model descriptions name a preset: seed32, dcgan64 */
    int a = size ? -1 : cgan_arch_parse(arch), cd = cgan_cond_parse(cond), l = cgan_loss_parse(loss);
    if (a >= 0) size = cgan_arch_size((cgan_arch)a);
    if (size < 4 || (strcmp(arch, "custom") != 0 && !cgan_model_size_ok((int)size)))
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field 'size' = %lld: %s", path, (long long)size,
                        size ? "the built-in family has sizes 16, 32, 64, 128 and 256" : "no size, and an unknown arch");
    else if (cd < 0 || l < 0)
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field '%s' = \"%s\" is unknown", path,
                        cd < 0 ? "cond" : "loss", cd < 0 ? cond : loss);
    else if ((cd == CGAN_COND_TEXT) != (vocab > 0))
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: config metadata: field 'vocab': a vocabulary of %lld words for "
                        "conditioning '%s'", path, (long long)vocab, cond);
    else {
        cfg->model.size = (int)size;
        cfg->model.cond = (cgan_cond)cd;
        cfg->loss = (cgan_loss_kind)l;
        cfg->lr_g = (float)lr_g; cfg->lr_d = (float)lr_d; cfg->beta1 = (float)b1; cfg->beta2 = (float)b2;
        cfg->ema = (float)ema;
        cfg->seed = (uint64_t)seed;
        cfg->model.diffaug = diffaug;
        st = stab_config(ctx, o, path, cfg);
        /* the model description (none in checkpoints older than descriptions: the preset
         * named by arch); the built-in family's own description stands for the family */
        const char *desc = cgan_st_meta(f, "model");
        cfg->model.desc = cgan_model_is_builtin(&cfg->model, desc) ? NULL : desc;
        if (st == CGAN_OK && !desc && a < 0)
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: no 'model' metadata (the model description)", path);
    }
done:
    json_decref(o);
    return st;
}

static cgan_status add_tensor(cgan_st_writer *w, const char *prefix, const cgan_gtensor *t, const float *data)
{
    char name[160];
    int64_t dims[4];
    int nd = squeeze(t->shape, dims);
    snprintf(name, sizeof name, "%s%s", prefix, t->name);
    return cgan_st_add_f32(w, name, dims, nd, data);
}

cgan_status cgan_checkpoint_save(cgan_trainer *t, const char *path, char *const *classes,
                                 int num_classes, const cgan_ckpt_kv *extra, int n_extra)
{
    cgan_ctx *ctx = cgan_graph_ctx(cgan_trainer_generator(t)->g);
    cgan_st_writer *w = NULL;
    arena_view av[2];
    memset(av, 0, sizeof av);
    char *cfg = NULL, *cls = NULL, *model = NULL;
    cgan_status st;
    if ((st = cgan_st_writer_new(&w))) return cgan_error(ctx, st, "%s: out of memory", path);
    /* --standing-stats: G's BatchNorm statistics with the EMA weights, saved as the EMA
     * network's (ema.G.<bn>.running_mean, ...), beside the training state */
    float *standing = NULL;
    size_t nstanding = 0;
    if (cgan_trainer_cfg(t)->standing_stats > 0 && cgan_trainer_ema(t) &&
        (st = cgan_trainer_standing_stats(t, &standing, &nstanding)))
        goto done;
    for (int which = 0; which < 2; which++) {
        if ((st = views_read(t, which, &av[which]))) goto done;
        cgan_graph *g = av[which].g;
        for (int i = 0; i < cgan_graph_tensor_count(g); i++) {
            const cgan_gtensor *x = cgan_graph_tensor(g, i);
            if (x->kind == CGAN_TENSOR_PARAM) {
                const size_t o = x->arena_offset;
                add_tensor(w, "", x, av[which].params + o);
                if (av[which].ema) add_tensor(w, "ema.", x, av[which].ema + o);
                add_tensor(w, "adam.m.", x, av[which].m + o);
                add_tensor(w, "adam.v.", x, av[which].v + o);
            } else if (x->kind == CGAN_TENSOR_STATE) {
                add_tensor(w, "", x, av[which].state + x->arena_offset);
                if (!which && standing) add_tensor(w, "ema.", x, standing + x->arena_offset);
            }
        }
    }
    char num[3][32];
    int64_t du, gu;
    cgan_trainer_counts(t, &du, &gu);
    snprintf(num[0], sizeof num[0], "%" PRId64, cgan_trainer_steps(t));
    snprintf(num[1], sizeof num[1], "%" PRId64, du);
    snprintf(num[2], sizeof num[2], "%" PRId64, gu);
    char ver[16], seed[32];
    snprintf(ver, sizeof ver, "%d", CGAN_CKPT_FORMAT_VERSION);
    snprintf(seed, sizeof seed, "%" PRIu64, cgan_trainer_cfg(t)->seed);
    cfg = cgan_train_cfg_json(cgan_trainer_cfg(t));
    model = cgan_model_json(&cgan_trainer_cfg(t)->model);
    json_t *arr = json_array();
    for (int i = 0; arr && classes && i < num_classes; i++) {
        json_t *name = json_string(classes[i]); /* NULL when not UTF-8 */
        if (!name) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: class %d (\"%s\") is not valid UTF-8; not saved", path, i,
                            classes[i]);
            json_decref(arr);
            goto done;
        }
        if (json_array_append_new(arr, name) != 0) { json_decref(arr); arr = NULL; }
    }
    cls = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!cfg || !cls || !model) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: cannot encode the %s as JSON (out of memory or not UTF-8); not saved",
                        path, !cfg ? "config" : !cls ? "class names" : "model description");
        goto done;
    }
    cgan_st_set_meta(w, "format", "cgan-cl");
    cgan_st_set_meta(w, "format_version", ver);
    cgan_st_set_meta(w, "step", num[0]);
    cgan_st_set_meta(w, "d_updates", num[1]);
    cgan_st_set_meta(w, "g_updates", num[2]);
    cgan_st_set_meta(w, "seed", seed);
    cgan_st_set_meta(w, "config", cfg);
    cgan_st_set_meta(w, "model", model);
    cgan_st_set_meta(w, "classes", cls);
    for (int i = 0; i < n_extra; i++) cgan_st_set_meta(w, extra[i].key, extra[i].value);
    st = cgan_st_write(ctx, w, path);
done:
    free(standing);
    views_free(&av[0]);
    views_free(&av[1]);
    free(cfg);
    free(cls);
    free(model);
    cgan_st_writer_destroy(w);
    return st;
}

/* Load one tensor by name into dst, checking its shape. */
static cgan_status load_one(cgan_ctx *ctx, const cgan_st_file *f, const char *prefix, const cgan_gtensor *x,
                            float *dst, int *found)
{
    char name[160], a[64], b[64];
    snprintf(name, sizeof name, "%s%s", prefix, x->name);
    const cgan_st_tensor *st;
    *found = 0;
    if (cgan_st_find(NULL, f, name, &st) != CGAN_OK)
        return cgan_error(ctx, CGAN_E_NOT_FOUND, "%s: tensor %s is missing", cgan_st_path(f), name);
    *found = 1;
    int64_t dims[4];
    int nd = squeeze(x->shape, dims);
    int same = st->ndim == nd;
    for (int i = 0; same && i < nd; i++) same = st->shape[i] == dims[i];
    if (!same) {
        shape_text(st->shape, st->ndim, a, sizeof a);
        shape_text(dims, nd, b, sizeof b);
        return cgan_error(ctx, CGAN_E_SHAPE, "%s: tensor %s has shape %s, the model needs %s", cgan_st_path(f), name, a, b);
    }
    return cgan_st_read(ctx, f, name, CGAN_ST_F32, dst, (int64_t)cgan_numel(x->shape));
}

cgan_status cgan_ckpt_meta_int(cgan_ctx *ctx, const cgan_st_file *f, const char *key, int64_t lo, int64_t hi,
                               int64_t *out)
{
    const char *v = cgan_st_meta(f, key);
    if (!v) return cgan_error(ctx, CGAN_E_FORMAT, "%s: metadata field '%s' is missing", cgan_st_path(f), key);
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: metadata field '%s' = '%.40s': expected an integer in [%" PRId64
                          ", %" PRId64 "]", cgan_st_path(f), key, v, lo, hi);
    *out = x;
    return CGAN_OK;
}

cgan_status cgan_checkpoint_load(cgan_trainer *t, const char *path, cgan_st_file **file)
{
    cgan_ctx *ctx = cgan_graph_ctx(cgan_trainer_generator(t)->g);
    if (file) *file = NULL;
    cgan_st_file *f = NULL;
    arena_view av[2];
    memset(av, 0, sizeof av);
    cgan_status st = cgan_st_open(ctx, path, &f);
    if (st) return st;
    cgan_train_cfg saved;
    if ((st = cgan_checkpoint_config(ctx, f, &saved))) goto done;
    const cgan_model_cfg *m = &cgan_trainer_cfg(t)->model;
    /* the architecture itself is checked tensor by tensor below (names and shapes) */
    if (saved.model.size != m->size || saved.model.cond != m->cond || saved.model.nc != m->nc ||
        saved.model.num_classes != m->num_classes || saved.model.vocab != m->vocab) {
        st = cgan_error(ctx, CGAN_E_SHAPE, "%s: checkpoint holds size %d, %s, with %d channels, %d classes and %d words; "
                        "the run wants size %d, %s, %d, %d, %d", path, saved.model.size, cgan_cond_name(saved.model.cond),
                        saved.model.nc, saved.model.num_classes, saved.model.vocab, m->size, cgan_cond_name(m->cond),
                        m->nc, m->num_classes, m->vocab);
        goto done;
    }
    for (int which = 0; which < 2; which++) {
        if ((st = views_read(t, which, &av[which]))) goto done;
        cgan_graph *g = av[which].g;
        for (int i = 0; i < cgan_graph_tensor_count(g); i++) {
            const cgan_gtensor *x = cgan_graph_tensor(g, i);
            int found;
            if (x->kind == CGAN_TENSOR_PARAM) {
                const size_t o = x->arena_offset;
                if ((st = load_one(ctx, f, "", x, av[which].params + o, &found))) goto done;
                if (av[which].ema && (st = load_one(ctx, f, "ema.", x, av[which].ema + o, &found))) goto done;
                if ((st = load_one(ctx, f, "adam.m.", x, av[which].m + o, &found))) goto done;
                if ((st = load_one(ctx, f, "adam.v.", x, av[which].v + o, &found))) goto done;
            } else if (x->kind == CGAN_TENSOR_STATE) {
                if ((st = load_one(ctx, f, "", x, av[which].state + x->arena_offset, &found))) goto done;
            }
        }
    }
    int64_t step, du, gu;
    if ((st = cgan_ckpt_meta_int(ctx, f, "step", 0, CGAN_CKPT_MAX_STEPS, &step)) ||
        (st = cgan_ckpt_meta_int(ctx, f, "d_updates", 0, CGAN_CKPT_MAX_STEPS, &du)) ||
        (st = cgan_ckpt_meta_int(ctx, f, "g_updates", 0, CGAN_CKPT_MAX_STEPS, &gu)))
        goto done;
    for (int which = 0; which < 2; which++)
        if ((st = views_write(t, which, &av[which], 1))) goto done;
    cgan_trainer_set_steps(t, step, du, gu);
done:
    views_free(&av[0]);
    views_free(&av[1]);
    if (st == CGAN_OK && file) *file = f;
    else cgan_st_close(f);
    return st;
}

cgan_status cgan_checkpoint_init_from(cgan_trainer *t, const char *path, cgan_ckpt_report report,
                                      void *user, int *loaded, int *fresh, int *skipped)
{
    cgan_ctx *ctx = cgan_graph_ctx(cgan_trainer_generator(t)->g);
    cgan_st_file *f = NULL;
    arena_view av[2];
    memset(av, 0, sizeof av);
    *loaded = *fresh = *skipped = 0;
    cgan_status st = cgan_st_open(ctx, path, &f);
    if (st) return st;
    char line[512];
    for (int which = 0; which < 2; which++) {
        if ((st = views_read(t, which, &av[which]))) goto done;
        cgan_graph *g = av[which].g;
        for (int i = 0; i < cgan_graph_tensor_count(g); i++) {
            const cgan_gtensor *x = cgan_graph_tensor(g, i);
            if (x->kind != CGAN_TENSOR_PARAM && x->kind != CGAN_TENSOR_STATE) continue;
            float *dst = (x->kind == CGAN_TENSOR_PARAM ? av[which].params : av[which].state) + x->arena_offset;
            int found;
            cgan_status s1 = load_one(ctx, f, "", x, dst, &found);
            if (s1 == CGAN_OK) {
                (*loaded)++;
                snprintf(line, sizeof line, "loaded  %s", x->name);
                /* the EMA starts from the loaded weights */
                if (av[which].ema && x->kind == CGAN_TENSOR_PARAM)
                    memcpy(av[which].ema + x->arena_offset, dst, cgan_numel(x->shape) * sizeof(float));
            } else if (!found) {
                (*fresh)++;
                snprintf(line, sizeof line, "new     %s (not in the checkpoint)", x->name);
            } else if (s1 == CGAN_E_SHAPE) {
                (*skipped)++;
                const char *msg = strstr(cgan_last_error(ctx), "has shape");
                snprintf(line, sizeof line, "skipped %s (%s)", x->name, msg ? msg : "shape differs");
            } else {
                st = s1;
                goto done;
            }
            if (report) report(user, line);
        }
    }
    cgan_clear_error(ctx);
    for (int which = 0; which < 2; which++)
        if ((st = views_write(t, which, &av[which], 0))) goto done;
done:
    views_free(&av[0]);
    views_free(&av[1]);
    cgan_st_close(f);
    return st;
}

cgan_status cgan_checkpoint_classes(cgan_ctx *ctx, const cgan_st_file *f, char ***names, int *count)
{
    *names = NULL;
    *count = 0;
    const char *text = cgan_st_meta(f, "classes");
    if (!text) return CGAN_OK;
    json_error_t jerr;
    json_t *a = json_loads(text, 0, &jerr);
    if (!a || !json_is_array(a)) {
        json_decref(a);
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: 'classes' metadata is not a JSON array", cgan_st_path(f));
    }
    size_t n = json_array_size(a);
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out) { json_decref(a); return cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        out[i] = strdup(s ? s : "");
        if (!out[i]) { cgan_free_strings(out, (int)i); json_decref(a); return cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); }
    }
    json_decref(a);
    *names = out;
    *count = (int)n;
    return CGAN_OK;
}

void cgan_free_strings(char **names, int count)
{
    for (int i = 0; names && i < count; i++) free(names[i]);
    free(names);
}
