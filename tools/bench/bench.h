/* cgan-bench: shared helpers of the benchmark subcommands. cgan-bench is a user of libcgan
 * like any other: the public headers only (cgan/tools.h for GEMM, tuning and profiling;
 * cgan/cgan_cl.h for its own timing markers on the context's queue). */
#ifndef CGAN_BENCH_H
#define CGAN_BENCH_H
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include "cgan/cgan.h"
#include "cgan/cgan_cl.h"

typedef struct bench_opts {
    const char *device;
    int batch;
    int repeat;
    int warmup;
    int json;
    const char *arch;   /* "seed32", "dcgan64" or NULL for both */
    const char *checkpoint, *data;
    int per_class;
    int list;           /* gemm: print the shapes only */
    const char *square; /* gemm: square sizes, "256,512,1024"; "none" */
    double budget;      /* tune: seconds */
    const char *inject; /* hidden: corrupt this provider's / candidate's result (tests) */
    int model_check;    /* tune: judge the table on whole steps (default on) */
    double keep_margin; /* tune: the table stays when default/tuned step time >= this */
    int count;          /* step/generate: count OpenCL host calls per step (clcount.so) */
    int log_every;      /* step --count: read the losses every this many steps */
    int size;           /* loader: image side */
    int batches;        /* loader: batches taken */
    int cache_decoded;  /* loader: decode everything when opening */
    int workers;        /* loader: decoding threads, 0 = automatic */
    int ngf, ndf;       /* step, generate: model widths (0: the default, 64) */
} bench_opts;

/* ---- errors: the library's are on the context, cgan-bench's own are kept here --------- */
/* Record cgan-bench's own error (the context's message is cleared: this one is newer). */
cgan_status bench_fail(cgan_ctx *ctx, cgan_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The last error: the library's on ctx, else cgan-bench's own. */
const char *bench_error(cgan_ctx *ctx);
void bench_clear_error(cgan_ctx *ctx);
#define BENCH_TRY(expr)                          \
    do {                                         \
        cgan_status bench_st_ = (expr);          \
        if (bench_st_ != CGAN_OK) return bench_st_; \
    } while (0)

double bench_now_ms(void);
int bench_cmp_double(const void *a, const void *b);
double bench_median(double *v, int n);
/* The training configuration the benchmarks use for arch (the peer's workload): seed32
 * nc=1 K=10 concat, dcgan64 nc=3 K=0, no EMA. */
void bench_train_cfg(cgan_arch arch, int batch, cgan_train_cfg *c);
/* --ngf/--ndf into c (step, generate and their --count). */
void bench_apply_widths(const bench_opts *o, cgan_train_cfg *c);
/* 1 when arch is selected by --arch (NULL: all). */
int bench_arch_on(const bench_opts *o, cgan_arch arch);

/* ---- bench_json.c: --json records ---------------------------------------------------- */
/* The build and device description every record carries under "meta". */
json_t *bench_meta(cgan_ctx *ctx);
/* Print obj as one line with "device" and "meta" added; takes the reference. */
void bench_emit(cgan_ctx *ctx, json_t *obj);

/* ---- bench_time.c: event and host timing of what is enqueued in between ------------------ */
typedef struct bench_clock {
    cl_event start;
    double t0;
} bench_clock;
/* Waits for everything enqueued on ctx's queue. */
cgan_status bench_finish(cgan_ctx *ctx);
/* Drains the queue, then marks the start (a profiling marker and the host clock). */
cgan_status bench_clock_start(cgan_ctx *ctx, bench_clock *c);
/* Marks the end, drains the queue: *host_ms by the host clock, *event_ms between the two
 * markers' profiling end times (the device's view). */
cgan_status bench_clock_stop(cgan_ctx *ctx, bench_clock *c, double *host_ms, double *event_ms);
/* Median host and event times of `repeat` runs of fn after `warmup` untimed ones. */
typedef cgan_status (*bench_fn)(cgan_ctx *ctx, void *user);
cgan_status bench_time(cgan_ctx *ctx, bench_fn fn, void *user, int warmup, int repeat,
                       double *host_ms, double *event_ms);

/* ---- bench_shapes.c: the GEMM shapes the training steps issue, plus squares ------------- */
typedef struct bench_shape {
    cgan_gemm_shape s;
    float alpha, beta;    /* of the first call seen */
    int calls;            /* per training step */
    char origin[16];      /* "seed32", "dcgan64", "square" */
} bench_shape;
/* Records one training step of each selected model at --batch; appends deduplicated shapes. */
cgan_status bench_model_shapes(cgan_ctx *ctx, const bench_opts *o, bench_shape **v, int *n);
/* Appends square NN shapes from a list "256,512"; "none" adds none. */
cgan_status bench_square_shapes(cgan_ctx *ctx, const char *list, bench_shape **v, int *n);
void bench_shape_label(const bench_shape *s, char *out, size_t n);
/* "NT m=.. n=.. k=.. batch=.. lda=.. ldb=.. ldc=.. strides=a/b/c" */
void bench_shape_str(const cgan_gemm_shape *s, char *out, size_t n);
int bench_shape_eq(const cgan_gemm_shape *a, const cgan_gemm_shape *b);
double bench_shape_flop(const bench_shape *s);
json_t *bench_shape_json(const bench_shape *s);

/* ---- bench_ref.c: operands on the device and the host double reference ------------------ */
typedef struct bench_operands {
    cgan_gemm_shape g;         /* the shape, on the tensors below from their start */
    float alpha, beta;
    cgan_tensor *ta, *tb, *tc; /* A, B and C on the device (flat) */
    float *a, *b, *c0;         /* host copies (c0: C before the call, random) */
    size_t na, nb, nc;         /* floats per buffer */
    float *ref;                /* reference of C (batch x m x n), rows not checked are NaN */
    double *anorm, *bnorm;     /* row norms of op(A), column norms of op(B), per entry */
    int sampled;               /* only some rows are checked (big shape, no host BLAS) */
} bench_operands;
cgan_status bench_operands_create(cgan_ctx *ctx, const bench_shape *s, unsigned seed,
                                  bench_operands *op);
void bench_operands_destroy(bench_operands *op);
/* Reset C on the device to c0 (before a checked run). */
cgan_status bench_operands_reset(cgan_ctx *ctx, bench_operands *op);
/* Compare a result (the whole C buffer) with the reference; returns the number of
 * elements over tolerance and the worst error / tolerance ratio. */
size_t bench_check(const bench_operands *op, const float *c, double *worst);
/* Perturb one element of c well beyond tolerance (--inject-error). */
void bench_corrupt(const bench_operands *op, float *c);
/* Enqueue the GEMM of op with a choice (cgan/tools.h; NULL: the default, tuned). */
cgan_status bench_gemm_call(cgan_ctx *ctx, const bench_operands *op, const char *choice);
/* Run it once from c0, read C back and check it; *ok 1 when it matches. Corrupts the
 * result first when `corrupt`. */
cgan_status bench_verify(cgan_ctx *ctx, bench_operands *op, const char *choice, int corrupt,
                         int *ok, double *worst);
/* The host BLAS (OpenBLAS cblas_sgemm, batches as a loop); 0 when not built with it. */
int bench_host_blas(void);
const char *bench_host_blas_version(void);
/* The kernels OpenBLAS picked for this CPU ("SkylakeX", "Haswell", ...; "Prescott" is its
 * generic fallback when it does not recognise the CPU: $OPENBLAS_CORETYPE overrides). */
const char *bench_host_blas_core(void);
void bench_host_sgemm(const bench_operands *op, float *c);

/* ---- subcommands ---------------------------------------------------------------------- */
int bench_ops(cgan_ctx *ctx, const bench_opts *o);
int bench_step(cgan_ctx *ctx, const bench_opts *o, int generate);
int bench_condacc(cgan_ctx *ctx, const bench_opts *o, const char *ckpt, const char *data, int per_class);
/* bench_loader.c: the batch loader's images/s and peak RSS (no device). */
int bench_loader(const bench_opts *o);
int bench_gemm(cgan_ctx *ctx, const bench_opts *o);
int bench_tune(cgan_ctx *ctx, const bench_opts *o);
/* bench_allreduce.c: all-reduce and the data-parallel step split (opens its own device,
 * per local rank, after joining the MPI job). */
int bench_allreduce(const bench_opts *o, const char *device_class);
/* ---- bench_count.c: step / generate --count ------------------------------------------- */
/* Returns 0 when clcount.so is loaded; else starts this program again (argv) with it in
 * LD_PRELOAD ($CGAN_CLCOUNT, else .libs/clcount.so or clcount.so beside the binary, else
 * the installed one) and does not return, or says what to do and returns 1. */
int bench_count_preload(char **argv);
int bench_count(cgan_ctx *ctx, const bench_opts *o, int generate);
/* ---- bench_work.c: a training step's flops and least bytes, from the graphs' shapes ---- */
void bench_step_work(cgan_trainer *t, double *flops, double *bytes);
/* ---- bench_modelcheck.c: the tuned table on whole training steps and generation --------- */
/* Times one training step plus one generation batch of each selected model at --batch, in
 * alternating rounds with the tuning table off and on (re-read from its file); medians of
 * the per-round sums. Leaves the table on. */
cgan_status bench_model_check(cgan_ctx *ctx, const bench_opts *o, double *default_ms,
                              double *tuned_ms);

/* ---- bench_clblast.c: CLBlast parameter sets the tuner tries ---------------------------- */
/* Configuration i (Xgemm and XgemmDirect together), 0 <= i < bench_clblast_configs(). */
int bench_clblast_configs(void);
void bench_clblast_config(int i, cgan_clblast_params ov[2]);
/* "Xgemm MWG=64 NWG=64 ... | XgemmDirect WGD=32 ..." */
void bench_clblast_config_str(const cgan_clblast_params ov[2], char *out, size_t n);
#endif
