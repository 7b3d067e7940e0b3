/* Evaluation during a training run (see train_eval.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "eval/train_eval.h"
#include "runtime/runtime.h"

struct cgan_train_eval {
    cgan_ctx *ctx;
    cgan_evaluator *ev;
    cgan_eval_result last;
    int64_t last_step;
    double best;
    double *steps, *fid, *floor;
    int n, cap;
};

cgan_status cgan_train_eval_create(cgan_ctx *ctx, const cgan_run_opts *o, const char *data, int size, int channels,
                                   const char *best_path, cgan_eval_message msg, void *user, cgan_train_eval **out)
{
    *out = NULL;
    cgan_train_eval *te = calloc(1, sizeof *te);
    if (!te) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    te->ctx = ctx;
    te->last_step = -1;
    te->best = INFINITY;
    cgan_eval_opts eo;
    cgan_eval_opts_default(&eo);
    eo.data = data;
    eo.features = o->eval_features;
    eo.size = size;
    eo.channels = channels;
    eo.n = o->eval_n > 0 ? o->eval_n : CGAN_EVAL_TRAIN_N;
    cgan_status st = cgan_evaluator_create(ctx, &eo, msg, user, &te->ev);
    if (st != CGAN_OK) {
        free(te);
        return cgan_error_wrap(ctx, st, "--eval-every");
    }
    cgan_st_file *f = NULL;
    if (best_path && access(best_path, F_OK) == 0 && cgan_st_open(ctx, best_path, &f) == CGAN_OK) {
        const char *v = cgan_st_meta(f, "eval_fid"), *vn = cgan_st_meta(f, "eval_n");
        if (v && vn && atoi(vn) == eo.n) te->best = strtod(v, NULL);   /* comparable only at the same n */
        cgan_st_close(f);
    }
    *out = te;
    return CGAN_OK;
}

void cgan_train_eval_destroy(cgan_train_eval *te)
{
    if (!te) return;
    cgan_evaluator_destroy(te->ev);
    cgan_eval_result_free(&te->last);
    free(te->steps);
    free(te->fid);
    free(te->floor);
    free(te);
}

cgan_status cgan_train_eval_run(cgan_train_eval *te, cgan_sampler *s, int num_classes, int64_t step, int *improved)
{
    *improved = 0;
    cgan_eval_result_free(&te->last);
    te->last_step = -1;
    CGAN_TRY(cgan_evaluator_run(te->ev, s, num_classes, &te->last));
    te->last_step = step;
    if (te->n == te->cap) {
        int cap = te->cap ? 2 * te->cap : 64;
        double *a = realloc(te->steps, (size_t)cap * sizeof *a);
        if (a) te->steps = a;
        double *b = realloc(te->fid, (size_t)cap * sizeof *b);
        if (b) te->fid = b;
        double *c = realloc(te->floor, (size_t)cap * sizeof *c);
        if (c) te->floor = c;
        if (!a || !b || !c) return cgan_error(te->ctx, CGAN_E_NOMEM, "out of memory");
        te->cap = cap;
    }
    te->steps[te->n] = (double)step;
    te->fid[te->n] = te->last.fid;
    te->floor[te->n] = te->last.fid_floor;
    te->n++;
    if (te->last.fid < te->best) {
        te->best = te->last.fid;
        *improved = 1;
    }
    return CGAN_OK;
}

const cgan_eval_result *cgan_train_eval_last(const cgan_train_eval *te) { return &te->last; }

void cgan_train_eval_columns(const cgan_train_eval *te, int64_t step, char *buf, size_t n)
{
    if (te->last_step == step && n > 1) {
        buf[0] = ',';
        cgan_eval_csv_row(&te->last, buf + 1, n - 1);
        return;
    }
    /* as many empty fields as the header has columns */
    size_t k = 0;
    for (const char *p = cgan_eval_csv_header(); *p && k + 1 < n; p++)
        if (*p == ',' || p == cgan_eval_csv_header()) buf[k++] = ',';
    if (n) buf[k < n ? k : n - 1] = '\0';
}

cgan_status cgan_train_eval_plot(cgan_train_eval *te, const char *path)
{
    if (te->n < 1) return CGAN_OK;
    return cgan_eval_plot_curve(te->ctx, path, te->steps, te->fid, te->floor, te->n);
}
