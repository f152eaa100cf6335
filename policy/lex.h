/* Command-line lexer and normaliser: turns a shell line (hook, cli) or an
 * argv (shim) into the list of simple commands that rules judge. Best
 * effort by design: it never rejects a line, it only fails when its arena
 * runs out. All memory comes from the arena. */
#ifndef SHUNT_LEX_H
#define SHUNT_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* Flags on a simple command. */
enum {
	SHUNT_CMD_DYNAMIC_NAME = 1u << 0, /* name came from $x, $(..), `..`: not static */
	SHUNT_CMD_PIPE_OUT = 1u << 1,     /* stdout feeds the next command via | */
	SHUNT_CMD_PIPE_IN = 1u << 2,      /* stdin comes from a previous command via | */
	SHUNT_CMD_SUBST = 1u << 3,        /* inside $(..), `..` or <(..) >(..) */
	SHUNT_CMD_BACKGROUND = 1u << 4,   /* followed by & */
	SHUNT_CMD_UNWRAPPED = 1u << 5,    /* produced by unwrapping a wrapper (sudo, env, bash -c, ...) */
	SHUNT_CMD_SUBSHELL = 1u << 6,     /* inside ( .. ) or { .. } */
	SHUNT_CMD_FUNCDEF = 1u << 7,      /* a function definition body */
};

enum shunt_redir_kind {
	SHUNT_REDIR_IN,       /* <  */
	SHUNT_REDIR_OUT,      /* >, >|, &> */
	SHUNT_REDIR_APPEND,   /* >>, &>> */
	SHUNT_REDIR_HEREDOC,  /* << and <<- (target = delimiter, body skipped) */
	SHUNT_REDIR_HERESTR,  /* <<< */
	SHUNT_REDIR_DUP,      /* >&N, <&N */
	SHUNT_REDIR_RW,       /* <> */
};

struct shunt_redir {
	int fd; /* -1 when not given explicitly */
	enum shunt_redir_kind kind;
	const char *target; /* unquoted target word */
};

struct shunt_simple {
	const char **argv; /* unquoted words, NUL-terminated array; argv[0] is the name as written */
	size_t argc;
	const char *prog;  /* basename of the program (of the resolved exe path for argv input) */
	const char *norm;  /* normalised text rules match: prog + args, single spaces, ~ for $HOME */
	const char **assigns; /* leading NAME=VALUE words */
	size_t nassigns;
	struct shunt_redir *redirs;
	size_t nredirs;
	const char *via;   /* wrapper chain that led here, e.g. "sudo env", or NULL */
	unsigned flags;
	unsigned depth;    /* nesting depth (subst/unwrap) */
	int pipeline;      /* index of the pipeline this command belongs to */
};

struct shunt_cmdline {
	struct shunt_simple *cmds;
	size_t n;
	size_t cap;
	const char *line; /* normalised whole line (for line-scope rules) */
	bool truncated;   /* depth/size limits cut expansion short: callers treat as risky */
};

/* Context for normalisation: how to rewrite paths. All may be NULL. */
struct shunt_lex_ctx {
	const char *home;      /* $HOME: "/home/u" -> "~" in norm */
	const char *cwd;       /* to resolve relative paths for workspace checks */
	const char *workspace; /* workspace root */
};

/* Lexes a shell line into simple commands, removing quotes and escapes,
 * recursing into $(..), `..`, <(..), subshells and heredoc-free bodies, and
 * unwrapping wrappers (sudo, doas, env, nice, nohup, timeout, command,
 * exec, time, stdbuf, xargs, find -exec, bash|sh|zsh|dash -c STRING).
 * Embedded NULs and invalid UTF-8 are tolerated. Returns 0, or -ENOMEM when
 * the arena is exhausted (out is then partially filled and truncated=true).
 * Async-signal-safe with a fixed arena. */
int shunt_lex_line(const char *line, size_t len, const struct shunt_lex_ctx *ctx,
		   struct shunt_arena *a, struct shunt_cmdline *out);

/* Builds the command list for an exec: exe is the resolved executable path
 * (rules see its basename, not a spoofed argv[0]); argv is used from
 * argv[1]. Applies the same unwrapping as shunt_lex_line. Same return and
 * safety contract. */
int shunt_lex_argv(const char *exe, const char *const *argv, size_t argc,
		   const struct shunt_lex_ctx *ctx, struct shunt_arena *a, struct shunt_cmdline *out);

#endif
