/* Bump allocator. The evaluation path (lexer, unwrapping, matching,
 * deciding) allocates only from an arena so that the shim can run it on a
 * stack buffer with no malloc, even in a vfork child. */
#ifndef SHUNT_ARENA_H
#define SHUNT_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct shunt_arena_chunk;

struct shunt_arena {
	char *base;			  /* current chunk */
	size_t size;			  /* bytes in current chunk */
	size_t used;			  /* bytes used in current chunk */
	bool can_grow;			  /* heap arenas may malloc new chunks */
	struct shunt_arena_chunk *chunks; /* heap chunks to free */
	size_t limit;			  /* total bytes a heap arena may take (0 = 256 MiB) */
	size_t total;
};

/* Fixed arena over caller memory (e.g. a stack buffer). Never mallocs:
 * allocations fail (NULL) once buf is used up. Async-signal-safe. */
void shunt_arena_init_fixed(struct shunt_arena *a, void *buf, size_t size);

/* Growable arena backed by malloc'd chunks. Release with
 * shunt_arena_release(). */
void shunt_arena_init_heap(struct shunt_arena *a);

/* Frees the heap chunks of a growable arena; no-op for fixed ones. */
void shunt_arena_release(struct shunt_arena *a);

/* Returns 16-byte aligned zeroed memory, or NULL when exhausted. */
void *shunt_arena_alloc(struct shunt_arena *a, size_t n);

/* Copies n bytes of s plus a NUL terminator; NULL when exhausted. */
char *shunt_arena_strndup(struct shunt_arena *a, const char *s, size_t n);

/* shunt_arena_strndup(a, s, strlen(s)). */
char *shunt_arena_strdup(struct shunt_arena *a, const char *s);

/* Mark/reset: memory handed out after a mark is reused after reset. */
struct shunt_arena_mark {
	char *base;
	size_t used;
};
struct shunt_arena_mark shunt_arena_mark(const struct shunt_arena *a);
void shunt_arena_reset(struct shunt_arena *a, struct shunt_arena_mark m);

#endif
