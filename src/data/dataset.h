/* Datasets: images resized and centre-cropped to S x S, as uint8 CHW, each with an integer
 * label, and the class names.
 *
 * Where the pixels live:
 *  - streamed (an ImageFolder, the default): opening lists the files and reads only their
 *    headers (TurboJPEG's header parser; a PNG's signature and IHDR chunk), to skip bad
 *    files and to detect the channels. ds->pixels is NULL; ds->paths keeps the file of
 *    every image (one character arena and offsets). cgan_dataset_read decodes one image
 *    from disk; the batch loader (loader.h) decodes ahead on threads of its own, so memory
 *    stays bounded whatever the folder's size. A file whose header is fine but whose data
 *    is not (or that changed since) fails only when it is read.
 *  - in memory: IDX sets, cgan_dataset_alloc, and an ImageFolder opened with
 *    opts.cache_decoded, whose images are all decoded at open (n * C * S * S bytes) and
 *    whose undecodable files are skipped then. ds->pixels holds every image.
 * Both give the same pixels for an image: the same decoding and resizing code.
 *
 * Sources (cgan_dataset_open):
 *  - an ImageFolder: one subfolder per class (class names = subfolder names in byte
 *    order, hidden folders ignored, folders without image files ignored), files *.jpg,
 *    *.jpeg, *.png in any letter case. Files are decoded by content (JPEG or PNG magic),
 *    not by extension. Files that cannot be read (streamed: whose header is bad; cached:
 *    that cannot be decoded) are skipped and counted.
 *  - a folder of IDX pairs (MNIST layout): <split>-images-idx3-ubyte[.gz] and
 *    <split>-labels-idx1-ubyte[.gz] where split is "train" or "t10k" ("test"); raw or
 *    gzip. Class names from classes.txt beside them, else the Fashion-MNIST names when
 *    the path names "fashion", else "0".."9". A malformed IDX file is an error.
 *  - NULL: CGAN_DATA_DEFAULT_PATH (Fashion-MNIST).
 *
 * Resizing: the shorter side is scaled to S (area averaging when shrinking, bilinear when
 * enlarging; JPEGs are first reduced by the largest DCT scale that keeps the shorter side
 * >= S), then the centre S x S is cut out. IDX images 28x28 with S = 32 (any S at most 4
 * larger than a square source) are padded centred with 0 instead. PNG alpha is
 * composited on black; 16-bit PNG samples are reduced to 8 bits. Colour to gray uses the
 * BT.601 luma (0.299 R + 0.587 G + 0.114 B); gray to colour repeats the channel.
 *
 * Captions (opts.captions, for text-conditioned training): an ImageFolder's captions.tsv
 * holds one line per image, "relative/image/path<TAB>caption", the path relative to the
 * folder as <class>/<file> ("./" in front is allowed); blank lines and lines starting
 * with '#' are ignored, a CR before the newline too. Every image used (after max_images)
 * must have a caption: an image without one is an error naming it and the count, so a
 * partly captioned folder never trains on a silent subset. A line without a tab, with an
 * empty path or a caption without a word, a second line for the same image, or a line
 * naming an image that is not in the folder is an error naming captions.tsv and the line.
 * Files skipped at open are left out, captioned or not. Captions stay in memory. */
#ifndef CGAN_DATA_DATASET_H
#define CGAN_DATA_DATASET_H
#include <stdint.h>
#include "cgan/data.h"

#define CGAN_DATA_SKIP_KEEP 5   /* skipped files remembered for the report */

/* Why a file of an image folder was skipped at open. */
enum {
    CGAN_SKIP_DATA = 0,     /* not an image, or damaged image data */
    CGAN_SKIP_NOT_FILE,     /* a FIFO, socket or device with an image's name */
    CGAN_SKIP_LINK,         /* a link that loops or leads nowhere */
    CGAN_SKIP_UNREADABLE,   /* no permission, or another error reaching it */
    CGAN_SKIP_KINDS
};


#define CGAN_DATA_CAPTIONS "captions.tsv"

typedef struct cgan_dataset {
    int n, channels, size, num_classes;
    char **class_names;          /* num_classes strings */
    uint8_t *pixels;             /* in memory: n * channels * size * size, image i at
                                  * i*C*S*S, CHW; NULL when streamed */
    char *paths;                 /* streamed: the file of image i is paths + path_off[i] */
    size_t *path_off;            /* n offsets into paths; NULL when in memory */
    int *labels;                 /* n labels in [0, num_classes) */
    char **captions;             /* n captions when opened with opts.captions, else NULL */
    char *source;                /* the folder opened */
    const char *format;          /* "imagefolder", "idx" or "memory" */
    int skipped;                 /* files skipped at open */
    int skipped_kept;            /* entries used in skipped_examples */
    char *skipped_examples[CGAN_DATA_SKIP_KEEP];  /* "path: reason" */
    int skipped_by[CGAN_SKIP_KINDS];              /* skipped, by kind of reason */
} cgan_dataset;

/* Defaults: size 32, channels detected, all images, the train split. */
void cgan_data_opts_default(cgan_data_opts *opts);

/* Load a dataset (see the top of this file). opts may be NULL (defaults). Errors are
 * recorded on err_ctx (a context from cgan_ctx_new() needs no device) and name the file
 * or folder: CGAN_E_NOT_FOUND (missing path, no class folder, no image), CGAN_E_FORMAT
 * (malformed IDX, nothing decodable), CGAN_E_IO, CGAN_E_NOMEM, CGAN_E_INVALID (opts). */
cgan_status cgan_dataset_open(cgan_ctx *err_ctx, const char *path, const cgan_data_opts *opts,
                              cgan_dataset **out);

/* An empty in-memory dataset of n zero images with labels 0 and class names "0".."k-1"
 * (synthetic data, tests). */
cgan_status cgan_dataset_alloc(cgan_ctx *err_ctx, int n, int channels, int size,
                               int num_classes, cgan_dataset **out);

void cgan_dataset_destroy(cgan_dataset *ds);

/* Bytes of one image: channels * size * size. */
static inline size_t cgan_dataset_image_bytes(const cgan_dataset *ds)
{
    return (size_t)ds->channels * (size_t)ds->size * (size_t)ds->size;
}

/* Pixels of image i (CHW) of an in-memory dataset (ds->pixels != NULL) only; whatever the
 * mode, use cgan_dataset_read. */
static inline uint8_t *cgan_dataset_image(const cgan_dataset *ds, int i)
{
    return ds->pixels + (size_t)i * cgan_dataset_image_bytes(ds);
}

/* 1 when the images are read from disk on demand (ds->pixels is NULL). */
static inline int cgan_dataset_streamed(const cgan_dataset *ds)
{
    return ds->pixels == NULL && ds->paths != NULL;
}

/* The file of image i of a streamed dataset, else NULL. */
static inline const char *cgan_dataset_path(const cgan_dataset *ds, int i)
{
    return ds->path_off ? ds->paths + ds->path_off[i] : NULL;
}

/* Image i's pixels (cgan_dataset_image_bytes, CHW) into dst, whatever the mode: a copy, or
 * the file decoded (with a TurboJPEG handle made for the call, so threads may read the same
 * dataset at once). CGAN_E_INVALID for i out of range; a file that cannot be read or
 * decoded any more gives CGAN_E_IO or CGAN_E_FORMAT with a message naming it. */
cgan_status cgan_dataset_read(cgan_ctx *err_ctx, const cgan_dataset *ds, int i, uint8_t *dst);
#endif
