/* Atomic file replacement: temporary file in the same folder, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "runtime/atomic.h"
#include "runtime/runtime.h"

static void release(cgan_atomic_file *af)
{
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    af->fp = NULL;
}

/* The folder of path ("." when it has none), for the directory fsync after rename. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

cgan_status cgan_atomic_open(cgan_ctx *ctx, const char *path, cgan_atomic_file *af)
{
    static unsigned counter;
    memset(af, 0, sizeof *af);
    if (!path || !*path) return cgan_error(ctx, CGAN_E_INVALID, "empty output path");
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base) return cgan_error(ctx, CGAN_E_INVALID, "%s: names a folder, not a file", path);
    size_t dirlen = (size_t)(base - path), n = strlen(path) + 64;
    af->path = strdup(path);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) {
        release(af);
        return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", path);
    }
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        /* the name part is cut to 200 bytes so the temporary name fits NAME_MAX */
        snprintf(af->tmp, n, "%.*s.%.200s.tmp.%ld.%u", (int)dirlen, path, base,
                 (long)getpid(), k);
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int err = errno;
        release(af);
        return cgan_error(ctx, CGAN_E_IO, "%s: cannot create a temporary file beside it: %s",
                          path, strerror(err));
    }
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        int err = errno;
        close(fd);
        unlink(af->tmp);
        release(af);
        return cgan_error(ctx, CGAN_E_IO, "%s: %s", path, strerror(err));
    }
    return CGAN_OK;
}

cgan_status cgan_atomic_commit(cgan_ctx *ctx, cgan_atomic_file *af)
{
    cgan_status st = CGAN_OK;
    const char *step = NULL;
    int err = 0;
    if (ferror(af->fp)) err = EIO, step = "write";
    else if (fflush(af->fp) != 0) err = errno, step = "write";
    else if (fsync(fileno(af->fp)) != 0) err = errno, step = "fsync";
    if (fclose(af->fp) != 0 && !err) err = errno, step = "close";
    af->fp = NULL;
    if (!err && rename(af->tmp, af->path) != 0) err = errno, step = "rename";
    if (err) {
        unlink(af->tmp);
        st = cgan_error(ctx, CGAN_E_IO, "%s: %s failed: %s (the previous file, if any, is "
                        "unchanged)", af->path, step, strerror(err));
        goto done;
    }
    /* Make the rename itself durable; failing here changes nothing for readers. */
    char *dir = folder_of(af->path);
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
done:
    release(af);
    return st;
}

void cgan_atomic_abort(cgan_atomic_file *af)
{
    if (!af) return;
    if (af->fp) fclose(af->fp);
    if (af->tmp) unlink(af->tmp);
    release(af);
}

cgan_status cgan_atomic_write(cgan_ctx *ctx, const char *path, const void *data, size_t len)
{
    cgan_atomic_file af;
    CGAN_TRY(cgan_atomic_open(ctx, path, &af));
    if (len && fwrite(data, 1, len, af.fp) != len) {
        int err = errno;
        cgan_atomic_abort(&af);
        return cgan_error(ctx, CGAN_E_IO, "%s: write failed: %s (the previous file, if any, "
                          "is unchanged)", path, strerror(err));
    }
    return cgan_atomic_commit(ctx, &af);
}

FILE *cgan_fopen_regular(cgan_ctx *ctx, const char *path, const char *what, cgan_status *st)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        *st = cgan_error(ctx, e == ENOENT ? CGAN_E_NOT_FOUND : CGAN_E_IO, "%s: cannot open the %s: %s", path, what,
                         strerror(e));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = errno;
        close(fd);
        *st = S_ISDIR(sb.st_mode) ? cgan_error(ctx, CGAN_E_IO, "%s: a folder, not a %s", path, what)
              : cgan_error(ctx, CGAN_E_IO, "%s: not a regular file (a FIFO, socket or device): refused as a %s%s%s",
                           path, what, e ? ": " : "", e ? strerror(e) : "");
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *fp = flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? fdopen(fd, "rb") : NULL;
    if (!fp) {
        int e = errno;
        close(fd);
        *st = cgan_error(ctx, CGAN_E_IO, "%s: cannot open the %s: %s", path, what, strerror(e));
    }
    return fp;
}
