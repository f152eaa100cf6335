#!/bin/sh
# Boots a microVM with an ephemeral root, mounts <mount> as the workspace
# (read-write), runs <cmd> and streams its stdout and stderr; exits with
# the command's status. A thin front end to
# `shunt run --runtime microvm --profile SYSTEM_WRITE`.
# --dry-run, or no usable VM backend, prints the resolved plan instead.
set -u
usage() {
	echo "usage: start.sh [--ttl S] [--mem MiB] [--vcpus N] [--allowlist-hosts H,...]" >&2
	echo "                [--backend firecracker|qemu] [--dry-run] <mount> <cmd...>" >&2
	exit 2
}
shunt=${SHUNT:-shunt}
command -v "$shunt" >/dev/null 2>&1 || { echo "start.sh: shunt not found (set SHUNT=/path/to/shunt)" >&2; exit 125; }
ttl= mem= vcpus= hosts= dry=0
while [ $# -gt 0 ]; do
	case $1 in
	--ttl) [ $# -ge 2 ] || usage; ttl=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
	--vcpus) [ $# -ge 2 ] || usage; vcpus=$2; shift 2 ;;
	--allowlist-hosts) [ $# -ge 2 ] || usage; hosts=$2; shift 2 ;;
	--backend)
		[ $# -ge 2 ] || usage
		case $2 in firecracker | qemu) SHUNT_VM_BACKEND=$2; export SHUNT_VM_BACKEND ;; *) usage ;; esac
		shift 2 ;;
	--dry-run) dry=1; shift ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || usage
mount=$1
shift
[ -d "$mount" ] || { echo "start.sh: $mount is not a directory" >&2; exit 2; }
# the options, for both shunt run and shunt vm plan
set -- --workspace "$mount" ${ttl:+--timeout "$ttl"} ${mem:+--mem "$mem"} -- "$@"
[ -n "$vcpus" ] && set -- --vcpus "$vcpus" "$@"
if [ -n "$hosts" ]; then
	set -- --network restricted "$@"
else
	set -- --network none "$@"
fi
plan() {
	"$shunt" vm plan --rw "$@"
	[ -z "$hosts" ] || echo "allowlist: $hosts (through the host's filtering proxy; QEMU user-mode net, restrict=on)"
}
if [ "$dry" = 1 ]; then
	plan "$@"
	exit 0
fi
if ! why=$("$shunt" vm probe 2>&1); then
	echo "start.sh: no usable VM backend: $why" >&2
	plan "$@"
	exit 125
fi
# shunt run takes --cpus and MiB with a unit
args=
first=1
for a in "$@"; do
	if [ "$first" = 1 ]; then set --; first=0; fi
	case $args in
	vcpus) set -- "$@" "$a"; args= ; continue ;;
	mem) set -- "$@" "${a}M"; args= ; continue ;;
	esac
	case $a in
	--vcpus) set -- "$@" --cpus; args=vcpus ;;
	--mem) set -- "$@" --mem; args=mem ;;
	*) set -- "$@" "$a" ;;
	esac
done
if [ -n "$hosts" ]; then
	old_ifs=$IFS
	IFS=,
	for h in $hosts; do set -- --allow-host "$h" "$@"; done
	IFS=$old_ifs
fi
exec "$shunt" run --runtime microvm --profile SYSTEM_WRITE "$@"
