/* spawner METHOD PROGRAM ARGS...: starts PROGRAM through one of the entry
 * points the shim covers, waits, and prints "status N" (the child's exit
 * status) or "error NAME" (errno of the failed call). Exit code: the
 * child's status, or 127 after a failed call. Test helper for shim.sh. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* SPAWNER_SHOW_CORE=1: at exit, say whether the shim core is mapped in
 * this (parent) process. */
static void show_core(void)
{
	char line[4096];
	int mapped = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "libshunt-shim-core"))
			mapped = 1;
	if (f)
		fclose(f);
	printf("core %s\n", mapped ? "mapped" : "not mapped");
	fflush(stdout);
}

static int report_status(int st)
{
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("status %d\n", code);
	fflush(stdout);
	return code;
}

static int report_errno(int e)
{
	printf("error %s\n", strerrorname_np(e) ? strerrorname_np(e) : "?");
	fflush(stdout);
	return 127;
}

/* Forks; the child runs how(), reporting a failed exec through a pipe. */
static int run_child(int (*how)(char **argv), char **argv)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return report_errno(errno);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return report_errno(errno);
	if (pid == 0) {
		close(p[0]);
		how(argv);
		int e = errno;
		if (write(p[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(p[1]);
	int e = 0;
	ssize_t n = read(p[0], &e, sizeof(e));
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(e))
		return report_errno(e);
	return report_status(st);
}

static char *const empty_env[] = {NULL};

static int m_execve(char **a)
{
	return execve(a[0], a, environ);
}
static int m_execv(char **a)
{
	return execv(a[0], a);
}
static int m_execvp(char **a)
{
	return execvp(a[0], a);
}
static int m_execvpe(char **a)
{
	return execvpe(a[0], a, environ);
}
static int m_envi(char **a)
{
	return execve(a[0], a, empty_env);
}
static int m_fexecve(char **a)
{
	int fd = open(a[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	return fexecve(fd, a, environ);
}
static int m_execveat(char **a)
{
	return execveat(AT_FDCWD, a[0], a, environ, 0);
}

/* execl-style calls take a fixed list: up to 8 arguments here. */
#define L8(a) a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]
static int m_execl(char **a)
{
	return execl(a[0], L8(a), (char *)NULL);
}
static int m_execlp(char **a)
{
	return execlp(a[0], L8(a), (char *)NULL);
}
static int m_execle(char **a)
{
	return execle(a[0], L8(a), (char *)NULL, environ);
}

static int spawn_wait(int (*sp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
				const posix_spawnattr_t *, char *const[], char *const[]),
		      char **a, int *status)
{
	pid_t pid;
	int rc = sp(&pid, a[0], NULL, NULL, a, environ);
	if (rc != 0)
		return rc;
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static char **thread_argv;
static void *thread_main(void *arg)
{
	int *st = arg;
	int rc = spawn_wait(posix_spawn, thread_argv, st);
	if (rc != 0)
		*st = -rc;
	return NULL;
}

static int join_line(char **a, char *buf, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; a[i]; i++) {
		/* single-quote every word for the shell */
		if (n + 3 >= cap)
			return -1;
		if (i)
			buf[n++] = ' ';
		buf[n++] = '\'';
		for (const char *p = a[i]; *p; p++) {
			if (n + 6 >= cap)
				return -1;
			if (*p == '\'') {
				memcpy(buf + n, "'\\''", 4);
				n += 4;
			} else {
				buf[n++] = *p;
			}
		}
		buf[n++] = '\'';
	}
	buf[n] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: spawner METHOD PROGRAM [ARGS...]\n");
		return 2;
	}
	const char *m = argv[1];
	char **a = argv + 2;
	if (getenv("SPAWNER_SHOW_CORE"))
		atexit(show_core);
	/* execl-style: pad to 9 slots with NULLs (at most 8 arguments after the name) */
	char *l[10] = {0};
	for (int i = 0; i < argc - 2 && i < 9; i++)
		l[i] = a[i];
	if (strcmp(m, "execve") == 0)
		return run_child(m_execve, a);
	if (strcmp(m, "execv") == 0)
		return run_child(m_execv, a);
	if (strcmp(m, "execvp") == 0)
		return run_child(m_execvp, a);
	if (strcmp(m, "execvpe") == 0)
		return run_child(m_execvpe, a);
	if (strcmp(m, "execl") == 0)
		return run_child(m_execl, l);
	if (strcmp(m, "execlp") == 0)
		return run_child(m_execlp, l);
	if (strcmp(m, "execle") == 0)
		return run_child(m_execle, l);
	if (strcmp(m, "execveat") == 0)
		return run_child(m_execveat, a);
	if (strcmp(m, "fexecve") == 0)
		return run_child(m_fexecve, a);
	if (strcmp(m, "envi") == 0)
		return run_child(m_envi, a);
	if (strcmp(m, "posix_spawn") == 0 || strcmp(m, "posix_spawnp") == 0) {
		int st;
		int rc = spawn_wait(m[11] == 'p' ? posix_spawnp : posix_spawn, a, &st);
		return rc ? report_errno(rc) : report_status(st);
	}
	if (strcmp(m, "vfork") == 0) {
		fflush(stdout);
		int e = 0;
		volatile int *ep = &e;
		pid_t pid = vfork();
		if (pid == 0) {
			execve(a[0], a, environ);
			*ep = errno; /* the parent's memory: vfork shares it */
			_exit(127);
		}
		if (pid < 0)
			return report_errno(errno);
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (e)
			return report_errno(e);
		return report_status(st);
	}
	if (strcmp(m, "threads") == 0) {
		pthread_t t[8];
		int st[8] = {0};
		thread_argv = a;
		for (int i = 0; i < 8; i++)
			pthread_create(&t[i], NULL, thread_main, &st[i]);
		int worst = 0;
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			if (st[i] < 0) {
				worst = report_errno(-st[i]);
			} else {
				int c = report_status(st[i]);
				if (c > worst)
					worst = c;
			}
		}
		return worst;
	}
	if (strcmp(m, "system") == 0 || strcmp(m, "popen") == 0) {
		char line[8192];
		if (join_line(a, line, sizeof(line)) < 0)
			return report_errno(E2BIG);
		if (m[0] == 's') {
			int st = system(line);
			if (st < 0)
				return report_errno(errno);
			return report_status(st);
		}
		fflush(stdout);
		FILE *f = popen(line, "r");
		if (!f)
			return report_errno(errno);
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, stdout);
		int st = pclose(f);
		if (st < 0)
			return report_errno(errno);
		return report_status(st);
	}
	fprintf(stderr, "spawner: unknown method '%s'\n", m);
	return 2;
}
