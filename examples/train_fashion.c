/* train_fashion.c: a conditional DCGAN (32x32) trained on Fashion-MNIST for N steps with
 * libcgan's trainer, then saved as a checkpoint that `cgan-cl generate` and sample.c read.
 *
 *   train_fashion [STEPS [OUT.safetensors [DATA_DIR]]]   (default 200 steps) */
#include <stdio.h>
#include <stdlib.h>
#include <cgan/cgan.h>

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 200, rc = 1;
    const char *out = argc > 2 ? argv[2] : "fashion.safetensors", *data = argc > 3 ? argv[3] : NULL;
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_dataset *ds = NULL;
    cgan_loader *ld = NULL;
    cgan_trainer *tr = NULL;
    cgan_train_cfg cfg = cgan_train_defaults();          /* 32x32, concat conditioning */
    float *x = NULL, *y = NULL, row[CGAN_LOG_FIELDS];
    int64_t at;
    int n;
    if (!ctx || cgan_ctx_open(ctx, NULL) || cgan_dataset_open(ctx, data, NULL, &ds)) goto out;
    cfg.model.nc = cgan_dataset_channels(ds);
    cfg.model.num_classes = cgan_dataset_num_classes(ds);
    const int B = cfg.model.batch, S = cgan_dataset_size(ds);
    x = malloc(sizeof(float) * B * cfg.model.nc * S * S);
    y = malloc(sizeof(float) * B);
    if (!x || !y || cgan_trainer_create(ctx, &cfg, &tr) || cgan_loader_create(ctx, ds, B, cfg.seed, 0, &ld))
        goto out;
    for (int s = 1; s <= steps; s++) {
        if (cgan_loader_next(ld, x, y, NULL) || cgan_trainer_step(tr, x, y)) goto out;
        if ((s % 50 == 0 || s == steps) && cgan_trainer_read_log(tr, row, &at, 1, &n) == CGAN_OK && n == 1)
            printf("step %d  loss_d %.3f  loss_g %.3f  D(x) %.2f  D(G(z)) %.2f\n", s,
                   row[CGAN_LOG_LOSS_D_REAL] + row[CGAN_LOG_LOSS_D_FAKE], row[CGAN_LOG_LOSS_G],
                   row[CGAN_LOG_D_X], row[CGAN_LOG_D_GZ]);
    }
    if (cgan_checkpoint_save(tr, out, cgan_dataset_class_names(ds), cfg.model.num_classes, NULL, 0)) goto out;
    printf("saved %s\n", out);
    rc = 0;
out:
    if (rc) fprintf(stderr, "train_fashion: %s\n", ctx ? cgan_last_error(ctx) : "out of memory");
    cgan_loader_destroy(ld);
    cgan_trainer_destroy(tr);
    cgan_dataset_destroy(ds);
    cgan_ctx_destroy(ctx);
    free(x);
    free(y);
    return rc;
}
