/* Typo hints ("did you mean 'match'?"): which known word a mistyped one
 * is nearest to. Shared by the configuration and the rule-pack loaders. */
#ifndef SHUNT_SUGGEST_H
#define SHUNT_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance between a and b; SIZE_MAX when either is longer
 * than 40 bytes (no key is, and the table stays on the stack). */
size_t shunt_suggest_distance(const char *a, const char *b);

/* The word of words[0..n) nearest to word: within distance 3 and nearer
 * than its own length (a short word is near almost anything). NULL when
 * none is. */
const char *shunt_suggest_nearest(const char *word, const char *const *words, size_t n);

#endif
