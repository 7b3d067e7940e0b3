/* The model description parser (cgan_model_parse, src/gan/model_desc.c). */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_str(data, size);
    cgan_model_head head;
    (void)cgan_model_parse(fuzz_ctx(), s, "fuzz.json", &head);
    free(s);
    return 0;
}
