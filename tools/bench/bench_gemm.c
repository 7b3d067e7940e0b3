/* cgan-bench gemm: GFLOP/s of every GEMM provider on the shapes the training steps issue
 * (recorded, see bench_shapes.c) and on square sizes, each result checked against the host
 * double reference (bench_ref.c). Providers: "own" (the automatic own variant), "clblast",
 * "tuned" (the tuning table's choice, when a table exists) and "openblas" (the host BLAS,
 * when built with it). Any wrong result is reported as FAIL and makes the exit status 1. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

enum { P_OWN, P_CLBLAST, P_TUNED, P_HOST, P_COUNT };
static const char *const pname[P_COUNT] = { "own", "clblast", "tuned", "openblas" };

typedef struct result {
    int present, ok;
    double host_ms, event_ms, worst;
    char route[CGAN_GEMM_CHOICE_MAX + 8];
} result;

/* The GEMM choice (cgan/tools.h) of each device provider: NULL, the default, is "tuned". */
static const char *const pchoice[P_COUNT] = { "own", "clblast", NULL, NULL };

typedef struct timed_call { bench_operands *op; const char *choice; } timed_call;

static cgan_status call_once(cgan_ctx *ctx, void *user)
{
    timed_call *t = user;
    return bench_gemm_call(ctx, t->op, t->choice);
}

static int injected(const bench_opts *o, int p)
{
    return o->inject && !strcmp(o->inject, pname[p]);
}

static cgan_status measure_device(cgan_ctx *ctx, const bench_opts *o, bench_operands *op, int p,
                                  result *r)
{
    timed_call t = { op, pchoice[p] };
    /* the first call builds kernels: it is the check run, outside the timing */
    BENCH_TRY(bench_verify(ctx, op, t.choice, injected(o, p), &r->ok, &r->worst));
    BENCH_TRY(bench_time(ctx, call_once, &t, o->warmup, o->repeat, &r->host_ms, &r->event_ms));
    r->present = 1;
    return CGAN_OK;
}

static cgan_status measure_host(cgan_ctx *ctx, const bench_opts *o, bench_operands *op, result *r)
{
    float *c = malloc(op->nc * sizeof *c);
    double *ms = malloc((size_t)o->repeat * sizeof *ms);
    if (!c || !ms) {
        free(c);
        free(ms);
        return bench_fail(ctx, CGAN_E_NOMEM, "gemm bench: out of memory");
    }
    bench_host_sgemm(op, c); /* warm-up and check */
    if (injected(o, P_HOST)) bench_corrupt(op, c);
    r->ok = bench_check(op, c, &r->worst) == 0;
    for (int i = 0; i < o->warmup; i++) bench_host_sgemm(op, c);
    for (int i = 0; i < o->repeat; i++) {
        double t0 = bench_now_ms();
        bench_host_sgemm(op, c);
        ms[i] = bench_now_ms() - t0;
    }
    r->host_ms = r->event_ms = bench_median(ms, o->repeat);
    r->present = 1;
    struct timespec idle = { 0, 200000000 }; /* let OpenBLAS's spinning workers go idle */
    nanosleep(&idle, NULL);
    free(c);
    free(ms);
    return CGAN_OK;
}

static double gflops(const bench_shape *s, double ms)
{
    return ms > 0 ? bench_shape_flop(s) / (ms * 1e6) : 0;
}

static void print_row(const bench_shape *s, const result *r, int *fails)
{
    char label[96], cell[32], status[64] = "ok";
    bench_shape_label(s, label, sizeof label);
    printf("%-8s %-26s %4d", s->origin, label, s->calls);
    for (int p = 0; p < P_COUNT; p++) {
        if (!r[p].present) { printf(" %13s", "-"); continue; }
        snprintf(cell, sizeof cell, "%.1f/%.1f", gflops(s, r[p].host_ms), gflops(s, r[p].event_ms));
        printf(" %13s", cell);
        if (!r[p].ok) {
            snprintf(status + (strcmp(status, "ok") ? strlen(status) : 0),
                     sizeof status - (strcmp(status, "ok") ? strlen(status) : 0), "%sFAIL(%s)",
                     strcmp(status, "ok") ? " " : "", pname[p]);
            (*fails)++;
        }
    }
    if (r[P_HOST].present) printf(" %8.2f", r[P_HOST].host_ms / r[P_OWN].host_ms);
    else printf(" %8s", "-");
    printf("  %-6s %s\n", status, r[P_TUNED].present ? r[P_TUNED].route : "");
}

static json_t *row_json(const bench_shape *s, const result *r, int *fails)
{
    json_t *o = json_pack("{s:s,s:o,s:f}", "bench", "gemm", "shape", bench_shape_json(s), "gflop",
                          bench_shape_flop(s) * 1e-9);
    json_t *res = json_array();
    int ok = 1;
    for (int p = 0; o && res && p < P_COUNT; p++) {
        if (!r[p].present) continue;
        json_t *e = json_pack("{s:s,s:f,s:f,s:f,s:f,s:s,s:f}", "provider", pname[p], "host_ms",
                              r[p].host_ms, "event_ms", r[p].event_ms, "gflops_host",
                              gflops(s, r[p].host_ms), "gflops_event", gflops(s, r[p].event_ms),
                              "status", r[p].ok ? "ok" : "FAIL", "max_err_over_tol", r[p].worst);
        if (e && p == P_TUNED) json_object_set_new(e, "route", json_string(r[p].route));
        json_array_append_new(res, e);
        if (!r[p].ok) { ok = 0; (*fails)++; }
    }
    json_object_set_new(o, "results", res);
    json_object_set_new(o, "status", json_string(ok ? "ok" : "FAIL"));
    if (r[P_HOST].present)
        json_object_set_new(o, "own_over_openblas", json_real(r[P_HOST].host_ms / r[P_OWN].host_ms));
    return o;
}

/* The tuned column exists when a table applies to the default choice. The table is read
 * here without applying its CLBlast overrides, which would change the clblast column. */
static int have_table(cgan_ctx *ctx, char *warn, size_t wn)
{
    cgan_tuning *t = NULL;
    cgan_status st = cgan_tuning_applies(ctx) ? cgan_tuning_load(ctx, &t) : CGAN_E_NOT_FOUND;
    if (st != CGAN_OK && st != CGAN_E_NOT_FOUND) snprintf(warn, wn, "%s", bench_error(ctx));
    if (st != CGAN_OK) bench_clear_error(ctx); /* not this command's error */
    int n = cgan_tuning_count(t);
    cgan_tuning_destroy(t);
    return n > 0;
}

/* One shape: own, CLBlast and the host BLAS; the tuned choice in a second pass (loading the
 * table applies its CLBlast overrides, which would change the clblast column). */
static cgan_status measure(cgan_ctx *ctx, const bench_opts *o, const bench_shape *s, unsigned seed,
                           int tuned_pass, result *r)
{
    bench_operands op;
    BENCH_TRY(bench_operands_create(ctx, s, seed, &op));
    cgan_status st = CGAN_OK;
    if (tuned_pass) {
        st = cgan_gemm_default_route(ctx, &op.g, r[P_TUNED].route, sizeof r[P_TUNED].route);
        if (st == CGAN_OK) st = measure_device(ctx, o, &op, P_TUNED, &r[P_TUNED]);
    } else {
        st = measure_device(ctx, o, &op, P_OWN, &r[P_OWN]);
        if (st == CGAN_OK) st = measure_device(ctx, o, &op, P_CLBLAST, &r[P_CLBLAST]);
        if (st == CGAN_OK && bench_host_blas()) st = measure_host(ctx, o, &op, &r[P_HOST]);
    }
    bench_operands_destroy(&op);
    return st;
}

/* Per model: the GEMM time of one training step (each shape times its calls per step) by
 * provider, and the rate over all its shapes. */
static void summary(cgan_ctx *ctx, const bench_opts *o, const bench_shape *v, int n,
                    const result *res)
{
    static const char *const origins[] = { "seed32", "dcgan64" };
    for (int m = 0; m < 2; m++) {
        double ms[P_COUNT] = { 0 }, flop = 0;
        int have[P_COUNT] = { 0 }, shapes = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(v[i].origin, origins[m])) continue;
            shapes++;
            flop += bench_shape_flop(&v[i]) * v[i].calls;
            for (int p = 0; p < P_COUNT; p++) {
                const result *r = &res[(size_t)i * P_COUNT + p];
                have[p] += r->present;
                ms[p] += r->host_ms * v[i].calls;
            }
        }
        if (!shapes) continue;
        json_t *j = o->json ? json_pack("{s:s,s:s,s:i,s:f}", "bench", "gemm-summary", "origin",
                                        origins[m], "shapes", shapes, "gflop_per_step",
                                        flop * 1e-9)
                            : NULL;
        if (!o->json) printf("%s GEMMs per training step (%.1f GFLOP):", origins[m], flop * 1e-9);
        for (int p = 0; p < P_COUNT; p++) {
            if (have[p] != shapes) continue;
            if (j)
                json_object_set_new(j, pname[p], json_pack("{s:f,s:f}", "ms", ms[p], "gflops",
                                                           flop / (ms[p] * 1e6)));
            else
                printf("  %s %.1f ms (%.1f GFLOP/s)", pname[p], ms[p], flop / (ms[p] * 1e6));
        }
        if (j) bench_emit(ctx, j);
        else if (have[P_HOST] == shapes)
            printf("  own/openblas %.2f\n", ms[P_HOST] / ms[P_OWN]);
        else
            printf("\n");
    }
}

static void list_shapes(cgan_ctx *ctx, const bench_opts *o, const bench_shape *v, int n)
{
    for (int i = 0; i < n; i++) {
        char label[96], full[256];
        bench_shape_label(&v[i], label, sizeof label);
        bench_shape_str(&v[i].s, full, sizeof full);
        if (o->json)
            bench_emit(ctx, json_pack("{s:s,s:o}", "bench", "gemm-shape", "shape",
                                      bench_shape_json(&v[i])));
        else
            printf("%-8s %-26s x%-3d %s alpha=%g beta=%g\n", v[i].origin, label, v[i].calls, full,
                   v[i].alpha, v[i].beta);
    }
}

int bench_gemm(cgan_ctx *ctx, const bench_opts *o)
{
    bench_shape *v = NULL;
    int n = 0, fails = 0, rc = 1;
    result *res = NULL;
    if (bench_model_shapes(ctx, o, &v, &n) || bench_square_shapes(ctx, o->square, &v, &n)) goto done;
    if (o->list) {
        list_shapes(ctx, o, v, n);
        rc = 0;
        goto done;
    }
    char warn[8192] = "";
    int tuned = have_table(ctx, warn, sizeof warn);
    if (warn[0]) fprintf(stderr, "cgan-bench gemm: warning: %s\n", warn);
    res = calloc((size_t)n * P_COUNT, sizeof *res);
    if (!res) goto done;
    if (!o->json) {
        printf("cgan-bench gemm on %s, batch %d: GFLOP/s as host clock / profiling events, "
               "median of %d\n", cgan_ctx_device(ctx)->name, o->batch, o->repeat);
        if (bench_host_blas())
            printf("host BLAS: %s with its %s kernels%s\n", bench_host_blas_version(),
                   bench_host_blas_core(),
                   !strcmp(bench_host_blas_core(), "Prescott")
                       ? " (its generic fallback: it did not recognise this CPU; set "
                         "OPENBLAS_CORETYPE, e.g. SkylakeX or Haswell, for a fair reference)"
                       : "");
        printf("%-8s %-26s %4s", "origin", "shape", "x");
        for (int p = 0; p < P_COUNT; p++) printf(" %13s", pname[p]);
        printf(" %8s  %-6s %s\n", "own/blas", "status", tuned ? "tuned route" : "");
        fflush(stdout);
    }
    /* rows are printed as they complete: after the tuned pass when there is one */
    for (int pass = 0; pass <= tuned; pass++)
        for (int i = 0; i < n; i++) {
            result *r = res + (size_t)i * P_COUNT;
            if (measure(ctx, o, &v[i], 1000u + (unsigned)i, pass, r)) goto done;
            if (pass < tuned) continue;
            if (o->json) {
                json_t *row = row_json(&v[i], r, &fails);
                if (row && warn[0]) json_object_set_new(row, "tune_warning", json_string(warn));
                bench_emit(ctx, row);
            } else {
                print_row(&v[i], r, &fails);
                fflush(stdout);
            }
        }
    summary(ctx, o, v, n, res);
    if (!o->json && fails)
        printf("%d wrong GEMM result(s) against the double reference\n", fails);
    rc = fails ? 1 : 0;
done:
    if (rc && !fails) fprintf(stderr, "cgan-bench gemm: %s\n", bench_error(ctx));
    free(v);
    free(res);
    return rc;
}
