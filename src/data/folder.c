/* ImageFolder: <dir>/<class>/<image>.{jpg,jpeg,png}. The listing is sorted so that labels
 * and the order of images do not depend on the file system. Files are decoded by a few
 * threads, each into its own slot, and compacted in listing order afterwards, so the
 * result (and which bad files are reported) does not depend on the threads either. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "runtime/runtime.h"
#include "image.h"
#include "internal.h"

#define MAX_FILE_BYTES ((long long)256 << 20)
#define MAX_THREADS 16

typedef struct strlist {
    char **v;
    int n, cap;
} strlist;

static int sl_push(strlist *l, char *s)
{
    if (!s) return -1;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {
            free(s);
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static void sl_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

/* Sorted non-hidden names in dir: subfolders (want_dirs) or image files. */
static cgan_status list_dir(cgan_ctx *ctx, const char *dir, int want_dirs, strlist *out)
{
    DIR *d = opendir(dir);
    if (!d) return cgan_error(ctx, CGAN_E_IO, "cannot list %s: %s", dir, strerror(errno));
    cgan_status st = CGAN_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (!want_dirs && !is_image_name(e->d_name)) continue;
        char *full = cgan_data_join(dir, e->d_name);
        struct stat sb;
        int keep = full && stat(full, &sb) == 0 && (want_dirs ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
        free(full);
        if (keep && sl_push(out, strdup(e->d_name)) != 0) {
            st = cgan_error(ctx, CGAN_E_NOMEM, "listing %s: out of memory", dir);
            break;
        }
    }
    closedir(d);
    if (st == CGAN_OK) qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return st;
}

/* The whole file in memory (not counting toward any dataset error: reasons only). */
static cgan_status read_file(cgan_ctx *ctx, const char *path, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return cgan_error(ctx, CGAN_E_IO, "cannot open: %s", strerror(errno));
    cgan_status st = CGAN_E_IO;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        cgan_error(ctx, st, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (sb.st_size == 0) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "empty file");
        goto done;
    }
    if ((long long)sb.st_size > MAX_FILE_BYTES) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "file of %lld bytes is too large", (long long)sb.st_size);
        goto done;
    }
    if (!(*buf = malloc((size_t)sb.st_size))) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    *len = fread(*buf, 1, (size_t)sb.st_size, f);
    if (*len == 0) {
        cgan_error(ctx, st, "read error");
        free(*buf);
        *buf = NULL;
        goto done;
    }
    st = CGAN_OK;
done:
    fclose(f);
    return st;
}

typedef struct work {
    char **paths;          /* count files to decode */
    int count, size, channels;
    uint8_t *pixels;       /* count slots of channels * size * size */
    uint8_t *kind;         /* per file: 0 failed, else the decoded channel count */
    char **why;            /* per failed file: the reason (may stay NULL when out of memory) */
    pthread_mutex_t mu;
    int next;
} work;

static void load_one(cgan_ctx *ctx, work *w, int i)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cgan_image im = { 0 };
    size_t isz = (size_t)w->channels * (size_t)w->size * (size_t)w->size;
    cgan_status st = read_file(ctx, w->paths[i], &buf, &len);
    if (st == CGAN_OK) st = cgan_image_decode(ctx, buf, len, w->size, &im);
    if (st == CGAN_OK) st = cgan_image_fit(ctx, &im, w->size, w->channels, w->pixels + (size_t)i * isz);
    if (st == CGAN_OK) w->kind[i] = (uint8_t)im.c;
    else w->why[i] = ctx ? strdup(cgan_last_error(ctx)) : NULL;
    cgan_image_free(&im);
    free(buf);
}

static void *worker(void *arg)
{
    work *w = arg;
    cgan_ctx *ctx = cgan_ctx_new(); /* only for its message buffer */
    for (;;) {
        pthread_mutex_lock(&w->mu);
        int i = w->next++;
        pthread_mutex_unlock(&w->mu);
        if (i >= w->count) break;
        load_one(ctx, w, i);
    }
    cgan_ctx_destroy(ctx);
    return NULL;
}

/* Decode everything with up to MAX_THREADS threads (the caller is one of them). */
static void run_workers(work *w)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = ncpu < 1 ? 1 : ncpu > MAX_THREADS ? MAX_THREADS : (int)ncpu;
    if (nt > w->count / 8) nt = w->count / 8 > 0 ? w->count / 8 : 1;
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < nt; t++) {
        if (pthread_create(&th[started], NULL, worker, w) != 0) break; /* fewer threads is fine */
        started++;
    }
    worker(w);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
}

static void record_skip(cgan_dataset *ds, const char *path, const char *why)
{
    if (ds->skipped_kept < CGAN_DATA_SKIP_KEEP) {
        size_t n = strlen(path) + strlen(why ? why : "") + 3;
        char *s = malloc(n);
        if (s) {
            snprintf(s, n, "%s: %s", path, why ? why : "out of memory");
            ds->skipped_examples[ds->skipped_kept++] = s;
        }
    }
    ds->skipped++;
}

/* Classes (subfolders holding image files) and the flat list of files with labels. */
static cgan_status scan(cgan_ctx *ctx, const char *dir, strlist *classes, strlist *files,
                        int **labels)
{
    strlist subs = { 0 }, names = { 0 };
    int cap = 0;
    cgan_status st = list_dir(ctx, dir, 1, &subs);
    for (int c = 0; st == CGAN_OK && c < subs.n; c++) {
        char *cdir = cgan_data_join(dir, subs.v[c]);
        if (!cdir) {
            st = cgan_error(ctx, CGAN_E_NOMEM, "listing %s: out of memory", dir);
            break;
        }
        st = list_dir(ctx, cdir, 0, &names);
        if (st == CGAN_OK && names.n > 0) {
            int label = classes->n;
            if (sl_push(classes, strdup(subs.v[c])) != 0) st = CGAN_E_NOMEM;
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
                if (sl_push(files, cgan_data_join(cdir, names.v[i])) != 0) st = CGAN_E_NOMEM;
                else (*labels)[files->n - 1] = label;
            }
            if (st == CGAN_E_NOMEM) cgan_error(ctx, st, "listing %s: out of memory", cdir);
        }
        sl_free(&names);
        free(cdir);
    }
    if (st == CGAN_OK && classes->n == 0) {
        st = list_dir(ctx, dir, 0, &names);
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
    sl_free(&subs);
    sl_free(&names);
    return st;
}

/* The captions.tsv entry of every listed file (-1: none); an entry naming no file is an
 * error. */
static cgan_status match_captions(cgan_ctx *ctx, const char *dir, const strlist *files, cgan_captions *caps,
                                  int **which)
{
    CGAN_TRY(cgan_captions_read(ctx, dir, caps));
    if (!(*which = malloc((size_t)files->n * sizeof **which)))
        return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", caps->file);
    size_t skip = strlen(dir) + (dir[0] && dir[strlen(dir) - 1] == '/' ? 0 : 1); /* cgan_data_join's "dir/" */
    for (int i = 0; i < files->n; i++) (*which)[i] = cgan_captions_find(caps, files->v[i] + skip);
    return cgan_captions_check_used(ctx, caps, dir);
}

/* ds->captions for the decoded images (kept[k]: listing index of image k), or an error
 * naming the first image without a caption. */
static cgan_status attach_captions(cgan_ctx *ctx, cgan_dataset *ds, const cgan_captions *caps, const int *which,
                                   const int *kept, char **paths)
{
    int missing = 0, first = -1;
    for (int k = 0; k < ds->n; k++)
        if (which[kept[k]] < 0 && missing++ == 0) first = kept[k];
    if (missing)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: %d of the %d images have no caption (first: %s); text "
                          "conditioning needs a caption for every image", caps->file, missing, ds->n, paths[first]);
    if (ds->n < 1 || !(ds->captions = calloc((size_t)ds->n, sizeof *ds->captions)))
        return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", caps->file);
    for (int k = 0; k < ds->n; k++)
        if (!(ds->captions[k] = strdup(caps->e[which[kept[k]]].text)))
            return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", caps->file);
    return CGAN_OK;
}

cgan_status cgan_folder_load(cgan_ctx *ctx, const char *dir, const cgan_data_opts *opts,
                             cgan_dataset *ds)
{
    strlist classes = { 0 }, files = { 0 };
    int *all_labels = NULL, *which = NULL, *kept = NULL;
    cgan_captions caps = { 0 };
    work w = { 0 };
    int mutex_ok = 0, count = 0;
    cgan_status st = scan(ctx, dir, &classes, &files, &all_labels);
    if (st == CGAN_OK && opts->captions) st = match_captions(ctx, dir, &files, &caps, &which);
    if (st != CGAN_OK) goto done;
    /* a subset spread evenly over the (class-ordered) listing */
    count = files.n;
    if (opts->max_images > 0 && opts->max_images < count) count = opts->max_images;
    for (int i = 0; i < count; i++) {
        int from = (int)((long long)i * files.n / count);
        if (from != i) {
            char *t = files.v[i];
            files.v[i] = files.v[from];
            files.v[from] = t;
            all_labels[i] = all_labels[from];
            if (which) which[i] = which[from];
        }
    }
    ds->channels = opts->channels ? opts->channels : 3; /* detect: keep colour until known */
    size_t isz = (size_t)ds->channels * (size_t)ds->size * (size_t)ds->size;
    w.paths = files.v;
    w.count = count;
    w.size = ds->size;
    w.channels = ds->channels;
    w.pixels = malloc((size_t)count * isz);
    w.kind = calloc((size_t)count, 1);
    w.why = calloc((size_t)count, sizeof *w.why);
    ds->labels = malloc((size_t)count * sizeof *ds->labels);
    kept = malloc((size_t)count * sizeof *kept);
    if (!w.pixels || !w.kind || !w.why || !ds->labels || !kept) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "dataset %s: out of memory for %d images", dir, count);
        goto done;
    }
    if (pthread_mutex_init(&w.mu, NULL) != 0) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "dataset %s: cannot create a mutex", dir);
        goto done;
    }
    mutex_ok = 1;
    run_workers(&w);
    /* compact the decoded images in listing order */
    int any_colour = 0;
    for (int i = 0; i < count; i++) {
        if (!w.kind[i]) {
            record_skip(ds, files.v[i], w.why[i]);
            continue;
        }
        if (ds->n != i) memmove(w.pixels + (size_t)ds->n * isz, w.pixels + (size_t)i * isz, isz);
        kept[ds->n] = i;
        ds->labels[ds->n++] = all_labels[i];
        any_colour |= w.kind[i] == 3;
    }
    if (ds->n == 0) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "dataset %s: no usable image: all %d files were skipped "
                        "(first: %s)", dir, count, ds->skipped_examples[0] ? ds->skipped_examples[0] : "?");
        goto done;
    }
    if (!opts->channels && !any_colour) { /* every image was gray: keep one plane */
        size_t plane = (size_t)ds->size * (size_t)ds->size;
        for (int i = 0; i < ds->n; i++)
            memmove(w.pixels + (size_t)i * plane, w.pixels + (size_t)i * isz, plane);
        ds->channels = 1;
        isz = plane;
    }
    uint8_t *px = realloc(w.pixels, (size_t)ds->n * isz);
    ds->pixels = px ? px : w.pixels;
    w.pixels = NULL;
    st = cgan_data_set_names(ctx, ds, (const char *const *)classes.v, classes.n);
    if (st == CGAN_OK && which) st = attach_captions(ctx, ds, &caps, which, kept, files.v);
done:
    if (mutex_ok) pthread_mutex_destroy(&w.mu);
    for (int i = 0; w.why && i < count; i++) free(w.why[i]);
    free(w.why);
    free(w.kind);
    free(w.pixels);
    free(all_labels);
    free(which);
    free(kept);
    cgan_captions_free(&caps);
    sl_free(&classes);
    sl_free(&files);
    return st;
}
