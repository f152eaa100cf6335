/* The shim core's helpers and its way to the gate (see shim.c for the
 * rules they live by): async-signal-safe strings and pointer vectors,
 * resolving the program an exec names, the command lines that re-route
 * to `shunt gate`, and recording a block through it. */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_views.h"
#include "iface.h"
#include "shim_int.h"

/* ---- small async-signal-safe helpers ---- */

void shunt_shim_puts(struct shunt_shim_sbuf *b, const char *s)
{
	while (s && *s) {
		if (b->n + 1 >= b->cap) {
			b->overflow = true;
			break;
		}
		b->p[b->n++] = *s++;
	}
	if (b->cap)
		b->p[b->n < b->cap ? b->n : b->cap - 1] = '\0';
}

int shunt_shim_vec_init(struct shunt_shim_vec *v, size_t need)
{
	v->n = 0;
	v->map = NULL;
	if (need <= SHUNT_SHIM_STACK_VEC) {
		v->v = v->stack;
		v->cap = SHUNT_SHIM_STACK_VEC;
		return 0;
	}
	v->maplen = need * sizeof(char *);
	v->map = mmap(NULL, v->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->map == MAP_FAILED) {
		v->map = NULL;
		return -1;
	}
	v->v = v->map;
	v->cap = need;
	return 0;
}

void shunt_shim_vec_push(struct shunt_shim_vec *v, const char *s)
{
	if (v->n < v->cap)
		v->v[v->n++] = (char *)s;
}

void shunt_shim_vec_free(struct shunt_shim_vec *v)
{
	if (v->map)
		munmap(v->map, v->maplen);
	v->map = NULL;
}

size_t shunt_shim_count(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* ---- paths ---- */

bool shunt_shim_is_exec_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* Follows symlinks in the last component so rules see the real program
 * (a link named "del" to rm is still rm); the one copy is in policy/, so
 * the gate resolves a path the same way. */
const char *shunt_shim_follow_links(const char *p, char *buf, size_t cap)
{
	return shunt_exec_follow_links(p, buf, cap);
}

/* Makes p absolute against cwd (no normalisation). */
const char *shunt_shim_absolute(const char *p, char *buf, size_t cap)
{
	if (p[0] == '/')
		return p;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return p;
	struct shunt_shim_sbuf b = {buf, cap, 0, false};
	shunt_shim_puts(&b, cwd);
	shunt_shim_puts(&b, "/");
	shunt_shim_puts(&b, p);
	return b.overflow ? p : buf;
}

/* execvp's search: names with '/' as they are, else the first executable
 * regular file along PATH (default /bin:/usr/bin). NULL when none. */
const char *shunt_shim_search_path(const char *file, char *buf, size_t cap)
{
	if (!file || !*file)
		return NULL;
	if (strchr(file, '/'))
		return shunt_shim_absolute(file, buf, cap);
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	size_t flen = strlen(file);
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char cand[PATH_MAX];
		if (dlen + flen + 2 < sizeof(cand)) {
			if (dlen == 0) {
				memcpy(cand, file, flen + 1);
			} else {
				memcpy(cand, p, dlen);
				cand[dlen] = '/';
				memcpy(cand + dlen + 1, file, flen + 1);
			}
			if (shunt_shim_is_exec_file(cand)) {
				const char *abs = shunt_shim_absolute(cand, buf, cap);
				if (abs == cand) {
					if (strlen(cand) >= cap)
						return NULL;
					memcpy(buf, cand, strlen(cand) + 1);
				}
				return buf;
			}
		}
		if (!*end)
			return NULL;
		p = end;
	}
}

const char *shunt_shim_fd_path(int fd, char *buf, size_t cap)
{
	char link[64];
	struct shunt_shim_sbuf b = {link, sizeof(link), 0, false};
	shunt_shim_puts(&b, "/proc/self/fd/");
	char num[24];
	int i = (int)sizeof(num) - 1;
	num[i] = '\0';
	unsigned v = (unsigned)fd;
	do {
		num[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	shunt_shim_puts(&b, num + i);
	ssize_t n = readlink(link, buf, cap - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* ---- re-routing to the gate ---- */

bool shunt_shim_gate_usable(void)
{
	if (access(shunt_shim_gate_path, X_OK) == 0)
		return true;
	char msg[PATH_MAX + 128];
	struct shunt_shim_sbuf b = {msg, sizeof(msg), 0, false};
	shunt_shim_puts(&b, "shunt: cannot run the gate ");
	shunt_shim_puts(&b, shunt_shim_gate_path);
	shunt_shim_puts(&b, ": refusing a command that needs it (reinstall shunt)\n");
	shunt_shim_say(msg);
	return false;
}

/* The block's options for `shunt gate --shim-blocked`. */
static void push_blocked(struct shunt_shim_vec *g, const struct shunt_shim_blocked *bk)
{
	shunt_shim_vec_push(g, "--shim-blocked");
	shunt_shim_vec_push(g, "--decided");
	shunt_shim_vec_push(g, bk->decided);
	shunt_shim_vec_push(g, "--why");
	shunt_shim_vec_push(g, bk->why);
}

/* argv for: shunt gate [--shim-blocked ...] --exe EXE --source shim -- ARGV... */
int shunt_shim_gate_argv(struct shunt_shim_vec *g, const char *exe, char *const argv[],
			 const struct shunt_shim_blocked *bk)
{
	size_t n = shunt_shim_count(argv);
	if (shunt_shim_vec_init(g, n + 14) < 0)
		return -1;
	shunt_shim_vec_push(g, "shunt");
	shunt_shim_vec_push(g, "gate");
	if (bk)
		push_blocked(g, bk);
	shunt_shim_vec_push(g, "--exe");
	shunt_shim_vec_push(g, exe);
	shunt_shim_vec_push(g, "--source");
	shunt_shim_vec_push(g, "shim");
	shunt_shim_vec_push(g, "--");
	if (n == 0)
		shunt_shim_vec_push(g, exe); /* an empty argv still names the program */
	for (size_t i = 0; i < n; i++)
		shunt_shim_vec_push(g, argv[i]);
	shunt_shim_vec_push(g, NULL);
	return 0;
}

/* exec '<GATE>' gate --source shim -c '<line>' with single-quote escaping. */
bool shunt_shim_gate_line(const char *line, char *out, size_t cap)
{
	struct shunt_shim_sbuf b = {out, cap, 0, false};
	shunt_shim_puts(&b, "exec '");
	shunt_shim_puts(&b, shunt_shim_gate_path);
	shunt_shim_puts(&b, "' gate --source shim -c '");
	for (const char *p = line; *p && !b.overflow; p++) {
		if (*p == '\'') {
			shunt_shim_puts(&b, "'\\''");
		} else {
			char c[2] = {*p, '\0'};
			shunt_shim_puts(&b, c);
		}
	}
	shunt_shim_puts(&b, "'");
	return !b.overflow && strchr(shunt_shim_gate_path, '\'') == NULL;
}

/* A block is written down by `shunt gate --shim-blocked` (the audit log
 * and counters take locks and memory this library does not): exe+argv or
 * a shell line. Waited for, so the record exists when the caller sees the
 * refusal. Only blocked commands come here. */
void shunt_shim_record_block(const char *exe, char *const argv[], const char *line,
			     const struct shunt_shim_blocked *bk, char *const envp0[])
{
	int saved = errno;
	struct shunt_shim_vec g;
	if (!shunt_shim_libc.posix_spawn || access(shunt_shim_gate_path, X_OK) != 0)
		goto out;
	if (line) {
		if (shunt_shim_vec_init(&g, 12) < 0)
			goto out;
		shunt_shim_vec_push(&g, "shunt");
		shunt_shim_vec_push(&g, "gate");
		push_blocked(&g, bk);
		shunt_shim_vec_push(&g, "--source");
		shunt_shim_vec_push(&g, "shim");
		shunt_shim_vec_push(&g, "-c");
		shunt_shim_vec_push(&g, line);
		shunt_shim_vec_push(&g, NULL);
	} else if (shunt_shim_gate_argv(&g, exe, argv, bk) < 0) {
		goto out;
	}
	struct shunt_shim_vec ev;
	char ldbuf[PATH_MAX * 2];
	char *const *envp =
	    shunt_shim_fix_env(envp0 ? envp0 : environ, true, NULL, &ev, ldbuf, sizeof(ldbuf));
	pid_t pid;
	int st;
	if (shunt_shim_libc.posix_spawn(&pid, shunt_shim_gate_path, NULL, NULL, g.v, envp) == 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	shunt_shim_vec_free(&ev);
	shunt_shim_vec_free(&g);
out:
	errno = saved;
}
