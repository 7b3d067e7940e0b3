/* The per-device GEMM tuning table: which provider (and which own-kernel spec) runs each
 * GEMM shape the models issue, and CLBlast parameter overrides. `cgan-bench tune` measures
 * and writes it; cgan_gemm (gemm.c) loads it once per context and applies it.
 *
 * The file is "<cache dir>/tune-<hash of the device key>.json" in the kernel cache's folder
 * ($CGAN_CACHE_DIR, else $XDG_CACHE_HOME/cgan-cl, else ~/.cache/cgan-cl). The device key
 * names the cgan-cl version, platform, device, driver, device version, the CLBlast version
 * and the own GEMM kernels' source, like the kernel cache's key: a file written for
 * anything else is ignored. Choices are "own:<spec>" (owngemm.h) or "clblast". */
#ifndef CGAN_TUNE_H
#define CGAN_TUNE_H
#include "gemm.h"
#include "owngemm.h"

#define CGAN_TUNE_FORMAT 1
#define CGAN_TUNE_CHOICE_MAX (CGAN_GEMM_SPEC_MAX + 8)
#define CGAN_TUNE_PARAMS_MAX 16
#define CGAN_TUNE_KEY_MAX 1024

/* What identifies a GEMM for the table: everything but the buffers, offsets and scalars. */
typedef struct cgan_tune_shape {
    int ta, tb;
    size_t m, n, k, batch, lda, ldb, ldc, a_stride, b_stride, c_stride;
} cgan_tune_shape;

typedef struct cgan_tune_entry {
    cgan_tune_shape s;
    char choice[CGAN_TUNE_CHOICE_MAX];
    double default_ms, tuned_ms;        /* as measured by the tuner (informative) */
} cgan_tune_entry;

/* One CLBlast kernel's parameters ("Xgemm", "XgemmDirect"), all of them. */
typedef struct cgan_tune_override {
    char kernel[16];
    int count;
    char names[CGAN_TUNE_PARAMS_MAX][12];
    size_t values[CGAN_TUNE_PARAMS_MAX];
} cgan_tune_override;

typedef struct cgan_tune_table {
    cgan_tune_entry *e;
    int n, cap;
    cgan_tune_override ov[2];
    int n_ov;
} cgan_tune_table;

cgan_tune_shape cgan_tune_shape_of(const cgan_gemm_args *g);
int cgan_tune_shape_eq(const cgan_tune_shape *a, const cgan_tune_shape *b);
/* "NT m=.. n=.. k=.. batch=.. lda=.. ldb=.. ldc=.. strides=a/b/c" */
void cgan_tune_shape_str(const cgan_tune_shape *s, char *out, size_t n);

void cgan_tune_table_init(cgan_tune_table *t);
void cgan_tune_table_free(cgan_tune_table *t);
/* Add or replace the entry of s. */
cgan_status cgan_tune_table_set(cgan_ctx *ctx, cgan_tune_table *t, const cgan_tune_shape *s,
                                const char *choice, double default_ms, double tuned_ms);
const cgan_tune_entry *cgan_tune_table_find(const cgan_tune_table *t, const cgan_tune_shape *s);

/* The device key (see above) and the table's path for ctx's device. */
cgan_status cgan_tune_device_key(cgan_ctx *ctx, char *out, size_t n);
cgan_status cgan_tune_path(cgan_ctx *ctx, char *out, size_t n);
/* Write atomically. */
cgan_status cgan_tune_save(cgan_ctx *ctx, const cgan_tune_table *t);
/* Read the table of ctx's device into t (initialised here). CGAN_E_NOT_FOUND when there is
 * no file; CGAN_E_FORMAT with a message naming the file when it is malformed, written for
 * another device or names an invalid choice (t is then empty). */
cgan_status cgan_tune_load(cgan_ctx *ctx, cgan_tune_table *t);

/* CGAN_OK when choice is "clblast" or "own:<valid spec>". */
cgan_status cgan_tune_choice_check(cgan_ctx *ctx, const char *choice);
/* Run g as choice says (checked by the provider, like cgan_gemm). */
cgan_status cgan_tune_run_choice(cgan_ctx *ctx, const cgan_gemm_args *g, const char *choice);
/* CLBlastOverrideParameters for each set (single precision); errors name the kernel. */
cgan_status cgan_tune_apply_overrides(cgan_ctx *ctx, const cgan_tune_override *ov, int n);
#endif
