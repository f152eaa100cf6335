/* Notices an agent can act on: with SHUNT_NOTICE_FORMAT=json every
 * refusal and sandbox notice is one JSON line on stderr instead of text. */
#ifndef SHUNT_NOTICE_H
#define SHUNT_NOTICE_H

#include <stdbool.h>

#include "policy.h"

/* True when SHUNT_NOTICE_FORMAT=json. */
bool shunt_notice_json_wanted(void);

/* Writes the JSON notice to stderr, one line, stable fields:
 *   notice   "blocked" | "sandboxed" | what (as the text notice says it)
 *   command, rules[] (rule ids), why, risk,
 *   effect   "remote" (acts on another system) or "local"
 *   contained {runtime, profile} for a sandboxed run, else null
 *   instead  what the agent may do instead (a sentence)
 * runtime/profile NULL outside a sandbox. */
void shunt_notice_json(const char *notice, const struct shunt_decision *d, const char *cmd,
		       const char *runtime, const char *profile);

#endif
