/* Words, the vocabulary and token ids (see text.h). */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"
#include "runtime/runtime.h"

static int is_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80; /* UTF-8 bytes belong to words */
}

int cgan_text_next_word(const char *text, size_t len, size_t *pos, size_t *start, size_t *wlen)
{
    size_t i = *pos;
    while (i < len && !is_word_byte((unsigned char)text[i])) i++;
    size_t b = i;
    while (i < len && is_word_byte((unsigned char)text[i])) i++;
    *pos = i;
    *start = b;
    *wlen = i - b;
    return i > b;
}

int cgan_text_count_words(const char *text)
{
    size_t pos = 0, b, l, len = text ? strlen(text) : 0;
    int n = 0;
    while (cgan_text_next_word(text, len, &pos, &b, &l)) n++;
    return n;
}

/* The lower-cased word text[b, b+l) into buf (of size > l). */
static void lower_word(const char *text, size_t b, size_t l, char *buf)
{
    for (size_t k = 0; k < l; k++) buf[k] = (char)tolower((unsigned char)text[b + k]);
    buf[l] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void cgan_vocab_free(cgan_vocab *v)
{
    for (int i = 0; v->words && i < v->n; i++) free(v->words[i]);
    free(v->words);
    v->words = NULL;
    v->n = 0;
}

cgan_status cgan_vocab_build(cgan_ctx *ctx, char *const *captions, int n, int len, cgan_vocab *v)
{
    v->words = NULL;
    v->n = 0;
    int cap = 0, total = 0;
    char **all = NULL;
    cgan_status st = CGAN_OK;
    for (int i = 0; i < n && st == CGAN_OK; i++) {
        const char *c = captions[i] ? captions[i] : "";
        size_t pos = 0, b, l, clen = strlen(c);
        for (int k = 0; k < len && cgan_text_next_word(c, clen, &pos, &b, &l); k++) {
            if (total == cap) {
                cap = cap ? 2 * cap : 256;
                char **grown = realloc(all, (size_t)cap * sizeof *grown);
                if (!grown) { st = CGAN_E_NOMEM; break; }
                all = grown;
            }
            if (!(all[total] = malloc(l + 1))) { st = CGAN_E_NOMEM; break; }
            lower_word(c, b, l, all[total++]);
        }
    }
    if (st == CGAN_OK && total == 0) {
        st = cgan_error(ctx, CGAN_E_INVALID, "vocabulary: the %d captions hold no word", n);
    } else if (st == CGAN_OK) {
        qsort(all, (size_t)total, sizeof *all, cmp_str);
        int u = 0;
        for (int i = 0; i < total; i++) {
            if (u > 0 && strcmp(all[u - 1], all[i]) == 0) free(all[i]);
            else all[u++] = all[i];
        }
        v->words = all;
        v->n = u;
        return CGAN_OK;
    } else {
        cgan_error(ctx, st, "vocabulary: out of memory");
    }
    for (int i = 0; i < total; i++) free(all[i]);
    free(all);
    return st;
}

int cgan_vocab_find(const cgan_vocab *v, const char *word)
{
    char *const *hit = v->n ? bsearch(&word, v->words, (size_t)v->n, sizeof *v->words, cmp_str) : NULL;
    return hit ? (int)(hit - v->words) : -1;
}

/* Append ", word" (or "word") to list, "..." once it is full. */
static void list_add(char *list, size_t size, const char *word)
{
    if (!list || !size) return;
    size_t u = strlen(list), need = strlen(word) + (u ? 2 : 0);
    if (u >= 3 && strcmp(list + u - 3, "...") == 0) return;
    if (u + need + 4 >= size) {
        if (u + 4 < size) memcpy(list + u, "...", 4);
        return;
    }
    if (u) memcpy(list + u, ", ", 2), u += 2;
    memcpy(list + u, word, strlen(word) + 1);
}

cgan_status cgan_vocab_encode(cgan_ctx *ctx, const cgan_vocab *v, const char *text, float *ids, int len,
                              int *known, int *unknown, int *dropped, char *unknown_list, size_t size)
{
    int nk = 0, nu = 0, nd = 0;
    const char *t = text ? text : "";
    size_t pos = 0, b, l, tlen = strlen(t);
    char small[64], *buf = small;
    if (unknown_list && size) unknown_list[0] = '\0';
    for (int k = 0; k < len; k++) ids[k] = CGAN_TEXT_PAD;
    while (cgan_text_next_word(t, tlen, &pos, &b, &l)) {
        if (l >= sizeof small) {
            if (buf != small) free(buf);
            if (!(buf = malloc(l + 1))) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        }
        lower_word(t, b, l, buf);
        int id = cgan_vocab_find(v, buf);
        if (id < 0) {
            nu++;
            list_add(unknown_list, size, buf);
        } else if (nk < len) {
            ids[nk++] = (float)id;
        } else {
            nd++;
        }
        if (buf != small) { free(buf); buf = small; }
    }
    if (known) *known = nk;
    if (unknown) *unknown = nu;
    if (dropped) *dropped = nd;
    return CGAN_OK;
}

cgan_status cgan_vocab_encode_all(cgan_ctx *ctx, const cgan_vocab *v, char *const *captions, int n, int len,
                                  float **rows, int *unknown, int *dropped)
{
    *unknown = *dropped = 0;
    if (n < 1 || len < 1) return cgan_error(ctx, CGAN_E_INVALID, "captions: %d captions of %d ids", n, len);
    float *r = malloc((size_t)n * (size_t)len * sizeof *r);
    if (!r) return cgan_error(ctx, CGAN_E_NOMEM, "captions: out of memory for %d captions", n);
    cgan_status st = CGAN_OK;
    int same = 1;
    for (int i = 0; i < n && st == CGAN_OK; i++) {
        int known = 0, unk = 0, drop = 0;
        float *ids = r + (size_t)i * len;
        st = cgan_vocab_encode(ctx, v, captions[i], ids, len, &known, &unk, &drop, NULL, 0);
        *unknown += unk;
        *dropped += drop;
        if (st == CGAN_OK && known == 0)
            st = cgan_error(ctx, CGAN_E_INVALID, "caption '%s': none of its words is in the vocabulary", captions[i]);
        same = same && memcmp(ids, r, (size_t)len * sizeof *r) == 0;
    }
    if (st == CGAN_OK && same)
        st = cgan_error(ctx, CGAN_E_INVALID, "captions: all %d captions say the same ('%s'); a text model learns "
                        "from captions that differ", n, captions[0]);
    if (st != CGAN_OK) {
        free(r);
        return st;
    }
    *rows = r;
    return CGAN_OK;
}

/* Words that carry no content of their own: a prompt known only through these ("a purple
 * hexagon" where only "a" is in the vocabulary) describes nothing the model learned. */
static int stop_word(const char *w)
{
    static const char *const stops[] = {
        "a", "an", "the", "of", "with", "and", "or", "in", "on", "at", "to", "for", "by", "from", "is",
        "are", "be", "some", "this", "that", "these", "those", "it", "its", "into", "onto", "very", "please",
        "me", "show", "draw", "make", "picture", "image", "photo", NULL
    };
    for (const char *const *s = stops; *s; s++)
        if (!strcmp(*s, w)) return 1;
    return 0;
}

/* The prompt's known words split into content words and stop words (lists, as list_add). */
static cgan_status known_words(cgan_ctx *ctx, const cgan_vocab *v, const char *prompt, int *content,
                               char *stops, size_t size)
{
    size_t pos = 0, b, l, tlen = strlen(prompt);
    *content = 0;
    if (size) stops[0] = '\0';
    while (cgan_text_next_word(prompt, tlen, &pos, &b, &l)) {
        char *w = malloc(l + 1);
        if (!w) return cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        lower_word(prompt, b, l, w);
        if (cgan_vocab_find(v, w) >= 0) {
            if (stop_word(w)) list_add(stops, size, w);
            else (*content)++;
        }
        free(w);
    }
    return CGAN_OK;
}

cgan_status cgan_vocab_prompt(cgan_ctx *ctx, const cgan_vocab *v, const char *prompt, float *ids, int len,
                              char *unknown_list, size_t size)
{
    if (cgan_text_count_words(prompt) == 0)
        return cgan_error(ctx, CGAN_E_INVALID, "empty prompt: describe the image in words of the captions");
    char unk[256];
    int known = 0;
    CGAN_TRY(cgan_vocab_encode(ctx, v, prompt, ids, len, &known, NULL, NULL, unk, sizeof unk));
    if (unknown_list && size) snprintf(unknown_list, size, "%s", unk);
    char stops[256];
    int content = 0;
    CGAN_TRY(known_words(ctx, v, prompt, &content, stops, sizeof stops));
    if (known > 0 && content == 0)
        return cgan_error(ctx, CGAN_E_INVALID,
                          "prompt '%s': no content word is in the vocabulary: known only %s (%s), unknown: %s; "
                          "name what the captions name (colours, shapes, sizes)", prompt, stops,
                          strchr(stops, ',') ? "words that describe nothing" : "a word that describes nothing",
                          unk[0] ? unk : "none");
    if (known > 0) return CGAN_OK;
    char words[512] = "";
    for (int i = 0; i < v->n; i++) list_add(words, sizeof words, v->words[i]);
    return cgan_error(ctx, CGAN_E_INVALID, "prompt '%s': no word is in the vocabulary (unknown: %s); known words: %s",
                      prompt, unk, words);
}

char *cgan_vocab_json(const cgan_vocab *v)
{
    json_t *a = json_array();
    for (int i = 0; a && i < v->n; i++)
        if (json_array_append_new(a, json_string(v->words[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

cgan_status cgan_vocab_from_json(cgan_ctx *ctx, const char *text, const char *where, cgan_vocab *v)
{
    v->words = NULL;
    v->n = 0;
    json_error_t jerr;
    json_t *a = text ? json_loads(text, 0, &jerr) : NULL;
    if (!a || !json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 0x7fffffff) {
        json_decref(a);
        return cgan_error(ctx, CGAN_E_FORMAT, "%s: 'vocabulary' metadata is %s", where,
                          text ? "not a non-empty JSON array of words" : "missing");
    }
    int n = (int)json_array_size(a);
    v->words = calloc((size_t)n, sizeof *v->words);
    cgan_status st = v->words ? CGAN_OK : cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
    for (int i = 0; st == CGAN_OK && i < n; i++) {
        const char *w = json_string_value(json_array_get(a, i));
        size_t pos = 0, b, l, wl = w ? strlen(w) : 0;
        int one_word = w && cgan_text_next_word(w, wl, &pos, &b, &l) && b == 0 && l == wl;
        for (size_t k = 0; one_word && k < wl; k++) one_word = !isupper((unsigned char)w[k]);
        if (!one_word || (i > 0 && strcmp(v->words[i - 1], w) >= 0)) {
            st = cgan_error(ctx, CGAN_E_FORMAT, "%s: 'vocabulary' entry %d ('%s') is not a lower-case word in "
                            "sorted order", where, i, w ? w : "(not a string)");
            break;
        }
        if (!(v->words[i] = strdup(w))) st = cgan_error(ctx, CGAN_E_NOMEM, "out of memory");
        v->n = i + 1;
    }
    json_decref(a);
    if (st != CGAN_OK) cgan_vocab_free(v);
    return st;
}
