/* cgan/eval.h: measuring a generator: a feature network trained by the engine itself, and
 * FID, KID, precision/recall and conditional accuracy in its feature space.
 *
 * ---- The feature network. A small CNN classifier trained on the labelled training data
 * with this library's own graph, executor and Adam (nothing is downloaded): stride-2
 * 4x4 convolutions with BatchNorm + ReLU from the image side S down to 4x4 (widths 32, 64,
 * 128, 128, ...), a linear layer to CGAN_FEATNET_DIM features with BatchNorm + ReLU (the
 * feature space: the penultimate layer), dropout, and a linear layer to the class logits.
 * Trained with softmax cross-entropy, Adam (lr 2e-3, betas 0.9/0.999) under a cosine
 * schedule. Its test accuracy is measured on the test split and stored with it.
 *
 * It is stored as safetensors: tensors "F.<layer>.<role>" in NCHW shapes, metadata
 * "format" = "cgan-cl-features", "format_version", "size", "channels", "num_classes",
 * "widths" (the conv widths, "32,64,128"), "dim", "classes" (JSON), "data_hash",
 * "test_accuracy", "epochs", "train_images".
 *
 * The cache: cgan_featnet_obtain looks for "<cache>/features-<key>.safetensors", where
 * <cache> is the kernel cache's folder ($CGAN_CACHE_DIR, else $XDG_CACHE_HOME/cgan-cl,
 * else ~/.cache/cgan-cl) and <key> a 64-bit hash of every training image's pixels and
 * label, the image size and channels, the class count and the training settings: other
 * data, other key. A file there that does not open or does not match is trained anew.
 *
 * ---- The metrics (host code, double precision), on features [n, d] row-major:
 *  - FID: |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2), covariances with n - 1, the
 *    trace of the square root from two symmetric eigendecompositions (LAPACK dsyevd):
 *    tr sqrt(S1 S2) = sum sqrt(max(0, eig(sqrt(S1) S2 sqrt(S1)))).
 *  - KID: the unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3, averaged over
 *    `subsets` random subsets of `subset_size` of each set; mean and standard deviation.
 *  - Precision and recall (Kynkaenniemi et al. 2019): the real manifold is the union of
 *    balls around each real feature with the distance to its k-th nearest real neighbour
 *    as radius; precision is the share of generated features inside it. Recall swaps the
 *    roles.
 *
 * ---- The evaluator: a feature network, the held-out real images (the test split when
 * the data has one, else the training images), and fixed settings (n, seed). Real sets A
 * and B are two disjoint random draws of n test images; generated images (n, class
 * i mod K for image i, noise slot i of the seed) are compared with A, and A with B gives
 * the floor: what two real samples of that size score. FID depends on n: compare figures
 * at the same n, and read them against the floor. */
#ifndef CGAN_API_EVAL_H
#define CGAN_API_EVAL_H
#include <stdint.h>
#include "cgan/data.h"
#include "cgan/generate.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CGAN_FEATNET_DIM 128       /* features of the built-in feature network */
#define CGAN_EVAL_DEFAULT_N 5000  /* eval's n: half the real set, at most this many */
#define CGAN_EVAL_TRAIN_N 1000    /* train --eval-every's n */
#define CGAN_EVAL_K 3              /* neighbours for precision and recall */

/* ---- the feature network -------------------------------------------------------- */

typedef struct cgan_featnet cgan_featnet;

typedef struct cgan_featnet_opts {
    int epochs;        /* passes over the training data (default 3) */
    int batch;         /* default 100 */
    float lr;          /* peak learning rate (default 2e-3) */
    uint64_t seed;     /* initialisation, shuffling and dropout (default 1) */
} cgan_featnet_opts;

CGAN_API void cgan_featnet_opts_default(cgan_featnet_opts *o);

/* A progress line (training, cache hits, test accuracy). */
typedef void (*cgan_eval_message)(void *user, const char *line);

/* Train a feature network on train (labelled; at its size and channels), and measure its
 * accuracy on test (may be NULL: none measured). */
CGAN_API cgan_status cgan_featnet_train(cgan_ctx *ctx, const cgan_dataset *train, const cgan_dataset *test,
                                        const cgan_featnet_opts *o, cgan_eval_message msg, void *user,
                                        cgan_featnet **out);
/* Save (atomically) and load. A file that is not a feature network, or is damaged, is
 * CGAN_E_FORMAT naming it. */
CGAN_API cgan_status cgan_featnet_save(cgan_featnet *f, const char *path);
CGAN_API cgan_status cgan_featnet_load(cgan_ctx *ctx, const char *path, cgan_featnet **out);
CGAN_API void cgan_featnet_destroy(cgan_featnet *f);

/* The key of the cache for train and o (see above), and the cache file's path for it
 * ("" when the cache is disabled: CGAN_CACHE_DISABLE=1). */
CGAN_API cgan_status cgan_featnet_key(cgan_ctx *ctx, const cgan_dataset *train, const cgan_featnet_opts *o,
                                      uint64_t *key);
CGAN_API cgan_status cgan_featnet_cache_path(cgan_ctx *ctx, uint64_t key, char *buf, size_t n);
/* A feature network for train: from `file` when not NULL (checked against the data's
 * size, channels and classes), else from the cache, else trained (and its test accuracy
 * measured on test) and stored in the cache. *trained says which. */
CGAN_API cgan_status cgan_featnet_obtain(cgan_ctx *ctx, const cgan_dataset *train, const cgan_dataset *test,
                                         const char *file, const cgan_featnet_opts *o, cgan_eval_message msg,
                                         void *user, int *trained, cgan_featnet **out);

CGAN_API int cgan_featnet_size(const cgan_featnet *f);
CGAN_API int cgan_featnet_channels(const cgan_featnet *f);
CGAN_API int cgan_featnet_num_classes(const cgan_featnet *f);
CGAN_API int cgan_featnet_dim(const cgan_featnet *f);
/* The test accuracy stored with it (0..1), -1 when none was measured. */
CGAN_API double cgan_featnet_test_accuracy(const cgan_featnet *f);
/* Seconds its training took (0 for a loaded one). */
CGAN_API double cgan_featnet_train_seconds(const cgan_featnet *f);
/* Features [n, dim] and/or class logits [n, num_classes] (either may be NULL) of n images
 * [n, channels, size, size] in [-1, 1]. */
CGAN_API cgan_status cgan_featnet_run(cgan_featnet *f, const float *images, int n, float *features,
                                      float *logits);
/* Accuracy (0..1) on a labelled dataset of the network's size and channels. */
CGAN_API cgan_status cgan_featnet_accuracy(cgan_featnet *f, const cgan_dataset *ds, double *acc);

/* ---- metrics on features [n, d] (row-major) ------------------------------------- */

CGAN_API cgan_status cgan_fid(cgan_ctx *ctx, const float *a, int na, const float *b, int nb, int d, double *fid);
CGAN_API cgan_status cgan_kid(cgan_ctx *ctx, const float *a, int na, const float *b, int nb, int d, int subsets,
                              int subset_size, uint64_t seed, double *mean, double *std);
/* Precision of `fake` against the manifold of `real`, recall the other way, k >= 1. */
CGAN_API cgan_status cgan_precision_recall(cgan_ctx *ctx, const float *real, int nr, const float *fake, int nf,
                                           int d, int k, double *precision, double *recall);

/* ---- the evaluator --------------------------------------------------------------- */

typedef struct cgan_eval_opts {
    const char *data;        /* the training data (NULL: Fashion-MNIST) */
    const char *features;    /* a feature network file to use instead of the cache */
    int size, channels;      /* the generator's image side and channels */
    int n;                   /* generated images, and real images per real set; 0 (the
                              * default): half the real set, at most CGAN_EVAL_DEFAULT_N,
                              * so that the floor's two real sets are disjoint */
    uint64_t seed;           /* noise and real draws (0) */
    int kid_subsets;         /* 100 */
    cgan_featnet_opts featnet;
} cgan_eval_opts;

CGAN_API void cgan_eval_opts_default(cgan_eval_opts *o);

typedef struct cgan_eval_result {
    int n, floor_n, num_classes;  /* num_classes 0: unconditional (no per-class figures) */
    double fid, kid, kid_std, precision, recall;
    double fid_floor, kid_floor, kid_floor_std, precision_floor, recall_floor;
    double cond_acc;              /* generated images classified as asked; NAN unconditional */
    double *class_acc, *class_fid;/* num_classes each (owned; cgan_eval_result_free) */
    double real_acc;              /* the feature network on real set A: the ceiling */
    double seconds;               /* wall time of this evaluation */
} cgan_eval_result;

CGAN_API void cgan_eval_result_free(cgan_eval_result *r);

typedef struct cgan_evaluator cgan_evaluator;

/* Open the data (training and test splits at size and channels), obtain the feature
 * network (cgan_featnet_obtain), draw the real sets and compute their features and the
 * floor. */
CGAN_API cgan_status cgan_evaluator_create(cgan_ctx *ctx, const cgan_eval_opts *o, cgan_eval_message msg,
                                           void *user, cgan_evaluator **out);
CGAN_API void cgan_evaluator_destroy(cgan_evaluator *e);
CGAN_API cgan_featnet *cgan_evaluator_featnet(cgan_evaluator *e);
/* The training data's class names (num_classes of them). */
CGAN_API int cgan_evaluator_num_classes(const cgan_evaluator *e);
/* Images per evaluation: opts.n, or what its default 0 chose for the data. */
CGAN_API int cgan_evaluator_n(const cgan_evaluator *e);
CGAN_API char *const *cgan_evaluator_class_names(const cgan_evaluator *e);
/* Evaluate what a sampler generates (the caller loaded its weights): num_classes 0 for an
 * unconditional model, else the data's class count. Only the sampler's output changes:
 * no random state of the caller is touched. */
CGAN_API cgan_status cgan_evaluator_run(cgan_evaluator *e, cgan_sampler *s, int num_classes,
                                        cgan_eval_result *r);
/* Evaluate a checkpoint file (its EMA weights when it has them, as `generate`, or as w). */
CGAN_API cgan_status cgan_evaluator_checkpoint(cgan_evaluator *e, const char *path, cgan_gen_weights w,
                                               cgan_eval_result *r);

/* Score a labelled image set as if it were generated (images of another generator, e.g. a
 * PyTorch peer's, or `generate --out-dir` output): an image folder (one subfolder per class)
 * or an IDX set at path, read at the feature network's size and channels as training data
 * is. Its classes are matched to the data's by name (as cgan_class_filename makes them,
 * ignoring case); image i of the n is of class i % K, each class's images taken in an order
 * drawn from the seed, so every class needs n / K (rounded up) images. */
CGAN_API cgan_status cgan_evaluator_images(cgan_evaluator *e, const char *path, cgan_eval_result *r);

/* A run folder: every checkpoints/step_N.safetensors in step order; cb (may be NULL) gets
 * each result. Writes RUNDIR/eval.csv (step, checkpoint, cgan_eval_csv_header's columns)
 * and RUNDIR/eval.png (FID and its floor against steps). *count: checkpoints evaluated. */
typedef void (*cgan_eval_each)(void *user, int64_t step, const char *path, const cgan_eval_result *r);
CGAN_API cgan_status cgan_evaluator_run_folder(cgan_evaluator *e, const char *rundir, cgan_gen_weights w,
                                               cgan_eval_each cb, void *user, int *count);

/* ---- reports ---------------------------------------------------------------------- */

/* The result as a JSON object (malloc'ed text); classes may be NULL. */
CGAN_API char *cgan_eval_result_json(const cgan_eval_result *r, char *const *classes);
/* A PNG bar chart: per-class conditional accuracy (and per-class FID). */
CGAN_API cgan_status cgan_eval_plot_classes(cgan_ctx *ctx, const char *path, const cgan_eval_result *r,
                                            char *const *classes);
/* The CSV columns of a result ("fid,fid_floor,kid,...") and its values in that order. */
CGAN_API const char *cgan_eval_csv_header(void);
CGAN_API void cgan_eval_csv_row(const cgan_eval_result *r, char *buf, size_t n);
/* A curve PNG of FID (and its floor) against steps. */
CGAN_API cgan_status cgan_eval_plot_curve(cgan_ctx *ctx, const char *path, const double *steps,
                                          const double *fid, const double *floor, int n);

#ifdef __cplusplus
}
#endif
#endif /* CGAN_API_EVAL_H */
