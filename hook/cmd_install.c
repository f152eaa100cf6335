/* shunt install bash|zsh|vscode|cursor [--uninstall] [--yes] [--dry-run]
 * Adds (or removes) shunt's integration in the user's shell rc file or
 * editor settings. Every edit is one marked block, written atomically with
 * the file's mode after a timestamped backup, and is idempotent: running it
 * twice changes nothing, --uninstall removes exactly that block. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "fsutil.h"
#include "install_agents.h"
#include "jsonc.h"
#include "paths.h"

int shunt_init_self_paths(char **bin, char **shim, struct shunt_error **err);

#define MAX_FILE (8u << 20)
#define RC_BEGIN "# >>> shunt >>>\n"
#define RC_END	 "# <<< shunt <<<\n"

static const char install_usage[] =
    "usage: shunt install bash|zsh|vscode|cursor [--uninstall] [--yes] [--dry-run]\n"
    "  bash, zsh       add eval \"$(shunt init SHELL)\" to ~/.bashrc / ${ZDOTDIR:-~}/.zshrc\n"
    "                  between '# >>> shunt >>>' and '# <<< shunt <<<'\n"
    "  vscode, cursor  set terminal.integrated.env.linux in the editor's user settings.json\n"
    "                  so every integrated terminal (the agent's too) carries the shim;\n"
    "                  comments, trailing commas and all other bytes are kept\n"
    "  --uninstall     remove exactly the block shunt added\n"
    "  --yes           don't ask (editor settings show a diff and ask otherwise)\n"
    "  --dry-run       show the change, write nothing\n"
    "A backup <file>.shunt-backup-<time> is written before any change.\n";

struct install_opts {
	const char *target;
	bool uninstall, yes, dry_run;
};

static int backup_file(const char *path, const char *data, size_t len, mode_t mode,
		       struct shunt_error **err)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
	_cleanup_free_ char *bak = NULL;
	if (asprintf(&bak, "%s.shunt-backup-%s", path, stamp) < 0)
		return shunt_error_sys(err, ENOMEM, "backup");
	if (shunt_fs_write_atomic(bak, data, len, mode & 0777, err) < 0)
		return shunt_error_prefix(err, "writing backup %s: ", bak);
	fprintf(stderr, "shunt: backup written to %s\n", bak);
	return 0;
}

/* Reads path; a missing file is empty with mode 0644. */
static int read_target(const char *path, char **data, size_t *len, mode_t *mode, bool *exists,
		       struct shunt_error **err)
{
	struct stat st;
	*exists = stat(path, &st) == 0;
	*mode = *exists ? (st.st_mode & 07777) : 0644;
	if (!*exists) {
		*data = strdup("");
		*len = 0;
		return *data ? 0 : shunt_error_sys(err, ENOMEM, "install");
	}
	if (!S_ISREG(st.st_mode))
		return shunt_error_set(err, 0, "%s is not a regular file", path);
	return shunt_fs_read(path, MAX_FILE, data, len, err);
}

/* Shows a unified diff of old -> new via diff(1); best effort. */
static void show_diff(const char *path, const char *old, size_t oldlen, const char *new,
		      size_t newlen)
{
	char a[] = "/tmp/shunt-diff-a.XXXXXX", b[] = "/tmp/shunt-diff-b.XXXXXX";
	int fa = mkstemp(a), fb = mkstemp(b);
	if (fa < 0 || fb < 0 || write(fa, old, oldlen) != (ssize_t)oldlen ||
	    write(fb, new, newlen) != (ssize_t)newlen)
		goto out;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		_cleanup_free_ char *la = NULL, *lb = NULL;
		if (asprintf(&la, "--label=%s", path) < 0 ||
		    asprintf(&lb, "--label=%s (shunt)", path) < 0)
			_exit(2);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execlp("diff", "diff", "-u", la, lb, a, b, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
out:
	if (fa >= 0) {
		close(fa);
		unlink(a);
	}
	if (fb >= 0) {
		close(fb);
		unlink(b);
	}
}

/* Asks y/N on the terminal. 1 yes, 0 no, -1 no terminal. */
static int ask_tty(const char *question)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, question, strlen(question)) < 0)
		return -1;
	char c = 0, first = 0;
	while (read(fd, &c, 1) == 1 && c != '\n')
		if (!first)
			first = c;
	return first == 'y' || first == 'Y';
}

/* Writes new content (if different) after backup/diff/confirm as asked. */
static int apply(const struct install_opts *o, const char *path, const char *old, size_t oldlen,
		 bool exists, mode_t mode, const char *new, size_t newlen, bool confirm,
		 struct shunt_error **err)
{
	if (oldlen == newlen && memcmp(old, new, newlen) == 0) {
		fprintf(stderr, "shunt: %s: %s\n", path,
			o->uninstall ? "no shunt block, nothing to remove"
				     : "already up to date, nothing changed");
		return 0;
	}
	if (o->dry_run || (confirm && !o->yes))
		show_diff(path, old, oldlen, new, newlen);
	if (o->dry_run) {
		fprintf(stderr, "shunt: dry run, %s not changed\n", path);
		return 0;
	}
	if (confirm && !o->yes) {
		int a = ask_tty("Apply this change? [y/N] ");
		if (a < 0)
			return shunt_error_set(
			    err, 0, "no terminal to confirm the change; re-run with --yes");
		if (a == 0) {
			fprintf(stderr, "shunt: not changed\n");
			return 1;
		}
	}
	if (exists && backup_file(path, old, oldlen, mode, err) < 0)
		return -1;
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return shunt_error_sys(err, ENOMEM, "install");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (shunt_fs_mkdirs(dir, 0755, err) < 0)
			return -1;
	}
	if (shunt_fs_write_atomic(path, new, newlen, mode, err) < 0)
		return shunt_error_prefix(err, "writing %s: ", path);
	fprintf(stderr, "shunt: %s %s\n", o->uninstall ? "removed the shunt block from" : "updated",
		path);
	return 0;
}

/* Copies doc without the RC block; returns 1 when one was found. */
static int rc_remove(const char *doc, size_t len, struct shunt_buf *out)
{
	const char *b = NULL;
	for (const char *p = doc; p && p < doc + len;) {
		if ((p == doc || p[-1] == '\n') && (size_t)(doc + len - p) >= strlen(RC_BEGIN) &&
		    memcmp(p, RC_BEGIN, strlen(RC_BEGIN)) == 0) {
			b = p;
			break;
		}
		p = memchr(p, '\n', (size_t)(doc + len - p));
		if (p)
			p++;
	}
	if (!b) {
		shunt_buf_append(out, doc, len);
		return 0;
	}
	const char *e = memmem(b, (size_t)(doc + len - b), RC_END, strlen(RC_END));
	if (!e) {
		shunt_buf_append(out, doc, len);
		return -1;
	}
	e += strlen(RC_END);
	shunt_buf_append(out, doc, (size_t)(b - doc));
	shunt_buf_append(out, e, (size_t)(doc + len - e));
	return 1;
}

static int install_rc(const struct install_opts *o, const char *shell, struct shunt_error **err)
{
	_cleanup_free_ char *home = shunt_paths_home();
	if (!home)
		return shunt_error_set(err, 0, "cannot find the home directory");
	_cleanup_free_ char *path = NULL;
	const char *zdot = getenv("ZDOTDIR");
	int r = strcmp(shell, "zsh") == 0
		    ? asprintf(&path, "%s/.zshrc", zdot && *zdot ? zdot : home)
		    : asprintf(&path, "%s/.bashrc", home);
	if (r < 0)
		return shunt_error_sys(err, ENOMEM, "install");
	_cleanup_free_ char *old = NULL;
	size_t oldlen = 0;
	mode_t mode;
	bool exists;
	if (read_target(path, &old, &oldlen, &mode, &exists, err) < 0)
		return -1;

	struct shunt_buf nb = {0};
	int found = rc_remove(old, oldlen, &nb);
	if (found < 0) {
		shunt_buf_free(&nb);
		return shunt_error_set(
		    err, 0, "%s has '# >>> shunt >>>' without '# <<< shunt <<<'; fix it by hand",
		    path);
	}
	if (!o->uninstall) {
		_cleanup_free_ char *bin = NULL;
		_cleanup_free_ char *shim = NULL;
		if (shunt_init_self_paths(&bin, &shim, err) < 0) {
			shunt_buf_free(&nb);
			return -1;
		}
		struct shunt_buf blk = {0};
		shunt_buf_puts(&blk, RC_BEGIN);
		shunt_buf_printf(
		    &blk,
		    "# added by `shunt install %s`; `shunt install %s --uninstall` removes it\n",
		    shell, shell);
		shunt_buf_puts(&blk, "eval \"$(");
		shunt_buf_put_shquoted(&blk, bin);
		shunt_buf_printf(&blk, " init %s)\"\n", shell);
		shunt_buf_puts(&blk, RC_END);
		if (found) {
			/* keep the block where it was */
			struct shunt_buf tmp = {0};
			const char *b = memmem(old, oldlen, RC_BEGIN, strlen(RC_BEGIN));
			size_t at = (size_t)(b - old);
			shunt_buf_append(&tmp, nb.data, at);
			shunt_buf_append(&tmp, blk.data, blk.len);
			shunt_buf_append(&tmp, nb.data + at, nb.len - at);
			shunt_buf_free(&nb);
			nb = tmp;
		} else {
			if (nb.len > 0 && nb.data[nb.len - 1] != '\n')
				shunt_buf_putc(&nb, '\n');
			shunt_buf_append(&nb, blk.data, blk.len);
		}
		shunt_buf_free(&blk);
	}
	if (nb.oom) {
		shunt_buf_free(&nb);
		return shunt_error_sys(err, ENOMEM, "install");
	}
	r = apply(o, path, old, oldlen, exists, mode, nb.data ? nb.data : "", nb.len, false, err);
	shunt_buf_free(&nb);
	if (r == 0 && !o->uninstall && !o->dry_run)
		fprintf(stderr, "shunt: open a new terminal (or run: source %s) to turn it on\n",
			path);
	return r;
}

static int install_editor(const struct install_opts *o, const char *editor,
			  struct shunt_error **err)
{
	_cleanup_free_ char *home = shunt_paths_home();
	const char *xdg = getenv("XDG_CONFIG_HOME");
	_cleanup_free_ char *path = NULL;
	const char *dir = strcmp(editor, "cursor") == 0 ? "Cursor" : "Code";
	int r = (xdg && *xdg == '/')
		    ? asprintf(&path, "%s/%s/User/settings.json", xdg, dir)
		    : asprintf(&path, "%s/.config/%s/User/settings.json", home ? home : "", dir);
	if (r < 0 || (!home && !(xdg && *xdg == '/')))
		return shunt_error_set(err, 0, "cannot find the home directory");
	_cleanup_free_ char *old = NULL;
	size_t oldlen = 0;
	mode_t mode;
	bool exists;
	if (read_target(path, &old, &oldlen, &mode, &exists, err) < 0)
		return -1;
	if (mode == 0644 && !exists)
		mode = 0600;

	struct shunt_buf nb = {0};
	if (o->uninstall) {
		if (shunt_jsonc_block_remove(old, oldlen, "shunt", &nb, err) < 0) {
			shunt_buf_free(&nb);
			return shunt_error_prefix(err, "%s: ", path);
		}
	} else {
		_cleanup_free_ char *bin = NULL;
		_cleanup_free_ char *shim = NULL;
		if (shunt_init_self_paths(&bin, &shim, err) < 0)
			return -1;
		/* a missing or empty file starts as an empty object */
		const char *base = old;
		size_t baselen = oldlen;
		size_t obj;
		if (shunt_jsonc_validate(old, oldlen, &obj, err) < 0)
			return shunt_error_prefix(
			    err, "%s is not valid JSON with comments; not touching it: ", path);
		if (obj == (size_t)-1) {
			base = "{\n}\n";
			baselen = 4;
		}
		static const char *const env_path[] = {"terminal.integrated.env.linux"};
		struct shunt_jsonc_kv kv[] = {{"LD_PRELOAD", shim}, {"SHUNT_BIN", bin}};
		if (shunt_jsonc_block_set(base, baselen, env_path, 1, kv, 2, "shunt", &nb, err) <
		    0) {
			shunt_buf_free(&nb);
			return shunt_error_prefix(err, "%s: ", path);
		}
	}
	if (nb.oom) {
		shunt_buf_free(&nb);
		return shunt_error_sys(err, ENOMEM, "install");
	}
	r = apply(o, path, old, oldlen, exists, mode, nb.data ? nb.data : "", nb.len, true, err);
	shunt_buf_free(&nb);
	if (r == 0 && !o->uninstall && !o->dry_run)
		fprintf(stderr,
			"shunt: new %s terminals carry the shim; agent terminals have no human to "
			"ask, so "
			"they follow the non_interactive setting\n",
			editor);
	return r;
}

int shunt_cmd_install(int argc, char **argv, struct shunt_error **err)
{
	if (shunt_cmd_wants_help(argc, argv)) {
		fputs(install_usage, stdout);
		return 0;
	}
	if (shunt_install_agents_wanted(argc, argv))
		return shunt_install_agents_run(argc, argv, err);
	struct install_opts o = {0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--uninstall") == 0)
			o.uninstall = true;
		else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0)
			o.yes = true;
		else if (strcmp(a, "--dry-run") == 0)
			o.dry_run = true;
		else if (a[0] != '-' && !o.target)
			o.target = a;
		else
			return shunt_args_usage(err, "unexpected argument '%s'\n%s", a,
						install_usage);
	}
	if (!o.target) {
		const char *ed = shunt_editor_detect();
		return shunt_args_usage(
		    err, "say what to install into: bash, zsh, vscode or cursor%s%s%s\n%s",
		    ed ? " (this terminal belongs to " : "", ed ? ed : "", ed ? ")" : "",
		    install_usage);
	}
	if (strcmp(o.target, "bash") == 0 || strcmp(o.target, "zsh") == 0)
		return install_rc(&o, o.target, err);
	if (strcmp(o.target, "vscode") == 0 || strcmp(o.target, "cursor") == 0)
		return install_editor(&o, o.target, err);
	return shunt_args_usage(err, "unknown target '%s' (bash, zsh, vscode, cursor)", o.target);
}
