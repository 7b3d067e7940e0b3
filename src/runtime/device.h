/* Device enumeration internals shared by context.c and device.c. */
#ifndef CGAN_DEVICE_H
#define CGAN_DEVICE_H
#include "runtime.h"

typedef struct cgan_device_entry {
    cl_platform_id platform;
    cl_device_id device;
    cgan_device_info info;
} cgan_device_entry;

cgan_status cgan_device_enumerate(cgan_ctx *ctx, cgan_device_entry **out, int *count);
/* origin names where spec came from ("--device", "CGAN_DEVICE") for the message. */
cgan_status cgan_device_resolve(cgan_ctx *ctx, const cgan_device_entry *list, int n,
                                const char *spec, const char *origin, int *index);
void cgan_device_fill_info(cl_device_id d, const char *platform, int pidx, int index,
                           cgan_device_info *info);
#endif
