/* captions.tsv of an image folder holding one tiny PNG (cat/a.png), opened with captions. */
#include "fuzz_util.h"
#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        mkdir(fuzz_path(0, "cat"), 0700);
        fuzz_write(fuzz_path(0, "cat/a.png"), fuzz_tiny_png, sizeof fuzz_tiny_png);
        ready = 1;
    }
    fuzz_write(fuzz_path(0, "captions.tsv"), data, size);
    cgan_data_opts opts;
    cgan_data_opts_default(&opts);
    opts.captions = 1;
    opts.size = 8;
    cgan_dataset *ds = NULL;
    if (cgan_dataset_open(fuzz_ctx(), fuzz_tmpdir(), &opts, &ds) == CGAN_OK)
        cgan_dataset_destroy(ds);
    return 0;
}
