#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "gan/trainer.h"
#include "gan/checkpoint.h"
#include "core/exec.h"
#include "testutil.h"
#include "blas/gemm.h"

extern char **environ;

/* The probe runs in a child process: an OpenCL runtime started in the parent does not
 * survive Check's fork() of each test (PoCL's threads would be gone in the child). */
void tu_require_device(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        cgan_ctx *ctx = cgan_ctx_new();
        int ok = ctx && cgan_ctx_open(ctx, NULL) == CGAN_OK;
        if (!ok) printf("SKIP: no OpenCL device: %s\n", ctx ? cgan_last_error(ctx) : "out of memory");
        fflush(stdout);
        _exit(ok ? 0 : 77);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) exit(99);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) exit(77);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) exit(99);
}

cgan_ctx *tu_ctx(void)
{
    cgan_ctx *ctx = cgan_ctx_new();
    ck_assert_ptr_nonnull(ctx);
    cgan_status st = cgan_ctx_open(ctx, NULL);
    ck_assert_msg(st == CGAN_OK, "cgan_ctx_open: %s", cgan_last_error(ctx));
    return ctx;
}

static int missing, missing_strict;

int tu_require(int present, int ci_provides, const char *what)
{
    if (present) return 1;
    const char *strict = getenv("CGAN_TEST_STRICT");
    int fail = ci_provides && strict && *strict && strcmp(strict, "0") != 0;
    printf("%s: %s missing; the tests that need it are not run\n", fail ? "FAIL" : "SKIP", what);
    missing++;
    missing_strict += fail;
    return 0;
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed || missing_strict) return EXIT_FAILURE;
    return missing ? 77 : EXIT_SUCCESS;
}

char *tu_tempdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[1024];
    snprintf(tmpl, sizeof tmpl, "%s/cgan-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    char *d = mkdtemp(tmpl);
    ck_assert_msg(d != NULL, "mkdtemp %s failed", tmpl);
    char *out = strdup(d);
    ck_assert_ptr_nonnull(out);
    return out;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_pathf(const char *fmt, ...)
{
    static char buf[16][1400];
    static int k;
    char *p = buf[k++ % 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof buf[0], fmt, ap);
    va_end(ap);
    return p;
}

char *tu_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    for (size_t got; s && (got = fread(s + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (cap - len < 2) s = realloc(s, cap *= 2);
    }
    fclose(f);
    ck_assert_ptr_nonnull(s);
    s[len] = '\0';
    return s;
}

unsigned char *tu_read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    ck_assert(b && fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

void tu_png_size(const char *path, int *w, int *h)
{
    unsigned char p[24];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(p, 1, sizeof p, f) : 0;
    if (f) fclose(f);
    ck_assert_msg(n == sizeof p && memcmp(p, "\x89PNG", 4) == 0, "%s is not a PNG", path);
    *w = (p[16] << 24) | (p[17] << 16) | (p[18] << 8) | p[19];
    *h = (p[20] << 24) | (p[21] << 16) | (p[22] << 8) | p[23];
}

/* Whether the environment entry e ("NAME=value") is the variable name (no '=' in name). */
static int env_is(const char *e, const char *name, size_t name_len)
{
    return !strncmp(e, name, name_len) && e[name_len] == '=';
}

int tu_spawn(const char *tag, const char *exe, const char *const *argv,
             const char *const *env_set, const char *const *env_unset, char **out, char **err)
{
    size_t n = 1;
    for (int i = 0; env_set && env_set[i]; i++) n++;
    for (char **e = environ; *e; e++) n++;
    const char **envp = malloc(n * sizeof *envp);
    ck_assert_ptr_nonnull(envp);
    size_t ne = 0;
    for (int i = 0; env_set && env_set[i]; i++) envp[ne++] = env_set[i];
    for (char **e = environ; *e; e++) {
        int skip = 0; /* a setting given above wins; a dropped name goes */
        for (int i = 0; env_set && env_set[i]; i++)
            skip |= env_is(*e, env_set[i], strcspn(env_set[i], "="));
        for (int i = 0; env_unset && env_unset[i]; i++)
            skip |= env_is(*e, env_unset[i], strlen(env_unset[i]));
        if (!skip) envp[ne++] = *e;
    }
    envp[ne] = NULL;
    char *dir = tu_tempdir(tag), o[1100], e2[1100];
    snprintf(o, sizeof o, "%s/out", dir);
    snprintf(e2, sizeof e2, "%s/err", dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, e2, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    fflush(stdout);
    int rc = posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, (char *const *)envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    ck_assert_msg(rc == 0, "posix_spawn %s: %s", exe, strerror(rc));
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    *out = tu_read_text(o);
    *err = tu_read_text(e2);
    tu_rmtree(dir);
    free(dir);
    ck_assert_msg(WIFEXITED(status), "%s %s did not exit (stderr: %s)", exe,
                  argv[0] && argv[1] ? argv[1] : "", *err);
    return WEXITSTATUS(status);
}

cl_mem tu_upload(cgan_ctx *ctx, const float *h, size_t n)
{
    cl_mem m = NULL;
    TU_OK(ctx, cgan_buffer_create(ctx, n * sizeof(float), "test", &m));
    TU_OK(ctx, cgan_buffer_write(ctx, m, 0, n * sizeof(float), h));
    return m;
}

cl_mem tu_poisoned(cgan_ctx *ctx, size_t n)
{
    cl_mem m = NULL;
    TU_OK(ctx, cgan_buffer_create(ctx, n * sizeof(float), "poisoned", &m));
    TU_OK(ctx, cgan_buffer_fill_f32(ctx, m, 0, n, NAN));
    return m;
}

void tu_download(cgan_ctx *ctx, cl_mem m, float *h, size_t n)
{
    TU_OK(ctx, cgan_buffer_read(ctx, m, 0, n * sizeof(float), h));
}

float *tu_random(cgan_rng *r, size_t n, float lo, float hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    cgan_rng_fill_uniform(r, x, n, lo, hi);
    return x;
}

/* Host reference of one row-major GEMM; c is read only when beta != 0. */
void tu_ref_gemm(const cgan_gemm_args *g, const float *a, const float *b, const float *c0,
                     double *c, size_t batch_i)
{
    const float *A = a + g->a_off + batch_i * g->a_stride;
    const float *B = b + g->b_off + batch_i * g->b_stride;
    size_t co = g->c_off + batch_i * g->c_stride;
    for (size_t i = 0; i < g->m; i++)
        for (size_t j = 0; j < g->n; j++) {
            double s = 0;
            for (size_t l = 0; l < g->k; l++) {
                double av = g->ta ? A[l * g->lda + i] : A[i * g->lda + l];
                double bv = g->tb ? B[j * g->ldb + l] : B[l * g->ldb + j];
                s += av * bv;
            }
            double r = g->alpha * s;
            if (g->beta != 0.0f) r += (double)g->beta * c0[co + i * g->ldc + j];
            c[co + i * g->ldc + j] = r;
        }
}

int tu_clblast_fits(cgan_ctx *ctx, const char *what)
{
    size_t lim = cgan_ctx_device(ctx)->max_work_group;
    if (lim >= 256) return 1;
    printf("SKIP %s: the device's work-groups hold %zu items, CLBlast's tunings up to 256\n",
           what, lim);
    return 0;
}

char *tu_cli_out, *tu_cli_err;

int tu_cli(const char *first, ...)
{
    const char *exe = getenv("CGAN_CLI");
    ck_assert_msg(exe != NULL, "CGAN_CLI is not set");
    const char *argv[64];
    int n = 0;
    argv[n++] = "cgan-cl";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        ck_assert_msg(n < 63, "tu_cli: too many arguments");
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    free(tu_cli_out);
    free(tu_cli_err);
    tu_cli_out = tu_cli_err = NULL;
    return tu_spawn("cli", exe, argv, NULL, NULL, &tu_cli_out, &tu_cli_err);
}

cgan_train_cfg tu_tiny_train_cfg(int cond)
{
    cgan_train_cfg c = cgan_train_defaults();
    c.model.batch = 4;
    c.model.ngf = c.model.ndf = 8;
    c.model.nz = 12;
    c.model.num_classes = cond == CGAN_COND_NONE ? 0 : 3;
    c.model.cond = (cgan_cond)cond;
    c.seed = 99;
    return c;
}

void tu_real_batch(const cgan_train_cfg *c, int64_t s, float *x, float *y)
{
    cgan_rng r;
    cgan_rng_init(&r, 7, (uint32_t)s);
    size_t n = (size_t)c->model.batch * c->model.nc * 32 * 32;
    cgan_rng_fill_uniform(&r, x, n, -1, 1);
    for (int i = 0; i < c->model.batch; i++) y[i] = (float)(c->model.num_classes ? i % c->model.num_classes : 0);
}

void tu_train_steps(cgan_ctx *ctx, cgan_trainer *t, int steps, float *log_out)
{
    const cgan_train_cfg *c = cgan_trainer_cfg(t);
    float *x = malloc((size_t)c->model.batch * 32 * 32 * sizeof *x), y[64];
    for (int i = 0; i < steps; i++) {
        tu_real_batch(c, cgan_trainer_steps(t), x, y);
        TU_OK(ctx, cgan_trainer_step(t, x, y));
    }
    free(x);
    float rows[64 * CGAN_LOG_FIELDS];
    int64_t st[64];
    int n = 0;
    TU_OK(ctx, cgan_trainer_read_log(t, rows, st, 64, &n));
    ck_assert_int_eq(n, steps);
    if (log_out) memcpy(log_out, rows, (size_t)n * CGAN_LOG_FIELDS * sizeof(float));
}

/* Train `total` steps straight, and again as `half` steps, a checkpoint, a fresh trainer
 * loading it, and the rest: the logs (and the EMA of G) must agree bit for bit, and the
 * settings come back from the checkpoint's config. */
void tu_check_resume(cgan_ctx *ctx, const cgan_train_cfg *c, int total, int half, const char *tag)
{
    char *dir = tu_tempdir(tag);
    const char *path = tu_pathf("%s/a.safetensors", dir);
    char *classes[3] = { "a", "b", "c" };
    float *full = malloc((size_t)total * CGAN_LOG_FIELDS * sizeof *full);
    float *part = malloc((size_t)total * CGAN_LOG_FIELDS * sizeof *part);
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, c, &t));
    tu_train_steps(ctx, t, total, full);
    size_t np = 0;
    cgan_graph_param_arena(cgan_trainer_graph(t, 0), &np);
    float *ema_full = malloc(np * sizeof *ema_full), *ema_part = malloc(np * sizeof *ema_part);
    if (c->ema > 0) TU_OK(ctx, cgan_buffer_read(ctx, cgan_trainer_ema(t), 0, np * sizeof(float), ema_full));
    cgan_trainer_destroy(t);
    TU_OK(ctx, cgan_trainer_create(ctx, c, &t));
    tu_train_steps(ctx, t, half, NULL);
    TU_OK(ctx, cgan_checkpoint_save(t, path, classes, 3, NULL, 0));
    cgan_trainer_destroy(t);
    /* the settings come back from the checkpoint's config */
    cgan_st_file *f;
    cgan_train_cfg back;
    TU_OK(ctx, cgan_st_open(ctx, path, &f));
    TU_OK(ctx, cgan_checkpoint_config(ctx, f, &back));
    cgan_st_close(f);
    ck_assert_int_eq(back.lr_schedule, c->lr_schedule);
    ck_assert_int_eq(back.warmup, c->warmup);
    ck_assert_int_eq(back.lr_steps, c->lr_steps);
    ck_assert(back.label_smooth == c->label_smooth);
    ck_assert(back.ema_rampup == c->ema_rampup);
    ck_assert_int_eq(back.standing_stats, cgan_train_standing_batches(c));
    ck_assert_int_eq(back.model.spectral_norm, c->model.spectral_norm);
    ck_assert_int_eq(back.model.mbstd, c->model.mbstd);
    if (!c->model.desc) ck_assert_ptr_null(back.model.desc); /* loads as the built-in family */
    TU_OK(ctx, cgan_trainer_create(ctx, &back, &t));
    TU_OK(ctx, cgan_checkpoint_load(t, path, NULL));
    tu_train_steps(ctx, t, total - half, part);
    for (int i = 0; i < (total - half) * CGAN_LOG_FIELDS; i++)
        ck_assert_msg(part[i] == full[half * CGAN_LOG_FIELDS + i], "%s: resumed run differs at %d: %g vs %g", tag, i,
                      part[i], full[half * CGAN_LOG_FIELDS + i]);
    if (c->ema > 0) {   /* the EMA of G too, with its warm-up */
        TU_OK(ctx, cgan_buffer_read(ctx, cgan_trainer_ema(t), 0, np * sizeof(float), ema_part));
        ck_assert_msg(!memcmp(ema_full, ema_part, np * sizeof(float)), "%s: the resumed run's EMA differs", tag);
    }
    cgan_trainer_destroy(t);
    tu_rmtree(dir);
    free(full);
    free(part);
    free(ema_full);
    free(ema_part);
}
