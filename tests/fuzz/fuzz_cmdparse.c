/* libFuzzer target for the command parser (policy/cmdparse.c) and the
 * path cleaning it shares with the lexer: lexes the input as a line,
 * parses every simple command, and checks the invariants: every option
 * and positional is a string, positionals never contain "/../" once
 * cleaned from an absolute path, and the verb helpers terminate. Also
 * runs with a small fixed arena, as the shim does. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdparse.h"
#include "lex.h"

static void run(struct shunt_arena *a, const uint8_t *data, size_t size, bool heap)
{
	static const struct shunt_lex_ctx ctx = {
	    .home = "/home/u", .cwd = "/home/u/w", .workspace = "/home/u/w"};
	struct shunt_cmdline cl;
	int rc = shunt_lex_line((const char *)data, size, &ctx, a, &cl);
	if (rc < 0 && (heap || rc != -ENOMEM))
		abort();
	for (size_t k = 0; k < cl.n; k++) {
		const struct shunt_simple *c = &cl.cmds[k];
		struct shunt_parsed pc;
		rc = shunt_cmdparse(c->prog, c->argv, c->argc, &ctx, a, &pc);
		if (rc == -ENOMEM && !heap)
			return;
		if (rc != 0)
			abort();
		if (pc.npos >= (c->argc ? c->argc : 1) && pc.npos)
			abort();
		for (size_t i = 0; i < pc.nopts; i++)
			if (!pc.opts[i].name || pc.opts[i].name[0] != '-')
				abort();
		rc = shunt_cmdparse_operands(&pc);
		if (rc == -ENOMEM && !heap)
			return;
		if (rc != 0)
			abort();
		for (size_t i = 0; i < pc.npos; i++) {
			const char *w = pc.pos[i];
			if (!w)
				abort();
			if (w[0] == '/' && (strstr(w, "/../") || strstr(w, "//")))
				abort();
		}
		(void)shunt_cmdparse_readonly(&pc);
		(void)shunt_cmdparse_destroy_verb(&pc);
		for (size_t i = 0; i < pc.nopts; i++)
			(void)shunt_cmdparse_has_opt(&pc, pc.opts[i].name);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char small[16 * 1024];
	struct shunt_arena a;
	shunt_arena_init_fixed(&a, small, sizeof(small));
	run(&a, data, size, false);
	shunt_arena_init_heap(&a);
	run(&a, data, size, true);
	shunt_arena_release(&a);
	return 0;
}
