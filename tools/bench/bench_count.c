/* cgan-bench step --count / generate --count: the OpenCL host calls of each training step
 * (generation batch), counted by tools/clcount/clcount.so, loaded with LD_PRELOAD. Steps run
 * back to back as in `cgan-cl train`: no clock and no queue drain around them; every
 * --log-every steps (and after the last) the losses are read with cgan_trainer_read_log,
 * the host wait the training loop makes. The claim checked: after the first step (which may
 * build kernels and allocate), a step creates nothing and blocks only when it is logged. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "../clcount/clcount.h"

#ifndef CGAN_PKGLIBDIR
#define CGAN_PKGLIBDIR "/usr/local/lib/cgan-cl"
#endif
#define REEXEC_MARK "CGAN_BENCH_CLCOUNT_EXEC" /* set on the re-executed process */
#define LOG_ROWS 1024                         /* as src/gan/run.c reads the log */

static clcount_snapshot_fn snapshot_fn(void)
{
    return (clcount_snapshot_fn)dlsym(RTLD_DEFAULT, "clcount_snapshot");
}

static int readable(const char *p) { return p && access(p, R_OK) == 0; }

int bench_count_preload(char **argv)
{
    if (snapshot_fn()) {
        unsetenv(REEXEC_MARK);
        return 0;
    }
    const char *pre = getenv("LD_PRELOAD");
    if (getenv(REEXEC_MARK)) {
        fprintf(stderr, "cgan-bench --count: started again with LD_PRELOAD=%s, but clcount_snapshot "
                        "is still not defined: is that file tools/clcount's clcount.so?\n",
                pre ? pre : "");
        return 1;
    }
    char path[PATH_MAX] = "", tried[3 * PATH_MAX + 64] = "";
    const char *env = getenv("CGAN_CLCOUNT");
    if (env && *env) {
        if (!readable(env) || !realpath(env, path)) {
            fprintf(stderr, "cgan-bench --count: CGAN_CLCOUNT=%s: %s\n", env, strerror(errno));
            return 1;
        }
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        const char *dirs[3][2] = { { exe, "/.libs/clcount.so" }, { exe, "/clcount.so" },
                                   { CGAN_PKGLIBDIR, "/clcount.so" } };
        for (int i = 0; i < 3 && !path[0]; i++) {
            char cand[PATH_MAX + 32];
            snprintf(cand, sizeof cand, "%s%s", dirs[i][0], dirs[i][1]);
            if (readable(cand) && realpath(cand, path)) break;
            path[0] = '\0';
            size_t l = strlen(tried);
            snprintf(tried + l, sizeof tried - l, "%s%s", l ? ", " : "", cand);
        }
        if (!path[0]) {
            fprintf(stderr, "cgan-bench --count: clcount.so not found (looked for %s); build it "
                            "(make) or set CGAN_CLCOUNT=/path/to/clcount.so, or run under "
                            "LD_PRELOAD=/path/to/clcount.so\n", tried);
            return 1;
        }
    }
    size_t len = strlen(path) + (pre && *pre ? strlen(pre) + 2 : 1);
    char *value = malloc(len);
    if (!value) return 1;
    snprintf(value, len, "%s%s%s", path, pre && *pre ? ":" : "", pre && *pre ? pre : "");
    if (setenv("LD_PRELOAD", value, 1) || setenv(REEXEC_MARK, "1", 1)) {
        free(value);
        return 1;
    }
    fflush(NULL);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "cgan-bench --count: cannot start again with LD_PRELOAD=%s: %s\n", value,
            strerror(errno));
    free(value);
    return 1;
}

/* ---- one step's counts, in the groups the table shows ---------------------------------- */
typedef struct group_counts {
    uint64_t kernels, programs, buffers, other;            /* creations */
    uint64_t finish, wait, read, write, map;                /* blocking host calls */
    uint64_t flush, launch, copy, fill, async;              /* enqueued without a wait */
} group_counts;

static void diff(const struct clcount_counts *a, const struct clcount_counts *b,
                 struct clcount_counts *d)
{
#define SUB_(name, group, what) d->name = b->name - a->name;
    CLCOUNT_FIELDS(SUB_)
#undef SUB_
}

static group_counts groups(const struct clcount_counts *c)
{
    group_counts g = {
        .kernels = c->create_kernel + c->create_kernels_in_program + c->clone_kernel,
        .programs = c->create_program_source + c->create_program_binary + c->build_program +
                    c->link_program,
        .buffers = c->create_buffer + c->create_sub_buffer + c->create_image,
        .other = c->create_queue + c->create_context + c->create_other,
        .finish = c->finish, .wait = c->wait_for_events, .read = c->read_blocking,
        .write = c->write_blocking, .map = c->map_blocking, .flush = c->flush,
        .launch = c->launch, .copy = c->copy, .fill = c->fill,
        .async = c->read_async + c->write_async + c->map_async,
    };
    return g;
}

static uint64_t creations(const group_counts *g) { return g->kernels + g->programs + g->buffers + g->other; }
static uint64_t blocking(const group_counts *g) { return g->finish + g->wait + g->read + g->write + g->map; }

static json_t *counts_json(const struct clcount_counts *c)
{
    json_t *o = json_object();
#define FIELD_(name, group, what) json_object_set_new(o, #name, json_integer((json_int_t)c->name));
    CLCOUNT_FIELDS(FIELD_)
#undef FIELD_
    return o;
}

static json_t *groups_json(const group_counts *g)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                     "creations", (json_int_t)creations(g), "kernels", (json_int_t)g->kernels,
                     "programs", (json_int_t)g->programs, "buffers", (json_int_t)g->buffers,
                     "other_creations", (json_int_t)g->other, "blocking", (json_int_t)blocking(g),
                     "finish", (json_int_t)g->finish, "wait_for_events", (json_int_t)g->wait,
                     "read_blocking", (json_int_t)g->read, "write_blocking", (json_int_t)g->write,
                     "map_blocking", (json_int_t)g->map, "flush", (json_int_t)g->flush,
                     "launch", (json_int_t)g->launch, "copy", (json_int_t)g->copy,
                     "fill", (json_int_t)g->fill, "async_transfers", (json_int_t)g->async);
}

/* A list of step numbers "2,4,5" (or "none") into out. */
static void step_list(const int *steps, int n, char *out, size_t cap)
{
    size_t l = 0;
    out[0] = '\0';
    for (int i = 0; i < n && l + 16 < cap; i++)
        l += (size_t)snprintf(out + l, cap - l, "%s%d", i ? "," : "", steps[i]);
    if (!n) snprintf(out, cap, "none");
}

typedef struct count_run {
    int n;                          /* steps */
    struct clcount_counts *step;    /* per step */
    int *logged;
} count_run;

static void report(cgan_ctx *ctx, const bench_opts *o, const cgan_train_cfg *cfg,
                   const count_run *r, int generate, cgan_trainer *t)
{
    double flops = 0, bytes = 0; /* the step's work (bench_work.c); training only */
    if (t) bench_step_work(t, &flops, &bytes);
    const char *what = generate ? "generate" : "train";
    struct clcount_counts sum = { 0 };
    int *made = calloc((size_t)r->n, sizeof *made), *blocked = calloc((size_t)r->n, sizeof *blocked);
    int nmade = 0, nblocked = 0, nlogged = 0;
    uint64_t block_logged = 0;
    for (int i = 1; i < r->n; i++) {
        const struct clcount_counts *c = &r->step[i];
        struct clcount_counts s0 = sum;
#define ADD_(name, group, what) sum.name = s0.name + c->name;
        CLCOUNT_FIELDS(ADD_)
#undef ADD_
        group_counts g = groups(c);
        if (made && creations(&g)) made[nmade++] = i + 1;
        if (blocked && blocking(&g) && !r->logged[i]) blocked[nblocked++] = i + 1;
        if (r->logged[i]) { nlogged++; block_logged += blocking(&g); }
    }
    group_counts gs = groups(&sum);
    int ok = nmade == 0 && nblocked == 0;
    if (o->json) {
        json_t *steps = json_array();
        for (int i = 0; i < r->n; i++) {
            group_counts g = groups(&r->step[i]);
            json_t *s = groups_json(&g);
            json_object_set_new(s, "step", json_integer(i + 1));
            json_object_set_new(s, "logged", json_boolean(r->logged[i]));
            json_object_set_new(s, "counts", counts_json(&r->step[i]));
            json_array_append_new(steps, s);
        }
        json_t *summary = groups_json(&gs);
        json_object_set_new(summary, "from_step", json_integer(2));
        json_object_set_new(summary, "to_step", json_integer(r->n));
        json_object_set_new(summary, "logged_steps", json_integer(nlogged));
        json_object_set_new(summary, "blocking_on_logged_steps", json_integer((json_int_t)block_logged));
        json_t *a = json_array(), *b = json_array();
        for (int i = 0; i < nmade; i++) json_array_append_new(a, json_integer(made[i]));
        for (int i = 0; i < nblocked; i++) json_array_append_new(b, json_integer(blocked[i]));
        json_object_set_new(summary, "steps_creating", a);
        json_object_set_new(summary, "unlogged_steps_blocking", b);
        json_object_set_new(summary, "ok", json_boolean(ok));
        json_object_set_new(summary, "counts", counts_json(&sum));
        if (t) {
            json_object_set_new(summary, "flops_per_step", json_real(flops));
            json_object_set_new(summary, "min_bytes_per_step", json_real(bytes));
        }
        json_t *rec = json_pack("{s:s,s:s,s:i,s:i,s:s,s:i,s:i,s:i,s:i,s:i}", "bench",
                                generate ? "generate_count" : "train_count", "arch",
                                cgan_model_family_name(cfg->model.size), "nc", cfg->model.nc, "classes",
                                cfg->model.num_classes, "cond", cgan_cond_name(cfg->model.cond),
                                "ngf", cfg->model.ngf, "ndf", cfg->model.ndf,
                                "batch", cfg->model.batch, "steps", r->n, "log_every",
                                generate ? 1 : o->log_every);
        if (rec) {
            json_object_set_new(rec, "per_step", steps);
            json_object_set_new(rec, "summary", summary);
        } else {
            json_decref(steps);
            json_decref(summary);
        }
        bench_emit(ctx, rec);
    } else {
        char how[64];
        if (generate) snprintf(how, sizeof how, "every batch reads its images");
        else snprintf(how, sizeof how, "losses read every %d steps and after the last", o->log_every);
        printf("%s %s nc=%d K=%d ngf=%d ndf=%d batch %d: OpenCL host calls per %s (clcount; %s)\n", what,
               cgan_model_family_name(cfg->model.size), cfg->model.nc, cfg->model.num_classes, cfg->model.ngf,
               cfg->model.ndf,
               cfg->model.batch, generate ? "batch" : "step", how);
        printf("           %-23s %-31s %s\n", "created", "blocking", "enqueued");
        printf("step %-4s  kern prog  buf other   finish wait read write  map   flush launch  copy  fill async\n",
               generate ? "read" : "log");
        for (int i = 0; i < r->n; i++) {
            group_counts g = groups(&r->step[i]);
            printf("%4d %-4s %5llu %4llu %4llu %5llu   %6llu %4llu %4llu %5llu %4llu   %5llu %6llu %5llu %5llu %5llu\n",
                   i + 1, r->logged[i] ? "yes" : "", (unsigned long long)g.kernels,
                   (unsigned long long)g.programs, (unsigned long long)g.buffers,
                   (unsigned long long)g.other, (unsigned long long)g.finish,
                   (unsigned long long)g.wait, (unsigned long long)g.read,
                   (unsigned long long)g.write, (unsigned long long)g.map,
                   (unsigned long long)g.flush, (unsigned long long)g.launch,
                   (unsigned long long)g.copy, (unsigned long long)g.fill,
                   (unsigned long long)g.async);
        }
        char a[256], b[256];
        step_list(made, nmade, a, sizeof a);
        step_list(blocked, nblocked, b, sizeof b);
        if (r->n < 2)
            printf("summary: one step only; run more (--repeat) to see steps 2..N\n");
        else
            printf("summary, steps 2..%d: %llu creations (kernels %llu, programs %llu, buffers %llu, "
                   "other %llu; steps: %s); %llu blocking calls on %d logged steps; unlogged steps "
                   "that block: %s -> %s\n",
                   r->n, (unsigned long long)creations(&gs), (unsigned long long)gs.kernels,
                   (unsigned long long)gs.programs, (unsigned long long)gs.buffers,
                   (unsigned long long)gs.other, a, (unsigned long long)block_logged, nlogged, b,
                   ok ? "ok" : "NOT ok");
        if (t)
            printf("work per step (from the graphs' shapes): %.3f GFLOP, at least %.1f MB moved "
                   "by the kernels\n", flops / 1e9, bytes / 1e6);
        fflush(stdout);
    }
    free(made);
    free(blocked);
}

static int count_one(cgan_ctx *ctx, const bench_opts *o, cgan_arch arch, int generate,
                     clcount_snapshot_fn snap)
{
    cgan_train_cfg cfg;
    bench_train_cfg(arch, o->batch, &cfg);
    bench_apply_widths(o, &cfg);
    const int S = cfg.model.size, B = o->batch, N = o->repeat;
    size_t img = (size_t)B * cfg.model.nc * S * S;
    float *x = malloc(img * sizeof *x), *y = malloc((size_t)B * sizeof *y),
          *z = malloc((size_t)B * cfg.model.nz * sizeof *z),
          *rows = malloc((size_t)LOG_ROWS * CGAN_LOG_FIELDS * sizeof *rows);
    int64_t *row_steps = malloc((size_t)LOG_ROWS * sizeof *row_steps);
    count_run r = { N, calloc((size_t)N, sizeof *r.step), calloc((size_t)N, sizeof *r.logged) };
    cgan_trainer *t = NULL;
    cgan_sampler *s = NULL;
    int rc = 1;
    if (!x || !y || !z || !rows || !row_steps || !r.step || !r.logged) {
        bench_fail(ctx, CGAN_E_NOMEM, "out of memory");
        goto done;
    }
    cgan_rng rng;
    cgan_rng_init(&rng, 5, 5);
    cgan_rng_fill_uniform(&rng, x, img, -1, 1);
    cgan_rng_fill_normal(&rng, z, (size_t)B * cfg.model.nz, 0, 1);
    for (int i = 0; i < B; i++) y[i] = (float)(cfg.model.num_classes ? i % cfg.model.num_classes : 0);
    if (generate) {
        if (cgan_sampler_create(ctx, &cfg.model, B, &s)) goto done;
    } else if (cgan_trainer_create(ctx, &cfg, &t)) goto done;
    const float *labels = cfg.model.num_classes ? y : NULL;
    for (int i = 0; i < N; i++) {
        struct clcount_counts a, b;
        snap(&a);
        cgan_status st = generate ? cgan_sampler_run(s, z, labels, x) : cgan_trainer_step(t, x, labels);
        r.logged[i] = generate || (i + 1) % o->log_every == 0 || i + 1 == N;
        if (st == CGAN_OK && !generate && r.logged[i]) {
            int n = 0;
            st = cgan_trainer_read_log(t, rows, row_steps, LOG_ROWS, &n);
        }
        snap(&b);
        if (st != CGAN_OK) goto done;
        diff(&a, &b, &r.step[i]);
    }
    report(ctx, o, &cfg, &r, generate, t);
    rc = 0;
done:
    if (rc) fprintf(stderr, "cgan-bench: %s\n", bench_error(ctx));
    cgan_trainer_destroy(t);
    cgan_sampler_destroy(s);
    free(x); free(y); free(z); free(rows); free(row_steps); free(r.step); free(r.logged);
    return rc;
}

int bench_count(cgan_ctx *ctx, const bench_opts *o, int generate)
{
    clcount_snapshot_fn snap = snapshot_fn();
    if (!snap) {
        fprintf(stderr, "cgan-bench --count: clcount.so is not loaded (LD_PRELOAD)\n");
        return 1;
    }
    int rc = 0;
    if (bench_arch_on(o, CGAN_ARCH_SEED32)) rc |= count_one(ctx, o, CGAN_ARCH_SEED32, generate, snap);
    if (bench_arch_on(o, CGAN_ARCH_DCGAN64)) rc |= count_one(ctx, o, CGAN_ARCH_DCGAN64, generate, snap);
    return rc;
}
