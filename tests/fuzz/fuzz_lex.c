/* libFuzzer target for the lexer: lexes the input as a line (fixed 64 KiB
 * arena, as the shim does, and a heap arena) and as an argv split at NULs,
 * and checks the output invariants. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"

static void check(const struct shunt_cmdline *cl, int rc)
{
	if (rc != 0 && rc != -ENOMEM)
		abort();
	if (rc == -ENOMEM && !cl->truncated)
		abort();
	if (!cl->line || cl->n > cl->cap)
		abort();
	(void)strlen(cl->line);
	for (size_t k = 0; k < cl->n; k++) {
		const struct shunt_simple *c = &cl->cmds[k];
		if (!c->argv || !c->prog || !c->norm || !c->assigns)
			abort();
		for (size_t j = 0; j < c->argc; j++)
			if (!c->argv[j])
				abort();
		if (c->argv[c->argc] != NULL)
			abort();
		for (size_t j = 0; j < c->nassigns; j++)
			(void)strlen(c->assigns[j]);
		for (size_t j = 0; j < c->nredirs; j++)
			if (!c->redirs || !c->redirs[j].target)
				abort();
		/* norm is printable: no control bytes */
		for (const char *q = c->norm; *q; q++)
			if ((unsigned char)*q < 0x20)
				abort();
		if (c->depth > 16)
			abort();
		if (c->argc && strchr(c->prog, '/') && c->prog[strlen(c->prog) - 1] != '/')
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct shunt_lex_ctx ctx = {
	    .home = "/home/u", .cwd = "/home/u/w", .workspace = "/home/u/w"};
	static char stackbuf[64 * 1024];
	struct shunt_arena a;
	struct shunt_cmdline cl;

	shunt_arena_init_fixed(&a, stackbuf, sizeof(stackbuf));
	check(&cl, shunt_lex_line((const char *)data, size, &ctx, &a, &cl));

	shunt_arena_init_heap(&a);
	int rc = shunt_lex_line((const char *)data, size, &ctx, &a, &cl);
	if (rc != 0)
		abort(); /* a heap arena never runs out on fuzz-sized input */
	check(&cl, rc);
	shunt_arena_release(&a);

	/* the same bytes as an argv split at NULs */
	char *copy = malloc(size + 1);
	const char *av[64];
	size_t ac = 0;
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	av[ac++] = copy;
	for (size_t k = 0; k < size && ac < 64; k++)
		if (copy[k] == '\0')
			av[ac++] = copy + k + 1;
	shunt_arena_init_heap(&a);
	rc = shunt_lex_argv(size ? "/bin/x" : NULL, av, ac, &ctx, &a, &cl);
	if (rc != 0)
		abort();
	check(&cl, rc);
	shunt_arena_release(&a);
	free(copy);
	return 0;
}
