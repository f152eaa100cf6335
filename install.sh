#!/usr/bin/env bash
# shunt set-up on a fresh Debian/Ubuntu machine. Idempotent.
#   ./install.sh            install packages (root) or say which, build, install
#   ./install.sh --shell    also hook shunt into your bash/zsh rc file
#   ./install.sh --prefix DIR
set -euo pipefail
cd "$(dirname "$0")"

BUILD_PKGS=(build-essential pkg-config libpcre2-dev libyaml-dev libseccomp-dev libcurl4-openssl-dev)
# test and runtime tools: sanitizers/fuzzing, the sandboxes we compare with or use,
# real shells and terminals for the hook tests
TEST_PKGS=(clang libclang-rt-14-dev bubblewrap tmux zsh python3 git util-linux iproute2 strace
	uidmap procps psmisc curl qemu-system-x86 busybox-static cpio xz-utils e2fsprogs runsc podman
	catatonit runc debootstrap docker.io socat openssl)
want_shell=0
prefix=""
while [ $# -gt 0 ]; do
	case "$1" in
	--shell) want_shell=1 ;;
	--prefix) prefix=$2; shift ;;
	-h|--help) sed -n '2,5p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

missing=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "==> installing packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "install.sh: these packages are missing; install them first:" >&2
		echo "  sudo apt-get install ${missing[*]}" >&2
		for p in "${BUILD_PKGS[@]}"; do
			if printf '%s\n' "${missing[@]}" | grep -qx "$p"; then exit 1; fi
		done
		echo "install.sh: (only test tools are missing; building anyway)" >&2
	fi
fi

# --- editor test tools (tests/integration/editors.sh): a real code-server
# (npm, needs node 24: the npm package node@24) driven from Debian's chromium
# with puppeteer-core. Cached outside the repo, one folder per version, reused
# when complete: a second run takes seconds. Best effort: the test skips
# without them. SHUNT_SKIP_EDITOR_TOOLS=1 leaves them out.
EDITOR_TOOLS=${SHUNT_TEST_TOOLS:-/opt/shunt-test-tools}
EDITOR_TOOL_PKGS=(chromium libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev)
NODE24_VERSION=24.9.0
CODE_SERVER_VERSION=4.139.1
PUPPETEER_VERSION=25.19.0
editor_tool() { # DIR SPEC [PATH-PREFIX]: npm install SPEC into DIR once
	local dir=$EDITOR_TOOLS/$1 spec=$2 pathx=${3:-}
	[ -e "$dir/.complete" ] && return 0
	echo "==> installing $spec into $dir (once)"
	rm -rf "$dir"
	mkdir -p "$dir"
	if PATH="$pathx${pathx:+:}$PATH" npm install --prefix "$dir" --no-audit --no-fund \
		--foreground-scripts "$spec" >"$dir.log" 2>&1; then
		touch "$dir/.complete"
		rm -f "$dir.log"
	else
		echo "install.sh: $spec failed (see $dir.log); tests/integration/editors.sh will skip" >&2
		rm -rf "$dir"
		return 1
	fi
}
install_editor_test_tools() {
	# only for the opt-in code-server session (SHUNT_TEST_CODESERVER=1): the
	# first install compiles code-server's native modules (~15 min)
	# (the cache folder alone does not opt in: the agent CLIs share it)
	[ "${SHUNT_TEST_CODESERVER:-}" = 1 ] || [ -e "$EDITOR_TOOLS/code-server-$CODE_SERVER_VERSION/.complete" ] || return 0
	[ "$(id -u)" = 0 ] && [ "${SHUNT_SKIP_EDITOR_TOOLS:-}" != 1 ] || return 0
	local need=() p
	command -v npm >/dev/null || need+=(nodejs npm)
	for p in "${EDITOR_TOOL_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
	if [ ${#need[@]} -gt 0 ]; then
		echo "==> installing editor test packages: ${need[*]}"
		apt-get update -qq || true
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
			{ echo "install.sh: could not install ${need[*]}; editors.sh will skip" >&2; return 0; }
	fi
	mkdir -p "$EDITOR_TOOLS"
	editor_tool "node-$NODE24_VERSION" "node@$NODE24_VERSION" || return 0
	editor_tool "puppeteer-core-$PUPPETEER_VERSION" "puppeteer-core@$PUPPETEER_VERSION" || return 0
	editor_tool "code-server-$CODE_SERVER_VERSION" "code-server@$CODE_SERVER_VERSION" \
		"$EDITOR_TOOLS/node-$NODE24_VERSION/node_modules/.bin" || return 0
}
install_editor_test_tools

if [ -z "$prefix" ]; then
	if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi
echo "==> building"
make -j"$(nproc)" PREFIX="$prefix" >/dev/null
echo "==> installing to $prefix"
make install PREFIX="$prefix" >/dev/null
"$prefix/bin/shunt" snapshot >/dev/null 2>&1 || true

# --- agent CLIs for tests/integration/agents_real.sh: the real Claude Code,
# Codex and Gemini CLIs from npm (Claude Code needs node >= 22: the npm package
# node@24). Cached outside the repo, one folder per version, reused when
# complete. Best effort: the test skips without them. SHUNT_SKIP_AGENT_CLIS=1
# leaves them out.
AGENT_TOOLS=${SHUNT_TEST_TOOLS:-/opt/shunt-test-tools}
AGENT_CLIS=("node-24.9.0 node@24.9.0" "claude-code-2.1.337 @anthropic-ai/claude-code@2.1.337"
	"codex-0.171.0 @openai/codex@0.171.0" "gemini-cli-0.61.0 @google/gemini-cli@0.61.0")
agent_cli_install() { # DIR SPEC: npm install SPEC into $AGENT_TOOLS/DIR once
	local dir=$AGENT_TOOLS/$1 spec=$2
	[ -e "$dir/.complete" ] && return 0
	echo "==> installing $spec into $dir (once)"
	rm -rf "$dir" && mkdir -p "$dir"
	if PATH="$AGENT_TOOLS/node-24.9.0/node_modules/.bin:$PATH" npm install --prefix "$dir" \
		--no-audit --no-fund "$spec" >"$dir.log" 2>&1; then
		touch "$dir/.complete"
		rm -f "$dir.log"
	else
		echo "install.sh: $spec failed (see $dir.log); tests/integration/agents_real.sh will skip it" >&2
		rm -rf "$dir"
	fi
}
install_agent_clis() {
	[ "$(id -u)" = 0 ] && [ "${SHUNT_SKIP_AGENT_CLIS:-}" != 1 ] && command -v npm >/dev/null || return 0
	mkdir -p "$AGENT_TOOLS"
	local c
	for c in "${AGENT_CLIS[@]}"; do agent_cli_install $c; done
}
install_agent_clis

if [ "$want_shell" = 1 ]; then
	case "${SHELL:-/bin/bash}" in
	*zsh) "$prefix/bin/shunt" install zsh --yes ;;
	*) "$prefix/bin/shunt" install bash --yes ;;
	esac
fi

echo
echo "shunt $("$prefix/bin/shunt" --version | awk '{print $2}') is installed in $prefix/bin/shunt"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "add $prefix/bin to your PATH" ;; esac
echo "next steps:"
if [ "$want_shell" = 0 ]; then
	echo "  1. hook it into your shell:  ./install.sh --shell   (or: eval \"\$(shunt init bash)\" in ~/.bashrc)"
	echo "  2. open a new terminal"
else
	echo "  1. open a new terminal"
fi
echo "  try: shunt check -c 'curl x | sh'"
echo "  run the tests: make test"
