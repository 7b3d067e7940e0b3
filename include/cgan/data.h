/* cgan/data.h: datasets and batch iteration.
 *
 * A dataset is a folder of labelled images or an IDX set, opened once:
 *  - an image folder ("ImageFolder"): one subfolder per class, class names = subfolder
 *    names in byte order (hidden folders and folders without images ignored), files *.jpg,
 *    *.jpeg, *.png in any letter case, decoded by content (JPEG or PNG), not by extension.
 *    Files that cannot be read are skipped and counted, with reasons.
 *  - a folder of IDX pairs (MNIST layout): <split>-images-idx3-ubyte[.gz] and
 *    <split>-labels-idx1-ubyte[.gz], split "train" or "t10k"; class names from classes.txt
 *    beside them, else the Fashion-MNIST names when the path names "fashion", else "0".."9".
 *  - NULL: CGAN_DATA_DEFAULT_PATH (Fashion-MNIST, Debian's dataset-fashion-mnist).
 * Every image comes out as S x S (the shorter side scaled to S, the centre cut out; IDX
 * images a little smaller than S are padded with 0) with 1 or 3 channels.
 *
 * Image folders stream: opening one reads only each file's header (to skip bad files and
 * detect the channels), and the loader decodes from disk while training, so memory stays
 * bounded whatever the folder's size. cache_decoded decodes everything at open instead.
 * IDX sets are held in memory.
 *
 * A loader turns a dataset into batches of floats in [-1, 1] (NCHW) and labels, in a
 * reproducible shuffled order per epoch, prepared ahead (at most 4 batches) by worker
 * threads of its own while the caller trains. The batches depend neither on the number of
 * workers nor on streaming or caching. Its position (epoch, index) can be read and
 * restored for an exact resume. */
#ifndef CGAN_API_DATA_H
#define CGAN_API_DATA_H
#include <stdint.h>
#include "cgan/context.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CGAN_DATA_DEFAULT_PATH "/usr/share/datasets/fashion-mnist"

typedef struct cgan_data_opts {
    int size;            /* target side S; 0 = 32 */
    int channels;        /* 0 = detect (1 if every image is grayscale, else 3), or 1 or 3 */
    int max_images;      /* 0 = all; else at most this many, spread evenly over the folder
                          * listing (ImageFolder) or the first ones (IDX) */
    const char *split;   /* IDX only: NULL or "train", or "test" */
    int captions;        /* 1: read captions.tsv, "class/file<TAB>caption" per line
                          * (ImageFolder only; every image used needs one) */
    int cache_decoded;   /* ImageFolder: 1 = decode every image at open and keep it in
                          * memory; 0 = stream from disk (IDX sets are always in memory) */
} cgan_data_opts;

/* Defaults: size 32, channels detected, all images, the train split, no captions. */
CGAN_API void cgan_data_opts_default(cgan_data_opts *opts);

typedef struct cgan_dataset cgan_dataset;

/* Open a dataset (see above); opts may be NULL (defaults). err_ctx receives the error
 * message and needs no device. Errors name the file or folder: CGAN_E_NOT_FOUND (missing
 * path, no class folder, no image), CGAN_E_FORMAT (malformed IDX, nothing decodable),
 * CGAN_E_IO, CGAN_E_NOMEM, CGAN_E_INVALID (opts). */
CGAN_API cgan_status cgan_dataset_open(cgan_ctx *err_ctx, const char *path,
                                       const cgan_data_opts *opts, cgan_dataset **out);
/* Frees the dataset (NULL is accepted); its loaders must be destroyed first. */
CGAN_API void cgan_dataset_destroy(cgan_dataset *ds);

/* Images, channels (1 or 3), side S, classes. */
CGAN_API int cgan_dataset_count(const cgan_dataset *ds);
CGAN_API int cgan_dataset_channels(const cgan_dataset *ds);
CGAN_API int cgan_dataset_size(const cgan_dataset *ds);
CGAN_API int cgan_dataset_num_classes(const cgan_dataset *ds);
/* The class names (num_classes strings, owned by the dataset). */
CGAN_API char *const *cgan_dataset_class_names(const cgan_dataset *ds);
/* The label of image i (-1 for a bad i). */
CGAN_API int cgan_dataset_label(const cgan_dataset *ds, int i);
/* "imagefolder", "idx" or "memory", and the folder opened. */
CGAN_API const char *cgan_dataset_format(const cgan_dataset *ds);
CGAN_API const char *cgan_dataset_source(const cgan_dataset *ds);
/* Files skipped at open, and up to a few of them as "path: reason" (NULL past the end). */
CGAN_API int cgan_dataset_skipped(const cgan_dataset *ds);
CGAN_API const char *cgan_dataset_skipped_example(const cgan_dataset *ds, int i);
/* The skipped files counted by reason, as text into buf (n bytes): "3 with bad or damaged
 * image data, 1 not a file (a FIFO, socket or device), 1 a link that loops or leads
 * nowhere, 1 unreadable"; "" when none. Returns buf. */
CGAN_API const char *cgan_dataset_skip_summary(const cgan_dataset *ds, char *buf, size_t n);

/* 1 when the images are decoded from disk as they are read (an image folder opened
 * without cache_decoded), 0 when they are held in memory. */
CGAN_API int cgan_dataset_streams(const cgan_dataset *ds);
/* Bytes of one image (channels * size * size), and image i's pixels (CHW, 0..255) into dst,
 * whatever the mode: a copy, or the file decoded now (threads may read one dataset at
 * once). CGAN_E_INVALID for a bad i; a file that cannot be read or decoded any more gives
 * CGAN_E_IO or CGAN_E_FORMAT naming it. */
CGAN_API size_t cgan_dataset_image_size_bytes(const cgan_dataset *ds);
CGAN_API cgan_status cgan_dataset_read(cgan_ctx *err_ctx, const cgan_dataset *ds, int i, uint8_t *dst);

/* ---- batch loaders --------------------------------------------------------------- */

#define CGAN_AUG_FLIP 1u   /* mirror each sample left-right with probability 1/2 */

typedef struct cgan_loader cgan_loader;

/* A loader of batches of `batch` images (1..count) in the order drawn from seed: epoch e
 * visits the images in a permutation of its own, and batches never straddle epochs (the
 * last count % batch images of a permutation are not used that epoch). ds must outlive
 * the loader. */
CGAN_API cgan_status cgan_loader_create(cgan_ctx *err_ctx, const cgan_dataset *ds, int batch,
                                        uint64_t seed, unsigned flags, cgan_loader **out);
/* The same with the number of decoding threads: 0 = automatic (one per CPU, at most 4, for
 * a streamed dataset; 1 for one in memory). The batches do not depend on it. */
CGAN_API cgan_status cgan_loader_create_workers(cgan_ctx *err_ctx, const cgan_dataset *ds, int batch,
                                                uint64_t seed, unsigned flags, int workers,
                                                cgan_loader **out);
/* The decoding threads a loader runs. */
CGAN_API int cgan_loader_workers(const cgan_loader *l);
/* The next batch: images (batch * C * S * S floats in [-1, 1], NCHW) and labels (batch
 * floats holding class indices; may be NULL); *epoch (may be NULL) receives its epoch.
 * Blocks only when the loader thread has not finished the batch yet. */
CGAN_API cgan_status cgan_loader_next(cgan_loader *l, float *images, float *labels, int *epoch);
/* Position of the batch the next cgan_loader_next returns, and a jump there (in a new
 * loader with the same dataset, batch, seed and flags: the same batches follow). */
CGAN_API void cgan_loader_tell(const cgan_loader *l, int *epoch, int *index);
CGAN_API cgan_status cgan_loader_seek(cgan_loader *l, int epoch, int index);
/* Files of a streamed dataset that failed to decode at batch time so far (each counted
 * once; their samples took the next image of the epoch's order), and *example (may be
 * NULL) the first as "path: reason" (NULL when none). */
CGAN_API int cgan_loader_skipped(cgan_loader *l, const char **example);
/* Full batches per epoch (count / batch). */
CGAN_API int cgan_loader_batches_per_epoch(const cgan_loader *l);
/* Stops the thread and frees (NULL is accepted). */
CGAN_API void cgan_loader_destroy(cgan_loader *l);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_DATA_H */
