/* Pieces shared by the dataset sources in src/data (not for use outside it). */
#ifndef CGAN_DATA_INTERNAL_H
#define CGAN_DATA_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "dataset.h"

/* "dir/name", malloc'ed; NULL when out of memory. */
char *cgan_data_join(const char *dir, const char *name);

/* Grow ds->pixels and ds->labels so that they hold `need` images of ds->channels x
 * ds->size x ds->size; *cap is the current capacity in images. */
cgan_status cgan_data_reserve(cgan_ctx *ctx, cgan_dataset *ds, int need, int *cap);

/* Set ds->class_names to a copy of names[0..k). */
/* 1 when s is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), as JSON text, and so checkpoints, need it. */
int cgan_utf8_valid(const char *s);
/* Fails (CGAN_E_FORMAT, naming the class) when a name is not valid UTF-8. */
cgan_status cgan_data_set_names(cgan_ctx *ctx, cgan_dataset *ds, const char *const *names, int k);

/* The IDX pair of `split` ("train" or "test") in dir, raw or .gz, with dashes or a dot
 * before "idx" (train-images-idx3-ubyte, train-images.idx3-ubyte). CGAN_OK and two
 * malloc'ed paths when both exist, else CGAN_E_NOT_FOUND without a message. */
cgan_status cgan_idx_find(const char *dir, const char *split, char **images, char **labels);

/* Read the pair into ds (whose size, channels and max from opts are already resolved);
 * `fashion` selects the Fashion-MNIST class names when there is no classes.txt. */
cgan_status cgan_idx_load(cgan_ctx *ctx, const char *dir, const char *images,
                          const char *labels, int max_images, int fashion, cgan_dataset *ds);

/* captions.tsv (captions.c): entries sorted by path. */
typedef struct cgan_caption {
    char *path, *text;   /* relative image path, caption (trimmed) */
    int line;            /* line number in the file */
    int used;            /* matched an image of the folder */
} cgan_caption;
typedef struct cgan_captions {
    cgan_caption *e;
    int n;
    char *file;          /* DIR/captions.tsv */
} cgan_captions;
/* Parse DIR/captions.tsv; errors name the file and the line. */
cgan_status cgan_captions_read(cgan_ctx *ctx, const char *dir, cgan_captions *t);
/* The entry of a relative path (marked used), or -1. */
int cgan_captions_find(cgan_captions *t, const char *rel);
/* CGAN_E_FORMAT naming the first line whose image is not in the folder. */
cgan_status cgan_captions_check_used(cgan_ctx *ctx, const cgan_captions *t, const char *dir);
void cgan_captions_free(cgan_captions *t);

/* Read an ImageFolder into ds (size set; opts resolved): list it, skip and record bad
 * files, detect channels when opts->channels is 0. With opts->cache_decoded every image is
 * decoded into ds->pixels; otherwise only the headers are checked and ds->paths keeps the
 * files for cgan_dataset_read. */
cgan_status cgan_folder_load(cgan_ctx *ctx, const char *dir, const cgan_data_opts *opts,
                             cgan_dataset *ds);

/* decode.c: reading image files. A decoder belongs to one thread at a time: it holds its
 * own TurboJPEG handle, a file buffer it reuses, and the context its messages go to. */
typedef struct cgan_decoder {
    cgan_ctx *ctx;       /* messages ("path: reason") */
    int own_ctx;
    void *tj;            /* tjhandle */
    uint8_t *buf;        /* file bytes */
    size_t cap;
} cgan_decoder;

/* ctx receives the messages; NULL: the decoder makes a context of its own. CGAN_E_NOMEM
 * leaves a decoder that still works (slower, or failing each file with a message). */
cgan_status cgan_decoder_init(cgan_decoder *d, cgan_ctx *ctx);
void cgan_decoder_free(cgan_decoder *d);
/* The header check of a scan (cgan_image_probe on the start of the file): *channels 1 or 3. */
cgan_status cgan_decoder_probe(cgan_decoder *d, const char *path, int size, int *channels);
/* Read, decode and fit the file to channels x size x size CHW bytes in out (as
 * cgan_image_decode, then cgan_image_fit); *src_channels (may be NULL) gets the file's own
 * channel count (1 or 3). */
cgan_status cgan_decoder_load(cgan_decoder *d, const char *path, int size, int channels, uint8_t *out,
                              int *src_channels);
/* fn(d, user, i) for every i in [0, count), on up to one thread per CPU (at most 16, and
 * one per 8 items; the caller is one of them), each with a decoder of its own. The order
 * of the calls is not defined: fn writes to slots of its own. */
cgan_status cgan_decoder_parallel(cgan_ctx *ctx, int count, void (*fn)(cgan_decoder *d, void *user, int i),
                                  void *user);
#endif
