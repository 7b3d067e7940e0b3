/* The dataset's public accessors (cgan/data.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "dataset.h"
#include "loader.h"

int cgan_dataset_count(const cgan_dataset *ds) { return ds ? ds->n : 0; }
int cgan_dataset_channels(const cgan_dataset *ds) { return ds ? ds->channels : 0; }
int cgan_dataset_size(const cgan_dataset *ds) { return ds ? ds->size : 0; }
int cgan_dataset_num_classes(const cgan_dataset *ds) { return ds ? ds->num_classes : 0; }
char *const *cgan_dataset_class_names(const cgan_dataset *ds) { return ds ? ds->class_names : NULL; }
const char *cgan_dataset_format(const cgan_dataset *ds) { return ds ? ds->format : NULL; }
const char *cgan_dataset_source(const cgan_dataset *ds) { return ds ? ds->source : NULL; }
int cgan_dataset_skipped(const cgan_dataset *ds) { return ds ? ds->skipped : 0; }

int cgan_dataset_label(const cgan_dataset *ds, int i)
{
    return ds && i >= 0 && i < ds->n ? ds->labels[i] : -1;
}

const char *cgan_dataset_skipped_example(const cgan_dataset *ds, int i)
{
    return ds && i >= 0 && i < ds->skipped_kept ? ds->skipped_examples[i] : NULL;
}

size_t cgan_dataset_image_size_bytes(const cgan_dataset *ds) { return ds ? cgan_dataset_image_bytes(ds) : 0; }
int cgan_dataset_streams(const cgan_dataset *ds) { return ds ? cgan_dataset_streamed(ds) : 0; }

cgan_status cgan_loader_create_workers(cgan_ctx *err_ctx, const cgan_dataset *ds, int batch, uint64_t seed,
                                       unsigned flags, int workers, cgan_loader **out)
{
    return cgan_loader_create_full(err_ctx, ds, batch, seed, flags, NULL, 1, workers, out);
}

const char *cgan_dataset_skip_summary(const cgan_dataset *ds, char *buf, size_t n)
{
    static const char *const what[CGAN_SKIP_KINDS] = {
        "with bad or damaged image data", "not a file (a FIFO, socket or device)",
        "a link that loops or leads nowhere", "unreadable"
    };
    if (!buf || !n) return buf;
    buf[0] = '\0';
    size_t used = 0;
    for (int k = 0; ds && k < CGAN_SKIP_KINDS; k++) {
        if (!ds->skipped_by[k]) continue;
        int w = snprintf(buf + used, n - used, "%s%d %s", used ? ", " : "", ds->skipped_by[k], what[k]);
        if (w < 0 || (size_t)w >= n - used) break;
        used += (size_t)w;
    }
    return buf;
}
