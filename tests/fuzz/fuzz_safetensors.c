/* The safetensors reader (cgan_st_open, with and without CRC checks) and the checkpoint
 * metadata validation (cgan_checkpoint_config, cgan_checkpoint_classes, and the model
 * description it holds) on the input written as a file. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cgan_ctx *ctx = fuzz_ctx();
    const char *path = fuzz_path(0, "ckpt.safetensors");
    fuzz_write(path, data, size);
    cgan_st_file *f = NULL;
    if (cgan_st_open(ctx, path, &f) == CGAN_OK) cgan_st_close(f);
    f = NULL;
    if (cgan_st_open_ex(ctx, path, CGAN_ST_OPEN_NO_CRC, &f) != CGAN_OK) return 0;
    int checked = 0;
    (void)cgan_st_verify(ctx, f, &checked);
    cgan_train_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    if (cgan_checkpoint_config(ctx, f, &cfg) == CGAN_OK) {
        char *j = cgan_train_cfg_json(&cfg);
        free(j);
        if (cfg.model.desc) (void)cgan_model_parse(ctx, cfg.model.desc, path, NULL);
    }
    char **names = NULL;
    int count = 0;
    if (cgan_checkpoint_classes(ctx, f, &names, &count) == CGAN_OK) cgan_free_strings(names, count);
    cgan_st_close(f);
    return 0;
}
