/* The microVM runner: QEMU -M microvm (KVM when a boot probe passes,
 * else TCG) or Firecracker (a binary plus a KVM that passes a boot
 * probe), booting the guest built by sandbox/firecracker/build-guest.sh. */
#ifndef SHUNT_MICROVM_H
#define SHUNT_MICROVM_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "runner.h"

enum shunt_vm_backend {
	SHUNT_VM_QEMU,
	SHUNT_VM_FIRECRACKER,
};

/* Everything a VMM invocation needs, resolved from a plan. Strings are
 * borrowed. */
struct shunt_vm_spec {
	const char *vmm;    /* qemu-system-x86_64 or firecracker binary */
	const char *kernel; /* uncompressed vmlinux */
	const char *initrd; /* initramfs (newc cpio) */
	bool kvm;	    /* false: TCG */
	unsigned tsc_khz;   /* TCG only: tsc_early_khz= (0 = omit) */
	unsigned mem_mib;
	unsigned vcpus;
	const char *jobshare;  /* host dir shared as 9p tag "job" */
	const char *workspace; /* host dir shared as tag "ws" at the same path; NULL = none */
	bool workspace_rw;
	const char *ws_image;	  /* firecracker: the workspace as an ext4 image */
	const char *status_path;  /* host file receiving hvc2 (ready + exit marker) */
	const char *console_path; /* host file receiving the serial console */
	const char *ctl_path;	  /* warm VM: pipe the guest reads "go" from (hvc3); NULL */
	int out_fd, err_fd;	  /* fds (in the VMM) receiving hvc0 / hvc1 */
	const char *vsock_path;	  /* firecracker: the vsock unix socket */
	const char *rootfs_image; /* firecracker: optional read-only root drive (ext4) */
	const char *chan_path;	  /* qemu: the agent channel's unix socket (hvc0) instead
				     of the 9p job share and consoles; ws_image is the
				     workspace drive */
	const char *proxy_cmd;	  /* allowlist: the guestfwd command reaching shunt's proxy
				     (QEMU user-mode net, restrict=on); NULL: no NIC */
	bool full_net;		  /* network full: unrestricted user-mode net (NAT) */
};

/* The guest's only reachable address in allowlist mode (guestfwd). */
#define SHUNT_MICROVM_PROXY_ADDR "10.0.2.100"

/* Appends the QEMU argv for spec to *out (NULL-terminated, malloc'd
 * strings). 0, or -1 with *err on OOM. */
int shunt_microvm_qemu_argv(const struct shunt_vm_spec *spec, struct shunt_strv *out,
			    struct shunt_error **err);

/* Appends the Firecracker JSON configuration (--config-file) for spec. */
void shunt_microvm_fc_config(const struct shunt_vm_spec *spec, struct shunt_buf *out);

/* Firecracker's workspace drive: an ext4 image of dir (contents, owners
 * as they are), built without root by `mke2fs -d`; size is the content
 * plus headroom, at least 64 MiB. 0, or -1 with *err (mke2fs missing:
 * apt-get install e2fsprogs). */
int shunt_microvm_fc_workspace_image(const char *dir, const char *image, struct shunt_error **err);

/* The kernel command line both backends use. */
void shunt_microvm_cmdline(const struct shunt_vm_spec *spec, struct shunt_buf *out);

/* Parses the exit marker "SHUNT-EXIT-<nonce> <rc>" out of the status
 * channel's text; only a line carrying exactly nonce counts. 0 with *rc,
 * or -1 when no such line. */
int shunt_microvm_parse_status(const char *text, const char *nonce, int *rc);

/* Writes the job script: exports env, cds to cwd, execs argv with each
 * word single-quoted. */
void shunt_microvm_job_script(const struct shunt_plan *plan, struct shunt_buf *out);

/* The guest image directory ($SHUNT_VM_CACHE, else
 * $XDG_CACHE_HOME/shunt/vm, then /current). malloc'd, NULL on OOM. */
char *shunt_microvm_image_dir(void);

/* The build script (sandbox/firecracker/build-guest.sh) next to the
 * installed binary or in the source tree; malloc'd or NULL. */
char *shunt_microvm_build_script(void);

/* Builds the guest image when it is not built: the build `shunt vm
 * build` runs, its output in <cache>/build.log, under an flock on
 * <cache>/.build.lock so that concurrent first runs build once (the
 * others wait, then reuse it). Progress goes to the notify callback
 * (shunt_microvm_set_notify). 0 when the image is there, -1 with *err
 * (exitcode 125) when it is not and could not be built. */
int shunt_microvm_image_ensure(struct shunt_error **err);

/* Takes the guest image's build lock (an flock on <cache>/.build.lock),
 * first waiting for a build in progress (a progress note says so). The
 * locked fd (close-on-exec; closing it unlocks), or -1 with *err. */
int shunt_microvm_image_lock(struct shunt_error **err);

/* The backend SHUNT_VM_BACKEND asks for (auto: Firecracker when its
 * binary exists and KVM boots, else QEMU). */
enum shunt_vm_backend shunt_microvm_backend(void);

/* 0 when a VM can run (VMM installed, guest image built or buildable on
 * first use); -1 with *err (exitcode 125) saying what is missing and how
 * to get it. */
int shunt_microvm_probe(struct shunt_error **err);

/* What decides whether Firecracker is used, for shunt doctor. */
struct shunt_microvm_fc_state {
	char *binary; /* the firecracker binary found, or NULL */
	bool kvm;     /* /dev/kvm opens read-write for this user */
	char *digest; /* the guest image's digest, or NULL when not built */
	char *rootfs; /* the root drive a run would attach, or NULL (initramfs) */
	int probe;    /* the cached boot probe for this binary, host kernel and
			 image: 1 boots, 0 failed, -1 not probed */
	char *why;    /* probe 0: the reason recorded, or NULL */
	char *cache;  /* the probe cache file, or NULL */
};

/* Fills *st (all strings malloc'd, freed by shunt_microvm_fc_state_free).
 * may_probe: boot-probe now when binary, KVM and image exist and no
 * answer is cached (up to ~8 s); false: never boots anything. */
void shunt_microvm_fc_state(struct shunt_microvm_fc_state *st, bool may_probe);
void shunt_microvm_fc_state_free(struct shunt_microvm_fc_state *st);

/* What the runner tells the user besides its errors. */
enum shunt_microvm_note {
	SHUNT_MICROVM_NOTE,	    /* a remark (one line) */
	SHUNT_MICROVM_PROGRESS,	    /* a long step started, or goes on: the same line, updated */
	SHUNT_MICROVM_PROGRESS_END, /* that step ended (its last line) */
};

/* Where the runner's remarks go: the library prints nothing itself. fn
 * gets one line without a newline; NULL (the default) drops them.
 * Process-wide; set once by main. */
void shunt_microvm_set_notify(void (*fn)(void *ctx, enum shunt_microvm_note kind, const char *line),
			      void *ctx);

/* Runs the plan in a microVM; see struct shunt_runner.run. */
int shunt_microvm_run(const struct shunt_plan *plan, int *status, struct shunt_error **err);

/* Appends the resolved VM plan (backend, QEMU command line or Firecracker
 * config, mounts, network) for --dry-run. */
int shunt_microvm_describe(const struct shunt_plan *plan, struct shunt_buf *out,
			   struct shunt_error **err);

/* A QEMU VM booted ahead of its command for shuntd's warm pool: the
 * guest has mounted its root and workspace and waits on hvc3. */
struct shunt_microvm_warm {
	long pid;	    /* the VMM (a child of whoever booted it) */
	int out_fd, err_fd; /* read ends of hvc0 / hvc1 */
	int ctl_fd;	    /* write end of hvc3 */
	char dir[4096];	    /* job directory */
	char nonce[33];
	char key[32]; /* what shunt_microvm_pool_key gave for the boot plan */
};

/* The pool key of plan: a digest of everything fixed at boot (image,
 * workspace and its mode, memory, vCPUs, hidden paths, KVM). Plans with
 * equal keys can share warm VMs. 0, or -1 when plan cannot use a warm VM
 * (Firecracker backend, agent channel, any network, no image). */
int shunt_microvm_pool_key(const struct shunt_plan *plan, char key[32]);

/* Boots a warm VM for plan's sandbox (plan->argv is not used); fds are
 * close-on-exec. 0, or -1 with *err. */
int shunt_microvm_warm_boot(const struct shunt_plan *plan, struct shunt_microvm_warm *vm,
			    struct shunt_error **err);

/* 1 when the guest waits for its command, 0 while it boots, -1 when it
 * failed or its VMM is gone. */
int shunt_microvm_warm_state(const struct shunt_microvm_warm *vm);

/* Hands plan's command to a ready warm VM booted for an equal key and
 * waits for it like shunt_microvm_run (its output on our stdout/stderr).
 * Closes vm's fds and removes its job directory; the VM is used once.
 * -2 (with *err possibly set) when the VM could not take the command
 * (it died): nothing ran, the caller may start it cold. */
int shunt_microvm_warm_run(struct shunt_microvm_warm *vm, const struct shunt_plan *plan,
			   int *status, struct shunt_error **err);

/* Closes a warm VM's fds (NULL-safe members: -1); the VM is not stopped. */
void shunt_microvm_warm_close_fds(struct shunt_microvm_warm *vm);

/* Stops a warm VM that was not used (kills the VMM, closes the fds,
 * removes the job directory; the booter reaps the pid). */
void shunt_microvm_warm_discard(struct shunt_microvm_warm *vm);

/* Removes the job state of VM runs whose shunt died: no done marker and
 * past the deadline or with a dead VMM; kills the VMM when
 * /proc/<pid>/exe is still a qemu/firecracker binary. Returns how many. */
int shunt_microvm_sweep(void);

#endif
