/* Warm microVMs for shuntd's pool: QEMU guests booted ahead of their
 * command, waiting on hvc3 for "go" and the job's cmd.sh. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "microvm_int.h"
#include "sha256.h"

int shunt_microvm_pool_key(const struct shunt_plan *plan, char key[32])
{
	/* warm VMs boot without a NIC (the allowlist's proxy is per run) and
	 * only on QEMU's 9p transport */
	const char *chan = getenv("SHUNT_VM_QEMU_CHANNEL");
	if (plan->network != SHUNT_NET_NONE || (chan && strcmp(chan, "agent") == 0) ||
	    shunt_microvm_choose_backend(false, plan->vm_backend) == SHUNT_VM_FIRECRACKER)
		return -1;
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	struct shunt_error *e = NULL;
	if (shunt_microvm_image_paths(&kernel, &initrd, &digest, &e) < 0) {
		shunt_error_free(&e);
		return -1;
	}
	struct shunt_vm_spec s = {0};
	shunt_microvm_spec_from_plan(plan, &s);
	struct shunt_buf b = {0};
	shunt_buf_printf(&b, "img=%s\nws=%s\nrw=%d\nmem=%u\ncpus=%u\n", digest,
			 s.workspace ? s.workspace : "", s.workspace_rw, s.mem_mib, s.vcpus);
	for (size_t i = 0; i < plan->nmounts; i++)
		if (plan->mounts[i].kind != SHUNT_MOUNT_BIND)
			shunt_buf_printf(&b, "hide%d=%s\n", (int)plan->mounts[i].kind,
					 plan->mounts[i].guest);
	if (!b.data)
		return -1;
	uint8_t d[32];
	char hex[65];
	shunt_sha256(b.data, b.len, d);
	shunt_sha256_hex(d, hex);
	shunt_buf_free(&b);
	memcpy(key, hex, 24);
	key[24] = 0;
	return 0;
}

int shunt_microvm_warm_boot(const struct shunt_plan *plan, struct shunt_microvm_warm *vm,
			    struct shunt_error **err)
{
	memset(vm, 0, sizeof(*vm));
	vm->out_fd = vm->err_fd = vm->ctl_fd = -1;
	if (shunt_microvm_pool_key(plan, vm->key) < 0)
		return shunt_error_set(err, ENOTSUP,
				       "warm VMs need the QEMU backend and a built guest image");
	_cleanup_free_ char *qemu = shunt_microvm_find_qemu();
	if (!qemu)
		return shunt_error_set(err, ENOENT, "qemu-system-x86_64 is not installed; %s",
				       SHUNT_MICROVM_QEMU_HOW);
	_cleanup_free_ char *kernel = NULL, *initrd = NULL, *digest = NULL;
	if (shunt_microvm_image_paths(&kernel, &initrd, &digest, err) < 0)
		return -1;
	struct shunt_vm_spec s = {.vmm = qemu, .kernel = kernel, .initrd = initrd};
	shunt_microvm_spec_from_plan(plan, &s);
	s.kvm = shunt_microvm_kvm_usable(&s, digest);
	struct shunt_microvm_job j;
	if (shunt_microvm_job_setup(plan, &j, err) < 0)
		return -1;
	int ctl[2];
	pid_t pid = -1;
	int outfd = -1, errfd = -1;
	if (pipe2(ctl, O_CLOEXEC) < 0) {
		shunt_error_sys(err, errno, "pipe");
		goto fail;
	}
	int rc = shunt_microvm_qemu_start(plan, &j, &s, ctl[0], &pid, &outfd, &errfd, err);
	close(ctl[0]);
	if (rc < 0) {
		close(ctl[1]);
		goto fail;
	}
	vm->pid = pid;
	vm->out_fd = outfd;
	vm->err_fd = errfd;
	vm->ctl_fd = ctl[1];
	snprintf(vm->dir, sizeof(vm->dir), "%s", j.dir);
	memcpy(vm->nonce, j.nonce, sizeof(vm->nonce));
	if (shunt_microvm_job_write_json(&j, plan, "qemu-warm", pid, digest, err) < 0) {
		shunt_microvm_warm_discard(vm);
		return -1;
	}
	return 0;
fail:;
	struct shunt_error *e = NULL;
	shunt_fs_rmtree(j.dir, &e);
	shunt_error_free(&e);
	return -1;
}

int shunt_microvm_warm_state(const struct shunt_microvm_warm *vm)
{
	if (vm->pid <= 0 || kill((pid_t)vm->pid, 0) < 0)
		return -1;
	char st[PATH_MAX + 8];
	snprintf(st, sizeof(st), "%s/status", vm->dir);
	_cleanup_free_ char *text = NULL;
	struct shunt_error *e = NULL;
	if (shunt_fs_read(st, 1 << 16, &text, NULL, &e) < 0) {
		shunt_error_free(&e);
		return 0;
	}
	if (strstr(text, "SHUNT-INIT-FAIL") || strstr(text, "SHUNT-EXIT-"))
		return -1;
	return strncmp(text, "warm ", 5) == 0 || strstr(text, "\nwarm ") ? 1 : 0;
}

void shunt_microvm_warm_close_fds(struct shunt_microvm_warm *vm)
{
	if (vm->out_fd >= 0)
		close(vm->out_fd);
	if (vm->err_fd >= 0)
		close(vm->err_fd);
	if (vm->ctl_fd >= 0)
		close(vm->ctl_fd);
	vm->out_fd = vm->err_fd = vm->ctl_fd = -1;
}

void shunt_microvm_warm_discard(struct shunt_microvm_warm *vm)
{
	if (vm->pid > 0)
		kill((pid_t)vm->pid, SIGKILL);
	shunt_microvm_warm_close_fds(vm);
	struct shunt_error *e = NULL;
	if (vm->dir[0])
		shunt_fs_rmtree(vm->dir, &e);
	shunt_error_free(&e);
	vm->pid = 0;
}

int shunt_microvm_warm_run(struct shunt_microvm_warm *vm, const struct shunt_plan *plan,
			   int *status, struct shunt_error **err)
{
	if (shunt_microvm_check_network(plan, err) < 0) {
		shunt_microvm_warm_discard(vm);
		return -1;
	}
	struct shunt_microvm_job j = {0};
	snprintf(j.dir, sizeof(j.dir), "%s", vm->dir);
	memcpy(j.nonce, vm->nonce, sizeof(j.nonce));
	j.created = shunt_microvm_now_ms();
	int rc = -1;
	/* a VMM that died under us: EPIPE, not SIGPIPE */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	bool sent =
	    shunt_microvm_job_files(plan, &j, err) == 0 && write(vm->ctl_fd, "go\n", 3) == 3;
	signal(SIGPIPE, old);
	if (!sent) {
		shunt_microvm_warm_discard(vm);
		return -2; /* nothing ran */
	}
	close(vm->ctl_fd);
	vm->ctl_fd = -1;
	rc = shunt_microvm_qemu_finish(&j, (pid_t)vm->pid, false, vm->out_fd, vm->err_fd, j.created,
				       plan->timeout, status, err);
	vm->out_fd = vm->err_fd = -1;
	shunt_microvm_job_end(j.dir);
	vm->pid = 0;
	return rc;
}
