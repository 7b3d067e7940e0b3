/* Program and kernel objects (internal to src/runtime). */
#ifndef CGAN_PROGRAM_H
#define CGAN_PROGRAM_H
#include "runtime.h"

struct cgan_kernel {
    char name[64];
    cl_kernel k;
    cl_uint nargs;
    size_t max_wg;        /* CL_KERNEL_WORK_GROUP_SIZE capped by the profile's wg_limit */
    size_t device_max_wg; /* CL_KERNEL_WORK_GROUP_SIZE as reported */
    size_t wg_multiple;   /* CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE */
    struct cgan_kernel *next;
};

struct cgan_program {
    char *name;
    char *options;        /* as given by the caller ("" for none) */
    cl_program prog;
    cgan_build_info info;
    struct cgan_kernel *kernels;
    struct cgan_program *next;
};

void cgan_programs_release(cgan_ctx *ctx);
#endif
