/* The QEMU command line of a microVM (-M microvm) and the kernel command
 * line both backends boot with. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "microvm_int.h"
#include "netrelay.h"

static int push(struct shunt_strv *v, struct shunt_error **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int push(struct shunt_strv *v, struct shunt_error **err, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	int rc = shunt_strv_push(v, s);
	free(s);
	if (rc < 0)
		return shunt_error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* QEMU option values separate sub-options with ','; a literal ',' is ",,". */
static char *qemu_escape(const char *s)
{
	size_t n = strlen(s), extra = 0;
	for (size_t i = 0; i < n; i++)
		extra += s[i] == ',';
	char *o = malloc(n + extra + 1);
	if (!o)
		return NULL;
	char *p = o;
	for (size_t i = 0; i < n; i++) {
		*p++ = s[i];
		if (s[i] == ',')
			*p++ = ',';
	}
	*p = 0;
	return o;
}

void shunt_microvm_cmdline(const struct shunt_vm_spec *spec, struct shunt_buf *out)
{
	if (spec->vmm && strstr(spec->vmm, "firecracker")) {
		shunt_buf_puts(out, "console=ttyS0 reboot=k panic=-1 pci=off quiet loglevel=1 "
				    "shunt.agent=vsock");
		if (spec->rootfs_image)
			shunt_buf_printf(out, " shunt.rootfs=/dev/vd%c",
					 spec->ws_image ? 'b' : 'a');
	} else {
		shunt_buf_puts(out, "console=ttyS0 quiet loglevel=1 panic=-1 reboot=t");
		if (spec->chan_path)
			shunt_buf_puts(out, " shunt.agent=hvc");
		/* drives enumerate in command-line order: the root drive,
		 * added after the workspace, is vdb as under Firecracker */
		if (spec->chan_path && spec->rootfs_image)
			shunt_buf_printf(out, " shunt.rootfs=/dev/vd%c",
					 spec->ws_image ? 'b' : 'a');
	}
	if (!spec->kvm && spec->tsc_khz)
		shunt_buf_printf(out, " tsc_early_khz=%u", spec->tsc_khz);
}

/* The command-channel devices: the host root over 9p (read-only, for
 * the guest's overlay root) or the root drive, the guest agent on hvc0
 * behind a unix socket, the workspace as an ext4 drive: Firecracker's
 * transport, on QEMU. */
static int qemu_chan_args(const struct shunt_vm_spec *s, struct shunt_strv *v,
			  struct shunt_error **err)
{
	_cleanup_free_ char *ch = qemu_escape(s->chan_path);
	_cleanup_free_ char *wi = s->ws_image ? qemu_escape(s->ws_image) : NULL;
	_cleanup_free_ char *ri = s->rootfs_image ? qemu_escape(s->rootfs_image) : NULL;
	if (!ch || (s->ws_image && !wi) || (s->rootfs_image && !ri))
		return shunt_error_set(err, ENOMEM, "out of memory");
	if (push(v, err, "-chardev") < 0 ||
	    push(v, err, "socket,id=ch,path=%s,server=on,wait=off", ch) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=ch") < 0)
		return -1;
	if (!ri && (push(v, err, "-fsdev") < 0 ||
		    push(v, err,
			 "local,id=root,path=/,readonly=on,security_model=none,"
			 "multidevs=remap") < 0 ||
		    push(v, err, "-device") < 0 ||
		    push(v, err, "virtio-9p-device,fsdev=root,mount_tag=root") < 0))
		return -1;
	if (wi && (push(v, err, "-drive") < 0 ||
		   push(v, err, "id=ws,file=%s,format=raw,if=none%s", wi,
			s->workspace_rw ? "" : ",readonly=on") < 0 ||
		   push(v, err, "-device") < 0 || push(v, err, "virtio-blk-device,drive=ws") < 0))
		return -1;
	/* after the workspace, so that stays vda (see shunt_microvm_cmdline) */
	if (ri &&
	    (push(v, err, "-drive") < 0 ||
	     push(v, err, "id=rootfs,file=%s,format=raw,if=none,readonly=on", ri) < 0 ||
	     push(v, err, "-device") < 0 || push(v, err, "virtio-blk-device,drive=rootfs") < 0))
		return -1;
	return 0;
}

int shunt_microvm_qemu_argv(const struct shunt_vm_spec *s, struct shunt_strv *v,
			    struct shunt_error **err)
{
	struct shunt_buf cl = {0};
	shunt_microvm_cmdline(s, &cl);
	_cleanup_free_ char *k = qemu_escape(s->kernel);
	_cleanup_free_ char *i = qemu_escape(s->initrd);
	_cleanup_free_ char *j = qemu_escape(s->jobshare ? s->jobshare : "");
	_cleanup_free_ char *st = qemu_escape(s->status_path ? s->status_path : "");
	_cleanup_free_ char *co = qemu_escape(s->console_path);
	_cleanup_free_ char *w = s->workspace ? qemu_escape(s->workspace) : NULL;
	int rc = -1;
	if (!k || !i || !j || !st || !co || (s->workspace && !w)) {
		shunt_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (push(v, err, "%s", s->vmm) < 0 || push(v, err, "-M") < 0 ||
	    push(v, err, "microvm,rtc=on") < 0 || push(v, err, "-accel") < 0 ||
	    push(v, err, "%s", s->kvm ? "kvm" : "tcg") < 0 || push(v, err, "-m") < 0 ||
	    push(v, err, "%u", s->mem_mib) < 0 || push(v, err, "-smp") < 0 ||
	    push(v, err, "%u", s->vcpus) < 0 || push(v, err, "-nodefaults") < 0 ||
	    push(v, err, "-no-user-config") < 0 || push(v, err, "-display") < 0 ||
	    push(v, err, "none") < 0 || push(v, err, "-no-reboot") < 0 ||
	    push(v, err, "-kernel") < 0 || push(v, err, "%s", s->kernel) < 0 ||
	    push(v, err, "-initrd") < 0 || push(v, err, "%s", s->initrd) < 0 ||
	    push(v, err, "-append") < 0 || push(v, err, "%s", cl.data ? cl.data : "") < 0 ||
	    push(v, err, "-serial") < 0 || push(v, err, "file:%s", co) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtio-serial-device") < 0)
		goto out;
	if (s->chan_path) {
		/* the agent channel has no network: no NIC (the caller checked) */
		if (push(v, err, "-nic") < 0 || push(v, err, "none") < 0)
			goto out;
		rc = qemu_chan_args(s, v, err);
		goto out;
	}
	if (push(v, err, "-chardev") < 0 ||
	    push(v, err, "file,id=out,path=/proc/self/fd/%d,append=on", s->out_fd) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=out") < 0 ||
	    push(v, err, "-chardev") < 0 ||
	    push(v, err, "file,id=err,path=/proc/self/fd/%d,append=on", s->err_fd) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=err") < 0 ||
	    push(v, err, "-chardev") < 0 || push(v, err, "file,id=st,path=%s", st) < 0 ||
	    push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=st") < 0 ||
	    push(v, err, "-fsdev") < 0 ||
	    push(v, err, "local,id=root,path=/,readonly=on,security_model=none,multidevs=remap") <
		0 ||
	    push(v, err, "-device") < 0 ||
	    push(v, err, "virtio-9p-device,fsdev=root,mount_tag=root") < 0 ||
	    push(v, err, "-fsdev") < 0 ||
	    push(v, err, "local,id=job,path=%s,security_model=none", j) < 0 ||
	    push(v, err, "-device") < 0 ||
	    push(v, err, "virtio-9p-device,fsdev=job,mount_tag=job") < 0)
		goto out;
	/* after hvc0..hvc2 so it is hvc3 in the guest */
	if (s->ctl_path &&
	    (push(v, err, "-chardev") < 0 || push(v, err, "pipe,id=ctl,path=%s", s->ctl_path) < 0 ||
	     push(v, err, "-device") < 0 || push(v, err, "virtconsole,chardev=ctl") < 0))
		goto out;
	/* allowlist: a user-mode network restricted to one forward, the proxy;
	 * otherwise no NIC at all */
	if (s->proxy_cmd) {
		_cleanup_free_ char *pc = qemu_escape(s->proxy_cmd);
		if (!pc || push(v, err, "-netdev") < 0 ||
		    push(v, err, "user,id=net0,restrict=on,ipv6=off,guestfwd=tcp:%s:%d-cmd:%s",
			 SHUNT_MICROVM_PROXY_ADDR, SHUNT_NETRELAY_PORT, pc) < 0 ||
		    push(v, err, "-device") < 0 ||
		    push(v, err, "virtio-net-device,netdev=net0") < 0) {
			if (!pc)
				shunt_error_set(err, ENOMEM, "out of memory");
			goto out;
		}
	} else if (s->full_net) {
		if (push(v, err, "-netdev") < 0 || push(v, err, "user,id=net0,ipv6=off") < 0 ||
		    push(v, err, "-device") < 0 ||
		    push(v, err, "virtio-net-device,netdev=net0") < 0)
			goto out;
	} else if (push(v, err, "-nic") < 0 || push(v, err, "none") < 0) {
		goto out;
	}
	if (w && (push(v, err, "-fsdev") < 0 ||
		  push(v, err, "local,id=ws,path=%s,%ssecurity_model=none,multidevs=remap", w,
		       s->workspace_rw ? "" : "readonly=on,") < 0 ||
		  push(v, err, "-device") < 0 ||
		  push(v, err, "virtio-9p-device,fsdev=ws,mount_tag=ws") < 0))
		goto out;
	rc = 0;
out:
	shunt_buf_free(&cl);
	return rc;
}
