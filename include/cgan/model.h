/* cgan/model.h: the GAN models as graphs.
 *
 * The reference architectures: seed32 (32x32, the source tutorial's network) and
 * dcgan64 (PyTorch's dcgan example), unconditional, conditioned by label concatenation or
 * by conditional BatchNorm + a projection discriminator, or conditioned by a caption.
 *
 * Text conditioning (CGAN_COND_TEXT): a caption is CGAN_TEXT_TOKENS token ids (words of the
 * training captions' vocabulary; pad -1). The text encoder is the mean of learned word embeddings (CGAN_TEXT_EMBED wide,
 * op embed_mean) followed by a linear layer to CGAN_TEXT_CODE features and a leaky ReLU
 * (0.2, as GAN-INT-CLS's text projection). G and D each own an encoder: "G.text.embed",
 * "G.text.fc" and "D.text.embed", "D.text.fc", each trained by its network's optimiser
 * with that network's loss, so D's encoder learns what separates matching from
 * mismatching pairs and G's what makes its images pass; nothing is shared between the
 * two graphs and each stays a self-contained module. Generation (--prompt) uses G's.
 *  - G: the code is concatenated to z, as the class embedding of CGAN_COND_CONCAT.
 *  - D: the code is broadcast as CGAN_TEXT_CODE constant planes concatenated to the image,
 *    as CGAN_COND_CONCAT's one-hot planes. Captions here name colours, sizes and shapes:
 *    properties the first convolution can compare with the pixels directly, where a
 *    projection on pooled features would have to learn them through the whole network
 *    first. D is matching-aware (trainer.h). */
#ifndef CGAN_API_MODEL_H
#define CGAN_API_MODEL_H
#include "cgan/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cgan_cond {
    CGAN_COND_NONE = 0,  /* unconditional */
    CGAN_COND_CONCAT,    /* G: learned K-dim label embedding concatenated to z; D: K one-hot planes */
    CGAN_COND_PROJ,      /* G: conditional BatchNorm; D: projection term on pooled features */
    CGAN_COND_TEXT       /* a caption through a text encoder (see above) */
} cgan_cond;

#define CGAN_TEXT_TOKENS 16  /* token ids per caption */
#define CGAN_TEXT_EMBED 32   /* word embedding size */
#define CGAN_TEXT_CODE 32    /* text code size */

typedef enum cgan_arch { CGAN_ARCH_SEED32 = 0, CGAN_ARCH_DCGAN64 } cgan_arch;

typedef struct cgan_model_cfg {
    cgan_arch arch;
    cgan_cond cond;
    int batch;
    int nz;            /* latent size (100) */
    int nc;            /* image channels */
    int num_classes;   /* K; needed by concat and proj (text models keep 0) */
    int ngf, ndf;      /* base widths (64) */
    int diffaug;       /* D starts with DiffAugment (translation + cutout) in training */
    int vocab;         /* words of a text model's vocabulary (CGAN_COND_TEXT), else 0 */
} cgan_model_cfg;

/* Defaults: seed32, concat, batch 64, nz 100, nc 1, 10 classes, ngf = ndf = 64. */
CGAN_API cgan_model_cfg cgan_model_defaults(void);
CGAN_API int cgan_model_image_size(cgan_arch arch);      /* 32 or 64 */
CGAN_API const char *cgan_arch_name(cgan_arch a);
CGAN_API const char *cgan_cond_name(cgan_cond c);
/* Parse "seed32"/"dcgan64" and "none"/"concat"/"proj"/"text"; -1 when unknown. */
CGAN_API int cgan_arch_parse(const char *s);
CGAN_API int cgan_cond_parse(const char *s);
/* Floats of condition per sample: 0 (none), 1 (a class index) or CGAN_TEXT_TOKENS (text). */
CGAN_API int cgan_model_cond_width(const cgan_model_cfg *cfg);

typedef struct cgan_generator {
    cgan_graph *g;
    int z;        /* input [N,nz,1,1] */
    int labels;   /* input [N,1,1,1] class indices, or [N,CGAN_TEXT_TOKENS,1,1] token ids
                   * (text); -1 when unconditional */
    int out;      /* [N,nc,S,S] in [-1,1] */
} cgan_generator;

typedef struct cgan_discriminator {
    cgan_graph *g;
    int x;        /* input [N,nc,S,S] */
    int labels;   /* as the generator's; -1 when unconditional */
    int logit;    /* [N,1,1,1] */
} cgan_discriminator;

/* Build (not plan) the graphs; prefix "G" and "D". On error the message is on ctx and
 * *out holds no graph. */
CGAN_API cgan_status cgan_build_generator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_generator *out);
CGAN_API cgan_status cgan_build_discriminator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_discriminator *out);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_MODEL_H */
