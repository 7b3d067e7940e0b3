/* The CLBlast GEMM provider: row-major SGEMM and strided-batched SGEMM on the context's
 * queue, asynchronous (no event, no host wait). CLBlast compiles its kernels on the first
 * call per routine and device, which takes a few seconds on PoCL. */
#include <clblast_c.h>
#include "gemm.h"

const char *cgan_clblast_status_str(int status)
{
    switch ((CLBlastStatusCode)status) {
    case CLBlastSuccess: return "CLBlastSuccess";
    case CLBlastOpenCLCompilerNotAvailable: return "CLBlastOpenCLCompilerNotAvailable (CL_COMPILER_NOT_AVAILABLE)";
    case CLBlastTempBufferAllocFailure: return "CLBlastTempBufferAllocFailure (CL_MEM_OBJECT_ALLOCATION_FAILURE)";
    case CLBlastOpenCLOutOfResources: return "CLBlastOpenCLOutOfResources (CL_OUT_OF_RESOURCES)";
    case CLBlastOpenCLOutOfHostMemory: return "CLBlastOpenCLOutOfHostMemory (CL_OUT_OF_HOST_MEMORY)";
    case CLBlastOpenCLBuildProgramFailure: return "CLBlastOpenCLBuildProgramFailure (CL_BUILD_PROGRAM_FAILURE: kernel compilation error)";
    case CLBlastInvalidValue: return "CLBlastInvalidValue (CL_INVALID_VALUE)";
    case CLBlastInvalidCommandQueue: return "CLBlastInvalidCommandQueue (CL_INVALID_COMMAND_QUEUE)";
    case CLBlastInvalidMemObject: return "CLBlastInvalidMemObject (CL_INVALID_MEM_OBJECT)";
    case CLBlastInvalidBinary: return "CLBlastInvalidBinary (CL_INVALID_BINARY)";
    case CLBlastInvalidBuildOptions: return "CLBlastInvalidBuildOptions (CL_INVALID_BUILD_OPTIONS)";
    case CLBlastInvalidProgram: return "CLBlastInvalidProgram (CL_INVALID_PROGRAM)";
    case CLBlastInvalidProgramExecutable: return "CLBlastInvalidProgramExecutable (CL_INVALID_PROGRAM_EXECUTABLE)";
    case CLBlastInvalidKernelName: return "CLBlastInvalidKernelName (CL_INVALID_KERNEL_NAME)";
    case CLBlastInvalidKernelDefinition: return "CLBlastInvalidKernelDefinition (CL_INVALID_KERNEL_DEFINITION)";
    case CLBlastInvalidKernel: return "CLBlastInvalidKernel (CL_INVALID_KERNEL)";
    case CLBlastInvalidArgIndex: return "CLBlastInvalidArgIndex (CL_INVALID_ARG_INDEX)";
    case CLBlastInvalidArgValue: return "CLBlastInvalidArgValue (CL_INVALID_ARG_VALUE)";
    case CLBlastInvalidArgSize: return "CLBlastInvalidArgSize (CL_INVALID_ARG_SIZE)";
    case CLBlastInvalidKernelArgs: return "CLBlastInvalidKernelArgs (CL_INVALID_KERNEL_ARGS)";
    case CLBlastInvalidLocalNumDimensions: return "CLBlastInvalidLocalNumDimensions (CL_INVALID_WORK_DIMENSION: too many thread dimensions)";
    case CLBlastInvalidLocalThreadsTotal: return "CLBlastInvalidLocalThreadsTotal (CL_INVALID_WORK_GROUP_SIZE: too many threads in total)";
    case CLBlastInvalidLocalThreadsDim: return "CLBlastInvalidLocalThreadsDim (CL_INVALID_WORK_ITEM_SIZE: too many threads in one dimension)";
    case CLBlastInvalidGlobalOffset: return "CLBlastInvalidGlobalOffset (CL_INVALID_GLOBAL_OFFSET)";
    case CLBlastInvalidEventWaitList: return "CLBlastInvalidEventWaitList (CL_INVALID_EVENT_WAIT_LIST)";
    case CLBlastInvalidEvent: return "CLBlastInvalidEvent (CL_INVALID_EVENT)";
    case CLBlastInvalidOperation: return "CLBlastInvalidOperation (CL_INVALID_OPERATION)";
    case CLBlastInvalidBufferSize: return "CLBlastInvalidBufferSize (CL_INVALID_BUFFER_SIZE)";
    case CLBlastInvalidGlobalWorkSize: return "CLBlastInvalidGlobalWorkSize (CL_INVALID_GLOBAL_WORK_SIZE)";
    case CLBlastNotImplemented: return "CLBlastNotImplemented (routine or functionality not implemented)";
    case CLBlastInvalidMatrixA: return "CLBlastInvalidMatrixA (matrix A is not a valid OpenCL buffer)";
    case CLBlastInvalidMatrixB: return "CLBlastInvalidMatrixB (matrix B is not a valid OpenCL buffer)";
    case CLBlastInvalidMatrixC: return "CLBlastInvalidMatrixC (matrix C is not a valid OpenCL buffer)";
    case CLBlastInvalidVectorX: return "CLBlastInvalidVectorX (vector X is not a valid OpenCL buffer)";
    case CLBlastInvalidVectorY: return "CLBlastInvalidVectorY (vector Y is not a valid OpenCL buffer)";
    case CLBlastInvalidDimension: return "CLBlastInvalidDimension (M, N and K must be larger than zero)";
    case CLBlastInvalidLeadDimA: return "CLBlastInvalidLeadDimA (leading dimension of A too small)";
    case CLBlastInvalidLeadDimB: return "CLBlastInvalidLeadDimB (leading dimension of B too small)";
    case CLBlastInvalidLeadDimC: return "CLBlastInvalidLeadDimC (leading dimension of C too small)";
    case CLBlastInvalidIncrementX: return "CLBlastInvalidIncrementX (increment of X is zero)";
    case CLBlastInvalidIncrementY: return "CLBlastInvalidIncrementY (increment of Y is zero)";
    case CLBlastInsufficientMemoryA: return "CLBlastInsufficientMemoryA (buffer of A too small)";
    case CLBlastInsufficientMemoryB: return "CLBlastInsufficientMemoryB (buffer of B too small)";
    case CLBlastInsufficientMemoryC: return "CLBlastInsufficientMemoryC (buffer of C too small)";
    case CLBlastInsufficientMemoryX: return "CLBlastInsufficientMemoryX (buffer of X too small)";
    case CLBlastInsufficientMemoryY: return "CLBlastInsufficientMemoryY (buffer of Y too small)";
    case CLBlastInsufficientMemoryTemp: return "CLBlastInsufficientMemoryTemp (temporary GEMM buffer too small)";
    case CLBlastInvalidBatchCount: return "CLBlastInvalidBatchCount (batch count must be positive)";
    case CLBlastInvalidOverrideKernel: return "CLBlastInvalidOverrideKernel (parameters overridden for an invalid kernel)";
    case CLBlastMissingOverrideParameter: return "CLBlastMissingOverrideParameter (override parameters missing)";
    case CLBlastInvalidLocalMemUsage: return "CLBlastInvalidLocalMemUsage (not enough local memory on the device)";
    case CLBlastNoHalfPrecision: return "CLBlastNoHalfPrecision (no fp16 support on the device)";
    case CLBlastNoDoublePrecision: return "CLBlastNoDoublePrecision (no fp64 support on the device)";
    case CLBlastInvalidVectorScalar: return "CLBlastInvalidVectorScalar (unit-sized vector is not a valid OpenCL buffer)";
    case CLBlastInsufficientMemoryScalar: return "CLBlastInsufficientMemoryScalar (unit-sized vector buffer too small)";
    case CLBlastDatabaseError: return "CLBlastDatabaseError (no database entry for the device)";
    case CLBlastUnknownError: return "CLBlastUnknownError (unspecified error)";
    case CLBlastUnexpectedError: return "CLBlastUnexpectedError (unexpected exception)";
    }
    return "unknown CLBlast status";
}

static CLBlastTranspose tr(cgan_trans t)
{
    return t == CGAN_TRANS ? CLBlastTransposeYes : CLBlastTransposeNo;
}

static cgan_status clblast_gemm(cgan_ctx *ctx, const cgan_gemm_args *g)
{
    CLBlastStatusCode s;
    const char *call;
    if (g->batch == 1) {
        call = "CLBlastSgemm";
        s = CLBlastSgemm(CLBlastLayoutRowMajor, tr(g->ta), tr(g->tb), g->m, g->n, g->k, g->alpha,
                         g->a, g->a_off, g->lda, g->b, g->b_off, g->ldb, g->beta, g->c, g->c_off,
                         g->ldc, &ctx->queue, NULL);
    } else {
        call = "CLBlastSgemmStridedBatched";
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, tr(g->ta), tr(g->tb), g->m, g->n,
                                       g->k, g->alpha, g->a, g->a_off, g->lda, g->a_stride, g->b,
                                       g->b_off, g->ldb, g->b_stride, g->beta, g->c, g->c_off,
                                       g->ldc, g->c_stride, g->batch, &ctx->queue, NULL);
    }
    if (s == CLBlastSuccess) return CGAN_OK;
    return cgan_error(ctx, CGAN_E_BLAS,
                      "%s failed: %s (%d) for %s%s m=%zu n=%zu k=%zu lda=%zu ldb=%zu ldc=%zu "
                      "batch=%zu", call, cgan_clblast_status_str(s), (int)s,
                      g->ta == CGAN_TRANS ? "T" : "N", g->tb == CGAN_TRANS ? "T" : "N", g->m,
                      g->n, g->k, g->lda, g->ldb, g->ldc, g->batch);
}

static const cgan_gemm_provider clblast_provider = { "clblast", clblast_gemm };

const cgan_gemm_provider *cgan_gemm_provider_clblast(void)
{
    return &clblast_provider;
}
