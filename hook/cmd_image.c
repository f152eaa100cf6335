/* shunt image build: the local image the podman/docker runners use when
 * they cannot take the host root. A debootstrap minbase tree from the
 * Debian archive, imported with `podman import` / `docker import`; no
 * container registry is involved. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "fsutil.h"
#include "paths.h"
#include "podman.h"

static const char image_usage[] =
    "usage: shunt image build [--engine podman|docker] [--tag T] [--suite S] [--mirror URL]\n"
    "                         [--dry-run]\n"
    "\n"
    "Builds a Debian minbase tree with debootstrap (from the distribution's archive) and\n"
    "imports it as T (default " SHUNT_ENGINE_IMAGE ") into the engine's local store.\n"
    "The suite defaults to this system's (/etc/os-release), the mirror to $SHUNT_DEBIAN_MIRROR\n"
    "or http://deb.debian.org/debian. Needs root (debootstrap). --dry-run prints the steps.\n"
    "\n"
    "       shunt image build-vm [--rootfs debootstrap|none] ...   = shunt vm build\n";

static char *os_codename(void)
{
	_cleanup_free_ char *data = NULL;
	struct shunt_error *e = NULL;
	if (shunt_fs_read("/etc/os-release", 65536, &data, NULL, &e) < 0) {
		shunt_error_free(&e);
		return strdup("bookworm");
	}
	const char *p = strstr(data, "VERSION_CODENAME=");
	if (!p)
		return strdup("bookworm");
	p += strlen("VERSION_CODENAME=");
	size_t n = strcspn(p, "\n\"'");
	return n ? strndup(p, n) : strdup("bookworm");
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* `tar -C dir -c .` piped into `engine import - tag`; 0 when both succeed. */
static int import_tree(const char *engine, const char *dir, const char *tag)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t tar = fork();
	if (tar == 0) {
		dup2(p[1], 1);
		execlp("tar", "tar", "--numeric-owner", "-C", dir, "-c", ".", (char *)NULL);
		_exit(127);
	}
	pid_t imp = fork();
	if (imp == 0) {
		dup2(p[0], 0);
		execl(engine, engine, "import", "-", tag, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	int a = tar > 0 ? wait_status(tar) : -1;
	int b = imp > 0 ? wait_status(imp) : -1;
	return a == 0 && b == 0 ? 0 : -1;
}

int shunt_cmd_image(int argc, char **argv, struct shunt_error **err)
{
	/* the microVM guest (the name for `shunt vm build`) */
	if (argc >= 2 && strcmp(argv[1], "build-vm") == 0) {
		argv[1] = "build";
		return shunt_cmd_vm(argc, argv, err);
	}
	if (argc < 2 || strcmp(argv[1], "build") != 0) {
		fputs(image_usage,
		      argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
			  ? stdout
			  : stderr);
		return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
			   ? 0
			   : 2;
	}
	const char *engine_name = "podman", *tag = SHUNT_ENGINE_IMAGE, *suite_opt = NULL;
	const char *mirror = getenv("SHUNT_DEBIAN_MIRROR");
	if (!mirror || !*mirror)
		mirror = "http://deb.debian.org/debian";
	bool dry = false;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--dry-run") == 0) {
			dry = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(image_usage, stdout);
			return 0;
		} else if (v && strcmp(a, "--engine") == 0) {
			engine_name = v, i++;
		} else if (v && strcmp(a, "--tag") == 0) {
			tag = v, i++;
		} else if (v && strcmp(a, "--suite") == 0) {
			suite_opt = v, i++;
		} else if (v && strcmp(a, "--mirror") == 0) {
			mirror = v, i++;
		} else {
			shunt_error_set(err, EINVAL,
					"image build: unknown or incomplete option '%s'\n%s", a,
					image_usage);
			(*err)->exitcode = 2;
			return -1;
		}
	}
	if (strcmp(engine_name, "podman") != 0 && strcmp(engine_name, "docker") != 0) {
		shunt_error_set(err, EINVAL, "image build: --engine podman or docker, not '%s'",
				engine_name);
		(*err)->exitcode = 2;
		return -1;
	}
	_cleanup_free_ char *suite = suite_opt ? strdup(suite_opt) : os_codename();
	_cleanup_free_ char *engine = shunt_paths_which(engine_name);
	_cleanup_free_ char *deboot = shunt_paths_which("debootstrap");
	if (!deboot && access("/usr/sbin/debootstrap", X_OK) == 0)
		deboot = strdup("/usr/sbin/debootstrap");
	if (dry) {
		printf("debootstrap --variant=minbase %s <tmpdir> %s\n", suite ? suite : "?",
		       mirror);
		printf("tar --numeric-owner -C <tmpdir> -c . | %s import - %s\n", engine_name, tag);
		printf("rm -rf <tmpdir>\n");
		return 0;
	}
	if (!engine) {
		shunt_error_set(
		    err, ENOENT, "%s is not installed; install it with 'apt-get install %s'",
		    engine_name, strcmp(engine_name, "docker") == 0 ? "docker.io" : "podman");
		return -1;
	}
	if (!deboot) {
		shunt_error_set(
		    err, ENOENT,
		    "debootstrap is not installed; install it with 'apt-get install debootstrap'");
		return -1;
	}
	if (geteuid() != 0) {
		shunt_error_set(err, EPERM,
				"image build needs root (debootstrap creates device nodes and "
				"chowns files); run it with sudo");
		return -1;
	}
	char dir[] = "/var/tmp/shunt-image.XXXXXX";
	if (!mkdtemp(dir))
		return shunt_error_sys(err, errno, "creating a build directory under /var/tmp");
	fprintf(stderr, "shunt: debootstrap --variant=minbase %s %s %s\n", suite, dir, mirror);
	int rc = -1;
	pid_t pid = fork();
	if (pid == 0) {
		execl(deboot, "debootstrap", "--variant=minbase", suite, dir, mirror, (char *)NULL);
		_exit(127);
	}
	int st = pid > 0 ? wait_status(pid) : -1;
	if (st != 0) {
		shunt_error_set(err, EIO, "debootstrap failed (status %d); see its output above",
				st);
		goto out;
	}
	/* no apt lists or caches in the image */
	fprintf(stderr, "shunt: importing into %s as %s\n", engine_name, tag);
	if (import_tree(engine, dir, tag) < 0) {
		shunt_error_set(err, EIO, "%s import failed; see its output above", engine_name);
		goto out;
	}
	printf("%s\n", tag);
	rc = 0;
out:;
	struct shunt_error *e = NULL;
	if (shunt_fs_rmtree(dir, &e) < 0)
		shunt_error_free(&e);
	return rc;
}
