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
#include "install.h"
#include "paths.h"

int shunt_init_self_paths(char **bin, char **shim, struct shunt_error **err);

#define MAX_FILE (8u << 20)
#define RC_BEGIN "# >>> shunt >>>\n"
#define RC_END	 "# <<< shunt <<<\n"

static const char install_usage[] =
    "usage: shunt install bash|zsh|vscode|editors|cursor|EDITOR [--editor NAME[,NAME]]\n"
    "                     [--uninstall] [--yes] [--dry-run] [--json]\n"
    "  bash, zsh       add eval \"$(shunt init SHELL)\" to ~/.bashrc / ${ZDOTDIR:-~}/.zshrc\n"
    "                  between '# >>> shunt >>>' and '# <<< shunt <<<'\n"
    "  vscode, editors every VS Code-family editor installed for this user: desktop VS Code,\n"
    "                  VSCodium, Cursor, Windsurf, code-server, and the servers that\n"
    "                  Remote-SSH/Dev Containers run (VS Code, Cursor, Windsurf, VSCodium,\n"
    "                  openvscode-server); desktop VS Code when none is found\n"
    "  cursor          Cursor and its server (desktop Cursor when neither is found)\n"
    "  EDITOR, --editor NAME\n"
    "                  exactly these: vscode, vscodium, cursor, windsurf, code-server,\n"
    "                  vscode-server, vscodium-server, cursor-server, windsurf-server,\n"
    "                  openvscode-server\n"
    "  Editors get terminal.integrated.env.linux in their settings.json (the shim in\n"
    "  LD_PRELOAD, SHUNT_BIN, SHUNT_EDITOR_TERMINAL) and a block in ~/.bashrc (and\n"
    "  ~/.zshrc) that loads the line hook only where SHUNT_EDITOR_TERMINAL is set, so\n"
    "  bash and zsh terminals get the hook as well as the shim. Comments, trailing\n"
    "  commas and all other bytes of settings.json are kept.\n"
    "  --uninstall     remove exactly the blocks shunt added\n"
    "  --yes           don't ask (editor settings show a diff and ask otherwise)\n"
    "  --dry-run       show the change, write nothing\n"
    "  --json          print what was done to which file as JSON on stdout\n"
    "A backup <file>.shunt-backup-<time> is written before any change.\n";

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

int shunt_install_read(const char *path, char **data, size_t *len, mode_t *mode, bool *exists,
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

int shunt_install_apply(const struct shunt_install_opts *o, const char *path, const char *old,
			size_t oldlen, bool exists, mode_t mode, const char *new, size_t newlen,
			bool confirm, const char **result, struct shunt_error **err)
{
	*result = "unchanged";
	if (oldlen == newlen && memcmp(old, new, newlen) == 0) {
		fprintf(stderr, "shunt: %s: %s\n", path,
			o->uninstall ? "no shunt block, nothing to remove"
				     : "already up to date, nothing changed");
		return 0;
	}
	if (o->dry_run || (confirm && !o->yes))
		show_diff(path, old, oldlen, new, newlen);
	if (o->dry_run) {
		*result = "would change";
		fprintf(stderr, "shunt: dry run, %s not changed\n", path);
		return 0;
	}
	if (confirm && !o->yes) {
		int a = ask_tty("Apply this change? [y/N] ");
		if (a < 0)
			return shunt_error_set(
			    err, 0, "no terminal to confirm the change; re-run with --yes");
		if (a == 0) {
			*result = "declined";
			fprintf(stderr, "shunt: not changed\n");
			return 0;
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
	*result = o->uninstall ? "removed" : "updated";
	fprintf(stderr, "shunt: %s %s\n", o->uninstall ? "removed the shunt block from" : "updated",
		path);
	return 0;
}

int shunt_install_rc_edit(const char *doc, size_t len, const char *begin, const char *end,
			  const char *block, struct shunt_buf *out, const char *path,
			  struct shunt_error **err)
{
	size_t blen = strlen(begin), elen = strlen(end);
	const char *b = NULL;
	for (const char *p = doc; p && p < doc + len;) {
		if ((size_t)(doc + len - p) >= blen && memcmp(p, begin, blen) == 0) {
			b = p;
			break;
		}
		p = memchr(p, '\n', (size_t)(doc + len - p));
		if (p)
			p++;
	}
	if (!b) {
		shunt_buf_append(out, doc, len);
		if (block) {
			if (len > 0 && doc[len - 1] != '\n')
				shunt_buf_putc(out, '\n');
			shunt_buf_puts(out, block);
		}
		return 0;
	}
	const char *e = memmem(b, (size_t)(doc + len - b), end, elen);
	if (!e) {
		shunt_buf_append(out, doc, len);
		return shunt_error_set(err, 0, "%s has '%.*s' without '%.*s'; fix it by hand", path,
				       (int)blen - 1, begin, (int)elen - 1, end);
	}
	e += elen;
	/* keep the block where it was */
	shunt_buf_append(out, doc, (size_t)(b - doc));
	if (block)
		shunt_buf_puts(out, block);
	shunt_buf_append(out, e, (size_t)(doc + len - e));
	return 1;
}

int shunt_install_rc_load(const char *shell, char **path, char **data, size_t *len, mode_t *mode,
			  bool *exists, struct shunt_error **err)
{
	_cleanup_free_ char *home = shunt_paths_home();
	if (!home)
		return shunt_error_set(err, 0, "cannot find the home directory");
	const char *zdot = getenv("ZDOTDIR");
	/* VS Code's zsh integration points ZDOTDIR at its own folder and keeps the
	 * user's in USER_ZDOTDIR */
	const char *uzdot = getenv("USER_ZDOTDIR");
	if (uzdot && *uzdot)
		zdot = uzdot;
	int r = strcmp(shell, "zsh") == 0 ? asprintf(path, "%s/.zshrc", zdot && *zdot ? zdot : home)
					  : asprintf(path, "%s/.bashrc", home);
	if (r < 0) {
		*path = NULL;
		return shunt_error_sys(err, ENOMEM, "install");
	}
	return shunt_install_read(*path, data, len, mode, exists, err);
}

static int install_rc(const struct shunt_install_opts *o, const char *shell,
		      struct shunt_error **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *old = NULL;
	size_t oldlen = 0;
	mode_t mode;
	bool exists;
	if (shunt_install_rc_load(shell, &path, &old, &oldlen, &mode, &exists, err) < 0)
		return -1;

	struct shunt_buf blk = {0};
	if (!o->uninstall) {
		_cleanup_free_ char *bin = NULL;
		_cleanup_free_ char *shim = NULL;
		if (shunt_init_self_paths(&bin, &shim, err) < 0)
			return -1;
		shunt_buf_puts(&blk, RC_BEGIN);
		shunt_buf_printf(
		    &blk,
		    "# added by `shunt install %s`; `shunt install %s --uninstall` removes it\n",
		    shell, shell);
		shunt_buf_puts(&blk, "eval \"$(");
		shunt_buf_put_shquoted(&blk, bin);
		shunt_buf_printf(&blk, " init %s)\"\n", shell);
		shunt_buf_puts(&blk, RC_END);
		if (blk.oom) {
			shunt_buf_free(&blk);
			return shunt_error_sys(err, ENOMEM, "install");
		}
	}
	struct shunt_buf nb = {0};
	int found = shunt_install_rc_edit(old, oldlen, RC_BEGIN, RC_END,
					  o->uninstall ? NULL : blk.data, &nb, path, err);
	shunt_buf_free(&blk);
	if (found < 0) {
		shunt_buf_free(&nb);
		return -1;
	}
	if (nb.oom) {
		shunt_buf_free(&nb);
		return shunt_error_sys(err, ENOMEM, "install");
	}
	const char *result;
	int r = shunt_install_apply(o, path, old, oldlen, exists, mode, nb.data ? nb.data : "",
				    nb.len, false, &result, err);
	shunt_buf_free(&nb);
	if (r == 0 && strcmp(result, "updated") == 0)
		fprintf(stderr, "shunt: open a new terminal (or run: source %s) to turn it on\n",
			path);
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
	struct shunt_install_opts o = {0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--uninstall") == 0)
			o.uninstall = true;
		else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0)
			o.yes = true;
		else if (strcmp(a, "--dry-run") == 0)
			o.dry_run = true;
		else if (strcmp(a, "--json") == 0)
			o.json = true;
		else if (strcmp(a, "--editor") == 0 && i + 1 < argc)
			o.editors = argv[++i];
		else if (strncmp(a, "--editor=", 9) == 0)
			o.editors = a + 9;
		else if (a[0] != '-' && !o.target)
			o.target = a;
		else
			return shunt_args_usage(err, "unexpected argument '%s'\n%s", a,
						install_usage);
	}
	if (!o.target && o.editors)
		o.target = "editors";
	if (!o.target) {
		const char *ed = shunt_editor_detect();
		return shunt_args_usage(
		    err, "say what to install into: bash, zsh, vscode, editors or cursor%s%s%s\n%s",
		    ed ? " (this terminal belongs to " : "", ed ? ed : "", ed ? ")" : "",
		    install_usage);
	}
	if (strcmp(o.target, "bash") == 0 || strcmp(o.target, "zsh") == 0) {
		if (o.editors)
			return shunt_args_usage(err, "--editor goes with an editor target\n%s",
						install_usage);
		return install_rc(&o, o.target, err);
	}
	if (strcmp(o.target, "editors") == 0 || shunt_install_is_editor(o.target))
		return shunt_install_editors(&o, err);
	return shunt_args_usage(err, "unknown target '%s' (bash, zsh, vscode, editors, cursor, %s)",
				o.target, "or an editor's name: see shunt install --help");
}
