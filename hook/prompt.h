/* Asking the human on the terminal (/dev/tty, never stdin, so that
 * `cmd | tee log` still prompts). */
#ifndef SHUNT_PROMPT_H
#define SHUNT_PROMPT_H

#include <stddef.h>

#include "buf.h"
#include "policy.h"

enum shunt_prompt_answer {
	SHUNT_PROMPT_NO,
	SHUNT_PROMPT_YES,
	SHUNT_PROMPT_REMEMBER,
	SHUNT_PROMPT_SANDBOX,
	SHUNT_PROMPT_NO_TTY,
	SHUNT_PROMPT_GODMODE,	/* the word GODMODE typed: run in the GODMODE profile */
	SHUNT_PROMPT_TIMEOUT,	/* no answer within the timeout: the safe answer, no */
	SHUNT_PROMPT_ABANDONED, /* Ctrl-C (or hangup, TERM) at the prompt: not run */
};

/* Shows the command, its risk and why, and reads y/r/s/d/n (n is the
 * default; d prints details and asks again). A GODMODE profile requires
 * the word GODMODE typed in full. Each question waits at most timeout
 * seconds (0: no limit), then answers SHUNT_PROMPT_TIMEOUT. SIGINT, SIGHUP
 * or SIGTERM while it asks answer SHUNT_PROMPT_ABANDONED (the signal is
 * consumed). Returns SHUNT_PROMPT_NO_TTY when /dev/tty cannot be opened. */
enum shunt_prompt_answer shunt_prompt_ask(const char *cmd, const struct shunt_decision *d,
					  const char *details, unsigned timeout);

/* Screen columns for one-line messages: the terminal's width when fd (or
 * else /dev/tty) is one, else 200. */
size_t shunt_prompt_columns(int fd);

/* Appends cmd to out, cut so that it fits in room bytes: a cut command
 * ends in "... (N bytes)". Control characters (newlines included) are
 * shown as '?', so the text stays on one line. */
void shunt_prompt_cut(struct shunt_buf *out, const char *cmd, size_t room);

/* Prints prefix, one screen line of cmd (shunt_prompt_cut) and suffix,
 * then a newline, on stderr. */
void shunt_prompt_say(const char *prefix, const char *cmd, const char *suffix);

#endif
