/* Shared pieces of `shunt install`: reading a target file, writing it after
 * backup/diff/confirm, and the marked block in shell rc files. The rc-file
 * and editor-settings installers (cmd_install.c, install_editors.c) both use
 * them, so every file shunt edits is handled the same way. */
#ifndef SHUNT_HOOK_INSTALL_H
#define SHUNT_HOOK_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

struct shunt_install_opts {
	const char *target;
	const char *editors; /* --editor NAME[,NAME...], or NULL */
	bool uninstall, yes, dry_run, json;
};

/* Reads path into *data (NUL-terminated); a missing file reads as empty
 * with *exists false and mode 0644. Fails on a non-regular file. */
int shunt_install_read(const char *path, char **data, size_t *len, mode_t *mode, bool *exists,
		       struct shunt_error **err);

/* The shell's rc file (~/.bashrc; ${USER_ZDOTDIR:-${ZDOTDIR:-~}}/.zshrc) in
 * *path (caller frees), read as shunt_install_read does. */
int shunt_install_rc_load(const char *shell, char **path, char **data, size_t *len, mode_t *mode,
			  bool *exists, struct shunt_error **err);

/* Writes new content to path when it differs from old: shows a diff on
 * --dry-run (writing nothing) or when confirm is set without --yes (then
 * asks on /dev/tty), writes a timestamped backup of an existing file, then
 * replaces it atomically with mode. *result says what happened: "unchanged",
 * "would change", "updated", "removed", "declined". Returns 0, or -1 with
 * *err (no terminal to confirm, write failures). */
int shunt_install_apply(const struct shunt_install_opts *o, const char *path, const char *old,
			size_t oldlen, bool exists, mode_t mode, const char *new, size_t newlen,
			bool confirm, const char **result, struct shunt_error **err);

/* Writes to out a copy of doc in which the block from the line begin to the
 * line end (both "...\n" marker lines) is replaced by block, or removed when
 * block is NULL; a missing block is appended (after a newline). Returns 1
 * when a block was found, 0 when not, -1 (*err) when begin has no end. */
int shunt_install_rc_edit(const char *doc, size_t len, const char *begin, const char *end,
			  const char *block, struct shunt_buf *out, const char *path,
			  struct shunt_error **err);

/* Installs (or with o->uninstall removes) shunt in editor terminals:
 * o->target is "vscode", "editors", "cursor" or one editor's name. */
int shunt_install_editors(const struct shunt_install_opts *o, struct shunt_error **err);

/* True when target names an editor shunt install knows. */
bool shunt_install_is_editor(const char *target);

#endif
