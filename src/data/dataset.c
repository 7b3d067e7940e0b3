/* Opening a dataset: options, choosing the source (IDX pair or ImageFolder), the shared
 * storage helpers, reading one image, and destruction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "runtime/runtime.h"
#include "internal.h"

#define MAX_SIZE 1024

void cgan_data_opts_default(cgan_data_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->size = 32;
    opts->split = "train";
}

char *cgan_data_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t at = a;
    if (a == 0 || dir[a - 1] != '/') p[at++] = '/';
    memcpy(p + at, name, b + 1);
    return p;
}

cgan_status cgan_data_reserve(cgan_ctx *ctx, cgan_dataset *ds, int need, int *cap)
{
    if (need <= *cap) return CGAN_OK;
    int ncap = *cap ? *cap : 64;
    while (ncap < need) ncap = ncap > INT32_MAX / 2 ? need : 2 * ncap;
    size_t isz = (size_t)ds->channels * (size_t)ds->size * (size_t)ds->size;
    uint8_t *px = realloc(ds->pixels, (size_t)ncap * isz);
    if (!px) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory for %d images", ncap);
    ds->pixels = px;
    int *lab = realloc(ds->labels, (size_t)ncap * sizeof *lab);
    if (!lab) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory for %d labels", ncap);
    ds->labels = lab;
    *cap = ncap;
    return CGAN_OK;
}

int cgan_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int more;
        unsigned cp, min;
        if (c < 0x80) continue;
        else if ((c & 0xE0) == 0xC0) more = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) more = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) more = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xC0) != 0x80) return 0; /* the NUL ends here too */
            cp = (cp << 6) | (*p & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    }
    return 1;
}

cgan_status cgan_data_set_names(cgan_ctx *ctx, cgan_dataset *ds, const char *const *names, int k)
{
    if (k < 0) return cgan_error(ctx, CGAN_E_INVALID, "dataset: %d classes", k);
    for (int i = 0; i < k; i++)
        if (!cgan_utf8_valid(names[i]))
            return cgan_error(ctx, CGAN_E_FORMAT, "dataset %s: the name of class %d (\"%s\") is not valid UTF-8; "
                              "checkpoints store class names as JSON text", ds->source ? ds->source : "?", i, names[i]);
    char **v = calloc((size_t)k, sizeof *v);
    if (!v) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    for (int i = 0; i < k; i++) {
        if (!(v[i] = strdup(names[i]))) {
            for (int j = 0; j < i; j++) free(v[j]);
            free(v);
            return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        }
    }
    for (int i = 0; i < ds->num_classes; i++) free(ds->class_names[i]);
    free(ds->class_names);
    ds->class_names = v;
    ds->num_classes = k;
    return CGAN_OK;
}

void cgan_dataset_destroy(cgan_dataset *ds)
{
    if (!ds) return;
    for (int i = 0; i < ds->num_classes; i++) free(ds->class_names ? ds->class_names[i] : NULL);
    free(ds->class_names);
    for (int i = 0; i < CGAN_DATA_SKIP_KEEP; i++) free(ds->skipped_examples[i]);
    free(ds->pixels);
    free(ds->paths);
    free(ds->path_off);
    free(ds->labels);
    for (int i = 0; ds->captions && i < ds->n; i++) free(ds->captions[i]);
    free(ds->captions);
    free(ds->source);
    free(ds);
}

cgan_status cgan_dataset_alloc(cgan_ctx *ctx, int n, int channels, int size, int num_classes,
                               cgan_dataset **out)
{
    *out = NULL;
    if (n <= 0 || (channels != 1 && channels != 3) || size <= 0 || size > MAX_SIZE ||
        num_classes <= 0 || num_classes > 100000)
        return cgan_error(ctx, CGAN_E_INVALID,
                          "dataset: bad shape %d x %d x %d x %d with %d classes", n, channels,
                          size, size, num_classes);
    cgan_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return cgan_error(ctx, CGAN_E_NOMEM, "dataset: out of memory");
    ds->channels = channels;
    ds->size = size;
    ds->format = "memory";
    size_t isz = (size_t)channels * (size_t)size * (size_t)size;
    ds->pixels = calloc((size_t)n, isz);
    ds->labels = calloc((size_t)n, sizeof *ds->labels);
    ds->source = strdup("(memory)");
    cgan_status st = CGAN_E_NOMEM;
    if (!ds->pixels || !ds->labels || !ds->source) {
        cgan_error(ctx, st, "dataset: out of memory for %d images", n);
        goto fail;
    }
    ds->n = n;
    char (*digits)[12] = malloc((size_t)num_classes * sizeof *digits);
    const char **names = malloc((size_t)num_classes * sizeof *names);
    if (digits && names) {
        for (int i = 0; i < num_classes; i++) {
            snprintf(digits[i], sizeof digits[i], "%d", i);
            names[i] = digits[i];
        }
        st = cgan_data_set_names(ctx, ds, names, num_classes);
    } else {
        cgan_error(ctx, st, "dataset: out of memory");
    }
    free(digits);
    free(names);
    if (st != CGAN_OK) goto fail;
    *out = ds;
    return CGAN_OK;
fail:
    cgan_dataset_destroy(ds);
    return st;
}

static cgan_status resolve_opts(cgan_ctx *ctx, const cgan_data_opts *in, cgan_data_opts *o)
{
    cgan_data_opts_default(o);
    if (!in) return CGAN_OK;
    if (in->size < 0 || in->size > MAX_SIZE)
        return cgan_error(ctx, CGAN_E_INVALID, "dataset: image size %d is out of range (1 to %d)",
                          in->size, MAX_SIZE);
    if (in->channels != 0 && in->channels != 1 && in->channels != 3)
        return cgan_error(ctx, CGAN_E_INVALID, "dataset: channels must be 1 or 3 (0 = detect), not %d",
                          in->channels);
    if (in->max_images < 0)
        return cgan_error(ctx, CGAN_E_INVALID, "dataset: max images %d is negative", in->max_images);
    if (in->split && strcmp(in->split, "train") != 0 && strcmp(in->split, "test") != 0)
        return cgan_error(ctx, CGAN_E_INVALID, "dataset: split must be \"train\" or \"test\", not \"%s\"",
                          in->split);
    if (in->size) o->size = in->size;
    o->channels = in->channels;
    o->max_images = in->max_images;
    if (in->split) o->split = in->split;
    o->captions = in->captions != 0;
    o->cache_decoded = in->cache_decoded != 0;
    return CGAN_OK;
}

cgan_status cgan_dataset_read(cgan_ctx *ctx, const cgan_dataset *ds, int i, uint8_t *dst)
{
    if (!ds || !dst || i < 0 || i >= ds->n)
        return cgan_error(ctx, CGAN_E_INVALID, "dataset: image %d is out of range (0 to %d)", i, ds ? ds->n - 1 : -1);
    if (ds->pixels) {
        memcpy(dst, cgan_dataset_image(ds, i), cgan_dataset_image_bytes(ds));
        return CGAN_OK;
    }
    if (!ds->path_off) return cgan_error(ctx, CGAN_E_INVALID, "dataset %s: holds no images", ds->source);
    cgan_decoder d;
    cgan_decoder_init(&d, ctx);
    cgan_status st = cgan_decoder_load(&d, cgan_dataset_path(ds, i), ds->size, ds->channels, dst, NULL);
    cgan_decoder_free(&d);
    return st;
}

cgan_status cgan_dataset_open(cgan_ctx *ctx, const char *path, const cgan_data_opts *opts,
                              cgan_dataset **out)
{
    cgan_data_opts o;
    cgan_dataset *ds = NULL;
    char *images = NULL, *labels = NULL;
    *out = NULL;
    cgan_status st = resolve_opts(ctx, opts, &o);
    if (st != CGAN_OK) return st;
    int is_default = path == NULL;
    if (!path) path = CGAN_DATA_DEFAULT_PATH;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return cgan_error(ctx, errno == ENOENT ? CGAN_E_NOT_FOUND : CGAN_E_IO,
                          "dataset %s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return cgan_error(ctx, CGAN_E_INVALID,
                          "dataset %s is not a folder (expected class subfolders of images, "
                          "or a folder with IDX files)", path);
    if (!(ds = calloc(1, sizeof *ds)) || !(ds->source = strdup(path))) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "dataset %s: out of memory", path);
        goto fail;
    }
    ds->size = o.size;
    if (cgan_idx_find(path, o.split, &images, &labels) == CGAN_OK) {
        ds->format = "idx";
        if (o.captions) {
            st = cgan_error(ctx, CGAN_E_INVALID, "dataset %s: IDX files have no captions; text conditioning needs "
                            "an image folder with %s", path, CGAN_DATA_CAPTIONS);
            goto fail;
        }
        ds->channels = o.channels ? o.channels : 1;
        int fashion = is_default || strcasestr(path, "fashion") != NULL;
        st = cgan_idx_load(ctx, path, images, labels, o.max_images, fashion, ds);
    } else {
        ds->format = "imagefolder";
        st = cgan_folder_load(ctx, path, &o, ds);
    }
    if (st != CGAN_OK) goto fail;
    *out = ds;
    ds = NULL;
fail:
    cgan_dataset_destroy(ds);
    free(images);
    free(labels);
    return st;
}
