/* Training: steps, determinism, checkpoints (round trip, resume, bad files, --init), no
 * host waits or allocations inside a step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "core/exec.h"
#include "gan/checkpoint.h"
#include "gan/trainer.h"

/* the shared helpers (testutil.h) under this file's names */
static cgan_train_cfg tiny_cfg(cgan_cond cond) { return tu_tiny_train_cfg(cond); }
static void run(cgan_ctx *ctx, cgan_trainer *t, int steps, float *log_out) { tu_train_steps(ctx, t, steps, log_out); }

START_TEST(test_steps_and_determinism)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = tiny_cfg(CGAN_COND_CONCAT);
    float a[5 * CGAN_LOG_FIELDS], b[5 * CGAN_LOG_FIELDS];
    for (int k = 0; k < 2; k++) {
        cgan_trainer *t;
        TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
        run(ctx, t, 5, k ? b : a);
        cgan_trainer_destroy(t);
    }
    for (int i = 0; i < 5 * CGAN_LOG_FIELDS; i++) {
        ck_assert_msg(isfinite(a[i]), "log value %d is not finite", i);
        ck_assert_msg(a[i] == b[i], "run differs at %d: %g vs %g", i, a[i], b[i]);
    }
    /* BCE losses of a fresh model are near log 2; D(x) within (0, 1) */
    ck_assert(a[CGAN_LOG_LOSS_D_REAL] > 0.3 && a[CGAN_LOG_LOSS_D_REAL] < 1.5);
    ck_assert(a[CGAN_LOG_D_X] > 0 && a[CGAN_LOG_D_X] < 1);
    /* the hinge loss trains as well */
    c.loss = CGAN_LOSS_HINGE;
    c.d_steps = 2;
    c.model.diffaug = 1;
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    float *x = malloc(2 * 4 * 1024 * sizeof *x), y[8] = { 0, 1, 2, 0, 1, 2, 0, 1 };
    cgan_rng r;
    cgan_rng_init(&r, 3, 3);
    cgan_rng_fill_uniform(&r, x, 2 * 4 * 1024, -1, 1);
    TU_OK(ctx, cgan_trainer_step(t, x, y));
    int64_t du, gu;
    cgan_trainer_counts(t, &du, &gu);
    ck_assert_int_eq(du, 2);
    ck_assert_int_eq(gu, 1);
    free(x);
    cgan_trainer_destroy(t);
    cgan_ctx_destroy(ctx);
}
END_TEST

static char *tmpfile_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

START_TEST(test_checkpoint_roundtrip_and_resume)
{
    cgan_ctx *ctx = tu_ctx();
    char *dir = tu_tempdir("ckpt");
    char *p1 = tmpfile_in(dir, "a.safetensors"), *p2 = tmpfile_in(dir, "b.safetensors");
    cgan_train_cfg c = tiny_cfg(CGAN_COND_CONCAT);
    char *classes[3] = { "cat", "dog", "ankle boot" };
    float full[6 * CGAN_LOG_FIELDS], part[3 * CGAN_LOG_FIELDS];
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    run(ctx, t, 6, full);
    cgan_trainer_destroy(t);

    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    run(ctx, t, 3, NULL);
    cgan_ckpt_kv extra[1] = { { "note", "resume test" } };
    TU_OK(ctx, cgan_checkpoint_save(t, p1, classes, 3, extra, 1));
    cgan_trainer_destroy(t);

    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    cgan_st_file *f = NULL;
    TU_OK(ctx, cgan_checkpoint_load(t, p1, &f));
    ck_assert_str_eq(cgan_st_meta(f, "note"), "resume test");
    char **names;
    int nn;
    TU_OK(ctx, cgan_checkpoint_classes(ctx, f, &names, &nn));
    ck_assert_int_eq(nn, 3);
    ck_assert_str_eq(names[2], "ankle boot");
    cgan_free_strings(names, nn);
    cgan_st_close(f);
    ck_assert_int_eq(cgan_trainer_steps(t), 3);
    /* saving again right after loading gives the same bytes: the round trip is exact */
    TU_OK(ctx, cgan_checkpoint_save(t, p2, classes, 3, extra, 1));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", p1, p2);
    ck_assert_msg(system(cmd) == 0, "checkpoint round trip is not bit-exact");
    run(ctx, t, 3, part);
    for (int i = 0; i < 3 * CGAN_LOG_FIELDS; i++)
        ck_assert_msg(part[i] == full[3 * CGAN_LOG_FIELDS + i], "resumed run differs at %d: %g vs %g", i,
                      part[i], full[3 * CGAN_LOG_FIELDS + i]);
    cgan_trainer_destroy(t);
    tu_rmtree(dir);
    free(dir); free(p1); free(p2);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* Rewrite src into dst without tensor `drop` (and with metadata kept). */
static void copy_without(cgan_ctx *ctx, const char *src, const char *dst, const char *drop)
{
    cgan_st_file *f;
    TU_OK(ctx, cgan_st_open(ctx, src, &f));
    cgan_st_writer *w;
    TU_OK(ctx, cgan_st_writer_new(&w));
    for (int i = 0; i < cgan_st_count(f); i++) {
        const cgan_st_tensor *t = cgan_st_at(f, i);
        if (!strcmp(t->name, drop)) continue;
        float *buf = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *buf);
        TU_OK(ctx, cgan_st_read(ctx, f, t->name, CGAN_ST_F32, buf, t->numel));
        TU_OK(ctx, cgan_st_add_f32(w, t->name, t->shape, t->ndim, buf));
        free(buf);
    }
    for (int i = 0; i < cgan_st_meta_count(f); i++) {
        const char *k, *v;
        cgan_st_meta_at(f, i, &k, &v);
        if (strncmp(k, "crc32.", 6)) cgan_st_set_meta(w, k, v);
    }
    TU_OK(ctx, cgan_st_write(ctx, w, dst));
    cgan_st_writer_destroy(w);
    cgan_st_close(f);
}

START_TEST(test_bad_checkpoints)
{
    cgan_ctx *ctx = tu_ctx();
    char *dir = tu_tempdir("badckpt");
    char *good = tmpfile_in(dir, "good.safetensors"), *bad = tmpfile_in(dir, "bad.safetensors");
    cgan_train_cfg c = tiny_cfg(CGAN_COND_CONCAT);
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    run(ctx, t, 1, NULL);
    TU_OK(ctx, cgan_checkpoint_save(t, good, NULL, 0, NULL, 0));
    struct stat sb;
    ck_assert_int_eq(stat(good, &sb), 0);
    char cmd[4096];
    struct { const char *what, *shell, *expect; } cases[] = {
        { "wrong magic", "printf 'GARBAGE!' | dd of=%s bs=1 seek=0 conv=notrunc 2>/dev/null", "bad.safetensors" },
        { "truncated", "truncate -s %lld %s", "truncated" },
        { "flipped bit", "printf '\\001' | dd of=%s bs=1 seek=%lld conv=notrunc 2>/dev/null", "CRC32" },
    };
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd, "cp %s %s", good, bad);
        ck_assert_int_eq(system(cmd), 0);
        if (k == 0) snprintf(cmd, sizeof cmd, cases[k].shell, bad);
        else if (k == 1) snprintf(cmd, sizeof cmd, cases[k].shell, (long long)sb.st_size - 100, bad);
        else snprintf(cmd, sizeof cmd, cases[k].shell, bad, (long long)sb.st_size - 7);
        ck_assert_int_eq(system(cmd), 0);
        cgan_status st = cgan_checkpoint_load(t, bad, NULL);
        ck_assert_msg(st != CGAN_OK, "%s accepted", cases[k].what);
        const char *msg = cgan_last_error(ctx);
        ck_assert_msg(strstr(msg, "bad.safetensors") != NULL, "%s: message without the file: %s", cases[k].what, msg);
        ck_assert_msg(strstr(msg, cases[k].expect) != NULL, "%s: unexpected message: %s", cases[k].what, msg);
    }
    /* a missing tensor is named */
    copy_without(ctx, good, bad, "D.bn2.running_mean");
    ck_assert_int_eq(cgan_checkpoint_load(t, bad, NULL), CGAN_E_NOT_FOUND);
    ck_assert_msg(strstr(cgan_last_error(ctx), "D.bn2.running_mean") != NULL, "%s", cgan_last_error(ctx));
    /* a shape mismatch is named (same architecture, other width) */
    cgan_train_cfg wide = c;
    wide.model.ngf = wide.model.ndf = 16;
    cgan_trainer *t2;
    TU_OK(ctx, cgan_trainer_create(ctx, &wide, &t2));
    ck_assert_int_eq(cgan_checkpoint_load(t2, good, NULL), CGAN_E_SHAPE);
    ck_assert_msg(strstr(cgan_last_error(ctx), "G.") != NULL && strstr(cgan_last_error(ctx), "shape") != NULL,
                  "%s", cgan_last_error(ctx));
    cgan_trainer_destroy(t2);
    /* a missing file */
    ck_assert_int_eq(cgan_checkpoint_load(t, "/nonexistent/x.safetensors", NULL), CGAN_E_NOT_FOUND);
    /* the good one still loads after all this */
    TU_OK(ctx, cgan_checkpoint_load(t, good, NULL));
    cgan_trainer_destroy(t);
    tu_rmtree(dir);
    free(dir); free(good); free(bad);
    cgan_ctx_destroy(ctx);
}
END_TEST

static void collect(void *user, const char *line)
{
    int *counts = user;
    if (!strncmp(line, "loaded", 6)) counts[0]++;
    else if (!strncmp(line, "new", 3)) counts[1]++;
    else if (!strncmp(line, "skipped", 7)) counts[2]++;
}

START_TEST(test_init_partial)
{
    cgan_ctx *ctx = tu_ctx();
    char *dir = tu_tempdir("init");
    char *pre = tmpfile_in(dir, "pre.safetensors");
    cgan_train_cfg u = tiny_cfg(CGAN_COND_NONE);
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &u, &t));
    run(ctx, t, 2, NULL);
    TU_OK(ctx, cgan_checkpoint_save(t, pre, NULL, 0, NULL, 0));
    int bn = cgan_graph_find_tensor(cgan_trainer_generator(t)->g, "G.bn2.weight");
    float want[16], got[16];
    TU_OK(ctx, cgan_graph_read(cgan_trainer_generator(t)->g, bn, want));
    cgan_trainer_destroy(t);

    cgan_train_cfg c = tiny_cfg(CGAN_COND_CONCAT);
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    int counts[3] = { 0, 0, 0 }, loaded, fresh, skipped;
    TU_OK(ctx, cgan_checkpoint_init_from(t, pre, collect, counts, &loaded, &fresh, &skipped));
    ck_assert_int_eq(counts[0], loaded);
    ck_assert_int_eq(counts[1], fresh);
    ck_assert_int_eq(counts[2], skipped);
    ck_assert_int_eq(fresh, 1);    /* G.embed.weight */
    ck_assert_int_eq(skipped, 2);  /* G.deconv1.weight (nz+K inputs), D.conv1.weight (nc+K) */
    ck_assert_int_gt(loaded, 10);
    bn = cgan_graph_find_tensor(cgan_trainer_generator(t)->g, "G.bn2.weight");
    TU_OK(ctx, cgan_graph_read(cgan_trainer_generator(t)->g, bn, got));
    for (int i = 0; i < 16; i++) ck_assert_float_eq(got[i], want[i]);
    run(ctx, t, 1, NULL); /* and it trains from there */
    cgan_trainer_destroy(t);
    tu_rmtree(dir);
    free(dir); free(pre);
    cgan_ctx_destroy(ctx);
}
END_TEST

/* A training step only enqueues work: after a warm-up step (kernel builds), three steps
 * neither block the host (clFinish, blocking copies, profiling waits) nor create device
 * buffers. The one wait allowed is the throttle of the double-buffered real batches:
 * before refilling a staging buffer the host waits for that buffer's upload of two
 * batches ago if the device has not done it yet, at most once per batch, which keeps the
 * host from running further ahead than the ring. Reading the log afterwards blocks, and
 * is counted. Concat/BCE, and projection/hinge with two D steps and DiffAugment. */
START_TEST(test_step_has_no_host_waits)
{
    cgan_ctx *ctx = tu_ctx();
    cgan_train_cfg c = tiny_cfg(_i ? CGAN_COND_PROJ : CGAN_COND_CONCAT);
    if (_i) {
        c.loss = CGAN_LOSS_HINGE;
        c.d_steps = 2;
        c.model.diffaug = 1;
    }
    const size_t img = (size_t)c.model.batch * c.model.nc * 32 * 32, nb = (size_t)c.d_steps;
    float *x = malloc(nb * img * sizeof *x), *y = malloc(nb * (size_t)c.model.batch * sizeof *y);
    ck_assert(x && y);
    cgan_trainer *t;
    TU_OK(ctx, cgan_trainer_create(ctx, &c, &t));
    cgan_sync_counts before = ctx->sync;
    for (int s = 0; s < 4; s++) {
        for (size_t b = 0; b < nb; b++)
            tu_real_batch(&c, 2 * s + (int64_t)b, x + b * img, y + b * (size_t)c.model.batch);
        TU_OK(ctx, cgan_trainer_step(t, x, y));
        if (s == 0) before = ctx->sync; /* after the warm-up */
    }
    const cgan_sync_counts after = ctx->sync;
    ck_assert_msg(after.host_waits == before.host_waits, "%llu host waits in 3 steps",
                  (unsigned long long)(after.host_waits - before.host_waits));
    ck_assert_msg(after.buffers == before.buffers, "%llu device buffers created in 3 steps",
                  (unsigned long long)(after.buffers - before.buffers));
    ck_assert_uint_le(after.reuse_waits - before.reuse_waits, 3 * nb);
    float rows[4 * CGAN_LOG_FIELDS];
    int64_t steps[4];
    int n = 0;
    TU_OK(ctx, cgan_trainer_read_log(t, rows, steps, 4, &n));
    ck_assert_int_eq(n, 4);
    ck_assert_uint_gt(ctx->sync.host_waits, after.host_waits);
    for (int i = 0; i < 4 * CGAN_LOG_FIELDS; i++) ck_assert_msg(isfinite(rows[i]), "log value %d", i);
    cgan_trainer_destroy(t);
    free(x);
    free(y);
    cgan_ctx_destroy(ctx);
}
END_TEST

int main(void)
{
    tu_require_device();
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_steps_and_determinism);
    tcase_add_test(tc, test_checkpoint_roundtrip_and_resume);
    tcase_add_test(tc, test_bad_checkpoints);
    tcase_add_test(tc, test_init_partial);
    tcase_add_loop_test(tc, test_step_has_no_host_waits, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
