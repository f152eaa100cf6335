/* Rendering of a decision's details (shunt explain, the prompt's "d"). */
#ifndef SHUNT_EXPLAIN_H
#define SHUNT_EXPLAIN_H

#include <stdbool.h>

#include "buf.h"
#include "policy.h"

/* Appends the per-command explanation of d to out; color adds ANSI
 * highlighting of matched spans, otherwise spans are wrapped in [[ ]]. */
void shunt_explain_render(const struct shunt_decision *d, bool color, struct shunt_buf *out);

struct shunt_ctx;
struct shunt_error;
/* shunt explain --shim: prints what the shim decides for the exec of argv
 * (NULL-terminated) and why, as text or one JSON object. 0, or negative
 * with *err set. */
int shunt_explain_shim(const struct shunt_ctx *ctx, char *const *argv, bool json,
		       struct shunt_error **err);

#endif
