/* A byte-preserving editor for JSON-with-comments files such as VS Code's
 * and Cursor's settings.json. It never re-serialises the document: it
 * inserts one marked block of text and can later remove exactly that
 * block, so comments, trailing commas, ordering and indentation outside
 * the block are untouched and uninstall restores the original bytes. */
#ifndef SHUNT_JSONC_H
#define SHUNT_JSONC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

struct shunt_jsonc_kv {
	const char *key;
	const char *value; /* stored as a JSON string */
};

/* Checks that doc is one JSONC value whose top level is an object
 * (comments and trailing commas allowed). Returns 0 and the offset of the
 * top-level '{' in *obj_open, or -1 with *err "line L, column C: what". An
 * empty or all-whitespace document counts as an empty object with
 * *obj_open = (size_t)-1. */
int shunt_jsonc_validate(const char *doc, size_t len, size_t *obj_open, struct shunt_error **err);

/* Finds member key of the object whose '{' is at obj_open. Returns 1 and
 * the value's [*vstart, *vend) span, 0 when absent (the last occurrence
 * wins, as in VS Code), -1 when the object is malformed. */
int shunt_jsonc_find(const char *doc, size_t len, size_t obj_open, const char *key, size_t *vstart,
		     size_t *vend);

/* Writes to out a copy of doc in which the object at path (keys from the
 * top level; created as nested objects where missing) holds the members
 * kv[0..n) inside a block delimited by comments naming tag, inserted right
 * after the object's '{'. An existing block with that tag is replaced
 * (byte-identical output when nothing changed). Fails (-1, *err) when doc
 * is not valid JSONC, a path element is not an object, or the object
 * already has one of the keys outside the block (the user's own setting
 * would win). Indentation and line endings follow the document. */
int shunt_jsonc_block_set(const char *doc, size_t len, const char *const *path, size_t npath,
			  const struct shunt_jsonc_kv *kv, size_t n, const char *tag,
			  struct shunt_buf *out, struct shunt_error **err);

/* Writes to out doc without the block tagged tag (exactly the bytes
 * shunt_jsonc_block_set inserted). Returns 1 when a block was removed, 0
 * when there was none (out is a copy), -1 on a damaged block. */
int shunt_jsonc_block_remove(const char *doc, size_t len, const char *tag, struct shunt_buf *out,
			     struct shunt_error **err);

/* True when doc holds a block tagged tag. */
bool shunt_jsonc_block_present(const char *doc, size_t len, const char *tag);

/* Which editor's integrated terminal we are running in, from the
 * environment: "cursor", "vscode", or NULL. For shunt doctor and
 * shunt install. Not thread-safe (reads the environment). */
const char *shunt_editor_detect(void);

#endif
