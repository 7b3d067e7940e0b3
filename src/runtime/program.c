/* Program builds: in-memory table, disk cache of binaries, build logs on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "runtime.h"
#include "program.h"
#include "cgan/check.h"

#define BASE_OPTIONS "-cl-std=CL1.2"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void program_free(cgan_program *p)
{
    if (!p) return;
    for (cgan_kernel *k = p->kernels, *nx; k; k = nx) {
        nx = k->next;
        if (k->k) clReleaseKernel(k->k);
        free(k);
    }
    if (p->prog) clReleaseProgram(p->prog);
    free(p->name);
    free(p->options);
    free(p);
}

void cgan_programs_release(cgan_ctx *ctx)
{
    for (cgan_program *p = ctx->programs, *nx; p; p = nx) {
        nx = p->next;
        program_free(p);
    }
    ctx->programs = NULL;
}

static char *build_log(cgan_ctx *ctx, cl_program prog)
{
    size_t n = 0;
    if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS)
        return dupstr("(no build log)");
    char *log = malloc(n + 1);
    if (!log) return NULL;
    if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS)
        n = 0;
    log[n] = '\0';
    return log;
}

/* The binary of a built program, for the cache. NULL when the driver gives none. */
static unsigned char *program_binary(cgan_ctx *ctx, cl_program prog, size_t *len)
{
    size_t sz = 0;
    *len = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof sz, &sz, NULL) != CL_SUCCESS || !sz)
        return NULL;
    unsigned char *bin = malloc(sz);
    if (!bin) return NULL;
    unsigned char *ptrs[1] = { bin };
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof ptrs, ptrs, NULL) != CL_SUCCESS) {
        free(bin);
        return NULL;
    }
    (void)ctx;
    *len = sz;
    return bin;
}

/* 1 when every kernel the built program lists is a kernel of this source: a binary that
 * builds but holds another program (a damaged entry, another build's) fails this and is
 * rebuilt from the source. (The other direction cannot be asked: a driver such as PoCL
 * lists only the kernels a binary was compiled for so far.) */
static int kernels_match(cl_program p, const char *text)
{
    size_t n = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_KERNEL_NAMES, 0, NULL, &n) != CL_SUCCESS) return 0;
    if (n <= 1) return 1; /* none listed yet */
    char *names = malloc(n + 1);
    if (!names) return 0;
    int ok = clGetProgramInfo(p, CL_PROGRAM_KERNEL_NAMES, n, names, NULL) == CL_SUCCESS;
    names[n] = '\0';
    for (char *k = names, *next; ok && k && *k; k = next) {
        next = strchr(k, ';');
        if (next) *next++ = '\0';
        /* "kernel void NAME(" in the source, with NAME a whole word */
        size_t len = strlen(k);
        int found = 0;
        for (const char *q = text; len && !found && (q = strstr(q, k)) != NULL; q += len) {
            char before = q == text ? ' ' : q[-1], after = q[len];
            int word = !(before == '_' || (before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z') ||
                         (before >= '0' && before <= '9'));
            const char *r = q + len;
            while (*r == ' ' || *r == '\t' || *r == '\n') r++;
            found = word && (after == '(' || after == ' ' || after == '\t' || after == '\n') && *r == '(';
        }
        ok = found;
    }
    free(names);
    return ok;
}

static cl_program try_binary(cgan_ctx *ctx, const unsigned char *bin, size_t len, const char *opts,
                             const char *text)
{
    cl_int e = CL_SUCCESS, bst = CL_SUCCESS;
    cl_program p = clCreateProgramWithBinary(ctx->context, 1, &ctx->device, &len, &bin, &bst, &e);
    if (e != CL_SUCCESS || bst != CL_SUCCESS || !p) {
        if (p) clReleaseProgram(p);
        return NULL;
    }
    if (clBuildProgram(p, 1, &ctx->device, opts, NULL, NULL) != CL_SUCCESS || !kernels_match(p, text)) {
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

/* The cache key of a program: cgan-cl's version, the platform, device, driver, the full
 * build options and the whole source. The cache compares the stored key in full, so an
 * entry is used only for exactly this program. malloc'ed; NULL when out of memory. */
char *cgan_program_cache_key(cgan_ctx *ctx, const char *name, const char *text, const char *options)
{
    if (!options) options = "";
    size_t tl = strlen(text), ol = strlen(BASE_OPTIONS) + strlen(options) + 2;
    size_t kl = ol + tl + strlen(name) + 1024;
    char *key = malloc(kl), *opts = malloc(ol);
    if (!key || !opts) {
        free(key);
        free(opts);
        return NULL;
    }
    snprintf(opts, ol, "%s%s%s", BASE_OPTIONS, *options ? " " : "", options);
    char plat[128] = "";
    clGetPlatformInfo(ctx->platform, CL_PLATFORM_VERSION, sizeof plat, plat, NULL);
    plat[sizeof plat - 1] = '\0';
    snprintf(key, kl,
             "cgan-cl " CGAN_VERSION_STRING "\nplatform=%s|%s\ndevice=%s\ndriver=%s\nversion=%s\n"
             "options=%s\nsource=%s:%zu\n%s",
             ctx->info.platform, plat, ctx->info.name, ctx->info.driver, ctx->info.version, opts, name, tl, text);
    free(opts);
    return key;
}

static cgan_status build(cgan_ctx *ctx, const char *name, const char *text, const char *options,
                         cgan_program **out, cgan_build_info *info)
{
    cgan_status st = CGAN_OK;
    char *opts = NULL, *key = NULL;
    unsigned char *bin = NULL;
    cgan_program *p = NULL;
    double t0 = now_ms();
    size_t tl = strlen(text);

    size_t ol = strlen(BASE_OPTIONS) + strlen(options) + 2;
    opts = malloc(ol);
    if (!opts) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto fail; }
    snprintf(opts, ol, "%s%s%s", BASE_OPTIONS, *options ? " " : "", options);

    key = cgan_program_cache_key(ctx, name, text, options);
    if (!key) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto fail; }

    p = calloc(1, sizeof *p);
    if (!p) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto fail; }
    p->name = dupstr(name);
    p->options = dupstr(options);
    if (!p->name || !p->options) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto fail; }

    size_t blen = 0;
    if (cgan_cache_load(ctx, key, &bin, &blen) == CGAN_OK) {
        p->prog = try_binary(ctx, bin, blen, opts, text);
        free(bin);
        bin = NULL;
        if (p->prog) {
            ctx->cache.hits++;
            p->info.from_cache = 1;
        } else {
            /* A binary the driver refuses is as bad as a corrupt file. */
            char path[1200];
            cgan_cache_path(ctx, key, path, sizeof path);
            remove(path);
            ctx->cache.rejected++;
        }
    }
    if (!p->prog) {
        if (!ctx->cache_disabled) ctx->cache.misses++;
        cl_int e = CL_SUCCESS;
        p->prog = clCreateProgramWithSource(ctx->context, 1, &text, &tl, &e);
        if (e != CL_SUCCESS || !p->prog) {
            p->prog = NULL;
            st = cgan_cl_fail(ctx, e, "clCreateProgramWithSource", "%s.cl", name);
            goto fail;
        }
        e = clBuildProgram(p->prog, 1, &ctx->device, opts, NULL, NULL);
        if (e != CL_SUCCESS) {
            char *log = build_log(ctx, p->prog);
            st = cgan_error(ctx, CGAN_E_BUILD,
                            "building %s.cl for device '%s' with options '%s' failed: %s\n"
                            "build log:\n%s",
                            name, ctx->info.name, opts, cgan_cl_error_name(e), log ? log : "");
            free(log);
            goto fail;
        }
        bin = program_binary(ctx, p->prog, &blen);
        if (bin) {
            char saved[CGAN_ERRMSG_MAX];
            memcpy(saved, ctx->err, sizeof saved);
            /* a full disk or a read-only cache must not stop training, but it is said once */
            if (cgan_cache_store(ctx, key, bin, blen) != CGAN_OK && !ctx->cache_warned) {
                ctx->cache_warned = 1;
                cgan_warn(ctx, "the kernel cache cannot be written, so kernels will be compiled again next "
                          "time (%s; set CGAN_CACHE_DIR to a writable folder, or CGAN_CACHE_DISABLE=1)", ctx->err);
            }
            memcpy(ctx->err, saved, sizeof saved);
        }
    }
    p->info.build_ms = now_ms() - t0;
    if (info) *info = p->info;
    p->next = ctx->programs;
    ctx->programs = p;
    *out = p;
    free(bin);
    free(opts);
    free(key);
    return CGAN_OK;
fail:
    program_free(p);
    free(bin);
    free(opts);
    free(key);
    return st;
}

cgan_status cgan_program_from_text(cgan_ctx *ctx, const char *name, const char *text,
                                   const char *options, cgan_program **out,
                                   cgan_build_info *info)
{
    *out = NULL;
    if (!ctx || !ctx->opened) return cgan_error(ctx, CGAN_E_INVALID, "context is not open");
    return build(ctx, name, text, options ? options : "", out, info);
}

cgan_status cgan_program_get(cgan_ctx *ctx, const char *source, const char *options,
                             cgan_program **out, cgan_build_info *info)
{
    *out = NULL;
    if (!ctx || !ctx->opened) return cgan_error(ctx, CGAN_E_INVALID, "context is not open");
    if (!options) options = "";
    for (cgan_program *p = ctx->programs; p; p = p->next)
        if (strcmp(p->name, source) == 0 && strcmp(p->options, options) == 0) {
            if (info) { *info = p->info; info->build_ms = 0; }
            *out = p;
            return CGAN_OK;
        }
    char *text = NULL;
    size_t len = 0;
    CGAN_TRY(cgan_source_load(ctx, source, &text, &len));
    cgan_status st = build(ctx, source, text, options, out, info);
    free(text);
    return st;
}

cgan_status cgan_program_kernel(cgan_ctx *ctx, cgan_program *prog, const char *kernel,
                                cgan_kernel **out)
{
    *out = NULL;
    for (cgan_kernel *k = prog->kernels; k; k = k->next)
        if (strcmp(k->name, kernel) == 0) { *out = k; return CGAN_OK; }
    if (strlen(kernel) >= sizeof((cgan_kernel *)0)->name)
        return cgan_error(ctx, CGAN_E_INVALID, "kernel name '%s' is too long", kernel);
    cl_int e = CL_SUCCESS;
    cl_kernel ck = clCreateKernel(prog->prog, kernel, &e);
    if (e != CL_SUCCESS || !ck)
        return cgan_cl_fail(ctx, e, "clCreateKernel", "kernel '%s' in %s.cl", kernel, prog->name);
    cgan_kernel *k = calloc(1, sizeof *k);
    if (!k) {
        clReleaseKernel(ck);
        return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    }
    snprintf(k->name, sizeof k->name, "%s", kernel);
    k->k = ck;
    e = clGetKernelInfo(ck, CL_KERNEL_NUM_ARGS, sizeof k->nargs, &k->nargs, NULL);
    if (e == CL_SUCCESS)
        e = clGetKernelWorkGroupInfo(ck, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof k->max_wg,
                                     &k->max_wg, NULL);
    if (e == CL_SUCCESS)
        e = clGetKernelWorkGroupInfo(ck, ctx->device, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                                     sizeof k->wg_multiple, &k->wg_multiple, NULL);
    if (e != CL_SUCCESS) {
        clReleaseKernel(ck);
        free(k);
        return cgan_cl_fail(ctx, e, "clGetKernelInfo", "kernel '%s'", kernel);
    }
    if (!k->wg_multiple) k->wg_multiple = 1;
    /* the kernel's limit and the profile's (the device's, capped) in one number */
    k->device_max_wg = k->max_wg;
    if (ctx->profile.wg_limit && k->max_wg > ctx->profile.wg_limit) k->max_wg = ctx->profile.wg_limit;
    if (!k->max_wg) k->max_wg = 1;
    k->next = prog->kernels;
    prog->kernels = k;
    *out = k;
    return CGAN_OK;
}

cgan_status cgan_kernel_get(cgan_ctx *ctx, const char *source, const char *options,
                            const char *kernel, cgan_kernel **out)
{
    cgan_program *p = NULL;
    *out = NULL;
    CGAN_TRY(cgan_program_get(ctx, source, options, &p, NULL));
    return cgan_program_kernel(ctx, p, kernel, out);
}

size_t cgan_kernel_max_wg(const cgan_kernel *k) { return k->max_wg; }
const char *cgan_kernel_name(const cgan_kernel *k) { return k->name; }

const char *const *cgan_kernel_programs(void) { return cgan_source_names(); }

cgan_status cgan_kernel_program_build(cgan_ctx *ctx, const char *name, int *from_cache, double *build_ms)
{
    cgan_program *p = NULL;
    cgan_build_info bi = { 0, 0 };
    if (!name) return cgan_error(ctx, CGAN_E_INVALID, "cgan_kernel_program_build: no program name");
    CGAN_TRY(cgan_program_get(ctx, name, NULL, &p, &bi));
    if (from_cache) *from_cache = bi.from_cache;
    if (build_ms) *build_ms = bi.build_ms;
    return CGAN_OK;
}
