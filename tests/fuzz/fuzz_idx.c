/* The IDX reader, raw and gzip (src/data/idx.c through cgan_dataset_open).
 * Input: byte 0 picks the case, the rest is the file's content.
 *   bit 0: 0 = the images file train-images-idx3-ubyte[.gz] (labels made to match its
 *             count), 1 = the labels file train-labels-idx1-ubyte[.gz] (beside 4 valid
 *             images);
 *   bit 1: 1 = written with a .gz name (the content is read as gzip). */
#include <zlib.h>
#include "fuzz_util.h"
#include "data/dataset.h"

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int labels = data[0] & 1, gz = (data[0] >> 1) & 1;
    data++; size--;
    const char *names[4] = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                             "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" };
    for (int i = 0; i < 4; i++) unlink(fuzz_path(0, names[i]));
    const char *fuzzed = fuzz_path(0, names[labels + 2 * gz]);
    fuzz_write(fuzzed, data, size);

    /* The count in the fuzzed header (decompressed when gzip). */
    uint8_t hdr[8] = {0};
    if (gz) {
        gzFile g = gzopen(fuzzed, "rb");
        if (g) { if (gzread(g, hdr, 8) != 8) memset(hdr, 0, 8); gzclose(g); }
    } else if (size >= 8) {
        memcpy(hdr, data, 8);
    }
    uint32_t n = be32(hdr + 4);
    if (n > 4096) n = 4096;
    if (labels) {
        static uint8_t px[4 * 28 * 28];
        int dims[3] = { 4, 28, 28 };
        fuzz_write_idx(fuzz_path(1, names[0]), 3, dims, px, sizeof px);
    } else {
        static uint8_t lab[4096];
        int dims[1] = { (int)n };
        for (uint32_t i = 0; i < n; i++) lab[i] = (uint8_t)(i % 10);
        fuzz_write_idx(fuzz_path(1, names[1]), 1, dims, lab, n);
    }

    cgan_data_opts opts;
    cgan_data_opts_default(&opts);
    cgan_dataset *ds = NULL;
    if (cgan_dataset_open(fuzz_ctx(), fuzz_tmpdir(), &opts, &ds) == CGAN_OK)
        cgan_dataset_destroy(ds);
    return 0;
}
