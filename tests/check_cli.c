/* check_cli: the command line says what is true (issue 15, "CLI honesty"): an invalid
 * CGAN_DEVICE is an error in `devices`, selftest counts checks as checks, and
 * tools/install-deps answers --help. Each runs the real program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static char *out_text, *err_text;

static int run(const char *exe, const char *const *argv, const char *const *env)
{
    free(out_text);
    free(err_text);
    out_text = err_text = NULL;
    return tu_spawn("cli", exe, argv, env, NULL, &out_text, &err_text);
}

static const char *cli(void)
{
    const char *p = getenv("CGAN_CLI");
    ck_assert_msg(p != NULL, "CGAN_CLI is not set (run through make check)");
    return p;
}

/* defect 16: CGAN_DEVICE naming no device fails `devices`, naming the variable */
START_TEST(test_devices_bad_env)
{
    const char *argv[] = { "cgan-cl", "devices", NULL };
    const char *bad[] = { "CGAN_DEVICE=99", NULL }, *bad_name[] = { "CGAN_DEVICE=no-such-gpu-here", NULL };
    ck_assert_int_eq(run(cli(), argv, bad), 1);
    ck_assert_msg(strstr(err_text, "CGAN_DEVICE=99") && strstr(err_text, "no device with that index"), "%s", err_text);
    ck_assert_msg(strstr(out_text, "[0] "), "the devices are still listed: %s", out_text);
    ck_assert_int_eq(run(cli(), argv, bad_name), 1);
    ck_assert_msg(strstr(err_text, "no-such-gpu-here") && strstr(err_text, "matches no device"), "%s", err_text);
    const char *good[] = { "CGAN_DEVICE=0", NULL };
    ck_assert_int_eq(run(cli(), argv, good), 0);
    ck_assert_msg(strstr(out_text, "CGAN_DEVICE=0 overrides the default: device [0]"), "%s", out_text);
}
END_TEST

/* defect 23: "N passed" counts checks, not checks plus kernel programs */
START_TEST(test_selftest_counts)
{
    const char *one[] = { "cgan-cl", "selftest", "--only", "op.add", NULL };
    ck_assert_int_eq(run(cli(), one, NULL), 0);
    ck_assert_msg(strstr(out_text, "\n1 passed, 0 failed (1 check)"), "%s", out_text);
    const char *list[] = { "cgan-cl", "selftest", "--list", NULL };
    ck_assert_int_eq(run(cli(), list, NULL), 0);
    int checks = 0;
    for (const char *p = out_text; (p = strchr(p, '\n')); p++) checks++;
    const char *all[] = { "cgan-cl", "selftest", NULL };
    ck_assert_int_eq(run(cli(), all, NULL), 0);
    char want[64];
    snprintf(want, sizeof want, "\n%d passed, 0 failed (%d checks; ", checks, checks);
    ck_assert_msg(strstr(out_text, want), "want '%s' in:\n%s", want + 1, out_text);
    ck_assert_msg(strstr(out_text, "kernel programs built)"), "%s", out_text);
}
END_TEST

/* defect 19: tools/install-deps --help describes it and installs nothing */
START_TEST(test_install_deps_help)
{
    const char *src = getenv("CGAN_TOP_SRCDIR");
    ck_assert_ptr_nonnull(src);
    char *path = tu_pathf("%s/tools/install-deps", src);
    const char *help[] = { "install-deps", "--help", NULL };
    ck_assert_int_eq(run(path, help, NULL), 0);
    ck_assert_msg(strstr(out_text, "usage: tools/install-deps") && strstr(out_text, "apt-get"), "%s", out_text);
    const char *bad[] = { "install-deps", "--frobnicate", NULL };
    ck_assert_int_eq(run(path, bad, NULL), 2);
    ck_assert_msg(strstr(err_text, "--frobnicate"), "%s", err_text);
}
END_TEST

/* defect 9: a FIFO where a checkpoint, a 'latest' pointer or a model file should be is
 * refused at once, never waited on (timeout(1) turns a hang into exit 124) */
START_TEST(test_fifos_refused)
{
    char *dir = tu_tempdir("fifo");
    char *fifo = strdup(tu_pathf("%s/ckpt.safetensors", dir));
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    const char *info[] = { "timeout", "20", cli(), "info", fifo, NULL };
    ck_assert_int_eq(run("/usr/bin/timeout", info, NULL), 1);
    ck_assert_msg(strstr(err_text, "not a regular file"), "%s", err_text);
    /* a run folder whose latest is a FIFO */
    char *rundir = strdup(tu_pathf("%s/run", dir));
    ck_assert_int_eq(mkdir(rundir, 0700), 0);
    ck_assert_int_eq(mkfifo(tu_pathf("%s/latest", rundir), 0600), 0);
    const char *gen[] = { "timeout", "20", cli(), "generate", "-c", rundir, "-o", tu_pathf("%s/x.png", dir), NULL };
    ck_assert_int_eq(run("/usr/bin/timeout", gen, NULL), 1);
    ck_assert_msg(strstr(err_text, "latest") && strstr(err_text, "not a regular file"), "%s", err_text);
    /* a model file that is a FIFO */
    const char *train[] = { "timeout", "20", cli(), "train", "--model", fifo, "--out", tu_pathf("%s/r2", dir), NULL };
    ck_assert_int_eq(run("/usr/bin/timeout", train, NULL), 1);
    ck_assert_msg(strstr(err_text, "not a regular file") && strstr(err_text, "model file"), "%s", err_text);
    free(rundir);
    free(fifo);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* defect 8: an --out too long for the run folder's paths is refused, not cut */
START_TEST(test_long_out_refused)
{
    char *dir = tu_tempdir("longout");
    char longpath[1200];
    int n = snprintf(longpath, sizeof longpath, "%s/", dir);
    for (int i = 0; i < 5; i++) n += snprintf(longpath + n, sizeof longpath - (size_t)n, "%0200d/", i);
    const char *argv[] = { "cgan-cl", "train", "--out", longpath, "--steps", "1", NULL };
    ck_assert_int_eq(run(cli(), argv, NULL), 1);
    ck_assert_msg(strstr(err_text, "--out: a run folder path of") && strstr(err_text, "is too long"), "%s", err_text);
    char *first = tu_pathf("%s/%0200d", dir, 0);
    ck_assert_int_eq(access(first, F_OK), -1); /* nothing was created */
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* defect 14: --resume refuses, by name, options it would otherwise ignore */
START_TEST(test_resume_refuses_settings)
{
    const char *lr[] = { "cgan-cl", "train", "--resume", "/nonexistent-run", "--lr", "0.001", NULL };
    ck_assert_int_eq(run(cli(), lr, NULL), 2);
    ck_assert_msg(strstr(err_text, "--lr cannot change them") && strstr(err_text, "--init"), "%s", err_text);
    const char *log[] = { "cgan-cl", "train", "--log-every", "5", "--resume", "/nonexistent-run", NULL };
    ck_assert_int_eq(run(cli(), log, NULL), 2);
    ck_assert_msg(strstr(err_text, "--log-every cannot change them"), "%s", err_text);
    /* the length may change: this one gets past the options to the missing folder */
    const char *steps[] = { "cgan-cl", "train", "--resume", "/nonexistent-run", "--steps", "5", "--device", "0", NULL };
    ck_assert_int_eq(run(cli(), steps, NULL), 1);
    ck_assert_msg(strstr(err_text, "no such run folder"), "%s", err_text);
}
END_TEST

START_TEST(test_probe_passes) { ck_assert_int_eq(1 + 1, 2); }
END_TEST

/* The exit status of a test program whose one test passes, after tu_require reported a
 * prerequisite (ci_provides) missing, with CGAN_TEST_STRICT set to strict (NULL: unset). */
static int probe_status(int ci_provides, const char *strict)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (strict) setenv("CGAN_TEST_STRICT", strict, 1); else unsetenv("CGAN_TEST_STRICT");
        /* quiet: its summary line must not count in the suite's totals (tests/summary.sh) */
        if (!freopen("/dev/null", "w", stdout)) _exit(99);
        Suite *s = suite_create("probe");
        TCase *tc = tcase_create("probe");
        if (tu_require(0, ci_provides, "a probe's prerequisite")) tcase_add_test(tc, test_probe_passes);
        tcase_add_test(tc, test_probe_passes);
        suite_add_tcase(s, tc);
        _exit(tu_run(s));
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Defect 26: a program whose prerequisite is missing ends as SKIP (77) for automake, never
 * as a pass; under CGAN_TEST_STRICT (CI) a prerequisite CI installs makes it fail, one CI
 * does not install still skips. */
START_TEST(test_missing_prerequisite_not_a_pass)
{
    ck_assert_int_eq(probe_status(1, NULL), 77);
    ck_assert_int_eq(probe_status(1, "0"), 77);
    ck_assert_int_eq(probe_status(1, "1"), 1);
    ck_assert_int_eq(probe_status(0, "1"), 77);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("honesty");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_devices_bad_env);
    tcase_add_test(tc, test_selftest_counts);
    tcase_add_test(tc, test_install_deps_help);
    tcase_add_test(tc, test_fifos_refused);
    tcase_add_test(tc, test_long_out_refused);
    tcase_add_test(tc, test_resume_refuses_settings);
    tcase_add_test(tc, test_missing_prerequisite_not_a_pass);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
