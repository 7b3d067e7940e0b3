/* Data-parallel training and gradient accumulation (issue 17, doc/scaling.md):
 * - the collective interface without a launcher is one process, and --device lists map to
 *   local ranks;
 * - --accum 1 trains exactly as no --accum; --accum 4 equals four micro batches done by
 *   hand through the graphs, summed, averaged and given to Adam;
 * - under mpirun (a build with MPI; skipped otherwise): 2 processes equal --accum 2 on one
 *   (metrics.csv losses to 1e-4 relative over 20 steps, parameters to 1e-5 after 5 steps),
 *   rank 0 alone writes, a SIGINT to one process stops both with one checkpoint that both
 *   resume from, a forced divergence of one replica is caught, a batch that does not cut
 *   evenly is refused by name, cgan-bench allreduce reports the all-reduce and the step split;
 *   --sync-bn gives D's first pass the whole batch's statistics. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "cgan/dist.h"
#include "core/exec.h"
#include "core/graph.h"
#include "core/random.h"
#include "gan/accum.h"
#include "gan/checkpoint.h"
#include "gan/trainer.h"
#include "ops/elementwise.h"
#include "optim/optim.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

static int have_fmnist(void) { return access(FMNIST, R_OK) == 0; }

static int have_mpi(void)
{
#ifdef CGAN_MPIRUN
    return access(CGAN_MPIRUN, X_OK) == 0;
#else
    return 0;
#endif
}

START_TEST(test_single_process)
{
    cgan_dist *d = NULL;
    char err[256], spec[64];
    ck_assert_int_eq(cgan_dist_init(&d, err, sizeof err), CGAN_OK);
    ck_assert_str_eq(cgan_dist_backend(d), "single");
    ck_assert_int_eq(cgan_dist_rank(d), 0);
    ck_assert_int_eq(cgan_dist_size(d), 1);
    double v[2] = { 1.5, -2 };
    ck_assert_int_eq(cgan_dist_allreduce(d, NULL, v, 2, CGAN_DIST_F64, CGAN_DIST_SUM), CGAN_OK);
    ck_assert(v[0] == 1.5 && v[1] == -2);
    int req = -1;
    float f[3] = { 1, 2, 3 };
    ck_assert_int_eq(cgan_dist_iallreduce_f32(d, NULL, f, 3, &req), CGAN_OK);
    ck_assert_int_eq(cgan_dist_wait(d, NULL, req), CGAN_OK);
    ck_assert(f[2] == 3);
    ck_assert_int_eq(cgan_dist_barrier(d, NULL), CGAN_OK);
    cgan_dist_finalize(d);
    /* --device per local rank */
    ck_assert_int_eq(cgan_dist_device_spec("0,1,2", 1, 3, spec, sizeof spec, err, sizeof err), CGAN_OK);
    ck_assert_str_eq(spec, "1");
    ck_assert_int_eq(cgan_dist_device_spec("gfx", 5, 8, spec, sizeof spec, err, sizeof err), CGAN_OK);
    ck_assert_str_eq(spec, "gfx");
    ck_assert_int_eq(cgan_dist_device_spec(NULL, 0, 2, spec, sizeof spec, err, sizeof err), CGAN_OK);
    ck_assert_str_eq(spec, "");
    ck_assert_int_eq(cgan_dist_device_spec("0,1", 2, 3, spec, sizeof spec, err, sizeof err), CGAN_E_INVALID);
    ck_assert_msg(strstr(err, "--device") && strstr(err, "3 processes"), "%s", err);
}
END_TEST

static cgan_train_cfg tiny_cfg(int batch, int accum)
{
    cgan_train_cfg c = cgan_train_defaults();
    c.model.size = 16;
    c.model.nc = 1;
    c.model.cond = CGAN_COND_NONE;
    c.model.num_classes = 0;
    c.model.ngf = c.model.ndf = 8;
    c.model.nz = 16;
    c.model.batch = batch;
    c.accum = accum;
    c.ema = 0;
    c.seed = 11;
    return c;
}

START_TEST(test_batch_must_cut)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = tiny_cfg(10, 4);
    cgan_trainer *t = NULL;
    ck_assert_int_eq(cgan_trainer_create(ctx, &c, &t), CGAN_E_INVALID);
    ck_assert_msg(strstr(cgan_last_error(ctx), "--batch 10") && strstr(cgan_last_error(ctx), "--accum 4"), "%s",
                  cgan_last_error(ctx));
    cgan_ctx_destroy(ctx);
}
END_TEST

static float *arena(cgan_ctx *ctx, cgan_trainer *t, int d, size_t *n)
{
    cl_mem m = cgan_graph_param_arena(cgan_trainer_graph(t, d), n);
    float *h = malloc(*n * sizeof *h);
    tu_download(ctx, m, h, *n);
    return h;
}

/* --accum 4 on a batch of 16 against the same four micro batches of 4 done by hand on a
 * trainer of batch 4 (its graphs only): for micro batch k, G's forward from counter
 * stream k, D's real and fake passes into zeroed gradients, read back; the four summed in
 * order, times 1/4, then one Adam step. D's parameters and losses must agree. */
START_TEST(test_accum4_by_hand)
{
    cgan_ctx *ctx = tu_ctx();
    const int B = 16, A = 4, Nm = B / A;
    cgan_train_cfg c4 = tiny_cfg(B, A), c1 = tiny_cfg(Nm, 1);
    cgan_trainer *t4, *h;
    TU_OK(ctx, cgan_trainer_create(ctx, &c4, &t4));
    TU_OK(ctx, cgan_trainer_create(ctx, &c1, &h));
    const size_t img = (size_t)16 * 16;
    cgan_rng r;
    cgan_rng_init(&r, 5, 0);
    float *x = tu_random(&r, (size_t)B * img, -1, 1);
    TU_OK(ctx, cgan_trainer_step(t4, x, NULL));
    float row[CGAN_LOG_FIELDS];
    int64_t stepno;
    int cnt = 0;
    TU_OK(ctx, cgan_trainer_read_log(t4, row, &stepno, 1, &cnt));
    ck_assert_int_eq(cnt, 1);

    /* by hand */
    cgan_generator *G = cgan_trainer_generator(h);
    cgan_discriminator *D = cgan_trainer_discriminator(h);
    int loss = cgan_graph_find_tensor(D->g, tu_pathf("%s.loss_d.out", cgan_graph_prefix(D->g)));
    ck_assert_int_ge(loss, 0);
    int node = cgan_graph_producer(D->g, loss);
    size_t n = 0;
    cl_mem grads = cgan_graph_grad_arena(D->g, &n);
    float *sum = calloc(n, sizeof *sum), *g = malloc(n * sizeof *g);
    cl_mem real = tu_upload(ctx, x, (size_t)Nm * img);
    double loss_real = 0, loss_fake = 0;
    for (int k = 0; k < A; k++) {
        const uint64_t ctr = cgan_micro_counter(0, k);
        TU_OK(ctx, cgan_buffer_write(ctx, real, 0, (size_t)Nm * img * sizeof(float), x + (size_t)k * Nm * img));
        TU_OK(ctx, cgan_randn(ctx, cgan_graph_value(G->g, G->z), (size_t)Nm * c1.model.nz, c1.seed, ctr));
        TU_OK(ctx, cgan_graph_forward(G->g, 1, ctr));
        TU_OK(ctx, cgan_graph_zero_grad(D->g));
        float l;
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 0) TU_OK(ctx, cgan_graph_bind(D->g, D->x, real, NULL));
            else TU_OK(ctx, cgan_graph_bind(D->g, D->x, cgan_graph_value(G->g, G->out), cgan_graph_grad(G->g, G->out)));
            cgan_graph_node(D->g, node)->a.target = pass == 0 ? 1.0f : 0.0f;
            TU_OK(ctx, cgan_graph_forward(D->g, 1, ctr + 2 + pass));
            TU_OK(ctx, cgan_graph_backward(D->g, loss, CGAN_GRAD_PARAMS));
            TU_OK(ctx, cgan_buffer_read(ctx, cgan_graph_value(D->g, loss), 0, sizeof l, &l));
            *(pass ? &loss_fake : &loss_real) += l;
        }
        tu_download(ctx, grads, g, n);
        for (size_t i = 0; i < n; i++) sum[i] = k == 0 ? g[i] : sum[i] + g[i];
    }
    for (size_t i = 0; i < n; i++) sum[i] *= 1.0f / A;
    TU_OK(ctx, cgan_buffer_write(ctx, grads, 0, n * sizeof(float), sum));
    cl_mem m, v;
    TU_OK(ctx, cgan_buffer_create(ctx, n * sizeof(float), "m", &m));
    TU_OK(ctx, cgan_buffer_create(ctx, n * sizeof(float), "v", &v));
    TU_OK(ctx, cgan_buffer_fill_f32(ctx, m, 0, n, 0.f));
    TU_OK(ctx, cgan_buffer_fill_f32(ctx, v, 0, n, 0.f));
    cgan_adam_cfg a = { c1.lr_d, c1.beta1, c1.beta2, 1e-8f, 0.f };
    TU_OK(ctx, cgan_adam_step(ctx, &a, n, cgan_graph_param_arena(D->g, NULL), grads, m, v, 1));

    size_t n4 = 0, nh = 0;
    float *p4 = arena(ctx, t4, 1, &n4), *ph = arena(ctx, h, 1, &nh);
    ck_assert_uint_eq(n4, nh);
    double worst = 0;
    for (size_t i = 0; i < n4; i++) worst = fmax(worst, fabs((double)p4[i] - ph[i]));
    printf("accum 4 vs by hand: D parameters differ by at most %.3g; loss_D(real) %.7g vs %.7g\n", worst,
           row[CGAN_LOG_LOSS_D_REAL], loss_real / A);
    ck_assert_msg(worst <= 1e-6, "D parameters differ by %g", worst);
    ck_assert_msg(fabs(row[CGAN_LOG_LOSS_D_REAL] - loss_real / A) <= 1e-6 * fabs(loss_real / A) + 1e-7, "%g vs %g",
                  row[CGAN_LOG_LOSS_D_REAL], loss_real / A);
    ck_assert_msg(fabs(row[CGAN_LOG_LOSS_D_FAKE] - loss_fake / A) <= 1e-6 * fabs(loss_fake / A) + 1e-7, "%g vs %g",
                  row[CGAN_LOG_LOSS_D_FAKE], loss_fake / A);
    /* and the parameters moved: the comparison is not between two untouched copies */
    cgan_trainer *fresh;
    TU_OK(ctx, cgan_trainer_create(ctx, &c1, &fresh));
    size_t nf = 0;
    float *p0 = arena(ctx, fresh, 1, &nf);
    double moved = 0;
    for (size_t i = 0; i < nf; i++) moved = fmax(moved, fabs((double)p0[i] - p4[i]));
    ck_assert_msg(moved > 1e-5, "D did not move (%g)", moved);
    free(p0); free(p4); free(ph); free(sum); free(g); free(x);
    cgan_buffer_release(m);
    cgan_buffer_release(v);
    cgan_buffer_release(real);
    cgan_trainer_destroy(fresh);
    cgan_trainer_destroy(t4);
    cgan_trainer_destroy(h);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* ---- runs through the command line ------------------------------------------------- */

/* --accum out of range, and a batch it does not divide: errors naming the options */
START_TEST(test_accum_cli_errors)
{
    const char *cli = getenv("CGAN_CLI");
    char *dir = strdup(tu_tempdir("accum-bad"));
    const char *zero[] = { cli, "train", "--accum", "0", "--out", dir, NULL };
    char *out, *err;
    ck_assert_int_eq(tu_spawn("accum-zero-log", cli, zero, NULL, NULL, &out, &err), 2);
    ck_assert_msg(strstr(err, "--accum '0': expected an integer in [1, 256]"), "%s", err);
    free(out); free(err);
    const char *odd[] = { cli, "train", "--max-images", "512", "--size", "16", "--batch", "10", "--accum", "4",
                          "--steps", "1", "--out", dir, NULL };
    ck_assert_int_eq(tu_spawn("accum-odd-log", cli, odd, NULL, NULL, &out, &err), 1);
    ck_assert_msg(strstr(err, "--batch 10 cannot be cut into 4 equal micro batches (--accum 4)"), "%s", err);
    free(out); free(err);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

#define RUN_ARGS "--max-images", "512", "--size", "16", "--batch", "16", "--ngf", "8", "--ndf", "8", "--nz", "16", \
                 "--seed", "3", "--log-every", "1", "--sample-every", "1000", "--keep", "10"

/* The loss columns of metrics.csv (loss_d, loss_d_real, loss_d_fake, loss_g), one row per
 * step; returns the rows read. */
static int read_losses(const char *dir, double (*out)[4], int cap)
{
    char *text = tu_read_text(tu_pathf("%s/metrics.csv", dir));
    int n = 0;
    for (char *line = strchr(text, '\n'); line && n < cap; line = strchr(line, '\n')) {
        line++;
        double step, t;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf", &step, &t, &out[n][0], &out[n][1], &out[n][2], &out[n][3]) == 6) n++;
    }
    free(text);
    return n;
}

/* The largest difference between the model tensors (not the BatchNorm running
 * statistics, which stay per process) of two checkpoints, relative to max(1, |a|). */
static double ckpt_diff(const char *a, const char *b, int with_optimizer)
{
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_st_file *fa, *fb;
    TU_OK(ctx, cgan_st_open(ctx, a, &fa));
    TU_OK(ctx, cgan_st_open(ctx, b, &fb));
    double worst = 0;
    int compared = 0;
    for (int i = 0; i < cgan_st_count(fa); i++) {
        const cgan_st_tensor *ta = cgan_st_at(fa, i), *tb;
        if (ta->dtype != CGAN_ST_F32 || strstr(ta->name, "running_") || (!with_optimizer && strstr(ta->name, "adam")))
            continue;
        TU_OK(ctx, cgan_st_find(ctx, fb, ta->name, &tb));
        ck_assert_int_eq(ta->numel, tb->numel);
        const float *x = ta->data, *y = tb->data;
        for (int64_t j = 0; j < ta->numel; j++) worst = fmax(worst, fabs((double)x[j] - y[j]) / fmax(1.0, fabs(x[j])));
        compared++;
    }
    ck_assert_int_gt(compared, 4);
    cgan_st_close(fa);
    cgan_st_close(fb);
    cgan_ctx_destroy(ctx);
    return worst;
}

START_TEST(test_accum1_is_default)
{
    const char *cli = getenv("CGAN_CLI");
    ck_assert_ptr_nonnull(cli);
    char *a = strdup(tu_tempdir("acc1-a")), *b = strdup(tu_tempdir("acc1-b"));
    const char *argv_a[] = { cli, "train", RUN_ARGS, "--steps", "4", "--out", a, NULL };
    const char *argv_b[] = { cli, "train", RUN_ARGS, "--steps", "4", "--accum", "1", "--out", b, NULL };
    char *out, *err;
    ck_assert_int_eq(tu_spawn("acc1-a-log", cli, argv_a, NULL, NULL, &out, &err), 0);
    free(out); free(err);
    ck_assert_int_eq(tu_spawn("acc1-b-log", cli, argv_b, NULL, NULL, &out, &err), 0);
    free(out); free(err);
    double la[4][4], lb[4][4];
    ck_assert_int_eq(read_losses(a, la, 4), 4);
    ck_assert_int_eq(read_losses(b, lb, 4), 4);
    ck_assert(memcmp(la, lb, sizeof la) == 0);
    ck_assert(ckpt_diff(tu_pathf("%s/checkpoints/step_000004.safetensors", a),
                        tu_pathf("%s/checkpoints/step_000004.safetensors", b), 1) == 0);
    tu_rmtree(a); tu_rmtree(b);
    free(a); free(b);
}
END_TEST

static int latest_step(const char *dir);

/* --accum given with --resume is used: 2 steps, then 2 more resumed, equal 4 straight
 * (before, the checkpoint's config silently put the resumed steps back to --accum 1) */
START_TEST(test_resume_keeps_accum)
{
    const char *cli = getenv("CGAN_CLI");
    char *a = strdup(tu_tempdir("acc-straight")), *b = strdup(tu_tempdir("acc-resumed"));
    const char *argv_a[] = { cli, "train", RUN_ARGS, "--steps", "4", "--accum", "2", "--out", a, NULL };
    const char *argv_b[] = { cli, "train", RUN_ARGS, "--steps", "2", "--accum", "2", "--out", b, NULL };
    const char *argv_r[] = { cli, "train", "--resume", b, "--steps", "4", "--accum", "2", NULL };
    const char *argv_1[] = { cli, "train", "--resume", b, "--steps", "6", NULL };
    char *out, *err;
    ck_assert_int_eq(tu_spawn("acc-a-log", cli, argv_a, NULL, NULL, &out, &err), 0);
    free(out); free(err);
    ck_assert_int_eq(tu_spawn("acc-b-log", cli, argv_b, NULL, NULL, &out, &err), 0);
    free(out); free(err);
    ck_assert_int_eq(tu_spawn("acc-r-log", cli, argv_r, NULL, NULL, &out, &err), 0);
    free(out); free(err);
    double la[4][4], lb[4][4];
    ck_assert_int_eq(read_losses(a, la, 4), 4);
    ck_assert_int_eq(read_losses(b, lb, 4), 4);
    ck_assert(memcmp(la, lb, sizeof la) == 0);
    /* and without it the resumed run takes whole batches again: the log goes on */
    ck_assert_int_eq(tu_spawn("acc-1-log", cli, argv_1, NULL, NULL, &out, &err), 0);
    free(out); free(err);
    ck_assert_int_eq(latest_step(b), 6);
    tu_rmtree(a); tu_rmtree(b);
    free(a); free(b);
}
END_TEST

/* mpirun's arguments for 2 processes, then the program's (argv NULL-terminated). */
static const char **mpirun_argv(const char *const *rest, const char *extra_env)
{
    static const char *v[64];
    int n = 0;
#ifdef CGAN_MPIRUN
    v[n++] = CGAN_MPIRUN;
#endif
    v[n++] = "--oversubscribe";
    if (geteuid() == 0) v[n++] = "--allow-run-as-root"; /* CI runs as root */
    v[n++] = "-np";
    v[n++] = "2";
    if (extra_env) { v[n++] = "-x"; v[n++] = extra_env; }
    while (*rest && n < 63) v[n++] = *rest++;
    v[n] = NULL;
    return v;
}

/* What Open MPI needs in a container: shared memory and self only (no network probing),
 * no single-copy mechanism (ptrace is often not allowed). */
static const char *const mpi_env[] = { "OMPI_MCA_btl=self,vader", "OMPI_MCA_btl_vader_single_copy_mechanism=none",
                                       "OMPI_MCA_rmaps_base_oversubscribe=1", NULL };

START_TEST(test_mpi_equals_accum2)
{
    const char *cli = getenv("CGAN_CLI");
    char *a = strdup(tu_tempdir("mpi-accum")), *b = strdup(tu_tempdir("mpi-np2"));
    const char *argv_a[] = { cli, "train", RUN_ARGS, "--steps", "20", "--ckpt-every", "5", "--accum", "2",
                             "--out", a, NULL };
    const char *rest[] = { cli, "train", RUN_ARGS, "--steps", "20", "--ckpt-every", "5", "--out", b, NULL };
    char *out, *err;
    ck_assert_int_eq(tu_spawn("mpi-accum-log", cli, argv_a, NULL, NULL, &out, &err), 0);
    free(out); free(err);
    const char **argv_b = mpirun_argv(rest, NULL);
    int rc = tu_spawn("mpi-np2-log", argv_b[0], argv_b, mpi_env, NULL, &out, &err);
    ck_assert_msg(rc == 0, "mpirun exit %d: %s\n%s", rc, out, err);
    /* both processes ran; rank 0 alone reported (each step's line once) */
    ck_assert_msg(strstr(out, "process 1 of 2: device"), "%s", out);
    const char *p = strstr(out, "step 20/20");
    ck_assert_msg(p && !strstr(p + 1, "step 20/20"), "%s", out);
    free(out); free(err);
    double la[20][4], lb[21][4];
    ck_assert_int_eq(read_losses(a, la, 20), 20);
    ck_assert_int_eq(read_losses(b, lb, 21), 20); /* one writer: no row twice */
    double worst = 0;
    for (int i = 0; i < 20; i++)
        for (int k = 0; k < 4; k++) worst = fmax(worst, fabs(la[i][k] - lb[i][k]) / fmax(1e-6, fabs(la[i][k])));
    double pd = ckpt_diff(tu_pathf("%s/checkpoints/step_000005.safetensors", a),
                          tu_pathf("%s/checkpoints/step_000005.safetensors", b), 0);
    printf("mpirun -np 2 vs --accum 2: losses differ by %.3g relative over 20 steps; parameters by %.3g after 5\n",
           worst, pd);
    ck_assert_msg(worst <= 1e-4, "losses differ by %g relative", worst);
    ck_assert_msg(pd <= 1e-5, "parameters differ by %g after 5 steps", pd);
    /* the run folder holds one run's files: 4 checkpoints, one grid */
    int ckpts = 0;
    DIR *dir = opendir(tu_pathf("%s/checkpoints", b));
    for (struct dirent *e; dir && (e = readdir(dir));) ckpts += strstr(e->d_name, ".safetensors") != NULL;
    if (dir) closedir(dir);
    ck_assert_int_eq(ckpts, 4);
    tu_rmtree(a); tu_rmtree(b);
    free(a); free(b);
}
END_TEST

/* The process of rank `rank` among the children of mpirun `parent` (0 when not found). */
static pid_t find_rank(pid_t parent, int rank)
{
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    pid_t found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0) continue;
        char path[64], buf[8192];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int ppid = 0;
        if (fscanf(f, "%*d (%*[^)]) %*c %d", &ppid) != 1) ppid = 0;
        fclose(f);
        if (ppid != parent) continue;
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
            if (!strcmp(buf + i, want)) found = pid;
    }
    if (d) closedir(d);
    return found;
}

static int count_rows(const char *dir)
{
    double l[4096][4];
    return read_losses(dir, l, 4096);
}

static int latest_step(const char *dir)
{
    char *t = tu_read_text(tu_pathf("%s/latest", dir));
    const char *p = strstr(t, "step_");
    int s = p ? atoi(p + 5) : -1;
    free(t);
    return s;
}

START_TEST(test_mpi_sigint_one_rank_resume)
{
    const char *cli = getenv("CGAN_CLI");
    char *dir = strdup(tu_tempdir("mpi-sigint"));
    const char *rest[] = { cli, "train", RUN_ARGS, "--steps", "100000", "--ckpt-every", "100000", "--out", dir, NULL };
    const char **argv = mpirun_argv(rest, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        for (const char *const *e = mpi_env; *e; e++) putenv((char *)*e);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    ck_assert_int_gt(pid, 0);
    /* wait until three steps are logged, then interrupt rank 1 only */
    pid_t r1 = 0;
    for (int i = 0; i < 2400 && (count_rows(dir) < 3 || !(r1 = find_rank(pid, 1))); i++) {
        struct timespec ts = { 0, 50000000 };
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(r1 > 0, "rank 1 of mpirun %d not found, or no steps logged", (int)pid);
    ck_assert_int_eq(kill(r1, SIGINT), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "mpirun status %d", status);
    const int s = latest_step(dir);
    ck_assert_int_ge(s, 3);
    ck_assert_int_eq(count_rows(dir), s); /* both stopped at the checkpoint's step */
    /* every process resumes from it */
    char steps[32];
    snprintf(steps, sizeof steps, "%d", s + 2);
    const char *rest2[] = { cli, "train", "--resume", dir, "--steps", steps, NULL };
    const char **argv2 = mpirun_argv(rest2, NULL);
    char *out, *err;
    int rc = tu_spawn("mpi-resume-log", argv2[0], argv2, mpi_env, NULL, &out, &err);
    ck_assert_msg(rc == 0, "resume exit %d: %s\n%s", rc, out, err);
    free(out); free(err);
    ck_assert_int_eq(latest_step(dir), s + 2);
    ck_assert_int_eq(count_rows(dir), s + 2);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* --sync-bn: D's first pass (real images, the same initial D) sees the statistics of the
 * whole batch, so step 1's loss on real images equals one process's at the same batch, and
 * differs without --sync-bn (per-process statistics of 8 images); with --accum 2 too it
 * runs and resumes (the op itself: tests/check_syncbn.c). */
START_TEST(test_mpi_sync_bn)
{
    const char *cli = getenv("CGAN_CLI");
    char *a = strdup(tu_tempdir("syncbn-one")), *b = strdup(tu_tempdir("syncbn-np2")),
         *c = strdup(tu_tempdir("syncbn-local")), *d = strdup(tu_tempdir("syncbn-accum"));
    const char *argv_a[] = { cli, "train", RUN_ARGS, "--steps", "2", "--out", a, NULL };
    const char *rest_b[] = { cli, "train", RUN_ARGS, "--steps", "2", "--sync-bn", "--out", b, NULL };
    const char *rest_c[] = { cli, "train", RUN_ARGS, "--steps", "2", "--out", c, NULL };
    const char *rest_d[] = { cli, "train", RUN_ARGS, "--steps", "2", "--sync-bn", "--accum", "2", "--out", d, NULL };
    char *out, *err;
    ck_assert_int_eq(tu_spawn("syncbn-one-log", cli, argv_a, NULL, NULL, &out, &err), 0);
    free(out); free(err);
    const char *const *rests[] = { rest_b, rest_c, rest_d };
    for (int i = 0; i < 3; i++) {
        const char **argv = mpirun_argv(rests[i], NULL);
        int rc = tu_spawn("syncbn-np2-log", argv[0], argv, mpi_env, NULL, &out, &err);
        ck_assert_msg(rc == 0, "mpirun exit %d: %s\n%s", rc, out, err);
        free(out); free(err);
    }
    double la[2][4], lb[2][4], lc[2][4], ld[2][4];
    ck_assert_int_eq(read_losses(a, la, 2), 2);
    ck_assert_int_eq(read_losses(b, lb, 2), 2);
    ck_assert_int_eq(read_losses(c, lc, 2), 2);
    ck_assert_int_eq(read_losses(d, ld, 2), 2);
    const double synced = fabs(lb[0][1] - la[0][1]) / fabs(la[0][1]), local = fabs(lc[0][1] - la[0][1]) / fabs(la[0][1]);
    printf("--sync-bn: step 1 loss on real images %.7g (one process %.7g, per-process statistics %.7g)\n", lb[0][1],
           la[0][1], lc[0][1]);
    ck_assert_msg(synced <= 3e-6, "with --sync-bn the real loss differs by %g relative", synced);
    ck_assert_msg(local >= 2e-5, "per-process statistics differ by only %g: the comparison cannot tell", local);
    for (int k = 0; k < 4; k++) ck_assert(isfinite(ld[1][k]));
    /* the flag may be given with --resume */
    const char *rest_r[] = { cli, "train", "--resume", d, "--steps", "3", "--sync-bn", NULL };
    const char **argv = mpirun_argv(rest_r, NULL);
    int rc = tu_spawn("syncbn-resume-log", argv[0], argv, mpi_env, NULL, &out, &err);
    ck_assert_msg(rc == 0, "resume exit %d: %s\n%s", rc, out, err);
    free(out); free(err);
    ck_assert_int_eq(latest_step(d), 3);
    tu_rmtree(a); tu_rmtree(b); tu_rmtree(c); tu_rmtree(d);
    free(a); free(b); free(c); free(d);
}
END_TEST

/* A 2-process run that must fail with `want` on stderr, leaving no checkpoint. */
static void mpi_run_fails(const char *tag, const char *const *rest, const char *env, const char *want, const char *dir)
{
    const char **argv = mpirun_argv(rest, env);
    char *out, *err;
    int rc = tu_spawn(tag, argv[0], argv, mpi_env, NULL, &out, &err);
    ck_assert_msg(rc != 0, "%s: the run succeeded: %s", tag, out);
    ck_assert_msg(strstr(err, want), "%s: wanted '%s' in: %s", tag, want, err);
    ck_assert_int_eq(latest_step(dir), -1);
    free(out);
    free(err);
}

START_TEST(test_mpi_divergence_caught)
{
    const char *cli = getenv("CGAN_CLI");
    char *dir = strdup(tu_tempdir("mpi-diverge"));
    const char *rest[] = { cli, "train", RUN_ARGS, "--steps", "6", "--log-every", "2", "--ckpt-every", "1000",
                           "--out", dir, NULL };
    /* no checkpoint of the diverged state either */
    mpi_run_fails("mpi-diverge-log", rest, "CGAN_TEST_DIVERGE_RANK=1", "diverged at step 2", dir);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_mpi_batch_must_cut)
{
    const char *cli = getenv("CGAN_CLI");
    char *dir = strdup(tu_tempdir("mpi-batch"));
    const char *rest[] = { cli, "train", "--max-images", "512", "--size", "16", "--batch", "15", "--ngf", "8",
                           "--ndf", "8", "--steps", "2", "--out", dir, NULL };
    mpi_run_fails("mpi-batch-log", rest, NULL, "--batch 15 cannot be cut into 2 equal micro batches (2 processes", dir);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* cgan-bench allreduce: the arena sizes, the sweep and the step split, under mpirun and alone */
START_TEST(test_bench_allreduce)
{
    const char *bench = getenv("CGAN_BENCH");
    ck_assert_ptr_nonnull(bench);
    const char *rest[] = { bench, "allreduce", "--arch", "seed32", "--batch", "8", "--ngf", "8", "--ndf", "8",
                           "--repeat", "1", "--warmup", "1", NULL };
    const char **argv = mpirun_argv(rest, NULL);
    char *out, *err;
    int rc = tu_spawn("bench-allreduce-log", argv[0], argv, mpi_env, NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s\n%s", rc, out, err);
    ck_assert_msg(strstr(out, "allreduce np=2 seed32 G arena") && strstr(out, "allreduce np=2 seed32 D arena") &&
                  strstr(out, "67108864 B") && strstr(out, "step-split np=2 seed32   batch 8 (4/process)") &&
                  strstr(out, "exposed comm"), "%s", out);
    ck_assert_msg(!strstr(out, "dcgan64"), "--arch seed32 ran dcgan64 too: %s", out);
    free(out); free(err);
    /* without mpirun: one process, said so */
    rest[5] = "4";
    rc = tu_spawn("bench-allreduce-one-log", bench, rest, NULL, NULL, &out, &err);
    ck_assert_msg(rc == 0, "exit %d: %s\n%s", rc, out, err);
    ck_assert_msg(strstr(out, "one process (single)") && strstr(out, "step-split np=1 seed32"), "%s", out);
    free(out); free(err);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("accum");
    tcase_add_test(tc, test_single_process);
    tcase_add_test(tc, test_batch_must_cut);
    tcase_add_test(tc, test_accum4_by_hand);
    if (tu_require(have_fmnist(), 1, "Fashion-MNIST (dataset-fashion-mnist)")) {
        tcase_add_test(tc, test_accum1_is_default);
        tcase_add_test(tc, test_accum_cli_errors);
        tcase_add_test(tc, test_resume_keeps_accum);
    }
    suite_add_tcase(s, tc);
    TCase *mpi = tcase_create("mpi");
    if (tu_require(have_mpi(), 1, "an MPI build (libopenmpi-dev, openmpi-bin; configure --with-mpi)") &&
        tu_require(have_fmnist(), 1, "Fashion-MNIST (dataset-fashion-mnist)")) {
        tcase_add_test(mpi, test_mpi_equals_accum2);
        tcase_add_test(mpi, test_mpi_sigint_one_rank_resume);
        tcase_add_test(mpi, test_mpi_sync_bn);
        tcase_add_test(mpi, test_mpi_divergence_caught);
        tcase_add_test(mpi, test_mpi_batch_must_cut);
        tcase_add_test(mpi, test_bench_allreduce);
    }
    suite_add_tcase(s, mpi);
    return tu_run(s);
}
