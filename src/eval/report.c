/* Reports of an evaluation (cgan/eval.h): JSON, CSV rows, the per-class bar chart and
 * the FID curve, drawn by the plotter of the loss curves (io/plot.c). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eval/eval_impl.h"
#include "io/image.h"
#include "runtime/runtime.h"

/* A number, or null when it is not finite (JSON has no NaN). */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

char *cgan_eval_result_json(const cgan_eval_result *r, char *const *classes)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "n", json_integer(r->n));
    json_object_set_new(o, "fid", num(r->fid));
    json_object_set_new(o, "kid", num(r->kid));
    json_object_set_new(o, "kid_std", num(r->kid_std));
    json_object_set_new(o, "precision", num(r->precision));
    json_object_set_new(o, "recall", num(r->recall));
    json_object_set_new(o, "cond_acc", num(r->num_classes ? r->cond_acc : NAN));
    json_t *fl = json_object();
    json_object_set_new(fl, "n", json_integer(r->floor_n));
    json_object_set_new(fl, "fid", num(r->fid_floor));
    json_object_set_new(fl, "kid", num(r->kid_floor));
    json_object_set_new(fl, "kid_std", num(r->kid_floor_std));
    json_object_set_new(fl, "precision", num(r->precision_floor));
    json_object_set_new(fl, "recall", num(r->recall_floor));
    json_object_set_new(fl, "cond_acc", num(r->real_acc));
    json_object_set_new(o, "real_floor", fl);
    if (r->num_classes && r->class_acc && r->class_fid) {
        json_t *pc = json_array();
        for (int c = 0; c < r->num_classes; c++) {
            json_t *e = json_object();
            json_object_set_new(e, "class", json_string(classes && classes[c] ? classes[c] : ""));
            json_object_set_new(e, "index", json_integer(c));
            json_object_set_new(e, "cond_acc", num(r->class_acc[c]));
            json_object_set_new(e, "fid", num(r->class_fid[c]));
            json_array_append_new(pc, e);
        }
        json_object_set_new(o, "per_class", pc);
    }
    json_object_set_new(o, "seconds", num(r->seconds));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
    json_decref(o);
    return s;
}

cgan_status cgan_eval_plot_classes(cgan_ctx *ctx, const char *path, const cgan_eval_result *r, char *const *classes)
{
    if (!r->num_classes || !r->class_acc || !r->class_fid)
        return cgan_error(ctx, CGAN_E_INVALID, "%s: an unconditional model has no per-class figures", path);
    double *acc = malloc((size_t)r->num_classes * sizeof *acc);
    if (!acc) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    for (int c = 0; c < r->num_classes; c++) acc[c] = 100 * r->class_acc[c];
    const double *panels[2] = { acc, r->class_fid };
    char t0[96], t1[96];
    snprintf(t0, sizeof t0, "conditional accuracy %% per class (all: %.1f, n = %d)", 100 * r->cond_acc, r->n);
    snprintf(t1, sizeof t1, "FID per class (all: %.2f, real floor %.2f)", r->fid, r->fid_floor);
    const char *titles[2] = { t0, t1 };
    cgan_status st = cgan_plot_bars(ctx, path, panels, 2, r->num_classes, (const char *const *)classes, titles);
    free(acc);
    return st;
}

const char *cgan_eval_csv_header(void)
{
    return "fid,fid_floor,kid,kid_std,kid_floor,precision,recall,cond_acc,eval_n";
}

void cgan_eval_csv_row(const cgan_eval_result *r, char *buf, size_t n)
{
    snprintf(buf, n, "%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d", r->fid, r->fid_floor, r->kid, r->kid_std,
             r->kid_floor, r->precision, r->recall, r->num_classes ? r->cond_acc : NAN, r->n);
}

cgan_status cgan_eval_plot_curve(cgan_ctx *ctx, const char *path, const double *steps, const double *fid,
                                 const double *floor, int n)
{
    const double *series[2] = { fid, floor };
    const char *labels[2] = { "FID", "FID real floor" };
    return cgan_plot_losses(ctx, path, steps, series, floor ? 2 : 1, n, labels);
}
