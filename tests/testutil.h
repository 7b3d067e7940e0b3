/* Shared helpers for the Check test programs. */
#ifndef CGAN_TESTUTIL_H
#define CGAN_TESTUTIL_H
#include <check.h>
#include <stddef.h>
#include "runtime/runtime.h"
#include "core/rng.h"

/* Exit 77 (automake's SKIP) when no OpenCL device can be opened. Call first in main. */
void tu_require_device(void);
/* Open a context on the default device or fail the test with the library's message. */
cgan_ctx *tu_ctx(void);
/* Run a suite with a summary line; returns the process exit code: 1 when a test failed,
 * else 77 (automake's SKIP) when tu_require found a prerequisite missing, else 0. */
int tu_run(Suite *s);
/* Call when registering tests that need something the machine may lack (data, a tool, a
 * device); returns present, so: if (tu_require(ok, 1, "Fashion-MNIST")) tcase_add_test(...).
 * A missing prerequisite is printed, and the program ends as SKIP (exit 77) once its other
 * tests pass: never as a silent pass. With CGAN_TEST_STRICT=1 (CI sets it), a missing
 * prerequisite that CI installs (ci_provides) makes the program fail instead. */
int tu_require(int present, int ci_provides, const char *what);
/* A fresh empty folder under $TMPDIR (or /tmp); the returned string is static per call site. */
char *tu_tempdir(const char *tag);
void tu_rmtree(const char *dir);
/* A formatted path in one of 16 static buffers used in turn: valid until 16 more calls. */
char *tu_pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The whole of a file as a malloc'ed string; "" (malloc'ed) when it cannot be opened. */
char *tu_read_text(const char *path);
/* The whole of a file and its length (malloc'ed); fails the test when it cannot be read. */
unsigned char *tu_read_bytes(const char *path, size_t *len);
/* Width and height from a PNG file's IHDR (fails the test when it is not a PNG). */
void tu_png_size(const char *path, int *w, int *h);
/* Run exe with argv (NULL-terminated; argv[0] as the program should see it) in this
 * process's environment, less the variables named in env_unset and with the "NAME=value"
 * settings of env_set added (each replaces a variable of that name); both lists are
 * NULL-terminated and may be NULL. stdout and stderr go to files in a temporary folder
 * (tu_tempdir(tag)) and come back as malloc'ed strings in *out and *err, which the caller
 * frees. Fails the test when the program cannot start or does not exit normally; returns
 * its exit status. */
int tu_spawn(const char *tag, const char *exe, const char *const *argv,
             const char *const *env_set, const char *const *env_unset, char **out, char **err);
/* Run the cgan-cl under test ($CGAN_CLI) with the NULL-terminated arguments after `first`;
 * its stdout and stderr are kept in tu_cli_out and tu_cli_err (malloc'ed, replaced by the
 * next call). Returns its exit status. */
int tu_cli(const char *first, ...);
extern char *tu_cli_out, *tu_cli_err;
/* tu_cli(...) must exit 0; or exit with rc and say `want` on stderr. */
#define TU_CLI_OK(...)                                                                               \
    do {                                                                                             \
        int rc__ = tu_cli(__VA_ARGS__, (const char *)NULL);                                          \
        ck_assert_msg(rc__ == 0, "exit %d\nstdout: %s\nstderr: %s", rc__, tu_cli_out, tu_cli_err);   \
    } while (0)
#define TU_CLI_FAILS(rc, want, ...)                                                                  \
    do {                                                                                             \
        int rc__ = tu_cli(__VA_ARGS__, (const char *)NULL);                                          \
        ck_assert_msg(rc__ == (rc), "exit %d, expected %d\nstderr: %s", rc__, (rc), tu_cli_err);      \
        ck_assert_msg(strstr(tu_cli_err, (want)) != NULL, "stderr lacks '%s': %s", (want), tu_cli_err); \
    } while (0)

/* Upload n floats into a new buffer / read n floats back (fail the test on error). */
cl_mem tu_upload(cgan_ctx *ctx, const float *h, size_t n);
cl_mem tu_poisoned(cgan_ctx *ctx, size_t n);   /* filled with NaN */
void tu_download(cgan_ctx *ctx, cl_mem m, float *h, size_t n);
float *tu_random(cgan_rng *r, size_t n, float lo, float hi); /* malloc'ed */

/* Double-precision reference of batch entry bi of a row-major GEMM (blas/gemm.h's
 * cgan_gemm_args) into c (the whole C buffer, as doubles); C is read only when beta != 0. */
struct cgan_gemm_args;
void tu_ref_gemm(const struct cgan_gemm_args *g, const float *a, const float *b, const float *c0,
                 double *c, size_t bi);

/* 1 when CLBlast's kernels fit the device's work-groups (its tunings take up to 256 items);
 * otherwise prints "SKIP <what>: ..." and returns 0 (GPU mode at small device limits). */
int tu_clblast_fits(cgan_ctx *ctx, const char *what);

/* Training helpers for trainer tests: a tiny trainer setting (batch 4, widths 8, nz 12,
 * 3 classes or none, seed 99), a deterministic 32x32 "real" batch for step s (images
 * U(-1,1), labels i mod classes), and `steps` trainer steps on those batches with the log
 * rows of them copied to log_out (may be NULL; at most 64 steps). */
struct cgan_train_cfg;
struct cgan_trainer;
struct cgan_train_cfg tu_tiny_train_cfg(int cond);
void tu_real_batch(const struct cgan_train_cfg *c, int64_t s, float *x, float *y);
void tu_train_steps(cgan_ctx *ctx, struct cgan_trainer *t, int steps, float *log_out);
/* Train `total` steps straight, and again as `half` steps, a checkpoint, a fresh trainer
 * from the checkpoint's config loading it, and the rest: the logs and G's EMA must agree
 * bit for bit, and the stabilisers' settings come back from the config. */
void tu_check_resume(cgan_ctx *ctx, const struct cgan_train_cfg *c, int total, int half, const char *tag);

/* Assert helper: fail with the context's error when st != CGAN_OK. */
#define TU_OK(ctx, expr)                                                              \
    do {                                                                              \
        cgan_status tu__s = (expr);                                                   \
        ck_assert_msg(tu__s == CGAN_OK, "%s -> %s: %s", #expr, cgan_status_str(tu__s), \
                      cgan_last_error(ctx));                                          \
    } while (0)
#endif
