/* Warm gVisor sandboxes for shuntd's pool: a bundle whose init says
 * it is ready and reads its command as one line of shell on stdin. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childio.h"
#include "cleanup.h"
#include "fsutil.h"
#include "gvisor_int.h"
#include "microvm.h"

#define BUNDLE_MARK "@SHUNT_BUNDLE@"

static const char warm_init[] = "echo shunt-warm-ready; exec /bin/sh -s";

int shunt_gvisor_warm_template(const struct shunt_plan *plan, struct shunt_buf *out)
{
	if (plan->network != SHUNT_NET_NONE)
		return -1;
	char *argv[] = {"/bin/sh", "-c", (char *)warm_init, NULL};
	struct shunt_plan p = *plan;
	p.argv = argv;
	p.cwd = plan->workspace ? plan->workspace : "/";
	struct shunt_buf cfg = {0};
	bool oci = false;
	struct shunt_error *e = NULL;
	bool rootless = getuid() != 0;
	if (shunt_gvisor_config(&p, BUNDLE_MARK, rootless, &cfg, &oci, &e) < 0) {
		shunt_error_free(&e);
		shunt_buf_free(&cfg);
		return -1;
	}
	shunt_buf_printf(out, "rootless=%d oci=%d\n", rootless, oci);
	shunt_buf_append(out, cfg.data, cfg.len);
	shunt_buf_free(&cfg);
	return out->oom ? -1 : 0;
}

int shunt_gvisor_warm_boot(const char *tmpl, const char *id, struct shunt_gvisor_warm *w,
			   struct shunt_error **err)
{
	memset(w, 0, sizeof(*w));
	w->out_fd = w->err_fd = w->ctl_fd = -1;
	int rootless = 0, oci = 0;
	const char *json = strchr(tmpl, '\n');
	if (!json || sscanf(tmpl, "rootless=%d oci=%d", &rootless, &oci) != 2)
		return shunt_error_set(err, EINVAL, "bad warm sandbox template");
	json++;
	_cleanup_free_ char *runsc = NULL, *bundles = NULL, *state = NULL;
	if (shunt_gvisor_setup(&runsc, &bundles, &state, err) < 0)
		return -1;
	snprintf(w->id, sizeof(w->id), "%s", id);
	snprintf(w->bundle, sizeof(w->bundle), "%s/%s", bundles, id);
	if (mkdir(w->bundle, 0700) < 0)
		return shunt_error_sys(err, errno, "creating bundle %s", w->bundle);
	struct shunt_buf cfg = {0}, esc = {0};
	shunt_buf_json_str(&esc, w->bundle, strlen(w->bundle));
	/* the placeholder sits inside JSON strings: splice in the escaped
	 * path without its quotes */
	for (const char *p = json; *p;) {
		const char *m = strstr(p, BUNDLE_MARK);
		if (!m) {
			shunt_buf_puts(&cfg, p);
			break;
		}
		shunt_buf_append(&cfg, p, (size_t)(m - p));
		if (esc.len >= 2)
			shunt_buf_append(&cfg, esc.data + 1, esc.len - 2);
		p = m + strlen(BUNDLE_MARK);
	}
	shunt_buf_free(&esc);
	char path[sizeof(w->bundle) + 32], owner[32];
	snprintf(owner, sizeof(owner), "%d\n", (int)getpid());
	snprintf(path, sizeof(path), "%s/owner", w->bundle);
	int rc = cfg.oom ? shunt_error_set(err, ENOMEM, "out of memory")
			 : shunt_fs_write_atomic(path, owner, strlen(owner), 0600, err);
	snprintf(path, sizeof(path), "%s/empty", w->bundle);
	if (rc == 0)
		rc = shunt_fs_write_atomic(path, "", 0, 0400, err);
	snprintf(path, sizeof(path), "%s/config.json", w->bundle);
	if (rc == 0)
		rc = shunt_fs_write_atomic(path, cfg.data, cfg.len, 0600, err);
	shunt_buf_free(&cfg);
	if (rc < 0) {
		shunt_gvisor_warm_destroy(w);
		return -1;
	}
	/* no network: warm sandboxes are only for plans without one */
	struct shunt_gvisor_argv a;
	shunt_gvisor_run_argv(&a, runsc, state, SHUNT_NET_NONE, rootless, oci, w->bundle, w->id);
	char **argv = a.v;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		shunt_error_sys(err, errno, "pipe");
		goto fail;
	}
	pid_t pid = shunt_gvisor_spawn(runsc, argv, in[0], out[1], errp[1], err);
	if (pid < 0)
		goto fail;
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	w->pid = pid;
	w->ctl_fd = in[1];
	w->out_fd = out[0];
	w->err_fd = errp[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	shunt_gvisor_warm_destroy(w);
	return -1;
}

void shunt_gvisor_warm_command(const struct shunt_plan *plan, struct shunt_buf *out)
{
	struct shunt_buf script = {0};
	shunt_microvm_job_script(plan, &script);
	/* one line for the waiting `sh -s`; the command itself gets a fresh
	 * shell whose stdin is /dev/null, not the pipe the line came on */
	shunt_buf_puts(out, "exec /bin/sh -c ");
	shunt_buf_put_shquoted(out, script.data ? script.data : "");
	shunt_buf_puts(out, " </dev/null\n");
	shunt_buf_free(&script);
}

void shunt_gvisor_warm_kill(const struct shunt_gvisor_warm *w)
{
	_cleanup_free_ char *runsc = NULL;
	_cleanup_free_ char *state = shunt_gvisor_dir("gvisor-state");
	struct shunt_error *e = NULL;
	if (shunt_gvisor_find(&runsc, &e) < 0 || !state) {
		shunt_error_free(&e);
		return;
	}
	char *kargv[] = {runsc, "--root", state, "kill", "--all", (char *)w->id, "KILL", NULL};
	shunt_child_run_quiet(kargv);
}

void shunt_gvisor_warm_close_fds(struct shunt_gvisor_warm *w)
{
	if (w->out_fd >= 0)
		close(w->out_fd);
	if (w->err_fd >= 0)
		close(w->err_fd);
	if (w->ctl_fd >= 0)
		close(w->ctl_fd);
	w->out_fd = w->err_fd = w->ctl_fd = -1;
}

void shunt_gvisor_warm_destroy(struct shunt_gvisor_warm *w)
{
	shunt_gvisor_warm_close_fds(w);
	_cleanup_free_ char *runsc = NULL;
	_cleanup_free_ char *state = shunt_gvisor_dir("gvisor-state");
	struct shunt_error *e = NULL;
	if (w->bundle[0] && state && shunt_gvisor_find(&runsc, &e) == 0)
		shunt_gvisor_destroy(runsc, state, w->id, w->bundle);
	shunt_error_free(&e);
	w->bundle[0] = 0;
	w->pid = 0;
}
