/* clcount: counts of OpenCL host calls, kept by tools/clcount/clcount.so when it is loaded
 * with LD_PRELOAD. A program reads them through the symbol clcount_snapshot, found at run
 * time (so it runs unchanged without the library):
 *
 *     void (*snap)(struct clcount_counts *) =
 *         (void (*)(struct clcount_counts *))dlsym(RTLD_DEFAULT, "clcount_snapshot");
 *
 * Every counter counts calls (successful or not); clCreateKernelsInProgram and the blocking
 * flags are the only ones that look at arguments. With CLCOUNT_OUT=FILE the library writes
 * the totals as one JSON object to FILE at exit. The fields are listed once, in
 * CLCOUNT_FIELDS, so readers can walk them; the struct is their counters in that order. */
#ifndef CLCOUNT_H
#define CLCOUNT_H
#include <stdint.h>

/* X(name, group, what): group is one of create, block, async, other. */
#define CLCOUNT_FIELDS(X)                                                                      \
    X(create_kernel, create, "clCreateKernel")                                                 \
    X(create_kernels_in_program, create, "clCreateKernelsInProgram (calls)")                   \
    X(clone_kernel, create, "clCloneKernel")                                                   \
    X(create_program_source, create, "clCreateProgramWithSource")                              \
    X(create_program_binary, create, "clCreateProgramWithBinary, WithBuiltInKernels, WithIL")  \
    X(build_program, create, "clBuildProgram, clCompileProgram")                               \
    X(link_program, create, "clLinkProgram")                                                   \
    X(create_buffer, create, "clCreateBuffer")                                                 \
    X(create_sub_buffer, create, "clCreateSubBuffer")                                          \
    X(create_image, create, "clCreateImage, clCreateImage2D, clCreateImage3D")                 \
    X(create_queue, create, "clCreateCommandQueue, clCreateCommandQueueWithProperties")        \
    X(create_context, create, "clCreateContext, clCreateContextFromType")                      \
    X(create_other, create, "clCreateSampler, clCreateUserEvent")                              \
    X(finish, block, "clFinish")                                                               \
    X(wait_for_events, block, "clWaitForEvents")                                               \
    X(read_blocking, block, "clEnqueueRead{Buffer,BufferRect,Image} with blocking=CL_TRUE")    \
    X(write_blocking, block, "clEnqueueWrite{Buffer,BufferRect,Image} with blocking=CL_TRUE")  \
    X(map_blocking, block, "clEnqueueMap{Buffer,Image} with blocking=CL_TRUE")                 \
    X(read_async, async, "clEnqueueRead{Buffer,BufferRect,Image} with blocking=CL_FALSE")      \
    X(write_async, async, "clEnqueueWrite{Buffer,BufferRect,Image} with blocking=CL_FALSE")    \
    X(map_async, async, "clEnqueueMap{Buffer,Image} with blocking=CL_FALSE")                   \
    X(unmap, async, "clEnqueueUnmapMemObject")                                                 \
    X(flush, async, "clFlush")                                                                 \
    X(launch, async, "clEnqueueNDRangeKernel, clEnqueueTask")                                  \
    X(copy, async, "clEnqueueCopyBuffer, clEnqueueCopyBufferRect")                             \
    X(fill, async, "clEnqueueFillBuffer")                                                      \
    X(marker, async, "clEnqueueMarkerWithWaitList, clEnqueueBarrierWithWaitList")              \
    X(set_kernel_arg, other, "clSetKernelArg")                                                 \
    X(release_mem, other, "clReleaseMemObject")                                                \
    X(release_kernel, other, "clReleaseKernel")                                                \
    X(release_program, other, "clReleaseProgram")                                              \
    X(get_profiling_info, other, "clGetEventProfilingInfo (not blocking)")

struct clcount_counts {
#define CLCOUNT_MEMBER_(name, group, what) uint64_t name;
    CLCOUNT_FIELDS(CLCOUNT_MEMBER_)
#undef CLCOUNT_MEMBER_
};

/* The counters so far (each read atomically; the set is not one instant when other threads
 * are calling OpenCL at the same time). Defined by clcount.so. */
void clcount_snapshot(struct clcount_counts *out);
typedef void (*clcount_snapshot_fn)(struct clcount_counts *out);
#endif
