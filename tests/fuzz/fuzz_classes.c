/* classes.txt beside a small valid IDX pair (3 images, labels 0..2). */
#include "fuzz_util.h"
#include "data/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        static uint8_t px[3 * 28 * 28];
        uint8_t lab[3] = { 0, 1, 2 };
        int di[3] = { 3, 28, 28 }, dl[1] = { 3 };
        fuzz_write_idx(fuzz_path(0, "train-images-idx3-ubyte"), 3, di, px, sizeof px);
        fuzz_write_idx(fuzz_path(0, "train-labels-idx1-ubyte"), 1, dl, lab, sizeof lab);
        ready = 1;
    }
    fuzz_write(fuzz_path(0, "classes.txt"), data, size);
    cgan_data_opts opts;
    cgan_data_opts_default(&opts);
    cgan_dataset *ds = NULL;
    if (cgan_dataset_open(fuzz_ctx(), fuzz_tmpdir(), &opts, &ds) == CGAN_OK)
        cgan_dataset_destroy(ds);
    return 0;
}
