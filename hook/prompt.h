/* Asking the human on the terminal (/dev/tty, never stdin, so that
 * `cmd | tee log` still prompts). */
#ifndef SHUNT_PROMPT_H
#define SHUNT_PROMPT_H

#include "policy.h"

enum shunt_prompt_answer {
	SHUNT_PROMPT_NO,
	SHUNT_PROMPT_YES,
	SHUNT_PROMPT_REMEMBER,
	SHUNT_PROMPT_SANDBOX,
	SHUNT_PROMPT_NO_TTY,
	SHUNT_PROMPT_GODMODE, /* the word GODMODE typed: run in the GODMODE profile */
};

/* Shows the command, its risk and why, and reads y/r/s/d/n (n is the
 * default; d prints details and asks again). A GODMODE profile requires
 * the word GODMODE typed in full. Returns SHUNT_PROMPT_NO_TTY when
 * /dev/tty cannot be opened. */
enum shunt_prompt_answer shunt_prompt_ask(const char *cmd, const struct shunt_decision *d,
					  const char *details);

#endif
