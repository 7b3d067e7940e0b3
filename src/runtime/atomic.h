/* Atomic file replacement for files users keep (checkpoints, images, plots) and for
 * kernel cache entries.
 * The bytes go to a temporary file in the target's folder, are flushed and synced, and
 * are renamed over the target only when everything succeeded: a crash or a failed write
 * leaves the previous file untouched and no temporary file behind. */
#ifndef CGAN_RUNTIME_ATOMIC_H
#define CGAN_RUNTIME_ATOMIC_H
#include <stdio.h>
#include "cgan/cgan.h"

typedef struct cgan_atomic_file {
    FILE *fp;          /* write here between open and commit */
    char *path;        /* the target */
    char *tmp;         /* the temporary file beside it */
} cgan_atomic_file;

/* Create "<dir>/.<name>.tmp.<pid>.<n>" (mode 0666 less the umask) for writing. */
cgan_status cgan_atomic_open(cgan_ctx *ctx, const char *path, cgan_atomic_file *af);
/* Flush, fsync, close and rename over the target; on failure the temporary file is
 * removed and the target is untouched. af is released either way. */
cgan_status cgan_atomic_commit(cgan_ctx *ctx, cgan_atomic_file *af);
/* Give up: close and remove the temporary file, release af. Accepts a zeroed af. */
void cgan_atomic_abort(cgan_atomic_file *af);
/* Open path for reading only when it is a regular file, without ever blocking: a FIFO
 * would hang a plain open until a writer comes. The file is opened O_NONBLOCK, checked
 * with fstat, then set back to blocking. what says what the file was wanted as, for the
 * message ("checkpoint", "model file", ...). NULL with *st set (CGAN_E_NOT_FOUND when it
 * does not exist, CGAN_E_IO otherwise) and the message on ctx. */
FILE *cgan_fopen_regular(cgan_ctx *ctx, const char *path, const char *what, cgan_status *st);
/* Whole-buffer convenience: open, fwrite, commit. */
cgan_status cgan_atomic_write(cgan_ctx *ctx, const char *path, const void *data, size_t len);
#endif
