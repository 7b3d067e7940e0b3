/* Enumerate platforms and devices, and resolve a user's device choice. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "runtime.h"
#include "device.h"

static void get_str(cl_device_id d, cl_device_info what, char *out, size_t n)
{
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, n, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[n - 1] = '\0';
}

static int has_ext(cl_device_id d, const char *ext)
{
    size_t sz = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &sz) != CL_SUCCESS || !sz) return 0;
    char *s = malloc(sz + 1);
    if (!s) return 0;
    int found = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, sz, s, NULL) == CL_SUCCESS) {
        s[sz] = '\0';
        size_t el = strlen(ext);
        for (char *p = strstr(s, ext); p; p = strstr(p + 1, ext))
            if ((p == s || p[-1] == ' ') && (p[el] == ' ' || p[el] == '\0')) { found = 1; break; }
    }
    free(s);
    return found;
}

void cgan_device_fill_info(cl_device_id d, const char *platform, int pidx, int index,
                           cgan_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->index = index;
    info->platform_index = pidx;
    snprintf(info->platform, sizeof info->platform, "%s", platform);
    get_str(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    get_str(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    get_str(d, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
    get_str(d, CL_DEVICE_VERSION, info->version, sizeof info->version);
    get_str(d, CL_DEVICE_OPENCL_C_VERSION, info->c_version, sizeof info->c_version);
    cl_device_type t = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    info->type = (t & CL_DEVICE_TYPE_GPU) ? CGAN_DEVICE_GPU
               : (t & CL_DEVICE_TYPE_CPU) ? CGAN_DEVICE_CPU
               : (t & CL_DEVICE_TYPE_ACCELERATOR) ? CGAN_DEVICE_ACCEL : CGAN_DEVICE_OTHER;
    cl_uint cu = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    info->compute_units = cu;
    cl_ulong v = 0;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof v, &v, NULL);
    info->global_mem = v;
    v = 0;
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof v, &v, NULL);
    info->local_mem = v;
    v = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof v, &v, NULL);
    info->max_alloc = v;
    size_t wg = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    info->max_work_group = wg;
    info->fp16 = has_ext(d, "cl_khr_fp16");
    info->fp64 = has_ext(d, "cl_khr_fp64");
}

const char *cgan_device_type_str(cgan_device_type t)
{
    switch (t) {
    case CGAN_DEVICE_GPU: return "GPU";
    case CGAN_DEVICE_CPU: return "CPU";
    case CGAN_DEVICE_ACCEL: return "accelerator";
    default: return "other";
    }
}

cgan_status cgan_device_enumerate(cgan_ctx *ctx, cgan_device_entry **out, int *count)
{
    *out = NULL;
    *count = 0;
    cl_uint np = 0;
    cl_int e = clGetPlatformIDs(0, NULL, &np);
    if (e == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (e == CL_SUCCESS && np == 0))
        return cgan_error(ctx, CGAN_E_NOT_FOUND,
                          "no OpenCL platform found: install a GPU driver's OpenCL ICD, "
                          "or pocl-opencl-icd for the CPU");
    if (e != CL_SUCCESS) return cgan_cl_fail(ctx, e, "clGetPlatformIDs", "%s", "");
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory listing platforms");
    cgan_device_entry *list = NULL;
    int n = 0, cap = 0;
    cgan_status st = CGAN_OK;
    e = clGetPlatformIDs(np, plats, NULL);
    if (e != CL_SUCCESS) { st = cgan_cl_fail(ctx, e, "clGetPlatformIDs", "%s", ""); goto fail; }
    for (cl_uint p = 0; p < np; p++) {
        char pname[128] = "";
        clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
        pname[sizeof pname - 1] = '\0';
        cl_uint nd = 0;
        e = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
        if (e == CL_DEVICE_NOT_FOUND || nd == 0) continue;
        if (e != CL_SUCCESS) { st = cgan_cl_fail(ctx, e, "clGetDeviceIDs", "platform %s", pname); goto fail; }
        cl_device_id *devs = calloc(nd, sizeof *devs);
        if (!devs) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory listing devices"); goto fail; }
        e = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL);
        if (e != CL_SUCCESS) {
            free(devs);
            st = cgan_cl_fail(ctx, e, "clGetDeviceIDs", "platform %s", pname);
            goto fail;
        }
        for (cl_uint d = 0; d < nd; d++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                cgan_device_entry *nl = realloc(list, (size_t)cap * sizeof *nl);
                if (!nl) { free(devs); st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto fail; }
                list = nl;
            }
            list[n].platform = plats[p];
            list[n].device = devs[d];
            cgan_device_fill_info(devs[d], pname, (int)p, n, &list[n].info);
            n++;
        }
        free(devs);
    }
    if (n == 0) {
        st = cgan_error(ctx, CGAN_E_NOT_FOUND,
                        "no OpenCL device found on %u platform(s): install a GPU driver's "
                        "OpenCL ICD, or pocl-opencl-icd for the CPU", np);
        goto fail;
    }
    /* The default: the first GPU, otherwise the first device. */
    int def = 0;
    for (int i = 0; i < n; i++)
        if (list[i].info.type == CGAN_DEVICE_GPU) { def = i; break; }
    list[def].info.is_default = 1;
    free(plats);
    *out = list;
    *count = n;
    return CGAN_OK;
fail:
    free(plats);
    free(list);
    return st;
}

static int icontains(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    if (nl == 0) return 0;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == nl) return 1;
    }
    return 0;
}

static void list_choices(const cgan_device_entry *list, int n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s  %d: %s (%s, %s)", i ? "\n" : "", i,
                         list[i].info.name, list[i].info.platform,
                         cgan_device_type_str(list[i].info.type));
        if (w < 0) break;
        used += (size_t)w;
    }
}

cgan_status cgan_device_resolve(cgan_ctx *ctx, const cgan_device_entry *list, int n,
                                const char *spec, const char *origin, int *index)
{
    if (!spec || !*spec) {
        for (int i = 0; i < n; i++)
            if (list[i].info.is_default) { *index = i; return CGAN_OK; }
        *index = 0;
        return CGAN_OK;
    }
    char choices[2048];
    char *end = NULL;
    long v = strtol(spec, &end, 10);
    if (end && end != spec && *end == '\0') {
        if (v >= 0 && v < n) { *index = (int)v; return CGAN_OK; }
        list_choices(list, n, choices, sizeof choices);
        return cgan_error(ctx, CGAN_E_NOT_FOUND,
                          "%s '%s': no device with that index; valid choices:\n%s", origin,
                          spec, choices);
    }
    for (int i = 0; i < n; i++)
        if (icontains(list[i].info.name, spec) || icontains(list[i].info.vendor, spec) ||
            icontains(list[i].info.platform, spec) ||
            icontains(cgan_device_type_str(list[i].info.type), spec)) {
            *index = i;
            return CGAN_OK;
        }
    list_choices(list, n, choices, sizeof choices);
    return cgan_error(ctx, CGAN_E_NOT_FOUND,
                      "%s '%s' matches no device (give an index or part of a name); "
                      "valid choices:\n%s", origin, spec, choices);
}

cgan_status cgan_devices_list(cgan_ctx *ctx, cgan_device_info **out, int *count)
{
    cgan_device_entry *list = NULL;
    int n = 0;
    *out = NULL;
    *count = 0;
    CGAN_TRY(cgan_device_enumerate(ctx, &list, &n));
    cgan_device_info *infos = calloc((size_t)n, sizeof *infos);
    if (!infos) {
        free(list);
        return cgan_error(ctx, CGAN_E_NOMEM, "out of memory listing devices");
    }
    for (int i = 0; i < n; i++) infos[i] = list[i].info;
    free(list);
    *out = infos;
    *count = n;
    return CGAN_OK;
}

void cgan_devices_free(cgan_device_info *list)
{
    free(list);
}

cgan_status cgan_devices_find(cgan_ctx *ctx, const char *spec, int *index)
{
    if (!ctx || !index) return CGAN_E_INVALID;
    cgan_device_entry *list = NULL;
    int n = 0, i = 0;
    CGAN_TRY(cgan_device_enumerate(ctx, &list, &n));
    cgan_status st = cgan_device_resolve(ctx, list, n, spec, "device", &i);
    if (st == CGAN_OK) *index = list[i].info.index;
    free(list);
    return st;
}
