/* Disk cache of program binaries.
 *
 * One file per key: <dir>/<hash64(key)>.clbin holding
 *   "CGANKBIN" | u32 version | u32 key length | key | u64 binary length | u32 crc32 | binary
 * all little-endian. An entry is trusted only when the magic, version, full key, length
 * and CRC all match; anything else is deleted and counted as rejected. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "runtime.h"
#include "atomic.h"

#define MAGIC "CGANKBIN"
#define FORMAT 2u  /* 2: keys hold the whole source (entries of 1 are rebuilt) */

uint64_t cgan_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

void cgan_cache_init(cgan_ctx *ctx)
{
    const char *off = getenv("CGAN_CACHE_DISABLE");
    ctx->cache_disabled = off && *off && strcmp(off, "0") != 0;
    const char *d = getenv("CGAN_CACHE_DIR");
    if (d && *d) {
        snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s", d);
        return;
    }
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && *x) {
        snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s/cgan-cl", x);
        return;
    }
    const char *h = getenv("HOME");
    if (h && *h) snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s/.cache/cgan-cl", h);
    else ctx->cache_disabled = 1;
}

void cgan_cache_path(const cgan_ctx *ctx, const char *key, char *out, size_t n)
{
    snprintf(out, n, "%s/%016llx.clbin", ctx->cache_dir,
             (unsigned long long)cgan_hash64(key, strlen(key), 0));
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static cgan_status reject(cgan_ctx *ctx, const char *path)
{
    unlink(path);
    ctx->cache.rejected++;
    return CGAN_E_NOT_FOUND;
}

cgan_status cgan_cache_load(cgan_ctx *ctx, const char *key, unsigned char **bin, size_t *len)
{
    *bin = NULL;
    *len = 0;
    if (ctx->cache_disabled) return CGAN_E_NOT_FOUND;
    char path[1200];
    cgan_cache_path(ctx, key, path, sizeof path);
    struct stat lsb;
    if (lstat(path, &lsb) != 0) return CGAN_E_NOT_FOUND;
    cgan_status ost = CGAN_OK;
    char saved[CGAN_ERRMSG_MAX];
    memcpy(saved, ctx->err, sizeof saved); /* a bad entry is rebuilt, not an error */
    FILE *f = cgan_fopen_regular(ctx, path, "kernel cache entry", &ost);
    memcpy(ctx->err, saved, sizeof saved);
    if (!f) {
        if (!S_ISREG(lsb.st_mode) && !S_ISDIR(lsb.st_mode)) return reject(ctx, path); /* a FIFO: never waited on */
        return CGAN_E_NOT_FOUND;
    }
    unsigned char *data = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 28 || sb.st_size > (1l << 31)) goto bad;
    size_t size = (size_t)sb.st_size;
    data = malloc(size);
    if (!data || fread(data, 1, size, f) != size) goto bad;
    fclose(f);
    f = NULL;
    if (memcmp(data, MAGIC, 8) != 0 || get_u32(data + 8) != FORMAT) goto bad;
    size_t klen = get_u32(data + 12);
    if (klen != strlen(key) || 16 + klen + 12 > size) goto bad;
    if (memcmp(data + 16, key, klen) != 0) goto bad;
    uint64_t blen = get_u64(data + 16 + klen);
    uint32_t crc = get_u32(data + 24 + klen);
    size_t hdr = 28 + klen;
    if (blen == 0 || blen != size - hdr) goto bad;
    if ((uint32_t)crc32(0L, data + hdr, (uInt)blen) != crc) goto bad;
    unsigned char *out = malloc((size_t)blen);
    if (!out) { free(data); return cgan_error(ctx, CGAN_E_NOMEM, "out of memory reading %s", path); }
    memcpy(out, data + hdr, (size_t)blen);
    free(data);
    *bin = out;
    *len = (size_t)blen;
    return CGAN_OK;
bad:
    if (f) fclose(f);
    free(data);
    return reject(ctx, path);
}

cgan_status cgan_cache_mkdir(cgan_ctx *ctx)
{
    if (mkdir_p(ctx->cache_dir) != 0)
        return cgan_error(ctx, CGAN_E_IO, "cache folder %s: cannot create: %s", ctx->cache_dir,
                          strerror(errno));
    return CGAN_OK;
}

cgan_status cgan_cache_store(cgan_ctx *ctx, const char *key, const unsigned char *bin, size_t len)
{
    if (ctx->cache_disabled || !bin || !len) return CGAN_OK;
    CGAN_TRY(cgan_cache_mkdir(ctx));
    char path[1200];
    cgan_cache_path(ctx, key, path, sizeof path);
    /* the entry goes through the atomic writer every file users keep goes through */
    size_t klen = strlen(key);
    unsigned char hdr[16], tail[12];
    memcpy(hdr, MAGIC, 8);
    put_u32(hdr + 8, FORMAT);
    put_u32(hdr + 12, (uint32_t)klen);
    put_u64(tail, len);
    put_u32(tail + 8, (uint32_t)crc32(0L, bin, (uInt)len));
    cgan_atomic_file af;
    CGAN_TRY(cgan_atomic_open(ctx, path, &af));
    if (fwrite(hdr, 1, 16, af.fp) != 16 || fwrite(key, 1, klen, af.fp) != klen || fwrite(tail, 1, 12, af.fp) != 12 ||
        fwrite(bin, 1, len, af.fp) != len) {
        int err = errno;
        cgan_atomic_abort(&af);
        return cgan_error(ctx, CGAN_E_IO, "kernel cache %s: write failed: %s", path, strerror(err));
    }
    CGAN_TRY(cgan_atomic_commit(ctx, &af));
    ctx->cache.stores++;
    return CGAN_OK;
}
