/* Datasets held in host memory: every image decoded once, resized and centre-cropped to
 * S x S, stored as uint8 CHW, with an integer label and the class names.
 *
 * Sources (cgan_dataset_open):
 *  - an ImageFolder: one subfolder per class (class names = subfolder names in byte
 *    order, hidden folders ignored, folders without image files ignored), files *.jpg,
 *    *.jpeg, *.png in any letter case. Files are decoded by content (JPEG or PNG magic),
 *    not by extension. Files that cannot be decoded are skipped and counted.
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
 * Images that cannot be decoded are skipped as usual, captioned or not. */
#ifndef CGAN_DATA_DATASET_H
#define CGAN_DATA_DATASET_H
#include <stdint.h>
#include "cgan/data.h"

#define CGAN_DATA_SKIP_KEEP 5   /* skipped files remembered for the report */


#define CGAN_DATA_CAPTIONS "captions.tsv"

typedef struct cgan_dataset {
    int n, channels, size, num_classes;
    char **class_names;          /* num_classes strings */
    uint8_t *pixels;             /* n * channels * size * size, image i at i*C*S*S, CHW */
    int *labels;                 /* n labels in [0, num_classes) */
    char **captions;             /* n captions when opened with opts.captions, else NULL */
    char *source;                /* the folder opened */
    const char *format;          /* "imagefolder", "idx" or "memory" */
    int skipped;                 /* files that could not be decoded */
    int skipped_kept;            /* entries used in skipped_examples */
    char *skipped_examples[CGAN_DATA_SKIP_KEEP];  /* "path: reason" */
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

/* Pixels of image i (channels * size * size bytes, CHW). */
static inline uint8_t *cgan_dataset_image(const cgan_dataset *ds, int i)
{
    return ds->pixels + (size_t)i * (size_t)ds->channels * (size_t)ds->size * (size_t)ds->size;
}
#endif
