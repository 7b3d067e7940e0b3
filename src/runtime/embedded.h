/* The table of OpenCL sources compiled into the binary (generated from cl/). */
#ifndef CGAN_EMBEDDED_H
#define CGAN_EMBEDDED_H
typedef struct cgan_embedded_source {
    const char *name;   /* file name without ".cl" */
    const char *text;
} cgan_embedded_source;
extern const cgan_embedded_source cgan_embedded_sources[]; /* ends with { 0, 0 } */
#endif
