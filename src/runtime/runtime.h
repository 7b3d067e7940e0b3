/* Internal runtime API: errors, buffers, programs, kernels and the typed launch helper.
 * Everything that touches OpenCL boilerplate lives behind this header. */
#ifndef CGAN_RUNTIME_H
#define CGAN_RUNTIME_H

#include <stdarg.h>
#include <stdint.h>
#include "cgan/cgan_cl.h"
#include "profile.h"

#define CGAN_ERRMSG_MAX 8192
#define CGAN_WARN_MAX 8

typedef struct cgan_program cgan_program;
typedef struct cgan_kernel cgan_kernel;

/* What blocked the host or allocated device memory since the context was opened. A
 * training step changes none of these but reuse_waits (tests/check_train.c). */
typedef struct cgan_sync_counts {
    uint64_t host_waits;    /* clFinish, blocking reads and writes, profiling waits */
    uint64_t reuse_waits;   /* waits before a staging buffer is refilled whose upload had
                             * not finished: the host was ahead by a whole buffer ring */
    uint64_t buffers;       /* device buffers and sub-buffers created */
    uint64_t launches;      /* kernels enqueued through cgan_launch_args */
} cgan_sync_counts;

/* Optional per-kernel timing for the tools (enabled with cgan_profile_enable). */
typedef struct cgan_prof_entry {
    char name[64];
    unsigned count;
    double total_ms;
} cgan_prof_entry;

/* Device memory held by a context's buffers, counted for CGAN_MAX_ALLOC: each buffer's
 * destructor callback (which OpenCL may run on a thread of its own, and after the context
 * is gone) takes its bytes off, so the count and its references are atomic. */
typedef struct cgan_mem_meter {
    _Atomic size_t live;            /* bytes of buffers not yet destroyed */
    _Atomic int refs;               /* the context's and one per live buffer */
} cgan_mem_meter;

struct cgan_ctx {
    char err[CGAN_ERRMSG_MAX];
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cgan_device_info info;
    int opened;
    cgan_profile profile;            /* every per-device choice (profile.h) */
    char class_req[8];             /* cgan_ctx_set_device_class: "gpu", "cpu" or "" */
    cgan_program *programs;        /* built programs, a list */
    cgan_cache_stats cache;
    int cache_disabled;
    int cache_warned;              /* the cache could not be written: said once */
    char cache_dir[1024];
    /* profiling of launches: off unless a tool turns it on */
    int profiling;
    cgan_prof_entry *prof;
    int prof_count, prof_cap;
    cgan_sync_counts sync;         /* host waits and allocations, counted */
    cgan_mem_meter *meter;         /* device memory of live buffers (buffer.c), made on first use */
    char warnings[CGAN_WARN_MAX][512]; /* said once each (cgan_warn), read in order */
    int n_warnings, warnings_read;
    void *blas;                    /* GEMM provider state (src/blas) */
    void (*blas_destroy)(void *);
};

/* ---- errors ------------------------------------------------------------ */
/* Record a message on ctx and return st. printf-style. */
cgan_status cgan_error(cgan_ctx *ctx, cgan_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record "<call> failed: <CL_NAME> (<detail>)" and return CGAN_E_OPENCL. */
cgan_status cgan_cl_fail(cgan_ctx *ctx, cl_int err, const char *call, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefix the existing message with more context: "<prefix>: <old message>". */
cgan_status cgan_error_wrap(cgan_ctx *ctx, cgan_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Note a warning for the caller to show (cgan_ctx_next_warning): the same text is kept once;
 * past CGAN_WARN_MAX warnings, new ones are dropped. */
void cgan_warn(cgan_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CGAN_CL_CHECK(ctx, call_expr, call_name, ...)                       \
    do {                                                                    \
        cl_int cgan__e = (call_expr);                                       \
        if (cgan__e != CL_SUCCESS)                                          \
            return cgan_cl_fail((ctx), cgan__e, (call_name), __VA_ARGS__);  \
    } while (0)

#define CGAN_TRY(expr)                       \
    do {                                     \
        cgan_status cgan__s = (expr);        \
        if (cgan__s != CGAN_OK) return cgan__s; \
    } while (0)

/* ---- buffers ----------------------------------------------------------- */
cgan_status cgan_buffer_create(cgan_ctx *ctx, size_t bytes, const char *what, cl_mem *out);
/* A view of [offset, offset+bytes) of parent; offset must be a multiple of ctx->mem_align. */
cgan_status cgan_buffer_sub(cgan_ctx *ctx, cl_mem parent, size_t offset, size_t bytes,
                            const char *what, cl_mem *out);
void cgan_buffer_release(cl_mem m);
/* Bytes of device memory the context's buffers hold now (cgan_buffer_create's). */
size_t cgan_mem_live(const cgan_ctx *ctx);
/* Drop the context's reference to its meter (cgan_ctx_destroy). */
void cgan_mem_meter_drop(cgan_ctx *ctx);
/* Blocking host <-> device copies (for setup, tests and reading values to print). */
cgan_status cgan_buffer_write(cgan_ctx *ctx, cl_mem m, size_t offset, size_t bytes, const void *src);
cgan_status cgan_buffer_read(cgan_ctx *ctx, cl_mem m, size_t offset, size_t bytes, void *dst);
/* Asynchronous host-to-device copy; src must stay unchanged until *done completes (the
 * caller waits on it with clWaitForEvents and releases it). */
cgan_status cgan_buffer_write_async(cgan_ctx *ctx, cl_mem m, size_t offset, size_t bytes,
                                    const void *src, cl_event *done);
/* Asynchronous device-to-host copy; dst is valid once *done completes (the caller waits
 * on it and releases it). */
cgan_status cgan_buffer_read_async(cgan_ctx *ctx, cl_mem m, size_t offset, size_t bytes, void *dst, cl_event *done);
/* Asynchronous device fill of count floats starting at float index first. */
cgan_status cgan_buffer_fill_f32(cgan_ctx *ctx, cl_mem m, size_t first, size_t count, float value);
/* Asynchronous device-to-device copy. */
cgan_status cgan_buffer_copy(cgan_ctx *ctx, cl_mem src, size_t src_off, cl_mem dst,
                             size_t dst_off, size_t bytes);
cgan_status cgan_finish(cgan_ctx *ctx);
/* Submit what is queued (clFlush) without waiting: the end of each step and batch. */
cgan_status cgan_flush(cgan_ctx *ctx);

/* Host memory that uploads read from, of the profile's kind: pinned (a CL_MEM_ALLOC_HOST_PTR
 * buffer, mapped once here and unmapped on free; drivers copy from it by DMA) or pageable
 * (malloc). host is the pointer to fill; uploads pass it to cgan_buffer_write_async. */
typedef struct cgan_staging {
    void *host;
    cl_mem buf;     /* the pinned buffer (NULL when pageable) */
    size_t bytes;
} cgan_staging;
cgan_status cgan_staging_alloc(cgan_ctx *ctx, size_t bytes, const char *what, cgan_staging *out);
/* Accepts a zeroed or freed staging; waits for nothing: the caller drains the queue first
 * when uploads from it may still be queued. */
void cgan_staging_free(cgan_ctx *ctx, cgan_staging *s);
/* Before host memory that an earlier asynchronous upload reads is overwritten: returns
 * at once when ev is complete, else waits for it (counted in sync.reuse_waits). An event
 * that ended in an error is reported. */
cgan_status cgan_wait_for_reuse(cgan_ctx *ctx, cl_event ev, const char *what);
size_t cgan_align_up(size_t v, size_t a);

/* ---- kernel sources ------------------------------------------------------ */
/* The source text of cl/<name>.cl: from $CGAN_KERNEL_DIR when set, else embedded.
 * *text is malloc'ed; the caller frees it. The prelude cl/_common.cl is not included. */
cgan_status cgan_source_load(cgan_ctx *ctx, const char *name, char **text, size_t *len);
/* Names of every program in cl/ (without ".cl", prelude excluded), NULL-terminated. */
const char *const *cgan_source_names(void);

/* ---- programs and kernels ------------------------------------------------ */
typedef struct cgan_build_info {
    int from_cache;     /* the binary came from the disk cache */
    double build_ms;    /* wall time of this build (0 when already in memory) */
} cgan_build_info;

/* Build (or fetch) cl/<source>.cl with extra options (defines, tile sizes; may be NULL).
 * Programs are kept on the context: a second call with the same pair is free. */
cgan_status cgan_program_get(cgan_ctx *ctx, const char *source, const char *options,
                             cgan_program **out, cgan_build_info *info);
/* Build a program from explicit text (tests, tuner). name is used in messages and as cache key part. */
/* The disk cache key of a program (the whole source and options, the device and driver);
 * malloc'ed, NULL when out of memory. */
char *cgan_program_cache_key(cgan_ctx *ctx, const char *name, const char *text, const char *options);
cgan_status cgan_program_from_text(cgan_ctx *ctx, const char *name, const char *text,
                                   const char *options, cgan_program **out,
                                   cgan_build_info *info);
/* Look a kernel up by name in a built program. */
cgan_status cgan_program_kernel(cgan_ctx *ctx, cgan_program *prog, const char *kernel,
                                cgan_kernel **out);
/* Shortcut: program + kernel. */
cgan_status cgan_kernel_get(cgan_ctx *ctx, const char *source, const char *options,
                            const char *kernel, cgan_kernel **out);
/* The largest work-group size the kernel accepts on this device: its own limit
 * (CL_KERNEL_WORK_GROUP_SIZE), capped by the profile's (profile.h, wg_limit). Every launch
 * with an explicit local size is checked against it and against wg_item_max. */
size_t cgan_kernel_max_wg(const cgan_kernel *k);
const char *cgan_kernel_name(const cgan_kernel *k);

/* ---- launches ------------------------------------------------------------- */
typedef enum cgan_karg_kind {
    CGAN_KARG_END = 0, CGAN_KARG_MEM, CGAN_KARG_INT, CGAN_KARG_UINT, CGAN_KARG_FLOAT,
    CGAN_KARG_LONG, CGAN_KARG_ULONG, CGAN_KARG_LOCAL
} cgan_karg_kind;

typedef struct cgan_karg {
    cgan_karg_kind kind;
    union {
        cl_mem mem;
        cl_int i;
        cl_uint u;
        cl_float f;
        cl_long l;
        cl_ulong ul;
        size_t local_bytes;
    } v;
} cgan_karg;

#define CGAN_KMEM(x)   ((cgan_karg){ .kind = CGAN_KARG_MEM, .v.mem = (x) })
#define CGAN_KINT(x)   ((cgan_karg){ .kind = CGAN_KARG_INT, .v.i = (cl_int)(x) })
#define CGAN_KUINT(x)  ((cgan_karg){ .kind = CGAN_KARG_UINT, .v.u = (cl_uint)(x) })
#define CGAN_KFLOAT(x) ((cgan_karg){ .kind = CGAN_KARG_FLOAT, .v.f = (cl_float)(x) })
#define CGAN_KLONG(x)  ((cgan_karg){ .kind = CGAN_KARG_LONG, .v.l = (cl_long)(x) })
#define CGAN_KULONG(x) ((cgan_karg){ .kind = CGAN_KARG_ULONG, .v.ul = (cl_ulong)(x) })
#define CGAN_KLOCAL(b) ((cgan_karg){ .kind = CGAN_KARG_LOCAL, .v.local_bytes = (size_t)(b) })
#define CGAN_KEND      ((cgan_karg){ .kind = CGAN_KARG_END })

typedef struct cgan_range {
    cl_uint dims;
    size_t global[3];
    size_t local[3];   /* local[0] == 0: let the runtime choose */
} cgan_range;

/* n work-items in one dimension, rounded up to a multiple of the work-group size the
 * runtime picks for the kernel; kernels must check their index against n. */
cgan_range cgan_range_1d(size_t n);
/* 2-D range with explicit local size (global rounded up to multiples of local). */
cgan_range cgan_range_2d(size_t gx, size_t gy, size_t lx, size_t ly);

/* Set the arguments (checked against the kernel's argument count) and enqueue. */
cgan_status cgan_launch_args(cgan_ctx *ctx, cgan_kernel *k, const cgan_range *r,
                             const cgan_karg *args);
#define cgan_launch(ctx, k, range, ...) \
    cgan_launch_args((ctx), (k), (range), (const cgan_karg[]){ __VA_ARGS__, CGAN_KEND })

/* Profiling (tools only): record each launch's device time by kernel name. */
cgan_status cgan_profile_enable(cgan_ctx *ctx, int on);
void cgan_profile_reset(cgan_ctx *ctx);

/* ---- disk cache (cache.c) -------------------------------------------------- */
/* Stable 64-bit FNV-1a hash. */
uint64_t cgan_hash64(const void *data, size_t len, uint64_t seed);
/* Create the cache folder (and its parents) when missing; CGAN_E_IO naming it. */
cgan_status cgan_cache_mkdir(cgan_ctx *ctx);
/* Resolve the cache folder from the environment into ctx->cache_dir (called on open). */
void cgan_cache_init(cgan_ctx *ctx);
/* Look up key; on a valid entry returns CGAN_OK and a malloc'ed binary. A missing entry
 * is CGAN_E_NOT_FOUND; a damaged or mismatched one is deleted, counted as rejected,
 * and also reported as CGAN_E_NOT_FOUND. */
cgan_status cgan_cache_load(cgan_ctx *ctx, const char *key, unsigned char **bin, size_t *len);
/* Store atomically (temporary file, flush, rename). Failures are not fatal to callers. */
cgan_status cgan_cache_store(cgan_ctx *ctx, const char *key, const unsigned char *bin, size_t len);
/* Path of the file that holds key (for tests that damage entries). */
void cgan_cache_path(const cgan_ctx *ctx, const char *key, char *out, size_t n);

#endif
