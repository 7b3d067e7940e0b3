/* cgan/model.h: the GAN models.
 *
 * Models as data: a model description (JSON, doc/model-format.md) lists G's and D's layers,
 * and one interpreter (one interpreter) builds the graphs from it. The built-in DCGAN
 * family is such a description, generated in code from the image size, the widths and the
 * conditioning (cgan_model_builtin_json): size 32 is the source tutorial's network (preset
 * "seed32"), size 64 PyTorch's dcgan example ("dcgan64"); 16, 128 and 256 follow the same
 * rule. The family is unconditional, conditioned by label concatenation or by conditional
 * BatchNorm + a projection discriminator, or conditioned by a caption.
 *
 * The family at size S has L = log2(S) - 2 up/down-sampling stages:
 *  - G: deconv1 (4x4, stride 1, pad 0) from z to 4x4, then L deconvs (4x4, stride 2, pad 1)
 *    up to S; BatchNorm + ReLU (one fused node) after all but the last; tanh. Stage i
 *    (0-based, deconv i+1) has ngf * min(8, 2^(L-1-i)) channels, the last the image's.
 *  - D: L convs (4x4, stride 2, pad 1) from S down to 4 with LeakyReLU 0.2, BatchNorm
 *    (fused with it) on all but the first; stage i has ndf * min(8, 2^i) channels; then
 *    a 4x4 conv to the logit (plus the projection term for CGAN_COND_PROJ).
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
#include <stddef.h>
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
#define CGAN_MBSTD_GROUP 4   /* an mbstd layer's default samples per group */
#define CGAN_TEXT_CODE 32    /* text code size */

/* Names of today's presets of the family: seed32 is size 32, dcgan64 size 64. */
typedef enum cgan_arch { CGAN_ARCH_SEED32 = 0, CGAN_ARCH_DCGAN64 } cgan_arch;

#define CGAN_MODEL_MIN_SIZE 16   /* sizes of the built-in family: powers of two in between */
#define CGAN_MODEL_MAX_SIZE 256

/* A model's configuration. desc is not owned by the struct: whoever fills it keeps the
 * text alive while the struct is used; the trainer, the sampler and cgan_gen keep copies
 * of their own, so a caller may free its text once they are created. */
typedef struct cgan_model_cfg {
    int size;          /* image side S: G makes [N,nc,S,S], D reads them */
    const char *desc;  /* a model description (JSON text); NULL: the built-in family of
                        * size, ngf, ndf and cond */
    cgan_cond cond;
    int batch;
    int nz;            /* latent size (100) */
    int nc;            /* image channels */
    int num_classes;   /* K; needed by concat and proj (text models keep 0) */
    int ngf, ndf;      /* base widths of the built-in family (64) */
    int diffaug;       /* D starts with DiffAugment (translation + cutout) in training */
    int vocab;         /* words of a text model's vocabulary (CGAN_COND_TEXT), else 0 */
    int spectral_norm; /* D's conv and linear weights divided by their largest singular
                        * value (Miyato et al. 2018; op spectral_norm) */
    int mbstd;         /* the built-in D's minibatch standard deviation layer before its
                        * logit (cgan_nn_mbstd): samples per group; 0: none */
} cgan_model_cfg;

/* Defaults: size 32 (seed32), the built-in family, concat, batch 64, nz 100, nc 1,
 * 10 classes, ngf = ndf = 64. */
CGAN_API cgan_model_cfg cgan_model_defaults(void);
CGAN_API int cgan_arch_size(cgan_arch arch);             /* 32 or 64 */
CGAN_API const char *cgan_arch_name(cgan_arch a);
/* 1 when size is a size of the built-in family (16, 32, 64, 128, 256). */
CGAN_API int cgan_model_size_ok(int size);
/* The built-in family's name at a size: "seed32", "dcgan64", else "dcgan<S>". */
CGAN_API const char *cgan_model_family_name(int size);
/* The description of cfg as JSON text (malloc'ed; NULL when out of memory): a copy of
 * cfg->desc, or the built-in family's description generated from cfg. */
CGAN_API char *cgan_model_json(const cgan_model_cfg *cfg);
/* 1 when the description text is the built-in family's for cfg's size, ngf, ndf, cond and
 * nz (a checkpoint's stored description then rebuilds as the family). */
CGAN_API int cgan_model_is_builtin(const cgan_model_cfg *cfg, const char *text);
CGAN_API const char *cgan_cond_name(cgan_cond c);
/* Parse "seed32"/"dcgan64" and "none"/"concat"/"proj"/"text"; -1 when unknown. */
CGAN_API int cgan_arch_parse(const char *s);
CGAN_API int cgan_cond_parse(const char *s);
/* CGAN_OK when cfg's numbers are usable (a family size when desc is NULL, batch, nz,
 * channels, widths, classes or vocabulary for the conditioning). */
CGAN_API cgan_status cgan_model_cfg_check(cgan_ctx *ctx, const cgan_model_cfg *cfg);
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

/* Build (not plan) the graphs from cfg's description (cfg->desc, or the built-in family),
 * prefix "G" and "D"; G's output must be [batch,nc,size,size] and D's [batch,1,1,1]. On
 * error the message is on ctx and *out holds no graph. No device is needed. */
CGAN_API cgan_status cgan_build_generator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_generator *out);
CGAN_API cgan_status cgan_build_discriminator(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_discriminator *out);

/* ---- model descriptions ------------------------------------------------------------
 * Model descriptions: a JSON object that lists G's and D's layers (doc/model-format.md),
 * checked and turned into graphs by one interpreter. The built-in DCGAN family
 * (above) is generated as such a description and built by the same code.
 *
 * Every error names where the description came from (the origin: a file name, a
 * checkpoint, "built-in model"), and where it can, the network, the layer (1-based index
 * and name) and the field:
 *   model.json: G layer 4 "deconv2": "stride" must be an integer >= 1 */

#define CGAN_MODEL_FORMAT "cgan-model"
#define CGAN_MODEL_VERSION 1     /* the newest description version this code reads */
#define CGAN_MODEL_MAX_LAYERS 256
#define CGAN_MODEL_NAME_MAX 48   /* characters of a layer name */

/* The top-level settings of a description. */
typedef struct cgan_model_head {
    int size;          /* image side */
    int nz;            /* latent size (100 when the description does not say) */
    int cond;          /* a cgan_cond, or -1 when the description leaves it to the run */
    char name[64];     /* "" when it has none */
} cgan_model_head;

/* Parse text and check everything that can be checked without the data: the JSON, the
 * format and version, the top-level fields, and every layer's name, type, fields and
 * inputs. CGAN_E_FORMAT with the message on ctx. head may be NULL. */
CGAN_API cgan_status cgan_model_parse(cgan_ctx *ctx, const char *text, const char *origin, cgan_model_head *head);

/* Read a model file and parse it (the path is the origin). *text is malloc'ed. */
CGAN_API cgan_status cgan_model_file_read(cgan_ctx *ctx, const char *path, char **text, cgan_model_head *head);

/* Build G and D of cfg, errors naming origin, and check their output shapes; nothing is
 * kept. No device is needed. */
CGAN_API cgan_status cgan_model_check(cgan_ctx *ctx, const cgan_model_cfg *cfg, const char *origin);

/* One built layer, for listings (cgan-cl info). */
typedef struct cgan_model_layer {
    const char *net;       /* "G" or "D" */
    int index;             /* 1-based */
    const char *name, *type;
    cgan_shape out;        /* its output shape */
    size_t params;         /* trained parameters it created */
} cgan_model_layer;
typedef void (*cgan_model_layer_fn)(void *user, const cgan_model_layer *layer);

/* Build G then D of cfg (batch 1 is enough) and report every layer to fn. */
CGAN_API cgan_status cgan_model_layers(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_model_layer_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_MODEL_H */
