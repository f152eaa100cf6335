/* Splitting a shell line so that only its risky simple commands leave the
 * user's shell (issue 22 item 10). The line hook asks once at Enter; the
 * answer is the line rewritten with each risky simple command prefixed by
 * `__shunt_cmd K `, plus the decision made for each, which the shell
 * function hands to `shunt exec --decided SPEC --why WHY -- ARGV`. Builtins
 * and low-risk commands then run in the user's shell, in order, with &&,
 * || and the real exit status kept. */
#ifndef SHUNT_SPLIT_H
#define SHUNT_SPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "context.h"

/* Most risky commands one line may have wrapped. */
#define SHUNT_SPLIT_MAX 16

/* One simple command of a line that the scanner could place. */
struct shunt_split_seg {
	size_t start; /* first byte (an assignment or the name) */
	size_t name;  /* the command word, after leading NAME=VALUE words */
	size_t end;   /* one past the last byte, trailing blanks excluded */
	bool redir;   /* has a redirection */
	bool state;   /* may change what later commands mean (cd, export, ...) */
	bool builtin; /* its name is a shell builtin or keyword */
};

/* Scans line[0..len) for a plain list: simple commands joined by &&, ||
 * or ; on one line. Anything else (pipes, &, subshells, groups, keywords,
 * substitutions, here-documents, comments, newlines, history expansion,
 * unbalanced quotes, a trailing operator) makes it return 0: the line is
 * then handled as a whole. Otherwise returns the number of segments
 * written to segs (at most max; a longer list returns 0). */
size_t shunt_split_scan(const char *line, size_t len, struct shunt_split_seg *segs, size_t max);

/* The split answer for a line whose whole-line decision is `whole` (not
 * host): each segment is decided on its own; those not host are wrapped.
 * Returns 1 and fills out with "split K\n", K times SPEC\0WHY\0, then the
 * rewritten line and \0; 0 when the line must be handled as a whole
 * (unsplittable, or a split would not carry the whole line's verdict: a
 * line-scope rule, or a state-changing command before a risky one); -1
 * on error. */
int shunt_split_line(const struct shunt_ctx *ctx, const char *line,
		     const struct shunt_decision *whole, enum shunt_source source, bool interactive,
		     struct shunt_buf *out, struct shunt_error **err);

/* Writes d as ACTION:RUNTIME:PROFILE:RISK:SCORE:RULE,RULE... ("-" for no
 * runtime or profile), the form `shunt exec --decided` reads. */
void shunt_split_spec_format(const struct shunt_decision *d, struct shunt_buf *out);

/* Parses a SPEC into d (rules point into spec, which is cut). Only
 * sandbox, prompt and block are accepted, and never the GODMODE profile:
 * a carried decision may not let a command onto the host or into the
 * broadest sandbox. -1 with a usage error otherwise. */
int shunt_split_spec_parse(char *spec, struct shunt_decision *d, struct shunt_error **err);

#endif
