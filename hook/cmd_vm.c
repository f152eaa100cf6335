/* shunt vm: the microVM runner's tools (build ≡ the issue's
 * `shunt image build-vm`). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "commands.h"
#include "microvm.h"

static const char vm_usage[] =
    "usage: shunt vm build [--rootfs debootstrap|none] [--suite NAME] [--mirror URL]\n"
    "                               build (or reuse) the guest image: the Debian kernel's\n"
    "                               vmlinux + a busybox initramfs, cached in\n"
    "                               $SHUNT_VM_CACHE or $XDG_CACHE_HOME/shunt/vm;\n"
    "                               --rootfs debootstrap adds a Debian minbase root as a\n"
    "                               read-only ext4 drive (building it needs root; later\n"
    "                               builds by any user reuse it)\n"
    "       shunt vm probe [--boot] exit 0 when a microVM can run here, else say what is missing;\n"
    "                               --boot first runs Firecracker's boot probe (cached)\n"
    "       shunt vm sweep          remove the state of VM jobs whose shunt died\n"
    "       shunt vm plan [--workspace DIR] [--rw] [--timeout S] [--mem MiB] [--vcpus N]\n"
    "                     [--network none|restricted|full] CMD...\n"
    "                               print the backend, the QEMU command line or Firecracker\n"
    "                               config, the mounts and the network\n"
    "Environment: SHUNT_VM_BACKEND=auto|qemu|firecracker, SHUNT_QEMU, SHUNT_VM_KVM=1,\n"
    "  SHUNT_FIRECRACKER (the binary), SHUNT_VM_ROOTFS (Firecracker and the agent channel:\n"
    "  a read-only ext4 root drive, or none), SHUNT_VM_QEMU_CHANNEL=agent (QEMU with Firecracker's "
    "transport: the\n"
    "  workspace as an ext4 drive, the command over the guest agent's channel).\n";

static int vm_build(char **argv, struct shunt_error **err)
{
	_cleanup_free_ char *script = shunt_microvm_build_script();
	if (!script) {
		shunt_error_set(err, ENOENT, "build-guest.sh not found; set SHUNT_VM_BUILD_SCRIPT");
		return -1;
	}
	/* one build at a time, also against a first run building it: the
	 * script holds the lock (the fd stays open across exec). A cache this
	 * user cannot write (another user's, reused read-only) has no lock:
	 * the script says what it can do there */
	struct shunt_error *le = NULL;
	int lock = shunt_microvm_image_lock(&le);
	shunt_error_free(&le);
	if (lock >= 0 && fcntl(lock, F_SETFD, 0) < 0)
		return shunt_error_sys(err, errno, "microVM guest image lock");
	fflush(stdout);
	/* sh script [options...]: argv[0..1] ("vm" "build") make room */
	argv[0] = "sh";
	argv[1] = script;
	execv("/bin/sh", argv);
	return shunt_error_sys(err, errno, "exec %s", script);
}

static int vm_plan(int argc, char **argv, struct shunt_error **err)
{
	struct shunt_plan p;
	memset(&p, 0, sizeof(p));
	p.network = SHUNT_NET_NONE;
	p.profile = SHUNT_PROFILE_SYSTEM_WRITE;
	p.runtime = SHUNT_RUNTIME_MICROVM;
	char cwd[PATH_MAX];
	p.workspace = getcwd(cwd, sizeof(cwd)) ? cwd : NULL;
	int i;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (strcmp(a, "--rw") == 0) {
			p.workspace_rw = true;
			continue;
		}
		if (!v) {
			shunt_error_set(err, EINVAL, "%s needs a value", a);
			(*err)->exitcode = 2;
			return -1;
		}
		i++;
		if (strcmp(a, "--workspace") == 0)
			p.workspace = (char *)v;
		else if (strcmp(a, "--timeout") == 0)
			p.timeout = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--mem") == 0)
			p.mem_bytes = strtoull(v, NULL, 10) * 1024 * 1024;
		else if (strcmp(a, "--vcpus") == 0)
			p.cpus = strtod(v, NULL);
		else if (strcmp(a, "--network") == 0)
			p.network = strcmp(v, "full") == 0   ? SHUNT_NET_FULL
				    : strcmp(v, "none") == 0 ? SHUNT_NET_NONE
							     : SHUNT_NET_RESTRICTED;
		else {
			shunt_error_set(err, EINVAL, "unknown option %s", a);
			(*err)->exitcode = 2;
			return -1;
		}
	}
	static char *none[] = {"true", NULL};
	p.argv = i < argc ? argv + i : none;
	p.cwd = p.workspace;
	struct shunt_buf out = {0};
	int rc = shunt_microvm_describe(&p, &out, err);
	if (rc == 0 && out.data)
		fputs(out.data, stdout);
	shunt_buf_free(&out);
	return rc < 0 ? -1 : 0;
}

int shunt_cmd_vm(int argc, char **argv, struct shunt_error **err)
{
	if (argc < 2 || shunt_cmd_wants_help(argc, argv)) {
		fputs(vm_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "build") == 0)
		return vm_build(argv, err);
	if (strcmp(sub, "sweep") == 0) {
		printf("%d\n", shunt_microvm_sweep());
		return 0;
	}
	if (strcmp(sub, "probe") == 0) {
		if (argc > 2 && strcmp(argv[2], "--boot") == 0) {
			/* run (or reuse) Firecracker's boot probe, then answer as usual */
			struct shunt_microvm_fc_state st;
			shunt_microvm_fc_state(&st, true);
			printf("firecracker: %s%s%s\n",
			       st.probe == 1   ? "boots the guest"
			       : st.probe == 0 ? "does not boot the guest"
					       : "not probed (no binary, KVM or image)",
			       st.why ? ": " : "", st.why ? st.why : "");
			shunt_microvm_fc_state_free(&st);
		}
		if (shunt_microvm_probe(err) < 0)
			return -1;
		struct shunt_microvm_fc_state st;
		shunt_microvm_fc_state(&st, false);
		printf("microvm: usable%s\n",
		       st.digest ? ""
				 : " (the guest image is not built yet: the first run builds "
				   "it, or run 'shunt vm build' now)");
		shunt_microvm_fc_state_free(&st);
		return 0;
	}
	if (strcmp(sub, "plan") == 0)
		return vm_plan(argc, argv, err);
	shunt_error_set(err, EINVAL, "unknown vm subcommand '%s' (build, probe, sweep, plan)", sub);
	(*err)->exitcode = 2;
	return -1;
}
