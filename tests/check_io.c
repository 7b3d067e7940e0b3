/* src/io: safetensors checkpoints (round trip, layout, every malformed-file case, atomic
 * writes), PNG/JPEG output, sample grids and the loss plotter. No device needed. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <turbojpeg.h>
#include <unistd.h>
#include "testutil.h"
#include "io/image.h"
#include "io/safetensors.h"

/* ---- helpers ------------------------------------------------------------------- */
static cgan_ctx *ctx;
static char *dir;

static void setup(void)
{
    ck_assert_ptr_nonnull(ctx = cgan_ctx_new());
    dir = tu_tempdir("io");
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}

static const char *at(const char *name)   /* a path in the test folder; 4 live at once */
{
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "create %s: %s", path, strerror(errno));
    ck_assert(fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* A raw safetensors file from header text and data bytes (no padding). */
static void raw_st(const char *path, const char *json, const void *data, size_t dlen)
{
    size_t n = strlen(json);
    unsigned char *b = malloc(8 + n + dlen + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    if (dlen) memcpy(b + 8 + n, data, dlen);
    spit(path, b, 8 + n + dlen);
    free(b);
}

static int entries(const char *d)   /* files in a folder */
{
    DIR *dd = opendir(d);
    ck_assert_ptr_nonnull(dd);
    int n = 0;
    for (struct dirent *e; (e = readdir(dd));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(dd);
    return n;
}

/* Opening path must fail with st and a message naming the file and containing want. */
static void open_fails(const char *path, cgan_status st, const char *want)
{
    cgan_st_file *f = (cgan_st_file *)&f;
    cgan_status got = cgan_st_open(ctx, path, &f);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(got == st, "%s: got %s, want %s (%s)", path, cgan_status_str(got),
                  cgan_status_str(st), msg);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(msg, path) != NULL, "message does not name the file: %s", msg);
    ck_assert_msg(!want || strstr(msg, want), "message lacks \"%s\": %s", want, msg);
}

/* A small valid checkpoint: two F32 tensors, one U8, metadata. */
static void write_small(const char *path)
{
    cgan_st_writer *w;
    ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
    float a[6] = { 1, -2, 3.5f, -0.0f, 1e-40f, 7 }, b[4] = { 0.25f, 0.5f, 0.75f, 1 };
    uint8_t c[3] = { 1, 2, 255 };
    int64_t sa[2] = { 2, 3 }, sb[1] = { 4 }, sc[1] = { 3 };
    ck_assert_int_eq(cgan_st_add_f32(w, "G.fc.weight", sa, 2, a), CGAN_OK);
    ck_assert_int_eq(cgan_st_add_f32(w, "G.fc.bias", sb, 1, b), CGAN_OK);
    ck_assert_int_eq(cgan_st_add_u8(w, "labels", sc, 1, c), CGAN_OK);
    ck_assert_int_eq(cgan_st_set_meta(w, "arch", "dcgan64"), CGAN_OK);
    TU_OK(ctx, cgan_st_write(ctx, w, path));
    cgan_st_writer_destroy(w);
}

/* ---- safetensors ---------------------------------------------------------------- */
typedef struct { char name[64]; cgan_st_dtype dt; int ndim; int64_t shape[4]; size_t nbytes;
                 unsigned char *bytes; } ref_tensor;

START_TEST(test_st_roundtrip)
{
    enum { N = 150 };
    static ref_tensor ref[N];
    cgan_rng r;
    cgan_rng_init(&r, 1234, 0);
    cgan_st_writer *w;
    ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
    for (int i = 0; i < N; i++) {
        ref_tensor *t = &ref[i];
        snprintf(t->name, sizeof t->name, "%c.layer%d.w\"eight", i % 2 ? 'G' : 'D', i);
        t->dt = i % 7 == 3 ? CGAN_ST_U8 : i % 7 == 5 ? CGAN_ST_I64 : CGAN_ST_F32;
        t->ndim = i == 0 ? 0 : 1 + i % 4;
        size_t count = 1;
        for (int d = 0; d < t->ndim; d++) {
            t->shape[d] = i == 1 && d == 1 ? 0 : 1 + (int64_t)cgan_rng_below(&r, 7);
            count *= (size_t)t->shape[d];
        }
        t->nbytes = count * cgan_st_dtype_size(t->dt);
        t->bytes = malloc(t->nbytes + 1);
        for (size_t k = 0; k < t->nbytes; k++) t->bytes[k] = (unsigned char)cgan_rng_u32(&r);
        if (t->dt == CGAN_ST_F32 && count >= 6) {   /* the values that break sloppy I/O */
            float special[6] = { -0.0f, 1e-41f, -FLT_MAX, FLT_MIN, INFINITY, 3.4e38f };
            memcpy(t->bytes, special, sizeof special);
        }
        ck_assert_int_eq(cgan_st_add(w, t->name, t->dt, t->shape, t->ndim, t->bytes), CGAN_OK);
    }
    const char *odd = "quote \" backslash \\ newline \n tab \t Ünïcødé ✓ 😀 {\"json\": [1]}";
    ck_assert_int_eq(cgan_st_set_meta(w, "note", odd), CGAN_OK);
    ck_assert_int_eq(cgan_st_set_meta(w, "step", "1"), CGAN_OK);
    ck_assert_int_eq(cgan_st_set_meta(w, "step", "4200"), CGAN_OK);   /* replaces */
    const char *path = at("rt.safetensors");
    TU_OK(ctx, cgan_st_write(ctx, w, path));
    TU_OK(ctx, cgan_st_write(ctx, w, path));   /* the writer stays usable; overwrite */
    cgan_st_writer_destroy(w);
    ck_assert_int_eq(entries(dir), 1);

    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, path, &f));
    ck_assert_int_eq(cgan_st_count(f), N);
    int checked = -1;
    TU_OK(ctx, cgan_st_verify(ctx, f, &checked));
    ck_assert_int_eq(checked, N);
    for (int i = 0; i < N; i++) {
        const ref_tensor *t = &ref[i];
        const cgan_st_tensor *g = cgan_st_at(f, i), *h;
        ck_assert_str_eq(g->name, t->name);   /* header keeps insertion order */
        TU_OK(ctx, cgan_st_find(ctx, f, t->name, &h));
        ck_assert_ptr_eq(g, h);
        ck_assert_int_eq(g->dtype, t->dt);
        ck_assert_int_eq(g->ndim, t->ndim);
        for (int d = 0; d < t->ndim; d++) ck_assert_int_eq(g->shape[d], t->shape[d]);
        ck_assert_uint_eq(g->nbytes, t->nbytes);
        ck_assert_int_eq(g->numel, (int64_t)(t->nbytes / cgan_st_dtype_size(t->dt)));
        ck_assert(memcmp(g->data, t->bytes, t->nbytes) == 0);
        ck_assert_msg((uintptr_t)g->data % cgan_st_dtype_size(g->dtype) == 0, "%s unaligned",
                      g->name);
        ck_assert(g->has_crc && g->crc == cgan_st_crc32(t->bytes, t->nbytes));
    }
    ck_assert_int_eq(cgan_st_at(f, 0)->numel, 1);     /* the scalar */
    ck_assert_int_eq(cgan_st_at(f, 1)->numel, 0);     /* the empty tensor */
    ck_assert_ptr_null(cgan_st_at(f, N));
    ck_assert_str_eq(cgan_st_meta(f, "note"), odd);
    ck_assert_str_eq(cgan_st_meta(f, "step"), "4200");
    ck_assert_ptr_null(cgan_st_meta(f, "nope"));
    ck_assert_int_eq(cgan_st_meta_count(f), 2 + N);
    const char *k, *v;
    cgan_st_meta_at(f, 0, &k, &v);
    ck_assert(!strcmp(k, "note") && !strcmp(v, odd));
    float *back = malloc(ref[2].nbytes);
    TU_OK(ctx, cgan_st_read(ctx, f, ref[2].name, CGAN_ST_F32, back,
                            (int64_t)(ref[2].nbytes / 4)));
    ck_assert(memcmp(back, ref[2].bytes, ref[2].nbytes) == 0);
    ck_assert_int_eq(cgan_st_read(ctx, f, ref[2].name, CGAN_ST_F32, back, 1), CGAN_E_SHAPE);
    ck_assert_int_eq(cgan_st_read(ctx, f, ref[3].name, CGAN_ST_F32, back, 1), CGAN_E_FORMAT);
    free(back);
    const cgan_st_tensor *none = (const cgan_st_tensor *)&none;
    ck_assert_int_eq(cgan_st_find(ctx, f, "G.missing", &none), CGAN_E_NOT_FOUND);
    ck_assert_ptr_null(none);
    ck_assert(strstr(cgan_last_error(ctx), "G.missing") && strstr(cgan_last_error(ctx), path));
    ck_assert_int_eq(cgan_st_find(NULL, f, "G.missing", &none), CGAN_E_NOT_FOUND);
    cgan_st_close(f);
    for (int i = 0; i < N; i++) free(ref[i].bytes);
}
END_TEST

START_TEST(test_st_layout)
{
    /* one tensor, byte by byte */
    cgan_st_writer *w;
    ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
    float x[2] = { 1.0f, 2.0f };
    int64_t shape[1] = { 2 };
    ck_assert_int_eq(cgan_st_add_f32(w, "x", shape, 1, x), CGAN_OK);
    ck_assert_int_eq(cgan_st_set_meta(w, "k", "v"), CGAN_OK);
    const char *path = at("tiny.safetensors");
    TU_OK(ctx, cgan_st_write(ctx, w, path));
    cgan_st_writer_destroy(w);
    const char *json = "{\"__metadata__\":{\"k\":\"v\",\"crc32.x\":\"2e3fa576\"},"
                       "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t jl = strlen(json), n = (jl + 7) / 8 * 8, len;
    unsigned char *b = tu_read_bytes(path, &len);
    ck_assert_uint_eq(len, 8 + n + 8);
    ck_assert_uint_eq(n % 8, 0);
    for (int i = 0; i < 8; i++) ck_assert_uint_eq(b[i], (n >> (8 * i)) & 0xff);
    ck_assert(memcmp(b + 8, json, jl) == 0);
    for (size_t i = jl; i < n; i++) ck_assert_uint_eq(b[8 + i], ' ');
    ck_assert(memcmp(b + 8 + n, x, 8) == 0);
    ck_assert_uint_eq(cgan_st_crc32(x, 8), 0x2e3fa576u);
    free(b);

    /* data order: 8-byte, then 4-byte, then 1-byte elements, so all stay aligned */
    ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
    uint8_t u[3] = { 9, 8, 7 };
    int64_t l = -5, s3[1] = { 3 };
    ck_assert_int_eq(cgan_st_add_u8(w, "a", s3, 1, u), CGAN_OK);
    ck_assert_int_eq(cgan_st_add_f32(w, "b", shape, 1, x), CGAN_OK);
    ck_assert_int_eq(cgan_st_add_i64(w, "c", NULL, 0, &l), CGAN_OK);
    TU_OK(ctx, cgan_st_write(ctx, w, path));
    cgan_st_writer_destroy(w);
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, path, &f));
    ck_assert_uint_eq(cgan_st_header_len(f) % 8, 0);
    ck_assert_uint_eq(cgan_st_at(f, 2)->offset, 0);
    ck_assert_uint_eq(cgan_st_at(f, 1)->offset, 8);
    ck_assert_uint_eq(cgan_st_at(f, 0)->offset, 16);
    ck_assert_int_eq(*(const int64_t *)cgan_st_at(f, 2)->data, -5);
    ck_assert_str_eq(cgan_st_path(f), path);
    cgan_st_close(f);
}
END_TEST

START_TEST(test_st_bad_files)
{
    const char *good = at("good.safetensors"), *bad = at("bad.safetensors");
    write_small(good);
    size_t len;
    unsigned char *b = tu_read_bytes(good, &len);
    size_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];

    open_fails(at("missing.safetensors"), CGAN_E_NOT_FOUND, NULL);
    open_fails(dir, CGAN_E_IO, "a folder, not a safetensors file");
    spit(bad, "", 0);
    open_fails(bad, CGAN_E_FORMAT, "0 bytes");
    spit(bad, "\x10\x00\x00", 3);
    open_fails(bad, CGAN_E_FORMAT, "3 bytes");
    spit(bad, "\x89PNG\r\n\x1a\n this is not a checkpoint", 32);
    open_fails(bad, CGAN_E_FORMAT, "not a safetensors file");
    spit(bad, "\x00\x00\x00\x10\x00\x00\x00\x00", 8);
    open_fails(bad, CGAN_E_FORMAT, "100 MB");
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    for (int i = 0; i < 8; i++)   /* a header length one byte past the end of the file */
        c[i] = (unsigned char)((uint64_t)(len - 7) >> (8 * i));
    spit(bad, c, len);
    open_fails(bad, CGAN_E_FORMAT, "is larger than the file");

    /* truncation anywhere fails; the data-area case names the sizes */
    for (size_t cut = 0; cut < len; cut++) {
        spit(bad, b, cut);
        cgan_st_file *f = NULL;
        ck_assert_msg(cgan_st_open(ctx, bad, &f) != CGAN_OK, "cut at %zu accepted", cut);
    }
    spit(bad, b, len - 10);
    char want[128];
    snprintf(want, sizeof want, "truncated: header says %zu bytes of data, file has %zu",
             len - 8 - hlen, len - 8 - hlen - 10);
    open_fails(bad, CGAN_E_FORMAT, want);
    memcpy(c, b, len);
    c[len - 1] ^= 0x10;   /* in "labels", the last tensor */
    spit(bad, c, len);
    open_fails(bad, CGAN_E_FORMAT, "tensor labels: CRC32 mismatch (stored");
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open_ex(ctx, bad, CGAN_ST_OPEN_NO_CRC, &f));   /* listable */
    ck_assert_int_eq(cgan_st_verify(ctx, f, NULL), CGAN_E_FORMAT);
    ck_assert(strstr(cgan_last_error(ctx), "tensor labels: CRC32 mismatch"));
    cgan_st_close(f);
    memcpy(c, b, len);
    char *colon = memchr(c + 8, ':', hlen);
    *colon ^= 0x01;   /* ':' -> ';' */
    spit(bad, c, len);
    open_fails(bad, CGAN_E_FORMAT, "not valid JSON");
    /* a bit flip in every byte of the header (bit i % 8 of byte i): an error or a
     * still-valid file, never a crash */
    int rejected = 0;
    for (size_t i = 0; i < 8 + hlen; i++) {
        memcpy(c, b, len);
        c[i] ^= (unsigned char)(1u << (i % 8));
        spit(bad, c, len);
        f = NULL;
        cgan_status st = cgan_st_open(ctx, bad, &f);
        if (st == CGAN_OK) cgan_st_close(f);
        else {
            rejected++;
            ck_assert_msg(strstr(cgan_last_error(ctx), bad), "%s", cgan_last_error(ctx));
        }
    }
    ck_assert_int_gt(rejected, (int)((8 + hlen) * 3 / 4));
    free(c);
    free(b);

    /* hand-made headers */
    float d[4] = { 1, 2, 3, 4 };
#define X1 "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"   /* valid */
#define XS(shape, offsets) \
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[" shape "],\"data_offsets\":[" offsets "]}}"
    static const struct { const char *json; size_t dlen; const char *want; } cases[] = {
        { "[1, 2]", 0, "does not start with '{'" },
        { "{\"x\": ", 0, "not valid JSON" },
        { XS("-1", "0,4"), 4, "tensor x: shape[0] is not a non-negative integer" },
        { XS("1099511627776,1099511627776", "0,4"), 4, "tensor x: shape needs more than" },
        { XS("4611686018427387904", "0,4"), 4, "tensor x: shape needs more than" },
        { XS("2", "0,4"), 4, "tensor x: shape needs 8 bytes of F32, data_offsets [0, 4] hold 4" },
        { "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
          "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap" },
        { "{" X1 ",\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "hole" },
        { "{" X1 "}", 12, "8 bytes after the last tensor" },
        { XS("1", "4,0"), 4, "tensor x: data_offsets must be" },
        { XS("1", "0"), 4, "tensor x: data_offsets must be" },
        { XS("1,1,1,1,1,1,1,1,1", "0,4"), 4, "tensor x: 9 dimensions" },
        { "{\"x\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
          "tensor x: unsupported dtype \"F33\"" },
        { "{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor x: needs" },
        { "{\"x\":[1]}", 4, "tensor x: header entry is not an object" },
        { "{" X1 "," X1 "}", 4, "duplicate" },
        { "{\"__metadata__\":{\"a\":1}," X1 "}", 4, "not a string" },
        { "{\"__metadata__\":[]," X1 "}", 4, "not an object" },
        { "{\"__metadata__\":{\"crc32.y\":\"00000000\"}," X1 "}", 4, "no tensor y" },
        { "{\"__metadata__\":{\"crc32.x\":\"12g45678\"}," X1 "}", 4,
          "tensor x: stored CRC32 \"12g45678\" is not 8 hex digits" },
        { "{\"__metadata__\":{\"crc32.x\":\"00000000\"}," X1 "}", 4,
          "tensor x: CRC32 mismatch (stored 00000000, computed" },
    };
#undef X1
#undef XS
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_st(bad, cases[i].json, d, cases[i].dlen);
        open_fails(bad, CGAN_E_FORMAT, cases[i].want);
    }
    /* files made by others: no metadata, no CRC, an empty header object */
    raw_st(bad, "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}  ", d, 4);
    TU_OK(ctx, cgan_st_open(ctx, bad, &f));
    ck_assert_int_eq(cgan_st_at(f, 0)->dtype, CGAN_ST_BF16);
    ck_assert_int_eq(cgan_st_at(f, 0)->has_crc, 0);
    ck_assert_int_eq(cgan_st_meta_count(f), 0);
    cgan_st_close(f);
    raw_st(bad, "{}", NULL, 0);
    TU_OK(ctx, cgan_st_open(ctx, bad, &f));
    ck_assert_int_eq(cgan_st_count(f), 0);
    cgan_st_close(f);
}
END_TEST

START_TEST(test_st_writer_errors)
{
    float x[2] = { 1, 2 };
    int64_t ok[1] = { 2 }, neg[1] = { -2 }, huge[3] = { INT64_MAX, INT64_MAX, 2 };
    struct { const char *name; const int64_t *shape; int ndim; const char *want; } cases[] = {
        { "", ok, 1, "needs a name" },
        { "__metadata__", ok, 1, "reserved" },
        { "bad\xff" "utf8", ok, 1, "not UTF-8" },
        { "neg", neg, 1, "negative dimension -2" },
        { "huge", huge, 3, "too large" },
        { "deep", ok, 9, "9 dimensions" },
        { "dup", ok, 1, "added twice" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cgan_st_writer *w;
        ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
        ck_assert_int_eq(cgan_st_add_f32(w, "dup", ok, 1, x), CGAN_OK);
        ck_assert_int_eq(cgan_st_add_f32(w, cases[i].name, cases[i].shape, cases[i].ndim, x),
                         CGAN_E_INVALID);
        ck_assert_msg(strstr(cgan_st_writer_error(w), cases[i].want), "%s",
                      cgan_st_writer_error(w));
        ck_assert_int_eq(cgan_st_add_f32(w, "fine", ok, 1, x), CGAN_E_INVALID);   /* sticky */
        const char *path = at("never.safetensors");
        ck_assert_int_eq(cgan_st_write(ctx, w, path), CGAN_E_INVALID);
        const char *msg = cgan_last_error(ctx);
        ck_assert(strstr(msg, path) && strstr(msg, cases[i].want));
        ck_assert_int_eq(access(path, F_OK), -1);
        cgan_st_writer_destroy(w);
    }
    cgan_st_writer *w;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
        ck_assert_int_eq(cgan_st_set_meta(w, i ? "k" : "crc32.x", i ? "bad\xc3" : "0"),
                         CGAN_E_INVALID);
        ck_assert(strstr(cgan_st_writer_error(w), i ? "not UTF-8" : "reserved"));
        cgan_st_writer_destroy(w);
    }
    cgan_st_writer_destroy(NULL);
    cgan_st_close(NULL);
    /* an empty writer makes a valid file; so does a 3000-byte tensor name */
    for (int round = 0; round < 2; round++) {
        char name[3001];
        memset(name, 'n', 3000);
        name[3000] = 0;
        ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
        if (round) ck_assert_int_eq(cgan_st_add_f32(w, name, ok, 1, x), CGAN_OK);
        TU_OK(ctx, cgan_st_write(ctx, w, at("empty.safetensors")));
        cgan_st_writer_destroy(w);
        cgan_st_file *f;
        const cgan_st_tensor *t;
        TU_OK(ctx, cgan_st_open(ctx, at("empty.safetensors"), &f));
        ck_assert_int_eq(cgan_st_count(f), round);
        if (round) TU_OK(ctx, cgan_st_find(ctx, f, name, &t));
        if (round) ck_assert(t->has_crc && memcmp(t->data, x, 8) == 0);
        cgan_st_close(f);
    }
}
END_TEST

/* A checkpoint big enough to hit the file-size limit below. */
static cgan_st_writer *big_writer(void)
{
    cgan_st_writer *w;
    ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
    static float big[16384];
    for (int i = 0; i < 16384; i++) big[i] = (float)i;
    int64_t shape[2] = { 128, 128 };
    ck_assert_int_eq(cgan_st_add_f32(w, "big", shape, 2, big), CGAN_OK);
    return w;
}

START_TEST(test_st_atomic)
{
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/run", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/ckpt.safetensors", sub);
    write_small(path);
    size_t len0, len1;
    unsigned char *before = tu_read_bytes(path, &len0);
    cgan_st_writer *w = big_writer();

    /* the disk fills up mid-write (a file-size limit): old file intact, no temp file */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    cgan_status st = cgan_st_write(ctx, w, path);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    ck_assert_int_eq(st, CGAN_E_IO);
    ck_assert(strstr(cgan_last_error(ctx), path));
    unsigned char *after = tu_read_bytes(path, &len1);
    ck_assert(len0 == len1 && memcmp(before, after, len0) == 0);
    free(after);
    ck_assert_int_eq(entries(sub), 1);

    /* a folder we may not write to (meaningless for root, who may) */
    if (geteuid() != 0) {
        chmod(sub, 0555);
        st = cgan_st_write(ctx, w, path);
        chmod(sub, 0755);
        ck_assert_int_eq(st, CGAN_E_IO);
        ck_assert(strstr(cgan_last_error(ctx), path));
        after = tu_read_bytes(path, &len1);
        ck_assert(len0 == len1 && memcmp(before, after, len0) == 0);
        free(after);
    }
    /* a folder that does not exist; a target that is a folder */
    char nodir[1200];
    snprintf(nodir, sizeof nodir, "%s/no/such/ckpt.safetensors", dir);
    ck_assert_int_eq(cgan_st_write(ctx, w, nodir), CGAN_E_IO);
    ck_assert(strstr(cgan_last_error(ctx), nodir));
    char isdir[1200];
    snprintf(isdir, sizeof isdir, "%s/adir", sub);
    ck_assert_int_eq(mkdir(isdir, 0755), 0);
    ck_assert_int_eq(cgan_st_write(ctx, w, isdir), CGAN_E_IO);
    ck_assert(strstr(cgan_last_error(ctx), isdir) && strstr(cgan_last_error(ctx), "rename"));
    ck_assert_int_eq(entries(sub), 2);   /* ckpt + adir, no temporary file */
    snprintf(isdir, sizeof isdir, "%s/", sub);
    ck_assert_int_eq(cgan_st_write(ctx, w, isdir), CGAN_E_INVALID);

    /* and a good write replaces the file whole */
    TU_OK(ctx, cgan_st_write(ctx, w, path));
    ck_assert_int_eq(entries(sub), 2);
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, path, &f));
    ck_assert_int_eq(cgan_st_count(f), 1);
    cgan_st_close(f);
    cgan_st_writer_destroy(w);
    free(before);
}
END_TEST

/* Python's safetensors opens our files (registered only when python3, safetensors and
 * numpy are importable: never a hard dependency; the program then ends as SKIP). */
START_TEST(test_st_python)
{
    cgan_rng r;
    cgan_rng_init(&r, 99, 0);
    cgan_st_writer *w;
    ck_assert_int_eq(cgan_st_writer_new(&w), CGAN_OK);
    json_t *exp = json_object(), *tens = json_object(), *meta = json_object();
    json_object_set_new(exp, "tensors", tens);
    json_object_set_new(exp, "metadata", meta);
    static const cgan_st_dtype dts[3] = { CGAN_ST_F32, CGAN_ST_U8, CGAN_ST_I64 };
    for (int i = 0; i < 12; i++) {
        char name[32], *hex;
        snprintf(name, sizeof name, "G.block%d.weight", i);
        int64_t shape[3] = { 1 + i % 3, 2 + i % 5, 3 };
        int ndim = i % 4;
        size_t n = 1;
        for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
        size_t bytes = n * cgan_st_dtype_size(dts[i % 3]);
        unsigned char *buf = malloc(bytes);
        float *fl = (float *)buf;
        for (size_t k = 0; k < bytes; k++) buf[k] = (unsigned char)cgan_rng_u32(&r);
        if (dts[i % 3] == CGAN_ST_F32)   /* finite floats: numpy compares bytes anyway */
            for (size_t k = 0; k < n; k++) fl[k] = cgan_rng_normal(&r) * 1e3f;
        ck_assert_int_eq(cgan_st_add(w, name, dts[i % 3], shape, ndim, buf), CGAN_OK);
        hex = calloc(2 * bytes + 1, 1);
        for (size_t k = 0; k < bytes; k++) sprintf(hex + 2 * k, "%02x", buf[k]);
        json_t *sh = json_array();
        for (int d = 0; d < ndim; d++) json_array_append_new(sh, json_integer(shape[d]));
        json_object_set_new(tens, name, json_pack("{s:s,s:o,s:s}", "dtype",
                            cgan_st_dtype_name(dts[i % 3]), "shape", sh, "hex", hex));
        free(hex);
        free(buf);
    }
    const char *mk[3] = { "arch", "classes", "note" };
    const char *mv[3] = { "dcgan64", "[\"T-shirt\", \"Trouser\"]", "Ünïcødé \"quoted\" 😀" };
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(cgan_st_set_meta(w, mk[i], mv[i]), CGAN_OK);
        json_object_set_new(meta, mk[i], json_string(mv[i]));
    }
    TU_OK(ctx, cgan_st_write(ctx, w, at("py.safetensors")));
    cgan_st_writer_destroy(w);
    ck_assert_int_eq(json_dump_file(exp, at("expect.json"), 0), 0);
    json_decref(exp);
    const char *src = getenv("srcdir");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 '%s/st_python_check.py' '%s' '%s'",
             src && *src ? src : ".", at("py.safetensors"), at("expect.json"));
    int rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc) && (WEXITSTATUS(rc) == 0 || WEXITSTATUS(rc) == 77),
                  "%s failed (%d)", cmd, rc);
}
END_TEST

/* ---- images --------------------------------------------------------------------- */
static uint8_t *read_png(const char *path, int channels, int *w, int *h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    ck_assert_msg(png_image_begin_read_from_file(&img, path), "%s: %s", path, img.message);
    ck_assert_int_eq(PNG_IMAGE_PIXEL_CHANNELS(img.format), channels);
    img.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB
                                                                 : PNG_FORMAT_RGBA;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    *w = (int)img.width;
    *h = (int)img.height;
    ck_assert(png_image_finish_read(&img, NULL, px, 0, NULL));   /* frees img */
    return px;
}

static uint8_t *read_jpeg(const char *path, int channels, int *w, int *h)
{
    size_t len;
    unsigned char *b = tu_read_bytes(path, &len);
    tjhandle tj = tjInitDecompress();
    int sub, cs;
    ck_assert_int_eq(tjDecompressHeader3(tj, b, len, w, h, &sub, &cs), 0);
    uint8_t *px = malloc((size_t)*w * *h * channels);
    ck_assert_int_eq(tjDecompress2(tj, b, len, px, *w, 0, *h,
                                   channels == 1 ? TJPF_GRAY : TJPF_RGB, 0), 0);
    tjDestroy(tj);
    free(b);
    return px;
}

static uint8_t *test_image(int w, int h, int c, int seed)   /* smooth, with some noise */
{
    cgan_rng r;
    cgan_rng_init(&r, (uint64_t)seed, 1);
    uint8_t *px = malloc((size_t)w * h * c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++)
                px[(y * w + x) * c + ch] = (uint8_t)((x * 255 / w + y * 97 / h + ch * 60) % 200 +
                                                     cgan_rng_below(&r, 8));
    return px;
}

START_TEST(test_png_jpeg)
{
    const int w = 37, h = 23;
    for (int c = 1; c <= 4; c++) {
        if (c == 2) continue;
        uint8_t *px = test_image(w, h, c, c);
        const char *png = at(c == 3 ? "img.PNG" : "img.png");
        TU_OK(ctx, cgan_image_write(ctx, png, px, w, h, c));
        int rw, rh;
        uint8_t *back = read_png(png, c, &rw, &rh);
        ck_assert(rw == w && rh == h);
        ck_assert(memcmp(back, px, (size_t)w * h * c) == 0);
        free(back);
        if (c != 4) {
            const char *jpg = at(c == 1 ? "img.jpg" : "img.JPEG");
            TU_OK(ctx, cgan_image_write(ctx, jpg, px, w, h, c));
            back = read_jpeg(jpg, c, &rw, &rh);
            ck_assert(rw == w && rh == h);
            double sum = 0;
            int worst = 0;
            for (int i = 0; i < w * h * c; i++) {
                int d = abs((int)back[i] - (int)px[i]);
                sum += d;
                worst = d > worst ? d : worst;
            }
            ck_assert_msg(sum / (w * h * c) < 4.0 && worst <= 32, "JPEG error mean %.2f max %d",
                          sum / (w * h * c), worst);
            free(back);
        }
        free(px);
    }
    ck_assert_int_eq(entries(dir), 4);   /* img.png img.PNG img.jpg img.JPEG, no temp files */
}
END_TEST

START_TEST(test_image_errors)
{
    uint8_t px[12] = { 0 };
    const char *names[] = { "x.bmp", "x", "x.png.txt", "dir.png/x", "x.jpgx" };
    for (int i = 0; i < 5; i++) {
        const char *p = at(names[i]);
        ck_assert_int_eq(cgan_image_write(ctx, p, px, 2, 2, 3), CGAN_E_INVALID);
        ck_assert(strstr(cgan_last_error(ctx), p) && strstr(cgan_last_error(ctx), ".png"));
    }
    char p[1024];
    snprintf(p, sizeof p, "%s", at("x.png"));
    ck_assert_int_eq(cgan_image_write(ctx, p, px, 0, 2, 3), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_image_write(ctx, p, px, 2, 2, 2), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_image_write(ctx, p, NULL, 2, 2, 3), CGAN_E_INVALID);
    ck_assert_int_eq(entries(dir), 0);
    /* an existing image survives a failed write; a folder target leaves no temp file */
    TU_OK(ctx, cgan_image_write(ctx, p, px, 2, 2, 3));
    ck_assert_int_eq(mkdir(at("d.png"), 0755), 0);
    ck_assert_int_eq(cgan_image_write(ctx, at("d.png"), px, 2, 2, 3), CGAN_E_IO);
    ck_assert(strstr(cgan_last_error(ctx), at("d.png")));
    ck_assert_int_eq(cgan_image_write(ctx, at("d.jpg/"), px, 2, 2, 3), CGAN_E_INVALID);
    ck_assert_int_eq(entries(dir), 2);
    int w, h;
    uint8_t *back = read_png(p, 3, &w, &h);
    ck_assert(w == 2 && h == 2 && memcmp(back, px, 12) == 0);
    free(back);
}
END_TEST

START_TEST(test_grid)
{
    /* 5 images of 3x4x4 in 3 columns with 2 pixels of padding: 20 x 14 */
    enum { N = 5, C = 3, S = 4, COLS = 3, PAD = 2 };
    float img[N * C * S * S];
    for (int k = 0; k < N; k++)
        for (int ch = 0; ch < C; ch++)
            for (int i = 0; i < S * S; i++)   /* u8 value 1 + 50k + 16ch + i, as a float */
                img[((k * C) + ch) * S * S + i] = (float)(1 + 50 * k + 16 * ch + i) / 127.5f - 1;
    uint8_t *g;
    int w, h;
    TU_OK(ctx, cgan_grid_compose(ctx, img, N, C, S, COLS, PAD, &g, &w, &h));
    ck_assert(w == 20 && h == 14);
    int tiles = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int row = (y - PAD) / (S + PAD), col = (x - PAD) / (S + PAD);
            int iy = (y - PAD) % (S + PAD), ix = (x - PAD) % (S + PAD), k = row * COLS + col;
            int inside = y >= PAD && x >= PAD && iy < S && ix < S && k < N;
            tiles += inside;
            for (int ch = 0; ch < C; ch++) {
                int want = inside ? 1 + 50 * k + 16 * ch + iy * S + ix : 0;
                ck_assert_msg(g[(y * w + x) * C + ch] == want, "(%d,%d,%d): %d want %d", x, y,
                              ch, g[(y * w + x) * C + ch], want);
            }
        }
    ck_assert_int_eq(tiles, N * S * S);
    free(g);
    /* mapping: ends, middle, clamping, NaN; more columns than images; gray */
    float v[8] = { -1, 1, 0, -0.5f, 2, -3, NAN, 1.0f / 255 };
    TU_OK(ctx, cgan_grid_compose(ctx, v, 2, 1, 2, 10, 0, &g, &w, &h));
    ck_assert(w == 4 && h == 2);
    const uint8_t want[8] = { 0, 255, 255, 0, 128, 64, 0, 128 };   /* 2 images side by side */
    ck_assert(memcmp(g, want, 8) == 0);
    free(g);
    ck_assert_int_eq(cgan_grid_compose(ctx, v, 0, 1, 2, 1, 0, &g, &w, &h), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_grid_compose(ctx, v, 1, 2, 2, 1, 0, &g, &w, &h), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_grid_compose(NULL, v, 1, 1, 2, 1, -1, &g, &w, &h), CGAN_E_INVALID);
    ck_assert_ptr_null(g);
    TU_OK(ctx, cgan_grid_write(ctx, at("grid.png"), img, N, C, S, COLS, PAD));
    uint8_t *back = read_png(at("grid.png"), 3, &w, &h);
    ck_assert(w == 20 && h == 14 && back[(PAD * w + PAD) * 3] == 1);
    free(back);
}
END_TEST

START_TEST(test_plot)
{
    enum { NP = 300 };
    double steps[NP], a[NP], b[NP], c[NP];
    for (int i = 0; i < NP; i++) {
        steps[i] = i * 10;
        a[i] = 2.0 * exp(-i / 80.0) + 0.3;
        b[i] = 0.7 + 0.2 * sin(i / 9.0);
        c[i] = i % 50 == 7 ? NAN : 1.2 - i / 400.0;
    }
    const double *series[3] = { a, b, c };
    const char *labels[3] = { "loss_G", "loss_D", "D(x) 0.5" };
    const char *p = at("loss.png");
    TU_OK(ctx, cgan_plot_losses(ctx, p, steps, series, 3, NP, labels));
    int w, h;
    uint8_t *px = read_png(p, 3, &w, &h);
    ck_assert(w == CGAN_PLOT_W && h == CGAN_PLOT_H);
    ck_assert(px[0] == 255 && px[1] == 255 && px[2] == 255);
    static const uint8_t cols[3][3] = { { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 } };
    int count[3] = { 0 }, black = 0;
    for (int i = 0; i < w * h; i++) {
        for (int s = 0; s < 3; s++) count[s] += !memcmp(px + 3 * i, cols[s], 3);
        black += px[3 * i] == 0 && px[3 * i + 1] == 0 && px[3 * i + 2] == 0;
    }
    for (int s = 0; s < 3; s++) ck_assert_msg(count[s] > 400, "series %d: %d px", s, count[s]);
    ck_assert_int_gt(black, 1500);   /* frame, ticks and text */
    free(px);
    /* degenerate data: one point, constant values, all NaN, no labels */
    double one[1] = { 5 }, nan1[1] = { NAN }, ext[3] = { 1e308, -DBL_MAX, 1e-30 };
    double wide[3] = { -1e30, INFINITY, 1e30 };
    const double *s1[2] = { one, nan1 }, *s2[2] = { ext, wide };
    TU_OK(ctx, cgan_plot_losses(ctx, p, one, s1, 2, 1, NULL));
    TU_OK(ctx, cgan_plot_losses(ctx, p, wide, s2, 2, 3, NULL));
    TU_OK(ctx, cgan_plot_losses(ctx, p, ext, s2, 2, 3, NULL));
    TU_OK(ctx, cgan_plot_losses(ctx, p, NULL, s1, 1, 0, NULL));
    const double *s5[5] = { a, a, a, a, a };
    ck_assert_int_eq(cgan_plot_losses(ctx, p, steps, s5, 5, NP, NULL), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_plot_losses(ctx, p, steps, s5, 0, NP, NULL), CGAN_E_INVALID);
    ck_assert_int_eq(cgan_plot_losses(ctx, at("loss.bmp"), steps, s5, 1, NP, NULL),
                     CGAN_E_INVALID);
}
END_TEST

static Suite *io_suite(void)
{
    Suite *s = suite_create("io");
    TCase *st = tcase_create("safetensors");
    tcase_add_checked_fixture(st, setup, teardown);
    tcase_add_test(st, test_st_roundtrip);
    tcase_add_test(st, test_st_layout);
    tcase_add_test(st, test_st_bad_files);
    tcase_add_test(st, test_st_writer_errors);
    tcase_add_test(st, test_st_atomic);
    /* not a dependency: CI does not install it, so it never fails for lack of it */
    if (tu_require(system("python3 -c 'import numpy, safetensors.numpy' >/dev/null 2>&1") == 0, 0,
                   "python3 with safetensors and numpy"))
        tcase_add_test(st, test_st_python);
    suite_add_tcase(s, st);
    TCase *im = tcase_create("image");
    tcase_add_checked_fixture(im, setup, teardown);
    tcase_add_test(im, test_png_jpeg);
    tcase_add_test(im, test_image_errors);
    tcase_add_test(im, test_grid);
    tcase_add_test(im, test_plot);
    suite_add_tcase(s, im);
    return s;
}

int main(void)
{
    return tu_run(io_suite());
}
