/* Training runs end to end: a short conditional run on real data, resume equals an
 * uninterrupted run, SIGINT leaves a loadable checkpoint, a non-finite loss stops the run
 * and keeps the last good checkpoint, bad data is a clear error. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "core/exec.h"
#include "gan/checkpoint.h"
#include "gan/run.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

static int have_fmnist(void)
{
    return access(FMNIST, R_OK) == 0;
}

static cgan_run_opts small_run(const char *out)
{
    cgan_run_opts o;
    cgan_run_defaults(&o);
    o.out = out;
    o.max_images = 1000;
    o.train.model.batch = 16;
    o.train.model.ngf = o.train.model.ndf = 16;
    o.train.model.nz = 32;
    o.log_every = 1;
    return o;
}

static char *path2(const char *a, const char *b)
{
    char *p = malloc(strlen(a) + strlen(b) + 2);
    sprintf(p, "%s/%s", a, b);
    return p;
}

static int exists(const char *a, const char *b)
{
    char *p = path2(a, b);
    struct stat sb;
    int ok = stat(p, &sb) == 0 && sb.st_size > 0;
    free(p);
    return ok;
}

/* Columns 2.. of metrics.csv (time stripped) as text lines. */
static char *metrics_without_time(const char *dir)
{
    char *p = path2(dir, "metrics.csv");
    FILE *f = fopen(p, "r");
    free(p);
    ck_assert_ptr_nonnull(f);
    char *out = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&out, &n);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c1 || !c2) continue;
        char *last = strrchr(line, ','); /* img/s varies too */
        *last = '\0';
        fprintf(m, "%.*s%s\n", (int)(c1 - line), line, c2);
    }
    fclose(f);
    fclose(m);
    return out;
}

START_TEST(test_end_to_end)
{
    cgan_ctx *ctx = tu_ctx();
    char *dir = tu_tempdir("e2e");
    cgan_run_opts o = small_run(dir);
    o.steps = 80;
    o.sample_every = 40;
    o.ckpt_every = 40;
    int stopped;
    TU_OK(ctx, cgan_run_train(ctx, &o, NULL, NULL, &stopped));
    ck_assert_int_eq(stopped, 0);
    ck_assert(exists(dir, "samples/step_000040.png"));
    ck_assert(exists(dir, "samples/step_000080.png"));
    ck_assert(exists(dir, "checkpoints/step_000080.safetensors"));
    ck_assert(exists(dir, "metrics.csv") && exists(dir, "loss.png") && exists(dir, "config") && exists(dir, "latest"));
    /* D tells real from fake better than chance over the last 20 steps */
    char *p = path2(dir, "metrics.csv");
    FILE *f = fopen(p, "r");
    char line[512];
    double acc = 0;
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        double v[11];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7], &v[8], &v[9], &v[10]) == 11 && v[0] > 60) {
            acc += 0.5 * (v[8] + v[9]);
            rows++;
        }
    }
    fclose(f);
    free(p);
    ck_assert_int_eq(rows, 20);
    acc /= rows;
    ck_assert_msg(acc > 0.65, "D accuracy %.3f is still at chance", acc);
    /* the checkpoint holds the class names and the config */
    cgan_st_file *sf;
    p = path2(dir, "checkpoints/step_000080.safetensors");
    TU_OK(ctx, cgan_st_open(ctx, p, &sf));
    char **names;
    int nn;
    TU_OK(ctx, cgan_checkpoint_classes(ctx, sf, &names, &nn));
    ck_assert_int_eq(nn, 10);
    ck_assert_str_eq(names[9], "Ankle boot");
    cgan_free_strings(names, nn);
    cgan_st_close(sf);
    free(p);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_resume_equals_uninterrupted)
{
    cgan_ctx *ctx = tu_ctx();
    char *a = tu_tempdir("full"), *b = tu_tempdir("part");
    cgan_run_opts o = small_run(a);
    o.train.model.ngf = o.train.model.ndf = 8;
    o.steps = 10;
    o.ckpt_every = o.sample_every = 5;
    o.flip = 1;
    int stopped;
    TU_OK(ctx, cgan_run_train(ctx, &o, NULL, NULL, &stopped));
    o.out = b;
    o.steps = 5;
    TU_OK(ctx, cgan_run_train(ctx, &o, NULL, NULL, &stopped));
    cgan_run_opts r;
    cgan_run_defaults(&r);
    r.resume = b;
    r.steps = 10;
    TU_OK(ctx, cgan_run_train(ctx, &r, NULL, NULL, &stopped));
    char *ma = metrics_without_time(a), *mb = metrics_without_time(b);
    ck_assert_msg(strcmp(ma, mb) == 0, "resumed metrics differ:\n%s\nvs\n%s", ma, mb);
    free(ma); free(mb);
    tu_rmtree(a); tu_rmtree(b);
    free(a); free(b);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_sigint_checkpoint)
{
    const char *cli = getenv("CGAN_CLI");
    ck_assert_msg(cli != NULL, "CGAN_CLI is not set");
    char *dir = tu_tempdir("sigint");
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(cli, cli, "train", "--out", dir, "--max-images", "1000", "--batch", "16", "--ngf", "8", "--ndf", "8",
              "--steps", "100000", "--log-every", "1", "--ckpt-every", "100000", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[512];
    int steps_seen = 0;
    while (fgets(line, sizeof line, out))
        if (!strncmp(line, "step ", 5) && ++steps_seen == 3) break;
    ck_assert_int_eq(steps_seen, 3);
    kill(pid, SIGINT);
    while (fgets(line, sizeof line, out)) {}
    fclose(out);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
    /* the latest checkpoint loads */
    char *latest = path2(dir, "latest");
    FILE *f = fopen(latest, "r");
    ck_assert_ptr_nonnull(f);
    char rel[256];
    ck_assert_ptr_nonnull(fgets(rel, sizeof rel, f));
    fclose(f);
    rel[strcspn(rel, "\n")] = '\0';
    char *ck = path2(dir, rel);
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_st_file *sf;
    TU_OK(ctx, cgan_st_open(ctx, ck, &sf));
    cgan_train_cfg cfg;
    TU_OK(ctx, cgan_checkpoint_config(ctx, sf, &cfg));
    ck_assert_int_ge(atoi(cgan_st_meta(sf, "step")), 3);
    cgan_st_close(sf);
    cgan_ctx_destroy(ctx);
    free(ck); free(latest);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* After the checkpoint of step 3, poison one of G's weights with NaN. */
static void poison_at_3(void *user, const cgan_run_event *e)
{
    (void)user;
    if (e->kind != CGAN_RUN_CHECKPOINT || e->step != 3) return;
    cgan_graph *g = cgan_trainer_generator(e->trainer)->g;
    int id = cgan_graph_find_tensor(g, "G.deconv2.weight");
    size_t n = cgan_numel(cgan_graph_tensor(g, id)->shape);
    float *w = malloc(n * sizeof *w);
    cgan_graph_read(g, id, w);
    w[n / 2] = NAN;
    cgan_graph_write(g, id, w);
    free(w);
}

START_TEST(test_nonfinite_stops)
{
    cgan_ctx *ctx = tu_ctx();
    char *dir = tu_tempdir("nan");
    cgan_run_opts o = small_run(dir);
    o.train.model.ngf = o.train.model.ndf = 8;
    o.steps = 50;
    o.ckpt_every = 1;
    o.sample_every = 1000;
    int stopped;
    cgan_status st = cgan_run_train(ctx, &o, poison_at_3, NULL, &stopped);
    ck_assert_int_eq(st, CGAN_E_NUMERIC);
    const char *msg = cgan_last_error(ctx);
    ck_assert_msg(strstr(msg, "non-finite loss at step") != NULL, "%s", msg);
    int bad_step = atoi(strstr(msg, "at step ") + 8);
    ck_assert_int_eq(bad_step, 4);
    /* the latest checkpoint is the step before and is intact */
    char *latest = path2(dir, "latest");
    FILE *f = fopen(latest, "r");
    ck_assert_ptr_nonnull(f);
    char rel[256];
    ck_assert_ptr_nonnull(fgets(rel, sizeof rel, f));
    fclose(f);
    rel[strcspn(rel, "\n")] = '\0';
    char want[64];
    snprintf(want, sizeof want, "checkpoints/step_%06d.safetensors", bad_step - 1);
    ck_assert_str_eq(rel, want);
    char *ck = path2(dir, rel);
    cgan_st_file *sf;
    TU_OK(ctx, cgan_st_open(ctx, ck, &sf));
    cgan_st_close(sf);
    free(ck); free(latest);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_bad_data)
{
    cgan_ctx *ctx = tu_ctx();
    char *dir = tu_tempdir("emptydata"), *out = tu_tempdir("emptyout");
    cgan_run_opts o = small_run(out);
    o.data = dir;
    int stopped;
    ck_assert_int_ne(cgan_run_train(ctx, &o, NULL, NULL, &stopped), CGAN_OK);
    ck_assert_msg(strstr(cgan_last_error(ctx), dir) != NULL, "%s", cgan_last_error(ctx));
    o.data = "/nonexistent/folder";
    ck_assert_int_ne(cgan_run_train(ctx, &o, NULL, NULL, &stopped), CGAN_OK);
    ck_assert(strstr(cgan_last_error(ctx), "/nonexistent/folder") != NULL);
    o.resume = out; /* no checkpoint there */
    ck_assert_int_eq(cgan_run_train(ctx, &o, NULL, NULL, &stopped), CGAN_E_NOT_FOUND);
    ck_assert(strstr(cgan_last_error(ctx), "latest") != NULL);
    tu_rmtree(dir); tu_rmtree(out);
    free(dir); free(out);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, 900);
    if (tu_require(have_fmnist(), 1, "Fashion-MNIST (apt-get install dataset-fashion-mnist)")) {
        tcase_add_test(tc, test_end_to_end);
        tcase_add_test(tc, test_resume_equals_uninterrupted);
        tcase_add_test(tc, test_sigint_checkpoint);
        tcase_add_test(tc, test_nonfinite_stops);
    }
    tcase_add_test(tc, test_bad_data);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
