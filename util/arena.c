#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct shunt_arena_chunk {
	struct shunt_arena_chunk *next;
	size_t size;
	char data[];
};

#define ARENA_ALIGN	 16u
#define ARENA_CHUNK_MIN	 (64u * 1024u)
#define ARENA_HEAP_LIMIT ((size_t)256 * 1024 * 1024)

void shunt_arena_init_fixed(struct shunt_arena *a, void *buf, size_t size)
{
	uintptr_t p = (uintptr_t)buf;
	uintptr_t aligned = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
	size_t skip = (size_t)(aligned - p);
	a->base = (char *)aligned;
	a->size = size > skip ? size - skip : 0;
	a->used = 0;
	a->can_grow = false;
	a->chunks = NULL;
	a->limit = 0;
	a->total = 0;
}

void shunt_arena_init_heap(struct shunt_arena *a)
{
	memset(a, 0, sizeof(*a));
	a->can_grow = true;
}

void shunt_arena_release(struct shunt_arena *a)
{
	struct shunt_arena_chunk *c = a->chunks;
	while (c) {
		struct shunt_arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->chunks = NULL;
	if (a->can_grow) {
		a->base = NULL;
		a->size = a->used = a->total = 0;
	}
}

static int arena_grow(struct shunt_arena *a, size_t n)
{
	size_t limit = a->limit ? a->limit : ARENA_HEAP_LIMIT;
	size_t want = n + ARENA_ALIGN > ARENA_CHUNK_MIN ? n + ARENA_ALIGN : ARENA_CHUNK_MIN;
	if (a->size > want / 2 && a->size < limit / 4)
		want = a->size * 2 > want ? a->size * 2 : want;
	if (want > limit || a->total > limit - want)
		return -1;
	struct shunt_arena_chunk *c = malloc(sizeof(*c) + want + ARENA_ALIGN);
	if (!c)
		return -1;
	c->next = a->chunks;
	c->size = want;
	a->chunks = c;
	a->total += want;
	uintptr_t p = (uintptr_t)c->data;
	uintptr_t aligned = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
	a->base = (char *)aligned;
	a->size = want;
	a->used = 0;
	return 0;
}

void *shunt_arena_alloc(struct shunt_arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2)
		return NULL;
	size_t rounded = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (!a->base || a->size - a->used < rounded) {
		if (!a->can_grow || arena_grow(a, rounded) < 0)
			return NULL;
	}
	void *p = a->base + a->used;
	a->used += rounded;
	memset(p, 0, n);
	return p;
}

char *shunt_arena_strndup(struct shunt_arena *a, const char *s, size_t n)
{
	char *p = shunt_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *shunt_arena_strdup(struct shunt_arena *a, const char *s)
{
	return shunt_arena_strndup(a, s, strlen(s));
}

struct shunt_arena_mark shunt_arena_mark(const struct shunt_arena *a)
{
	struct shunt_arena_mark m = {a->base, a->used};
	return m;
}

void shunt_arena_reset(struct shunt_arena *a, struct shunt_arena_mark m)
{
	if (a->base == m.base)
		a->used = m.used;
}
