/* Kernel sources: embedded at build time, or read from $CGAN_KERNEL_DIR for development. */
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "embedded.h"

#define PRELUDE "_common"

static cgan_status read_file(cgan_ctx *ctx, const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cgan_error(ctx, CGAN_E_NOT_FOUND, "kernel source %s: cannot open", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return cgan_error(ctx, CGAN_E_NOMEM, "out of memory reading %s", path); }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return cgan_error(ctx, CGAN_E_IO, "kernel source %s: read error", path); }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return CGAN_OK;
}

static const char *embedded(const char *name)
{
    for (const cgan_embedded_source *s = cgan_embedded_sources; s->name; s++)
        if (strcmp(s->name, name) == 0) return s->text;
    return NULL;
}

static cgan_status load_one(cgan_ctx *ctx, const char *name, char **text, size_t *len)
{
    const char *dir = getenv("CGAN_KERNEL_DIR");
    if (dir && *dir) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s.cl", dir, name);
        return read_file(ctx, path, text, len);
    }
    const char *t = embedded(name);
    if (!t) return cgan_error(ctx, CGAN_E_NOT_FOUND, "no kernel source named '%s.cl'", name);
    *len = strlen(t);
    *text = malloc(*len + 1);
    if (!*text) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    memcpy(*text, t, *len + 1);
    return CGAN_OK;
}

cgan_status cgan_source_load(cgan_ctx *ctx, const char *name, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    char *pre = NULL, *body = NULL;
    size_t pl = 0, bl = 0;
    CGAN_TRY(load_one(ctx, PRELUDE, &pre, &pl));
    cgan_status st = load_one(ctx, name, &body, &bl);
    if (st != CGAN_OK) { free(pre); return st; }
    char line[512];
    int ll = snprintf(line, sizeof line, "\n#line 1 \"%s.cl\"\n", name);
    char *all = malloc(pl + (size_t)ll + bl + 1);
    if (!all) { free(pre); free(body); return cgan_error(ctx, CGAN_E_NOMEM, "out of memory"); }
    memcpy(all, pre, pl);
    memcpy(all + pl, line, (size_t)ll);
    memcpy(all + pl + ll, body, bl + 1);
    free(pre);
    free(body);
    *text = all;
    *len = pl + (size_t)ll + bl;
    return CGAN_OK;
}

/* The list is made once per process (pthread_once), so contexts on several threads may ask
 * for it at the same time. */
static const char *source_names[256];
static pthread_once_t source_names_once = PTHREAD_ONCE_INIT;

static void make_source_names(void)
{
    int n = 0;
    for (const cgan_embedded_source *s = cgan_embedded_sources; s->name && n < 255; s++)
        if (strcmp(s->name, PRELUDE) != 0) source_names[n++] = s->name;
    source_names[n] = NULL;
}

const char *const *cgan_source_names(void)
{
    pthread_once(&source_names_once, make_source_names);
    return source_names;
}
