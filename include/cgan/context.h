/* cgan/context.h: status codes, errors, the context, devices and the device profile.
 *
 * Everything in libcgan starts from a context (cgan_ctx): it holds one OpenCL device, its
 * in-order queue, the kernels built for it and the message of the last error. Every call
 * that can fail returns a cgan_status (0 = CGAN_OK, negative = error) and leaves a
 * message naming the call, the file, tensor or option, and the OpenCL error by name on
 * the context (cgan_last_error). The library never prints, never exits, and keeps no
 * global state: two contexts share nothing.
 *
 * Threads: a context, and every object made from it (tensors, graphs, optimisers,
 * trainers, samplers, datasets opened with it), is used by one thread at a time; the
 * caller serialises. Different contexts may be used from different threads at once.
 * The only threads the library starts are the batch loaders' (cgan/data.h), which touch
 * nothing but their own dataset and buffers.
 *
 * No OpenCL types appear in these headers except cgan/cgan_cl.h (interop). */
#ifndef CGAN_API_CONTEXT_H
#define CGAN_API_CONTEXT_H

#include <stddef.h>
#include <stdint.h>
#include "cgan/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every library call returns one of these; 0 is success, negatives are errors.
 * The message explaining the last error is on the context (cgan_last_error). */
typedef enum cgan_status {
    CGAN_OK = 0,
    CGAN_E_INVALID = -1,      /* bad argument, option or value */
    CGAN_E_NOMEM = -2,        /* host allocation failed */
    CGAN_E_OPENCL = -3,       /* an OpenCL call failed */
    CGAN_E_BUILD = -4,        /* a kernel failed to build */
    CGAN_E_NOT_FOUND = -5,    /* no such device, kernel, file, tensor */
    CGAN_E_IO = -6,           /* reading or writing a file failed */
    CGAN_E_FORMAT = -7,       /* a file or value is malformed */
    CGAN_E_SHAPE = -8,        /* tensor shapes do not fit */
    CGAN_E_BLAS = -9,         /* the GEMM provider failed */
    CGAN_E_UNSUPPORTED = -10, /* the device lacks a needed feature */
    CGAN_E_NUMERIC = -11,     /* a non-finite value or a failed numerical check */
    CGAN_E_INTERRUPTED = -12  /* stopped by a signal */
} cgan_status;
#define CGAN_STATUS_COUNT 13

/* The library's version as numbers (the one the program runs with; CGAN_VERSION_* in
 * cgan/version.h is the one it was compiled against); each pointer may be NULL. Returns
 * the version string. */
CGAN_API const char *cgan_version(int *major, int *minor, int *patch);

/* Short name of a status ("CGAN_E_OPENCL"); never NULL. */
CGAN_API const char *cgan_status_str(cgan_status st);

typedef struct cgan_ctx cgan_ctx;

/* A context holds the chosen device, its queue, built programs and the last error.
 * cgan_ctx_new returns NULL only when out of memory. */
CGAN_API cgan_ctx *cgan_ctx_new(void);
CGAN_API void cgan_ctx_destroy(cgan_ctx *ctx);

/* Open a device. spec is NULL (use $CGAN_DEVICE, else the default: the first GPU,
 * else the first device), a decimal index from cgan_devices_list, or a
 * case-insensitive substring of the device, vendor or platform name. */
CGAN_API cgan_status cgan_ctx_open(cgan_ctx *ctx, const char *spec);

/* Make every per-device choice the one a "gpu" or a "cpu" would get, whatever the device
 * (before cgan_ctx_open; NULL or "" goes back to $CGAN_DEVICE_CLASS, else the device's
 * type). */
CGAN_API cgan_status cgan_ctx_set_device_class(cgan_ctx *ctx, const char *dclass);
/* The device profile of an open context as text (class, GEMM, convolution form, lanes,
 * work-group limit, tiles, alignment, staging, overrides), a line per field. Returns the
 * length snprintf would write, or -1. */
CGAN_API int cgan_ctx_profile_str(const cgan_ctx *ctx, char *buf, size_t n);

/* Warnings the library noted on ctx (say, a GEMM provider that failed on a shape, after
 * which the engine used its own GEMM and went on), each returned once, oldest first; NULL
 * when there is no new one. */
CGAN_API const char *cgan_ctx_next_warning(cgan_ctx *ctx);

/* Message for the last failed call on ctx ("" when none). It stays until the next
 * failure or cgan_clear_error; a successful call does not clear it. */
CGAN_API const char *cgan_last_error(const cgan_ctx *ctx);
CGAN_API void cgan_clear_error(cgan_ctx *ctx);

typedef enum cgan_device_type {
    CGAN_DEVICE_GPU = 1, CGAN_DEVICE_CPU = 2, CGAN_DEVICE_ACCEL = 4, CGAN_DEVICE_OTHER = 8
} cgan_device_type;

typedef struct cgan_device_info {
    int index;                 /* flat index over all platforms */
    int platform_index;
    char platform[128];
    char name[128];
    char vendor[128];
    char driver[64];
    char version[96];          /* CL_DEVICE_VERSION */
    char c_version[96];        /* CL_DEVICE_OPENCL_C_VERSION */
    cgan_device_type type;
    unsigned compute_units;
    uint64_t global_mem;       /* bytes */
    uint64_t local_mem;        /* bytes */
    uint64_t max_alloc;        /* bytes */
    size_t max_work_group;
    int fp16, fp64;
    int is_default;            /* the device cgan_ctx_open(NULL) would choose */
} cgan_device_info;

/* "GPU", "CPU", "accelerator" or "other". */
CGAN_API const char *cgan_device_type_str(cgan_device_type t);

/* List every device of every platform. *out is freed with cgan_devices_free. */
CGAN_API cgan_status cgan_devices_list(cgan_ctx *ctx, cgan_device_info **out, int *count);
CGAN_API void cgan_devices_free(cgan_device_info *list);
/* The device a spec names, as cgan_ctx_open would choose it (NULL or "": the default,
 * else an index or a case-insensitive part of a name), without opening it: its flat index
 * into *index. CGAN_E_NOT_FOUND listing the devices when nothing matches. */
CGAN_API cgan_status cgan_devices_find(cgan_ctx *ctx, const char *spec, int *index);

/* The device the context opened (valid after cgan_ctx_open). */
CGAN_API const cgan_device_info *cgan_ctx_device(const cgan_ctx *ctx);

/* Kernel binary cache counters (since the context was created). */
typedef struct cgan_cache_stats {
    unsigned hits, misses, rejected, stores;
} cgan_cache_stats;
CGAN_API cgan_cache_stats cgan_ctx_cache_stats(const cgan_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_CONTEXT_H */
