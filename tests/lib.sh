# Shared helpers for integration tests (TAP output). Source it.
# Provides: ok COND-CMD DESC..., is GOT WANT DESC, skip DESC, done_testing
# and $SHUNT (the binary under test), $SHIM, $BUILD, mktemp helpers.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SHUNT=${SHUNT:-$BUILD/bin/shunt}
SHIM=${SHIM:-$BUILD/lib/libshunt-preload.so}
_tap_n=0
_tap_failed=0

pass() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
fail() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
diag() { echo "# $*"; }
# ok DESC -- CMD...: passes when CMD succeeds
ok() {
	local desc=$1; shift
	[ "${1:-}" = "--" ] && shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}
# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then pass "$3"; else fail "$3"; diag "got:  '$1'"; diag "want: '$2'"; fi
}
# like GOT REGEX DESC
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"; else fail "$3"; diag "got: '$1'"; diag "want match: '$2'"; fi
}
unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then fail "$3"; diag "got: '$1'"; diag "must not match: '$2'"; else pass "$3"; fi
}
done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; }

# A private HOME/XDG tree so tests never touch the real user's files.
# Sets HOME, XDG_*; cleans up on exit.
setup_home() {
	TEST_TMP=$(mktemp -d /tmp/shunt-test.XXXXXX)
	chmod 755 "$TEST_TMP"
	export HOME="$TEST_TMP/home"
	export XDG_CONFIG_HOME="$HOME/.config" XDG_DATA_HOME="$HOME/.local/share" \
		XDG_STATE_HOME="$HOME/.local/state" XDG_CACHE_HOME="$HOME/.cache" \
		XDG_RUNTIME_DIR="$TEST_TMP/run"
	mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
	chmod 700 "$XDG_RUNTIME_DIR"
	unset SHUNT_CONFIG SHUNT_DRY_RUN LD_PRELOAD SHUNT_NOTICE_FORMAT SHUNT_AGENT CLAUDECODE GEMINI_CLI \
		CURSOR_AGENT CODEX_SANDBOX CODEX_SANDBOX_NETWORK_DISABLED # an agent session changes prompts
	# a run that maps to the microVM builds its guest image on first use
	# (a Debian kernel download): only where a test asks for it
	# (sandbox_microvm*.sh, daemon_pool.sh set the real script)
	export SHUNT_VM_BUILD_SCRIPT="$TEST_TMP/no-vm-build-script"
	export SHUNT_NO_SYSTEM_CONFIG=1
	trap 'rm -rf "$TEST_TMP" 2>/dev/null' EXIT
}
is_root() { [ "$(id -u)" = 0 ]; }
