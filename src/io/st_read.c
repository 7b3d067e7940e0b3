/* safetensors reader: load, validate everything, then hand out tensors and metadata. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "runtime/atomic.h"
#include "io/safetensors.h"
#include "runtime/runtime.h"

struct cgan_st_file {
    char *path;
    unsigned char *buf;        /* the whole file */
    size_t size, hlen;
    const unsigned char *data; /* buf + 8 + hlen */
    size_t data_len;
    cgan_st_tensor *t;
    int n;
    char **mkey, **mval;
    int nmeta;
};

void cgan_st_close(cgan_st_file *f)
{
    if (!f) return;
    for (int i = 0; i < f->n; i++) free((char *)f->t[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        free(f->mkey[i]);
        free(f->mval[i]);
    }
    free(f->mkey);
    free(f->mval);
    free(f->t);
    free(f->buf);
    free(f->path);
    free(f);
}

/* Read the 8-byte prefix, check the header length against the file, read the rest. */
static cgan_status load(cgan_ctx *ctx, cgan_st_file *f)
{
    const char *path = f->path;
    cgan_status st = CGAN_OK;
    FILE *fp = cgan_fopen_regular(ctx, path, "safetensors file", &st);
    if (!fp) return st;
    struct stat sb; /* a regular file: cgan_fopen_regular refused anything else */
    if (fstat(fileno(fp), &sb) != 0) {
        st = cgan_error(ctx, CGAN_E_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    f->size = (size_t)sb.st_size;
    unsigned char prefix[8];
    if (f->size < 8 || fread(prefix, 1, 8, fp) != 8) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: not a safetensors file: %zu bytes, the "
                        "header length alone takes 8", path, f->size);
        goto done;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | prefix[i];
    if (n > CGAN_ST_MAX_HEADER || n > f->size - 8) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: not a safetensors file or truncated: header "
                        "length %llu %s (file has %zu bytes)", path, (unsigned long long)n,
                        n > CGAN_ST_MAX_HEADER ? "exceeds the 100 MB limit"
                                               : "is larger than the file",
                        f->size);
        goto done;
    }
    f->hlen = (size_t)n;
    f->buf = malloc(f->size);
    if (!f->buf) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory reading %zu bytes", path, f->size);
        goto done;
    }
    memcpy(f->buf, prefix, 8);
    if (fread(f->buf + 8, 1, f->size - 8, fp) != f->size - 8) {
        st = cgan_error(ctx, CGAN_E_IO, "%s: read failed: %s", path,
                        ferror(fp) ? strerror(errno) : "file shrank while reading");
        goto done;
    }
    f->data = f->buf + 8 + f->hlen;
    f->data_len = f->size - 8 - f->hlen;
done:
    fclose(fp);
    return st;
}

static int dtype_from_name(const char *s)
{
    for (int d = 0; d < CGAN_ST_DTYPE_COUNT; d++)
        if (!strcmp(s, cgan_st_dtype_name((cgan_st_dtype)d))) return d;
    return -1;
}

/* One tensor entry of the header: dtype, shape, data_offsets and their agreement. */
static cgan_status parse_tensor(cgan_ctx *ctx, cgan_st_file *f, const char *name, json_t *v,
                                cgan_st_tensor *t)
{
    const char *path = f->path;
    if (!json_is_object(v))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: header entry is not an object",
                          path, name);
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: needs \"dtype\" (a string), "
                          "\"shape\" and \"data_offsets\" (arrays)", path, name);
    int dt = dtype_from_name(json_string_value(jd));
    if (dt < 0)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: unsupported dtype \"%s\"", path,
                          name, json_string_value(jd));
    t->dtype = (cgan_st_dtype)dt;
    size_t nd = json_array_size(js);
    if (nd > CGAN_ST_MAX_DIMS)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: %zu dimensions (at most %d "
                          "supported)", path, name, nd, CGAN_ST_MAX_DIMS);
    t->ndim = (int)nd;
    size_t esize = cgan_st_dtype_size(t->dtype);
    uint64_t count = 1;
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(js, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: shape[%zu] is not a "
                              "non-negative integer", path, name, i);
        t->shape[i] = json_integer_value(d);
        uint64_t dim = (uint64_t)t->shape[i];
        if (dim && count > (uint64_t)(SIZE_MAX / esize) / dim) overflow = 1;
        else count *= dim;
    }
    json_t *b = json_array_get(jo, 0), *e = json_array_get(jo, 1);
    if (json_array_size(jo) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
        json_integer_value(b) < 0 || json_integer_value(e) < json_integer_value(b))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: data_offsets must be [begin, "
                          "end] with 0 <= begin <= end", path, name);
    uint64_t begin = (uint64_t)json_integer_value(b), end = (uint64_t)json_integer_value(e);
    if (overflow || count * esize != end - begin)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: shape needs %s%llu bytes of %s, "
                          "data_offsets [%llu, %llu] hold %llu", path, name,
                          overflow ? "more than " : "",
                          overflow ? (unsigned long long)SIZE_MAX
                                   : (unsigned long long)(count * esize),
                          cgan_st_dtype_name(t->dtype), (unsigned long long)begin,
                          (unsigned long long)end, (unsigned long long)(end - begin));
    t->numel = (int64_t)count;
    t->nbytes = (size_t)(end - begin);
    t->offset = (size_t)begin;   /* checked against the data area in check_layout */
    return CGAN_OK;
}

static int by_offset(const void *a, const void *b)
{
    const cgan_st_tensor *x = *(const cgan_st_tensor *const *)a,
                         *y = *(const cgan_st_tensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

/* The tensors must tile the data area exactly: no overlap, no hole, nothing missing
 * or left over (the format forbids holes so that a file cannot carry hidden bytes). */
static cgan_status check_layout(cgan_ctx *ctx, cgan_st_file *f)
{
    const char *path = f->path;
    cgan_status st = CGAN_OK;
    const cgan_st_tensor **sorted = malloc((size_t)(f->n ? f->n : 1) * sizeof *sorted);
    if (!sorted) return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < f->n; i++) sorted[i] = &f->t[i];
    qsort(sorted, (size_t)f->n, sizeof *sorted, by_offset);
    size_t expect = 0;
    const cgan_st_tensor *prev = NULL;
    for (int k = 0; k < f->n; k++) {
        const cgan_st_tensor *t = sorted[k];
        if (t->offset < expect) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: data_offsets [%zu, %zu] "
                            "overlap tensor %s [%zu, %zu]", path, t->name, t->offset,
                            t->offset + t->nbytes, prev->name, prev->offset,
                            prev->offset + prev->nbytes);
            goto done;
        }
        if (t->offset > expect) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: bytes [%zu, %zu) before it "
                            "belong to no tensor (a hole in the data area)", path, t->name,
                            expect, t->offset);
            goto done;
        }
        expect = t->offset + t->nbytes;
        prev = t;
    }
    if (expect > f->data_len) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: truncated: header says %zu bytes of data, "
                        "file has %zu (tensor %s ends at %zu)", path, expect, f->data_len,
                        prev->name, expect);
        goto done;
    }
    if (expect < f->data_len) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: %zu bytes after the last tensor belong to "
                        "no tensor (header says %zu bytes of data)", path,
                        f->data_len - expect, expect);
        goto done;
    }
    for (int i = 0; i < f->n; i++) f->t[i].data = f->data + f->t[i].offset;
done:
    free(sorted);
    return st;
}

static int find_index(const cgan_st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return i;
    return -1;
}

static int parse_hex32(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        v = (v << 4) | (uint32_t)d;
    }
    *out = v;
    return s[8] == '\0';
}

/* "__metadata__": strings only; crc32.<name> entries attach to their tensor. */
static cgan_status parse_meta(cgan_ctx *ctx, cgan_st_file *f, json_t *meta)
{
    const char *path = f->path, *key;
    json_t *v;
    if (!json_is_object(meta))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: __metadata__ is not an object", path);
    size_t n = json_object_size(meta);
    f->mkey = calloc(n ? n : 1, sizeof *f->mkey);
    f->mval = calloc(n ? n : 1, sizeof *f->mval);
    if (!f->mkey || !f->mval) return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
    json_object_foreach(meta, key, v) {
        if (!json_is_string(v))
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: __metadata__ entry %s is not a string "
                              "(the format allows only strings)", path, key);
        char *k = strdup(key), *val = strdup(json_string_value(v));
        if (!k || !val) {
            free(k);
            free(val);
            return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
        }
        f->mkey[f->nmeta] = k;
        f->mval[f->nmeta++] = val;
        size_t plen = strlen(CGAN_ST_CRC_PREFIX);
        if (strncmp(key, CGAN_ST_CRC_PREFIX, plen) != 0) continue;
        int i = find_index(f, key + plen);
        if (i < 0)
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: __metadata__ has %s but there is no "
                              "tensor %s (a damaged header?)", path, key, key + plen);
        if (!parse_hex32(json_string_value(v), &f->t[i].crc))
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: stored CRC32 \"%s\" is not "
                              "8 hex digits", path, key + plen, json_string_value(v));
        f->t[i].has_crc = 1;
    }
    return CGAN_OK;
}

static cgan_status parse_header(cgan_ctx *ctx, cgan_st_file *f)
{
    const char *path = f->path;
    const char *text = (const char *)f->buf + 8;
    if (f->hlen < 2 || text[0] != '{')
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: not a safetensors file: the header does "
                          "not start with '{'", path);
    cgan_status st = CGAN_OK;
    json_error_t jerr;
    json_t *root = json_loadb(text, f->hlen, JSON_REJECT_DUPLICATES, &jerr), *v, *meta = NULL;
    if (!root)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: header is not valid JSON: %s (byte %d of "
                          "the header)", path, jerr.text, jerr.position);
    if (!json_is_object(root)) {
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s: header is not a JSON object", path);
        goto done;
    }
    size_t n = json_object_size(root);
    f->t = calloc(n ? n : 1, sizeof *f->t);
    if (!f->t) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    const char *key;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            meta = v;
            continue;
        }
        cgan_st_tensor *t = &f->t[f->n];
        if (!(t->name = strdup(key))) {
            st = cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
            goto done;
        }
        f->n++;
        if ((st = parse_tensor(ctx, f, key, v, t)) != CGAN_OK) goto done;
    }
    if ((st = check_layout(ctx, f)) != CGAN_OK) goto done;
    if (meta) st = parse_meta(ctx, f, meta);
done:
    json_decref(root);
    return st;
}

cgan_status cgan_st_verify(cgan_ctx *ctx, const cgan_st_file *f, int *checked)
{
    int k = 0;
    if (checked) *checked = 0;
    for (int i = 0; i < f->n; i++) {
        const cgan_st_tensor *t = &f->t[i];
        if (!t->has_crc) continue;
        uint32_t crc = cgan_st_crc32(t->data, t->nbytes);
        if (crc != t->crc)
            return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s: CRC32 mismatch (stored "
                              "%08x, computed %08x): the data is damaged", f->path, t->name,
                              (unsigned)t->crc, (unsigned)crc);
        if (checked) *checked = ++k;
    }
    return CGAN_OK;
}

cgan_status cgan_st_open_ex(cgan_ctx *ctx, const char *path, unsigned flags,
                            cgan_st_file **out)
{
    *out = NULL;
    cgan_status st;
    cgan_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        st = cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if ((st = load(ctx, f)) != CGAN_OK || (st = parse_header(ctx, f)) != CGAN_OK) goto fail;
    if (!(flags & CGAN_ST_OPEN_NO_CRC) && (st = cgan_st_verify(ctx, f, NULL)) != CGAN_OK)
        goto fail;
    *out = f;
    return CGAN_OK;
fail:
    cgan_st_close(f);
    return st;
}

cgan_status cgan_st_open(cgan_ctx *ctx, const char *path, cgan_st_file **out)
{
    return cgan_st_open_ex(ctx, path, 0, out);
}

cgan_status cgan_st_find(cgan_ctx *ctx, const cgan_st_file *f, const char *name,
                         const cgan_st_tensor **out)
{
    int i = find_index(f, name);
    *out = i >= 0 ? &f->t[i] : NULL;
    if (i < 0)
        return cgan_error(ctx, CGAN_E_NOT_FOUND, "%s: no tensor named %s", f->path, name);
    return CGAN_OK;
}

cgan_status cgan_st_read(cgan_ctx *ctx, const cgan_st_file *f, const char *name,
                         cgan_st_dtype dt, void *dst, int64_t numel)
{
    const cgan_st_tensor *t;
    CGAN_TRY(cgan_st_find(ctx, f, name, &t));
    if (t->dtype != dt)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: tensor %s is %s, expected %s", f->path, name,
                          cgan_st_dtype_name(t->dtype), cgan_st_dtype_name(dt));
    if (t->numel != numel)
        return cgan_error(ctx, CGAN_E_SHAPE, "%s: tensor %s has %lld elements, expected %lld",
                          f->path, name, (long long)t->numel, (long long)numel);
    if (t->nbytes) memcpy(dst, t->data, t->nbytes);
    return CGAN_OK;
}

int cgan_st_count(const cgan_st_file *f) { return f->n; }

const cgan_st_tensor *cgan_st_at(const cgan_st_file *f, int i)
{
    return i >= 0 && i < f->n ? &f->t[i] : NULL;
}

const char *cgan_st_meta(const cgan_st_file *f, const char *key)
{
    for (int i = 0; i < f->nmeta; i++)
        if (!strcmp(f->mkey[i], key)) return f->mval[i];
    return NULL;
}

int cgan_st_meta_count(const cgan_st_file *f) { return f->nmeta; }

void cgan_st_meta_at(const cgan_st_file *f, int i, const char **key, const char **value)
{
    int ok = i >= 0 && i < f->nmeta;
    if (key) *key = ok ? f->mkey[i] : NULL;
    if (value) *value = ok ? f->mval[i] : NULL;
}

const char *cgan_st_path(const cgan_st_file *f) { return f->path; }
size_t cgan_st_header_len(const cgan_st_file *f) { return f->hlen; }
