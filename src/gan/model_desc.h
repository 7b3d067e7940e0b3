/* Model descriptions: a JSON object that lists G's and D's layers (doc/model-format.md),
 * checked and turned into graphs by one interpreter. The built-in DCGAN family
 * (gan/models.h) is generated as such a description and built by the same code.
 *
 * Every error names where the description came from (the origin: a file name, a
 * checkpoint, "built-in model"), and where it can, the network, the layer (1-based index
 * and name) and the field:
 *   model.json: G layer 4 "deconv2": "stride" must be an integer >= 1 */
#ifndef CGAN_MODEL_DESC_H
#define CGAN_MODEL_DESC_H
#include <jansson.h>
#include "gan/models.h"

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
cgan_status cgan_model_parse(cgan_ctx *ctx, const char *text, const char *origin, cgan_model_head *head);

/* Read a model file and parse it (the path is the origin). *text is malloc'ed. */
cgan_status cgan_model_file_read(cgan_ctx *ctx, const char *path, char **text, cgan_model_head *head);

/* Build G and D of cfg, errors naming origin, and check their output shapes; nothing is
 * kept. No device is needed. */
cgan_status cgan_model_check(cgan_ctx *ctx, const cgan_model_cfg *cfg, const char *origin);

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
cgan_status cgan_model_layers(cgan_ctx *ctx, const cgan_model_cfg *cfg, cgan_model_layer_fn fn, void *user);

/* ---- for gan/models.c ------------------------------------------------------------- */
/* One built network: its graph, its image or noise input, its labels or tokens input
 * (-1 when unconditional) and its output (the last layer). */
typedef struct cgan_model_net {
    cgan_graph *g;
    int in, labels, out;
} cgan_model_net;

/* Build network `which` (0: G, 1: D) of cfg's description (cfg->desc, else the built-in
 * family's), errors naming origin; fn (may be NULL) sees each layer. */
cgan_status cgan_model_build_net(cgan_ctx *ctx, const cgan_model_cfg *cfg, const char *origin, int which,
                                 cgan_model_layer_fn fn, void *user, cgan_model_net *out);

/* The built-in family's description of cfg (size, ngf, ndf, cond, nz) as a new JSON
 * object; NULL when out of memory. In models.c. */
json_t *cgan_model_builtin_json(const cgan_model_cfg *cfg);
#endif
