#include "suggest.h"

#include <stdint.h>
#include <string.h>

size_t shunt_suggest_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return SIZE_MAX;
	size_t prev[41], cur[41];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t m = sub < del ? sub : del;
			cur[j] = m < ins ? m : ins;
		}
		memcpy(prev, cur, sizeof(size_t) * (lb + 1));
	}
	return prev[lb];
}

const char *shunt_suggest_nearest(const char *word, const char *const *words, size_t n)
{
	const char *best = NULL;
	size_t bestd = 4;
	for (size_t i = 0; i < n; i++) {
		size_t d = shunt_suggest_distance(word, words[i]);
		/* A short word is "near" almost anything; demand some overlap. */
		if (d < bestd && d < strlen(words[i])) {
			bestd = d;
			best = words[i];
		}
	}
	return best;
}
