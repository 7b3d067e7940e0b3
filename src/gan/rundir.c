/* The run folder itself (see run.h): pruning, the lock, stale temporaries, and the
 * check that a new run does not start over an existing one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "run.h"

/* A checkpoint of the run folder: its step number (from step_<N>.safetensors) and name. */
typedef struct ckpt_name { long long step; char *name; } ckpt_name;

static int cmp_step(const void *a, const void *b)
{
    const ckpt_name *x = a, *y = b;
    return x->step < y->step ? -1 : x->step > y->step;
}

long long cgan_rundir_ckpt_step(const char *name)
{
    static const char suffix[] = ".safetensors";
    size_t l = strlen(name), ls = sizeof suffix - 1;
    if (strncmp(name, "step_", 5) != 0 || l <= 5 + ls || strcmp(name + l - ls, suffix) != 0) return -1;
    long long v = 0;
    for (const char *p = name + 5; p < name + l - ls; p++) {
        if (*p < '0' || *p > '9' || v > (LLONG_MAX - 9) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

cgan_status cgan_run_prune(cgan_ctx *ctx, const char *rundir, int keep)
{
    if (keep < 1) return cgan_error(ctx, CGAN_E_INVALID, "keep %d: at least 1 checkpoint is kept", keep);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/checkpoints", rundir);
    DIR *d = opendir(dir);
    if (!d) return CGAN_OK;
    ckpt_name *v = NULL;
    size_t n = 0, cap = 0;
    cgan_status st = CGAN_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        long long step = cgan_rundir_ckpt_step(de->d_name);
        if (step < 0) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            ckpt_name *nv = realloc(v, nc * sizeof *nv);
            if (!nv) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto cleanup; }
            v = nv;
            cap = nc;
        }
        if (!(v[n].name = strdup(de->d_name))) { st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); goto cleanup; }
        v[n++].step = step;
    }
    qsort(v, n, sizeof *v, cmp_step);
    for (size_t i = 0; i + (size_t)keep < n; i++) {
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", dir, v[i].name);
        unlink(p);
    }
cleanup:
    closedir(d);
    for (size_t i = 0; i < n; i++) free(v[i].name);
    free(v);
    return st;
}

/* The lock file's name in the run folder. */
#define LOCK_NAME ".lock"

cgan_status cgan_rundir_lock(cgan_ctx *ctx, const char *rundir, int *fd_out)
{
    *fd_out = -1;
    char path[1100];
    snprintf(path, sizeof path, "%s/" LOCK_NAME, rundir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return cgan_error(ctx, CGAN_E_IO, "%s: cannot create the run folder's lock: %s", path, strerror(errno));
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    if (fcntl(fd, F_SETLK, &fl) == 0) {
        *fd_out = fd;
        return CGAN_OK;
    }
    int err = errno;
    cgan_status st;
    if (err == EACCES || err == EAGAIN) {
        struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
        long pid = fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK ? (long)q.l_pid : -1;
        if (pid > 0)
            st = cgan_error(ctx, CGAN_E_IO, "run folder %s is in use by another training run (process %ld); wait for "
                            "it to finish, stop it, or use another --out", rundir, pid);
        else
            st = cgan_error(ctx, CGAN_E_IO, "run folder %s is in use by another training run; wait for it to finish, "
                            "stop it, or use another --out", rundir);
    } else {
        st = cgan_error(ctx, CGAN_E_IO, "%s: cannot lock the run folder: %s", path, strerror(err));
    }
    close(fd);
    return st;
}

void cgan_rundir_unlock(int fd)
{
    if (fd >= 0) close(fd); /* closing releases the fcntl lock */
}

const char *cgan_rundir_existing(const char *rundir)
{
    static const char *const files[] = { "config", "metrics.csv", "latest" };
    char path[1100];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", rundir, files[i]);
        if (access(path, F_OK) == 0) return files[i];
    }
    snprintf(path, sizeof path, "%s/checkpoints", rundir);
    DIR *d = opendir(path);
    const char *found = NULL;
    for (struct dirent *de; d && !found && (de = readdir(d));)
        if (cgan_rundir_ckpt_step(de->d_name) >= 0) found = "checkpoints";
    if (d) closedir(d);
    return found;
}

/* 1 when name is a temporary of io/atomic.c: ".<name>.tmp.<pid>.<counter>". */
static int is_our_tmp(const char *name)
{
    if (name[0] != '.') return 0;
    const char *t = NULL;
    for (const char *p = strstr(name + 1, ".tmp."); p; p = strstr(p + 1, ".tmp.")) t = p;
    if (!t || t == name + 1) return 0;
    const char *p = t + 5;
    int parts = 0;
    for (;;) {
        if (*p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9') p++;
        parts++;
        if (*p == '\0') break;
        if (*p != '.' || parts == 2) return 0;
        p++;
    }
    return parts == 2;
}

cgan_status cgan_rundir_clean_tmp(cgan_ctx *ctx, const char *rundir, int *removed)
{
    static const char *const subs[] = { "", "/checkpoints", "/samples" };
    *removed = 0;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s%s", rundir, subs[i]);
        DIR *d = opendir(dir);
        if (!d) continue;
        for (struct dirent *de; (de = readdir(d));) {
            if (!is_our_tmp(de->d_name)) continue;
            char p[1400];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (unlink(p) == 0) (*removed)++;
            else if (errno != ENOENT) {
                int err = errno;
                closedir(d);
                return cgan_error(ctx, CGAN_E_IO, "%s: cannot remove a stale temporary file: %s", p, strerror(err));
            }
        }
        closedir(d);
    }
    return CGAN_OK;
}
