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
#include "gan/models.h"  /* the public side: cgan/model.h */

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
