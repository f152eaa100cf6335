/* Rendering of a decision's details (shunt explain, the prompt's "d"). */
#ifndef SHUNT_EXPLAIN_H
#define SHUNT_EXPLAIN_H

#include <stdbool.h>

#include "buf.h"
#include "policy.h"

/* Appends the per-command explanation of d to out; color adds ANSI
 * highlighting of matched spans, otherwise spans are wrapped in [[ ]]. */
void shunt_explain_render(const struct shunt_decision *d, bool color, struct shunt_buf *out);

#endif
