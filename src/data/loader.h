/* The batch loader: a background thread turns dataset images into float batches while the
 * caller trains on the previous one (two batches are kept ready).
 *
 * Order: epoch e visits the images in a Fisher-Yates permutation drawn from Philox with
 * key (seed ^ CGAN_LOADER_SALT, stream e), so every epoch's order is reproducible on its
 * own. Batches never straddle epochs: the last n % batch images of a permutation are not
 * used that epoch. With CGAN_AUG_FLIP each sample of the epoch is mirrored left-right with
 * probability 1/2, from the same stream (one draw per position, after the permutation).
 *
 * Position: (epoch, index) where index is the offset of a batch's first image in its
 * epoch's permutation. cgan_loader_tell gives the position of the batch the next
 * cgan_loader_next returns; cgan_loader_seek(tell's values) in a new loader with the same
 * dataset, batch, seed and flags continues with exactly the same batches. */
#ifndef CGAN_DATA_LOADER_H
#define CGAN_DATA_LOADER_H
#include <stdint.h>
#include "dataset.h"

#define CGAN_LOADER_SALT 0x6c6f616465726e67ull /* keeps shuffles apart from other streams */

typedef struct cgan_loader cgan_loader;

/* ds must outlive the loader and not change while it runs. batch must be 1..ds->n. */
cgan_status cgan_loader_create(cgan_ctx *err_ctx, const cgan_dataset *ds, int batch,
                               uint64_t seed, unsigned flags, cgan_loader **out);

/* The same, with a condition row per image instead of the class index: the labels of a
 * batch are then batch * width floats, image i's row being rows[i * width ...] (ds->n rows,
 * not copied: they must outlive the loader). Text training passes the token ids of each
 * image's caption this way. */
cgan_status cgan_loader_create_rows(cgan_ctx *err_ctx, const cgan_dataset *ds, int batch, uint64_t seed,
                                    unsigned flags, const float *rows, int width, cgan_loader **out);

/* The next batch: images (batch * C * S * S floats in [-1, 1], NCHW) and labels (batch
 * floats holding class indices, or batch rows of width floats); *epoch (may be NULL)
 * receives the batch's epoch. Blocks only when the thread has not finished the batch yet. */
cgan_status cgan_loader_next(cgan_loader *l, float *images, float *labels, int *epoch);

/* Position of the batch the next cgan_loader_next returns. */
void cgan_loader_tell(const cgan_loader *l, int *epoch, int *index);

/* Continue at (epoch, index); batches already prepared are dropped. index is an image
 * offset in [0, n); one that leaves less than a batch in the epoch means the next epoch's
 * start. CGAN_E_INVALID for negative values. */
cgan_status cgan_loader_seek(cgan_loader *l, int epoch, int index);

/* Full batches per epoch (n / batch). */
int cgan_loader_batches_per_epoch(const cgan_loader *l);

/* Batches prepared and waiting (0, 1 or 2): lets tests see the thread work ahead. */
int cgan_loader_ready(cgan_loader *l);

/* Stops the thread (waiting for a batch in progress) and frees. Accepts NULL. */
void cgan_loader_destroy(cgan_loader *l);
#endif
