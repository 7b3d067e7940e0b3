/* cgan-bench --json: every record is one line, with the device name under "device" and the
 * build and device description under "meta", so a line read alone says what it measured. */
#include <time.h>
#include "config.h"
#include "bench.h"

#ifndef CGAN_CLBLAST_VERSION
#define CGAN_CLBLAST_VERSION "unknown"
#endif
#ifndef CGAN_GIT_REV
#define CGAN_GIT_REV "unknown"
#endif
#ifndef CGAN_BUILD_CFLAGS
#define CGAN_BUILD_CFLAGS ""
#endif

json_t *bench_meta(cgan_ctx *ctx)
{
    const cgan_device_info *d = cgan_ctx_device(ctx);
    char date[32] = "", plat[128] = "";
    time_t now = time(NULL);
    struct tm tmv;
    if (gmtime_r(&now, &tmv)) strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    cl_platform_id platform = NULL;
    if (clGetDeviceInfo(cgan_ctx_cl_device(ctx), CL_DEVICE_PLATFORM, sizeof platform, &platform,
                        NULL) != CL_SUCCESS ||
        clGetPlatformInfo(platform, CL_PLATFORM_VERSION, sizeof plat, plat, NULL) != CL_SUCCESS)
        plat[0] = '\0';
    plat[sizeof plat - 1] = '\0';
    json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s}",
                          "device", d->name, "vendor", d->vendor, "device_type",
                          cgan_device_type_str(d->type), "driver_version", d->driver,
                          "device_version", d->version, "opencl_c_version", d->c_version,
                          "platform", d->platform, "platform_version", plat, "compute_units",
                          (int)d->compute_units, "clblast_version", CGAN_CLBLAST_VERSION,
                          "cgan_cl_version", CGAN_VERSION_STRING, "git_revision", CGAN_GIT_REV,
                          "build_cflags", CGAN_BUILD_CFLAGS, "date", date);
    if (m && bench_host_blas()) {
        json_object_set_new(m, "openblas_version", json_string(bench_host_blas_version()));
        json_object_set_new(m, "openblas_core", json_string(bench_host_blas_core()));
    }
    return m;
}

void bench_emit(cgan_ctx *ctx, json_t *obj)
{
    if (!obj) {
        fprintf(stderr, "cgan-bench: out of memory building a JSON record\n");
        return;
    }
    json_object_set_new(obj, "device", json_string(cgan_ctx_device(ctx)->name));
    json_object_set_new(obj, "meta", bench_meta(ctx));
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    if (text) printf("%s\n", text);
    else fprintf(stderr, "cgan-bench: out of memory printing a JSON record\n");
    free(text);
    json_decref(obj);
    fflush(stdout);
}
