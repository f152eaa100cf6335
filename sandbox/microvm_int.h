/* What the microVM runner's files share among themselves (microvm.c:
 * images, backend choice, runs, --dry-run; microvm_qemu.c: the QEMU
 * command line; microvm_job.c: job directories; microvm_boot.c: the
 * QEMU boot over 9p and consoles; microvm_pool.c: warm VMs;
 * firecracker.c: Firecracker and the agent channel). Not for other
 * modules: they use microvm.h. */
#ifndef SHUNT_MICROVM_INT_H
#define SHUNT_MICROVM_INT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "microvm.h"

struct shunt_netproxy;

#define VM_KVM_PROBE_SECONDS 8
#define VM_DEFAULT_MEM_MIB   512
#define VM_MIN_MEM_MIB	     128
#define VM_MAX_MEM_MIB	     8192
#define VM_HIDE_FAILED	     121 /* the VMM child could not hide the plan's secrets */
#define VM_FC_BOOT_SECONDS   60	 /* Firecracker: from start to the agent answering */
#define VM_FC_EXIT_SECONDS   10	 /* Firecracker: from the exit status to the VMM gone */

#define SHUNT_MICROVM_QEMU_HOW "install QEMU with 'apt-get install qemu-system-x86'"

static inline void vm_set_exit(struct shunt_error **err, int code)
{
	if (err && *err)
		(*err)->exitcode = code;
}

/* One run's job directory ($XDG_STATE_HOME/shunt/vm/jobs/<run_id>). */
struct shunt_microvm_job {
	char dir[PATH_MAX];
	char nonce[33];
	long long created, deadline;
};

/* ---- microvm.c ---- */

/* The built image's files (malloc'd); digest may be NULL. 0, or -1 with
 * *err (exitcode 125) saying how to build it. */
int shunt_microvm_image_paths(char **kernel, char **initrd, char **digest,
			      struct shunt_error **err);
/* plan's cwd is set and inside its workspace (or there is none): the
 * command starts there, else in the workspace. */
bool shunt_microvm_cwd_inside(const struct shunt_plan *plan);
/* The build script is there: a missing image can be built on first use. */
bool shunt_microvm_image_buildable(void);
/* The VMM binaries ($SHUNT_QEMU / $SHUNT_FIRECRACKER, else PATH); malloc'd or NULL. */
char *shunt_microvm_find_qemu(void);
char *shunt_microvm_find_firecracker(void);
/* /dev/kvm opens read-write for this user. */
bool shunt_microvm_kvm_rw(void);
/* The host kernel's release (probe cache keys); "?" when unknown. */
void shunt_microvm_kernel_release(char *rel, size_t size);
/* Sets *err (exitcode 125) saying Firecracker cannot be used here; -1. */
int shunt_microvm_fc_unavailable(struct shunt_error **err);
/* Memory, vCPUs, workspace and TSC of plan into s. 0. */
int shunt_microvm_spec_from_plan(const struct shunt_plan *plan, struct shunt_vm_spec *s);
/* 0 when plan's network can be had without a NIC (none, or weaker
 * isolation accepted: then a note says it is off); -1 with *err. */
int shunt_microvm_check_network(const struct shunt_plan *plan, struct shunt_error **err);
/* Creates plan's job directory in *j with the share's boot file. 0, or -1 with *err. */
int shunt_microvm_job_setup(const struct shunt_plan *plan, struct shunt_microvm_job *j,
			    struct shunt_error **err);
/* Writes the command's half of the share (env, then cmd.sh). 0, or -1 with *err. */
int shunt_microvm_job_files(const struct shunt_plan *plan, const struct shunt_microvm_job *j,
			    struct shunt_error **err);
/* The backend: SHUNT_VM_BACKEND, else cfg_choice (0 auto, 1 firecracker,
 * 2 qemu), else Firecracker when it boots here (may_probe: probe now). */
enum shunt_vm_backend shunt_microvm_choose_backend(bool may_probe, int cfg_choice);
/* Hands line to the callback set by shunt_microvm_set_notify (if any). */
void shunt_microvm_notify(enum shunt_microvm_note kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- microvm_job.c ---- */

/* Wall-clock milliseconds (job deadlines are compared across processes). */
long long shunt_microvm_now_ms(void);
/* Appends "k":"v" (JSON strings). */
void shunt_microvm_json_kv(struct shunt_buf *b, const char *k, const char *v);
/* Makes j's directory under the jobs dir with a fresh nonce, its deadline
 * and an empty share/. 0, or -1 with *err. */
int shunt_microvm_job_create(const struct shunt_plan *plan, struct shunt_microvm_job *j,
			     struct shunt_error **err);
/* Writes job.json (what the sweep reads). 0, or -1 with *err. */
int shunt_microvm_job_write_json(const struct shunt_microvm_job *j, const struct shunt_plan *plan,
				 const char *backend, long pid, const char *digest,
				 struct shunt_error **err);
/* Writes dir/name atomically (0644: the guest reads it over 9p). */
int shunt_microvm_job_write(const char *dir, const char *name, const char *data, size_t len,
			    struct shunt_error **err);
/* The end of a run: removes the job directory, or with
 * SHUNT_VM_KEEP_JOB marks it done and leaves it. */
void shunt_microvm_job_end(const char *dir);

/* ---- microvm_boot.c ---- */

/* In the VMM's child before exec: hides plan's secret paths in a private
 * mount namespace. No allocation. 0, or -1 with errno. */
int shunt_microvm_hide_in_child(const struct shunt_plan *plan);
/* Allowlist: starts the run's proxy and *cmd, QEMU's guestfwd command. */
int shunt_microvm_proxy_setup(struct shunt_netproxy *proxy, const struct shunt_plan *plan,
			      char **cmd, struct shunt_error **err);
/* Starts QEMU for job j (ctl_rd >= 0: a warm VM's hvc3): *pid, and the
 * read ends of hvc0/hvc1. 0, or -1 with *err. */
int shunt_microvm_qemu_start(const struct shunt_plan *plan, struct shunt_microvm_job *j,
			     struct shunt_vm_spec *s, int ctl_rd, pid_t *pid_out, int *outfd,
			     int *errfd, struct shunt_error **err);
/* Copies the output until the VM closes it, then reads the exit marker
 * (own: pid is our child). 0 with *status, 1 on deadline, -1 with *err. */
int shunt_microvm_qemu_finish(const struct shunt_microvm_job *j, pid_t pid, bool own, int outfd,
			      int errfd, long long start_ms, unsigned timeout, int *status,
			      struct shunt_error **err);
/* Boots QEMU for the job and waits for it; as shunt_microvm_qemu_finish. */
int shunt_microvm_qemu_boot(const struct shunt_plan *plan, struct shunt_microvm_job *j,
			    struct shunt_vm_spec *s, const char *digest, int *status,
			    struct shunt_error **err);
/* The plan of a boot probe: `true`, no workspace, the probe's timeout;
 * run id "<what>-probe-<pid>". */
void shunt_microvm_probe_plan(struct shunt_plan *p, const char *what);
/* Does KVM boot our guest here (probed once, cached)? */
bool shunt_microvm_kvm_usable(const struct shunt_vm_spec *base, const char *digest);

/* ---- firecracker.c ---- */

/* The optional read-only root drive next to kernel (or
 * $SHUNT_VM_ROOTFS); malloc'd, NULL: none. */
char *shunt_firecracker_rootfs(const char *kernel);
/* Boots Firecracker (qemu: QEMU with the same channel) and runs plan's
 * command through the guest agent. 0 with *status, 1 on deadline, -1 with *err. */
int shunt_firecracker_agent_boot(const struct shunt_plan *plan, struct shunt_microvm_job *j,
				 struct shunt_vm_spec *s, const char *digest, bool qemu,
				 int *status, struct shunt_error **err);
/* Does Firecracker boot our guest here (cached; may_probe: probe now)? */
bool shunt_firecracker_usable(const char *fc, bool may_probe);
/* Runs plan on Firecracker; the contract of shunt_microvm_run. */
int shunt_firecracker_run(const struct shunt_plan *plan, int *status, struct shunt_error **err);

#endif
