/* safetensors: dtype table, CRC32 and the writer. The reader is in st_read.c. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "runtime/atomic.h"
#include "io/safetensors.h"
#include "runtime/runtime.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O writes host memory as is; a big-endian host needs byte swapping"
#endif

static const struct {
    const char *name;
    size_t size;
} dtypes[CGAN_ST_DTYPE_COUNT] = {
    [CGAN_ST_BOOL] = { "BOOL", 1 },       [CGAN_ST_U8] = { "U8", 1 },
    [CGAN_ST_I8] = { "I8", 1 },           [CGAN_ST_F8_E4M3] = { "F8_E4M3", 1 },
    [CGAN_ST_F8_E5M2] = { "F8_E5M2", 1 }, [CGAN_ST_I16] = { "I16", 2 },
    [CGAN_ST_U16] = { "U16", 2 },         [CGAN_ST_F16] = { "F16", 2 },
    [CGAN_ST_BF16] = { "BF16", 2 },       [CGAN_ST_I32] = { "I32", 4 },
    [CGAN_ST_U32] = { "U32", 4 },         [CGAN_ST_F32] = { "F32", 4 },
    [CGAN_ST_I64] = { "I64", 8 },         [CGAN_ST_U64] = { "U64", 8 },
    [CGAN_ST_F64] = { "F64", 8 },
};

const char *cgan_st_dtype_name(cgan_st_dtype dt)
{
    return (unsigned)dt < CGAN_ST_DTYPE_COUNT ? dtypes[dt].name : "?";
}

size_t cgan_st_dtype_size(cgan_st_dtype dt)
{
    return (unsigned)dt < CGAN_ST_DTYPE_COUNT ? dtypes[dt].size : 0;
}

uint32_t cgan_st_crc32(const void *data, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char *p = data;
    while (len > 0) {   /* zlib takes uInt lengths */
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)crc;
}

/* ---- writer ------------------------------------------------------------------- */
typedef struct wtensor {
    char *name;
    cgan_st_dtype dt;
    int ndim;
    int64_t shape[CGAN_ST_MAX_DIMS];
    size_t nbytes;
    void *data;
} wtensor;

struct cgan_st_writer {
    wtensor *t;
    int n, cap;
    json_t *meta;          /* user metadata, insertion-ordered strings */
    cgan_status st;        /* first error, sticky */
    char err[512];
};

static cgan_status fail(cgan_st_writer *w, cgan_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cgan_status fail(cgan_st_writer *w, cgan_status st, const char *fmt, ...)
{
    if (w->st != CGAN_OK) return w->st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    w->st = st;
    return st;
}

static int valid_utf8(const char *s)
{
    json_t *j = json_string(s);   /* jansson rejects invalid UTF-8 */
    json_decref(j);
    return j != NULL;
}

cgan_status cgan_st_writer_new(cgan_st_writer **out)
{
    *out = NULL;
    cgan_st_writer *w = calloc(1, sizeof *w);
    if (!w) return CGAN_E_NOMEM;
    w->meta = json_object();
    if (!w->meta) {
        free(w);
        return CGAN_E_NOMEM;
    }
    *out = w;
    return CGAN_OK;
}

void cgan_st_writer_destroy(cgan_st_writer *w)
{
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->t);
    json_decref(w->meta);
    free(w);
}

const char *cgan_st_writer_error(const cgan_st_writer *w)
{
    return w ? w->err : "no writer";
}

cgan_status cgan_st_add(cgan_st_writer *w, const char *name, cgan_st_dtype dt,
                        const int64_t *shape, int ndim, const void *data)
{
    if (w->st != CGAN_OK) return w->st;
    if (!name || !*name) return fail(w, CGAN_E_INVALID, "a tensor needs a name");
    if (!strcmp(name, "__metadata__") || !valid_utf8(name))
        return fail(w, CGAN_E_INVALID, "tensor name \"%s\" is reserved or not UTF-8", name);
    if ((unsigned)dt >= CGAN_ST_DTYPE_COUNT)
        return fail(w, CGAN_E_INVALID, "tensor %s: unknown dtype %d", name, (int)dt);
    if (ndim < 0 || ndim > CGAN_ST_MAX_DIMS || (ndim > 0 && !shape))
        return fail(w, CGAN_E_INVALID, "tensor %s: %d dimensions (0 to %d allowed)", name,
                    ndim, CGAN_ST_MAX_DIMS);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name))
            return fail(w, CGAN_E_INVALID, "tensor %s added twice", name);
    size_t esize = dtypes[dt].size, count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return fail(w, CGAN_E_INVALID, "tensor %s: negative dimension %lld", name,
                        (long long)shape[i]);
        if (shape[i] > 0 && count > (SIZE_MAX / esize) / (uint64_t)shape[i])
            return fail(w, CGAN_E_INVALID, "tensor %s: shape too large", name);
        count *= (size_t)shape[i];
    }
    size_t nbytes = count * esize;
    if (nbytes && !data) return fail(w, CGAN_E_INVALID, "tensor %s: no data", name);
    if (w->n == w->cap) {
        int cap = w->cap ? w->cap * 2 : 16;
        wtensor *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t) return fail(w, CGAN_E_NOMEM, "out of memory adding tensor %s", name);
        w->t = t;
        w->cap = cap;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = malloc(nbytes ? nbytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return fail(w, CGAN_E_NOMEM, "out of memory copying tensor %s (%zu bytes)", name,
                    nbytes);
    }
    if (nbytes) memcpy(t->data, data, nbytes);
    t->dt = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->nbytes = nbytes;
    w->n++;
    return CGAN_OK;
}

cgan_status cgan_st_add_f32(cgan_st_writer *w, const char *name, const int64_t *shape,
                            int ndim, const float *data)
{
    return cgan_st_add(w, name, CGAN_ST_F32, shape, ndim, data);
}

cgan_status cgan_st_add_u8(cgan_st_writer *w, const char *name, const int64_t *shape,
                           int ndim, const uint8_t *data)
{
    return cgan_st_add(w, name, CGAN_ST_U8, shape, ndim, data);
}

cgan_status cgan_st_add_i64(cgan_st_writer *w, const char *name, const int64_t *shape,
                            int ndim, const int64_t *data)
{
    return cgan_st_add(w, name, CGAN_ST_I64, shape, ndim, data);
}

cgan_status cgan_st_set_meta(cgan_st_writer *w, const char *key, const char *value)
{
    if (w->st != CGAN_OK) return w->st;
    if (!key || !*key || !value) return fail(w, CGAN_E_INVALID, "metadata needs a key and a value");
    if (!strncmp(key, CGAN_ST_CRC_PREFIX, strlen(CGAN_ST_CRC_PREFIX)))
        return fail(w, CGAN_E_INVALID, "metadata key %s: the crc32. prefix is reserved", key);
    if (!valid_utf8(key)) return fail(w, CGAN_E_INVALID, "metadata key is not UTF-8");
    json_t *v = json_string(value);
    if (!v) return fail(w, CGAN_E_INVALID, "metadata %s: value is not UTF-8", key);
    if (json_object_set_new(w->meta, key, v) != 0)
        return fail(w, CGAN_E_NOMEM, "out of memory setting metadata %s", key);
    return CGAN_OK;
}

/* Data order: larger elements first, so every tensor is aligned to its element size
 * (the data area starts at a multiple of 8); insertion order within a size. */
static int *data_order(const cgan_st_writer *w)
{
    int *order = malloc((size_t)(w->n ? w->n : 1) * sizeof *order);
    if (!order) return NULL;
    int k = 0;
    for (size_t size = 8; size >= 1; size /= 2)
        for (int i = 0; i < w->n; i++)
            if (dtypes[w->t[i].dt].size == size) order[k++] = i;
    return order;
}

/* The header JSON: "__metadata__" (user entries, then one crc32.<name> per tensor) and
 * the tensors in insertion order. Returns a malloc'ed compact string or NULL. */
static char *build_header(const cgan_st_writer *w, const int *order)
{
    char *text = NULL;
    json_t *root = json_object(), *meta = json_deep_copy(w->meta);
    size_t *begin = malloc((size_t)(w->n ? w->n : 1) * sizeof *begin);
    if (!root || !meta || !begin) goto done;
    size_t off = 0;
    for (int k = 0; k < w->n; k++) {
        begin[order[k]] = off;
        off += w->t[order[k]].nbytes;
    }
    for (int i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[i];
        char hex[9], *key = malloc(strlen(CGAN_ST_CRC_PREFIX) + strlen(t->name) + 1);
        if (!key) goto done;
        strcpy(key, CGAN_ST_CRC_PREFIX);
        strcat(key, t->name);
        snprintf(hex, sizeof hex, "%08x", (unsigned)cgan_st_crc32(t->data, t->nbytes));
        int bad = json_object_set_new(meta, key, json_string(hex));
        free(key);
        if (bad) goto done;
    }
    if (json_object_size(meta) > 0) {
        if (json_object_set(root, "__metadata__", meta) != 0) goto done;
    }
    for (int i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[i];
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_t *entry = json_pack("{s:s, s:o, s:[I,I]}", "dtype", dtypes[t->dt].name, "shape",
                                  shape, "data_offsets", (json_int_t)begin[i],
                                  (json_int_t)(begin[i] + t->nbytes));
        if (!entry || json_array_size(shape) != (size_t)t->ndim ||
            json_object_set_new(root, t->name, entry) != 0)
            goto done;
    }
    text = json_dumps(root, JSON_COMPACT);
done:
    free(begin);
    json_decref(meta);
    json_decref(root);
    return text;
}

cgan_status cgan_st_write(cgan_ctx *ctx, cgan_st_writer *w, const char *path)
{
    if (w->st != CGAN_OK) return cgan_error(ctx, w->st, "%s: not written: %s", path, w->err);
    cgan_status st = CGAN_OK;
    cgan_atomic_file af = { 0 };
    char *header = NULL;
    int *order = data_order(w);
    if (order) header = build_header(w, order);
    if (!order || !header) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory building the header", path);
        goto done;
    }
    size_t len = strlen(header), padded = (len + 7) / 8 * 8;
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++) prefix[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = "        ";
    if ((st = cgan_atomic_open(ctx, path, &af)) != CGAN_OK) goto done;
    int ok = fwrite(prefix, 1, 8, af.fp) == 8 && fwrite(header, 1, len, af.fp) == len &&
             fwrite(spaces, 1, padded - len, af.fp) == padded - len;
    for (int k = 0; ok && k < w->n; k++) {
        const wtensor *t = &w->t[order[k]];
        ok = fwrite(t->data, 1, t->nbytes, af.fp) == t->nbytes;
    }
    if (!ok) {
        int err = errno;
        cgan_atomic_abort(&af);
        st = cgan_error(ctx, CGAN_E_IO, "%s: write failed: %s (the previous file, if any, is "
                        "unchanged)", path, strerror(err));
        goto done;
    }
    st = cgan_atomic_commit(ctx, &af);
done:
    free(header);
    free(order);
    return st;
}
