/* Turning a short text prompt into a class index of a conditional model.
 *
 * Words are lower-cased runs of letters and digits (everything else separates them), and
 * a plural ending is dropped on both sides ("boots" -> "boot", "dresses" -> "dress",
 * "shoes" -> "shoe"; words of three letters or fewer and words ending in "ss" are kept).
 * A class name offers several phrases: the whole name, each '/'-separated part ("T-shirt/
 * top" offers "t shirt top", "t shirt" and "top"), and each multi-word phrase written as
 * one word ("tshirt"). A phrase matches when all its words appear in the prompt in order
 * and next to each other. The longest matching phrase (in words) wins, so "a t-shirt"
 * is "T-shirt/top" and not "Shirt"; among equally long matches the one that starts first
 * in the prompt wins, then the lower class index. */
#ifndef CGAN_PROMPT_H
#define CGAN_PROMPT_H
#include <stddef.h>
#include "cgan/cgan.h"

/* Match prompt against the n class names. aliases (may be NULL) is a NULL-terminated
 * list of pairs { "alias", "class name", ..., NULL }; an alias is one more phrase of its
 * class. CGAN_E_INVALID for an empty prompt (no letters or digits) or an alias naming an
 * unknown class; CGAN_E_NOT_FOUND when nothing matches, with a message that lists the
 * known classes. */
cgan_status cgan_prompt_match(cgan_ctx *ctx, const char *prompt, char *const *classes, int n,
                              const char *const *aliases, int *class_out);

/* "a, b, c" of the class names into out (truncated with "..." when it does not fit). */
void cgan_class_list(char *const *classes, int n, char *out, size_t size);
#endif
