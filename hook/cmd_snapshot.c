/* shunt snapshot: write (and check) the shim's precompiled policy. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "context.h"
#include "snapshot.h"

static const char snapshot_usage[] =
    "usage: shunt snapshot [--output PATH] [--default] [--check]\n"
    "Writes the precompiled policy the LD_PRELOAD shim decides with, from the\n"
    "current configuration, rules and trust store (default path: $SHUNT_SNAPSHOT,\n"
    "else $XDG_STATE_HOME/shunt/policy.snap).\n"
    "  --default  built-in defaults only: no user files, no trust (used at build time)\n"
    "  --check    only load the existing snapshot and report whether it is valid\n";

static int check(const char *path, struct shunt_error **err)
{
	struct shunt_snapshot s;
	int rc = shunt_snapshot_load(path, &s);
	if (rc < 0) {
		shunt_error_set(err, -rc, "%s: %s; rewrite it with: shunt snapshot", path,
				shunt_snapshot_strerror(rc));
		(*err)->exitcode = 1;
		return -1;
	}
	printf("%s: ok: %zu rules, %zu allowlist, %zu denylist, %zu trust entries, %zu bytes\n",
	       path, s.policy.nrules, s.policy.nallowlist, s.policy.ndenylist, s.policy.ntrust,
	       (size_t)s.size);
	shunt_snapshot_unload(&s);
	return 0;
}

int shunt_cmd_snapshot(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(snapshot_usage, stdout);
		return 0;
	}
	const char *output = NULL;
	bool defaults = false, only_check = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--output") == 0 || strcmp(argv[i], "-o") == 0) {
			if (i + 1 >= argc) {
				shunt_error_set(err, EINVAL, "--output needs a path");
				(*err)->exitcode = 2;
				return -1;
			}
			output = argv[++i];
		} else if (strcmp(argv[i], "--default") == 0) {
			defaults = true;
		} else if (strcmp(argv[i], "--check") == 0) {
			only_check = true;
		} else {
			shunt_error_set(err, EINVAL,
					"snapshot: unknown option '%s' (see shunt snapshot --help)",
					argv[i]);
			(*err)->exitcode = 2;
			return -1;
		}
	}
	_cleanup_free_ char *path = output ? strdup(output) : shunt_snapshot_path();
	if (!path)
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (only_check)
		return check(path, err) < 0 ? -1 : 0;

	struct shunt_ctx ctx;
	unsigned flags = SHUNT_CTX_NO_SNAPSHOT;
	if (defaults)
		flags |= SHUNT_CTX_DEFAULTS | SHUNT_CTX_NO_TRUST;
	if (shunt_ctx_load(&ctx, flags, err) < 0)
		return -1;
	if (defaults) {
		/* a build-time default must not depend on the build machine */
		ctx.policy.gvisor_available = false;
		ctx.policy.trust = NULL;
		ctx.policy.ntrust = 0;
	}
	/* the per-user snapshot says which layers it came from */
	int rc =
	    output || defaults
		? shunt_snapshot_write(&ctx.policy, path, err)
		: shunt_snapshot_write_stamped(&ctx.policy, path, shunt_ctx_snapshot_inputs(), err);
	shunt_ctx_free(&ctx);
	if (rc < 0)
		return -1;
	/* read it back through the shim's loader so a bad write shows now */
	if (check(path, err) < 0)
		return -1;
	return 0;
}
