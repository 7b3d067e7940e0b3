/* cgan/check.h: the numerical self-checks and the kernel programs, as `cgan-cl selftest`
 * runs them. Each check runs one op on random data on the context's device and compares
 * it with a plain-C double-precision reference (forward, backward, finite differences). */
#ifndef CGAN_API_CHECK_H
#define CGAN_API_CHECK_H
#include "cgan/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cgan_check_result {
    double max_err;   /* the largest normalised error seen: max|a-b| / max(1e-6, max|ref|) */
    double tol;       /* the tolerance it was held to */
} cgan_check_result;

/* Registered checks, and the name of check i ("conv2d_forward", ...; NULL for a bad i). */
CGAN_API int cgan_check_count(void);
CGAN_API const char *cgan_check_name(int i);
/* Run check i on an opened context: CGAN_OK when it passed, CGAN_E_NUMERIC (message on
 * ctx) when it did not, CGAN_E_UNSUPPORTED when the device lacks a needed feature, other
 * errors when it could not run. res may be NULL. */
CGAN_API cgan_status cgan_check_run(cgan_ctx *ctx, int i, cgan_check_result *res);

/* The kernel programs (cl/<name>.cl), NULL-terminated. */
CGAN_API const char *const *cgan_kernel_programs(void);
/* Build one program for ctx's device (or take it from the kernel cache): *from_cache and
 * *build_ms (each may be NULL) say how. The build log is in the error message. */
CGAN_API cgan_status cgan_kernel_program_build(cgan_ctx *ctx, const char *name, int *from_cache,
                                               double *build_ms);
/* The kernel binary cache's folder ("" when the cache is disabled). */
CGAN_API const char *cgan_ctx_cache_dir(const cgan_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_CHECK_H */
