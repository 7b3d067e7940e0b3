/* ImageFolder: <dir>/<class>/<image>.{jpg,jpeg,png}. The listing is sorted so that labels
 * and the order of images do not depend on the file system; its paths live in one
 * character arena with offsets (no allocation per file). Files are checked by a few
 * threads, each into its own slot: only their headers when streaming, whole decodes with
 * cache_decoded. The results are compacted in listing order afterwards, so the dataset (and
 * which bad files are reported) does not depend on the threads either. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "runtime/runtime.h"
#include "internal.h"

/* NUL-terminated strings in one buffer, found by offset. */
typedef struct arena {
    char *buf;
    size_t len, cap;
    size_t *off;
    int n, ncap;
} arena;

static void ar_free(arena *a)
{
    free(a->buf);
    free(a->off);
    memset(a, 0, sizeof *a);
}

static const char *ar_get(const arena *a, int i)
{
    return a->buf + a->off[i];
}

/* Append name, or "dir/name" as cgan_data_join writes it when dir is not NULL. -1 when out
 * of memory. */
static int ar_push(arena *a, const char *dir, const char *name)
{
    size_t dl = dir ? strlen(dir) : 0, nl = strlen(name);
    int slash = dir && (dl == 0 || dir[dl - 1] != '/');
    size_t need = dl + (size_t)slash + nl + 1;
    if (a->len + need > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + need) cap *= 2;
        char *b = realloc(a->buf, cap);
        if (!b) return -1;
        a->buf = b;
        a->cap = cap;
    }
    if (a->n == a->ncap) {
        if (a->ncap > INT32_MAX / 2) return -1;
        int ncap = a->ncap ? 2 * a->ncap : 64;
        size_t *o = realloc(a->off, (size_t)ncap * sizeof *o);
        if (!o) return -1;
        a->off = o;
        a->ncap = ncap;
    }
    char *p = a->buf + a->len;
    if (dl) memcpy(p, dir, dl);
    if (slash) p[dl] = '/';
    memcpy(p + dl + slash, name, nl + 1);
    a->off[a->n++] = a->len;
    a->len += need;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Order the offsets by their strings. */
static int ar_sort(arena *a)
{
    if (a->n < 2) return 0;
    char **v = malloc((size_t)a->n * sizeof *v);
    if (!v) return -1;
    for (int i = 0; i < a->n; i++) v[i] = a->buf + a->off[i];
    qsort(v, (size_t)a->n, sizeof *v, cmp_str);
    for (int i = 0; i < a->n; i++) a->off[i] = (size_t)(v[i] - a->buf);
    free(v);
    return 0;
}

static void record_skip(cgan_dataset *ds, const char *path, const char *msg, int kind)
{
    if (ds->skipped_kept < CGAN_DATA_SKIP_KEEP) {
        char *s = msg ? strdup(msg) : NULL;
        if (!s) { /* the message was lost for want of memory */
            size_t n = strlen(path) + 16;
            if ((s = malloc(n))) snprintf(s, n, "%s: out of memory", path);
        }
        if (s) ds->skipped_examples[ds->skipped_kept++] = s;
    }
    ds->skipped++;
    ds->skipped_by[kind]++;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

/* Why an entry with an image's name is not a file to read, or NULL when it is one. */
static const char *not_a_file(const char *full, int *kind)
{
    struct stat sb;
    if (stat(full, &sb) != 0) {
        *kind = errno == ELOOP || errno == ENOENT ? CGAN_SKIP_LINK : CGAN_SKIP_UNREADABLE;
        return errno == ELOOP ? "a link that loops" : errno == ENOENT ? "a link that leads nowhere" : strerror(errno);
    }
    if (S_ISDIR(sb.st_mode)) return NULL; /* a folder named like an image: not one, not reported */
    if (!S_ISREG(sb.st_mode)) {
        *kind = CGAN_SKIP_NOT_FILE;
        return S_ISFIFO(sb.st_mode) ? "a FIFO, not a file" : "not a regular file (a socket or device)";
    }
    if (access(full, R_OK) != 0) {
        *kind = CGAN_SKIP_UNREADABLE;
        return strerror(errno);
    }
    return NULL;
}

/* Sorted non-hidden names in dir: subfolders (want_dirs) or image files, appended to out
 * (emptied first). Links are followed. With ds, image-named entries that cannot be read as
 * files (FIFOs, looping or dangling links, unreadable files) are skipped with their reason. */
static cgan_status list_dir(cgan_ctx *ctx, const char *dir, int want_dirs, arena *out, cgan_dataset *ds)
{
    out->n = 0;
    out->len = 0;
    DIR *d = opendir(dir);
    if (!d) return cgan_error(ctx, CGAN_E_IO, "cannot list %s: %s", dir, strerror(errno));
    cgan_status st = CGAN_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (!want_dirs && !is_image_name(e->d_name)) continue;
        int keep;
        if (e->d_type == DT_REG || e->d_type == DT_DIR) {
            keep = want_dirs ? e->d_type == DT_DIR : e->d_type == DT_REG;
        } else { /* a link, or a file system that does not say */
            char *full = cgan_data_join(dir, e->d_name);
            struct stat sb;
            keep = full && stat(full, &sb) == 0 && (want_dirs ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
            free(full);
        }
        if (!want_dirs && ds) { /* a regular file can still be unreadable; the rest is said */
            char *full = cgan_data_join(dir, e->d_name);
            int kind = CGAN_SKIP_DATA;
            const char *why = full ? not_a_file(full, &kind) : NULL;
            if (why) {
                size_t n = strlen(full) + strlen(why) + 3;
                char *msg = malloc(n);
                if (msg) snprintf(msg, n, "%s: %s", full, why);
                record_skip(ds, full, msg, kind);
                free(msg);
                keep = 0;
            }
            free(full);
        }
        if (keep && ar_push(out, NULL, e->d_name) != 0) {
            st = cgan_error(ctx, CGAN_E_NOMEM, "listing %s: out of memory", dir);
            break;
        }
    }
    closedir(d);
    if (st == CGAN_OK && ar_sort(out) != 0) st = cgan_error(ctx, CGAN_E_NOMEM, "listing %s: out of memory", dir);
    return st;
}


/* Classes (subfolders holding image files) and the flat list of files with labels. */
static cgan_status scan(cgan_ctx *ctx, const char *dir, arena *classes, arena *files, int **labels,
                        cgan_dataset *ds)
{
    arena subs = { 0 }, names = { 0 };
    int cap = 0;
    cgan_status st = list_dir(ctx, dir, 1, &subs, NULL);
    for (int c = 0; st == CGAN_OK && c < subs.n; c++) {
        char *cdir = cgan_data_join(dir, ar_get(&subs, c));
        if (!cdir) {
            st = cgan_error(ctx, CGAN_E_NOMEM, "listing %s: out of memory", dir);
            break;
        }
        st = list_dir(ctx, cdir, 0, &names, ds);
        if (st == CGAN_OK && names.n > 0) {
            int label = classes->n;
            if (ar_push(classes, NULL, ar_get(&subs, c)) != 0) st = CGAN_E_NOMEM;
            for (int i = 0; st == CGAN_OK && i < names.n; i++) {
                if (files->n == cap) {
                    cap = cap ? 2 * cap : 256;
                    int *grown = realloc(*labels, (size_t)cap * sizeof *grown);
                    if (!grown) {
                        st = CGAN_E_NOMEM;
                        break;
                    }
                    *labels = grown;
                }
                if (ar_push(files, cdir, ar_get(&names, i)) != 0) st = CGAN_E_NOMEM;
                else (*labels)[files->n - 1] = label;
            }
            if (st == CGAN_E_NOMEM) cgan_error(ctx, st, "listing %s: out of memory", cdir);
        }
        free(cdir);
    }
    if (st == CGAN_OK && classes->n == 0) {
        st = list_dir(ctx, dir, 0, &names, NULL);
        if (st == CGAN_OK && names.n > 0)
            st = cgan_error(ctx, CGAN_E_NOT_FOUND,
                            "dataset %s holds images but no class subfolders (expected "
                            "%s/<class>/<image>.jpg|.png, or IDX files)", dir, dir);
        else if (st == CGAN_OK)
            st = cgan_error(ctx, CGAN_E_NOT_FOUND,
                            "dataset %s has no class subfolders with *.jpg, *.jpeg or *.png "
                            "files%s, and no IDX files (train-images-idx3-ubyte[.gz])", dir,
                            subs.n == 0 ? " (it is empty of folders)" : "");
    }
    ar_free(&subs);
    ar_free(&names);
    return st;
}

/* The captions.tsv entry of every listed file (-1: none); an entry naming no file is an
 * error. */
static cgan_status match_captions(cgan_ctx *ctx, const char *dir, const arena *files, cgan_captions *caps,
                                  int **which)
{
    CGAN_TRY(cgan_captions_read(ctx, dir, caps));
    if (!(*which = malloc((size_t)(files->n > 0 ? files->n : 1) * sizeof **which)))
        return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", caps->file);
    size_t skip = strlen(dir) + (dir[0] && dir[strlen(dir) - 1] == '/' ? 0 : 1); /* cgan_data_join's "dir/" */
    for (int i = 0; i < files->n; i++) (*which)[i] = cgan_captions_find(caps, ar_get(files, i) + skip);
    return cgan_captions_check_used(ctx, caps, dir);
}

/* ds->captions for the images kept (kept[k]: listing index of image k), or an error naming
 * the first image without a caption. */
static cgan_status attach_captions(cgan_ctx *ctx, cgan_dataset *ds, const cgan_captions *caps, const int *which,
                                   const int *kept, const arena *files)
{
    int missing = 0, first = -1;
    for (int k = 0; k < ds->n; k++)
        if (which[kept[k]] < 0 && missing++ == 0) first = kept[k];
    if (missing)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: %d of the %d images have no caption (first: %s); text "
                          "conditioning needs a caption for every image", caps->file, missing, ds->n,
                          ar_get(files, first));
    if (ds->n < 1 || !(ds->captions = calloc((size_t)ds->n, sizeof *ds->captions)))
        return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", caps->file);
    for (int k = 0; k < ds->n; k++)
        if (!(ds->captions[k] = strdup(caps->e[which[kept[k]]].text)))
            return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", caps->file);
    return CGAN_OK;
}

/* A subset of count files spread evenly over the (class-ordered) listing, in a new arena. */
static cgan_status take_subset(cgan_ctx *ctx, const char *dir, arena *files, int *labels, int *which, int count)
{
    arena sel = { 0 };
    for (int i = 0; i < count; i++) {
        int from = (int)((long long)i * files->n / count); /* from >= i: not yet overwritten */
        if (ar_push(&sel, NULL, ar_get(files, from)) != 0) {
            ar_free(&sel);
            return cgan_error(ctx, CGAN_E_NOMEM, "dataset %s: out of memory", dir);
        }
        labels[i] = labels[from];
        if (which) which[i] = which[from];
    }
    ar_free(files);
    *files = sel;
    return CGAN_OK;
}

typedef struct work {
    const arena *files;
    int size, channels;    /* cache_decoded: the channels decoded to */
    uint8_t *pixels;       /* cache_decoded: a slot per file; NULL: headers only */
    uint8_t *kind;         /* per file: 0 skipped, else its channel count (1 or 3) */
    char **why;            /* per skipped file: "path: reason" (NULL when out of memory) */
} work;

static void check_one(cgan_decoder *d, void *user, int i)
{
    work *w = user;
    const char *path = ar_get(w->files, i);
    int c = 0;
    cgan_status st;
    if (w->pixels)
        st = cgan_decoder_load(d, path, w->size, w->channels,
                               w->pixels + (size_t)i * (size_t)w->channels * (size_t)w->size * (size_t)w->size, &c);
    else
        st = cgan_decoder_probe(d, path, w->size, &c);
    if (st == CGAN_OK) w->kind[i] = (uint8_t)c;
    else w->why[i] = d->ctx ? strdup(cgan_last_error(d->ctx)) : NULL;
}

/* cache_decoded: keep the decoded images in listing order, one plane when all are gray and
 * the channels are detected. */
static void keep_decoded(const cgan_data_opts *opts, work *w, int count, const int *all_labels, int *kept,
                         cgan_dataset *ds)
{
    size_t isz = cgan_dataset_image_bytes(ds);
    int any_colour = 0;
    for (int i = 0; i < count; i++) {
        if (!w->kind[i]) {
            record_skip(ds, ar_get(w->files, i), w->why[i], CGAN_SKIP_DATA);
            continue;
        }
        if (ds->n != i) memmove(w->pixels + (size_t)ds->n * isz, w->pixels + (size_t)i * isz, isz);
        kept[ds->n] = i;
        ds->labels[ds->n++] = all_labels[i];
        any_colour |= w->kind[i] == 3;
    }
    if (ds->n == 0) return;
    if (!opts->channels && !any_colour) { /* every image was gray: keep one plane */
        size_t plane = (size_t)ds->size * (size_t)ds->size;
        for (int i = 0; i < ds->n; i++) memmove(w->pixels + (size_t)i * plane, w->pixels + (size_t)i * isz, plane);
        ds->channels = 1;
        isz = plane;
    }
    uint8_t *px = realloc(w->pixels, (size_t)ds->n * isz);
    ds->pixels = px ? px : w->pixels;
    w->pixels = NULL;
}

/* Streaming: keep the files whose header is good (their offsets into the arena, which the
 * caller moves into ds at the end). */
static cgan_status keep_listed(cgan_ctx *ctx, const char *dir, const cgan_data_opts *opts, work *w, arena *files,
                               int count, const int *all_labels, int *kept, cgan_dataset *ds)
{
    if (!(ds->path_off = malloc((size_t)count * sizeof *ds->path_off)))
        return cgan_error(ctx, CGAN_E_NOMEM, "dataset %s: out of memory for %d paths", dir, count);
    int any_colour = 0;
    for (int i = 0; i < count; i++) {
        if (!w->kind[i]) {
            record_skip(ds, ar_get(files, i), w->why[i], CGAN_SKIP_DATA);
            continue;
        }
        kept[ds->n] = i;
        ds->path_off[ds->n] = files->off[i];
        ds->labels[ds->n++] = all_labels[i];
        any_colour |= w->kind[i] == 3;
    }
    if (ds->n > 0 && ds->n < count) {
        size_t *o = realloc(ds->path_off, (size_t)ds->n * sizeof *o);
        if (o) ds->path_off = o;
    }
    ds->channels = opts->channels ? opts->channels : any_colour ? 3 : 1;
    return CGAN_OK;
}

cgan_status cgan_folder_load(cgan_ctx *ctx, const char *dir, const cgan_data_opts *opts,
                             cgan_dataset *ds)
{
    arena classes = { 0 }, files = { 0 };
    int *all_labels = NULL, *which = NULL, *kept = NULL;
    cgan_captions caps = { 0 };
    work w = { 0 };
    int count = 0;
    cgan_status st = scan(ctx, dir, &classes, &files, &all_labels, ds);
    for (int c = 0; st == CGAN_OK && c < classes.n; c++)
        if (!cgan_utf8_valid(ar_get(&classes, c)))
            st = cgan_error(ctx, CGAN_E_FORMAT, "dataset %s: the class folder %s/%s has a name that is not valid "
                            "UTF-8 (checkpoints store class names as JSON text); rename it", dir, dir,
                            ar_get(&classes, c));
    if (st == CGAN_OK && opts->captions) st = match_captions(ctx, dir, &files, &caps, &which);
    if (st != CGAN_OK) goto done;
    count = files.n;
    if (opts->max_images > 0 && opts->max_images < count) {
        count = opts->max_images;
        if ((st = take_subset(ctx, dir, &files, all_labels, which, count)) != CGAN_OK) goto done;
    }
    ds->channels = opts->channels ? opts->channels : 3; /* detect: keep colour until known */
    w.files = &files;
    w.size = ds->size;
    w.channels = ds->channels;
    if (opts->cache_decoded) w.pixels = malloc((size_t)count * cgan_dataset_image_bytes(ds));
    w.kind = calloc((size_t)count, 1);
    w.why = calloc((size_t)count, sizeof *w.why);
    ds->labels = malloc((size_t)count * sizeof *ds->labels);
    kept = malloc((size_t)count * sizeof *kept);
    if ((opts->cache_decoded && !w.pixels) || !w.kind || !w.why || !ds->labels || !kept) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "dataset %s: out of memory for %d images", dir, count);
        goto done;
    }
    if ((st = cgan_decoder_parallel(ctx, count, check_one, &w)) != CGAN_OK) goto done;
    if (opts->cache_decoded) keep_decoded(opts, &w, count, all_labels, kept, ds);
    else if ((st = keep_listed(ctx, dir, opts, &w, &files, count, all_labels, kept, ds)) != CGAN_OK) goto done;
    if (ds->n == 0) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "dataset %s: no usable image: all %d files were skipped "
                        "(first: %s)", dir, count, ds->skipped_examples[0] ? ds->skipped_examples[0] : "?");
        goto done;
    }
    const char **names = malloc((size_t)classes.n * sizeof *names);
    if (!names) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "dataset %s: out of memory", dir);
        goto done;
    }
    for (int c = 0; c < classes.n; c++) names[c] = ar_get(&classes, c);
    st = cgan_data_set_names(ctx, ds, names, classes.n);
    free(names);
    if (st == CGAN_OK && which) st = attach_captions(ctx, ds, &caps, which, kept, &files);
    if (st == CGAN_OK && !opts->cache_decoded) {
        ds->paths = files.buf;
        files.buf = NULL;
    }
done:
    for (int i = 0; w.why && i < count; i++) free(w.why[i]);
    free(w.why);
    free(w.kind);
    free(w.pixels);
    free(all_labels);
    free(which);
    free(kept);
    cgan_captions_free(&caps);
    ar_free(&classes);
    ar_free(&files);
    return st;
}
