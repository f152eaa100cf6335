/* Is gVisor usable here, not just installed? Some runsc builds cannot
 * serve basic file operations on some hosts (statx fails, so `ls -l`
 * breaks). `runtime: auto` must not pick a runtime that breaks ordinary
 * commands, so a functional probe runs once and its answer is cached
 * (keyed by the runsc binary). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "gvisor.h"
#include "paths.h"

#define USABLE_PROBE_SECONDS 20

static int probe_child(void)
{
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	struct shunt_plan p;
	memset(&p, 0, sizeof(p));
	snprintf(p.run_id, sizeof(p.run_id), "usable-%d", (int)getpid());
	char *argv[] = {"/bin/sh", "-c",
			"ls -l / >/dev/null && stat /etc >/dev/null && echo ok >/tmp/x && cat "
			"/tmp/x >/dev/null",
			NULL};
	char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C", NULL};
	p.argv = argv;
	p.env = env;
	p.cwd = "/";
	p.profile = SHUNT_PROFILE_READ_ONLY;
	p.runtime = SHUNT_RUNTIME_GVISOR;
	p.network = SHUNT_NET_NONE;
	p.uid = p.gid = -1;
	p.timeout = USABLE_PROBE_SECONDS - 2;
	int status = 1;
	struct shunt_error *e = NULL;
	if (shunt_gvisor_run(&p, &status, &e) != 0)
		status = 1;
	shunt_error_free(&e);
	_exit(status == 0 ? 0 : 1);
}

bool shunt_gvisor_usable(char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	const char *force = getenv("SHUNT_GVISOR_USABLE");
	if (force && *force)
		return strcmp(force, "1") == 0;
	struct shunt_error *e = NULL;
	if (shunt_gvisor_probe(&e) < 0) {
		if (why)
			snprintf(why, whylen, "%s", e ? e->msg : "runsc not found");
		shunt_error_free(&e);
		return false;
	}
	_cleanup_free_ char *runsc =
	    shunt_paths_which(getenv("SHUNT_RUNSC") ? getenv("SHUNT_RUNSC") : "runsc");
	struct stat st;
	if (!runsc || stat(runsc, &st) < 0)
		return false;
	char key[128];
	snprintf(key, sizeof(key), "%llu:%llu:%lld\n", (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec);
	_cleanup_free_ char *cache = shunt_paths_probe_cache("gvisor-usable");
	_cleanup_free_ char *cached = NULL;
	if (cache && shunt_fs_read(cache, 256, &cached, NULL, &e) == 0 &&
	    strncmp(cached, key, strlen(key)) == 0) {
		bool yes = strncmp(cached + strlen(key), "yes", 3) == 0;
		if (!yes && why)
			snprintf(why, whylen,
				 "runsc at %s fails basic file operations on this host "
				 "(cached probe); upgrade gVisor, or use runtime: process",
				 runsc);
		return yes;
	}
	shunt_error_free(&e);

	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0)
		probe_child();
	int wst = 0;
	bool done = false;
	for (int i = 0; i < USABLE_PROBE_SECONDS * 20; i++) {
		if (waitpid(pid, &wst, WNOHANG) == pid) {
			done = true;
			break;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &wst, 0);
	}
	bool yes = done && WIFEXITED(wst) && WEXITSTATUS(wst) == 0;
	if (!yes && why)
		snprintf(why, whylen,
			 "runsc at %s fails basic file operations on this host "
			 "(ls -l / inside gVisor); upgrade gVisor, or use runtime: process",
			 runsc);
	if (cache) {
		char line[160];
		snprintf(line, sizeof(line), "%s%s\n", key, yes ? "yes" : "no");
		shunt_fs_write_atomic(cache, line, strlen(line), 0600, &e);
		shunt_error_free(&e);
	}
	return yes;
}
