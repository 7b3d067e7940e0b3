/* The reference architectures as graphs: seed32 (32x32, the source tutorial's network) and
 * dcgan64 (PyTorch's dcgan example), unconditional or conditioned by label concatenation
 * or by conditional BatchNorm + a projection discriminator. */
#ifndef CGAN_MODELS_H
#define CGAN_MODELS_H
#include "core/graph.h"

typedef enum cgan_cond {
    CGAN_COND_NONE = 0,  /* unconditional */
    CGAN_COND_CONCAT,    /* G: learned K-dim label embedding concatenated to z; D: K one-hot planes */
    CGAN_COND_PROJ       /* G: conditional BatchNorm; D: projection term on pooled features */
} cgan_cond;

typedef enum cgan_arch { CGAN_ARCH_SEED32 = 0, CGAN_ARCH_DCGAN64 } cgan_arch;

typedef struct cgan_model_cfg {
    cgan_arch arch;
    cgan_cond cond;
    int batch;
    int nz;            /* latent size (100) */
    int nc;            /* image channels */
    int num_classes;   /* K; 0 forces CGAN_COND_NONE */
    int ngf, ndf;      /* base widths (64) */
    int diffaug;       /* D starts with DiffAugment (translation + cutout) in training */
} cgan_model_cfg;

/* Defaults: seed32, concat, batch 64, nz 100, nc 1, 10 classes, ngf = ndf = 64. */
cgan_model_cfg cgan_model_defaults(void);
int cgan_model_image_size(cgan_arch arch);      /* 32 or 64 */
const char *cgan_arch_name(cgan_arch a);
const char *cgan_cond_name(cgan_cond c);
/* Parse "seed32"/"dcgan64" and "none"/"concat"/"proj"; -1 when unknown. */
int cgan_arch_parse(const char *s);
int cgan_cond_parse(const char *s);

typedef struct cgan_generator {
    cgan_graph *g;
    int z;        /* input [N,nz,1,1] */
    int labels;   /* input [N,1,1,1] class indices, -1 when unconditional */
    int out;      /* [N,nc,S,S] in [-1,1] */
} cgan_generator;

typedef struct cgan_discriminator {
    cgan_graph *g;
    int x;        /* input [N,nc,S,S] */
    int labels;   /* -1 when unconditional */
    int logit;    /* [N,1,1,1] */
} cgan_discriminator;

/* Build (not plan) the graphs; prefix "G" and "D". On error the message is on ctx and
 * *out holds no graph. */
cgan_status cgan_build_generator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_generator *out);
cgan_status cgan_build_discriminator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_discriminator *out);
#endif
