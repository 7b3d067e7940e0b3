/* The batch loader: background threads turn dataset images into float batches while the
 * caller trains on the previous one. They work ahead into a bounded queue of
 * CGAN_LOADER_SLOTS batches, so memory is O(slots * batch * image) whatever the dataset's
 * size (plus, per worker, the permutation: 5 bytes an image).
 *
 * Streamed datasets (dataset.h: an ImageFolder opened without cache_decoded) are decoded
 * here, from disk, in each epoch's shuffled order, by up to CGAN_LOADER_MAX_WORKERS worker
 * threads (one per CPU by default), each filling whole batches with its own TurboJPEG
 * handle and buffers. A batch depends only on its position, so the number of workers and
 * their timing never change it, and streaming gives exactly the batches of the same folder
 * opened with cache_decoded (when every file decodes). A file that fails at batch time (it
 * changed since the scan, or is corrupt beyond its header) does not stop training: the
 * sample takes the next image of the epoch's permutation that decodes (wrapping around to
 * the permutation's start), with the flip of its own position; the file is counted once
 * and skipped from then on (cgan_loader_skipped). In-memory datasets use one worker.
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

#define CGAN_LOADER_SLOTS 4         /* batches prepared ahead, at most */
#define CGAN_LOADER_MAX_WORKERS 4   /* decoding threads */
#define CGAN_LOADER_SALT 0x6c6f616465726e67ull /* keeps shuffles apart from other streams */

typedef struct cgan_loader cgan_loader;

/* ds must outlive the loader and not change while it runs. batch must be 1..ds->n. err_ctx
 * (may be NULL) receives the messages of create and, for a streamed dataset, of next: it
 * must outlive the loader then, and is used from the caller's thread only. */
cgan_status cgan_loader_create(cgan_ctx *err_ctx, const cgan_dataset *ds, int batch,
                               uint64_t seed, unsigned flags, cgan_loader **out);

/* The same, with a condition row per image instead of the class index: the labels of a
 * batch are then batch * width floats, image i's row being rows[i * width ...] (ds->n rows,
 * not copied: they must outlive the loader). Text training passes the token ids of each
 * image's caption this way. */
cgan_status cgan_loader_create_rows(cgan_ctx *err_ctx, const cgan_dataset *ds, int batch, uint64_t seed,
                                    unsigned flags, const float *rows, int width, cgan_loader **out);

/* The same with the number of worker threads: 0 = cgan_loader_auto_workers(ds), else 1 to
 * CGAN_LOADER_MAX_WORKERS. Used by benchmarks; the batches do not depend on it. */
cgan_status cgan_loader_create_full(cgan_ctx *err_ctx, const cgan_dataset *ds, int batch, uint64_t seed,
                                    unsigned flags, const float *rows, int width, int workers,
                                    cgan_loader **out);

/* The automatic worker count: 1 for an in-memory dataset, else one per CPU, at most
 * CGAN_LOADER_MAX_WORKERS. */
int cgan_loader_auto_workers(const cgan_dataset *ds);

/* The next batch: images (batch * C * S * S floats in [-1, 1], NCHW) and labels (batch
 * floats holding class indices, or batch rows of width floats); *epoch (may be NULL)
 * receives the batch's epoch. Blocks only when the workers have not finished the batch yet.
 * CGAN_E_FORMAT (on err_ctx) when not one image of a streamed dataset decodes any more;
 * that error is final for the loader. */
cgan_status cgan_loader_next(cgan_loader *l, float *images, float *labels, int *epoch);

/* Position of the batch the next cgan_loader_next returns. */
void cgan_loader_tell(const cgan_loader *l, int *epoch, int *index);

/* Continue at (epoch, index); batches already prepared are dropped. index is an image
 * offset in [0, n); one that leaves less than a batch in the epoch means the next epoch's
 * start. CGAN_E_INVALID for negative values. */
cgan_status cgan_loader_seek(cgan_loader *l, int epoch, int index);

/* Full batches per epoch (n / batch). */
int cgan_loader_batches_per_epoch(const cgan_loader *l);

/* Batches prepared and waiting (0 to CGAN_LOADER_SLOTS): lets tests see the workers work
 * ahead, and that they stop there. */
int cgan_loader_ready(cgan_loader *l);

/* Worker threads running. */
int cgan_loader_workers(const cgan_loader *l);

/* Files of a streamed dataset that failed to decode at batch time so far (each counted
 * once) and were replaced; *example (may be NULL) receives the first one's message,
 * "path: reason", or NULL when none failed. The string lives as long as the loader. Safe to
 * call while the workers run. */
int cgan_loader_skipped(cgan_loader *l, const char **example);

/* Stops the workers (waiting for batches in progress) and frees. Accepts NULL. */
void cgan_loader_destroy(cgan_loader *l);
#endif
