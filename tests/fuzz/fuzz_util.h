/* Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c; built by tools/fuzz-build).
 * Each harness owns one temporary folder, made on its first input and reused. */
#ifndef CGAN_FUZZ_UTIL_H
#define CGAN_FUZZ_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgan/cgan.h"

static char fuzz_dir[256];

static void fuzz_rmdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (system(cmd) != 0) { /* left behind: harmless */ }
}

/* The harness's temporary folder (made once; aborts if it cannot be). */
static const char *fuzz_tmpdir(void)
{
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/cgan-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_dir)) { perror("mkdtemp"); abort(); }
        atexit(fuzz_rmdir);
    }
    return fuzz_dir;
}

/* dir/name as a static path (one at a time per slot 0..3). */
static const char *fuzz_path(int slot, const char *name)
{
    static char p[4][512];
    snprintf(p[slot], sizeof p[slot], "%s/%s", fuzz_tmpdir(), name);
    return p[slot];
}

static void fuzz_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) { perror(path); abort(); }
}

/* A NUL-terminated copy of the input (malloc'ed). */
static char *fuzz_str(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, data, n);
    s[n] = 0;
    return s;
}

/* The one error context of a harness: no device is opened. */
static cgan_ctx *fuzz_ctx(void)
{
    static cgan_ctx *ctx;
    if (!ctx && !(ctx = cgan_ctx_new())) abort();
    return ctx;
}

/* An IDX file: magic 0x0000 08 ndim, dims big-endian, then bytes. */
static void fuzz_write_idx(const char *path, int ndim, const int *dims, const uint8_t *body, size_t n)
{
    uint8_t hdr[4 + 4 * 3];
    hdr[0] = hdr[1] = 0; hdr[2] = 8; hdr[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        hdr[4 + 4 * i] = (uint8_t)(dims[i] >> 24); hdr[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        hdr[6 + 4 * i] = (uint8_t)(dims[i] >> 8);  hdr[7 + 4 * i] = (uint8_t)dims[i];
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(hdr, 1, 4 + 4 * (size_t)ndim, f) != 4 + 4 * (size_t)ndim ||
        (n && fwrite(body, 1, n, f) != n) || fclose(f) != 0) { perror(path); abort(); }
}

/* A 1x1 gray PNG. */
static const uint8_t fuzz_tiny_png[] = {
    0x89,0x50,0x4e,0x47,0x0d,0x0a,0x1a,0x0a,0x00,0x00,0x00,0x0d,0x49,0x48,0x44,0x52,0x00,0x00,
    0x00,0x01,0x00,0x00,0x00,0x01,0x08,0x00,0x00,0x00,0x00,0x3a,0x7e,0x9b,0x55,0x00,0x00,0x00,
    0x0a,0x49,0x44,0x41,0x54,0x78,0x9c,0x63,0x68,0x00,0x00,0x00,0x82,0x00,0x81,0x77,0xcd,0x72,
    0xb6,0x00,0x00,0x00,0x00,0x49,0x45,0x4e,0x44,0xae,0x42,0x60,0x82};
#endif
