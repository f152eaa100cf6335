/* shunt gate: where the shim re-routes an exec it will not let through on
 * its own. Same as shunt exec, with the shim's resolved executable. */
#include <stdio.h>
#include <string.h>

#include "act.h"
#include "args.h"
#include "commands.h"

int shunt_exec_parse_common(int argc, char **argv, int *i, struct shunt_act_req *r,
			    struct shunt_error **err);

int shunt_cmd_gate(int argc, char **argv, struct shunt_error **err)
{
	struct shunt_act_req r = {0};
	r.source = SHUNT_SOURCE_SHIM;
	struct shunt_cmd_input in = {0};
	for (int i = 1; i < argc; i++) {
		int t = shunt_args_take_command(argc, argv, &i, &in, err);
		if (t < 0)
			return -1;
		if (t > 0)
			continue;
		if (strcmp(argv[i], "--exe") == 0 && i + 1 < argc) {
			r.exe = argv[++i];
			continue;
		}
		t = shunt_exec_parse_common(argc, argv, &i, &r, err);
		if (t < 0)
			return -1;
		if (t == 0)
			return shunt_args_usage(err, "gate: unknown option '%s'", argv[i]);
	}
	if (!in.line && !in.argv)
		return shunt_args_usage(err, "gate: nothing to run");
	r.line = in.line;
	r.argv = in.argv;
	struct shunt_ctx ctx;
	if (shunt_ctx_load(&ctx, 0, err) < 0)
		return -1;
	int rc = shunt_act(&ctx, &r, err);
	shunt_ctx_free(&ctx);
	return rc;
}
