/* Captions and prompts as token ids for text-conditioned models (CGAN_COND_TEXT).
 *
 * Words: runs of ASCII letters and digits (bytes of UTF-8 characters count as letters),
 * lower-cased; every other byte separates words ("Small, RED circle!" is "small", "red",
 * "circle"). The vocabulary is the sorted set of the words of the training captions, so
 * word i is the i-th in byte order and the same captions always give the same ids. It is
 * stored in checkpoints as the "vocabulary" metadata (a JSON array of the words).
 *
 * A caption or prompt becomes `len` ids (CGAN_TEXT_TOKENS in the models): the ids of its
 * first `len` known words in order, then the pad -1. Words past `len` are dropped, and
 * the vocabulary is built from the words that are kept, so that every word of it is
 * trained. */
#ifndef CGAN_TEXT_H
#define CGAN_TEXT_H
#include <stddef.h>
#include "cgan/cgan.h"  /* cgan_text_count_words is public (cgan/generate.h) */

#define CGAN_TEXT_PAD (-1.0f)

typedef struct cgan_vocab {
    char **words;   /* n words, sorted (strcmp), unique */
    int n;
} cgan_vocab;

/* The next word of text[*pos, len): its offset and length; *pos moves past it. Returns 0
 * when no word is left. The word rule of every text in cgan-cl (prompts included). */
int cgan_text_next_word(const char *text, size_t len, size_t *pos, size_t *start, size_t *wlen);

/* The vocabulary of the first `len` words of n captions. CGAN_E_INVALID when the captions
 * hold no word at all. */
cgan_status cgan_vocab_build(cgan_ctx *ctx, char *const *captions, int n, int len, cgan_vocab *v);
void cgan_vocab_free(cgan_vocab *v);
/* Index of a lower-case word, -1 when it is not in the vocabulary. */
int cgan_vocab_find(const cgan_vocab *v, const char *word);

/* Ids of text into ids[len] (then pads). known: words found; unknown: words not in the
 * vocabulary (ignored); dropped: known words past len. Any count pointer may be NULL.
 * unknown_list (may be NULL) receives the unknown words, ", "-separated, truncated to size. */
cgan_status cgan_vocab_encode(cgan_ctx *ctx, const cgan_vocab *v, const char *text, float *ids, int len,
                              int *known, int *unknown, int *dropped, char *unknown_list, size_t size);

/* Token ids of n captions: *rows (malloc'ed) holds n rows of len ids. unknown: words not in
 * the vocabulary (a vocabulary from a checkpoint), dropped: known words past len, over all
 * captions. CGAN_E_INVALID naming the caption when one is left without a known word, or
 * when all n give the same ids (a text model needs captions that differ). */
cgan_status cgan_vocab_encode_all(cgan_ctx *ctx, const cgan_vocab *v, char *const *captions, int n, int len,
                                  float **rows, int *unknown, int *dropped);

/* A prompt for a text model: as cgan_vocab_encode, and CGAN_E_INVALID for an empty prompt
 * (no word) or one whose words are all unknown (the message lists a few known words). */
cgan_status cgan_vocab_prompt(cgan_ctx *ctx, const cgan_vocab *v, const char *prompt, float *ids, int len,
                              char *unknown_list, size_t size);

/* The vocabulary as a JSON array (malloc'ed text), and back. `where` names the source in
 * errors (a checkpoint path). CGAN_E_FORMAT for anything but a sorted array of unique
 * words. */
char *cgan_vocab_json(const cgan_vocab *v);
cgan_status cgan_vocab_from_json(cgan_ctx *ctx, const char *text, const char *where, cgan_vocab *v);
#endif
