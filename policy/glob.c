/* Shell-style globs over whole command lines (allowlist/denylist). */
#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

static bool glob_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Matches a [..] class at *pp against c; advances *pp past it. */
static bool glob_class(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false;
	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	const char *start = p;
	while (*p && (*p != ']' || p == start)) {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			if ((unsigned char)c >= (unsigned char)p[0] &&
			    (unsigned char)c <= (unsigned char)p[2])
				hit = true;
			p += 3;
		} else {
			if (*p == c)
				hit = true;
			p++;
		}
	}
	if (*p != ']') {
		/* unterminated: treat '[' literally */
		*pp += 1;
		return c == '[';
	}
	*pp = p + 1;
	return hit != neg;
}

/* Iterative matcher with single-star backtracking: linear in practice and
 * never recursive, so hostile patterns or huge lines cannot blow the stack.
 * Runs of whitespace on both sides compare equal to one space. */
bool shunt_glob_match(const char *pattern, const char *text)
{
	const char *p = pattern, *t = text;
	const char *star_p = NULL, *star_t = NULL;
	while (*p && glob_space(*p))
		p++;
	while (*t && glob_space(*t))
		t++;
	for (;;) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_t = t;
			continue;
		}
		if (!*t) {
			/* trailing whitespace in the pattern is insignificant */
			while (*p && glob_space(*p))
				p++;
			if (!*p)
				return true;
			goto backtrack;
		}
		if (!*p) {
			const char *q = t;
			while (*q && glob_space(*q))
				q++;
			if (!*q)
				return true;
			goto backtrack;
		}
		if (glob_space(*p) && glob_space(*t)) {
			while (glob_space(*p))
				p++;
			while (glob_space(*t))
				t++;
			continue;
		}
		if (*p == '?' && !glob_space(*t)) {
			p++, t++;
			continue;
		}
		if (*p == '[') {
			const char *q = p;
			if (glob_class(&q, *t)) {
				p = q, t++;
				continue;
			}
			goto backtrack;
		}
		if (*p == '\\' && p[1]) {
			if (p[1] == *t) {
				p += 2, t++;
				continue;
			}
			goto backtrack;
		}
		if (*p == *t) {
			p++, t++;
			continue;
		}
	backtrack:
		if (!star_p || !*star_t)
			return false;
		star_t++;
		p = star_p;
		t = star_t;
	}
}
