/* Generation from a checkpoint (see generate.h). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "runtime/atomic.h"
#include "generate.h"
#include "checkpoint.h"
#include "prompt.h"
#include "sampler.h"
#include "text.h"
#include "core/rng.h"
#include "io/image.h"
#include "runtime/runtime.h"

#define GRID_PAD CGAN_GEN_GRID_PAD
#define DEFAULT_PER_CLASS 8
#define DEFAULT_UNCOND 64
#define MAX_STEPS 1024
#define MAX_IMAGES 100000000

struct cgan_gen {
    cgan_ctx *ctx;
    char *path;
    cgan_st_file *f;
    cgan_train_cfg cfg;        /* cfg.model.desc points at desc */
    char *desc;                /* a copy of the checkpoint's model description, or NULL */
    char **classes, **fnames;  /* names and their file-name forms (unique); a text model's
                                  prompts so far */
    int nclasses;
    int text;                  /* a text model: the "classes" are the prompts given */
    cgan_vocab vocab;
    float *ids;                /* text: CGAN_TEXT_TOKENS token ids per prompt */
    char unknown[512];         /* text: the unknown words of the last prompt */
    char **aliases;            /* pairs, NULL-terminated */
    int has_ema, use_ema;
    cgan_sampler *s;
    /* the prepared job */
    int prepared;
    cgan_gen_layout layout;
    char *out;
    int *sel, nsel;
    int per, digits;
    int64_t total;
    uint64_t seed;
    int cols, rows, steps, linear;
};

/* ---- small helpers ----------------------------------------------------------------- */

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

static cgan_status mkdir_p(cgan_ctx *ctx, const char *path)
{
    char *tmp = strdup(path);
    if (!tmp) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = CGAN_OK;
    for (char *p = tmp + 1;; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            struct stat sb;
            if (mkdir(tmp, 0777) != 0 && !(errno == EEXIST && stat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode))) {
                st = cgan_error(ctx, CGAN_E_IO, "%s: cannot create folder %s: %s", path, tmp,
                                errno == EEXIST ? "a file of that name exists" : strerror(errno));
                break;
            }
            *p = c;
        }
        if (c == '\0') break;
    }
    free(tmp);
    return st;
}

static cgan_status check_writable_dir(cgan_ctx *ctx, const char *what, const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return cgan_error(ctx, CGAN_E_NOT_FOUND, "%s: folder %s does not exist", what, dir);
    if (!S_ISDIR(sb.st_mode)) return cgan_error(ctx, CGAN_E_IO, "%s: %s is not a folder", what, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return cgan_error(ctx, CGAN_E_IO, "%s: folder %s is not writable: %s", what, dir, strerror(errno));
    return CGAN_OK;
}

/* An image file to write: .png/.jpg/.jpeg, its folder existing and writable. */
static cgan_status check_image_path(cgan_ctx *ctx, const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash) ||
        (strcasecmp(dot, ".png") && strcasecmp(dot, ".jpg") && strcasecmp(dot, ".jpeg")))
        return cgan_error(ctx, CGAN_E_INVALID, "%s: the image name must end in .png, .jpg or .jpeg", path);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return cgan_error(ctx, CGAN_E_INVALID, "%s is a folder; give an image file name", path);
    char *dir = strdup(path);
    if (!dir) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    char *s = strrchr(dir, '/');
    if (!s) strcpy(dir, ".");
    else if (s == dir) s[1] = '\0';
    else *s = '\0';
    cgan_status st = check_writable_dir(ctx, path, dir);
    free(dir);
    return st;
}

void cgan_class_filename(const char *name, char *out, size_t size)
{
    if (!size) return;
    size_t u = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && u + 1 < size; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                 *p == '_' || *p >= 0x80 || (*p == '.' && u > 0);
        out[u++] = ok ? (char)*p : '_';
    }
    if (u == 0 && size > 1) out[u++] = '_';
    out[u] = '\0';
}

void cgan_gen_noise(uint64_t seed, uint32_t slot, int nz, float *z)
{
    cgan_rng r;
    cgan_rng_init(&r, seed, slot);
    cgan_rng_fill_normal(&r, z, (size_t)nz, 0.0f, 1.0f);
}

int64_t cgan_ckpt_param_count(const cgan_st_file *f, const char *net)
{
    static const char *const stats[] = { ".running_mean", ".running_var", ".num_batches_tracked" };
    size_t pl = strlen(net);
    int64_t total = 0;
    for (int i = 0; i < cgan_st_count(f); i++) {
        const cgan_st_tensor *t = cgan_st_at(f, i);
        if (strncmp(t->name, net, pl) != 0 || t->name[pl] != '.') continue;
        size_t nl = strlen(t->name);
        int stat_tensor = 0;
        for (size_t k = 0; k < sizeof stats / sizeof stats[0]; k++) {
            size_t sl = strlen(stats[k]);
            if (nl > sl && strcmp(t->name + nl - sl, stats[k]) == 0) stat_tensor = 1;
        }
        if (!stat_tensor) total += t->numel;
    }
    return total;
}

/* ---- opening a checkpoint ---------------------------------------------------------- */

cgan_status cgan_gen_resolve(cgan_ctx *ctx, const char *arg, char **path)
{
    *path = NULL;
    struct stat sb;
    if (!arg || !*arg) return cgan_error(ctx, CGAN_E_INVALID, "no checkpoint given");
    if (stat(arg, &sb) != 0)
        return cgan_error(ctx, errno == ENOENT ? CGAN_E_NOT_FOUND : CGAN_E_IO, "%s: %s", arg,
                          errno == ENOENT ? "no such checkpoint file or run folder" : strerror(errno));
    if (!S_ISDIR(sb.st_mode)) {
        *path = strdup(arg);
        return *path ? CGAN_OK : cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    }
    char *latest = join(arg, "latest");
    if (!latest) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status lst = CGAN_OK;
    FILE *fp = cgan_fopen_regular(ctx, latest, "'latest' pointer", &lst);
    if (!fp && lst != CGAN_E_NOT_FOUND) { /* there, but a FIFO or the like: say so */
        free(latest);
        return lst;
    }
    char rel[4096] = "";
    int ok = fp && fgets(rel, sizeof rel, fp);
    if (fp) fclose(fp);
    free(latest);
    rel[strcspn(rel, "\r\n")] = '\0';
    if (!ok || !rel[0])
        return cgan_error(ctx, CGAN_E_NOT_FOUND,
                          "%s: a folder without a checkpoint (no 'latest' pointer of a run folder in it)", arg);
    *path = rel[0] == '/' ? strdup(rel) : join(arg, rel);
    return *path ? CGAN_OK : cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
}

static cgan_status read_aliases(cgan_gen *g)
{
    const char *text = cgan_st_meta(g->f, "aliases");
    json_t *o = NULL;
    size_t n = 0;
    if (text) {
        json_error_t jerr;
        o = json_loads(text, 0, &jerr);
        if (!o || !json_is_object(o)) {
            json_decref(o);
            return cgan_error(g->ctx, CGAN_E_FORMAT, "%s: 'aliases' metadata is not a JSON object", g->path);
        }
        n = json_object_size(o);
    }
    g->aliases = calloc(2 * n + 1, sizeof *g->aliases);
    if (!g->aliases) { json_decref(o); return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory"); }
    cgan_status st = CGAN_OK;
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        const char *target = json_string_value(v);
        int c = 0;
        while (target && c < g->nclasses && strcmp(g->classes[c], target) != 0) c++;
        if (!target || c == g->nclasses) {
            st = cgan_error(g->ctx, CGAN_E_FORMAT, "%s: alias '%s' names no class of the model", g->path, key);
            break;
        }
        g->aliases[k] = strdup(key);
        g->aliases[k + 1] = strdup(target);
        k += 2;
        if (!g->aliases[k - 2] || !g->aliases[k - 1]) { st = cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory"); break; }
    }
    json_decref(o);
    return st;
}

/* The file-name form of name i, made unique among names 0..i-1. */
static cgan_status set_fname(cgan_gen *g, int i)
{
    char buf[256];
    cgan_class_filename(g->classes[i], buf, sizeof buf - 16);
    for (int j = 0; j < i; j++)
        if (strcmp(g->fnames[j], buf) == 0) {
            snprintf(buf + strlen(buf), 16, "_%d", i);
            break;
        }
    if (!(g->fnames[i] = strdup(buf))) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
    return CGAN_OK;
}

/* Class names (made up for a conditional model without them) and unique file names. */
static cgan_status read_classes(cgan_gen *g)
{
    char **names = NULL;
    int count = 0;
    CGAN_TRY(cgan_checkpoint_classes(g->ctx, g->f, &names, &count));
    const cgan_model_cfg *m = &g->cfg.model;
    if (m->cond == CGAN_COND_NONE || m->num_classes <= 0) {
        cgan_free_strings(names, count);
        return CGAN_OK;
    }
    if (count != 0 && count != m->num_classes) {
        cgan_free_strings(names, count);
        return cgan_error(g->ctx, CGAN_E_FORMAT, "%s: %d class names for a model of %d classes", g->path, count,
                          m->num_classes);
    }
    if (count == 0) {
        cgan_free_strings(names, count);
        names = calloc((size_t)m->num_classes, sizeof *names);
        if (!names) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
        for (count = 0; count < m->num_classes; count++) {
            char num[16];
            snprintf(num, sizeof num, "%d", count);
            if (!(names[count] = strdup(num))) {
                cgan_free_strings(names, count);
                return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
            }
        }
    }
    g->classes = names;
    g->nclasses = count;
    g->fnames = calloc((size_t)count, sizeof *g->fnames);
    if (!g->fnames) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
    for (int i = 0; i < count; i++) CGAN_TRY(set_fname(g, i));
    return CGAN_OK;
}

/* A text model's vocabulary ("vocabulary" metadata, as many words as the model has). */
static cgan_status read_vocab(cgan_gen *g)
{
    const cgan_model_cfg *m = &g->cfg.model;
    if (m->cond != CGAN_COND_TEXT) return CGAN_OK;
    g->text = 1;
    CGAN_TRY(cgan_vocab_from_json(g->ctx, cgan_st_meta(g->f, "vocabulary"), g->path, &g->vocab));
    if (g->vocab.n != m->vocab)
        return cgan_error(g->ctx, CGAN_E_FORMAT, "%s: a vocabulary of %d words for a model of %d", g->path, g->vocab.n,
                          m->vocab);
    return CGAN_OK;
}

cgan_status cgan_gen_open(cgan_ctx *ctx, const char *arg, cgan_gen **out)
{
    return cgan_gen_open_ex(ctx, arg, 0, out);
}

cgan_status cgan_gen_open_ex(cgan_ctx *ctx, const char *arg, unsigned st_flags, cgan_gen **out)
{
    *out = NULL;
    cgan_gen *g = calloc(1, sizeof *g);
    if (!g) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    g->ctx = ctx;
    cgan_status st = cgan_gen_resolve(ctx, arg, &g->path);
    if (st == CGAN_OK) st = cgan_st_open_ex(ctx, g->path, st_flags, &g->f);
    if (st == CGAN_OK) st = cgan_checkpoint_config(ctx, g->f, &g->cfg);
    if (st == CGAN_OK && g->cfg.model.desc && !(g->cfg.model.desc = g->desc = strdup(g->cfg.model.desc)))
        st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    if (st == CGAN_OK) st = read_classes(g);
    if (st == CGAN_OK) st = read_aliases(g);
    if (st == CGAN_OK) st = read_vocab(g);
    if (st != CGAN_OK) {
        cgan_gen_close(g);
        return st;
    }
    for (int i = 0; i < cgan_st_count(g->f) && !g->has_ema; i++)
        g->has_ema = strncmp(cgan_st_at(g->f, i)->name, "ema.G.", 6) == 0;
    *out = g;
    return CGAN_OK;
}

void cgan_gen_close(cgan_gen *g)
{
    if (!g) return;
    cgan_sampler_destroy(g->s);
    cgan_st_close(g->f);
    cgan_free_strings(g->fnames, g->nclasses);
    cgan_free_strings(g->classes, g->nclasses);
    for (int i = 0; g->aliases && g->aliases[i]; i++) free(g->aliases[i]);
    free(g->aliases);
    cgan_vocab_free(&g->vocab);
    free(g->ids);
    free(g->path);
    free(g->desc);
    free(g->out);
    free(g->sel);
    free(g);
}

const char *cgan_gen_path(const cgan_gen *g) { return g->path; }
const cgan_train_cfg *cgan_gen_cfg(const cgan_gen *g) { return &g->cfg; }
const cgan_st_file *cgan_gen_file(const cgan_gen *g) { return g->f; }
int cgan_gen_num_classes(const cgan_gen *g) { return g->nclasses; }
char *const *cgan_gen_classes(const cgan_gen *g) { return g->classes; }
const char *const *cgan_gen_aliases(const cgan_gen *g) { return (const char *const *)g->aliases; }
int cgan_gen_has_ema(const cgan_gen *g) { return g->has_ema; }
int cgan_gen_is_text(const cgan_gen *g) { return g->text; }
int cgan_gen_vocab_size(const cgan_gen *g) { return g->vocab.n; }
const char *cgan_gen_unknown_words(const cgan_gen *g) { return g->unknown; }
int cgan_gen_uses_ema(const cgan_gen *g) { return g->use_ema; }
int64_t cgan_gen_total(const cgan_gen *g) { return g->prepared ? g->total : 0; }

void cgan_gen_grid_shape(const cgan_gen *g, int *cols, int *rows)
{
    *cols = g->cols;
    *rows = g->rows;
}

static cgan_status unconditional(cgan_gen *g)
{
    return cgan_error(g->ctx, CGAN_E_INVALID,
                      "%s: the model is unconditional; --class and --prompt need a conditional checkpoint", g->path);
}

static cgan_status unknown_class(cgan_gen *g, const char *spec)
{
    char list[1024];
    cgan_class_list(g->classes, g->nclasses, list, sizeof list);
    return cgan_error(g->ctx, CGAN_E_NOT_FOUND, "unknown class '%s'; known classes: %s", spec, list);
}

cgan_status cgan_gen_find_class(cgan_gen *g, const char *spec, int *cls)
{
    *cls = -1;
    if (g->text)
        return cgan_error(g->ctx, CGAN_E_INVALID, "%s: a text model has no classes; describe the images with --prompt",
                          g->path);
    if (g->nclasses == 0) return unconditional(g);
    for (int i = 0; i < g->nclasses; i++)
        if (strcasecmp(g->classes[i], spec) == 0) { *cls = i; return CGAN_OK; }
    for (int i = 0; i < g->nclasses; i++)
        if (strcasecmp(g->fnames[i], spec) == 0) { *cls = i; return CGAN_OK; }
    char *end;
    errno = 0;
    long v = strtol(spec, &end, 10);
    if (*spec && !errno && !*end && v >= 0 && v < g->nclasses) { *cls = (int)v; return CGAN_OK; }
    return unknown_class(g, spec);
}

/* A text model: one more prompt (its token ids and its name for rows and folders). */
static cgan_status add_prompt(cgan_gen *g, const char *prompt, int *cls)
{
    float ids[CGAN_TEXT_TOKENS];
    CGAN_TRY(cgan_vocab_prompt(g->ctx, &g->vocab, prompt, ids, CGAN_TEXT_TOKENS, g->unknown, sizeof g->unknown));
    int n = g->nclasses + 1;
    char **names = realloc(g->classes, (size_t)n * sizeof *names);
    if (names) g->classes = names;
    char **fnames = realloc(g->fnames, (size_t)n * sizeof *fnames);
    if (fnames) g->fnames = fnames;
    float *all = realloc(g->ids, (size_t)n * CGAN_TEXT_TOKENS * sizeof *all);
    if (all) g->ids = all;
    if (!names || !fnames || !all || !(names[n - 1] = strdup(prompt)))
        return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
    fnames[n - 1] = NULL;
    g->nclasses = n;
    memcpy(all + (size_t)(n - 1) * CGAN_TEXT_TOKENS, ids, sizeof ids);
    *cls = n - 1;
    return set_fname(g, n - 1);
}

cgan_status cgan_gen_prompt(cgan_gen *g, const char *prompt, int *cls)
{
    *cls = -1;
    g->unknown[0] = '\0';
    if (g->text) return add_prompt(g, prompt, cls);
    if (g->nclasses == 0) return unconditional(g);
    return cgan_prompt_match(g->ctx, prompt, g->classes, g->nclasses, (const char *const *)g->aliases, cls);
}

/* ---- preparing a job --------------------------------------------------------------- */

static cgan_status prepare_dir(cgan_gen *g)
{
    CGAN_TRY(mkdir_p(g->ctx, g->out));
    if (g->nclasses == 0) return check_writable_dir(g->ctx, g->out, g->out);
    for (int i = 0; i < g->nsel; i++) {
        char *sub = join(g->out, g->fnames[g->sel[i]]);
        if (!sub) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
        cgan_status st = mkdir_p(g->ctx, sub);
        if (st == CGAN_OK) st = check_writable_dir(g->ctx, sub, sub);
        free(sub);
        CGAN_TRY(st);
    }
    return CGAN_OK;
}

/* Columns and rows of a grid of `total` images, `per` for each of `groups` classes (none:
 * unconditional, a near-square grid). */
static void default_shape(int64_t total, int64_t per, int groups, int *cols, int *rows)
{
    if (groups > 0) {
        *cols = (int)per;
        *rows = groups;
    } else {
        *cols = (int)ceil(sqrt((double)total));
        *rows = (int)((total + *cols - 1) / *cols);
    }
}

static cgan_status plan_grid(cgan_gen *g, const cgan_gen_job *job)
{
    const int cond = g->nclasses > 0;
    int64_t per = job->per_class;
    if (job->cols < 0 || job->rows < 0 || (job->cols > 0) != (job->rows > 0))
        return cgan_error(g->ctx, CGAN_E_INVALID, "a grid needs both columns and rows (COLSxROWS)");
    int64_t cells = (int64_t)job->cols * job->rows;
    if (per == 0 && cells > 0) {
        per = cells / (cond ? g->nsel : 1);
        if (per < 1)
            return cgan_error(g->ctx, CGAN_E_INVALID, "a %dx%d grid has fewer cells than the %d classes asked for",
                              job->cols, job->rows, g->nsel);
    }
    if (per == 0) per = cond ? DEFAULT_PER_CLASS : DEFAULT_UNCOND;
    int64_t total = per * (cond ? g->nsel : 1);
    if (cells > 0) {
        if (cells < total)
            return cgan_error(g->ctx, CGAN_E_INVALID, "a %dx%d grid holds %lld images; %lld were asked for", job->cols,
                              job->rows, (long long)cells, (long long)total);
        g->cols = job->cols;
        g->rows = job->rows;
    } else {
        default_shape(total, per, cond ? g->nsel : 0, &g->cols, &g->rows);
    }
    cells = (int64_t)g->cols * g->rows;
    if (cells > CGAN_GEN_MAX_GRID)
        return cgan_error(g->ctx, CGAN_E_INVALID, "a grid of %lld images is too large (at most %d); use --out-dir",
                          (long long)cells, CGAN_GEN_MAX_GRID);
    g->per = (int)per;
    g->total = total;
    return check_image_path(g->ctx, g->out);
}

static cgan_status plan_interp(cgan_gen *g, const cgan_gen_job *job)
{
    if (job->steps < 2 || job->steps > MAX_STEPS)
        return cgan_error(g->ctx, CGAN_E_INVALID, "interpolation steps must be in [2, %d]", MAX_STEPS);
    if (g->nclasses > 0 && (g->nsel < 1 || g->nsel > 2))
        return cgan_error(g->ctx, CGAN_E_INVALID,
                          "an interpolation takes one class (a walk in noise) or two (a switch at fixed noise); %d given",
                          g->nsel);
    g->steps = job->steps;
    g->linear = job->linear;
    g->cols = job->steps;
    g->rows = 1;
    g->per = job->steps;
    g->total = job->steps;
    return check_image_path(g->ctx, g->out);
}

cgan_status cgan_gen_prepare(cgan_gen *g, const cgan_gen_job *job)
{
    g->prepared = 0;
    free(g->out);
    free(g->sel);
    g->out = NULL;
    g->sel = NULL;
    g->nsel = 0;
    if (!job->path || !*job->path) return cgan_error(g->ctx, CGAN_E_INVALID, "no output path");
    if (job->per_class < 0 || job->per_class > MAX_IMAGES)
        return cgan_error(g->ctx, CGAN_E_INVALID, "image count %d out of range", job->per_class);
    if (job->nclasses > 0 && g->nclasses == 0) return unconditional(g);
    if (g->text && job->nclasses == 0)
        return cgan_error(g->ctx, CGAN_E_INVALID, "%s: a text model needs at least one --prompt", g->path);
    if (!(g->out = strdup(job->path))) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
    int n = job->nclasses > 0 ? job->nclasses : (job->layout == CGAN_GEN_INTERP ? 0 : g->nclasses);
    g->sel = malloc((size_t)(n ? n : 1) * sizeof *g->sel);
    if (!g->sel) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        int c = job->nclasses > 0 ? job->classes[i] : i;
        if (c < 0 || c >= g->nclasses)
            return cgan_error(g->ctx, CGAN_E_INVALID, "class index %d out of range [0, %d)", c, g->nclasses);
        int dup = 0;
        for (int k = 0; k < g->nsel && job->layout == CGAN_GEN_DIR; k++) dup |= g->sel[k] == c;
        if (!dup) g->sel[g->nsel++] = c;
    }
    g->layout = job->layout;
    g->seed = job->seed;
    cgan_status st;
    switch (job->layout) {
    case CGAN_GEN_GRID: st = plan_grid(g, job); break;
    case CGAN_GEN_INTERP: st = plan_interp(g, job); break;
    case CGAN_GEN_DIR:
        g->per = job->per_class ? job->per_class : (g->nclasses ? DEFAULT_PER_CLASS : DEFAULT_UNCOND);
        g->total = (int64_t)g->per * (g->nclasses ? g->nsel : 1);
        st = prepare_dir(g);
        break;
    default: st = cgan_error(g->ctx, CGAN_E_INVALID, "unknown output layout %d", (int)job->layout);
    }
    if (st != CGAN_OK) return st;
    g->digits = 4;
    for (int64_t v = 10000; v < g->per; v *= 10) g->digits++;
    g->prepared = 1;
    return CGAN_OK;
}

/* ---- running ----------------------------------------------------------------------- */

cgan_status cgan_gen_sampler(cgan_gen *g, int use_ema, int batch, cgan_sampler **out)
{
    *out = NULL;
    if (use_ema && !g->has_ema)
        return cgan_error(g->ctx, CGAN_E_INVALID,
                          "%s has no EMA weights (trained with --ema 0); use --raw or leave both out", g->path);
    if (batch < 1) return cgan_error(g->ctx, CGAN_E_INVALID, "batch %d must be at least 1", batch);
    cgan_model_cfg m = g->cfg.model;
    m.diffaug = 0; /* training only */
    cgan_sampler *s = NULL;
    CGAN_TRY(cgan_sampler_create(g->ctx, &m, batch, &s));
    cgan_status st = cgan_sampler_from_checkpoint(s, g->f, use_ema);
    if (st != CGAN_OK) {
        cgan_sampler_destroy(s);
        return cgan_error_wrap(g->ctx, st, "%s: loading the %s generator", g->path, use_ema ? "EMA" : "raw");
    }
    *out = s;
    return CGAN_OK;
}
cgan_sampler *cgan_gen_loaded_sampler(cgan_gen *g) { return g->s; }

cgan_status cgan_gen_load(cgan_gen *g, cgan_gen_weights w, int batch)
{
    if ((w == CGAN_GEN_EMA || w == CGAN_GEN_EMA_TRAINING_STATS) && !g->has_ema)
        return cgan_error(g->ctx, CGAN_E_INVALID,
                          "%s has no EMA weights (trained with --ema 0); use --raw or leave both out", g->path);
    g->use_ema = w == CGAN_GEN_EMA_TRAINING_STATS ? CGAN_SAMPLE_EMA_TRAINING_STATS
                 : w == CGAN_GEN_EMA || (w == CGAN_GEN_AUTO && g->has_ema);
    cgan_sampler_destroy(g->s);
    g->s = NULL;
    return cgan_gen_sampler(g, g->use_ema, batch, &g->s);
}

cgan_status cgan_gen_item(const cgan_gen *g, int cls, uint64_t seed, int slot, float *z, float *label)
{
    if (g->text)
        return cgan_error(g->ctx, CGAN_E_INVALID, "%s: a text model takes prompts through a generation job", g->path);
    if ((g->nclasses > 0 && (cls < 0 || cls >= g->nclasses)) || slot < 0)
        return cgan_error(g->ctx, CGAN_E_INVALID, "class %d or slot %d out of range", cls, slot);
    cgan_gen_noise(seed, (uint32_t)slot, g->cfg.model.nz, z);
    if (g->nclasses > 0) *label = (float)cls;
    return CGAN_OK;
}

void cgan_gen_grid_cols(const cgan_gen *g, int n, int *cols, int *rows)
{
    default_shape(n, n, g->nclasses > 0 ? 1 : 0, cols, rows);
}

cgan_status cgan_gen_grid_png(cgan_ctx *ctx, const float *images, int n, int nc, int size, int cols, int pad,
                              unsigned char **png, size_t *len)
{
    *png = NULL;
    *len = 0;
    uint8_t *px = NULL;
    int w = 0, h = 0;
    CGAN_TRY(cgan_grid_compose(ctx, images, n, nc, size, cols, pad, &px, &w, &h));
    cgan_status st = cgan_png_encode(ctx, px, w, h, nc, png, len);
    free(px);
    return st;
}

/* Spherical interpolation (linear when asked, or when the ends are (anti)parallel). */
static void interpolate(const float *a, const float *b, int n, double t, int linear, float *out)
{
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    double c = na > 0 && nb > 0 ? dot / sqrt(na * nb) : 1.0;
    c = c > 1 ? 1 : c < -1 ? -1 : c;
    double w = acos(c), s = sin(w);
    double ka = 1 - t, kb = t;
    if (!linear && s > 1e-6) {
        ka = sin((1 - t) * w) / s;
        kb = sin(t * w) / s;
    }
    for (int i = 0; i < n; i++) out[i] = (float)(ka * a[i] + kb * b[i]);
}

/* Noise and condition of image i of the job (a class index, or a prompt's token ids). */
static void fill_item(const cgan_gen *g, int64_t i, const float *za, const float *zb, float *z, float *label)
{
    const int nz = g->cfg.model.nz;
    int cls = 0;
    if (g->layout == CGAN_GEN_INTERP) {
        if (g->nsel == 2) {
            memcpy(z, za, (size_t)nz * sizeof *z);
            cls = g->sel[2 * i < g->steps ? 0 : 1];
        } else {
            interpolate(za, zb, nz, (double)i / (g->steps - 1), g->linear, z);
            cls = g->nsel ? g->sel[0] : 0;
        }
    } else {
        cls = g->nclasses > 0 ? g->sel[i / g->per] : 0;
        cgan_gen_noise(g->seed, (uint32_t)(g->nclasses > 0 ? i % g->per : i), nz, z);
    }
    if (g->text) memcpy(label, g->ids + (size_t)cls * CGAN_TEXT_TOKENS, CGAN_TEXT_TOKENS * sizeof *label);
    else *label = (float)cls;
}

static cgan_status write_one(cgan_gen *g, int64_t i, const float *img)
{
    char name[64];
    int64_t slot = g->nclasses > 0 ? i % g->per : i;
    snprintf(name, sizeof name, "%0*lld.png", g->digits, (long long)slot);
    char *dir = g->nclasses > 0 ? join(g->out, g->fnames[g->sel[i / g->per]]) : strdup(g->out);
    char *path = dir ? join(dir, name) : NULL;
    free(dir);
    if (!path) return cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory");
    const int S = g->cfg.model.size;
    cgan_status st = cgan_grid_write(g->ctx, path, img, 1, g->cfg.model.nc, S, 1, 0);
    free(path);
    return st;
}

cgan_status cgan_gen_run(cgan_gen *g, cgan_gen_progress progress, void *user)
{
    if (!g->prepared || !g->s) return cgan_error(g->ctx, CGAN_E_INVALID, "generate: prepare and load before running");
    const int B = cgan_sampler_batch(g->s), nz = g->cfg.model.nz, yw = g->text ? CGAN_TEXT_TOKENS : 1;
    const size_t img = (size_t)g->cfg.model.nc * g->cfg.model.size * g->cfg.model.size;
    const int keep_all = g->layout != CGAN_GEN_DIR;
    const size_t cells = keep_all ? (size_t)g->cols * g->rows : 0;
    float *z = malloc((size_t)B * nz * sizeof *z), *y = malloc((size_t)B * yw * sizeof *y);
    float *out = malloc((size_t)B * img * sizeof *out);
    float *za = malloc((size_t)nz * sizeof *za), *zb = malloc((size_t)nz * sizeof *zb);
    float *all = keep_all ? malloc(cells * img * sizeof *all) : NULL;
    cgan_status st = CGAN_OK;
    if (!z || !y || !out || !za || !zb || (keep_all && !all)) {
        st = cgan_error(g->ctx, CGAN_E_NOMEM, "out of memory for %s", keep_all ? "the grid" : "a batch");
        goto done;
    }
    cgan_gen_noise(g->seed, 0, nz, za);
    cgan_gen_noise(g->seed + 1, 0, nz, zb);
    for (size_t k = 0; keep_all && k < cells * img; k++) all[k] = -1.0f; /* black cells */
    for (int64_t i0 = 0; i0 < g->total && st == CGAN_OK; i0 += B) {
        int nb = g->total - i0 < B ? (int)(g->total - i0) : B;
        for (int j = 0; j < B; j++) {
            if (j < nb) {
                fill_item(g, i0 + j, za, zb, z + (size_t)j * nz, y + (size_t)j * yw);
            } else { /* padding of the last batch */
                memset(z + (size_t)j * nz, 0, (size_t)nz * sizeof *z);
                for (int k = 0; k < yw; k++) y[(size_t)j * yw + k] = g->text ? CGAN_TEXT_PAD : 0.0f;
            }
        }
        if ((st = cgan_sampler_run(g->s, z, g->nclasses > 0 ? y : NULL, out))) break;
        if (keep_all) memcpy(all + (size_t)i0 * img, out, (size_t)nb * img * sizeof *out);
        else
            for (int j = 0; j < nb && st == CGAN_OK; j++) st = write_one(g, i0 + j, out + (size_t)j * img);
        if (st == CGAN_OK && progress) progress(user, i0 + nb, g->total);
    }
    if (st == CGAN_OK && keep_all)
        st = cgan_grid_write(g->ctx, g->out, all, (int)cells, g->cfg.model.nc, g->cfg.model.size, g->cols, GRID_PAD);
done:
    free(z); free(y); free(out); free(za); free(zb); free(all);
    return st;
}
