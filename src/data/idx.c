/* IDX files (MNIST, Fashion-MNIST): a big-endian header (magic 0x00000803 for ubyte
 * images with 3 dimensions, 0x00000801 for ubyte labels with 1), then the raw bytes.
 * Read through zlib, so raw and gzip files both work. The header is checked before
 * anything is allocated, and storage grows with the images actually read, so a header
 * that lies about the count ends in "truncated", not in a huge allocation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "runtime/runtime.h"
#include "image.h"
#include "internal.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define IDX_MAX_SIDE 4096
#define IDX_CHUNK 256          /* images read per gzread */
#define MAX_CLASSES 100000
#define MAX_CLASS_NAME 4096   /* bytes of one name in classes.txt */

static const char *const fashion_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The first of dir/<prefix><sep><kind>[.gz] that exists, malloc'ed. */
static char *find_one(const char *dir, const char *prefix, const char *kind)
{
    static const char *const seps[] = { "-", "." };
    static const char *const sufs[] = { "", ".gz" };
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            char name[128];
            snprintf(name, sizeof name, "%s%s%s%s", prefix, seps[i], kind, sufs[j]);
            char *p = cgan_data_join(dir, name);
            if (p && exists(p)) return p;
            free(p);
        }
    return NULL;
}

cgan_status cgan_idx_find(const char *dir, const char *split, char **images, char **labels)
{
    const char *prefix = split && strcmp(split, "test") == 0 ? "t10k" : "train";
    *images = find_one(dir, prefix, "images-idx3-ubyte");
    *labels = find_one(dir, prefix, "labels-idx1-ubyte");
    if (*images && *labels) return CGAN_OK;
    free(*images);
    free(*labels);
    *images = *labels = NULL;
    return CGAN_E_NOT_FOUND;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read exactly n bytes; a short read is "truncated" (what says where). */
static cgan_status read_exact(cgan_ctx *ctx, gzFile f, const char *path, void *buf, unsigned n,
                              const char *what)
{
    int got = gzread(f, buf, n);
    if (got == (int)n) return CGAN_OK;
    int zerr = Z_OK;
    const char *msg = gzerror(f, &zerr);
    if (got < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: cannot read %s: %s", path, what, msg);
    return cgan_error(ctx, CGAN_E_FORMAT, "%s: truncated: the file ends inside %s", path, what);
}

/* After the last record of a file read whole: the file must end there, and a gzip stream
 * must end with its trailer (a file cut inside it reads as complete data otherwise). */
static cgan_status check_end(cgan_ctx *ctx, gzFile f, const char *path)
{
    uint8_t extra;
    int got = gzread(f, &extra, 1);
    int zerr = Z_OK;
    const char *msg = gzerror(f, &zerr);
    if (got > 0)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: unexpected bytes after the last record (the header's count "
                          "is smaller than the data)", path);
    if (zerr == Z_BUF_ERROR)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: truncated: the gzip stream ends without its trailer", path);
    if (got < 0 || zerr != Z_OK) return cgan_error(ctx, CGAN_E_FORMAT, "%s: cannot read: %s", path, msg);
    return CGAN_OK;
}

/* Open an IDX file and check its magic; dims receives ndims big-endian sizes. */
static cgan_status idx_open(cgan_ctx *ctx, const char *path, uint32_t magic, int ndims,
                            uint32_t *dims, gzFile *out)
{
    *out = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) return cgan_error(ctx, CGAN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    gzbuffer(f, 1 << 17);
    uint8_t head[16];
    cgan_status st = read_exact(ctx, f, path, head, 4 + 4 * (unsigned)ndims, "the header");
    if (st != CGAN_OK) goto fail;
    if (be32(head) != magic) {
        st = cgan_error(ctx, CGAN_E_FORMAT,
                        "%s: not an IDX %s file (magic 0x%08x, expected 0x%08x)", path,
                        magic == IDX_IMAGES_MAGIC ? "image" : "label", be32(head), magic);
        goto fail;
    }
    for (int i = 0; i < ndims; i++) dims[i] = be32(head + 4 + 4 * i);
    *out = f;
    return CGAN_OK;
fail:
    gzclose(f);
    return st;
}

/* classes.txt: one name a line (blank lines ignored). NOT_FOUND when absent. */
static cgan_status read_classes(cgan_ctx *ctx, const char *dir, cgan_dataset *ds)
{
    char *path = cgan_data_join(dir, "classes.txt");
    if (!path) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = CGAN_E_NOT_FOUND;
    char **names = NULL, *line = NULL;
    size_t line_cap = 0;
    int k = 0, cap = 0, lineno = 0;
    FILE *f = exists(path) ? fopen(path, "r") : NULL;
    if (!f) goto done;
    /* lines of any length (getline): a long name is one name, never split in two */
    while (getline(&line, &line_cap, f) >= 0) {
        lineno++;
        size_t len = strcspn(line, "\r\n");
        if (len > MAX_CLASS_NAME) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: line %d: a class name of %zu bytes (at most %d)", path, lineno,
                            len, MAX_CLASS_NAME);
            goto done;
        }
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t')) len--;
        line[len] = '\0';
        if (len == 0) continue;
        if (k >= MAX_CLASSES) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: more than %d class names", path, MAX_CLASSES);
            goto done;
        }
        if (k == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            if (!grown) goto nomem;
            names = grown;
        }
        if (!(names[k] = strdup(line))) goto nomem;
        k++;
    }
    if (ferror(f)) {
        st = cgan_error(ctx, CGAN_E_IO, "%s: read error", path);
        goto done;
    }
    if (k == 0) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: holds no class name", path);
        goto done;
    }
    st = cgan_data_set_names(ctx, ds, (const char *const *)names, k);
    goto done;
nomem:
    st = cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
done:
    free(line);
    if (f) fclose(f);
    for (int i = 0; i < k; i++) free(names[i]);
    free(names);
    free(path);
    return st;
}

static cgan_status set_class_names(cgan_ctx *ctx, const char *dir, int fashion, int max_label,
                                   cgan_dataset *ds)
{
    cgan_status st = read_classes(ctx, dir, ds);
    if (st == CGAN_OK) {
        if (max_label >= ds->num_classes)
            return cgan_error(ctx, CGAN_E_FORMAT,
                              "%s/classes.txt names %d classes but a label is %d", dir,
                              ds->num_classes, max_label);
        return CGAN_OK;
    }
    if (st != CGAN_E_NOT_FOUND) return st;
    if (fashion) {
        if (max_label >= 10)
            return cgan_error(ctx, CGAN_E_FORMAT,
                              "%s: Fashion-MNIST has 10 classes but a label is %d (add a "
                              "classes.txt)", dir, max_label);
        return cgan_data_set_names(ctx, ds, fashion_names, 10);
    }
    int k = max_label + 1 > 10 ? max_label + 1 : 10;
    char digits[256][4];
    const char *names[256];
    for (int i = 0; i < k; i++) {
        snprintf(digits[i], sizeof digits[i], "%d", i);
        names[i] = digits[i];
    }
    return cgan_data_set_names(ctx, ds, names, k);
}

cgan_status cgan_idx_load(cgan_ctx *ctx, const char *dir, const char *images,
                          const char *labels, int max_images, int fashion, cgan_dataset *ds)
{
    gzFile fi = NULL, fl = NULL;
    uint8_t *chunk = NULL, lab[IDX_CHUNK];
    uint32_t idim[3], ldim[1];
    int cap = 0, max_label = -1;
    cgan_status st = idx_open(ctx, images, IDX_IMAGES_MAGIC, 3, idim, &fi);
    if (st != CGAN_OK) goto fail;
    st = idx_open(ctx, labels, IDX_LABELS_MAGIC, 1, ldim, &fl);
    if (st != CGAN_OK) goto fail;
    st = CGAN_E_FORMAT;
    if (idim[0] == 0) {
        cgan_error(ctx, st, "%s: holds no image", images);
        goto fail;
    }
    if (idim[0] > (uint32_t)INT32_MAX) {
        cgan_error(ctx, st, "%s: claims %u images, more than %d supported", images, idim[0],
                   INT32_MAX);
        goto fail;
    }
    if (idim[1] == 0 || idim[2] == 0 || idim[1] > IDX_MAX_SIDE || idim[2] > IDX_MAX_SIDE) {
        cgan_error(ctx, st, "%s: image size %u x %u is out of range (1 to %d)", images, idim[1],
                   idim[2], IDX_MAX_SIDE);
        goto fail;
    }
    if (ldim[0] != idim[0]) {
        cgan_error(ctx, st, "%s holds %u labels but %s holds %u images", labels, ldim[0],
                   images, idim[0]);
        goto fail;
    }
    int total = (int)idim[0], rows = (int)idim[1], cols = (int)idim[2];
    if (max_images > 0 && max_images < total) total = max_images;
    size_t isz = (size_t)rows * (size_t)cols;
    int per = (int)(((size_t)1 << 24) / isz); /* images per read: at most 16 MiB */
    if (per > IDX_CHUNK) per = IDX_CHUNK;
    if (per < 1) per = 1;
    if (!(chunk = malloc(isz * (size_t)per))) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", images);
        goto fail;
    }
    while (ds->n < total) {
        int m = total - ds->n < per ? total - ds->n : per;
        if ((st = read_exact(ctx, fi, images, chunk, (unsigned)(isz * (size_t)m), "the images")) ||
            (st = read_exact(ctx, fl, labels, lab, (unsigned)m, "the labels")) ||
            (st = cgan_data_reserve(ctx, ds, ds->n + m, &cap)))
            goto fail;
        for (int i = 0; i < m; i++) {
            cgan_image view = { .w = cols, .h = rows, .c = 1, .px = chunk + (size_t)i * isz };
            st = cgan_image_fit_or_pad(ctx, &view, ds->size, ds->channels,
                                       cgan_dataset_image(ds, ds->n));
            if (st != CGAN_OK) goto fail;
            ds->labels[ds->n++] = lab[i];
            if (lab[i] > max_label) max_label = lab[i];
        }
    }
    /* every record was read: the files must end here, whole */
    if (total == (int)idim[0] && ((st = check_end(ctx, fi, images)) || (st = check_end(ctx, fl, labels))))
        goto fail;
    if (cap > ds->n) { /* give back the growth slack */
        size_t osz = (size_t)ds->channels * (size_t)ds->size * (size_t)ds->size;
        uint8_t *px = realloc(ds->pixels, (size_t)ds->n * osz);
        int *lb = realloc(ds->labels, (size_t)ds->n * sizeof *lb);
        if (px) ds->pixels = px;
        if (lb) ds->labels = lb;
    }
    st = set_class_names(ctx, dir, fashion, max_label, ds);
fail:
    if (fi) gzclose(fi);
    if (fl) gzclose(fl);
    free(chunk);
    return st;
}
