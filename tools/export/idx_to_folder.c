/* idx-to-folder: write an IDX set (or any dataset cgan-cl opens) as an image folder of
 * JPEGs, one subfolder per class, the way users bring their own images. It reads through
 * libcgan's public API (the dataset's own resize) and writes with TurboJPEG.
 *
 *   tools/idx-to-folder OUT [--data DIR] [--split train|test] [--per-class N] [--size S]
 *
 * Defaults: Debian's Fashion-MNIST, the train split, every image, 64x64. Folder names are
 * the class names made file-safe ("T-shirt/top" -> "T-shirt_top"). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <cgan/cgan.h>

static int usage(void)
{
    fprintf(stderr, "usage: idx-to-folder OUT [--data DIR] [--split train|test] [--per-class N] [--size S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = { { "data", required_argument, 0, 'd' }, { "split", required_argument, 0, 's' },
                                          { "per-class", required_argument, 0, 'n' }, { "size", required_argument, 0, 'S' },
                                          { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    const char *data = NULL, *split = NULL;
    int per = 0, size = 64, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd') data = optarg;
        else if (c == 's') split = optarg;
        else if (c == 'n') per = atoi(optarg);
        else if (c == 'S') size = atoi(optarg);
        else return usage();
    }
    if (optind + 1 != argc || per < 0 || size < 8 || size > 1024) return usage();
    const char *out = argv[optind];
    int rc = 1, k = 0, *count = NULL;
    cgan_ctx *ctx = cgan_ctx_new();
    cgan_dataset *ds = NULL;
    uint8_t *px = NULL;
    tjhandle tj = tjInitCompress();
    cgan_data_opts o;
    cgan_data_opts_default(&o);
    o.size = size;
    o.split = split;
    o.cache_decoded = 1;
    if (!ctx || !tj || cgan_dataset_open(ctx, data, &o, &ds)) {
        fprintf(stderr, "idx-to-folder: %s\n", ctx ? cgan_last_error(ctx) : "out of memory");
        goto done;
    }
    k = cgan_dataset_num_classes(ds);
    const int ch = cgan_dataset_channels(ds);
    char path[4096], name[1024];
    count = calloc((size_t)k, sizeof *count);
    px = malloc(cgan_dataset_image_size_bytes(ds) * 2);
    if (!count || !px || (mkdir(out, 0755) != 0 && errno != EEXIST)) {
        fprintf(stderr, "idx-to-folder: %s: %s\n", out, count && px ? strerror(errno) : "out of memory");
        goto done;
    }
    for (int i = 0; i < k; i++) {
        cgan_class_filename(cgan_dataset_class_names(ds)[i], name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", out, name);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "idx-to-folder: %s: %s\n", path, strerror(errno));
            goto done;
        }
    }
    uint8_t *hwc = px + cgan_dataset_image_size_bytes(ds);
    for (int i = 0; i < cgan_dataset_count(ds); i++) {
        int label = cgan_dataset_label(ds, i);
        if (per && count[label] >= per) continue;
        if (cgan_dataset_read(ctx, ds, i, px)) {
            fprintf(stderr, "idx-to-folder: %s\n", cgan_last_error(ctx));
            goto done;
        }
        for (int p = 0; p < size * size; p++) /* CHW to interleaved */
            for (int q = 0; q < ch; q++) hwc[p * ch + q] = px[(size_t)q * size * size + p];
        unsigned char *jpg = NULL;
        unsigned long len = 0;
        if (tjCompress2(tj, hwc, size, 0, size, ch == 1 ? TJPF_GRAY : TJPF_RGB, &jpg, &len,
                        ch == 1 ? TJSAMP_GRAY : TJSAMP_420, 90, 0) != 0) {
            fprintf(stderr, "idx-to-folder: JPEG: %s\n", tjGetErrorStr2(tj));
            goto done;
        }
        cgan_class_filename(cgan_dataset_class_names(ds)[label], name, sizeof name);
        snprintf(path, sizeof path, "%s/%s/%05d.jpg", out, name, count[label]++);
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(jpg, 1, len, f) == len;
        if (f && fclose(f) != 0) ok = 0;
        tjFree(jpg);
        if (!ok) {
            fprintf(stderr, "idx-to-folder: %s: %s\n", path, strerror(errno));
            goto done;
        }
    }
    for (int i = 0; i < k; i++) printf("%s: %d images\n", cgan_dataset_class_names(ds)[i], count[i]);
    rc = 0;
done:
    if (tj) tjDestroy(tj);
    free(px);
    free(count);
    cgan_dataset_destroy(ds);
    cgan_ctx_destroy(ctx);
    return rc;
}
