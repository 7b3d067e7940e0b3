/* The device profile (profile.h): computed once when the context opens. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "profile.h"

/* Names of the enumerations, in their order: what the overrides take and the profile prints. */
static const char *const conv_forms[] = { "plane", "element", "implicit", NULL };
static const char *const stagings[] = { "pageable", "pinned", NULL };
static const char *const providers[] = { "own", "clblast", NULL };
static const char *const packs[] = { "0", "1", NULL };

const char *cgan_conv_form_str(cgan_conv_form f)
{
    return f >= CGAN_CONV_FORM_PLANE && f <= CGAN_CONV_FORM_IMPLICIT ? conv_forms[f] : "?";
}

const char *cgan_staging_str(cgan_staging_kind s)
{
    return stagings[s == CGAN_STAGING_PINNED];
}

/* The index of v in the NULL-terminated names, or -1. */
static int one_of(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

/* An override's value: NULL when unset or empty; the name and value join p->overrides. */
static const char *env_of(cgan_profile *p, const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) return NULL;
    size_t len = strlen(p->overrides);
    snprintf(p->overrides + len, sizeof p->overrides - len, "%s%s=%s", len ? " " : "", name, v);
    return v;
}

/* A positive integer, or -1 when v is not one. */
static long parse_pos(const char *v)
{
    char *end;
    long x = strtol(v, &end, 10);
    return (*v && !*end && x > 0) ? x : -1;
}

/* A flag: set and not "0". */
static int flag(cgan_profile *p, const char *name)
{
    const char *v = env_of(p, name);
    return v && strcmp(v, "0") != 0;
}

static int pow2(long x)
{
    return x > 0 && (x & (x - 1)) == 0;
}

/* A positive decimal count (up to 2^64-1); 0 when v is not one. */
static unsigned long long parse_count(const char *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    return (*v < '0' || *v > '9' || *end || errno) ? 0 : x;
}

static cgan_status bad(cgan_ctx *ctx, const char *name, const char *v, const char *want)
{
    return cgan_error(ctx, CGAN_E_INVALID, "%s=%s: %s", name, v, want);
}

/* The class the choices are made for. */
static cgan_status class_of(cgan_ctx *ctx, cgan_profile *p, const char *dclass)
{
    const char *name = "cgan_ctx_set_device_class";
    if (!dclass) {
        dclass = env_of(p, "CGAN_DEVICE_CLASS");
        name = "CGAN_DEVICE_CLASS";
    }
    p->class_forced = dclass != NULL;
    if (!dclass) {
        p->dclass = ctx->info.type == CGAN_DEVICE_CPU ? CGAN_DEVICE_CPU : CGAN_DEVICE_GPU;
        return CGAN_OK;
    }
    if (!strcmp(dclass, "gpu")) p->dclass = CGAN_DEVICE_GPU;
    else if (!strcmp(dclass, "cpu")) p->dclass = CGAN_DEVICE_CPU;
    else return bad(ctx, name, dclass, "the device class is gpu or cpu");
    return CGAN_OK;
}

/* Work-group limits: the device's, capped at 256 (a size every vendor's occupancy rules
 * like) and by CGAN_WG_LIMIT. */
static cgan_status limits_of(cgan_ctx *ctx, cgan_profile *p)
{
    size_t lim = ctx->info.max_work_group ? ctx->info.max_work_group : 1;
    if (lim > 256) lim = 256;
    const char *v = env_of(p, "CGAN_WG_LIMIT");
    if (v) {
        long x = parse_pos(v);
        if (x < 1) return bad(ctx, "CGAN_WG_LIMIT", v, "a work-group limit is a positive integer");
        if ((size_t)x < lim) lim = (size_t)x;
    }
    p->wg_limit = lim;
    size_t items[3] = { 1, 1, 1 };
    cl_int e = clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items, NULL);
    if (e != CL_SUCCESS)
        return cgan_cl_fail(ctx, e, "clGetDeviceInfo", "CL_DEVICE_MAX_WORK_ITEM_SIZES");
    for (int i = 0; i < 3; i++) p->wg_item_max[i] = items[i] < lim ? items[i] : lim;
    p->local_mem = (size_t)ctx->info.local_mem;
    return CGAN_OK;
}

static cgan_status align_of(cgan_ctx *ctx, cgan_profile *p)
{
    cl_uint bits = 0;
    cl_int e = clGetDeviceInfo(ctx->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof bits, &bits, NULL);
    if (e != CL_SUCCESS) return cgan_cl_fail(ctx, e, "clGetDeviceInfo", "CL_DEVICE_MEM_BASE_ADDR_ALIGN");
    size_t al = bits / 8;
    if (al < 256) al = 256;
    const char *v = env_of(p, "CGAN_MEM_ALIGN");
    if (v) {
        long x = parse_pos(v);
        if (!pow2(x) || x < 8)
            return bad(ctx, "CGAN_MEM_ALIGN", v, "the alignment is a power of two of at least 8 bits");
        if ((size_t)x / 8 < al)
            return cgan_error(ctx, CGAN_E_INVALID, "CGAN_MEM_ALIGN=%s: below the device's "
                              "alignment of %u bits", v, bits < 2048 ? 2048u : bits);
        al = (size_t)x / 8;
    }
    p->mem_align = al;
    return CGAN_OK;
}

/* The largest power-of-two square work-group of at most `items` that the device takes. */
static int square_side(const cgan_profile *p, size_t items)
{
    int s = 16;
    while (s > 1 && ((size_t)s * s > items || (size_t)s > p->wg_item_max[0] ||
                     (size_t)s > p->wg_item_max[1]))
        s /= 2;
    return s;
}

/* The choices of the class, then the overrides of each. */
static cgan_status choose(cgan_ctx *ctx, cgan_profile *p)
{
    int gpu = p->dclass == CGAN_DEVICE_GPU;
    /* GEMM: our own kernels everywhere. CLBlast reaches about a tenth of the own kernels'
     * rate under PoCL, and it creates its kernels on every call (a seed32 step at batch 32:
     * 11 clCreateKernel in the GPU profile, 98 with the element-wise convolutions, 42 on
     * the CPU path; cgan-bench step --count), which our own "gpu" variant does not;
     * cgan-bench tune may still pick it per shape. */
    snprintf(p->gemm_provider, sizeof p->gemm_provider, "own");
    snprintf(p->gemm_variant, sizeof p->gemm_variant, "%s", gpu ? "gpu" : "cpu");
    p->gemm_pack = -1;
    p->gemm_fallback = 1;
    p->conv_form = gpu ? CGAN_CONV_FORM_IMPLICIT : CGAN_CONV_FORM_PLANE;
    p->bn_lanes = gpu ? 32 : 1;
    p->staging = gpu ? CGAN_STAGING_PINNED : CGAN_STAGING_PAGEABLE;
    p->conv_wx = p->conv_wy = square_side(p, p->wg_limit);

    const char *v;
    int i;
    if ((v = env_of(p, "CGAN_GEMM_PROVIDER"))) {
        if ((i = one_of(v, providers)) < 0)
            return bad(ctx, "CGAN_GEMM_PROVIDER", v, "the GEMM provider is own or clblast");
        snprintf(p->gemm_provider, sizeof p->gemm_provider, "%s", providers[i]);
        p->gemm_pinned = 1;
    }
    if ((v = env_of(p, "CGAN_GEMM_VARIANT"))) { /* checked by the own provider, which knows them */
        snprintf(p->gemm_variant, sizeof p->gemm_variant, "%.*s", CGAN_PROFILE_NAME_MAX - 1, v);
        p->gemm_pinned = 1;
    }
    p->tune = !flag(p, "CGAN_TUNE_DISABLE");
    p->gemm_poison = flag(p, "CGAN_GEMM_POISON");
    if ((v = env_of(p, "CGAN_GEMM_PACK"))) {
        if ((p->gemm_pack = one_of(v, packs)) < 0)
            return bad(ctx, "CGAN_GEMM_PACK", v, "packing is forced with 1 or turned off with 0");
    }
    if ((v = env_of(p, "CGAN_CONV_FORM"))) {
        if ((i = one_of(v, conv_forms)) < 0)
            return bad(ctx, "CGAN_CONV_FORM", v, "the convolution form is plane, element or implicit");
        p->conv_form = (cgan_conv_form)i;
    }
    if ((v = env_of(p, "CGAN_BN_LANES"))) {
        long x = parse_pos(v);
        if (!pow2(x) || x > 256)
            return bad(ctx, "CGAN_BN_LANES", v, "BatchNorm lanes are a power of two from 1 to 256");
        p->bn_lanes = (int)x;
    }
    if ((v = env_of(p, "CGAN_MAX_ALLOC"))) {
        unsigned long long x = parse_count(v);
        if (x == 0 || x > SIZE_MAX)
            return bad(ctx, "CGAN_MAX_ALLOC", v, "the allocation cap is a positive number of bytes");
        p->max_alloc = (size_t)x;
    }
    /* data parallel (src/gan/accum.c) */
    double mb = 1.0;
    if ((v = env_of(p, "CGAN_BUCKET_MB"))) {
        char *end = NULL;
        mb = strtod(v, &end);
        if (end == v || *end || !(mb >= 0.01 && mb <= 4096))
            return bad(ctx, "CGAN_BUCKET_MB", v, "the all-reduce bucket is 0.01 to 4096 MiB");
    }
    p->bucket_floats = (size_t)(mb * 1048576.0 / sizeof(float));
    p->diverge_rank = (v = env_of(p, "CGAN_TEST_DIVERGE_RANK")) && *v ? atoi(v) : -1;
    if ((v = env_of(p, "CGAN_FAULT_LAUNCH"))) {
        if (!(p->fault_launch = parse_count(v)))
            return bad(ctx, "CGAN_FAULT_LAUNCH", v, "the launch to fail is a positive number");
    }
    if ((v = env_of(p, "CGAN_STAGING"))) {
        if ((i = one_of(v, stagings)) < 0)
            return bad(ctx, "CGAN_STAGING", v, "staging memory is pinned or pageable");
        p->staging = (cgan_staging_kind)i;
    }
    /* lanes never exceed what a work-group holds */
    while ((size_t)p->bn_lanes > p->wg_limit || (size_t)p->bn_lanes > p->wg_item_max[0])
        p->bn_lanes /= 2;
    if (p->bn_lanes < 1) p->bn_lanes = 1;
    return CGAN_OK;
}

cgan_status cgan_profile_init(cgan_ctx *ctx, const char *dclass)
{
    cgan_profile p;
    memset(&p, 0, sizeof p);
    CGAN_TRY(class_of(ctx, &p, dclass));
    CGAN_TRY(align_of(ctx, &p));
    CGAN_TRY(limits_of(ctx, &p));
    CGAN_TRY(choose(ctx, &p));
    ctx->profile = p;
    return CGAN_OK;
}

cgan_status cgan_profile_refresh(cgan_ctx *ctx)
{
    return cgan_profile_init(ctx, ctx->class_req[0] ? ctx->class_req : NULL);
}

cgan_status cgan_ctx_set_device_class(cgan_ctx *ctx, const char *dclass)
{
    if (!ctx) return CGAN_E_INVALID;
    if (ctx->opened)
        return cgan_error(ctx, CGAN_E_INVALID, "the device class is set before the context opens");
    if (!dclass || !*dclass) {
        ctx->class_req[0] = '\0';
        return CGAN_OK;
    }
    if (strcmp(dclass, "gpu") && strcmp(dclass, "cpu"))
        return cgan_error(ctx, CGAN_E_INVALID, "device class '%s': the device class is gpu or cpu",
                          dclass);
    snprintf(ctx->class_req, sizeof ctx->class_req, "%s", dclass);
    return CGAN_OK;
}

int cgan_ctx_profile_str(const cgan_ctx *ctx, char *buf, size_t n)
{
    if (!ctx || !ctx->opened || !buf || !n) return -1;
    const cgan_profile *p = &ctx->profile;
    return snprintf(buf, n,
                    "class           %s%s\n"
                    "gemm            %s (own variant %s, packing %s, fallback to own %s)\n"
                    "convolution     %s\n"
                    "batchnorm lanes %d\n"
                    "work-group      at most %zu items (%zu x %zu x %zu per dimension)\n"
                    "conv tile       %d x %d items (implicit)\n"
                    "local memory    %zu bytes\n"
                    "alignment       %zu bits\n"
                    "staging         %s\n"
                    "overrides       %s\n",
                    p->dclass == CGAN_DEVICE_GPU ? "gpu" : "cpu",
                    p->class_forced ? " (forced)" : " (from the device type)", p->gemm_provider,
                    p->gemm_variant,
                    p->gemm_pack < 0 ? "automatic" : p->gemm_pack ? "forced" : "off",
                    p->gemm_fallback ? "on" : "off", cgan_conv_form_str(p->conv_form),
                    p->bn_lanes, p->wg_limit, p->wg_item_max[0], p->wg_item_max[1],
                    p->wg_item_max[2], p->conv_wx, p->conv_wy,
                    p->local_mem, p->mem_align * 8, cgan_staging_str(p->staging),
                    p->overrides[0] ? p->overrides : "none");
}
