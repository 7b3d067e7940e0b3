/* The device profile and GPU mode: the choices of each class, the overrides and their
 * errors, simulated alignment and work-group limits, pinned staging, training in GPU mode
 * matching the CPU path, and the fallback from a failing GEMM provider. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "core/exec.h"
#include "core/graph_impl.h"
#include "ops/builders.h"
#include "gan/trainer.h"

static cgan_ctx *ctx_class(const char *cls)
{
    cgan_ctx *ctx = cgan_ctx_new();
    ck_assert_ptr_nonnull(ctx);
    TU_OK(ctx, cgan_ctx_set_device_class(ctx, cls));
    TU_OK(ctx, cgan_ctx_open(ctx, NULL));
    return ctx;
}

/* A context opened with name=value set (only while opening); *st is the open's status. */
static cgan_ctx *open_with(const char *name, const char *value, cgan_status *st)
{
    setenv(name, value, 1);
    cgan_ctx *ctx = cgan_ctx_new();
    ck_assert_ptr_nonnull(ctx);
    *st = cgan_ctx_open(ctx, NULL);
    unsetenv(name);
    return ctx;
}

/* The same, where opening must succeed. */
static cgan_ctx *ctx_with(const char *name, const char *value)
{
    cgan_status st;
    cgan_ctx *ctx = open_with(name, value, &st);
    ck_assert_msg(st == CGAN_OK, "%s=%s: cgan_ctx_open: %s", name, value, cgan_last_error(ctx));
    return ctx;
}

/* Opening with name=value set fails, naming the variable. */
static void open_fails(const char *name, const char *value)
{
    cgan_status st;
    cgan_ctx *ctx = open_with(name, value, &st);
    ck_assert_msg(st == CGAN_E_INVALID, "%s=%s opened (%s)", name, value, cgan_status_str(st));
    ck_assert_msg(strstr(cgan_last_error(ctx), name), "%s=%s: message '%s' does not name it", name,
                  value, cgan_last_error(ctx));
    cgan_ctx_destroy(ctx);
}

START_TEST(test_classes)
{
    cgan_ctx *def = tu_ctx(), *gpu = ctx_class("gpu"), *cpu = ctx_class("cpu");
    const cgan_profile *g = &gpu->profile, *c = &cpu->profile;
    ck_assert_int_eq(def->profile.dclass,
                     cgan_ctx_device(def)->type == CGAN_DEVICE_CPU ? CGAN_DEVICE_CPU : CGAN_DEVICE_GPU);
    ck_assert_int_eq(def->profile.class_forced, 0);
    ck_assert_int_eq(g->dclass, CGAN_DEVICE_GPU);
    ck_assert_int_eq(g->class_forced, 1);
    ck_assert_str_eq(g->gemm_provider, "own");
    ck_assert_str_eq(g->gemm_variant, "gpu");
    ck_assert_int_eq(g->conv_form, CGAN_CONV_FORM_IMPLICIT);
    ck_assert_int_eq(g->staging, CGAN_STAGING_PINNED);
    ck_assert_int_ge(g->bn_lanes, 1);
    ck_assert_uint_le((size_t)g->bn_lanes, g->wg_limit);
    ck_assert_uint_le(g->wg_limit, 256);
    ck_assert_uint_le((size_t)(g->conv_wx * g->conv_wy), g->wg_limit);
    ck_assert_int_eq(c->dclass, CGAN_DEVICE_CPU);
    ck_assert_str_eq(c->gemm_variant, "cpu");
    ck_assert_int_eq(c->conv_form, CGAN_CONV_FORM_PLANE);
    ck_assert_int_eq(c->bn_lanes, 1);
    ck_assert_int_eq(c->staging, CGAN_STAGING_PAGEABLE);
    char text[2048];
    ck_assert_int_gt(cgan_ctx_profile_str(gpu, text, sizeof text), 0);
    ck_assert_ptr_nonnull(strstr(text, "implicit"));
    ck_assert_ptr_nonnull(strstr(text, "gpu (forced)"));
    /* the class is chosen before opening */
    ck_assert_int_eq(cgan_ctx_set_device_class(gpu, "cpu"), CGAN_E_INVALID);
    cgan_ctx *bad = cgan_ctx_new();
    ck_assert_int_eq(cgan_ctx_set_device_class(bad, "tpu"), CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(bad), "tpu"));
    cgan_ctx_destroy(bad);
    cgan_ctx_destroy(def);
    cgan_ctx_destroy(gpu);
    cgan_ctx_destroy(cpu);
}
END_TEST

START_TEST(test_overrides)
{
    setenv("CGAN_DEVICE_CLASS", "gpu", 1);
    setenv("CGAN_BN_LANES", "8", 1);
    setenv("CGAN_CONV_FORM", "element", 1);
    setenv("CGAN_GEMM_PROVIDER", "clblast", 1);
    setenv("CGAN_STAGING", "pageable", 1);
    cgan_ctx *ctx = tu_ctx();
    ck_assert_int_eq(ctx->profile.dclass, CGAN_DEVICE_GPU);
    ck_assert_int_eq(ctx->profile.bn_lanes, 8);
    ck_assert_int_eq(ctx->profile.conv_form, CGAN_CONV_FORM_ELEMENT);
    ck_assert_str_eq(ctx->profile.gemm_provider, "clblast");
    ck_assert_int_eq(ctx->profile.gemm_pinned, 1);
    ck_assert_int_eq(ctx->profile.staging, CGAN_STAGING_PAGEABLE);
    ck_assert_ptr_nonnull(strstr(ctx->profile.overrides, "CGAN_BN_LANES=8"));
    unsetenv("CGAN_BN_LANES");
    unsetenv("CGAN_CONV_FORM");
    unsetenv("CGAN_GEMM_PROVIDER");
    unsetenv("CGAN_STAGING");
    TU_OK(ctx, cgan_profile_refresh(ctx));
    ck_assert_int_eq(ctx->profile.conv_form, CGAN_CONV_FORM_IMPLICIT);
    ck_assert_str_eq(ctx->profile.gemm_provider, "own");
    unsetenv("CGAN_DEVICE_CLASS");
    cgan_ctx_destroy(ctx);
    open_fails("CGAN_DEVICE_CLASS", "tpu");
    open_fails("CGAN_MEM_ALIGN", "1000");
    open_fails("CGAN_MEM_ALIGN", "8");      /* below every device's alignment */
    open_fails("CGAN_BN_LANES", "3");
    open_fails("CGAN_BN_LANES", "512");
    open_fails("CGAN_CONV_FORM", "winograd");
    open_fails("CGAN_GEMM_PROVIDER", "cublas");
    open_fails("CGAN_GEMM_PACK", "2");
    open_fails("CGAN_STAGING", "huge");
    open_fails("CGAN_WG_LIMIT", "0");
    open_fails("CGAN_BUCKET_MB", "abc");
    open_fails("CGAN_BUCKET_MB", "0");
    open_fails("CGAN_BUCKET_MB", "1e9");
}
END_TEST

/* CGAN_MEM_ALIGN=4096 (NVIDIA's 512 bytes): sub-buffers at other offsets are refused, and a
 * planned graph puts every parameter slot on a 512-byte boundary. */
START_TEST(test_mem_align)
{
    cgan_ctx *ctx = ctx_with("CGAN_MEM_ALIGN", "4096");
    ck_assert_uint_eq(ctx->profile.mem_align, 512);
    cl_mem big, sub = NULL;
    TU_OK(ctx, cgan_buffer_create(ctx, 4096, "parent", &big));
    ck_assert_int_eq(cgan_buffer_sub(ctx, big, 256, 256, "misaligned", &sub), CGAN_E_INVALID);
    TU_OK(ctx, cgan_buffer_sub(ctx, big, 512, 256, "aligned", &sub));
    cgan_buffer_release(sub);
    cgan_buffer_release(big);
    cgan_graph *g = cgan_graph_new(ctx, "align");
    int x = cgan_graph_input(g, "x", cgan_shape4(3, 5, 7, 7));
    int y = cgan_nn_conv2d(g, "c1", x, 3, 3, 1, 1, 1);
    cgan_nn_conv2d(g, "c2", y, 2, 3, 2, 1, 1);
    TU_OK(ctx, cgan_graph_plan(g, CGAN_MODE_TRAIN, 1));
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].kind == CGAN_TENSOR_PARAM)
            ck_assert_msg(g->t[i].arena_offset * sizeof(float) % 512 == 0, "%s at float %zu",
                          g->t[i].name, g->t[i].arena_offset);
    cgan_graph_destroy(g);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* CGAN_WG_LIMIT caps every kernel's limit, and a launch over it is refused by name. */
START_TEST(test_wg_limit)
{
    cgan_ctx *ctx = ctx_with("CGAN_WG_LIMIT", "16");
    ck_assert_uint_eq(ctx->profile.wg_limit, 16);
    cgan_kernel *k;
    TU_OK(ctx, cgan_kernel_get(ctx, "elementwise", NULL, "fill_range", &k));
    ck_assert_uint_le(cgan_kernel_max_wg(k), 16);
    cl_mem m = tu_poisoned(ctx, 64);
    cgan_range r = cgan_range_2d(64, 1, 32, 1);
    ck_assert_int_eq(cgan_launch(ctx, k, &r, CGAN_KINT(64), CGAN_KINT(0), CGAN_KFLOAT(1), CGAN_KMEM(m)),
                     CGAN_E_INVALID);
    ck_assert_ptr_nonnull(strstr(cgan_last_error(ctx), "fill_range"));
    r = cgan_range_2d(64, 1, 16, 1);
    TU_OK(ctx, cgan_launch(ctx, k, &r, CGAN_KINT(64), CGAN_KINT(0), CGAN_KFLOAT(1), CGAN_KMEM(m)));
    float h[64];
    tu_download(ctx, m, h, 64);
    for (int i = 0; i < 64; i++) ck_assert_float_eq(h[i], 1.0f);
    cgan_buffer_release(m);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Pinned staging: a mapped CL_MEM_ALLOC_HOST_PTR buffer that uploads read from. */
START_TEST(test_pinned_staging)
{
    cgan_ctx *ctx = ctx_class("gpu");
    cgan_staging s;
    uint64_t before = ctx->sync.buffers;
    TU_OK(ctx, cgan_staging_alloc(ctx, 1000 * sizeof(float), "test", &s));
    ck_assert_ptr_nonnull(s.buf);
    ck_assert_uint_eq(ctx->sync.buffers, before + 1);
    float *h = s.host, back[1000];
    for (int i = 0; i < 1000; i++) h[i] = (float)i * 0.5f;
    cl_mem d = tu_poisoned(ctx, 1000);
    cl_event e;
    TU_OK(ctx, cgan_buffer_write_async(ctx, d, 0, 1000 * sizeof(float), h, &e));
    TU_OK(ctx, cgan_wait_for_reuse(ctx, e, "test upload"));
    clReleaseEvent(e);
    tu_download(ctx, d, back, 1000);
    for (int i = 0; i < 1000; i++) ck_assert_float_eq(back[i], (float)i * 0.5f);
    cgan_staging_free(ctx, &s);
    ck_assert_ptr_null(s.buf);
    cgan_staging_free(ctx, &s); /* twice is harmless */
    cgan_buffer_release(d);
    cgan_ctx_destroy(ctx);
}
END_TEST

static cgan_train_cfg tiny_cfg(void)
{
    cgan_train_cfg c = cgan_train_defaults();
    c.model.batch = 5;
    c.model.ngf = c.model.ndf = 8;
    c.model.nz = 12;
    c.model.num_classes = 3;
    c.model.cond = CGAN_COND_CONCAT;
    c.seed = 31;
    return c;
}

/* Two steps of the tiny model; the log rows and G's Adam first moment (its gradients). */
static void two_steps(cgan_ctx *ctx, float *log, float **m_out, size_t *n_out)
{
    cgan_train_cfg c = tiny_cfg();
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    size_t n = (size_t)c.model.batch * 32 * 32;
    float *x = malloc(n * sizeof *x), y[5] = { 0, 1, 2, 0, 1 };
    cgan_rng r;
    cgan_rng_init(&r, 4, 4);
    for (int s = 0; s < 2; s++) {
        cgan_rng_fill_uniform(&r, x, n, -1, 1);
        TU_OK(ctx, cgan_trainer_step(t, x, y));
    }
    int64_t steps[2];
    int got = 0;
    TU_OK(ctx, cgan_trainer_read_log(t, log, steps, 2, &got));
    ck_assert_int_eq(got, 2);
    size_t np = cgan_trainer_param_count(t, 0);
    float *m = malloc(np * sizeof *m);
    tu_download(ctx, cgan_trainer_adam_m(t, 0), m, np);
    *m_out = m;
    *n_out = np;
    free(x);
    cgan_trainer_destroy(t);
}

/* GPU mode (own gpu GEMM, implicit convolutions, 32-lane BatchNorm, pinned staging) trains
 * like the CPU path: the same losses and gradients up to float rounding. */
START_TEST(test_gpu_matches_cpu)
{
    cgan_ctx *cpu = ctx_class("cpu"), *gpu = ctx_class("gpu");
    float lc[2 * CGAN_LOG_FIELDS], lg[2 * CGAN_LOG_FIELDS];
    float *mc, *mg;
    size_t nc, ng;
    two_steps(cpu, lc, &mc, &nc);
    two_steps(gpu, lg, &mg, &ng);
    ck_assert_uint_eq(nc, ng);
    for (int i = 0; i < 2 * CGAN_LOG_FIELDS; i++) {
        if (i % CGAN_LOG_FIELDS == CGAN_LOG_LOSS_D_WRONG) continue; /* not a text model */
        ck_assert_msg(fabsf(lc[i] - lg[i]) <= 1e-4f + 1e-4f * fabsf(lc[i]),
                      "log field %d: cpu %.7g gpu %.7g", i, lc[i], lg[i]);
    }
    double err = 0, scale = 0;
    for (size_t i = 0; i < nc; i++) {
        ck_assert_msg(isfinite(mg[i]), "gpu Adam m[%zu] = %g", i, mg[i]);
        double d = fabs((double)mc[i] - mg[i]);
        if (d > err) err = d;
        if (fabs(mc[i]) > scale) scale = fabs(mc[i]);
    }
    ck_assert_msg(scale > 0 && err <= 1e-3 * scale, "G's Adam m differs by %g (scale %g)", err, scale);
    free(mc);
    free(mg);
    cgan_ctx_destroy(cpu);
    cgan_ctx_destroy(gpu);
}
END_TEST

/* A provider that fails on a shape: training goes on on our own GEMM and says so once. At
 * a device limit of 16 items CLBlast's kernels (64 and more) are refused. */
START_TEST(test_provider_fallback)
{
    const char *cli = getenv("CGAN_CLI");
    char *dir = tu_tempdir("fallback");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "POCL_MAX_WORK_GROUP_SIZE=16 CGAN_GEMM_PROVIDER=clblast '%s' --device-class gpu "
             "train --out '%s/run' --steps 2 --batch 8 --ngf 8 --ndf 8 --max-images 64 "
             "--log-every 1 > '%s/out.txt' 2>&1", cli, dir, dir);
    int rc = system(cmd);
    char *out = tu_pathf("%s/out.txt", dir);
    FILE *f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    int warnings = 0, done = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "warning: gemm: clblast failed")) warnings++;
        if (!strncmp(line, "done", 4)) done = 1;
    }
    fclose(f);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "train exited %d (see %s)", rc, out);
    ck_assert_int_eq(warnings, 1);
    ck_assert_int_eq(done, 1);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("gpu_mode");
    TCase *tc = tcase_create("profile");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_classes);
    tcase_add_test(tc, test_overrides);
    tcase_add_test(tc, test_mem_align);
    tcase_add_test(tc, test_wg_limit);
    tcase_add_test(tc, test_pinned_staging);
    tcase_add_test(tc, test_gpu_matches_cpu);
    const char *cli = getenv("CGAN_CLI");
    if (tu_require(cli && access(cli, X_OK) == 0, 1, "cgan-cl ($CGAN_CLI, set by make check)") &&
        tu_require(access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0, 1,
                   "Fashion-MNIST (apt-get install dataset-fashion-mnist)"))
        tcase_add_test(tc, test_provider_fallback);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
