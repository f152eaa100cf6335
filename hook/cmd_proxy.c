/* shunt proxy: the network allowlist's filtering proxy in the foreground,
 * for debugging and tests. `shunt run --network allowlist` starts its own
 * per run; this is the same code on a socket of your choosing. */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "config.h"
#include "netpresets.h"
#include "netproxy.h"
#include "netrelay.h"

static const char proxy_usage[] =
    "usage: shunt proxy --listen-unix PATH --allow HOST [--allow HOST...] [--run-id ID]\n"
    "Internal/debug: serves the filtering proxy (HTTP CONNECT and absolute-URI\n"
    "HTTP) on a unix socket until killed. HOST: name, *.domain, IP or CIDR, with\n"
    "an optional :PORT (default 80 and 443, :* any port), or a preset (@npm,\n"
    "@pypi, @crates, @go, @rubygems, @debian). Names resolving to loopback,\n"
    "private or link-local addresses are refused unless the address is allowed\n"
    "explicitly. Decisions go to the audit log (events net-allow / net-deny).\n"
    "\n"
    "usage: shunt proxy --relay SOCKET -- COMMAND...\n"
    "Internal (gVisor runner): relays 127.0.0.1:3128 to SOCKET, then runs COMMAND.\n"
    "\n"
    "usage: shunt proxy --hand-over SOCKET\n"
    "Internal (microVM runner, QEMU guestfwd cmd:): passes the connection on\n"
    "stdin to the proxy at SOCKET and exits.\n";

/* shunt proxy --relay SOCKET -- ARGV: inside a gVisor sandbox, serve the
 * relay on 127.0.0.1:SHUNT_NETRELAY_PORT from a child, then become ARGV. */
static int relay_exec(int argc, char **argv, struct shunt_error **err)
{
	if (argc < 5 || strcmp(argv[3], "--") != 0)
		return shunt_args_usage(err, "proxy --relay SOCKET -- COMMAND...");
	int lfd = shunt_netrelay_listen(SHUNT_NETRELAY_PORT, err);
	if (lfd < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return shunt_error_sys(err, errno, "network relay: fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		shunt_netrelay_serve_copy(lfd, argv[2]);
	}
	close(lfd);
	execvp(argv[4], argv + 4);
	int e = errno;
	shunt_error_sys(err, e, "cannot execute '%s'", argv[4]);
	(*err)->exitcode = e == ENOENT ? 127 : 126;
	return -1;
}

int shunt_cmd_proxy(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(proxy_usage, stdout);
		return 0;
	}
	const char *path = NULL, *run_id = NULL;
	struct shunt_strv allow = {0};
	int ret = -1;
	if (argc >= 4 && strcmp(argv[1], "--relay") == 0)
		return relay_exec(argc, argv, err);
	/* stdin/stdout/stderr are the guest's connection: never print there */
	if (argc == 3 && strcmp(argv[1], "--hand-over") == 0)
		_exit(shunt_netrelay_hand_over(STDIN_FILENO, argv[2]) == 0 ? 0 : 1);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--listen-unix") != 0 && strcmp(a, "--allow") != 0 &&
		    strcmp(a, "--run-id") != 0) {
			shunt_args_usage(err, "proxy: unknown option '%s' (see shunt proxy --help)",
					 a);
			goto out;
		}
		if (i + 1 >= argc) {
			shunt_args_usage(err, "proxy: %s needs a value", a);
			goto out;
		}
		const char *v = argv[++i];
		if (strcmp(a, "--listen-unix") == 0) {
			path = v;
		} else if (strcmp(a, "--run-id") == 0) {
			run_id = v;
		} else {
			const char *const *preset = v[0] == '@' ? shunt_netpresets_get(v) : NULL;
			for (; preset && *preset; preset++)
				shunt_strv_push(&allow, *preset);
			if (!(v[0] == '@' && shunt_netpresets_get(v)) &&
			    shunt_strv_push(&allow, v) < 0) {
				shunt_error_set(err, ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (!path) {
		shunt_args_usage(err, "proxy: --listen-unix PATH is required");
		goto out;
	}
	int lfd = shunt_netproxy_listen_unix(path, err);
	if (lfd < 0)
		goto out;
	fprintf(stderr, "shunt proxy: listening on %s (%zu allowlist entries)\n", path, allow.n);
	shunt_netproxy_serve(lfd, &allow, run_id);
	shunt_error_sys(err, errno, "proxy: accept on %s", path);
	close(lfd);
out:
	shunt_strv_free(&allow);
	return ret;
}
