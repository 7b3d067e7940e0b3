/* captions.tsv of an ImageFolder (see dataset.h): parsing, and lookup by relative path. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime/atomic.h"
#include "runtime/runtime.h"
#include "internal.h"

#define MAX_CAPTIONS_BYTES ((long)64 << 20)

static int cmp_entry(const void *a, const void *b)
{
    const cgan_caption *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

void cgan_captions_free(cgan_captions *t)
{
    for (int i = 0; i < t->n; i++) {
        free(t->e[i].path);
        free(t->e[i].text);
    }
    free(t->e);
    free(t->file);
    memset(t, 0, sizeof *t);
}

static int has_word(const char *s)
{
    for (; *s; s++)
        if (isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80) return 1;
    return 0;
}

/* Strip spaces and tabs at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

/* One line (NUL-terminated, no newline) into the table, or an error naming file and line. */
static cgan_status add_line(cgan_ctx *ctx, cgan_captions *t, char *line, int lineno, int *cap)
{
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
    char *p = line;
    while (*p == ' ') p++;
    if (*p == '\0' || *p == '#') return CGAN_OK; /* blank or comment */
    char *tab = strchr(line, '\t');
    if (!tab)
        return cgan_error(ctx, CGAN_E_FORMAT, "%s line %d: expected 'relative/image/path<TAB>caption', found no tab",
                          t->file, lineno);
    *tab = '\0';
    char *path = trim(line), *text = trim(tab + 1);
    while (path[0] == '.' && path[1] == '/') path += 2;
    if (!*path) return cgan_error(ctx, CGAN_E_FORMAT, "%s line %d: the image path is empty", t->file, lineno);
    if (!cgan_utf8_valid(text))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s line %d: the caption of %s is not valid UTF-8 (checkpoints store "
                          "the vocabulary as JSON text)", t->file, lineno, path);
    if (!has_word(text))
        return cgan_error(ctx, CGAN_E_FORMAT, "%s line %d: the caption of %s has no word", t->file, lineno, path);
    if (t->n == *cap) {
        int ncap = *cap ? 2 * *cap : 256;
        cgan_caption *e = realloc(t->e, (size_t)ncap * sizeof *e);
        if (!e) return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", t->file);
        t->e = e;
        *cap = ncap;
    }
    cgan_caption *e = &t->e[t->n];
    e->path = strdup(path);
    e->text = strdup(text);
    e->line = lineno;
    e->used = 0;
    t->n++;
    if (!e->path || !e->text) return cgan_error(ctx, CGAN_E_NOMEM, "%s: out of memory", t->file);
    return CGAN_OK;
}

cgan_status cgan_captions_read(cgan_ctx *ctx, const char *dir, cgan_captions *t)
{
    memset(t, 0, sizeof *t);
    if (!(t->file = cgan_data_join(dir, CGAN_DATA_CAPTIONS)))
        return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    cgan_status ost = CGAN_OK;
    FILE *f = cgan_fopen_regular(ctx, t->file, "captions file", &ost);
    if (!f) {
        cgan_status st = cgan_error_wrap(ctx, ost, "text conditioning needs a caption per image (lines "
                                         "'relative/image/path<TAB>caption')");
        cgan_captions_free(t);
        return st;
    }
    cgan_status st = CGAN_OK;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    int lineno = 0, cap = 0;
    long total = 0;
    while (st == CGAN_OK && (got = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        total += (long)got;
        if (total > MAX_CAPTIONS_BYTES) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: larger than %ld bytes", t->file, MAX_CAPTIONS_BYTES);
            break;
        }
        if (got > 0 && line[got - 1] == '\n') line[--got] = '\0';
        if (strlen(line) != (size_t)got)
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s line %d: holds a NUL byte (not a text file?)", t->file, lineno);
        char *text = line;
        if (lineno == 1 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
            (unsigned char)text[2] == 0xBF)
            text += 3; /* UTF-8 byte order mark */
        if (st == CGAN_OK) st = add_line(ctx, t, text, lineno, &cap);
    }
    if (st == CGAN_OK && ferror(f)) st = cgan_error(ctx, CGAN_E_IO, "%s: read error", t->file);
    free(line);
    fclose(f);
    if (st == CGAN_OK && t->n == 0)
        st = cgan_error(ctx, CGAN_E_FORMAT, "%s holds no caption", t->file);
    if (st == CGAN_OK) {
        qsort(t->e, (size_t)t->n, sizeof *t->e, cmp_entry);
        for (int i = 1; i < t->n && st == CGAN_OK; i++)
            if (strcmp(t->e[i - 1].path, t->e[i].path) == 0)
                st = cgan_error(ctx, CGAN_E_FORMAT, "%s line %d: a second caption for %s (the first is on line %d)",
                                t->file, t->e[i].line, t->e[i].path, t->e[i - 1].line);
    }
    if (st != CGAN_OK) cgan_captions_free(t);
    return st;
}

int cgan_captions_find(cgan_captions *t, const char *rel)
{
    int lo = 0, hi = t->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(t->e[mid].path, rel);
        if (c == 0) {
            t->e[mid].used = 1;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

cgan_status cgan_captions_check_used(cgan_ctx *ctx, const cgan_captions *t, const char *dir)
{
    int first = -1, unused = 0;
    for (int i = 0; i < t->n; i++)
        if (!t->e[i].used) {
            unused++;
            if (first < 0 || t->e[i].line < t->e[first].line) first = i;
        }
    if (!unused) return CGAN_OK;
    return cgan_error(ctx, CGAN_E_FORMAT, "%s line %d: no image %s in the dataset (paths are relative to %s, as "
                      "<class>/<image>.png)%s", t->file, t->e[first].line, t->e[first].path, dir,
                      unused > 1 ? "; more lines name missing images" : "");
}
