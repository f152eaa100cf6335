/* shunt run: run a command in a sandbox, with options over the config.
 * Only the config is loaded (no rules), to keep start-up lean. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "fdrun.h"
#include "launch.h"
#include "runner.h"

static const char help[] =
    "usage: shunt run [options] -- ARGV...\n"
    "\n"
    "Runs ARGV in a sandbox. Options left out come from the config and the profile.\n"
    "\n"
    "  --profile P            READ_ONLY | WORKSPACE_WRITE (default) | SYSTEM_WRITE | GODMODE\n"
    "  --runtime R            auto, process, gvisor, podman, docker or microvm (see shunt "
    "doctor),\n"
    "                         or remote: the shuntd at remote.url (only --profile may\n"
    "                         come along; when it does not answer nothing runs)\n"
    "  --workspace DIR        default: the git top level of the current directory, else it\n"
    "  --network M            none | allowlist | full. READ_ONLY defaults to none; otherwise\n"
    "                         the config's network_mode, else the security level's. The level's\n"
    "                         'restricted' with an empty allowlist means no hosts: none. An\n"
    "                         allowlist goes through a host-side filtering proxy (process\n"
    "                         runner; other runners refuse it, fail closed).\n"
    "  --allow-host H         add H to the allowlist (repeatable): name, *.domain, IP or\n"
    "                         CIDR, optional :PORT (default 80 and 443, :* any), or a\n"
    "                         preset @npm @pypi @crates @go @rubygems @debian\n"
    "  --timeout S            kill the command after S seconds (exit 124)\n"
    "  --mem SIZE             memory limit, e.g. 256M, 2G\n"
    "  --cpus N               CPU quota in cores\n"
    "  --pids N               process limit\n"
    "  --uid N, --gid N       identity inside the sandbox (default: yours)\n"
    "  --seccomp-profile FILE a Docker-format seccomp profile\n"
    "  --env NAME[=VALUE]     pass NAME through (or set it); repeatable\n"
    "  --bind HOST:GUEST[:ro] extra bind mount; repeatable\n"
    "  --keep-changes DIR     SYSTEM_WRITE/GODMODE: keep the overlay's upper layer in DIR\n"
    "  --i-accept-weaker-isolation\n"
    "                         allow SYSTEM_WRITE/GODMODE on the process runner (a throwaway\n"
    "                         overlay root on the host kernel instead of a microVM)\n"
    "  --no-daemon            run in this process even when shuntd is up (also\n"
    "                         SHUNT_NO_DAEMON=1)\n"
    "  --dry-run              print the resolved plan and run nothing\n"
    "  --json                 with --dry-run: the plan as JSON\n"
    "\n"
    "When shuntd answers on its socket and no option other than --profile, --runtime\n"
    "and --workspace is given, the command goes through the daemon (with this\n"
    "process's stdin, stdout and stderr passed to it when stdin is not /dev/null)\n"
    "and may use a warm sandbox from its pool. It runs there as it would here: the\n"
    "same profile and runtime (a runtime weaker than the policy maps always runs\n"
    "here); the daemon refuses only what its rules block (exit 126). Otherwise, or\n"
    "when no daemon answers, it runs in this process (a cold start).\n"
    "\n"
    "Exit status: the command's (128+N when killed by signal N); 124 on timeout; 125 when\n"
    "the sandbox could not be set up (the command did not run); 126/127 when ARGV could\n"
    "not be executed; 2 for usage errors.\n";

static int parse_size(const char *s, long long *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	double mul = 1;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1024.0;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1024.0 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1024.0 * 1024 * 1024;
		end++;
		break;
	case 't':
	case 'T':
		mul = 1024.0 * 1024 * 1024 * 1024;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'i' || *end == 'b' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	*out = (long long)(v * mul);
	return 0;
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

static void free_opts(struct shunt_plan_opts *o)
{
	shunt_strv_free(&o->allow_hosts);
	shunt_strv_free(&o->env_names);
	shunt_strv_free(&o->binds);
}

/* What only a plan built here carries (the daemon's protocol takes the
 * profile, the runtime and the workspace). */
struct run_flags {
	bool dry, json, no_daemon, local_only;
};

static int parse(int argc, char **argv, struct shunt_plan_opts *o, long *pids, struct run_flags *f,
		 char ***cmd, struct shunt_error **err)
{
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break; /* the command starts here */
		if (strcmp(a, "--dry-run") == 0) {
			f->dry = true;
			continue;
		}
		if (strcmp(a, "--no-daemon") == 0) {
			f->no_daemon = true;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			f->json = true;
			continue;
		}
		if (strcmp(a, "--i-accept-weaker-isolation") == 0) {
			o->accept_weaker_isolation = true;
			f->local_only = true;
			continue;
		}
		if (i + 1 >= argc)
			return shunt_args_usage(
			    err, "%s needs a value (or unknown option; see --help)", a);
		const char *v = argv[++i];
		long n;
		long long sz;
		f->local_only |=
		    strcmp(a, "--profile") && strcmp(a, "--runtime") && strcmp(a, "--workspace");
		if (strcmp(a, "--profile") == 0) {
			if ((o->profile = shunt_profile_parse(v)) < 0)
				return shunt_args_usage(err, "unknown profile '%s'", v);
		} else if (strcmp(a, "--runtime") == 0) {
			if ((o->runtime = shunt_runtime_parse(v)) < 0)
				return shunt_args_usage(err, "unknown runtime '%s'", v);
		} else if (strcmp(a, "--workspace") == 0) {
			o->workspace = v;
		} else if (strcmp(a, "--network") == 0) {
			if (strcmp(v, "allowlist") == 0 || strcmp(v, "restricted") == 0)
				o->network = SHUNT_NET_RESTRICTED;
			else if (strcmp(v, "none") == 0)
				o->network = SHUNT_NET_NONE;
			else if (strcmp(v, "full") == 0)
				o->network = SHUNT_NET_FULL;
			else
				return shunt_args_usage(
				    err, "--network: none, allowlist or full, not '%s'", v);
		} else if (strcmp(a, "--allow-host") == 0) {
			if (shunt_strv_push(&o->allow_hosts, v) < 0)
				return shunt_error_set(err, ENOMEM, "out of memory");
		} else if (strcmp(a, "--timeout") == 0) {
			if (parse_long(v, 0, &o->timeout) < 0)
				return shunt_args_usage(err, "--timeout: seconds, not '%s'", v);
		} else if (strcmp(a, "--mem") == 0) {
			if (parse_size(v, &sz) < 0 || sz < 1)
				return shunt_args_usage(err, "--mem: a size like 256M, not '%s'",
							v);
			o->mem_bytes = sz;
		} else if (strcmp(a, "--cpus") == 0) {
			char *end;
			o->cpus = strtod(v, &end);
			if (end == v || *end || !(o->cpus > 0))
				return shunt_args_usage(err, "--cpus: a positive number, not '%s'",
							v);
		} else if (strcmp(a, "--pids") == 0) {
			if (parse_long(v, 1, pids) < 0)
				return shunt_args_usage(err, "--pids: a positive number, not '%s'",
							v);
		} else if (strcmp(a, "--uid") == 0) {
			if (parse_long(v, 0, &n) < 0)
				return shunt_args_usage(err, "--uid: a number, not '%s'", v);
			o->uid = n;
		} else if (strcmp(a, "--gid") == 0) {
			if (parse_long(v, 0, &n) < 0)
				return shunt_args_usage(err, "--gid: a number, not '%s'", v);
			o->gid = n;
		} else if (strcmp(a, "--seccomp-profile") == 0) {
			o->seccomp_profile = v;
		} else if (strcmp(a, "--env") == 0) {
			if (shunt_strv_push(&o->env_names, v) < 0)
				return shunt_error_set(err, ENOMEM, "out of memory");
		} else if (strcmp(a, "--bind") == 0) {
			if (shunt_strv_push(&o->binds, v) < 0)
				return shunt_error_set(err, ENOMEM, "out of memory");
		} else if (strcmp(a, "--keep-changes") == 0) {
			o->keep_changes = v;
		} else {
			return shunt_args_usage(err, "unknown option '%s' (see shunt run --help)",
						a);
		}
	}
	if (i >= argc)
		return shunt_args_usage(err, "no command given: shunt run [options] -- ARGV...");
	*cmd = &argv[i];
	return 0;
}

/* fd 0 is /dev/null (or closed): the daemon's protocol carries no stdin */
static bool stdin_is_null(void)
{
	struct stat a, b;
	if (fstat(0, &a) < 0)
		return errno == EBADF;
	return S_ISCHR(a.st_mode) && stat("/dev/null", &b) == 0 && a.st_rdev == b.st_rdev;
}

/* launch.h's daemon op: the command through shuntd, over HTTP when stdin
 * is /dev/null, else with our stdio passed along. 0: run it here. */
static int run_daemon(void *ud, const struct shunt_launch *l, const char *sock, int *status)
{
	const struct shunt_plan_opts *o = l->opts;
	/* the run's own choice goes along: the daemon grants it like here */
	if (stdin_is_null()) {
		bool answered = false;
		struct shunt_error *e = NULL;
		int code =
		    shunt_daemon_client_run(sock, (char **)l->argv, l->profile, (int)l->runtime,
					    o->workspace, true, &answered, &e);
		if (code < 0) {
			fprintf(stderr, "shunt: %s\n", e ? e->msg : "shuntd failed");
			code = e && e->exitcode ? e->exitcode : 125;
			shunt_error_free(&e);
			answered = true;
		}
		*status = code;
		return answered;
	}
	struct shunt_fdrun_req q = {.argv = (char **)l->argv,
				    .source = SHUNT_SOURCE_CLI,
				    .profile = l->profile,
				    .runtime = (int)l->runtime,
				    .workspace = o->workspace,
				    .explicit_run = true};
	struct shunt_buf msg = {0};
	fflush(NULL);
	enum shunt_fdrun_result res = shunt_fdrun_client(sock, &q, NULL, NULL, status, &msg);
	const char *why = msg.data ? msg.data : "";
	if (res == SHUNT_FDRUN_POLICY) {
		fprintf(stderr, "shunt: shuntd refused it: %s; the command was not run\n", why);
		*status = 126;
	} else if (res == SHUNT_FDRUN_LOST) {
		fprintf(stderr,
			"shunt: shuntd went away while running the command (%s); it is not run "
			"again here\n",
			why);
		*status = 125;
	} else if (res == SHUNT_FDRUN_NO_DAEMON && *why) {
		fprintf(stderr, "shunt: shuntd cannot take it (%s); running it here\n", why);
	}
	shunt_buf_free(&msg);
	return res != SHUNT_FDRUN_NO_DAEMON;
}

/* sandbox.runtime: remote (or --runtime remote): the command goes to
 * remote.url and nowhere else. Only --profile may come along. *done false:
 * not remote, run it as usual. */
static int via_remote(int argc, char **argv, bool *done, struct shunt_error **err)
{
	*done = false;
	int profile = -1, i;
	bool forced = false, other = false;
	const char *other_opt = NULL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (i + 1 < argc && strcmp(a, "--runtime") == 0) {
			if (strcmp(argv[++i], "remote") != 0)
				return 0; /* a local runtime asked for by name */
			forced = true;
		} else if (i + 1 < argc && strcmp(a, "--profile") == 0) {
			if ((profile = shunt_profile_parse(argv[++i])) < 0)
				return 0; /* parse() reports it */
		} else {
			other = true;
			other_opt = a;
			/* options with a value: skip it */
			if (i + 1 < argc && strcmp(a, "--dry-run") && strcmp(a, "--json") &&
			    strcmp(a, "--no-daemon") && strcmp(a, "--i-accept-weaker-isolation"))
				i++;
		}
	}
	char cwd[PATH_MAX];
	_cleanup_free_ char *ws =
	    getcwd(cwd, sizeof(cwd)) ? shunt_config_workspace_root(cwd) : NULL;
	struct shunt_config_opts copts = {.workspace = ws};
	struct shunt_config cfg;
	if (!forced) {
		struct shunt_error *e = NULL;
		if (shunt_config_load(&cfg, &copts, &e) < 0) {
			shunt_error_free(&e);
			return 0; /* the usual path reports it */
		}
		bool remote = cfg.remote_runtime;
		shunt_config_free(&cfg);
		if (!remote)
			return 0;
	}
	*done = true;
	if (other)
		return shunt_args_usage(err,
					"runtime remote takes only --profile (not %s): the remote "
					"shuntd builds the plan",
					other_opt);
	if (i >= argc)
		return shunt_args_usage(err, "no command given: shunt run [options] -- ARGV...");
	if (shunt_config_load(&cfg, &copts, err) < 0)
		return -1;
	int rc;
	if (!cfg.remote_url) {
		shunt_error_set(err, EINVAL,
				"runtime remote needs remote.url in the configuration");
		(*err)->exitcode = 2;
		rc = -1;
	} else {
		rc = shunt_daemon_client_remote(cfg.remote_url, cfg.remote_token_file,
						cfg.remote_ca_file, cfg.remote_insecure, &argv[i],
						profile, err);
	}
	shunt_config_free(&cfg);
	return rc;
}

int shunt_cmd_run(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	bool done = false;
	int rrc = via_remote(argc, argv, &done, err);
	if (done || rrc < 0)
		return rrc;
	struct shunt_plan_opts o = shunt_plan_opts_none();
	long pids = -1;
	struct run_flags f = {0};
	char **cmd = NULL;
	if (parse(argc, argv, &o, &pids, &f, &cmd, err) < 0) {
		free_opts(&o);
		return -1;
	}

	/* the workspace's .shunt.yaml is a config layer */
	char cwd[PATH_MAX];
	char *ws = NULL;
	if (o.workspace)
		ws = realpath(o.workspace, NULL);
	else if (getcwd(cwd, sizeof(cwd)))
		ws = shunt_config_workspace_root(cwd);
	struct shunt_config_opts copts = {.workspace = ws}; /* SHUNT_NO_SYSTEM_CONFIG: loader */
	struct shunt_config cfg;
	int rc = shunt_config_load(&cfg, &copts, err);
	free(ws);
	if (rc < 0) {
		free_opts(&o);
		return -1;
	}

	if (pids > 0)
		o.pids = (unsigned)pids;
	struct shunt_launch l = {.cfg = &cfg,
				 .opts = &o,
				 .argv = cmd,
				 .gvisor_available = -1,
				 .no_daemon = f.no_daemon || f.local_only};
	int status = 0;
	if (f.dry) {
		/* the plan as it would run, without probing the runner */
		l.profile = o.profile >= 0 ? o.profile : SHUNT_PROFILE_WORKSPACE_WRITE;
		int rt = shunt_launch_runtime(&cfg, l.profile, o.runtime, -1, false, NULL);
		l.runtime =
		    rt < 0 || !shunt_runner_get((enum shunt_runtime)rt)
			? (o.runtime > 0 ? (enum shunt_runtime)o.runtime : SHUNT_RUNTIME_PROCESS)
			: (enum shunt_runtime)rt;
		rc = shunt_launch_plan(&l, err);
		if (rc == 0) {
			struct shunt_buf out = {0};
			shunt_plan_dump(&l.plan, f.json, &out);
			if (out.data)
				fputs(out.data, stdout);
			shunt_buf_free(&out);
		}
	} else {
		struct shunt_launch_ops ops = {.daemon = run_daemon};
		rc = shunt_launch_run(&l, &ops, &status, err);
	}
	unsigned timeout = l.have_plan ? l.plan.timeout : 0;
	shunt_launch_free(&l);
	free_opts(&o);
	shunt_config_free(&cfg);
	if (rc < 0)
		return -1;
	if (f.dry)
		return 0;
	if (rc == 1) {
		fflush(stdout);
		fprintf(stderr, "shunt: timed out after %u s\n", timeout);
		return 124;
	}
	return status;
}
