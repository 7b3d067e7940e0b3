/* sample.c: a checkpoint and a prompt in, a PNG out.
 *
 *   sample CHECKPOINT "a pair of ankle boots" OUT.png [N [SEED]]
 *
 * The prompt picks a class by its name (or, for a text-conditioned model, goes through the
 * model's text encoder); the PNG is one row of N images (default 8). */
#include <stdio.h>
#include <stdlib.h>
#include <cgan/cgan.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sample CHECKPOINT PROMPT OUT.png [N [SEED]]\n");
        return 2;
    }
    int rc = 1, cls = 0;
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_gen *g = NULL;
    if (!ctx || cgan_gen_open(ctx, argv[1], &g)) goto out;        /* reads and checks the file */
    if (cgan_gen_num_classes(g) > 0 || cgan_gen_is_text(g)) {
        if (cgan_gen_prompt(g, argv[2], &cls)) goto out;
    }
    cgan_gen_job job = { .layout = CGAN_GEN_GRID, .path = argv[3], .classes = &cls, .nclasses = 1,
                         .per_class = argc > 4 ? atoi(argv[4]) : 8,
                         .seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 0 };
    if (cgan_gen_prepare(g, &job) || cgan_ctx_open(ctx, NULL) || cgan_gen_load(g, CGAN_GEN_AUTO, 64) ||
        cgan_gen_run(g, NULL, NULL))
        goto out;
    printf("wrote %s: %d images of \"%s\"\n", argv[3], (int)cgan_gen_total(g),
           cgan_gen_num_classes(g) > 0 ? cgan_gen_classes(g)[cls] : argv[2]);
    rc = 0;
out:
    if (rc) fprintf(stderr, "sample: %s\n", ctx ? cgan_last_error(ctx) : "out of memory");
    cgan_gen_close(g);
    cgan_ctx_destroy(ctx);
    return rc;
}
