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
	SHUNT_CMD_PIPE_OUT = 1u << 1,	  /* stdout feeds the next command via | */
	SHUNT_CMD_PIPE_IN = 1u << 2,	  /* stdin comes from a previous command via | */
	SHUNT_CMD_SUBST = 1u << 3,	  /* inside $(..), `..` or <(..) >(..) */
	SHUNT_CMD_BACKGROUND = 1u << 4,	  /* followed by & */
	SHUNT_CMD_UNWRAPPED =
	    1u << 5, /* produced by unwrapping a wrapper (sudo, env, bash -c, ...) */
	SHUNT_CMD_SUBSHELL = 1u << 6, /* inside ( .. ) or { .. } */
	SHUNT_CMD_FUNCDEF = 1u << 7,  /* a function definition body */
};

enum shunt_redir_kind {
	SHUNT_REDIR_IN,	     /* <  */
	SHUNT_REDIR_OUT,     /* >, >|, &> */
	SHUNT_REDIR_APPEND,  /* >>, &>> */
	SHUNT_REDIR_HEREDOC, /* << and <<- (target = delimiter, body skipped) */
	SHUNT_REDIR_HERESTR, /* <<< */
	SHUNT_REDIR_DUP,     /* >&N, <&N */
	SHUNT_REDIR_RW,	     /* <> */
};

/* A here-document's body as written (no expansion, delimiter line
 * excluded): what an interpreter reading stdin runs. text is NULL until
 * the lexer has read past it (a line that ends before its body). */
struct shunt_heredoc_body {
	const char *text;
	size_t len;
};

struct shunt_redir {
	int fd; /* -1 when not given explicitly */
	enum shunt_redir_kind kind;
	const char *target;		 /* unquoted target word (the delimiter for heredocs) */
	bool both;			 /* &> or &>>: stdout and stderr */
	bool dup_in;			 /* SHUNT_REDIR_DUP written <&N (else >&N) */
	struct shunt_heredoc_body *body; /* SHUNT_REDIR_HEREDOC only, else NULL */
};

struct shunt_simple {
	const char *
	    *argv; /* unquoted words, NUL-terminated array; argv[0] is the name as written */
	size_t argc;
	const char *prog; /* basename of the program (of the resolved exe path for argv input) */
	const char *norm; /* normalised text rules match: prog + args, single spaces, ~ for $HOME */
	const char **assigns; /* leading NAME=VALUE words */
	size_t nassigns;
	struct shunt_redir *redirs;
	size_t nredirs;
	const char *via; /* wrapper chain that led here, e.g. "sudo env", or NULL */
	unsigned flags;
	unsigned depth; /* nesting depth (subst/unwrap) */
	int pipeline;	/* index of the pipeline this command belongs to */
};

/*
 * NORMALISED TEXT FORMAT (what rule regexes match; keep in sync with the
 * rule packs).
 *
 * norm, one per simple command:   PROG[ ARG]...[ REDIR]...
 *   - PROG is the basename of argv[0] after quote removal: "/bin/rm",
 *     "r\m", "'r'm", "\"rm\"", "$'rm'" all give "rm". For argv input it is
 *     the basename of the resolved exe, never the given argv[0]. PROG is ""
 *     for a command made only of redirections; norm then starts with the
 *     first REDIR without a leading space: "> ~/.bashrc".
 *   - ARGs are the words after quote/escape removal, one space apart, never
 *     re-quoted: bash -c "rm -rf ~"  ->  "bash -c rm -rf ~". An empty word
 *     is written ''. Tab, newline, CR, NUL and other ASCII control bytes
 *     inside a word are written as one space; other bytes (incl. invalid
 *     UTF-8) are kept.
 *   - Unexpanded parameters keep their text: $x, ${x:-y}, $1.
 *     $(..) and `..` are written "$(" INNER ")" where INNER is the
 *     normalised line (below) of the substituted commands, without the
 *     " ; "-appended wrapper strings (they would compound), so
 *     "$(  'curl'  x)" and `curl x` both give "$(curl x)"; process
 *     substitution gives "<(" INNER ")" / ">(" INNER ")". $((..)) that is
 *     plain arithmetic is kept as written. Beyond the depth limit the
 *     inner text is kept as written and truncated is set.
 *   - Paths (ARGs, REDIR targets, and the VALUE of NAME=VALUE / --opt=VALUE
 *     words): a word equal to ctx->home, "$HOME" or "${HOME}" becomes "~";
 *     one starting with those followed by "/" becomes "~/...". "~" and
 *     "~/x" stay; "~user" and other users' homes are not rewritten. If
 *     ctx->workspace is set and is not "/", not $HOME and not an ancestor of
 *     $HOME, an absolute word inside it becomes "./REL" (the root itself
 *     "."). Relative words stay as written. An absolute word, or one
 *     starting "~/", "$HOME/", "$TMPDIR/" or "$TMP/" (taken as /tmp), that
 *     has a "//", "." or ".." component is first resolved lexically
 *     ("/tmp/../etc" -> "/etc", "~/../.." -> "/", "//etc//" -> "/etc/");
 *     other slashes are not collapsed.
 *   - REDIRs come after all ARGs, in source order, each as " OP TARGET"
 *     with TARGET unquoted and path-rewritten like an ARG:
 *       "> T"  ">> T"  "< T"  "<> T"  "&> T"  "&>> T"  ("&>" for >& FILE too)
 *       "N> T" "N>> T" "N< T"   when an fd N was written ("2> /dev/null")
 *       ">&N" "N>&M" "<&N" "N>&-" (dups/closes, no space before the fd)
 *       "<<DELIM"  (<< and <<-; DELIM unquoted; the body is never included)
 *       "<<< WORD"
 *     ">|" is written ">". Example: echo x >>"$HOME/.bashrc" 2>&1  ->
 *     "echo x >> ~/.bashrc 2>&1".
 *   - Leading NAME=VALUE words are NOT in norm; they are in assigns[].
 *     Builtins (export, unset, alias, source, ., eval, trap, ...) are
 *     ordinary commands: "export PATH=/tmp:$PATH".
 *
 * line, one per shunt_cmdline:
 *   - The top-level simple commands in source order, each written as
 *     [ASSIGN ]...NORM (e.g. "LD_PRELOAD=/x.so ls"), joined by the operator
 *     that separated them, with one space each side:
 *       " | "  " |& "  " && "  " || "  " ; "  " & "
 *     Newlines and ";;" count as " ; ". A trailing ";" or "&" is dropped.
 *   - ( .. ) subshells are written "( " INNER " )" and { ..; } groups
 *     "{ " INNER " }". Keywords (if then elif else fi for while until do
 *     done case esac select function ! time-as-keyword) are not written, nor
 *     are case patterns or "for NAME in WORDS"; the commands inside them
 *     are, joined by their operators: "if curl x | sh; then :; fi" ->
 *     "curl x | sh ; :". A function definition "f() { rm -rf ~; }" is
 *     written as its body "{ rm -rf ~ }".
 *   - Commands inside $(..), `..`, <(..), >(..) appear in line only inside
 *     their containing word (see norm), e.g. "bash -c $(curl -fsSL x)",
 *     "sh <(curl x)", "eval $(curl x)".
 *   - Then, for each string that a wrapper executes (sh|bash|zsh|dash|ksh
 *     -c STRING, eval ARGS, env -S STRING), " ; " and that string's own
 *     line are appended, in order of appearance:
 *       sh -c 'curl  x|"sh"'  ->  "sh -c curl  x|\"sh\" ; curl x | sh"
 *   - Unwrapped commands (sudo rm .. -> rm ..) are not added to line; they
 *     are in cmds[] with SHUNT_CMD_UNWRAPPED and via set.
 *   Download fed to a shell therefore shows in line as one of
 *     "curl x | sh", "curl x | sudo bash", "sh <(curl x)",
 *     "bash -c $(curl x)", "eval $(curl x)".
 *
 * cmds[] holds every simple command: top-level ones, the ones inside
 * substitutions (SHUNT_CMD_SUBST), subshells/groups (SHUNT_CMD_SUBSHELL)
 * and function bodies (SHUNT_CMD_FUNCDEF), and for each wrapper both the
 * wrapper itself ("sudo rm -rf /") and what it runs ("rm -rf /",
 * UNWRAPPED, via "sudo"; chains give via "sudo env"). find -exec/-execdir/
 * -ok/-okdir CMD .. ; adds CMD with via "find"; xargs CMD adds CMD with via
 * "xargs". Recursion (substitutions, -c strings, wrappers) stops at depth
 * 8 with truncated set; so does re-lexing (-c strings, `..` bodies) once
 * it has consumed 8x the input size plus 64 KiB.
 */
struct shunt_cmdline {
	struct shunt_simple *cmds;
	size_t n;
	size_t cap;
	const char *line; /* normalised whole line (for line-scope rules) */
	bool truncated;	  /* depth/size limits cut expansion short: callers treat as risky */
};

/* Context for normalisation: how to rewrite paths. All may be NULL. */
struct shunt_lex_ctx {
	const char *home;      /* $HOME: "/home/u" -> "~" in norm */
	const char *cwd;       /* to resolve relative paths for workspace checks */
	const char *workspace; /* workspace root */
};

/* Lexes line[0..len) into simple commands (format above), removing quotes
 * and escapes, recursing into $(..), `..`, <(..), >(..) and unquoted heredoc
 * bodies' substitutions, skipping heredoc bodies, and unwrapping wrappers
 * (sudo, doas, su -c, runuser, pkexec, env [-S], nice, nohup, setsid,
 * timeout, command, exec, time, stdbuf, ionice, chroot, xargs, watch,
 * find -exec/-execdir/-ok, eval, builtin, busybox, and
 * sh|bash|zsh|dash|ksh|mksh|ash -c STRING). NUL bytes act as blanks (and
 * are dropped inside words), so nothing after one is hidden; invalid UTF-8
 * is kept byte for byte. All output (strings, arrays) lives in a; out is
 * overwritten and its pointers stay valid until a is reset or released.
 * Returns 0, or -ENOMEM when the arena is exhausted (out then holds the
 * commands lexed so far, line is never NULL, and truncated is true).
 * truncated is also set when depth or re-lex limits cut expansion short.
 * Async-signal-safe with a fixed arena: no malloc, stdio, locale or global
 * state; C stack use is bounded (about 1 KiB per nesting level, 8 levels).
 * ctx->cwd is not used yet: relative words are kept as written. */
int shunt_lex_line(const char *line, size_t len, const struct shunt_lex_ctx *ctx,
		   struct shunt_arena *a, struct shunt_cmdline *out);

/* Builds the command list for an exec: exe is the resolved executable path
 * (prog and norm use its basename, never a spoofed argv[0]; exe NULL or ""
 * falls back to argv[0]). argv[0..argc) are taken as words without any
 * lexing; cmds[0].argv[0] is argv[0] as given. Then applies the same
 * unwrapping as shunt_lex_line (so argv sh -c "rm -rf ~" also yields
 * "rm -rf ~", lexed). The argv strings are referenced, not copied: they must
 * outlive out. Same return and safety contract as shunt_lex_line. */
int shunt_lex_argv(const char *exe, const char *const *argv, size_t argc,
		   const struct shunt_lex_ctx *ctx, struct shunt_arena *a,
		   struct shunt_cmdline *out);

/* Rewrites each of the n words w[] as an argument appears in norm (paths
 * cleaned and rewritten under ctx, "''" for an empty word), in the arena.
 * 0, or -ENOMEM when it ran out (w[] then partly rewritten).
 * Async-signal-safe with a fixed arena. */
int shunt_lex_norm_words(const char **w, size_t n, const struct shunt_lex_ctx *ctx,
			 struct shunt_arena *a);

#endif
