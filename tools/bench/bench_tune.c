/* cgan-bench tune: for every GEMM shape the training steps issue (recorded at --batch),
 * time the candidates and keep the fastest one whose result matches the double reference:
 *   1. the default choice (untuned), always measured: the "before" column;
 *   2. CLBlast with its default parameters;
 *   3. the own GEMM specs cgan_gemm_candidates() proposes, round-robin over the shapes;
 *   4. CLBlast parameter configurations (bench_clblast.c), each over all shapes: the one
 *      with the least total time is kept when it beats CLBlast's defaults.
 * Steps 2-4 stop at --budget seconds (the best so far is kept). A winner other than the
 * default is timed again beside the default and kept only when still faster. The table
 * (cgan/tools.h) is merged with the device's existing one and written atomically.
 * Last, unless --no-model-check, whole training steps and generation batches are timed
 * with and without it (bench_modelcheck.c): when they are not at least --keep-margin times
 * faster with it, the previous file is put back (or the new one removed). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

#define MAX_CAND 64

typedef struct cand {
    char choice[CGAN_GEMM_CHOICE_MAX];
    double ms;            /* host median; < 0 when not measured */
    int ok;               /* matched the reference */
    int tried;
} cand;

typedef struct tshape {
    bench_shape sh;
    bench_operands op;
    cand c[MAX_CAND + 2]; /* [0] the default, [1] CLBlast, then own specs */
    int nc, next;         /* candidates, the next own one to try */
    double *cfg_ms;       /* per CLBlast configuration; < 0 not measured or wrong */
    char best[CGAN_GEMM_CHOICE_MAX];
    double best_ms, before_ms;
} tshape;

typedef struct tuner {
    cgan_ctx *ctx;
    const bench_opts *o;
    tshape *v;
    int n;
    double deadline;
    int out_of_time;
    int cfg;              /* the CLBlast configuration kept, -1 for its defaults */
    int applied;          /* some CLBlast configuration was applied */
    double clblast_base;  /* CLBlast's defaults over all shapes, ms; < 0 not measured */
    double *cfg_total;    /* per configuration; < 0 incomplete or wrong somewhere */
} tuner;

static int corrupt_for(const bench_opts *o, const char *choice)
{
    if (!o->inject) return 0;
    if (!strcmp(o->inject, choice)) return 1;
    return !strcmp(o->inject, "own") && !strncmp(choice, "own:", 4);
}

typedef struct call { const bench_operands *op; const char *choice; } call;

/* The model check's outcome (ran: it was timed; kept: the table stays). */
typedef struct verdict { int ran, kept; double default_ms, tuned_ms; } verdict;

static cgan_status call_once(cgan_ctx *ctx, void *user)
{
    const call *c = user;
    return bench_gemm_call(ctx, c->op, c->choice);
}

/* Check, then time one choice on one shape; a failure of the provider (a build error, a
 * parameter set the device rejects) only rejects the candidate. */
static void try_choice(tuner *t, tshape *s, cand *c)
{
    cgan_ctx *ctx = t->ctx;
    double ev;
    int ok = 0;
    double worst = 0;
    call cl = { &s->op, c->choice };
    c->ms = -1;
    c->ok = 0;
    c->tried = 1;
    cgan_status st = bench_verify(ctx, &s->op, c->choice, corrupt_for(t->o, c->choice), &ok,
                                  &worst);
    if (st == CGAN_OK && ok)
        st = bench_time(ctx, call_once, &cl, t->o->warmup, t->o->repeat, &c->ms, &ev);
    if (st != CGAN_OK) {
        fprintf(stderr, "cgan-bench tune: %s rejected: %s\n", c->choice, bench_error(ctx));
        bench_clear_error(ctx);
        c->ms = -1;
        return;
    }
    c->ok = ok;
    if (!ok) c->ms = -1;
    if (c->ok && (s->best_ms < 0 || c->ms < s->best_ms)) {
        snprintf(s->best, sizeof s->best, "%s", c->choice);
        s->best_ms = c->ms;
    }
}

static int time_left(tuner *t)
{
    if (bench_now_ms() < t->deadline) return 1;
    t->out_of_time = 1;
    return 0;
}

static cgan_status setup(tuner *t, bench_shape *v, int n)
{
    cgan_ctx *ctx = t->ctx;
    t->v = calloc((size_t)n, sizeof *t->v);
    if (!t->v) return bench_fail(ctx, CGAN_E_NOMEM, "tune: out of memory");
    char def[CGAN_GEMM_CHOICE_MAX];
    BENCH_TRY(cgan_gemm_default_choice(ctx, def, sizeof def));
    for (int i = 0; i < n; i++) {
        int dup = 0; /* a shape both models issue is tuned once */
        for (int j = 0; j < t->n; j++) dup |= bench_shape_eq(&t->v[j].sh.s, &v[i].s);
        if (dup) continue;
        tshape *s = &t->v[t->n];
        s->sh = v[i];
        s->best_ms = -1;
        s->cfg_ms = malloc((size_t)bench_clblast_configs() * sizeof *s->cfg_ms);
        if (!s->cfg_ms) return bench_fail(ctx, CGAN_E_NOMEM, "tune: out of memory");
        for (int k = 0; k < bench_clblast_configs(); k++) s->cfg_ms[k] = -1;
        t->n++;
        BENCH_TRY(bench_operands_create(ctx, &s->sh, 2000u + (unsigned)i, &s->op));
        snprintf(s->c[0].choice, sizeof s->c[0].choice, "%s", def);
        snprintf(s->c[1].choice, sizeof s->c[1].choice, "clblast");
        s->c[0].ms = s->c[1].ms = -1;
        char specs[MAX_CAND][CGAN_GEMM_CHOICE_MAX];
        int ns = 0;
        BENCH_TRY(cgan_gemm_candidates(ctx, &s->op.g, specs, MAX_CAND, &ns));
        s->nc = 2;
        for (int k = 0; k < ns; k++) {
            cand *c = &s->c[s->nc];
            memcpy(c->choice, specs[k], sizeof c->choice);
            if (!strcmp(c->choice, def)) continue; /* the default is measured already */
            c->ms = -1;
            s->nc++;
        }
        s->next = 2;
    }
    return CGAN_OK;
}

/* Step 4: CLBlast configurations, each over every shape. */
static void tune_clblast(tuner *t)
{
    double base = 0;
    for (int i = 0; i < t->n; i++) {
        if (!t->v[i].c[1].ok) return; /* CLBlast's defaults not measured everywhere */
        base += t->v[i].c[1].ms;
    }
    double best = base;
    t->clblast_base = base;
    for (int k = 0; k < bench_clblast_configs() && time_left(t); k++) {
        cgan_clblast_params ov[2];
        bench_clblast_config(k, ov);
        t->applied = 1;
        if (cgan_clblast_apply(t->ctx, ov, 2) != CGAN_OK) {
            fprintf(stderr, "cgan-bench tune: %s\n", bench_error(t->ctx));
            bench_clear_error(t->ctx);
            continue;
        }
        double total = 0;
        int complete = 1;
        for (int i = 0; i < t->n && complete; i++) {
            if (!time_left(t)) { complete = 0; break; }
            cand c = { "clblast", -1, 0, 0 };
            tshape *s = &t->v[i];
            char saved[CGAN_GEMM_CHOICE_MAX];
            double saved_ms = s->best_ms;
            snprintf(saved, sizeof saved, "%s", s->best);
            try_choice(t, s, &c);
            snprintf(s->best, sizeof s->best, "%s", saved); /* decided below */
            s->best_ms = saved_ms;
            if (!c.ok) complete = 0;
            s->cfg_ms[k] = c.ms;
            total += c.ms;
        }
        t->cfg_total[k] = complete ? total : -1;
        if (complete && total < best) {
            best = total;
            t->cfg = k;
        }
    }
    if (t->cfg < 0) return;
    for (int i = 0; i < t->n; i++) { /* CLBlast's time is now that of the kept set */
        tshape *s = &t->v[i];
        s->c[1].ms = s->cfg_ms[t->cfg];
        if (s->c[1].ms < s->best_ms) {
            snprintf(s->best, sizeof s->best, "clblast");
            s->best_ms = s->c[1].ms;
        }
    }
}

/* A winner other than the default is timed again beside it (noisy machines). CLBlast is
 * retimed only where its parameters are those it was measured with. */
static void confirm(tuner *t, int clblast_state_ok)
{
    for (int i = 0; i < t->n; i++) {
        tshape *s = &t->v[i];
        if (s->best_ms < 0 || !strcmp(s->best, s->c[0].choice)) continue;
        if (!strcmp(s->best, "clblast") && !clblast_state_ok) continue;
        call a = { &s->op, s->c[0].choice }, b = { &s->op, s->best };
        double ta, tb, ev;
        if (!s->c[0].ok ||
            bench_time(t->ctx, call_once, &a, 0, t->o->repeat, &ta, &ev) != CGAN_OK ||
            bench_time(t->ctx, call_once, &b, 0, t->o->repeat, &tb, &ev) != CGAN_OK) {
            bench_clear_error(t->ctx);
            continue;
        }
        s->before_ms = ta;
        s->best_ms = tb;
        if (tb >= ta) { /* not faster after all */
            snprintf(s->best, sizeof s->best, "%s", s->c[0].choice);
            s->best_ms = ta;
        }
    }
}

static void search(tuner *t)
{
    for (int i = 0; i < t->n; i++) { /* 1: the default, outside the budget */
        try_choice(t, &t->v[i], &t->v[i].c[0]);
        t->v[i].before_ms = t->v[i].c[0].ms;
    }
    for (int i = 0; i < t->n && time_left(t); i++) { /* 2: CLBlast's defaults */
        if (strcmp(t->v[i].c[0].choice, "clblast") != 0) try_choice(t, &t->v[i], &t->v[i].c[1]);
        else t->v[i].c[1] = t->v[i].c[0]; /* the default already */
    }
    for (int more = 1; more && time_left(t);) { /* 3: own specs, round-robin */
        more = 0;
        for (int i = 0; i < t->n && time_left(t); i++) {
            tshape *s = &t->v[i];
            if (s->next >= s->nc) continue;
            try_choice(t, s, &s->c[s->next++]);
            more = 1;
        }
    }
    tune_clblast(t); /* 4 */
    int clblast_ok = t->cfg >= 0;
    if (clblast_ok) { /* the kept set again, for the confirmation and the rest of the run */
        cgan_clblast_params ov[2];
        bench_clblast_config(t->cfg, ov);
        clblast_ok = cgan_clblast_apply(t->ctx, ov, 2) == CGAN_OK;
    } else {
        clblast_ok = !t->applied; /* still CLBlast's defaults */
    }
    confirm(t, clblast_ok);
}

/* The same CLBlast parameter sets (kernel, names and values, in order). */
static int same_params(const cgan_clblast_params *a, int na, const cgan_clblast_params *b, int nb)
{
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) {
        if (strcmp(a[i].kernel, b[i].kernel) || a[i].count != b[i].count) return 0;
        for (int j = 0; j < a[i].count; j++)
            if (strcmp(a[i].names[j], b[i].names[j]) || a[i].values[j] != b[i].values[j]) return 0;
    }
    return 1;
}

/* Merge into the device's table: new entries replace old ones; when the CLBlast parameters
 * change, old "clblast" entries this run did not check are dropped. */
static cgan_status store(tuner *t, char *path, size_t pn, int *written)
{
    cgan_ctx *ctx = t->ctx;
    cgan_tuning *tab = NULL;
    *written = 0;
    BENCH_TRY(cgan_tuning_path(ctx, path, pn));
    cgan_status st = cgan_tuning_load(ctx, &tab);
    if (st != CGAN_OK) {
        if (st != CGAN_E_NOT_FOUND)
            fprintf(stderr, "cgan-bench tune: replacing it: %s\n", bench_error(ctx));
        bench_clear_error(ctx);
        BENCH_TRY(cgan_tuning_create(ctx, &tab));
    }
    cgan_clblast_params ov[2], old[2];
    int n_ov = 0, n_old = 0;
    if (t->cfg >= 0) {
        bench_clblast_config(t->cfg, ov);
        n_ov = 2;
    }
    st = cgan_tuning_clblast(tab, old, &n_old);
    if (st == CGAN_OK && !same_params(ov, n_ov, old, n_old)) {
        for (int i = cgan_tuning_count(tab) - 1; i >= 0 && st == CGAN_OK; i--) {
            cgan_gemm_shape es;
            const char *choice = "";
            int tuned_now = 0;
            st = cgan_tuning_entry(tab, i, &es, &choice);
            for (int j = 0; st == CGAN_OK && j < t->n; j++) tuned_now |= bench_shape_eq(&es, &t->v[j].sh.s);
            if (st == CGAN_OK && !tuned_now && !strcmp(choice, "clblast")) st = cgan_tuning_remove(tab, i);
        }
        if (st == CGAN_OK) st = cgan_tuning_set_clblast(tab, ov, n_ov);
    }
    for (int i = 0; i < t->n && st == CGAN_OK; i++) {
        tshape *s = &t->v[i];
        if (s->best_ms < 0) continue; /* nothing correct was found: no entry */
        st = cgan_tuning_set(tab, &s->sh.s, s->best, s->before_ms, s->best_ms);
    }
    if (st == CGAN_OK) st = cgan_tuning_save(tab);
    if (st == CGAN_OK) *written = 1;
    cgan_tuning_destroy(tab);
    return st;
}

static void report(const tuner *t, const char *path, int written, double elapsed,
                   const verdict *mv)
{
    const bench_opts *o = t->o;
    char cfg[512] = "";
    if (t->cfg >= 0) {
        cgan_clblast_params ov[2];
        bench_clblast_config(t->cfg, ov);
        bench_clblast_config_str(ov, cfg, sizeof cfg);
    }
    if (!o->json)
        printf("%-8s %-26s %4s %-22s %9s  %-38s %9s %7s %s\n", "origin", "shape", "x", "before",
               "ms", "after", "ms", "speedup", "tried/wrong");
    for (int i = 0; i < t->n; i++) {
        const tshape *s = &t->v[i];
        int tried = 0, wrong = 0;
        json_t *cands = o->json ? json_array() : NULL;
        for (int k = 0; k < s->nc; k++) {
            const cand *c = &s->c[k];
            if (!c->tried || (k == 1 && !strcmp(s->c[0].choice, "clblast"))) continue;
            tried++;
            wrong += !c->ok;
            if (cands)
                json_array_append_new(cands, json_pack("{s:s,s:f,s:s}", "choice", c->choice,
                                                       "ms", c->ms, "status",
                                                       c->ok ? "ok" : "rejected"));
        }
        double sp = s->best_ms > 0 && s->before_ms > 0 ? s->before_ms / s->best_ms : 0;
        if (o->json) {
            bench_emit(t->ctx, json_pack("{s:s,s:o,s:{s:s,s:f,s:b},s:{s:s?,s:f},s:f,s:o}", "bench",
                                         "tune", "shape", bench_shape_json(&s->sh), "before",
                                         "choice", s->c[0].choice, "ms", s->before_ms, "ok",
                                         s->c[0].ok, "after", "choice",
                                         s->best_ms >= 0 ? s->best : NULL, "ms", s->best_ms,
                                         "speedup", sp, "candidates", cands));
        } else {
            char label[96];
            bench_shape_label(&s->sh, label, sizeof label);
            printf("%-8s %-26s %4d %-22.22s %9.3f  %-38.38s %9.3f %6.2fx %d/%d\n", s->sh.origin,
                   label, s->sh.calls, s->c[0].choice, s->before_ms,
                   s->best_ms >= 0 ? s->best : "(none correct)", s->best_ms, sp, tried, wrong);
        }
    }
    json_t *totals = o->json ? json_array() : NULL;
    if (!o->json && t->clblast_base >= 0)
        printf("CLBlast, every shape once: defaults %.1f ms", t->clblast_base);
    for (int k = 0; k < bench_clblast_configs() && t->clblast_base >= 0; k++) {
        if (totals) json_array_append_new(totals, json_real(t->cfg_total[k]));
        else if (t->cfg_total[k] < 0) printf(", set %d -", k + 1);
        else printf(", set %d %.1f ms%s", k + 1, t->cfg_total[k], k == t->cfg ? " (kept)" : "");
    }
    if (!o->json && t->clblast_base >= 0) printf("\n");
    json_t *check = mv->ran ? json_pack("{s:f,s:f,s:b,s:f}", "default_ms", mv->default_ms,
                                        "tuned_ms", mv->tuned_ms, "kept", mv->kept,
                                        "keep_margin", o->keep_margin)
                            : json_null();
    if (o->json)
        bench_emit(t->ctx, json_pack("{s:s,s:s,s:b,s:i,s:f,s:f,s:b,s:s?,s:f,s:o,s:o}", "bench",
                                     "tune-summary", "file", path, "written", written, "shapes",
                                     t->n, "budget_s", o->budget, "elapsed_s", elapsed,
                                     "budget_exhausted", t->out_of_time, "clblast_overrides",
                                     t->cfg >= 0 ? cfg : NULL, "clblast_default_total_ms",
                                     t->clblast_base, "clblast_set_totals_ms", totals,
                                     "model_check", check));
    else {
        json_decref(check);
        if (mv->ran)
            printf("whole steps + generation: %.1f ms untuned, %.1f ms tuned (%.3fx): %s\n",
                   mv->default_ms, mv->tuned_ms,
                   mv->tuned_ms > 0 ? mv->default_ms / mv->tuned_ms : 0.0,
                   mv->kept ? "table kept" : "table not kept (under --keep-margin), previous "
                                             "state restored");
        printf("%s %s (%.1f s%s); CLBlast parameters: %s\n",
               written ? "wrote" : mv->kept ? "could not write" : "did not keep", path, elapsed,
               t->out_of_time ? ", budget exhausted" : "", t->cfg >= 0 ? cfg : "its defaults");
    }
}

/* The bytes of the file at path (malloc'ed, *len), NULL when it does not exist. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f) return NULL;
    unsigned char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Write the previous file back atomically: a temporary file beside it, flushed, then
 * renamed over it, so a reader sees one file or the other. */
static cgan_status put_back(cgan_ctx *ctx, const char *path, const unsigned char *data, size_t len)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return bench_fail(ctx, CGAN_E_NOMEM, "tune: out of memory");
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(data, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) == 0) {
        free(tmp);
        return CGAN_OK;
    }
    cgan_status st = bench_fail(ctx, CGAN_E_IO, "tune: cannot write %s back: %s", path, strerror(errno));
    if (f) unlink(tmp);
    free(tmp);
    return st;
}

/* The model check (see the top): on failure to keep, restores the previous table. */
static cgan_status model_check(tuner *t, const char *path, const unsigned char *old, size_t old_len,
                               int had_old, int *written, verdict *v)
{
    cgan_ctx *ctx = t->ctx;
    memset(v, 0, sizeof *v);
    v->kept = 1;
    if (!t->o->model_check || !*written) return CGAN_OK;
    BENCH_TRY(bench_model_check(ctx, t->o, &v->default_ms, &v->tuned_ms));
    v->ran = 1;
    v->kept = v->tuned_ms > 0 && v->default_ms / v->tuned_ms >= t->o->keep_margin;
    if (v->kept) return CGAN_OK;
    *written = 0;
    cgan_status st = CGAN_OK;
    if (had_old) st = put_back(ctx, path, old, old_len);
    else if (unlink(path) != 0)
        st = bench_fail(ctx, CGAN_E_IO, "tune: cannot remove %s", path);
    cgan_tuning_use(ctx, 1); /* read it again */
    return st;
}

int bench_tune(cgan_ctx *ctx, const bench_opts *o)
{
    tuner t = { ctx, o, NULL, 0, 0, 0, -1, 0, -1, NULL };
    bench_shape *v = NULL;
    int n = 0, rc = 1, written = 0, had_old = 0;
    char path[1200] = "";
    unsigned char *old = NULL;
    size_t old_len = 0;
    verdict mv = { 0, 1, 0, 0 };
    double t0 = bench_now_ms();
    if (!cgan_tuning_applies(ctx))
        fprintf(stderr, "cgan-bench tune: note: $CGAN_GEMM_PROVIDER, $CGAN_GEMM_VARIANT or "
                "$CGAN_TUNE_DISABLE is set: the table will not apply while it is\n");
    t.cfg_total = malloc((size_t)bench_clblast_configs() * sizeof *t.cfg_total);
    if (!t.cfg_total) {
        bench_fail(ctx, CGAN_E_NOMEM, "tune: out of memory");
        goto done;
    }
    for (int k = 0; k < bench_clblast_configs(); k++) t.cfg_total[k] = -1;
    if (bench_model_shapes(ctx, o, &v, &n) || setup(&t, v, n)) goto done;
    t.deadline = bench_now_ms() + o->budget * 1000.0;
    search(&t);
    if (cgan_tuning_path(ctx, path, sizeof path) != CGAN_OK) goto done;
    old = slurp(path, &old_len);
    had_old = old != NULL;
    if (store(&t, path, sizeof path, &written) != CGAN_OK) goto done;
    if (cgan_tuning_applies(ctx) &&
        model_check(&t, path, old, old_len, had_old, &written, &mv) != CGAN_OK)
        goto done;
    report(&t, path, written, (bench_now_ms() - t0) / 1000.0, &mv);
    rc = 0;
done:
    free(old);
    if (rc) fprintf(stderr, "cgan-bench tune: %s\n", bench_error(ctx));
    for (int i = 0; i < t.n; i++) {
        bench_operands_destroy(&t.v[i].op);
        free(t.v[i].cfg_ms);
    }
    free(t.v);
    free(t.cfg_total);
    free(v);
    return rc;
}
