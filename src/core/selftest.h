/* Registered numerical checks run by `cgan-cl selftest`: each op compares its device
 * result with the plain-C reference on random data. */
#ifndef CGAN_SELFTEST_H
#define CGAN_SELFTEST_H
#include "cgan/check.h"


/* Returns CGAN_OK when the check passed, CGAN_E_NUMERIC (message on ctx) when it did not,
 * CGAN_E_UNSUPPORTED when the device lacks a needed feature, other errors when it could not run. */
typedef cgan_status (*cgan_check_fn)(cgan_ctx *ctx, cgan_check_result *res);

typedef struct cgan_check {
    const char *name;
    cgan_check_fn run;
} cgan_check;

const cgan_check *cgan_check_at(int i);

/* Helpers for checks: normalised error max|a-b| / max(1e-6, max|ref|). */
double cgan_max_rel_err(const float *got, const double *ref, size_t n);
#endif
