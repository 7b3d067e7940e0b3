/* The own GEMM provider (cl/gemm.cl): argument checks, the variant and tile choice per
 * device and shape, launches, and a small timing driver for the benchmarks.
 *
 * Every form reduces to one kernel computing D = alpha op(P) op(Q) + beta D per batch
 * entry, where (P, Q, D) is (A, B, C) or, for the swapped form, (B^T, A^T, C^T). Tile sizes,
 * vector widths and transposes are -D defines, so each combination is its own cached
 * program. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "owngemm.h"
#include "packgemm.h"
#include "core/rng.h"

typedef enum variant {
    V_CPU, V_CPU_OUTER, V_CPU_SWAP, V_CPU_DOT, V_GPU, V_CPU_DIRECT, V_CPU_PACKED, V_COUNT
} variant;

static const char *const variant_names[V_COUNT + 1] = {
    "cpu", "cpu-outer", "cpu-swap", "cpu-dot", "gpu", "cpu-direct", "cpu-packed", NULL
};

const char *const *cgan_gemm_own_variants(void)
{
    return variant_names;
}

static const char *tr(cgan_trans t)
{
    return t == CGAN_TRANS ? "T" : "N";
}

/* Tile parameters a spec may pin ("cpu-outer:tm=8,nv=2"); 0 keeps the default. */
typedef struct own_params {
    size_t vw, nv, tm, kc, tn, ly; /* gemm_reg (vw nv tm kc ly), gemm_dot (vw tm tn) */
    size_t kb, lx;              /* packed (vw nv tm kb lx) */
    int wx, wy, rm, rn, bk;     /* gemm_local */
} own_params;

static const own_params no_params;

/* ---- argument checks ------------------------------------------------------------------ */
static cgan_status mem_size(cgan_ctx *ctx, cl_mem m, const char *what, size_t *bytes)
{
    CGAN_CL_CHECK(ctx, clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof *bytes, bytes, NULL),
                  "clGetMemObjectInfo", "gemm: size of %s", what);
    return CGAN_OK;
}

/* One operand stored rows x cols (leading dimension ld) per batch entry: the kernels index
 * inside an entry with 32-bit ints and offset entries with 64-bit longs, and every element
 * touched must lie inside the buffer. */
static cgan_status check_operand(cgan_ctx *ctx, const cgan_gemm_args *g, const char *what,
                                 cl_mem m, size_t off, size_t ld, size_t stride, size_t rows,
                                 size_t cols)
{
    if (!m)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s: matrix %s is a NULL buffer",
                          tr(g->ta), tr(g->tb), what);
    if (ld < cols)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s m=%zu n=%zu k=%zu: ld%s %zu is below %zu",
                          tr(g->ta), tr(g->tb), g->m, g->n, g->k, what, ld, cols);
    if (rows == 0 || cols == 0) return CGAN_OK;
    if (ld > INT_MAX || (rows - 1) > (size_t)(INT_MAX - cols) / ld)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm: matrix %s (%zu x %zu, ld %zu) exceeds the "
                          "32-bit index range of one batch entry", what, rows, cols, ld);
    size_t extent = (rows - 1) * ld + cols;
    size_t last = off + extent; /* one past the last element, all checks overflow-safe */
    if (off > (size_t)INT64_MAX / 2 || stride > (size_t)INT64_MAX / 2 ||
        (g->batch > 1 && stride > ((size_t)INT64_MAX / 2 - last) / (g->batch - 1)))
        return cgan_error(ctx, CGAN_E_INVALID, "gemm: matrix %s offset %zu / stride %zu overflow",
                          what, off, stride);
    last += (g->batch - 1) * stride;
    size_t bytes;
    CGAN_TRY(mem_size(ctx, m, what, &bytes));
    if (last > bytes / sizeof(float))
        return cgan_error(ctx, CGAN_E_INVALID, "gemm %s%s m=%zu n=%zu k=%zu batch=%zu: matrix %s "
                          "needs %zu floats (offset %zu, ld %zu, stride %zu), its buffer holds %zu",
                          tr(g->ta), tr(g->tb), g->m, g->n, g->k, g->batch, what, last, off, ld,
                          stride, bytes / sizeof(float));
    return CGAN_OK;
}

cgan_status cgan_gemm_own_check_args(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    if (g->m > INT_MAX || g->n > INT_MAX || g->k > INT_MAX || g->batch > INT_MAX)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm m=%zu n=%zu k=%zu batch=%zu: over the 32-bit "
                          "range", g->m, g->n, g->k, g->batch);
    if (g->batch > 1 && g->c_stride == 0)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm batch=%zu: C stride 0 would make the batch "
                          "entries race on one C", g->batch);
    int ta = g->ta == CGAN_TRANS, tb = g->tb == CGAN_TRANS;
    CGAN_TRY(check_operand(ctx, g, "A", g->a, g->a_off, g->lda, g->a_stride, ta ? g->k : g->m,
                           ta ? g->m : g->k));
    CGAN_TRY(check_operand(ctx, g, "B", g->b, g->b_off, g->ldb, g->b_stride, tb ? g->n : g->k,
                           tb ? g->k : g->n));
    return check_operand(ctx, g, "C", g->c, g->c_off, g->ldc, g->c_stride, g->m, g->n);
}

/* ---- the plan: which kernel, which defines, which range -------------------------------- */
/* The operands as a kernel sees them: D (m x n) = op(P) op(Q), with D = C, or D = C^T for
 * the swapped form. */
typedef struct kview {
    int m, n, k, tp, tq, tc;
    cl_mem p, q;
    size_t p_off, p_ld, p_stride, q_off, q_ld, q_stride;
} kview;

static kview view_of(const cgan_gemm_args *g, int swap)
{
    int ta = g->ta == CGAN_TRANS, tb = g->tb == CGAN_TRANS;
    if (!swap)
        return (kview){ (int)g->m, (int)g->n, (int)g->k, ta, tb, 0, g->a, g->b,
                        g->a_off, g->lda, g->a_stride, g->b_off, g->ldb, g->b_stride };
    /* C^T (n x m) = op(B)^T op(A)^T: P is B with its transpose flipped, Q is A likewise */
    return (kview){ (int)g->n, (int)g->m, (int)g->k, !tb, !ta, 1, g->b, g->a,
                    g->b_off, g->ldb, g->b_stride, g->a_off, g->lda, g->a_stride };
}

typedef struct plan {
    const char *kernel;
    char opts[224];
    size_t global[3], local[3];
    size_t tm; /* rows per item (gemm_dot's fallback range) */
} plan;

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* gemm_reg: each item TM rows x NV vectors of VW columns. The accumulators (TM*NV vectors)
 * are sized for the register file: 32 vector registers with AVX-512, 16 otherwise. A
 * work-group of 1 x LY items shares KC-deep operand panels in local memory. */
typedef struct reg_cfg { size_t vw, nv, tm, ly, kc; } reg_cfg;

/* 0 when the panels fit in no local memory of the device (then gemm_dot, which needs
 * none, is the fallback). */
static int reg_choose(cgan_ctx *ctx, const kview *v, const own_params *o, reg_cfg *out)
{
    /* Few distinct values, so that few programs are built: vectors of the device's width
     * (4 under it), tiles of 4 rows for tiny M, work-groups of 4 items. */
    reg_cfg c;
    size_t dvw = cgan_gemm_device_vw(ctx), n = (size_t)v->n, m = (size_t)v->m;
    c.vw = n >= dvw ? dvw : 4;
    c.nv = c.vw == dvw && n >= 2 * dvw ? 2 : 1;
    size_t tm = dvw >= 16 ? (c.nv == 2 ? 12 : 16) : (c.nv == 2 ? 6 : 12);
    c.tm = m <= 4 ? 4 : tm;
    c.ly = 4;
    c.kc = v->tp ? 128 : 256;
    if (o->vw) c.vw = o->vw;
    if (o->nv) c.nv = o->nv;
    if (o->tm) c.tm = o->tm;
    if (o->kc) c.kc = o->kc;
    if (o->ly) c.ly = o->ly;
    size_t rows = c.ly * c.tm; /* fit the panels into the device's local memory */
    while (c.kc >= 16 && ctx->info.local_mem &&
           ((v->tp ? c.kc * rows : rows) + c.kc * c.nv * c.vw) * sizeof(float) + 1024 >
               ctx->info.local_mem)
        c.kc /= 2;
    *out = c;
    return c.kc >= 16;
}

static void plan_reg(const kview *v, size_t batch, const reg_cfg *c, plan *pl)
{
    pl->kernel = "gemm_reg";
    snprintf(pl->opts, sizeof pl->opts,
             "-DTA=%d -DTB=%d -DTC=%d -DVW=%zu -DNV=%zu -DTM=%zu -DLY=%zu -DKC=%zu",
             v->tp, v->tq, v->tc, c->vw, c->nv, c->tm, c->ly, c->kc);
    pl->local[0] = 1;
    pl->local[1] = c->ly;
    pl->local[2] = 1;
    pl->global[0] = ceil_div((size_t)v->n, c->vw * c->nv);
    pl->global[1] = cgan_align_up(ceil_div((size_t)v->m, c->tm), c->ly);
    pl->global[2] = batch;
}

/* gemm_direct: gemm_reg's tile per item, operands from global memory, 1-item groups. */
static void plan_direct(const kview *v, size_t batch, const reg_cfg *c, plan *pl)
{
    pl->kernel = "gemm_direct";
    snprintf(pl->opts, sizeof pl->opts, "-DDIRECT -DTA=%d -DTB=0 -DTC=%d -DVW=%zu -DNV=%zu -DTM=%zu",
             v->tp, v->tc, c->vw, c->nv, c->tm);
    pl->local[0] = pl->local[1] = pl->local[2] = 1;
    pl->global[0] = ceil_div((size_t)v->n, c->vw * c->nv);
    pl->global[1] = ceil_div((size_t)v->m, c->tm);
    pl->global[2] = batch;
}

/* gemm_dot: each item 4 x 4 outputs, partial sums along K in vectors of the device's
 * width. */
static void plan_dot(cgan_ctx *ctx, const kview *v, size_t batch, const own_params *o, plan *pl)
{
    const size_t tm = o->tm ? o->tm : 4, tn = o->tn ? o->tn : 4,
                 vw = o->vw ? o->vw : cgan_gemm_device_vw(ctx);
    pl->kernel = "gemm_dot";
    snprintf(pl->opts, sizeof pl->opts, "-DTA=%d -DTB=%d -DTC=%d -DVW=%zu -DTM=%zu -DTN=%zu",
             v->tp, v->tq, v->tc, vw, tm, tn);
    size_t rows = ceil_div((size_t)v->m, tm);
    pl->local[0] = 1;
    pl->local[1] = rows >= 3 ? 4 : rows;
    pl->tm = tm;
    pl->local[2] = 1;
    pl->global[0] = ceil_div((size_t)v->n, tn);
    pl->global[1] = cgan_align_up(rows, pl->local[1]);
    pl->global[2] = batch;
}

/* gemm_local: WX x WY items, RM x RN outputs each, BK deep tiles. */
typedef struct gpu_cfg { int wx, wy, rm, rn, bk; } gpu_cfg;

static void plan_local(const kview *v, size_t batch, gpu_cfg c, plan *pl)
{
    pl->kernel = "gemm_local";
    snprintf(pl->opts, sizeof pl->opts,
             "-DTA=%d -DTB=%d -DTC=%d -DWX=%d -DWY=%d -DRM=%d -DRN=%d -DBK=%d", v->tp, v->tq,
             v->tc, c.wx, c.wy, c.rm, c.rn, c.bk);
    pl->local[0] = (size_t)c.wx;
    pl->local[1] = (size_t)c.wy;
    pl->local[2] = 1;
    pl->global[0] = ceil_div((size_t)v->n, (size_t)(c.wx * c.rn)) * (size_t)c.wx;
    pl->global[1] = ceil_div((size_t)v->m, (size_t)(c.wy * c.rm)) * (size_t)c.wy;
    pl->global[2] = batch;
}

/* ---- launch ------------------------------------------------------------------------------ */
static cgan_status get_kernel(cgan_ctx *ctx, const plan *pl, cgan_kernel **k)
{
    cgan_status st = cgan_kernel_get(ctx, "gemm", pl->opts, pl->kernel, k);
    if (st != CGAN_OK) return cgan_error_wrap(ctx, st, "gemm kernel %s (%s)", pl->kernel, pl->opts);
    return CGAN_OK;
}

static cgan_status launch(cgan_ctx *ctx, const cgan_gemm_args *g, const kview *v,
                          const plan *pl, cgan_kernel *k)
{
    cgan_range r = { 3, { pl->global[0], pl->global[1], pl->global[2] },
                     { pl->local[0], pl->local[1], pl->local[2] } };
    return cgan_launch(ctx, k, &r, CGAN_KINT(v->m), CGAN_KINT(v->n), CGAN_KINT(v->k),
                       CGAN_KFLOAT(g->alpha), CGAN_KMEM(v->p), CGAN_KLONG(v->p_off),
                       CGAN_KINT(v->p_ld), CGAN_KLONG(v->p_stride), CGAN_KMEM(v->q),
                       CGAN_KLONG(v->q_off), CGAN_KINT(v->q_ld), CGAN_KLONG(v->q_stride),
                       CGAN_KFLOAT(g->beta), CGAN_KMEM(g->c), CGAN_KLONG(g->c_off),
                       CGAN_KINT(g->ldc), CGAN_KLONG(g->c_stride));
}

typedef enum form { F_OUTER, F_SWAP, F_DOT, F_DIRECT } form;

static cgan_status run_cpu_form(cgan_ctx *ctx, const cgan_gemm_args *g, form f,
                                const own_params *o)
{
    kview v = view_of(g, f == F_SWAP);
    plan pl;
    memset(&pl, 0, sizeof pl);
    cgan_kernel *k;
    reg_cfg c;
    if (f == F_DIRECT && !v.tq) { /* rows of op(Q) must be contiguous; else dot products */
        reg_choose(ctx, &v, o, &c);
        plan_direct(&v, g->batch, &c, &pl);
        CGAN_TRY(get_kernel(ctx, &pl, &k));
        return launch(ctx, g, &v, &pl, k);
    }
    if ((f == F_OUTER || f == F_SWAP) && reg_choose(ctx, &v, o, &c)) {
        plan_reg(&v, g->batch, &c, &pl);
        CGAN_TRY(get_kernel(ctx, &pl, &k));
        if (cgan_kernel_max_wg(k) >= pl.local[1]) return launch(ctx, g, &v, &pl, k);
    }
    /* dot products need neither local memory nor work-groups of more than one item */
    v = view_of(g, 0);
    plan_dot(ctx, &v, g->batch, o, &pl);
    CGAN_TRY(get_kernel(ctx, &pl, &k));
    if (cgan_kernel_max_wg(k) < pl.local[1]) {
        pl.local[1] = 1;
        pl.global[1] = ceil_div((size_t)v.m, pl.tm);
    }
    return launch(ctx, g, &v, &pl, k);
}

/* The form "cpu" picks: outer products where op(B) has contiguous rows (NN, TN); the
 * swapped problem for TT, where op(A)^T = A has them; dot products along K for NT, where
 * both operands run along K. */
static form cpu_form(const cgan_gemm_args *g)
{
    int ta = g->ta == CGAN_TRANS, tb = g->tb == CGAN_TRANS;
    if (!tb) return F_OUTER;
    return ta ? F_SWAP : F_DOT;
}

static cgan_status run_gpu(cgan_ctx *ctx, const cgan_gemm_args *g, const own_params *o)
{
    kview v = view_of(g, 0);
    /* 64x64 blocks from 16x16 items, 128x16 for C of 16 columns or fewer (the small
     * images of the model); smaller work-groups where the device or the kernel allows
     * fewer items. */
    gpu_cfg cfgs[3];
    int nc = 0;
    if (v.n <= 16) cfgs[nc++] = (gpu_cfg){ 16, 16, 8, 1, 16 }; /* 128 x 16 */
    else cfgs[nc++] = (gpu_cfg){ 16, 16, 4, 4, 16 };           /* 64 x 64 */
    cfgs[nc++] = (gpu_cfg){ 8, 8, 4, 4, 16 };                  /* 32 x 32 */
    cfgs[nc++] = (gpu_cfg){ 4, 4, 4, 4, 8 };                   /* 16 x 16 */
    if (o->wx) /* a pinned configuration first; the defaults stay as fallbacks */
        cfgs[0] = (gpu_cfg){ o->wx, o->wy, o->rm, o->rn, o->bk };
    const cgan_profile *p = &ctx->profile;
    for (int i = 0; i < nc; i++) {
        gpu_cfg c = cfgs[i];
        size_t items = (size_t)c.wx * (size_t)c.wy;
        size_t lmem = (size_t)c.bk * ((size_t)(c.wy * c.rm + 1) + (size_t)(c.wx * c.rn + 1)) * 4;
        if (items > p->wg_limit || (size_t)c.wx > p->wg_item_max[0] ||
            (size_t)c.wy > p->wg_item_max[1] || (p->local_mem && lmem > p->local_mem))
            continue;
        plan pl;
        memset(&pl, 0, sizeof pl);
        plan_local(&v, g->batch, c, &pl);
        cgan_kernel *k;
        CGAN_TRY(get_kernel(ctx, &pl, &k));
        if (cgan_kernel_max_wg(k) < items) continue;
        return launch(ctx, g, &v, &pl, k);
    }
    /* no tile fits a work-group of under 16 items: dot products need no local memory and
     * work-groups of one item */
    return run_cpu_form(ctx, g, F_DOT, &no_params);
}

/* The packed form with o's pins; where its workspace would be too large, the form "cpu"
 * picks without packing. */
static cgan_status run_packed(cgan_ctx *ctx, const cgan_gemm_args *g, const own_params *o)
{
    cgan_packed_cfg pin = { o->vw, o->nv, o->tm, o->kb, o->lx };
    cgan_packed_cfg c = cgan_gemm_packed_config(ctx, g, &pin);
    if (!cgan_gemm_packed_bytes(ctx, g, &c)) return run_cpu_form(ctx, g, cpu_form(g), &no_params);
    return cgan_gemm_packed(ctx, g, &c, NULL);
}

/* 1 when variant v runs g in the packed form with its default tiles: "cpu" where packing
 * suits g, "cpu-packed" where the workspace fits. */
static int packs(cgan_ctx *ctx, variant v, const cgan_gemm_args *g)
{
    if (v == V_CPU) return cgan_gemm_packed_suits(ctx, g);
    if (v != V_CPU_PACKED) return 0;
    cgan_packed_cfg c = cgan_gemm_packed_config(ctx, g, NULL);
    return cgan_gemm_packed_bytes(ctx, g, &c) != 0;
}

static cgan_status run_variant(cgan_ctx *ctx, const cgan_gemm_args *g, variant v,
                               const own_params *o)
{
    if (g->m == 0 || g->n == 0 || g->batch == 0) return CGAN_OK;
    CGAN_TRY(cgan_gemm_own_check_args(ctx, g));
    switch (v) {
    case V_CPU:
        if (packs(ctx, v, g)) return run_packed(ctx, g, &no_params);
        return run_cpu_form(ctx, g, cpu_form(g), o);
    case V_CPU_PACKED: return run_packed(ctx, g, o);
    case V_CPU_OUTER: return run_cpu_form(ctx, g, F_OUTER, o);
    case V_CPU_SWAP: return run_cpu_form(ctx, g, F_SWAP, o);
    case V_CPU_DOT: return run_cpu_form(ctx, g, F_DOT, o);
    case V_CPU_DIRECT: return run_cpu_form(ctx, g, F_DIRECT, o);
    case V_GPU: return run_gpu(ctx, g, o);
    default: break;
    }
    return cgan_error(ctx, CGAN_E_INVALID, "gemm: unknown variant %d", (int)v);
}

/* ---- providers --------------------------------------------------------------------------- */
static int variant_index(const char *name)
{
    for (int i = 0; i < V_COUNT; i++)
        if (name && strcmp(name, variant_names[i]) == 0) return i;
    return -1;
}

/* The device profile's variant ("cpu" or "gpu" by class, or $CGAN_GEMM_VARIANT). */
const char *cgan_gemm_own_variant_for(cgan_ctx *ctx)
{
    const char *name = ctx->profile.gemm_variant;
    int i = variant_index(name);
    if (i >= 0) return variant_names[i];
    char list[128] = "";
    for (int j = 0; j < V_COUNT; j++) {
        strncat(list, j ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, variant_names[j], sizeof list - strlen(list) - 1);
    }
    cgan_error(ctx, CGAN_E_INVALID, "CGAN_GEMM_VARIANT=%s names no GEMM variant (%s)", name, list);
    return NULL;
}

cgan_status cgan_gemm_own_packs(cgan_ctx *ctx, const cgan_gemm_args *g, int *out)
{
    const char *name = cgan_gemm_own_variant_for(ctx);
    if (!name) return CGAN_E_INVALID;
    *out = packs(ctx, (variant)variant_index(name), g);
    return CGAN_OK;
}

static cgan_status own_auto(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    const char *name = cgan_gemm_own_variant_for(ctx);
    if (!name) return CGAN_E_INVALID;
    return run_variant(ctx, g, (variant)variant_index(name), &no_params);
}

#define PINNED(id, vname)                                                   \
    static cgan_status own_##id(cgan_ctx *ctx, const cgan_gemm_args *g)     \
    {                                                                       \
        return run_variant(ctx, g, vname, &no_params);                      \
    }
PINNED(cpu, V_CPU)
PINNED(cpu_outer, V_CPU_OUTER)
PINNED(cpu_swap, V_CPU_SWAP)
PINNED(cpu_dot, V_CPU_DOT)
PINNED(gpu, V_GPU)
PINNED(cpu_direct, V_CPU_DIRECT)
PINNED(cpu_packed, V_CPU_PACKED)

static const cgan_gemm_provider own_provider = { "own", own_auto };
static const cgan_gemm_provider pinned[V_COUNT] = {
    { "own:cpu", own_cpu }, { "own:cpu-outer", own_cpu_outer }, { "own:cpu-swap", own_cpu_swap },
    { "own:cpu-dot", own_cpu_dot }, { "own:gpu", own_gpu }, { "own:cpu-direct", own_cpu_direct },
    { "own:cpu-packed", own_cpu_packed },
};

const cgan_gemm_provider *cgan_gemm_provider_own(void)
{
    return &own_provider;
}

const cgan_gemm_provider *cgan_gemm_provider_own_variant(const char *name)
{
    int i = variant_index(name);
    return i < 0 ? NULL : &pinned[i];
}

/* ---- specs: a variant with pinned tile parameters (the tuner's candidates) ------------- */
typedef struct spec_key { const char *name; int lo, hi, pow2; size_t off; int gemm_local; } spec_key;

#define SK_SIZE(f, lo, hi, p2) { #f, lo, hi, p2, offsetof(own_params, f), 0 }
#define SK_INT(f, lo, hi, p2) { #f, lo, hi, p2, offsetof(own_params, f), 1 }
static const spec_key spec_keys[] = {
    SK_SIZE(vw, 1, 16, 1), SK_SIZE(nv, 1, 4, 0), SK_SIZE(tm, 1, 32, 0), SK_SIZE(kc, 16, 1024, 1),
    SK_SIZE(tn, 1, 8, 0), SK_SIZE(ly, 1, 16, 0), SK_SIZE(kb, 16, 1 << 20, 0),
    SK_SIZE(lx, 1, 16, 0), SK_INT(wx, 1, 32, 0), SK_INT(wy, 1, 32, 0), SK_INT(rm, 1, 16, 0),
    SK_INT(rn, 1, 16, 0), SK_INT(bk, 1, 64, 0),
};

/* Which keys a variant takes: the gemm_reg forms vw nv tm kc ly (and their dot fallback),
 * cpu-dot vw tm tn, cpu-direct vw nv tm, cpu-packed vw nv tm kb lx, gpu all five of wx wy
 * rm rn bk. */
static int key_allowed(variant v, const char *key)
{
    if (v == V_GPU) return strchr("wrb", key[0]) != NULL && strcmp(key, "vw") != 0;
    if (v == V_CPU_DOT) return !strcmp(key, "vw") || !strcmp(key, "tm") || !strcmp(key, "tn");
    if (v == V_CPU_DIRECT) return !strcmp(key, "vw") || !strcmp(key, "nv") || !strcmp(key, "tm");
    if (v == V_CPU_PACKED)
        return !strcmp(key, "vw") || !strcmp(key, "nv") || !strcmp(key, "tm") ||
               !strcmp(key, "kb") || !strcmp(key, "lx");
    return !strcmp(key, "vw") || !strcmp(key, "nv") || !strcmp(key, "tm") || !strcmp(key, "kc") ||
           !strcmp(key, "ly");
}

static cgan_status parse_spec(cgan_ctx *ctx, const char *spec, variant *vout, own_params *o)
{
    memset(o, 0, sizeof *o);
    if (!spec) return cgan_error(ctx, CGAN_E_INVALID, "gemm spec: NULL");
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    int v = -1;
    for (int i = 0; i < V_COUNT; i++)
        if (strlen(variant_names[i]) == nlen && !strncmp(spec, variant_names[i], nlen)) v = i;
    if (v < 0) return cgan_error(ctx, CGAN_E_INVALID, "gemm spec '%s': unknown variant", spec);
    *vout = (variant)v;
    int gpu_keys = 0;
    for (const char *p = colon ? colon + 1 : NULL; p && *p;) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end || eq == p)
            return cgan_error(ctx, CGAN_E_INVALID, "gemm spec '%s': expected key=value at '%s'",
                              spec, p);
        const spec_key *k = NULL;
        for (size_t i = 0; i < sizeof spec_keys / sizeof spec_keys[0]; i++)
            if (strlen(spec_keys[i].name) == (size_t)(eq - p) &&
                !strncmp(p, spec_keys[i].name, (size_t)(eq - p)))
                k = &spec_keys[i];
        if (!k || !key_allowed((variant)v, k->name))
            return cgan_error(ctx, CGAN_E_INVALID, "gemm spec '%s': key '%.*s' does not apply "
                              "to variant %s", spec, (int)(eq - p), p, variant_names[v]);
        char *stop;
        long val = strtol(eq + 1, &stop, 10);
        if (stop != end || val < k->lo || val > k->hi || (k->pow2 && (val & (val - 1))))
            return cgan_error(ctx, CGAN_E_INVALID, "gemm spec '%s': %s must be %s%d..%d",
                              spec, k->name, k->pow2 ? "a power of two in " : "", k->lo, k->hi);
        if (k->gemm_local) {
            *(int *)((char *)o + k->off) = (int)val;
            gpu_keys++;
        } else {
            *(size_t *)((char *)o + k->off) = (size_t)val;
        }
        p = *end ? end + 1 : end;
    }
    if (gpu_keys && gpu_keys != 5)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm spec '%s': gpu needs all of wx, wy, rm, "
                          "rn, bk", spec);
    return CGAN_OK;
}

cgan_status cgan_gemm_own_spec_check(cgan_ctx *ctx, const char *spec)
{
    variant v;
    own_params o;
    return parse_spec(ctx, spec, &v, &o);
}

cgan_status cgan_gemm_own_run_spec(cgan_ctx *ctx, const cgan_gemm_args *g, const char *spec)
{
    variant v;
    own_params o;
    CGAN_TRY(parse_spec(ctx, spec, &v, &o));
    return run_variant(ctx, g, v, &o);
}

/* The forms worth trying for g's transposes: the automatic one first. */
int cgan_gemm_own_candidates(cgan_ctx *ctx, const cgan_gemm_args *g, char (*out)[CGAN_GEMM_SPEC_MAX],
                             int max)
{
    int n = 0;
#define ADD(...)                                                                            \
    do {                                                                                    \
        if (n < max) snprintf(out[n++], CGAN_GEMM_SPEC_MAX, __VA_ARGS__);                   \
    } while (0)
    if (ctx->profile.dclass != CGAN_DEVICE_CPU) {
        static const int cfg[][5] = { { 16, 16, 4, 4, 16 }, { 16, 16, 8, 1, 16 },
                                      { 16, 16, 4, 4, 8 },  { 16, 8, 8, 4, 16 },
                                      { 8, 8, 4, 4, 16 },   { 16, 16, 2, 2, 16 },
                                      { 32, 8, 4, 2, 16 },  { 8, 32, 2, 4, 16 } };
        ADD("gpu");
        for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++)
            ADD("gpu:wx=%d,wy=%d,rm=%d,rn=%d,bk=%d", cfg[i][0], cfg[i][1], cfg[i][2], cfg[i][3],
                cfg[i][4]);
        return n;
    }
    size_t dvw = cgan_gemm_device_vw(ctx);
    ADD("cpu");
    static const char *const forms[] = { "cpu-outer", "cpu-swap", "cpu-direct" };
    static const size_t tms[] = { 4, 6, 8, 12, 16 };
    for (int f = 0; f < 3; f++)
        for (size_t nv = 1; nv <= 2; nv++)
            for (size_t t = 0; t < sizeof tms / sizeof tms[0]; t++) {
                if (tms[t] * nv > (dvw >= 16 ? 24 : 12)) continue; /* register file */
                ADD("%s:vw=%zu,nv=%zu,tm=%zu", forms[f], dvw, nv, tms[t]);
            }
    /* taller work-groups: a K panel of op(B) shared by 8 items (more rows per copy) */
    for (int f = 0; f < 2; f++) ADD("%s:vw=%zu,nv=2,tm=%d,ly=8", forms[f], dvw, dvw >= 16 ? 8 : 6);
    /* packed operands: tile shapes, work-group widths, K chunks */
    ADD("cpu-packed");
    static const size_t ptm[] = { 8, 12, 14 };
    for (size_t t = 0; t < sizeof ptm / sizeof ptm[0]; t++)
        ADD("cpu-packed:vw=%zu,nv=2,tm=%zu", dvw, dvw >= 16 ? ptm[t] : ptm[t] / 2);
    ADD("cpu-packed:vw=%zu,nv=1,tm=%d", dvw, dvw >= 16 ? 24 : 12);
    ADD("cpu-packed:lx=1");
    ADD("cpu-packed:lx=8");
    ADD("cpu-packed:kb=512");
    ADD("cpu-packed:kb=%zu", g->k > 16 ? g->k : 16);
    static const size_t dot[][2] = { { 4, 4 }, { 2, 4 }, { 4, 2 }, { 8, 2 }, { 2, 8 } };
    for (size_t i = 0; i < sizeof dot / sizeof dot[0]; i++)
        ADD("cpu-dot:vw=%zu,tm=%zu,tn=%zu", dvw, dot[i][0], dot[i][1]);
#undef ADD
    return n;
}

/* ---- timing driver ------------------------------------------------------------------------ */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

cgan_status cgan_gemm_bench_args(cgan_ctx *ctx, const cgan_gemm_provider *p,
                                 const cgan_gemm_args *g, int repeat, double *gflops)
{
    if (!p || repeat < 1 || !gflops)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm bench: no provider, repeat %d", repeat);
    double *t = malloc((size_t)repeat * sizeof *t);
    if (!t) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status st = cgan_finish(ctx);
    if (st == CGAN_OK) st = p->gemm(ctx, g); /* warm-up: builds kernels, touches pages */
    if (st == CGAN_OK) st = cgan_finish(ctx);
    for (int i = 0; i < repeat && st == CGAN_OK; i++) {
        double t0 = now_s();
        st = p->gemm(ctx, g);
        if (st == CGAN_OK) st = cgan_finish(ctx);
        t[i] = now_s() - t0;
    }
    if (st == CGAN_OK) {
        qsort(t, (size_t)repeat, sizeof *t, cmp_double);
        double med = repeat % 2 ? t[repeat / 2] : 0.5 * (t[repeat / 2 - 1] + t[repeat / 2]);
        *gflops = 2.0 * (double)g->m * (double)g->n * (double)g->k * (double)g->batch /
                  (med > 0 ? med : 1e-12) * 1e-9;
    }
    free(t);
    return st;
}

cgan_status cgan_gemm_bench(cgan_ctx *ctx, const cgan_gemm_provider *p, size_t m, size_t n,
                            size_t k, cgan_trans ta, cgan_trans tb, int repeat, double *gflops)
{
    if (m == 0 || n == 0 || k == 0)
        return cgan_error(ctx, CGAN_E_INVALID, "gemm bench: m=%zu n=%zu k=%zu", m, n, k);
    cgan_gemm_args g = {
        .ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = 1.0f, .beta = 0.0f,
        .lda = ta == CGAN_TRANS ? m : k, .ldb = tb == CGAN_TRANS ? k : n, .ldc = n, .batch = 1,
    };
    size_t na = m * k, nb = k * n, nc = m * n;
    float *h = malloc((na > nb ? na : nb) * sizeof *h);
    if (!h) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_rng rng;
    cgan_rng_init(&rng, 7, 0);
    cgan_status st = cgan_buffer_create(ctx, na * 4, "bench A", &g.a);
    if (st == CGAN_OK) st = cgan_buffer_create(ctx, nb * 4, "bench B", &g.b);
    if (st == CGAN_OK) st = cgan_buffer_create(ctx, nc * 4, "bench C", &g.c);
    if (st == CGAN_OK) {
        cgan_rng_fill_uniform(&rng, h, na, -1.f, 1.f);
        st = cgan_buffer_write(ctx, g.a, 0, na * 4, h);
    }
    if (st == CGAN_OK) {
        cgan_rng_fill_uniform(&rng, h, nb, -1.f, 1.f);
        st = cgan_buffer_write(ctx, g.b, 0, nb * 4, h);
    }
    if (st == CGAN_OK) st = cgan_gemm_bench_args(ctx, p, &g, repeat, gflops);
    cgan_buffer_release(g.a);
    cgan_buffer_release(g.b);
    cgan_buffer_release(g.c);
    free(h);
    return st;
}
