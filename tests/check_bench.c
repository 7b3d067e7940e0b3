/* cgan-bench smoke tests (each subcommand on tiny sizes emits valid JSON with the metadata),
 * the GEMM check's failure on a deliberately wrong result, and the tuning table: written by
 * `cgan-bench tune`, reloaded and applied by cgan_gemm, ignored with a warning when damaged,
 * and never won by a wrong candidate. The binary is $CGAN_BENCH. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "blas/gemm.h"
#include "blas/tune.h"
#include "gan/checkpoint.h"
#include "gan/trainer.h"

static char *out_buf, *err_buf; /* of the last run */

/* Run $CGAN_BENCH with args (NULL-terminated) and extra "NAME=value" settings (env,
 * NULL-terminated, may be NULL); stdout and stderr land in out_buf / err_buf. Returns the
 * exit status. */
#define bench(env, ...) bench_args((env), (const char *const[]){ __VA_ARGS__ })
static int bench_args(const char *const *env, const char *const *args)
{
    const char *exe = getenv("CGAN_BENCH");
    ck_assert_msg(exe != NULL, "CGAN_BENCH is not set");
    const char *argv[40] = { exe };
    for (int i = 0; args[i]; i++) {
        ck_assert_int_lt(i, 38);
        argv[i + 1] = args[i];
    }
    free(out_buf);
    free(err_buf);
    out_buf = err_buf = NULL;
    return tu_spawn("bench-out", exe, argv, env, NULL, &out_buf, &err_buf);
}

/* The records of out_buf named bench_name (all when NULL), in an array; every line must
 * parse and carry the metadata. */
static json_t *records(const char *bench_name)
{
    json_t *all = json_array();
    char *text = strdup(out_buf);
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        json_error_t je;
        json_t *r = json_loads(line, 0, &je);
        ck_assert_msg(r != NULL, "not JSON (%s): %s", je.text, line);
        const char *b = json_string_value(json_object_get(r, "bench"));
        ck_assert_ptr_nonnull(b);
        ck_assert(json_is_string(json_object_get(r, "device")));
        json_t *m = json_object_get(r, "meta");
        static const char *const keys[] = { "device", "vendor", "driver_version",
                                             "opencl_c_version", "platform", "clblast_version",
                                             "git_revision", "build_cflags", "date" };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            ck_assert_msg(json_is_string(json_object_get(m, keys[i])), "meta.%s missing", keys[i]);
        ck_assert(strlen(json_string_value(json_object_get(m, "date"))) == 20);
        if (!bench_name || !strcmp(b, bench_name)) json_array_append_new(all, r);
        else json_decref(r);
    }
    free(text);
    ck_assert_msg(json_array_size(all) > 0, "no '%s' records in: %s", bench_name ? bench_name : "",
                  err_buf);
    return all;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "field %s missing", key);
    return json_number_value(v);
}

/* The result of provider p in a gemm record, or NULL. */
static json_t *result_of(json_t *rec, const char *p)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(rec, "results"), i, r)
        if (!strcmp(json_string_value(json_object_get(r, "provider")), p)) return r;
    return NULL;
}

#define GEMM_TINY "gemm", "--json", "--batch", "2", "--repeat", "1", "--warmup", "0"

START_TEST(test_gemm)
{
    ck_assert_int_eq(bench(NULL, GEMM_TINY, "--arch", "seed32", "--square", "32,48", NULL), 0);
    json_t *all = records("gemm");
    size_t i;
    json_t *rec;
    int seed = 0, square = 0;
    json_array_foreach(all, i, rec) {
        json_t *shape = json_object_get(rec, "shape");
        const char *origin = json_string_value(json_object_get(shape, "origin"));
        seed += !strcmp(origin, "seed32") && num(shape, "calls_per_step") >= 1;
        square += !strcmp(origin, "square");
        ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "ok");
        for (int p = 0; p < 2; p++) {
            json_t *r = result_of(rec, p ? "clblast" : "own");
            ck_assert_ptr_nonnull(r);
            ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "ok");
            ck_assert(num(r, "gflops_host") > 0 && num(r, "host_ms") > 0);
            ck_assert(num(r, "event_ms") >= 0 && num(r, "max_err_over_tol") <= 1);
        }
        ck_assert_ptr_null(result_of(rec, "tuned")); /* no tuning file in this cache */
    }
    ck_assert_int_ge(seed, 10);
    ck_assert_int_eq(square, 2);
    json_decref(all);
    all = records("gemm-summary"); /* per model: GEMM time of a training step */
    ck_assert_int_eq(json_array_size(all), 1);
    rec = json_array_get(all, 0);
    ck_assert_str_eq(json_string_value(json_object_get(rec, "origin")), "seed32");
    ck_assert(num(json_object_get(rec, "own"), "ms") > 0 && num(rec, "gflop_per_step") > 0);
    json_decref(all);
}
END_TEST

START_TEST(test_gemm_list)
{
    ck_assert_int_eq(bench(NULL, "gemm", "--list", "--json", "--batch", "2", "--square", "none",
                           NULL), 0);
    json_t *all = records("gemm-shape");
    size_t i;
    json_t *rec;
    int seed = 0, dcgan = 0, forms = 0;
    json_array_foreach(all, i, rec) {
        json_t *s = json_object_get(rec, "shape");
        const char *origin = json_string_value(json_object_get(s, "origin"));
        seed += !strcmp(origin, "seed32");
        dcgan += !strcmp(origin, "dcgan64");
        const char *ta = json_string_value(json_object_get(s, "ta"));
        const char *tb = json_string_value(json_object_get(s, "tb"));
        forms |= 1 << ((*ta == 'T') * 2 + (*tb == 'T'));
        ck_assert(num(s, "m") >= 1 && num(s, "n") >= 1 && num(s, "k") >= 1);
    }
    ck_assert_int_ge(seed, 10);
    ck_assert_int_ge(dcgan, 10);
    ck_assert_int_eq(forms & 7, 7); /* forward NN, backward TN and NT (weight gradients) */
    json_decref(all);
}
END_TEST

/* A wrong result must show as FAIL and make the exit status non-zero, with the OpenBLAS
 * reference (when built with it) and with the plain loop. */
START_TEST(test_gemm_inject)
{
    ck_assert_int_eq(bench(NULL, GEMM_TINY, "--arch", "none", "--square", "40,96",
                           "--inject-error", "clblast", NULL), 1);
    json_t *all = records("gemm");
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) {
        ck_assert_str_eq(json_string_value(json_object_get(rec, "status")), "FAIL");
        ck_assert_str_eq(json_string_value(json_object_get(result_of(rec, "clblast"), "status")), "FAIL");
        ck_assert_str_eq(json_string_value(json_object_get(result_of(rec, "own"), "status")), "ok");
    }
    json_decref(all);
    const char *env[] = { "CGAN_BENCH_CORRUPT=own", "CGAN_BENCH_PLAIN_REF=1", NULL };
    ck_assert_int_eq(bench(env, "gemm", "--batch", "2", "--repeat", "1", "--arch", "seed32",
                           "--square", "none", NULL), 1);
    ck_assert_msg(strstr(out_buf, "FAIL(own)") != NULL, "%s", out_buf);
    ck_assert_msg(strstr(out_buf, "wrong GEMM result") != NULL, "%s", out_buf);
}
END_TEST

START_TEST(test_ops)
{
    ck_assert_int_eq(bench(NULL, "ops", "--json", "--batch", "2", "--repeat", "1", NULL), 0);
    json_t *all = records("ops");
    ck_assert_int_eq(json_array_size(all), 2);
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) {
        ck_assert(num(rec, "total_ms") > 0 && num(rec, "host_ms") > 0 && num(rec, "event_ms") > 0);
        ck_assert_int_ge(json_array_size(json_object_get(rec, "layers")), 5);
        /* the kernels of a pass: device times that add up to at most the pass's */
        json_t *ks = json_object_get(rec, "kernels");
        ck_assert_int_ge(json_array_size(ks), 3);
        size_t j;
        json_t *k;
        double sum = 0;
        json_array_foreach(ks, j, k) {
            ck_assert(json_string_value(json_object_get(k, "name")) != NULL);
            ck_assert(num(k, "calls") > 0 && num(k, "ms") >= 0);
            sum += num(k, "ms");
        }
        ck_assert_msg(sum > 0 && sum <= 1.05 * num(rec, "event_ms") + 0.5,
                      "kernels %.3f ms, pass %.3f ms", sum, num(rec, "event_ms"));
    }
    json_decref(all);
}
END_TEST

static void step_like(const char *cmd, const char *name)
{
    ck_assert_int_eq(bench(NULL, cmd, "--json", "--batch", "2", "--repeat", "2", "--warmup", "0",
                           NULL), 0);
    json_t *all = records(name);
    ck_assert_int_eq(json_array_size(all), 2);
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) {
        ck_assert(num(rec, "img_per_s") > 0 && num(rec, "ms") > 0 && num(rec, "event_ms") > 0);
        ck_assert_int_eq((int)num(rec, "batch"), 2);
        /* the widths are said, not assumed (issue 15, defect 24) */
        ck_assert_int_eq((int)num(rec, "ngf"), 64);
        ck_assert_int_eq((int)num(rec, "ndf"), 64);
    }
    json_t *s0 = json_array_get(all, 0), *s1 = json_array_get(all, 1);
    ck_assert_str_eq(json_string_value(json_object_get(s0, "arch")), "seed32");
    ck_assert_int_eq((int)num(s0, "nc"), 1);
    ck_assert_int_eq((int)num(s0, "classes"), 10);
    ck_assert_str_eq(json_string_value(json_object_get(s1, "arch")), "dcgan64");
    ck_assert_int_eq((int)num(s1, "nc"), 3);
    json_decref(all);
}

START_TEST(test_step)
{
    step_like("step", "train");
    /* --device-class: the GPU profile on this device; a class that is neither is refused */
    ck_assert_int_eq(bench(NULL, "step", "--device-class", "gpu", "--arch", "seed32", "--batch",
                           "2", "--repeat", "1", "--warmup", "0", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "seed32"));
    ck_assert_ptr_nonnull(strstr(out_buf, "ngf=64 ndf=64"));
    ck_assert_int_eq(bench(NULL, "step", "--arch", "seed32", "--ngf", "8", "--ndf", "16", "--batch", "2",
                           "--repeat", "1", "--warmup", "0", NULL), 0);
    ck_assert_msg(strstr(out_buf, "ngf=8 ndf=16"), "%s", out_buf);
    ck_assert_int_eq(bench(NULL, "step", "--device-class", "tpu", NULL), 1);
    ck_assert_ptr_nonnull(strstr(err_buf, "device class 'tpu'"));
}
END_TEST

START_TEST(test_generate) { step_like("generate", "generate"); }
END_TEST

/* A tiny conditional model two steps in, and an IDX test split of 40 images. */
static void write_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };
    ck_assert_int_eq(fwrite(b, 1, 4, f), 4);
}

START_TEST(test_condacc)
{
    char *dir = tu_tempdir("bench-condacc"), ckpt[1200], p[1200];
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = cgan_train_defaults();
    c.model.batch = 4;
    c.model.ngf = c.model.ndf = 8;
    c.model.nz = 12;
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    cgan_rng r;
    cgan_rng_init(&r, 2, 2);
    float *x = tu_random(&r, 4 * 32 * 32, -1, 1), y[4] = { 0, 1, 2, 3 };
    TU_OK(ctx, cgan_trainer_step(t, x, y));
    snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", dir);
    TU_OK(ctx, cgan_checkpoint_save(t, ckpt, NULL, 0, NULL, 0));
    cgan_trainer_destroy(t);
    cgan_ctx_destroy(ctx);
    free(x);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    FILE *fi = fopen(p, "wb");
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", dir);
    FILE *fl = fopen(p, "wb");
    ck_assert(fi && fl);
    write_be32(fi, 0x803);
    write_be32(fi, 40);
    write_be32(fi, 28);
    write_be32(fi, 28);
    write_be32(fl, 0x801);
    write_be32(fl, 40);
    for (int i = 0; i < 40; i++) {
        unsigned char img[28 * 28], lab = (unsigned char)(i % 10);
        for (int k = 0; k < 28 * 28; k++) img[k] = (unsigned char)((k * 7 + i * 31 + lab * 40) & 255);
        ck_assert_int_eq(fwrite(img, 1, sizeof img, fi), sizeof img);
        ck_assert_int_eq(fwrite(&lab, 1, 1, fl), 1);
    }
    fclose(fi);
    fclose(fl);
    ck_assert_int_eq(bench(NULL, "condacc", "--json", "--checkpoint", ckpt, "--data", dir,
                           "--per-class", "2", NULL), 0);
    json_t *all = records("condacc");
    json_t *rec = json_array_get(all, 0);
    double gen = num(rec, "generated");
    ck_assert(gen >= 0 && gen <= 1);
    ck_assert_int_eq((int)num(rec, "per_class"), 2);
    json_decref(all);
    /* a run folder means its latest checkpoint, as for cgan-cl generate */
    snprintf(p, sizeof p, "%s/latest", dir);
    FILE *fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("model.safetensors\n", fp);
    fclose(fp);
    ck_assert_int_eq(bench(NULL, "condacc", "--json", "--checkpoint", dir, "--data", dir,
                           "--per-class", "2", NULL), 0);
    all = records("condacc");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "checkpoint")), ckpt);
    json_decref(all);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- tuning ------------------------------------------------------------------------------ */
/* A fresh cache folder for this test (forked: the environment change stays here) and the
 * path of its tuning file. */
static char *tune_setup(char *path, size_t n)
{
    char *dir = tu_tempdir("bench-tune");
    setenv("CGAN_CACHE_DIR", dir, 1);
    cgan_ctx *ctx = tu_ctx();
    TU_OK(ctx, cgan_tune_path(ctx, path, n));
    cgan_ctx_destroy(ctx);
    return dir;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Runs tune on seed32 at batch 2; returns its records (the summary checked here). */
static json_t *run_tune(const char *path, const char *budget, const char *inject)
{
    int rc = inject ? bench(NULL, "tune", "--json", "--arch", "seed32", "--batch", "2", "--repeat",
                            "1", "--warmup", "0", "--budget", budget, "--no-model-check",
                            "--inject-error", inject, NULL)
                    : bench(NULL, "tune", "--json", "--arch", "seed32", "--batch", "2", "--repeat",
                            "1", "--warmup", "0", "--budget", budget, "--no-model-check", NULL);
    ck_assert_msg(rc == 0, "tune failed: %s", err_buf);
    json_t *all = records(NULL);
    json_t *sum = json_array_get(all, json_array_size(all) - 1);
    ck_assert_str_eq(str(sum, "bench"), "tune-summary");
    ck_assert_str_eq(str(sum, "file"), path);
    ck_assert(json_is_true(json_object_get(sum, "written")));
    ck_assert_int_eq((int)num(sum, "shapes"), (int)json_array_size(all) - 1);
    return all;
}

static void load_table(const char *path, cgan_tune_table *t)
{
    cgan_ctx *ctx = tu_ctx();
    TU_OK(ctx, cgan_tune_load(ctx, t));
    ck_assert_int_ge(t->n, 1);
    for (int i = 0; i < t->n; i++) TU_OK(ctx, cgan_tune_choice_check(ctx, t->e[i].choice));
    cgan_ctx_destroy(ctx);
    (void)path;
}

/* tune writes the table; gemm then runs the stored choices, correctly; a damaged table is
 * ignored with a warning. */
START_TEST(test_tune_cli)
{
    char path[1200];
    char *dir = tune_setup(path, sizeof path);
    json_t *all = run_tune(path, "2", NULL);
    for (size_t i = 0; i + 1 < json_array_size(all); i++) {
        json_t *rec = json_array_get(all, i), *after = json_object_get(rec, "after");
        ck_assert_str_eq(str(rec, "bench"), "tune");
        ck_assert_ptr_nonnull(str(json_object_get(rec, "before"), "choice"));
        const char *win = str(after, "choice");
        ck_assert_ptr_nonnull(win); /* the default at least was measured, and it is correct */
        int found = 0;
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(rec, "candidates"), k, c)
            found |= !strcmp(str(c, "choice"), win) && !strcmp(str(c, "status"), "ok");
        ck_assert_msg(found, "winner %s is not a checked candidate", win);
    }
    json_decref(all);
    cgan_tune_table t;
    load_table(path, &t);
    cgan_tune_table_free(&t);

    ck_assert_int_eq(bench(NULL, GEMM_TINY, "--arch", "seed32", "--square", "none", NULL), 0);
    all = records("gemm");
    size_t i;
    json_t *rec;
    int tuned = 0;
    json_array_foreach(all, i, rec) {
        json_t *r = result_of(rec, "tuned");
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(str(r, "status"), "ok");
        tuned += !strncmp(str(r, "route"), "tuned:", 6);
    }
    ck_assert_int_eq(tuned, (int)json_array_size(all));
    json_decref(all);

    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{ \"format\": 1, \"entries\": [ {\"ta\": ", f);
    fclose(f);
    ck_assert_int_eq(bench(NULL, GEMM_TINY, "--arch", "none", "--square", "24", NULL), 0);
    all = records("gemm");
    rec = json_array_get(all, 0);
    ck_assert_ptr_null(result_of(rec, "tuned"));
    ck_assert_msg(str(rec, "tune_warning") && strstr(str(rec, "tune_warning"), "ignored"),
                  "no tune_warning in %s", out_buf);
    ck_assert_msg(strstr(err_buf, "warning") != NULL, "%s", err_buf);
    json_decref(all);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Every own candidate returns a wrong result: none may win, although they are the fastest
 * on a CPU; CLBlast, correct, wins where it was measured. */
START_TEST(test_tune_rejects_wrong)
{
    char path[1200];
    char *dir = tune_setup(path, sizeof path);
    json_t *all = run_tune(path, "8", "own");
    int clblast = 0;
    for (size_t i = 0; i + 1 < json_array_size(all); i++) {
        json_t *rec = json_array_get(all, i);
        const char *win = str(json_object_get(rec, "after"), "choice");
        ck_assert_msg(!win || !strcmp(win, "clblast"), "wrong candidate %s won", win);
        clblast += win != NULL;
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(rec, "candidates"), k, c)
            if (!strncmp(str(c, "choice"), "own:", 4)) ck_assert_str_eq(str(c, "status"), "rejected");
    }
    ck_assert_int_ge(clblast, 1);
    json_decref(all);
    cgan_tune_table t;
    load_table(path, &t);
    for (int i = 0; i < t.n; i++) ck_assert_str_eq(t.e[i].choice, "clblast");
    cgan_tune_table_free(&t);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The model check: whole steps timed with and without the new table, which stays only
 * when they are --keep-margin times faster with it; otherwise the previous file comes
 * back byte for byte (or, with none before, no file remains). Margins 0 and 1000 force
 * both verdicts. */
static json_t *tune_margin(const char *margin)
{
    ck_assert_int_eq(bench(NULL, "tune", "--json", "--arch", "seed32", "--batch", "2",
                           "--repeat", "1", "--warmup", "0", "--budget", "1", "--keep-margin",
                           margin, NULL), 0);
    json_t *all = records("tune-summary");
    ck_assert_int_eq((int)json_array_size(all), 1);
    json_t *sum = json_incref(json_array_get(all, 0));
    json_decref(all);
    json_t *mc = json_object_get(sum, "model_check");
    ck_assert_msg(json_is_object(mc), "no model_check in %s", out_buf);
    ck_assert(num(mc, "default_ms") > 0 && num(mc, "tuned_ms") > 0);
    return sum;
}

START_TEST(test_tune_model_check)
{
    char path[1200];
    char *dir = tune_setup(path, sizeof path);
    struct stat sb;
    json_t *sum = tune_margin("1000"); /* no file before: none after */
    ck_assert(json_is_false(json_object_get(json_object_get(sum, "model_check"), "kept")));
    ck_assert(json_is_false(json_object_get(sum, "written")));
    ck_assert_int_ne(stat(path, &sb), 0);
    json_decref(sum);
    sum = tune_margin("0");
    ck_assert(json_is_true(json_object_get(json_object_get(sum, "model_check"), "kept")));
    ck_assert(json_is_true(json_object_get(sum, "written")));
    json_decref(sum);
    char *before = tu_read_text(path);
    ck_assert_ptr_nonnull(before);
    sum = tune_margin("1000"); /* the file of the run before comes back */
    ck_assert(json_is_false(json_object_get(sum, "written")));
    json_decref(sum);
    char *after = tu_read_text(path);
    ck_assert_ptr_nonnull(after);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- the table in the library ------------------------------------------------------------ */
static char route_seen[128];

static void observe(void *user, const cgan_gemm_args *g, const char *route)
{
    (void)user;
    (void)g;
    snprintf(route_seen, sizeof route_seen, "%s", route);
}

typedef struct small_gemm { cgan_gemm_args g; float *a, *b; } small_gemm;

static small_gemm small(cgan_ctx *ctx, size_t m, size_t n, size_t k)
{
    small_gemm s;
    cgan_rng r;
    cgan_rng_init(&r, (uint64_t)(m * 131 + n), 4);
    s.a = tu_random(&r, m * k, -1, 1);
    s.b = tu_random(&r, n * k, -1, 1);
    s.g = (cgan_gemm_args){ .ta = CGAN_NO_TRANS, .tb = CGAN_TRANS, .m = m, .n = n, .k = k,
                            .alpha = 1.0f, .beta = 0.0f, .a = tu_upload(ctx, s.a, m * k),
                            .lda = k, .b = tu_upload(ctx, s.b, n * k), .ldb = k,
                            .c = tu_poisoned(ctx, m * n), .ldc = n, .batch = 1 };
    return s;
}

/* Runs s through cgan_gemm, checks C against the double reference; returns the route. */
static const char *run_small(cgan_ctx *ctx, small_gemm *s)
{
    route_seen[0] = '\0';
    cgan_gemm_observe(ctx, observe, NULL);
    TU_OK(ctx, cgan_gemm(ctx, &s->g));
    cgan_gemm_observe(ctx, NULL, NULL);
    size_t mn = s->g.m * s->g.n;
    float *c = malloc(mn * sizeof *c);
    double *ref = malloc(mn * sizeof *ref);
    tu_download(ctx, s->g.c, c, mn);
    tu_ref_gemm(&s->g, s->a, s->b, NULL, ref, 0);
    for (size_t i = 0; i < mn; i++)
        ck_assert_msg(fabs(c[i] - ref[i]) < 1e-4, "C[%zu] = %g, want %g (route %s)", i, c[i],
                      ref[i], route_seen);
    free(c);
    free(ref);
    return route_seen;
}

static void free_small(small_gemm *s)
{
    cgan_buffer_release(s->g.a);
    cgan_buffer_release(s->g.b);
    cgan_buffer_release(s->g.c);
    free(s->a);
    free(s->b);
}

static const char *const xgemm_names[16] = { "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC",
                                             "MWG", "NDIMB", "NDIMC", "NWG", "SA", "SB",
                                             "STRM", "STRN", "VWM", "VWN" };
static const size_t xgemm_values[16] = { 0, 1, 16, 2, 8, 8, 32, 8, 8, 32, 0, 0, 0, 0, 4, 4 };

/* A stored table is loaded by a new context and applied to matching shapes only, unless
 * the provider is pinned or tuning is disabled; its CLBlast overrides are applied. */
START_TEST(test_tune_applied)
{
    char path[1200];
    char *dir = tune_setup(path, sizeof path);
    cgan_ctx *ctx = tu_ctx();
    small_gemm s1 = small(ctx, 7, 5, 9), s2 = small(ctx, 6, 33, 17), s3 = small(ctx, 3, 4, 5);
    cgan_tune_table t;
    cgan_tune_table_init(&t);
    cgan_tune_shape sh1 = cgan_tune_shape_of(&s1.g), sh2 = cgan_tune_shape_of(&s2.g);
    TU_OK(ctx, cgan_tune_table_set(ctx, &t, &sh1, "own:cpu-dot:vw=4,tm=2,tn=2", 1.0, 0.5));
    TU_OK(ctx, cgan_tune_table_set(ctx, &t, &sh2, "clblast", 1.0, 0.5));
    t.n_ov = 1;
    snprintf(t.ov[0].kernel, sizeof t.ov[0].kernel, "Xgemm");
    t.ov[0].count = 16;
    for (int i = 0; i < 16; i++) {
        snprintf(t.ov[0].names[i], sizeof t.ov[0].names[i], "%s", xgemm_names[i]);
        t.ov[0].values[i] = xgemm_values[i];
    }
    TU_OK(ctx, cgan_tune_save(ctx, &t));
    cgan_tune_table_free(&t);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    cgan_gemm_tune_reload(ctx); /* this context looked before the file existed */

    ck_assert_str_eq(run_small(ctx, &s1), "tuned:own:cpu-dot:vw=4,tm=2,tn=2");
    ck_assert_str_eq(cgan_gemm_route(ctx, &s1.g), "tuned:own:cpu-dot:vw=4,tm=2,tn=2");
    ck_assert_str_eq(run_small(ctx, &s2), "tuned:clblast");
    ck_assert_str_eq(run_small(ctx, &s3), cgan_gemm_current(ctx)->name); /* not in the table */
    ck_assert_ptr_null(cgan_gemm_tune_warning(ctx));
    ck_assert_str_eq(cgan_last_error(ctx), "");

    cgan_gemm_use(ctx, cgan_gemm_provider_clblast()); /* pinned: no table */
    ck_assert_str_eq(run_small(ctx, &s1), "clblast");
    cgan_gemm_use(ctx, NULL);
    setenv("CGAN_TUNE_DISABLE", "1", 1);
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    ck_assert_str_eq(run_small(ctx, &s1), cgan_gemm_current(ctx)->name);
    unsetenv("CGAN_TUNE_DISABLE");
    ck_assert_int_eq(cgan_profile_refresh(ctx), CGAN_OK);
    ck_assert_str_eq(run_small(ctx, &s1), "tuned:own:cpu-dot:vw=4,tm=2,tn=2");
    free_small(&s1);
    free_small(&s2);
    free_small(&s3);
    cgan_ctx_destroy(ctx);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A damaged, foreign or invalid table is ignored with a warning; GEMMs run as untuned. */
START_TEST(test_tune_damaged)
{
    char path[1200], key[CGAN_TUNE_KEY_MAX];
    char *dir = tune_setup(path, sizeof path);
    static const char *const bodies[] = {
        "not json at all",
        "{\"format\": 1, \"device_key\": \"some other GPU\", \"entries\": []}",
        "{\"format\": 1, \"device_key\": \"%s\", \"entries\": [{\"ta\": 0, \"tb\": 1, \"m\": 7, "
        "\"n\": 5, \"k\": 9, \"batch\": 1, \"lda\": 9, \"ldb\": 9, \"ldc\": 5, \"a_stride\": 0, "
        "\"b_stride\": 0, \"c_stride\": 0, \"choice\": \"own:warp-drive\"}]}",
        "{\"format\": 1, \"device_key\": \"%s\", \"entries\": [{\"ta\": 0, \"m\": -7}]}",
        "{\"format\": 99, \"device_key\": \"%s\", \"entries\": []}",
    };
    static const char *const why[] = { "line", "another device", "warp-drive", "lacks a field",
                                       "unknown format" };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        cgan_ctx *ctx = tu_ctx();
        TU_OK(ctx, cgan_tune_device_key(ctx, key, sizeof key));
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, bodies[i], key);
        fclose(f);
        small_gemm s = small(ctx, 7, 5, 9);
        ck_assert_str_eq(run_small(ctx, &s), cgan_gemm_current(ctx)->name);
        const char *w = cgan_gemm_tune_warning(ctx);
        ck_assert_msg(w && strstr(w, "ignored") && strstr(w, why[i]), "case %zu: warning '%s'", i,
                      w ? w : "(none)");
        ck_assert_str_eq(cgan_last_error(ctx), "");
        free_small(&s);
        cgan_ctx_destroy(ctx);
    }
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bench");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_gemm);
    tcase_add_test(tc, test_gemm_list);
    tcase_add_test(tc, test_gemm_inject);
    tcase_add_test(tc, test_ops);
    tcase_add_test(tc, test_step);
    tcase_add_test(tc, test_generate);
    tcase_add_test(tc, test_condacc);
    tcase_add_test(tc, test_tune_cli);
    tcase_add_test(tc, test_tune_rejects_wrong);
    tcase_add_test(tc, test_tune_model_check);
    suite_add_tcase(s, tc);
    TCase *lib = tcase_create("table");
    tcase_set_timeout(lib, 300);
    tcase_add_test(lib, test_tune_applied);
    tcase_add_test(lib, test_tune_damaged);
    suite_add_tcase(s, lib);
    return s;
}

int main(void)
{
    tu_require_device();
    return tu_run(suite());
}
