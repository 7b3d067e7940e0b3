/* Run folders (issue 15, defects 1-6): pruning by step number, no second run over an
 * existing one, one writer per folder (a lock naming its holder), stale temporaries
 * removed on start, resume validating every metadata field, and class names or captions
 * that are not UTF-8 refused before a checkpoint could hold them. */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "gan/checkpoint.h"
#include "gan/run.h"
#include "io/image.h"
#include "io/safetensors.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

static int have_fmnist(void)
{
    return access(FMNIST, R_OK) == 0;
}

static const char *cli(void)
{
    const char *c = getenv("CGAN_CLI");
    ck_assert_msg(c != NULL, "CGAN_CLI is not set");
    return c;
}

static int exists(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0;
}

static void touch(const char *p)
{
    FILE *f = fopen(p, "w");
    ck_assert_msg(f != NULL, "cannot create %s", p);
    fputs("x", f);
    fclose(f);
}

/* A short run through the CLI into dir; returns its exit status. */
static int train(const char *tag, const char *dir, const char *mode, const char *steps, char **out, char **err)
{
    const char *argv[] = { "cgan-cl", "train", mode, dir, "--max-images", "64", "--batch", "8", "--ngf", "8",
                           "--ndf", "8", "--nz", "16", "--steps", steps, "--ckpt-every", "2", "--sample-every", "100",
                           "--log-every", "1", NULL };
    if (!strcmp(mode, "--resume")) { argv[4] = "--steps"; argv[5] = steps; argv[6] = NULL; }
    return tu_spawn(tag, cli(), argv, NULL, NULL, out, err);
}

/* The names in a folder, sorted, one a line. */
static char *listing(const char *dir)
{
    struct dirent **e;
    int n = scandir(dir, &e, NULL, alphasort);
    char *s = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&s, &len);
    for (int i = 0; i < n; i++) {
        fprintf(m, "%s\n", e[i]->d_name);
        free(e[i]);
    }
    free(e);
    fclose(m);
    return s;
}

/* Defect 1: step_1000000 is newer than step_999999. */
START_TEST(test_prune_by_number)
{
    cgan_ctx *ctx = cgan_ctx_new();
    char *dir = tu_tempdir("prune");
    ck_assert_int_eq(mkdir(tu_pathf("%s/checkpoints", dir), 0755), 0);
    static const char *names[] = { "step_999998", "step_1000001", "step_999999", "step_1000000", "step_10" };
    for (int i = 0; i < 5; i++) touch(tu_pathf("%s/checkpoints/%s.safetensors", dir, names[i]));
    touch(tu_pathf("%s/checkpoints/notes.txt", dir));
    TU_OK(ctx, cgan_run_prune(ctx, dir, 2));
    ck_assert(exists(tu_pathf("%s/checkpoints/step_1000001.safetensors", dir)));
    ck_assert(exists(tu_pathf("%s/checkpoints/step_1000000.safetensors", dir)));
    ck_assert(!exists(tu_pathf("%s/checkpoints/step_999999.safetensors", dir)));
    ck_assert(!exists(tu_pathf("%s/checkpoints/step_999998.safetensors", dir)));
    ck_assert(!exists(tu_pathf("%s/checkpoints/step_10.safetensors", dir)));
    ck_assert(exists(tu_pathf("%s/checkpoints/notes.txt", dir)));
    ck_assert_int_eq(cgan_run_prune(ctx, dir, 0), CGAN_E_INVALID); /* never "keep none" */
    ck_assert(exists(tu_pathf("%s/checkpoints/step_1000001.safetensors", dir)));
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Defect 2: train --out into an existing run is refused, and nothing there changes. */
START_TEST(test_out_existing_refused)
{
    char *dir = tu_tempdir("existing"), *out, *err;
    ck_assert_int_eq(train("existing-1", dir, "--out", "2", &out, &err), 0);
    free(out); free(err);
    char *metrics = tu_read_text(tu_pathf("%s/metrics.csv", dir)), *latest = tu_read_text(tu_pathf("%s/latest", dir));
    char *ck = listing(tu_pathf("%s/checkpoints", dir)), *top = listing(dir);
    int rc = train("existing-2", dir, "--out", "4", &out, &err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "--resume") && strstr(err, dir), "%s", err);
    char *m2 = tu_read_text(tu_pathf("%s/metrics.csv", dir)), *l2 = tu_read_text(tu_pathf("%s/latest", dir));
    char *ck2 = listing(tu_pathf("%s/checkpoints", dir)), *top2 = listing(dir);
    ck_assert_str_eq(metrics, m2);
    ck_assert_str_eq(latest, l2);
    ck_assert_str_eq(ck, ck2);
    ck_assert_str_eq(top, top2);
    free(out); free(err); free(metrics); free(latest); free(ck); free(top); free(m2); free(l2); free(ck2); free(top2);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Defect 3: a second writer fails at once, naming the folder and the holder's PID. */
START_TEST(test_lock)
{
    char *dir = tu_tempdir("lock");
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(cli(), cli(), "train", "--out", dir, "--max-images", "64", "--batch", "8", "--ngf", "8", "--ndf", "8",
              "--nz", "16", "--steps", "100000", "--log-every", "1", "--ckpt-every", "100000", "--sample-every",
              "100000", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *po = fdopen(fds[0], "r");
    char line[512];
    int seen = 0;
    while (fgets(line, sizeof line, po))
        if (!strncmp(line, "step ", 5) && ++seen == 1) break;
    ck_assert_int_eq(seen, 1);
    char pids[32];
    snprintf(pids, sizeof pids, "%d", (int)pid);
    for (int k = 0; k < 2; k++) {
        char *out, *err;
        int rc = train("lock-2", dir, k ? "--out" : "--resume", "4", &out, &err);
        ck_assert_int_ne(rc, 0);
        ck_assert_msg(strstr(err, dir) && strstr(err, pids) && strstr(err, "in use"), "holder %s: %s", pids, err);
        free(out); free(err);
    }
    kill(pid, SIGINT);
    while (fgets(line, sizeof line, po)) {}
    fclose(po);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
    /* the lock went with its holder: the run resumes */
    char *out, *err;
    int rc = train("lock-3", dir, "--resume", "1", &out, &err);
    ck_assert_msg(rc == 0, "%s", err);
    free(out); free(err);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Defect 4: temporaries of our naming left by a killed writer go on start, others stay. */
START_TEST(test_stale_tmp)
{
    char *dir = tu_tempdir("staletmp"), *out, *err;
    ck_assert_int_eq(train("stale-1", dir, "--out", "2", &out, &err), 0);
    free(out); free(err);
    const char *ours[] = { "%s/.metrics.csv.tmp.999999.0", "%s/checkpoints/.step_000004.safetensors.tmp.4242.7",
                           "%s/samples/.step_000004.png.tmp.1.12" };
    const char *theirs[] = { "%s/notes.tmp", "%s/checkpoints/.x.tmp.abc", "%s/samples/.y.tmp.1.2.z" };
    for (int i = 0; i < 3; i++) { touch(tu_pathf(ours[i], dir)); touch(tu_pathf(theirs[i], dir)); }
    int rc = train("stale-2", dir, "--resume", "3", &out, &err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strstr(out, "removed 3 stale temporary file(s)") != NULL, "%s", out);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(!exists(tu_pathf(ours[i], dir)), "%s is still there", tu_pathf(ours[i], dir));
        ck_assert_msg(exists(tu_pathf(theirs[i], dir)), "%s was removed", tu_pathf(theirs[i], dir));
    }
    free(out); free(err);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Defect 5: a CRC-valid checkpoint with one bad metadata value. where: NULL (a metadata
 * entry), "run" or "config" (a field of that JSON entry; value is JSON text). */
typedef struct bad_meta { const char *where, *key, *value, *field; } bad_meta;

static const bad_meta BAD[] = {
    { NULL, "loader_index", "-5", "loader_index" },
    { NULL, "loader_index", "2147483648", "loader_index" },
    { NULL, "loader_index", "99999999999", "loader_index" },
    { NULL, "loader_index", "64", "loader_index" },        /* the data set has 64 images */
    { NULL, "loader_index", "12x", "loader_index" },
    { NULL, "loader_epoch", "-1", "loader_epoch" },
    { NULL, "loader_epoch", "", "loader_epoch" },
    { NULL, "step", "-3", "step" },
    { NULL, "step", "99999999999999999999", "step" },
    { NULL, "step", "9223372036854775807", "step" },
    { NULL, "d_updates", "abc", "d_updates" },
    { NULL, "g_updates", "-1", "g_updates" },
    { "run", "keep", "0", "keep" },
    { "run", "keep", "-2", "keep" },
    { "run", "sample_every", "0", "sample_every" },
    { "run", "ckpt_every", "0", "ckpt_every" },
    { "run", "log_every", "0", "log_every" },
    { "run", "log_every", "4294967297", "log_every" },
    { "run", "steps", "-7", "steps" },
    { "run", "channels", "2", "channels" },
    { "run", "max_images", "-1", "max_images" },
    { "config", "batch", "0", "batch" },
    { "config", "batch", "4294967304", "batch" },
    { "config", "nz", "0", "nz" },
    { "config", "ngf", "0", "ngf" },
    { "config", "ndf", "-8", "ndf" },
    { "config", "size", "4294967328", "size" },
    { "config", "size", "48", "size" },
    { "config", "classes", "-1", "classes" },
    { "config", "vocab", "-3", "vocab" },
    { "config", "nc", "2", "nc" },
    { "config", "d_steps", "0", "d_steps" },
    { "config", "lr_g", "-1.0", "lr_g" },
    { "config", "beta2", "1.5", "beta2" },
};

/* Copy src to dst with one metadata value changed (the CRCs are the writer's). */
static void rewrite(cgan_ctx *ctx, const cgan_st_file *src, const char *dst, const bad_meta *b)
{
    cgan_st_writer *w;
    TU_OK(ctx, cgan_st_writer_new(&w));
    for (int i = 0; i < cgan_st_count(src); i++) {
        const cgan_st_tensor *t = cgan_st_at(src, i);
        ck_assert_int_eq(cgan_st_add(w, t->name, t->dtype, t->shape, t->ndim, t->data), CGAN_OK);
    }
    for (int i = 0; i < cgan_st_meta_count(src); i++) {
        const char *k, *v;
        cgan_st_meta_at(src, i, &k, &v);
        if (strncmp(k, "crc32.", 6) != 0) ck_assert_int_eq(cgan_st_set_meta(w, k, v), CGAN_OK);
    }
    if (!b->where) {
        ck_assert_int_eq(cgan_st_set_meta(w, b->key, b->value), CGAN_OK);
    } else {
        json_t *o = json_loads(cgan_st_meta(src, b->where), 0, NULL), *v = json_loads(b->value, JSON_DECODE_ANY, NULL);
        ck_assert(o && v);
        json_object_set_new(o, b->key, v);
        char *s = json_dumps(o, JSON_COMPACT);
        ck_assert_int_eq(cgan_st_set_meta(w, b->where, s), CGAN_OK);
        free(s);
        json_decref(o);
    }
    TU_OK(ctx, cgan_st_write(ctx, w, dst));
    cgan_st_writer_destroy(w);
}

START_TEST(test_resume_validates)
{
    cgan_ctx *ctx = tu_ctx();
    char *dir = tu_tempdir("badmeta");
    cgan_run_opts o;
    cgan_run_defaults(&o);
    o.out = dir;
    o.max_images = 64;
    o.train.model.batch = 8;
    o.train.model.ngf = o.train.model.ndf = 8;
    o.train.model.nz = 16;
    o.steps = 2;
    o.ckpt_every = 2;
    int stopped;
    TU_OK(ctx, cgan_run_train(ctx, &o, NULL, NULL, &stopped));
    char *ck = strdup(tu_pathf("%s/checkpoints/step_000002.safetensors", dir));
    char *orig = strdup(tu_pathf("%s/orig.safetensors", dir));
    ck_assert_int_eq(rename(ck, orig), 0);
    cgan_st_file *src;
    TU_OK(ctx, cgan_st_open(ctx, orig, &src));
    cgan_run_opts r;
    cgan_run_defaults(&r);
    r.resume = dir;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_meta *b = &BAD[i];
        rewrite(ctx, src, ck, b);
        cgan_status st = cgan_run_train(ctx, &r, NULL, NULL, &stopped);
        const char *msg = cgan_last_error(ctx);
        ck_assert_msg(st != CGAN_OK, "%s %s = %s was accepted", b->where ? b->where : "", b->key, b->value);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", b->field);
        ck_assert_msg(strstr(msg, quoted) && strstr(msg, "step_000002.safetensors"),
                      "%s %s = %s: the message names no field %s or file: %s", b->where ? b->where : "", b->key,
                      b->value, quoted, msg);
        ck_assert_msg(exists(ck), "%s = %s: the checkpoint was deleted", b->key, b->value);
    }
    cgan_st_close(src);
    /* the unchanged file still resumes */
    ck_assert_int_eq(rename(orig, ck), 0);
    r.steps = 3;
    TU_OK(ctx, cgan_run_train(ctx, &r, NULL, NULL, &stopped));
    free(ck); free(orig);
    tu_rmtree(dir);
    free(dir);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Defect 6: a class folder or a caption that is not UTF-8 is refused at scan time. */
static void image_folder(cgan_ctx *ctx, const char *dir, const char *cls, int n)
{
    char *d = tu_pathf("%s/%s", dir, cls);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    float px[3 * 16 * 16];
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof px / sizeof px[0]; k++) px[k] = (float)((k * 7 + (size_t)i * 13) % 17) / 8.5f - 1;
        TU_OK(ctx, cgan_grid_write(ctx, tu_pathf("%s/%s/%d.png", dir, cls, i), px, 1, 3, 16, 1, 0));
    }
}

START_TEST(test_utf8_names)
{
    cgan_ctx *ctx = tu_ctx();
    char *data = tu_tempdir("utf8data"), *out = tu_tempdir("utf8out");
    image_folder(ctx, data, "good", 8);
    image_folder(ctx, data, "bad\xff", 8);
    cgan_run_opts o;
    cgan_run_defaults(&o);
    o.out = out;
    o.data = data;
    o.train.model.batch = 8;
    o.train.model.size = 16;
    o.train.model.ngf = o.train.model.ndf = 8;
    o.train.model.nz = 16;
    o.steps = 2;
    int stopped;
    cgan_status st = cgan_run_train(ctx, &o, NULL, NULL, &stopped);
    ck_assert_int_eq(st, CGAN_E_FORMAT);
    ck_assert_msg(strstr(cgan_last_error(ctx), "UTF-8") && strstr(cgan_last_error(ctx), "bad"), "%s",
                  cgan_last_error(ctx));
    ck_assert(!exists(tu_pathf("%s/latest", out)));
    /* a caption: the file and line are named */
    tu_rmtree(data);
    free(data);
    data = tu_tempdir("utf8caps");
    o.data = data; /* not the folder freed above (ASan: heap-use-after-free) */
    image_folder(ctx, data, "a", 8);
    FILE *f = fopen(tu_pathf("%s/captions.tsv", data), "w");
    for (int i = 0; i < 8; i++) fprintf(f, "a/%d.png\t%s\n", i, i == 5 ? "a red \xc3 square" : "a red square");
    fclose(f);
    o.train.model.cond = CGAN_COND_TEXT;
    st = cgan_run_train(ctx, &o, NULL, NULL, &stopped);
    ck_assert_int_eq(st, CGAN_E_FORMAT);
    ck_assert_msg(strstr(cgan_last_error(ctx), "UTF-8") && strstr(cgan_last_error(ctx), "captions.tsv line 6"), "%s",
                  cgan_last_error(ctx));
    ck_assert(!exists(tu_pathf("%s/latest", out)));
    tu_rmtree(data); tu_rmtree(out);
    free(data); free(out);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A file's size and modification time, for "unchanged". */
static char *stamp(const char *p)
{
    struct stat sb;
    ck_assert_msg(stat(p, &sb) == 0, "%s is missing", p);
    return tu_pathf("%lld %lld.%09ld", (long long)sb.st_size, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
}

/* Device faults (issue 15 hardening): with CGAN_MAX_ALLOC below what a run needs, a new
 * run with a large batch and a resume both fail before any work, naming the memory and its
 * size, and the last checkpoint stays as it was. */
START_TEST(test_max_alloc)
{
    char *dir = tu_tempdir("maxalloc"), *big = tu_tempdir("maxalloc-big"), *out, *err;
    ck_assert_int_eq(train("maxalloc-1", dir, "--out", "2", &out, &err), 0);
    free(out); free(err);
    char *latest = tu_read_text(tu_pathf("%s/latest", dir));
    char *metrics = tu_read_text(tu_pathf("%s/metrics.csv", dir));
    char *ck = listing(tu_pathf("%s/checkpoints", dir));
    char *ckpt = strdup(tu_pathf("%s/checkpoints/step_000002.safetensors", dir));
    char *st0 = strdup(stamp(ckpt));
    /* a batch too large for the cap: refused before a step, naming the tensor and its size */
    const char *env[] = { "CGAN_MAX_ALLOC=4000000", NULL };
    char *bigrun = strdup(tu_pathf("%s/run", big));
    const char *argv[] = { "cgan-cl", "train", "--out", bigrun, "--max-images", "1024",
                           "--batch", "1024", "--ngf", "8", "--ndf", "8", "--nz", "16", "--steps", "2",
                           "--log-every", "1", NULL };
    int rc = tu_spawn("maxalloc-2", cli(), argv, env, NULL, &out, &err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "CGAN_MAX_ALLOC=4000000") && strstr(err, "largest tensor '") && strstr(err, " bytes"),
                  "%s", err);
    ck_assert_msg(!strstr(out, "step 1 "), "a step ran: %s", out);
    ck_assert(!exists(tu_pathf("%s/latest", bigrun)));
    free(bigrun);
    free(out); free(err);
    /* a resume under a cap too small for the model: refused, the checkpoint intact */
    const char *tiny[] = { "CGAN_MAX_ALLOC=65536", NULL };
    const char *res[] = { "cgan-cl", "train", "--resume", dir, "--steps", "4", NULL };
    rc = tu_spawn("maxalloc-3", cli(), res, tiny, NULL, &out, &err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "CGAN_MAX_ALLOC=65536") && strstr(err, "bytes"), "%s", err);
    char *l2 = tu_read_text(tu_pathf("%s/latest", dir)), *m2 = tu_read_text(tu_pathf("%s/metrics.csv", dir));
    char *ck2 = listing(tu_pathf("%s/checkpoints", dir));
    ck_assert_str_eq(latest, l2);
    ck_assert_str_eq(metrics, m2);
    ck_assert_str_eq(ck, ck2);
    ck_assert_str_eq(st0, stamp(ckpt));
    free(out); free(err);
    /* without the cap the same resume goes on from that checkpoint */
    ck_assert_int_eq(train("maxalloc-4", dir, "--resume", "4", &out, &err), 0);
    free(out); free(err);
    free(latest); free(metrics); free(ck); free(ckpt); free(st0); free(l2); free(m2); free(ck2);
    tu_rmtree(dir); tu_rmtree(big);
    free(dir); free(big);
}
END_TEST

/* Device faults mid-step (issue 15 hardening): CGAN_FAULT_LAUNCH makes one kernel launch
 * fail with CL_OUT_OF_RESOURCES, as a GPU can at any step. The run stops with an error
 * naming the OpenCL call, the step and the checkpoint kept; nothing is written after the
 * fault (the device state is not trusted); the kept checkpoint loads, and a resume
 * without the fault finishes the run with one metrics row per step. */
START_TEST(test_device_fault)
{
    char *dir = tu_tempdir("fault"), *out, *err;
    char *run = strdup(tu_pathf("%s/run", dir));
    const char *env[] = { "CGAN_FAULT_LAUNCH=1500", NULL };
    const char *argv[] = { "cgan-cl", "train", "--out", run, "--max-images", "64", "--batch", "8", "--ngf", "8",
                           "--ndf", "8", "--nz", "16", "--steps", "40", "--ckpt-every", "2", "--sample-every", "100",
                           "--log-every", "1", "--standing-stats", "0", NULL };
    /* (no standing statistics: launch 1500 must fall inside a training step, not in the
     * checkpoint's forward passes) */
    int rc = tu_spawn("fault-1", cli(), argv, env, NULL, &out, &err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "clEnqueueNDRangeKernel") && strstr(err, "CL_OUT_OF_RESOURCES") &&
                  strstr(err, "CGAN_FAULT_LAUNCH"), "%s", err);
    long at = -1, kept = -1;
    const char *p = strstr(err, "training stopped at step ");
    ck_assert_msg(p && sscanf(p, "training stopped at step %ld; nothing was saved after the checkpoint of step %ld",
                              &at, &kept) == 2, "%s", err);
    ck_assert_msg(kept >= 2 && kept < at && at < 40, "stopped at %ld, kept %ld", at, kept);
    ck_assert_msg(strstr(err, "--resume"), "%s", err);
    free(out); free(err);
    /* latest names the kept checkpoint; nothing newer, no temporary, no sample after it */
    char *latest = tu_read_text(tu_pathf("%s/latest", run));
    char want[64];
    snprintf(want, sizeof want, "checkpoints/step_%06ld.safetensors\n", kept);
    ck_assert_str_eq(latest, want);
    char *ck = listing(tu_pathf("%s/checkpoints", run));
    ck_assert_msg(!strstr(ck, ".tmp"), "%s", ck);
    snprintf(want, sizeof want, "step_%06ld.safetensors", kept + 2);
    ck_assert_msg(!strstr(ck, want), "%s", ck);
    char *ckpt = strdup(tu_pathf("%s/%.*s", run, (int)strlen(latest) - 1, latest));
    const char *info[] = { "cgan-cl", "info", ckpt, NULL };
    rc = tu_spawn("fault-2", cli(), info, NULL, NULL, &out, &err);
    ck_assert_msg(rc == 0, "info %s: %s", ckpt, err);
    free(out); free(err);
    /* resumed without the fault: the run finishes, one metrics row per step */
    const char *res[] = { "cgan-cl", "train", "--resume", run, "--steps", "40", NULL };
    rc = tu_spawn("fault-3", cli(), res, NULL, NULL, &out, &err);
    ck_assert_msg(rc == 0, "%s", err);
    char *metrics = tu_read_text(tu_pathf("%s/metrics.csv", run));
    int rows = 0;
    for (const char *q = metrics; (q = strchr(q, '\n')); q++) rows++;
    ck_assert_int_eq(rows, 41); /* the header and steps 1..40 */
    char *latest2 = tu_read_text(tu_pathf("%s/latest", run));
    ck_assert_str_eq(latest2, "checkpoints/step_000040.safetensors\n");
    free(out); free(err); free(latest); free(latest2); free(ck); free(ckpt); free(metrics); free(run);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("rundir");
    TCase *tc = tcase_create("rundir");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_prune_by_number);
    tcase_add_test(tc, test_utf8_names);
    /* the runs train on Fashion-MNIST: skipped (exit 77), never passed, where it is missing */
    if (tu_require(have_fmnist(), 1, "Fashion-MNIST (" FMNIST ")")) {
        tcase_add_test(tc, test_out_existing_refused);
        tcase_add_test(tc, test_lock);
        tcase_add_test(tc, test_stale_tmp);
        tcase_add_test(tc, test_resume_validates);
        tcase_add_test(tc, test_max_alloc);
        tcase_add_test(tc, test_device_fault);
    }
    suite_add_tcase(s, tc);
    return tu_run(s);
}
