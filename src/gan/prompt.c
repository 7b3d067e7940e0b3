/* Class names from text prompts (see prompt.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "prompt.h"
#include "text.h"
#include "runtime/runtime.h"

/* Words of a text: raw (lower-cased) and stemmed (plural ending dropped). */
typedef struct words {
    char **raw, **stem;
    int n;
} words;

static void words_free(words *w)
{
    for (int i = 0; i < w->n; i++) {
        free(w->raw[i]);
        free(w->stem[i]);
    }
    free(w->raw);
    free(w->stem);
    memset(w, 0, sizeof *w);
}

/* Drop a plural ending in place: "-es" after s, x, z, ch, sh; else a single "-s" (not
 * "-ss"). Words of three letters or fewer are kept ("bus", "gas"). */
static void stem_word(char *w)
{
    size_t n = strlen(w);
    if (n <= 3 || w[n - 1] != 's' || w[n - 2] == 's') return;
    if (n > 4 && w[n - 2] == 'e') {
        char a = w[n - 3], b = w[n - 4];
        if (a == 's' || a == 'x' || a == 'z' || (a == 'h' && (b == 'c' || b == 's'))) {
            w[n - 2] = '\0';
            return;
        }
    }
    w[n - 1] = '\0';
}

static char *stem_dup(const char *s)
{
    char *d = strdup(s);
    if (d) stem_word(d);
    return d;
}

/* Split [text, text + len) into words. */
static cgan_status split(cgan_ctx *ctx, const char *text, size_t len, words *out)
{
    memset(out, 0, sizeof *out);
    int cap = 0;
    size_t pos = 0, b, wl;
    while (cgan_text_next_word(text, len, &pos, &b, &wl)) {
        size_t i = b + wl;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            char **r = realloc(out->raw, (size_t)cap * sizeof *r);
            if (r) out->raw = r;
            char **s = realloc(out->stem, (size_t)cap * sizeof *s);
            if (s) out->stem = s;
            if (!r || !s) goto nomem;
        }
        char *w = malloc(i - b + 1);
        if (!w) goto nomem;
        for (size_t k = b; k < i; k++) w[k - b] = (char)tolower((unsigned char)text[k]);
        w[i - b] = '\0';
        out->raw[out->n] = w;
        out->stem[out->n] = stem_dup(w);
        out->n++;
        if (!out->stem[out->n - 1]) goto nomem;
    }
    return CGAN_OK;
nomem:
    words_free(out);
    return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
}

/* The best match so far. */
typedef struct best {
    int len, pos, cls;
} best;

static void consider(best *b, int len, int pos, int cls)
{
    if (b->cls < 0 || len > b->len || (len == b->len && (pos < b->pos || (pos == b->pos && cls < b->cls)))) {
        b->len = len;
        b->pos = pos;
        b->cls = cls;
    }
}

/* Match one phrase of class cls against the prompt: as a word sequence, and (for
 * several words) written as one word. */
static cgan_status match_phrase(cgan_ctx *ctx, const words *p, const char *text, size_t len, int cls, best *b)
{
    words ph;
    CGAN_TRY(split(ctx, text, len, &ph));
    if (ph.n == 0) return CGAN_OK;
    for (int pos = 0; pos + ph.n <= p->n; pos++) {
        int k = 0;
        while (k < ph.n && strcmp(p->stem[pos + k], ph.stem[k]) == 0) k++;
        if (k == ph.n) {
            consider(b, ph.n, pos, cls);
            break;
        }
    }
    if (ph.n > 1) {
        size_t total = 1;
        for (int k = 0; k < ph.n; k++) total += strlen(ph.raw[k]);
        char *joined = malloc(total);
        if (!joined) {
            words_free(&ph);
            return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        }
        joined[0] = '\0';
        for (int k = 0; k < ph.n; k++) strcat(joined, ph.raw[k]);
        stem_word(joined);
        for (int pos = 0; pos < p->n; pos++)
            if (strcmp(p->stem[pos], joined) == 0) {
                consider(b, ph.n, pos, cls);
                break;
            }
        free(joined);
    }
    words_free(&ph);
    return CGAN_OK;
}

/* Every phrase of a name: the whole of it and each '/'-separated part. */
static cgan_status match_name(cgan_ctx *ctx, const words *p, const char *name, int cls, best *b)
{
    CGAN_TRY(match_phrase(ctx, p, name, strlen(name), cls, b));
    if (!strchr(name, '/')) return CGAN_OK;
    const char *s = name;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        CGAN_TRY(match_phrase(ctx, p, s, l, cls, b));
        if (!e) break;
        s = e + 1;
    }
    return CGAN_OK;
}

void cgan_class_list(char *const *classes, int n, char *out, size_t size)
{
    if (!size) return;
    size_t u = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *sep = i ? ", " : "";
        size_t need = strlen(sep) + strlen(classes[i]);
        if (u + need + 4 >= size) {
            if (u + 4 < size) memcpy(out + u, "...", 4);
            return;
        }
        memcpy(out + u, sep, strlen(sep));
        u += strlen(sep);
        memcpy(out + u, classes[i], strlen(classes[i]) + 1);
        u += strlen(classes[i]);
    }
}

cgan_status cgan_prompt_match(cgan_ctx *ctx, const char *prompt, char *const *classes, int n,
                              const char *const *aliases, int *class_out)
{
    *class_out = -1;
    words p;
    CGAN_TRY(split(ctx, prompt ? prompt : "", prompt ? strlen(prompt) : 0, &p));
    if (p.n == 0) return cgan_error(ctx, CGAN_E_INVALID, "empty prompt: give a class name or a short description");
    cgan_status st = CGAN_OK;
    best b = { 0, 0, -1 };
    for (int c = 0; c < n && st == CGAN_OK; c++) st = match_name(ctx, &p, classes[c], c, &b);
    for (int a = 0; aliases && aliases[a] && st == CGAN_OK; a += 2) {
        const char *target = aliases[a + 1];
        int c = 0;
        while (target && c < n && strcmp(classes[c], target) != 0) c++;
        if (!target || c == n)
            st = cgan_error(ctx, CGAN_E_INVALID, "alias '%s' names an unknown class '%s'", aliases[a],
                            target ? target : "(none)");
        else
            st = match_phrase(ctx, &p, aliases[a], strlen(aliases[a]), c, &b);
    }
    words_free(&p);
    if (st != CGAN_OK) return st;
    if (b.cls < 0) {
        char list[1024];
        cgan_class_list(classes, n, list, sizeof list);
        return cgan_error(ctx, CGAN_E_NOT_FOUND, "no class matches the prompt '%s'; known classes: %s", prompt, list);
    }
    *class_out = b.cls;
    return CGAN_OK;
}
