/* shunt gate: where the shim re-routes an exec it will not let through on
 * its own. Same as shunt exec, with the shim's resolved executable
 * (--exe) and source shim. With --shim-blocked first: the shim refused the
 * command itself (and said so); only write the decision down. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act.h"
#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "record.h"

/* The command as the shim's message showed it: the normalised line, else
 * the words of argv. */
static char *blocked_text(const struct shunt_decision *d, const struct shunt_cmd_input *in)
{
	if (d->cmdline.line && *d->cmdline.line)
		return strdup(d->cmdline.line);
	if (in->line)
		return strdup(in->line);
	struct shunt_buf b = {0};
	for (size_t i = 0; in->argv[i]; i++) {
		if (i)
			shunt_buf_putc(&b, ' ');
		shunt_buf_puts(&b, in->argv[i]);
	}
	return shunt_buf_steal(&b);
}

static int gate_record_block(int argc, char **argv, struct shunt_error **err)
{
	/* the shim has said it on the terminal already */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	const char *exe = NULL;
	enum shunt_source source = SHUNT_SOURCE_SHIM;
	struct shunt_cmd_input in = {0};
	for (int i = 2; i < argc; i++) {
		int t = shunt_args_take_command(argc, argv, &i, &in, err);
		if (t < 0)
			return -1;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--exe") == 0 && i + 1 < argc) {
			exe = argv[++i];
		} else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc) {
			int s = shunt_source_parse(argv[++i]);
			if (s < 0)
				return shunt_args_usage(err, "unknown source '%s'", argv[i]);
			source = (enum shunt_source)s;
		} else {
			return shunt_args_usage(err, "unknown option '%s'", argv[i]);
		}
	}
	if (!in.line && !in.argv)
		return shunt_args_usage(err, "--shim-blocked: give -c LINE or -- ARGV...");
	struct shunt_ctx ctx;
	if (shunt_ctx_load(&ctx, SHUNT_CTX_FAST, err) < 0)
		return -1;
	struct shunt_arena a;
	shunt_arena_init_heap(&a);
	struct shunt_decision d;
	int rc =
	    shunt_ctx_decide(&ctx, in.line, exe, in.argv, source, ctx.interactive, &a, &d, err);
	if (rc == 0) {
		_cleanup_free_ char *cmd = blocked_text(&d, &in);
		d.action = SHUNT_ACTION_BLOCK; /* what happened, whatever this load says */
		if (cmd)
			shunt_record_decision(&ctx, source, cmd, &d, NULL, false);
		rc = 126;
	}
	shunt_arena_release(&a);
	shunt_ctx_free(&ctx);
	return rc;
}

int shunt_cmd_gate(int argc, char **argv, struct shunt_error **err)
{
	if (argc > 1 && strcmp(argv[1], "--shim-blocked") == 0)
		return gate_record_block(argc, argv, err);
	return shunt_exec_main(argc, argv, true, err);
}
