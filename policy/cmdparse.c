/* Parsed commands (cmdparse.h): the per-tool option tables and the
 * parser. The tables are small on purpose: only what changes which word
 * is a subcommand (options that take a value) and which spellings are
 * one option (aliases). Async-signal-safe: arena memory only. */
#include "cmdparse.h"

#include <errno.h>
#include <string.h>

enum {
	TOOL_LOCAL = 1u << 0,	  /* destroy verbs throw away local work: packs judge them */
	TOOL_POSIX = 1u << 1,	  /* options end at the first operand (wrappers, ssh) */
	TOOL_NOCLUSTER = 1u << 2, /* -name is one option (find, terraform) */
};

struct shunt_tool {
	const char *prog;
	const char *const *value_opts; /* options that take the next word as value */
	const char *const *aliases;    /* pairs: spelling, canonical name */
	unsigned flags;
	const char *const *readonly; /* read-only verbs in subcommand position */
};

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *const git_values[] = {"-C",		"-c",	    "--git-dir",  "--work-tree",
					 "--namespace", "-m",	    "--message",  "-F",
					 "--file",	"-b",	    "-B",	  "--reference",
					 "--depth",	"--author", "--date",	  "--format",
					 "--pretty",	"--grep",   "--since",	  "--until",
					 "-X",		"--exec",   "-o",	  "--push-option",
					 "--origin",	"--config", "--template", "--upload-pack",
					 NULL};
static const char *const git_aliases[] = {"--force",
					  "-f",
					  "--delete",
					  "-d",
					  "--dry-run",
					  "-n",
					  "--quiet",
					  "-q",
					  "--verbose",
					  "-v",
					  "--set-upstream",
					  "-u",
					  "--patch",
					  "-p",
					  "--interactive",
					  "-i",
					  "--all",
					  "-a",
					  "--staged",
					  "-S",
					  "--worktree",
					  "-W",
					  NULL};
static const char *const git_ro[] = {
    "status",	     "log",	    "diff",    "show",	    "blame",	"shortlog", "describe",
    "rev-parse",     "ls-files",    "ls-tree", "ls-remote", "cat-file", "grep",	    "show-ref",
    "count-objects", "whatchanged", "help",    "version",   "rev-list", "fetch",    NULL};

static const char *const docker_values[] = {
    "-H",	"--host",   "--context",  "--config", "-l",	      "--log-level", "--name",
    "-e",	"--env",    "--env-file", "-p",	      "--publish",    "-w",	     "--workdir",
    "-u",	"--user",   "--network",  "--net",    "--entrypoint", "--mount",     "--platform",
    "--filter", "--format", "--label",	  "--signal", "--time",	      NULL};
static const char *const docker_aliases[] = {"--force", "-f", "--volumes", "-v", "--all", "-a",
					     "--link",	"-l", "--quiet",   "-q", NULL};
static const char *const docker_ro[] = {
    "ps",   "images",  "inspect", "logs",   "info", "version", "stats", "top",
    "port", "history", "search",  "events", "ls",   "list",    "df",	NULL};

static const char *const kube_values[] = {
    "-n",	   "--namespace",  "--context",	       "--cluster", "--user",	  "-l",
    "--selector",  "-o",	   "--output",	       "-f",	    "--filename", "-c",
    "--container", "--kubeconfig", "--field-selector", "--sort-by", "--server",	  "-s",
    NULL};
static const char *const helm_values[] = {
    "-n",    "--namespace",  "--kube-context", "--kubeconfig", "-f",	   "--values",
    "--set", "--set-string", "--version",      "-o",	       "--output", "--repo",
    NULL};
static const char *const aws_values[] = {"--profile", "--region", "--output", "--endpoint-url",
					 "--query",   "--color",  NULL};
static const char *const gcloud_values[] = {"--project", "--account", "--configuration", "--zone",
					    "--region",	 "--format",  "--verbosity",	 NULL};
static const char *const az_values[] = {
    "--subscription", "-g", "--resource-group", "-o", "--output", "--query", NULL};
static const char *const gh_values[] = {"-R", "--repo", "-t", "--title", "-b", "--body", NULL};
static const char *const pkg_values[] = {
    "--prefix",	    "-w", "--workspace", "--registry",	      "-r", "--requirement", "-c",
    "--constraint", "-i", "--index-url", "--extra-index-url", "-t", "--target",	     NULL};
static const char *const pkg_aliases[] = {"--yes", "-y", "--global", "-g", "--force", "-f", NULL};
static const char *const systemctl_values[] = {"-H",	  "--host", "-M",	  "--machine", "-t",
					       "--type",  "-p",	    "--property", "--state",   "-n",
					       "--lines", "-o",	    "--output",	  NULL};
static const char *const systemctl_ro[] = {
    "status",	       "show",	      "is-active",	   "is-enabled", "is-failed", "list-units",
    "list-unit-files", "list-timers", "list-dependencies", "cat",	 "help",      NULL};
static const char *const rm_aliases[] = {"--recursive", "-r", "-R",	   "-r", "--force", "-f",
					 "--dir",	"-d", "--verbose", "-v", NULL};
static const char *const rsync_values[] = {
    "-e",	  "--rsh",	     "--exclude",      "--include",    "--filter",
    "-f",	  "--exclude-from",  "--include-from", "--files-from", "--chmod",
    "--chown",	  "--password-file", "--log-file",     "-B",	       "--block-size",
    "-T",	  "--temp-dir",	     "--partial-dir",  "--backup-dir", "--suffix",
    "--max-size", "--min-size",	     "--timeout",      "--port",       NULL};
static const char *const rsync_aliases[] = {"--archive",   "-a", "--verbose",  "-v",
					    "--recursive", "-r", "--compress", "-z",
					    "--dry-run",   "-n", NULL};
static const char *const sshkeygen_values[] = {"-f", "-t", "-b", "-C", "-N", "-P",
					       "-E", "-F", "-R", "-Y", "-n", "-I",
					       "-O", "-V", "-z", "-Z", "-a", NULL};
static const char *const sudo_values[] = {"-u",	    "-g",	    "-C",      "-D",	   "-h",
					  "-p",	    "-r",	    "-t",      "-T",	   "-U",
					  "--user", "--group",	    "--chdir", "--prompt", "--role",
					  "--type", "--other-user", "--host",  NULL};
static const char *const ssh_values[] = {"-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R",
					 "-D", "-b", "-c", "-E", "-e", "-I", "-m", "-O",
					 "-Q", "-S", "-W", "-w", "-B", NULL};
static const char *const http_curl_values[] = {"-X",
					       "--request",
					       "-d",
					       "--data",
					       "--data-raw",
					       "--data-binary",
					       "-H",
					       "--header",
					       "-o",
					       "--output",
					       "-u",
					       "--user",
					       "-A",
					       "--user-agent",
					       "-e",
					       "-F",
					       "--form",
					       "-T",
					       "--upload-file",
					       "-x",
					       "--proxy",
					       "-b",
					       "-c",
					       "--cookie",
					       "--url",
					       "-m",
					       "--max-time",
					       "--connect-timeout",
					       NULL};
static const char *const http_curl_aliases[] = {"--request", "-X", NULL};
static const char *const kill_values[] = {"-s", "--signal", "-n", NULL};

static const struct shunt_tool tools[] = {
    {"git", git_values, git_aliases, TOOL_LOCAL, git_ro},
    {"docker", docker_values, docker_aliases, TOOL_LOCAL, docker_ro},
    {"podman", docker_values, docker_aliases, TOOL_LOCAL, docker_ro},
    {"kubectl", kube_values, NULL, 0, NULL},
    {"oc", kube_values, NULL, 0, NULL},
    {"helm", helm_values, NULL, 0, NULL},
    {"aws", aws_values, NULL, 0, NULL},
    {"gcloud", gcloud_values, NULL, 0, NULL},
    {"az", az_values, NULL, 0, NULL},
    {"gh", gh_values, NULL, 0, NULL},
    {"glab", gh_values, NULL, 0, NULL},
    {"terraform", NULL, NULL, TOOL_NOCLUSTER, NULL},
    {"tofu", NULL, NULL, TOOL_NOCLUSTER, NULL},
    {"npm", pkg_values, pkg_aliases, TOOL_LOCAL, NULL},
    {"pnpm", pkg_values, pkg_aliases, TOOL_LOCAL, NULL},
    {"yarn", pkg_values, pkg_aliases, TOOL_LOCAL, NULL},
    {"pip", pkg_values, pkg_aliases, TOOL_LOCAL, NULL},
    {"pip3", pkg_values, pkg_aliases, TOOL_LOCAL, NULL},
    {"uv", pkg_values, pkg_aliases, TOOL_LOCAL, NULL},
    {"systemctl", systemctl_values, NULL, 0, systemctl_ro},
    {"rm", NULL, rm_aliases, 0, NULL},
    {"rsync", rsync_values, rsync_aliases, 0, NULL},
    {"ssh-keygen", sshkeygen_values, NULL, 0, NULL},
    {"sudo", sudo_values, NULL, TOOL_POSIX, NULL},
    {"doas", L("-u", "-C"), NULL, TOOL_POSIX, NULL},
    {"ssh", ssh_values, NULL, TOOL_POSIX, NULL},
    {"env", L("-u", "--unset", "-C", "--chdir", "-S"), NULL, TOOL_POSIX, NULL},
    {"xargs", L("-I", "-d", "-E", "-n", "-P", "-L", "-s", "-a"), NULL, TOOL_POSIX, NULL},
    {"nice", L("-n"), NULL, TOOL_POSIX, NULL},
    {"timeout", L("-s", "-k"), NULL, TOOL_POSIX, NULL},
    {"find", NULL, NULL, TOOL_NOCLUSTER, NULL},
    {"curl", http_curl_values, http_curl_aliases, 0, NULL},
    {"kill", kill_values, NULL, 0, NULL},
};

/* Programs whose destroy verbs are local work (packages, local VMs,
 * caches, local VCS): the generic fallback leaves them to the packs. */
static const char *const local_progs[] = {
    "git", "docker", "podman", "npm", "pnpm", "yarn", "bun", "pip", "pip3", "pipx", "uv", "poetry",
    "conda", "mamba", "brew", "apt", "apt-get", "dnf", "yum", "pacman", "apk", "snap", "flatpak",
    "cargo", "rustup", "gem", "bundle", "go", "make", "cmake", "ninja", "nix", "nix-env", "asdf",
    "mise", "nvm", "pyenv", "rbenv", "composer", "dotnet", "mvn", "gradle", "sbt", "kind",
    "minikube", "vagrant", "multipass", "tmux", "screen", "ollama", "pm2", "hg", "jj", "zoxide",
    "tput", "pre-commit", "docker-compose", "direnv", "task", "dvc", "code", "trash", "stow",
    "apt-mark", "update-alternatives", "git-lfs", "lxc", "virsh", "crontab",
    /* file tools and interpreters: their words are file names or scripts */
    "mkdir", "touch", "cp", "mv", "ln", "cd", "rmdir", "chmod", "chown", "install", "vim", "vi",
    "nvim", "nano", "emacs", "open", "xdg-open", "tar", "zip", "unzip", "gzip", "python", "python3",
    "node", "deno", "ruby", "perl", "php", "bash", "sh", "zsh", "java", "just", "npx", "bunx",
    "tsc", "jest", "pytest", "cargo-make",
    /* text tools and compilers: a word like "reset" is a file to them */
    "sort", "uniq", "cut", "tr", "sed", "awk", "gawk", "mawk", "tee", "xxd", "od", "strings",
    "column", "nl", "split", "paste", "join", "fmt", "fold", "basename", "dirname", "printf", "gcc",
    "cc", "clang", "g++", "c++", "ld", "as", "rustc", "javac", "zig", "objdump", "readelf", "nm",
    "strip", "gdb", "lldb", "valgrind", "strace", "ltrace", "perf", "man", "info", "jq", "yq",
    "xclip", "pbcopy", "convert", "ffmpeg", "pandoc", "shellcheck", "clang-format", "black", "ruff",
    "eslint", "prettier", "volta", "fnm", "opam", "port", "sdk", NULL};

static const char *const destroy_verbs[] = {
    "delete", "destroy", "drop",  "purge",    "remove", "rm",	     "terminate", "wipe",
    "prune",  "forget",	 "flush", "truncate", "revoke", "uninstall", "reset",	  NULL};

/* Read-only programs, whatever their operands (options checked below). */
static const char *const ro_progs[] = {
    "ls",     "ll",	   "cat",     "less",	  "more",	"head",	  "tail",     "grep",
    "egrep",  "fgrep",	   "rg",      "ag",	  "du",		"df",	  "stat",     "file",
    "wc",     "id",	   "whoami",  "groups",	  "ps",		"pgrep",  "top",      "htop",
    "free",   "uptime",	   "uname",   "hostname", "date",	"which",  "whereis",  "lsblk",
    "lsof",   "ss",	   "netstat", "dmesg",	  "journalctl", "tree",	  "realpath", "readlink",
    "md5sum", "sha256sum", "sha1sum", "cmp",	  "diff",	"getent", "lspci",    "lsusb",
    "lsmod",  "blkid",	   "find",    "pwd",	  "echo",	"true",	  "test",     "lscpu",
    "nproc",  "w",	   "who",     "last",	  "iostat",	"vmstat", NULL};

/* Read-only verbs in subcommand position for CLIs without their own list. */
static const char *const ro_verbs[] = {"list", "ls",	  "get",    "describe", "show", "status",
				       "info", "inspect", "logs",   "version",	"help", "view",
				       "diff", "plan",	  "search", "top",	"cat",	NULL};

static bool in(const char *s, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static const struct shunt_tool *tool_for(const char *prog)
{
	for (size_t i = 0; i < sizeof(tools) / sizeof(*tools); i++)
		if (strcmp(tools[i].prog, prog) == 0)
			return &tools[i];
	return NULL;
}

static const char *canon(const struct shunt_tool *t, const char *opt)
{
	if (t && t->aliases)
		for (size_t i = 0; t->aliases[i] && t->aliases[i + 1]; i += 2)
			if (strcmp(t->aliases[i], opt) == 0)
				return t->aliases[i + 1];
	return opt;
}

const char *shunt_cmdparse_canon(const char *prog, const char *opt)
{
	return canon(prog ? tool_for(prog) : NULL, opt);
}

static bool takes_value(const struct shunt_tool *t, const char *opt)
{
	return t && in(opt, t->value_opts);
}

struct pstate {
	struct shunt_arena *a;
	struct shunt_parsed *out;
	size_t optcap, poscap;
};

static int push_opt(struct pstate *s, const char *name, const char *value)
{
	struct shunt_parsed *o = s->out;
	if (o->nopts == s->optcap) {
		size_t cap = s->optcap ? s->optcap * 2 : 8;
		struct shunt_parsed_opt *n = shunt_arena_alloc(s->a, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		if (o->nopts)
			memcpy(n, o->opts, o->nopts * sizeof(*n));
		o->opts = n;
		s->optcap = cap;
	}
	o->opts[o->nopts].name = canon(o->tool, name);
	o->opts[o->nopts].value = value;
	o->nopts++;
	return 0;
}

static int push_pos(struct pstate *s, const char *w)
{
	struct shunt_parsed *o = s->out;
	if (o->npos == s->poscap)
		return -ENOMEM; /* cannot happen: one slot per word was taken */
	o->pos[o->npos++] = w;
	return 0;
}

int shunt_cmdparse_operands(struct shunt_parsed *pc)
{
	if (pc->pos_norm)
		return 0;
	int rc = shunt_lex_norm_words(pc->pos, pc->npos, pc->ctx, pc->a);
	pc->pos_norm = rc == 0;
	return rc;
}

int shunt_cmdparse(const char *prog, const char *const *argv, size_t argc,
		   const struct shunt_lex_ctx *ctx, struct shunt_arena *a, struct shunt_parsed *out)
{
	memset(out, 0, sizeof(*out));
	out->prog = prog ? prog : "";
	out->tool = tool_for(out->prog);
	out->ctx = ctx;
	out->a = a;
	const struct shunt_tool *t = out->tool;
	struct pstate s = {a, out, 0, argc};
	/* at most one positional per word: one allocation, no regrowth */
	if (argc && !(out->pos = shunt_arena_alloc(a, argc * sizeof(*out->pos))))
		return -ENOMEM;
	bool opts_done = false;
	for (size_t k = 1; k < argc; k++) {
		const char *w = argv[k];
		int rc = 0;
		if (opts_done || w[0] != '-' || w[1] == '\0') {
			rc = push_pos(&s, w);
			if (t && (t->flags & TOOL_POSIX))
				opts_done = true;
		} else if (strcmp(w, "--") == 0) {
			opts_done = true;
		} else if (w[1] == '-' || (t && (t->flags & TOOL_NOCLUSTER))) {
			/* --opt, --opt=value, --opt value; -name for find-like tools */
			const char *eq = strchr(w, '=');
			if (eq) {
				char *name = shunt_arena_strndup(a, w, (size_t)(eq - w));
				if (!name)
					return -ENOMEM;
				rc = push_opt(&s, name, eq + 1);
			} else if (takes_value(t, w) && k + 1 < argc) {
				rc = push_opt(&s, w, argv[++k]);
			} else {
				rc = push_opt(&s, w, NULL);
			}
		} else {
			/* -abc is -a -b -c; a value option takes the rest or the next word */
			for (size_t j = 1; w[j] && rc == 0; j++) {
				char name[3] = {'-', w[j], '\0'};
				const char *nm = shunt_arena_strndup(a, name, 2);
				if (!nm)
					return -ENOMEM;
				if (takes_value(t, name)) {
					const char *v = w[j + 1]       ? w + j + 1
							: k + 1 < argc ? argv[++k]
								       : NULL;
					rc = push_opt(&s, nm, v);
					break;
				}
				rc = push_opt(&s, nm, NULL);
			}
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

const struct shunt_simple *shunt_cmdparse_inner(const struct shunt_simple *c,
						const struct shunt_simple *next)
{
	if (!next || !(next->flags & SHUNT_CMD_UNWRAPPED) || next->depth != c->depth + 1)
		return NULL;
	for (size_t k = 0; k < c->nredirs; k++) {
		enum shunt_redir_kind rk = c->redirs[k].kind;
		if (rk == SHUNT_REDIR_OUT || rk == SHUNT_REDIR_APPEND || rk == SHUNT_REDIR_RW)
			return NULL;
	}
	return next;
}

bool shunt_cmdparse_has_opt(const struct shunt_parsed *pc, const char *opt)
{
	const char *c = canon(pc->tool, opt);
	for (size_t i = 0; i < pc->nopts; i++)
		if (strcmp(pc->opts[i].name, c) == 0)
			return true;
	return false;
}

bool shunt_cmdparse_readonly(const struct shunt_parsed *pc)
{
	/* a wrapper's words are a command, not verbs (sudo ls > /etc/x) */
	if (pc->tool && (pc->tool->flags & TOOL_POSIX))
		return false;
	if (in(pc->prog, ro_progs)) {
		/* find that deletes or runs, journalctl that vacuums: not read-only */
		for (size_t i = 0; i < pc->nopts; i++) {
			const char *n = pc->opts[i].name;
			if (!strncmp(n, "-exec", 5) || !strncmp(n, "-ok", 3) ||
			    !strcmp(n, "-delete") || !strncmp(n, "-fprint", 7) ||
			    !strncmp(n, "--vacuum", 8) || !strcmp(n, "--rotate") ||
			    !strcmp(n, "--flush"))
				return false;
		}
		return true;
	}
	if (pc->npos == 0)
		return false;
	const char *const *ro = pc->tool && pc->tool->readonly ? pc->tool->readonly : ro_verbs;
	if (in(pc->pos[0], ro))
		return true;
	/* a group then a verb: docker container ls, kubectl config view */
	return pc->npos > 1 && in(pc->pos[1], ro_verbs) && !in(pc->pos[0], destroy_verbs);
}

/* Whether word w is, or ends in (after ':'), or starts with (before '-'),
 * a destroy verb: "delete", "apps:destroy", "delete-secret". */
static const char *verb_of(const char *w)
{
	const char *c = strrchr(w, ':');
	if (c)
		w = c + 1;
	for (size_t i = 0; destroy_verbs[i]; i++) {
		size_t n = strlen(destroy_verbs[i]);
		if (strncmp(w, destroy_verbs[i], n) == 0 && (w[n] == '\0' || w[n] == '-'))
			return destroy_verbs[i];
	}
	return NULL;
}

static bool generic_prog(const char *prog)
{
	const struct shunt_tool *t = tool_for(prog);
	/* git-bisect, git-stash...: git's own programs (git-core) are local too */
	return prog[0] && strncmp(prog, "git-", 4) != 0 && !in(prog, local_progs) &&
	       !in(prog, ro_progs) && !(t && (t->flags & TOOL_LOCAL));
}

bool shunt_cmdparse_maybe_destroy(const char *prog, const char *const *argv, size_t argc)
{
	if (!prog)
		return false;
	/* a verb is among the first words that are not options (values of
	 * options may sit between them: look a little further); the word scan
	 * first, it is what most commands fail cheaply */
	bool verb = false;
	for (size_t k = 1, seen = 0; k < argc && seen < 6 && !verb; k++) {
		if (argv[k][0] == '-')
			continue;
		seen++;
		verb = verb_of(argv[k]) != NULL;
	}
	return verb && generic_prog(prog);
}

const char *shunt_cmdparse_destroy_verb(const struct shunt_parsed *pc)
{
	if (!generic_prog(pc->prog))
		return NULL;
	/* subcommand position: the first three positionals, before any path */
	for (size_t i = 0; i < pc->npos && i < 3; i++) {
		const char *w = pc->pos[i];
		if (strchr(w, '/') || strchr(w, '.') || strchr(w, '='))
			return NULL;
		const char *v = verb_of(w);
		if (v)
			return v;
	}
	return NULL;
}

const char *shunt_cmdparse_family_hint(const char *prog)
{
	static const char *const map[] = {
	    "aws",	 "cloud",     "gcloud",	    "cloud",	 "az",	      "cloud",
	    "doctl",	 "cloud",     "linode-cli", "cloud",	 "hcloud",    "cloud",
	    "oci",	 "cloud",     "gh",	    "forge",	 "glab",      "forge",
	    "heroku",	 "paas",      "vercel",	    "paas",	 "netlify",   "paas",
	    "fly",	 "paas",      "flyctl",	    "paas",	 "firebase",  "paas",
	    "wrangler",	 "paas",      "railway",    "paas",	 "terraform", "iac",
	    "tofu",	 "iac",	      "pulumi",	    "iac",	 "cdk",	      "iac",
	    "helm",	 "iac",	      "kubectl",    "iac",	 "psql",      "databases",
	    "mysql",	 "databases", "mongosh",    "databases", "redis-cli", "databases",
	    "restic",	 "backup",    "borg",	    "backup",	 "rclone",    "backup",
	    "vault",	 "secrets",   "op",	    "secrets",	 "pass",      "secrets",
	    "consul",	 "secrets",   "systemctl",  "services",	 "service",   "services",
	    "launchctl", "services",  NULL};
	for (size_t i = 0; map[i]; i += 2)
		if (strcmp(map[i], prog) == 0)
			return map[i + 1];
	return NULL;
}
