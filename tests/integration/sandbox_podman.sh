#!/usr/bin/env bash
# The podman runner (`shunt run --runtime podman`): the engine command
# line it builds from the plan, fail-closed behaviour without the engine,
# and, where podman can start a container here, READ_ONLY leaving the
# host unchanged, WORKSPACE_WRITE writing only the workspace, exit codes,
# signals and output to a file.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
setup_home
ENGINE=${ENGINE:-podman}

WS="$TEST_TMP/ws"
mkdir -p "$WS/src" "$HOME/.ssh"
echo 'print("hello")' >"$WS/src/main.py"
echo "SECRET-KEY-MATERIAL" >"$HOME/.ssh/id_rsa"
echo "alias ls=ls" >"$HOME/.bashrc"
(cd "$HOME" && mkdir -p .npm .cache/pip .cargo/registry go/pkg/mod .gem .cache/yarn .local/share/pnpm)
chmod -R a+rX "$TEST_TMP"
# rootless podman leaves a pause process per runtime dir; ours goes with the test
if ! is_root && [ "$ENGINE" = podman ]; then
	trap 'kill "$(cat "$XDG_RUNTIME_DIR/libpod/tmp/pause.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$TEST_TMP" 2>/dev/null' EXIT
fi
run_e() { # PROFILE ARGV...
	local p=$1; shift
	(cd "$WS" && "$SHUNT" run --runtime "$ENGINE" --profile "$p" --network none --workspace "$WS" -- "$@")
}

# --- fail closed without the engine ---
out=$(cd "$WS" && SHUNT_PODMAN=/nonexistent/podman SHUNT_DOCKER=/nonexistent/docker \
	"$SHUNT" run --runtime "$ENGINE" --profile READ_ONLY --workspace "$WS" -- touch "$WS/ran" 2>&1)
is "$?" "125" "$ENGINE missing: exit 125"
like "$out" "$ENGINE is not installed" "$ENGINE missing: says so ($(echo "$out" | head -1))"
[ ! -e "$WS/ran" ] && pass "$ENGINE missing: the command did not run" || fail "$ENGINE missing: the command did not run"
# an allowlist: docker cannot join the relay's network namespace, nor can
# podman without root (podman as root is tested in network.sh)
if [ "$ENGINE" = docker ] || ! is_root; then
	out=$(cd "$WS" && "$SHUNT" run --runtime "$ENGINE" --profile WORKSPACE_WRITE --network allowlist --allow-host example.com \
		--workspace "$WS" -- touch "$WS/ran" 2>&1)
	is "$?" "125" "$ENGINE with an allowlist fails closed (125)"
	[ ! -e "$WS/ran" ] && pass "allowlist: the command did not run" || fail "allowlist: the command did not run"
fi

if [ "$ENGINE" = docker ]; then
	NODAEMON="$TEST_TMP/docker-no-daemon"
	printf '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n' >"$NODAEMON"
	chmod 755 "$NODAEMON"
	out=$(cd "$WS" && SHUNT_DOCKER="$NODAEMON" "$SHUNT" run --runtime docker --profile READ_ONLY --workspace "$WS" -- touch "$WS/ran" 2>&1)
	is "$?" "125" "docker daemon not running: exit 125"
	like "$out" "daemon is not running" "docker daemon not running: says so ($(echo "$out" | head -1))"
	[ ! -e "$WS/ran" ] && pass "docker daemon not running: the command did not run" || fail "docker daemon not running: the command did not run"
fi

out=$(cd "$WS" && "$SHUNT" run --profile READ_ONLY --workspace "$WS" --dry-run -- true 2>&1 | grep '^runner:')
unlike "$out" "podman|docker" "runtime auto never picks podman or docker ($out)"

# --- the engine command line (SHUNT_ENGINE_PRINT=1 prints it, runs nothing) ---
FAKE="$TEST_TMP/fake-$ENGINE"
printf '#!/bin/sh\nexit 0\n' >"$FAKE"
chmod 755 "$FAKE"
eng_env() { if [ "$ENGINE" = podman ]; then echo "SHUNT_PODMAN=$FAKE"; else echo "SHUNT_DOCKER=$FAKE"; fi; }
cmdline=$(cd "$WS" && env "$(eng_env)" SHUNT_ENGINE_PRINT=1 "$SHUNT" run --runtime "$ENGINE" --profile READ_ONLY \
	--network none --workspace "$WS" --mem 256M --cpus 1 --pids 100 -- sh -c 'echo hi' 2>&1)
for want in "^run$" "^--rm$" "^--network=none$" "^--read-only$" "^--cap-drop=ALL$" \
	"^--security-opt=no-new-privileges$" "^--security-opt=seccomp=" "^--volume=$WS:$WS:ro$" \
	"^--workdir=$WS$" "^--memory=268435456$" "^--cpus=1.00$" "^--pids-limit=100$" \
	"^--volume=/dev/null:$HOME/.ssh/id_rsa:ro$|^--tmpfs=$HOME/.ssh:" "^--env=SHUNT_SANDBOX="; do
	if echo "$cmdline" | grep -Eq -- "$want"; then pass "$ENGINE argv has $want"; else fail "$ENGINE argv has $want"; fi
done
if [ "$ENGINE" = podman ]; then
	echo "$cmdline" | grep -A1 -x -- "--rootfs" | grep -qx "/:O" &&
		pass "podman: the root is the host's, as a throwaway overlay (--rootfs /:O)" ||
		fail "podman: the root is the host's, as a throwaway overlay (--rootfs /:O)"
else
	like "$cmdline" "--pull=never" "docker: never pulls"
	img=${SHUNT_IMAGE:-localhost/shunt-minbase:latest}
	echo "$cmdline" | grep -qxF -- "$img" && pass "docker: the local image ($img)" || fail "docker: the local image ($img)"
fi
unlike "$cmdline" "--network=host" "READ_ONLY: no host network"
cmdline=$(cd "$WS" && env "$(eng_env)" SHUNT_ENGINE_PRINT=1 "$SHUNT" run --runtime "$ENGINE" --profile WORKSPACE_WRITE \
	--network none --workspace "$WS" --uid 1234 --gid 2345 -- true 2>&1)
like "$cmdline" "--volume=$WS:$WS:rw" "WORKSPACE_WRITE: workspace mounted rw"
like "$cmdline" "--user=1234:2345" "--uid/--gid map to --user"
cmdline=$(cd "$WS" && env "$(eng_env)" SHUNT_ENGINE_PRINT=1 "$SHUNT" run --runtime "$ENGINE" --profile WORKSPACE_WRITE \
	--network full --workspace "$WS" -- true 2>&1)
like "$cmdline" "--network=host" "--network full maps to host"

# --- shunt image build ---
out=$("$SHUNT" image build --engine "$ENGINE" --dry-run 2>&1)
is "$?" "0" "image build --dry-run exits 0"
like "$out" "debootstrap --variant=minbase" "image build: a debootstrap minbase tree"
like "$out" "$ENGINE import - localhost/shunt-minbase:latest" "image build: imported with $ENGINE import, no registry"
"$SHUNT" image build --engine nonsense >/dev/null 2>&1
is "$?" "2" "image build --engine nonsense is a usage error"
if ! is_root; then
	out=$("$SHUNT" image build --engine "$ENGINE" 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && pass "image build as $(id -un) refuses ($rc)" || fail "image build as $(id -un) refuses"
	like "$out" "needs root|not installed" "image build as $(id -un) says why ($(echo "$out" | head -1))"
fi

# --- real runs, where the engine can start a container here ---
if ! command -v "$ENGINE" >/dev/null; then
	skip "$ENGINE is not installed (apt-get install $ENGINE): real-run tests"
	done_testing
	exit
fi
if [ -n "${ENGINE_SKIP_REAL:-}" ]; then
	skip "$ENGINE real-run tests: $ENGINE_SKIP_REAL"
	done_testing
	exit
fi
if ! out=$(run_e READ_ONLY true 2>&1); then
	if echo "$out" | grep -q "no subuid ranges"; then
		skip "rootless $ENGINE needs subordinate uid/gid ranges for $(id -un) in /etc/subuid and /etc/subgid, and there are none (usermod --add-subuids N-M --add-subgids N-M $(id -un))"
	else
		skip "$ENGINE cannot start a container here as $(id -un): $(echo "$out" | grep -v level=warning | tr '\n' ' ' | head -c 300)"
	fi
	done_testing
	exit
fi

snapshot() {
	(cd "$TEST_TMP" && find ws home -path home/.local/state/shunt -prune -o -path home/.cache/shunt -prune \
		-o -printf '%y %m %p -> %l\n' | sort
	 cd "$TEST_TMP" && find ws home -type f -not -path 'home/.local/state/shunt/*' \
		-not -path 'home/.cache/shunt/*' -print0 | sort -z | xargs -0 sha256sum)
}
BEFORE=$(snapshot)
unchanged() {
	local now
	now=$(snapshot)
	if [ "$now" = "$BEFORE" ]; then pass "$1: host canaries unchanged"; else
		fail "$1: host canaries unchanged"
		diff <(echo "$BEFORE") <(echo "$now") | head -10 | sed 's/^/# /'
	fi
}
TMPNAME="/tmp/shunt-$ENGINE-tmp-$$"
ETCNAME="/etc/shunt-$ENGINE-etc-$$"
out=$(run_e READ_ONLY sh -c "echo pwned > '$WS/src/main.py'; echo new > '$WS/new.txt'; touch '$HOME/planted';
	echo x >> '$HOME/.bashrc'; echo x > '$TMPNAME'; echo x > '$ETCNAME'; echo done" 2>&1)
is "$?" "0" "READ_ONLY: the write-everywhere command ran to its end"
like "$out" "Read-only file system|Permission denied" "READ_ONLY: writes fail inside"
unchanged "READ_ONLY write-everywhere"
[ ! -e "$TMPNAME" ] && [ ! -e "$ETCNAME" ] && pass "READ_ONLY: host /tmp and /etc untouched" ||
	{ fail "READ_ONLY: host /tmp and /etc untouched"; rm -f "$TMPNAME" "$ETCNAME"; }
out=$(run_e READ_ONLY cat "$HOME/.ssh/id_rsa" 2>&1)
unlike "$out" "SECRET-KEY-MATERIAL" "READ_ONLY: ~/.ssh/id_rsa hidden"

run_e WORKSPACE_WRITE sh -c "echo written > '$WS/ws-new.txt'; touch '$HOME/ww-planted' '$TMPNAME' 2>/dev/null; true" >/dev/null 2>&1
is "$(cat "$WS/ws-new.txt" 2>/dev/null)" "written" "WORKSPACE_WRITE: the workspace is writable"
[ ! -e "$HOME/ww-planted" ] && [ ! -e "$TMPNAME" ] && pass "WORKSPACE_WRITE: HOME and host /tmp untouched" ||
	{ fail "WORKSPACE_WRITE: HOME and host /tmp untouched"; rm -f "$TMPNAME"; }
rm -f "$WS/ws-new.txt"
unchanged "WORKSPACE_WRITE (after removing the one file it wrote)"

run_e READ_ONLY sh -c 'exit 42' >/dev/null 2>&1
is "$?" "42" "exit code 42 propagates"
run_e READ_ONLY sh -c 'kill -TERM $$' >/dev/null 2>&1
is "$?" "143" "kill -TERM \$\$ inside gives 143"
run_e READ_ONLY seq 1 800000 >"$TEST_TMP/out.txt" 2>/dev/null
is "$(sha256sum <"$TEST_TMP/out.txt")" "$(seq 1 800000 | sha256sum)" "5 MB of output redirected to a file arrives whole"
out=$(echo piped-in | run_e READ_ONLY cat 2>&1)
is "$out" "piped-in" "stdin is passed through"
(cd "$WS" && "$SHUNT" run --runtime "$ENGINE" --profile READ_ONLY --network none --workspace "$WS" --timeout 2 -- sleep 100) \
	>/dev/null 2>"$TEST_TMP/timeout.err"
is "$?" "124" "--timeout 2 -- sleep 100 exits 124"
is "$("$ENGINE" ps -a --filter name=shunt- --format '{{.Names}}' 2>/dev/null)" "" "no shunt container left behind"

# podman on the image `shunt image build` made, when it is in the local store
if [ "$ENGINE" = podman ]; then
	if podman image inspect localhost/shunt-minbase:latest >/dev/null 2>&1; then
		out=$(cd "$WS" && SHUNT_IMAGE=localhost/shunt-minbase:latest "$SHUNT" run --runtime podman --profile WORKSPACE_WRITE \
			--network none --workspace "$WS" -- sh -c "cat /etc/debian_version >/dev/null && echo img > '$WS/img.txt'; exit 3" 2>&1)
		is "$?" "3" "SHUNT_IMAGE=localhost/shunt-minbase: runs on the built image ($out)"
		is "$(cat "$WS/img.txt" 2>/dev/null)" "img" "SHUNT_IMAGE: the workspace is mounted rw"
		rm -f "$WS/img.txt"
	else
		skip "no localhost/shunt-minbase image in podman's store (sudo shunt image build; ~40 s)"
	fi
	out=$(cd "$WS" && SHUNT_IMAGE=localhost/shunt-no-such-image "$SHUNT" run --runtime podman --profile READ_ONLY \
		--workspace "$WS" -- touch "$WS/ran" 2>&1)
	is "$?" "125" "a missing image fails closed (125), never pulled"
	like "$out" "shunt image build" "and says how to build it"
	mkdir -p "$XDG_CONFIG_HOME/shunt"
	printf 'sandbox:\n  image: localhost/shunt-from-config\n' >"$XDG_CONFIG_HOME/shunt/config.yaml"
	out=$(cd "$WS" && "$SHUNT" run --runtime podman --profile READ_ONLY --workspace "$WS" -- true 2>&1)
	is "$?" "125" "image: from the config is used (missing here: 125)"
	like "$out" "localhost/shunt-from-config" "and named in the message"
	rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
fi
done_testing
