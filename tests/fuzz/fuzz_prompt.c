/* Prompt parsing: cgan_prompt_match against the Fashion-MNIST names with aliases, and the
 * text models' encoder cgan_vocab_prompt with a small vocabulary. */
#include "fuzz_util.h"
#include "gan/prompt.h"
#include "gan/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *classes[] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                               "Shirt", "Sneaker", "Bag", "Ankle boot" };
    static const char *aliases[] = { "tee", "T-shirt/top", "trainers", "Sneaker", NULL };
    static cgan_vocab v;
    static int ready;
    cgan_ctx *ctx = fuzz_ctx();
    if (!ready) {
        static char *caps[] = { "a small red circle", "a big blue square", "two green triangles" };
        if (cgan_vocab_build(ctx, caps, 3, 8, &v) != CGAN_OK) abort();
        ready = 1;
    }
    char *s = fuzz_str(data, size);
    int cls = -1;
    (void)cgan_prompt_match(ctx, s, classes, 10, aliases, &cls);
    if (cls >= 10) abort();
    float ids[8];
    char unknown[64];
    (void)cgan_vocab_prompt(ctx, &v, s, ids, 8, unknown, sizeof unknown);
    char list[32];
    cgan_class_list(classes, 10, list, sizeof list);
    free(s);
    return 0;
}
