/* The OpenCL side of a cgan context, for programs that share it with their own code. */
#ifndef CGAN_CGAN_CL_H
#define CGAN_CGAN_CL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include "cgan.h"

#ifdef __cplusplus
extern "C" {
#endif

cl_context cgan_ctx_cl_context(const cgan_ctx *ctx);
cl_command_queue cgan_ctx_cl_queue(const cgan_ctx *ctx);
cl_device_id cgan_ctx_cl_device(const cgan_ctx *ctx);

/* Name of an OpenCL status code ("CL_OUT_OF_RESOURCES"); "CL_UNKNOWN_ERROR" if unknown. */
const char *cgan_cl_error_name(cl_int err);

#ifdef __cplusplus
}
#endif
#endif
