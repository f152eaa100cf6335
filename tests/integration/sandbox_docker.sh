#!/usr/bin/env bash
# The docker runner (`shunt run --runtime docker`): the same checks as the
# podman suite (sandbox_podman.sh with ENGINE=docker). Real runs need a
# daemon: when dockerd is installed and we are root, one is started here
# with its own data root and socket, and stopped afterwards.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ENGINE=docker
DOCKERD_PID=
DTMP=
stop_dockerd() {
	[ -n "$DOCKERD_PID" ] && kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
	[ -n "$DTMP" ] && rm -rf "$DTMP"
}
if ! command -v docker >/dev/null; then
	export ENGINE_SKIP_REAL="docker is not installed (apt-get install docker.io)"
elif [ "$(id -u)" != 0 ]; then
	export ENGINE_SKIP_REAL="starting a private dockerd needs root (running as $(id -un))"
elif [ ! -x /bin/busybox ]; then
	export ENGINE_SKIP_REAL="busybox-static is not installed (the test image is made from it)"
elif ! PATH=$PATH:/usr/sbin:/sbin command -v dockerd >/dev/null; then
	export ENGINE_SKIP_REAL="the docker CLI is installed but dockerd is not, so no daemon can be started here (apt-get install docker.io)"
else
	DTMP=$(mktemp -d /tmp/shunt-dockerd.XXXXXX)
	PATH=$PATH:/usr/sbin:/sbin dockerd --data-root "$DTMP/data" --exec-root "$DTMP/exec" --pidfile "$DTMP/pid" -H "unix://$DTMP/sock" \
		--bridge none --iptables=false >"$DTMP/log" 2>&1 &
	DOCKERD_PID=$!
	trap stop_dockerd EXIT
	export DOCKER_HOST="unix://$DTMP/sock"
	for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
	if ! docker info >/dev/null 2>&1; then
		export ENGINE_SKIP_REAL="dockerd did not come up: $(tail -3 "$DTMP/log" | tr '\n' ' ' | head -c 300)"
	else
		# the fresh daemon has no images: a busybox root imported locally
		# stands in for `shunt image build` (debootstrap takes minutes)
		mkdir -p "$DTMP/root/bin" "$DTMP/root/etc" "$DTMP/root/tmp" "$DTMP/root/proc" "$DTMP/root/dev" "$DTMP/root/sys"
		cp /bin/busybox "$DTMP/root/bin/busybox"
		for c in sh cat seq sleep touch echo rm mkdir id true kill ls; do ln -s busybox "$DTMP/root/bin/$c"; done
		echo "root:x:0:0::/root:/bin/sh" >"$DTMP/root/etc/passwd"
		export SHUNT_IMAGE=localhost/shunt-test-busybox:latest
		if ! tar -C "$DTMP/root" -c . | docker import - "$SHUNT_IMAGE" >/dev/null 2>&1; then
			export ENGINE_SKIP_REAL="docker import of a busybox root failed"
		fi
	fi
fi
# the shared suite (its own setup_home trap would replace ours: run it as a child)
bash "$HERE/sandbox_podman.sh"
rc=$?
stop_dockerd
exit $rc
