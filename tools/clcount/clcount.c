/* clcount: an LD_PRELOAD library that counts OpenCL host calls (see clcount.h). Each entry
 * point below has the exported name of the real one, counts, and forwards to the next
 * definition in the lookup order (dlsym(RTLD_NEXT)), normally the ICD loader libOpenCL.so.1.
 * A program linked against libOpenCL (or a library it uses, such as CLBlast) calls these
 * instead, since a preloaded library comes first in the lookup order.
 *
 * Counters are C11 atomics (relaxed: they are tallies, not synchronisation); the real entry
 * points are looked up on first use and cached in atomics, so any thread may call first. */
#undef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300 /* declare every entry point, 2.x ones included */
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_0_APIS
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clcount.h"

#define EXPORT __attribute__((visibility("default")))

enum {
#define INDEX_(name, group, what) I_##name,
    CLCOUNT_FIELDS(INDEX_)
#undef INDEX_
    N_COUNTERS
};

static atomic_uint_fast64_t counters[N_COUNTERS];

#define BUMP(name) atomic_fetch_add_explicit(&counters[I_##name], 1, memory_order_relaxed)

/* The next definition of `name`, cached in *slot. A race only repeats the lookup. */
static void *resolve(const char *name, _Atomic(void *) *slot)
{
    void *f = atomic_load_explicit(slot, memory_order_acquire);
    if (!f) {
        f = dlsym(RTLD_NEXT, name);
        if (f) atomic_store_explicit(slot, f, memory_order_release);
    }
    return f;
}

/* Said once per process: the program called an entry point no later library defines. */
static void missing(const char *name)
{
    static atomic_int said;
    if (!atomic_exchange(&said, 1))
        fprintf(stderr, "clcount: %s: no OpenCL library after clcount.so defines it "
                        "(is the program linked against libOpenCL?)\n", name);
}

/* The real fn in a local `next`, or return `fail` from the wrapper. */
#define NEXT(fn, fail)                                                        \
    static _Atomic(void *) slot_;                                             \
    __typeof__(&fn) next = (__typeof__(&fn))resolve(#fn, &slot_);             \
    if (!next) {                                                              \
        missing(#fn);                                                         \
        return fail;                                                          \
    }

/* An entry point returning cl_int. */
#define WRAP_INT(fn, params, args, count)                 \
    EXPORT CL_API_ENTRY cl_int CL_API_CALL fn params       \
    {                                                     \
        NEXT(fn, CL_INVALID_OPERATION);                   \
        count;                                            \
        return next args;                                 \
    }

/* An entry point returning an object (or a pointer) with an error code in `err`. */
#define WRAP_OBJ(type, fn, params, args, err, count)      \
    EXPORT CL_API_ENTRY type CL_API_CALL fn params         \
    {                                                     \
        NEXT(fn, ((err) ? (void)(*(err) = CL_INVALID_OPERATION) : (void)0, (type)NULL)); \
        count;                                            \
        return next args;                                 \
    }

/* ---- creations ------------------------------------------------------------------------ */
WRAP_OBJ(cl_kernel, clCreateKernel, (cl_program p, const char *name, cl_int *err),
         (p, name, err), err, BUMP(create_kernel))
WRAP_INT(clCreateKernelsInProgram,
         (cl_program p, cl_uint n, cl_kernel *kernels, cl_uint *n_ret),
         (p, n, kernels, n_ret), BUMP(create_kernels_in_program))
WRAP_OBJ(cl_program, clCreateProgramWithSource,
         (cl_context c, cl_uint n, const char **strings, const size_t *lengths, cl_int *err),
         (c, n, strings, lengths, err), err, BUMP(create_program_source))
WRAP_OBJ(cl_program, clCreateProgramWithBinary,
         (cl_context c, cl_uint nd, const cl_device_id *devs, const size_t *lengths,
          const unsigned char **binaries, cl_int *status, cl_int *err),
         (c, nd, devs, lengths, binaries, status, err), err, BUMP(create_program_binary))
WRAP_OBJ(cl_program, clCreateProgramWithBuiltInKernels,
         (cl_context c, cl_uint nd, const cl_device_id *devs, const char *names, cl_int *err),
         (c, nd, devs, names, err), err, BUMP(create_program_binary))
WRAP_INT(clBuildProgram,
         (cl_program p, cl_uint nd, const cl_device_id *devs, const char *options,
          void(CL_CALLBACK *notify)(cl_program, void *), void *user),
         (p, nd, devs, options, notify, user), BUMP(build_program))
WRAP_INT(clCompileProgram,
         (cl_program p, cl_uint nd, const cl_device_id *devs, const char *options,
          cl_uint nh, const cl_program *headers, const char **header_names,
          void(CL_CALLBACK *notify)(cl_program, void *), void *user),
         (p, nd, devs, options, nh, headers, header_names, notify, user), BUMP(build_program))
WRAP_OBJ(cl_program, clLinkProgram,
         (cl_context c, cl_uint nd, const cl_device_id *devs, const char *options, cl_uint np,
          const cl_program *programs, void(CL_CALLBACK *notify)(cl_program, void *), void *user,
          cl_int *err),
         (c, nd, devs, options, np, programs, notify, user, err), err, BUMP(link_program))
WRAP_OBJ(cl_mem, clCreateBuffer,
         (cl_context c, cl_mem_flags flags, size_t size, void *host, cl_int *err),
         (c, flags, size, host, err), err, BUMP(create_buffer))
WRAP_OBJ(cl_mem, clCreateSubBuffer,
         (cl_mem b, cl_mem_flags flags, cl_buffer_create_type type, const void *info, cl_int *err),
         (b, flags, type, info, err), err, BUMP(create_sub_buffer))
WRAP_OBJ(cl_mem, clCreateImage,
         (cl_context c, cl_mem_flags flags, const cl_image_format *fmt, const cl_image_desc *desc,
          void *host, cl_int *err),
         (c, flags, fmt, desc, host, err), err, BUMP(create_image))
WRAP_OBJ(cl_mem, clCreateImage2D,
         (cl_context c, cl_mem_flags flags, const cl_image_format *fmt, size_t w, size_t h,
          size_t row_pitch, void *host, cl_int *err),
         (c, flags, fmt, w, h, row_pitch, host, err), err, BUMP(create_image))
WRAP_OBJ(cl_mem, clCreateImage3D,
         (cl_context c, cl_mem_flags flags, const cl_image_format *fmt, size_t w, size_t h,
          size_t d, size_t row_pitch, size_t slice_pitch, void *host, cl_int *err),
         (c, flags, fmt, w, h, d, row_pitch, slice_pitch, host, err), err, BUMP(create_image))
WRAP_OBJ(cl_command_queue, clCreateCommandQueue,
         (cl_context c, cl_device_id dev, cl_command_queue_properties props, cl_int *err),
         (c, dev, props, err), err, BUMP(create_queue))
WRAP_OBJ(cl_context, clCreateContext,
         (const cl_context_properties *props, cl_uint nd, const cl_device_id *devs,
          void(CL_CALLBACK *notify)(const char *, const void *, size_t, void *), void *user,
          cl_int *err),
         (props, nd, devs, notify, user, err), err, BUMP(create_context))
WRAP_OBJ(cl_context, clCreateContextFromType,
         (const cl_context_properties *props, cl_device_type type,
          void(CL_CALLBACK *notify)(const char *, const void *, size_t, void *), void *user,
          cl_int *err),
         (props, type, notify, user, err), err, BUMP(create_context))
WRAP_OBJ(cl_sampler, clCreateSampler,
         (cl_context c, cl_bool normalized, cl_addressing_mode am, cl_filter_mode fm, cl_int *err),
         (c, normalized, am, fm, err), err, BUMP(create_other))
WRAP_OBJ(cl_event, clCreateUserEvent, (cl_context c, cl_int *err), (c, err), err,
         BUMP(create_other))

/* Entry points of OpenCL 2.x: the next library may lack them (ocl-icd built for 1.2, or
 * another loader); then the call fails with CL_INVALID_OPERATION, as the missing entry point
 * would have been unresolvable anyway. */
WRAP_OBJ(cl_command_queue, clCreateCommandQueueWithProperties,
         (cl_context c, cl_device_id dev, const cl_queue_properties *props, cl_int *err),
         (c, dev, props, err), err, BUMP(create_queue))
WRAP_OBJ(cl_kernel, clCloneKernel, (cl_kernel k, cl_int *err), (k, err), err, BUMP(clone_kernel))
WRAP_OBJ(cl_program, clCreateProgramWithIL,
         (cl_context c, const void *il, size_t length, cl_int *err), (c, il, length, err), err,
         BUMP(create_program_binary))

/* ---- waits and transfers -------------------------------------------------------------- */
#define BLOCKING(flag, kind) ((flag) ? BUMP(kind##_blocking) : BUMP(kind##_async))

WRAP_INT(clFinish, (cl_command_queue q), (q), BUMP(finish))
WRAP_INT(clWaitForEvents, (cl_uint n, const cl_event *events), (n, events), BUMP(wait_for_events))
WRAP_INT(clEnqueueReadBuffer,
         (cl_command_queue q, cl_mem b, cl_bool blocking, size_t offset, size_t size, void *ptr,
          cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, b, blocking, offset, size, ptr, nw, wait, ev), BLOCKING(blocking, read))
WRAP_INT(clEnqueueWriteBuffer,
         (cl_command_queue q, cl_mem b, cl_bool blocking, size_t offset, size_t size,
          const void *ptr, cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, b, blocking, offset, size, ptr, nw, wait, ev), BLOCKING(blocking, write))
WRAP_INT(clEnqueueReadBufferRect,
         (cl_command_queue q, cl_mem b, cl_bool blocking, const size_t *borigin,
          const size_t *horigin, const size_t *region, size_t brow, size_t bslice, size_t hrow,
          size_t hslice, void *ptr, cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, b, blocking, borigin, horigin, region, brow, bslice, hrow, hslice, ptr, nw, wait, ev),
         BLOCKING(blocking, read))
WRAP_INT(clEnqueueWriteBufferRect,
         (cl_command_queue q, cl_mem b, cl_bool blocking, const size_t *borigin,
          const size_t *horigin, const size_t *region, size_t brow, size_t bslice, size_t hrow,
          size_t hslice, const void *ptr, cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, b, blocking, borigin, horigin, region, brow, bslice, hrow, hslice, ptr, nw, wait, ev),
         BLOCKING(blocking, write))
WRAP_INT(clEnqueueReadImage,
         (cl_command_queue q, cl_mem im, cl_bool blocking, const size_t *origin,
          const size_t *region, size_t row, size_t slice, void *ptr, cl_uint nw,
          const cl_event *wait, cl_event *ev),
         (q, im, blocking, origin, region, row, slice, ptr, nw, wait, ev), BLOCKING(blocking, read))
WRAP_INT(clEnqueueWriteImage,
         (cl_command_queue q, cl_mem im, cl_bool blocking, const size_t *origin,
          const size_t *region, size_t row, size_t slice, const void *ptr, cl_uint nw,
          const cl_event *wait, cl_event *ev),
         (q, im, blocking, origin, region, row, slice, ptr, nw, wait, ev),
         BLOCKING(blocking, write))
WRAP_OBJ(void *, clEnqueueMapBuffer,
         (cl_command_queue q, cl_mem b, cl_bool blocking, cl_map_flags flags, size_t offset,
          size_t size, cl_uint nw, const cl_event *wait, cl_event *ev, cl_int *err),
         (q, b, blocking, flags, offset, size, nw, wait, ev, err), err, BLOCKING(blocking, map))
WRAP_OBJ(void *, clEnqueueMapImage,
         (cl_command_queue q, cl_mem im, cl_bool blocking, cl_map_flags flags,
          const size_t *origin, const size_t *region, size_t *row, size_t *slice, cl_uint nw,
          const cl_event *wait, cl_event *ev, cl_int *err),
         (q, im, blocking, flags, origin, region, row, slice, nw, wait, ev, err), err,
         BLOCKING(blocking, map))
WRAP_INT(clEnqueueUnmapMemObject,
         (cl_command_queue q, cl_mem m, void *ptr, cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, m, ptr, nw, wait, ev), BUMP(unmap))

/* ---- queue work ----------------------------------------------------------------------- */
WRAP_INT(clFlush, (cl_command_queue q), (q), BUMP(flush))
WRAP_INT(clEnqueueNDRangeKernel,
         (cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *offset, const size_t *global,
          const size_t *local, cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, k, dim, offset, global, local, nw, wait, ev), BUMP(launch))
WRAP_INT(clEnqueueTask,
         (cl_command_queue q, cl_kernel k, cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, k, nw, wait, ev), BUMP(launch))
WRAP_INT(clEnqueueCopyBuffer,
         (cl_command_queue q, cl_mem src, cl_mem dst, size_t so, size_t d_o, size_t size,
          cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, src, dst, so, d_o, size, nw, wait, ev), BUMP(copy))
WRAP_INT(clEnqueueCopyBufferRect,
         (cl_command_queue q, cl_mem src, cl_mem dst, const size_t *so, const size_t *d_o,
          const size_t *region, size_t srow, size_t sslice, size_t drow, size_t dslice,
          cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, src, dst, so, d_o, region, srow, sslice, drow, dslice, nw, wait, ev), BUMP(copy))
WRAP_INT(clEnqueueFillBuffer,
         (cl_command_queue q, cl_mem b, const void *pattern, size_t psize, size_t offset,
          size_t size, cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, b, pattern, psize, offset, size, nw, wait, ev), BUMP(fill))
WRAP_INT(clEnqueueMarkerWithWaitList,
         (cl_command_queue q, cl_uint nw, const cl_event *wait, cl_event *ev), (q, nw, wait, ev),
         BUMP(marker))
WRAP_INT(clEnqueueBarrierWithWaitList,
         (cl_command_queue q, cl_uint nw, const cl_event *wait, cl_event *ev), (q, nw, wait, ev),
         BUMP(marker))

/* ---- arguments, releases, profiling --------------------------------------------------- */
WRAP_INT(clSetKernelArg, (cl_kernel k, cl_uint i, size_t size, const void *value),
         (k, i, size, value), BUMP(set_kernel_arg))
WRAP_INT(clReleaseMemObject, (cl_mem m), (m), BUMP(release_mem))
WRAP_INT(clReleaseKernel, (cl_kernel k), (k), BUMP(release_kernel))
WRAP_INT(clReleaseProgram, (cl_program p), (p), BUMP(release_program))
WRAP_INT(clGetEventProfilingInfo,
         (cl_event e, cl_profiling_info what, size_t size, void *value, size_t *size_ret),
         (e, what, size, value, size_ret), BUMP(get_profiling_info))

/* ---- reading the counters ------------------------------------------------------------- */
EXPORT void clcount_snapshot(struct clcount_counts *out)
{
    uint64_t *v = (uint64_t *)out;
    _Static_assert(sizeof(struct clcount_counts) == N_COUNTERS * sizeof(uint64_t),
                   "clcount_counts is one uint64_t per counter");
    for (int i = 0; i < N_COUNTERS; i++)
        v[i] = atomic_load_explicit(&counters[i], memory_order_relaxed);
}

/* CLCOUNT_OUT=FILE: the totals as one JSON object, written when the process exits; "%p" in
 * FILE stands for the process id (for programs that start others with the same setting). */
__attribute__((destructor)) static void write_totals(void)
{
    const char *spec = getenv("CLCOUNT_OUT");
    if (!spec || !*spec) return;
    char path[4096];
    size_t n = 0;
    for (const char *s = spec; *s && n + 24 < sizeof path; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            n += (size_t)snprintf(path + n, sizeof path - n, "%ld", (long)getpid());
            s++;
        } else {
            path[n++] = *s;
        }
    }
    path[n] = '\0';
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clcount: CLCOUNT_OUT=%s: cannot write\n", path);
        return;
    }
    struct clcount_counts c;
    clcount_snapshot(&c);
    const char *sep = "{";
#define FIELD_(name, group, what)                                            \
    fprintf(f, "%s\"%s\":%llu", sep, #name, (unsigned long long)c.name); \
    sep = ",";
    CLCOUNT_FIELDS(FIELD_)
#undef FIELD_
    fprintf(f, "}\n");
    if (fclose(f) != 0) fprintf(stderr, "clcount: CLCOUNT_OUT=%s: write failed\n", path);
}
