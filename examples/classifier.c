/* classifier.c: a small CNN trained on Fashion-MNIST with libcgan's graph, executor and
 * Adam, then scored on the test set. The engine is not GAN-only.
 *
 *   classifier [DATA_DIR [EPOCHS]]      (default: Debian's Fashion-MNIST, 1 epoch)
 *
 * Prints the test accuracy; exits 0 when it is at least 85%. */
#include <stdio.h>
#include <stdlib.h>
#include <cgan/cgan.h>

#define B 50          /* batch: 60000 and 10000 are multiples of it */
#define K 10

/* conv 4x4/2 -> BN+ReLU -> conv 4x4/2 -> BN+ReLU -> linear -> logits [B,K,1,1] */
static int build(cgan_graph *g, int x)
{
    x = cgan_nn_conv2d(g, "conv1", x, 32, 4, 2, 1, 0);             /* 28 -> 14 */
    x = cgan_nn_batchnorm_act(g, "bn1", x, CGAN_ACT_RELU, 0.f);
    x = cgan_nn_conv2d(g, "conv2", x, 64, 4, 2, 1, 0);             /* 14 -> 7 */
    x = cgan_nn_batchnorm_act(g, "bn2", x, CGAN_ACT_RELU, 0.f);
    return cgan_nn_linear(g, "fc", x, K, 1);
}

int main(int argc, char **argv)
{
    const char *data = argc > 1 ? argv[1] : NULL;
    int epochs = argc > 2 ? atoi(argv[2]) : 1, rc = 1;
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_dataset *train = NULL, *test = NULL;
    cgan_loader *ld = NULL;
    cgan_graph *g = NULL;
    cgan_optimizer *adam = NULL;
    float x[B * 28 * 28], y[B], logits[B * K], loss = 0;
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.size = 28;
    o.channels = 1;
    if (!ctx || cgan_ctx_open(ctx, NULL) || cgan_dataset_open(ctx, data, &o, &train)) goto out;
    o.split = "test";
    if (cgan_dataset_open(ctx, data, &o, &test)) goto out;

    g = cgan_graph_new(ctx, "C");
    int in = cgan_graph_input(g, "x", cgan_shape4(B, 1, 28, 28));
    int lab = cgan_graph_input_labels(g, "y", B, K);
    int out = build(g, in);
    int ce = cgan_nn_loss_softmax_ce(g, "loss", out, lab);
    cgan_adam_cfg a = cgan_adam_defaults();
    a.lr = 2e-3f;
    a.beta1 = 0.9f;
    if (cgan_graph_status(g) || cgan_graph_plan(g, CGAN_MODE_TRAIN, 1) || cgan_adam_create(g, &a, &adam) ||
        cgan_loader_create(ctx, train, B, 1, 0, &ld))
        goto out;

    int steps = epochs * cgan_loader_batches_per_epoch(ld);
    for (int s = 1; s <= steps; s++) {
        if (cgan_loader_next(ld, x, y, NULL) || cgan_graph_write(g, in, x) || cgan_graph_write(g, lab, y) ||
            cgan_graph_zero_grad(g) || cgan_graph_forward(g, 1, (uint64_t)s) ||
            cgan_graph_backward(g, ce, CGAN_GRAD_PARAMS) || cgan_optimizer_step(adam))
            goto out;
        if (s % 200 == 0 || s == steps) {
            if (cgan_graph_read(g, ce, &loss)) goto out;
            printf("step %d/%d  loss %.4f\n", s, steps, loss);
        }
    }

    /* the test set in order, batch statistics off (running means) */
    cgan_loader_destroy(ld);
    ld = NULL;
    if (cgan_loader_create(ctx, test, B, 1, 0, &ld)) goto out;
    int right = 0, seen = 0;
    for (int b = 0; b < cgan_loader_batches_per_epoch(ld); b++) {
        if (cgan_loader_next(ld, x, y, NULL) || cgan_graph_write(g, in, x) || cgan_graph_forward(g, 0, 0) ||
            cgan_graph_read(g, out, logits))
            goto out;
        for (int i = 0; i < B; i++, seen++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                if (logits[i * K + k] > logits[i * K + best]) best = k;
            right += best == (int)y[i];
        }
    }
    double acc = 100.0 * right / seen;
    printf("test accuracy: %.2f%% (%d of %d)\n", acc, right, seen);
    rc = acc >= 85.0 ? 0 : 2;
out:
    if (rc == 1) fprintf(stderr, "classifier: %s\n", ctx ? cgan_last_error(ctx) : "out of memory");
    cgan_loader_destroy(ld);
    cgan_optimizer_destroy(adam);
    cgan_graph_destroy(g);
    cgan_dataset_destroy(test);
    cgan_dataset_destroy(train);
    cgan_ctx_destroy(ctx);
    return rc;
}
