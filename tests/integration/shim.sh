#!/usr/bin/env bash
# The LD_PRELOAD shim: every entry point re-routes a risky command to the
# gate (canary survives, audit log has the decision), real programs are
# covered, low-risk programs behave exactly as without the shim, blocked
# execs fail with EACCES. The destructive cases run in a throwaway mount
# namespace whose $HOME is a tmpfs, so a bug can never delete real files.
. "$(dirname "$0")/../lib.sh"

SPAWNER=$BUILD/tests/helpers/spawner

if [ -z "${SHIM_TEST_IN_NS:-}" ]; then
	if [ ! -f "$SHIM" ] || [ ! -x "$SHUNT" ] || [ ! -x "$SPAWNER" ]; then
		fail "shim, shunt and spawner are built ($SHIM, $SHUNT, $SPAWNER)"
		done_testing
		exit 1
	fi
	if unshare -Urm true 2>/dev/null; then
		SHIM_TEST_IN_NS=1 exec unshare -Urm bash "$0" "$@"
	fi
	SHIM_TEST_IN_NS=none
fi

setup_home
if [ "$SHIM_TEST_IN_NS" = 1 ]; then
	mount -t tmpfs -o mode=755 tmpfs "$HOME" || { fail "tmpfs on \$HOME"; done_testing; exit 1; }
	mkdir -p "$XDG_CONFIG_HOME"
else
	diag "no user namespaces here: running in a throwaway \$HOME without a private mount"
fi
CANARY=$HOME/canary
AUDIT=$XDG_STATE_HOME/shunt/audit.jsonl
WORK=$HOME/work
mkdir -p "$WORK"
cd "$WORK" || exit 1

# ---- the library itself ----
syms=$(nm -D --defined-only "$SHIM" | awk '{print $3}' | sort | tr '\n' ' ')
is "$syms" "execl execle execlp execv execve execveat execvp execvpe fexecve popen posix_spawn posix_spawnp system vfork " \
	"only the interposed symbols are exported"
CORE=$(dirname "$SHIM")/libshunt-shim-core.so
is "$(nm -D --defined-only "$CORE" | awk '{print $3}' | tr '\n' ' ')" "shunt_shim_core_v1 " \
	"the shim core exports only its entry point"
unlike "$(ldd "$CORE" 2>&1)" 'libyaml|libseccomp|libcurl|libpcre2' "the core needs no libyaml/libseccomp/libcurl/libpcre2"
# and it does not stub them either: no libyaml or libcurl symbol is defined
# or left undefined in it (the loaders are not linked in)
is "$(nm "$CORE" 2>/dev/null | grep -cE ' (yaml_|curl_)')" 0 "the core holds and needs no libyaml/libcurl symbol"
# The cached exec path (preload/fast.c) runs in every forked child before
# exec, and such a child faults in each file page it reads: a call through
# the PLT there (gcc turning a loop into strlen) cost each child a lazy
# symbol lookup in libc's tables, a string constant or jump table a page
# of .rodata. Checked on the object both libraries are linked from.
FASTO=$BUILD/obj/preload/fast.o
if command -v objdump >/dev/null 2>&1 && [ -f "$FASTO" ]; then
	is "$(objdump -r "$FASTO" | awk '$2 ~ /PLT32|GOTPCREL/ && $3 !~ /^(shunt_fast_|__stack_chk_fail)/ { print $3 }' | sort -u | tr '\n' ' ')" "" \
		"the cached exec path calls no libc function (only the stack check's failure path)"
	is "$(objdump -r "$FASTO" | grep -c '\.rodata')" 0 "the cached exec path reads no .rodata"
	is "$(objdump -d --no-show-raw-insn "$SHIM" | awk '/<execve>:/ { f = 1; next } /^$/ { f = 0 } f && /call/ { print $NF }' | head -1)" \
		"<shunt_fast_exec>" "execve tries the cached path before anything else"
else
	for _ in 1 2 3; do skip "objdump or $FASTO missing"; done
fi
# the split: a process that starts nothing never maps the core; one that
# forks maps it once, in the parent, and its children inherit it
is "$(LD_PRELOAD=$SHIM grep -c libshunt-shim-core /proc/self/maps)" 0 \
	"a process that starts nothing does not map the shim core"
like "$(LD_PRELOAD=$SHIM bash -c '/bin/true; grep -c libshunt-shim-core /proc/$$/maps; true')" '^[1-9]' \
	"a shell that forked has the core mapped"
is "$(LD_PRELOAD=$SHIM SPAWNER_SHOW_CORE=1 "$SPAWNER" vfork /bin/true 2>&1 | tr '\n' ' ')" 'status 0 core mapped ' \
	"vfork: the core is loaded in the parent, the child's exec is decided"
deps=$(ldd "$SHIM" 2>&1)
unlike "$deps" 'libyaml|libseccomp|libcurl|libpcre2' "no libyaml/libseccomp/libcurl/libpcre2 at run time"
like "$(LD_PRELOAD=$SHIM /bin/echo loaded 2>&1)" '^loaded$' "a program starts with the shim preloaded"

reset_canary() {
	rm -rf "$CANARY"
	mkdir -p "$CANARY"
	echo precious >"$CANARY/file"
}
# decisions about the canary (AUDIT_PAT overrides what to look for)
audit_count() {
	if [ -f "$AUDIT" ]; then grep -c -- "${AUDIT_PAT:-canary}" "$AUDIT"; else echo 0; fi
}
# expect_guarded DESC CMD...: CMD (run with the shim, dry run) must leave
# the canary alone and add a decision to the audit log.
expect_guarded() {
	local desc=$1; shift
	reset_canary
	local before out
	before=$(audit_count)
	out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 "$@" 2>&1 </dev/null)
	if [ -f "$CANARY/file" ]; then
		pass "$desc: canary survives"
	else
		fail "$desc: canary survives"
		diag "$out"
	fi
	local after
	after=$(audit_count)
	if [ "$after" -gt "$before" ]; then
		pass "$desc: decision in the audit log"
	else
		fail "$desc: decision in the audit log"
		diag "$out"
	fi
}

# ---- every entry point ----
for m in execve execv execl execle execveat fexecve posix_spawn vfork envi; do
	expect_guarded "spawner $m" "$SPAWNER" "$m" /bin/rm -rf "$CANARY"
done
for m in execvp execvpe execlp posix_spawnp system popen; do
	expect_guarded "spawner $m" "$SPAWNER" "$m" rm -rf "$CANARY"
done
expect_guarded "spawner threads (8 at once)" "$SPAWNER" threads /bin/rm -rf "$CANARY"

# ---- real programs ----
expect_guarded "bash -c" bash -c "rm -rf '$CANARY'; true"
expect_guarded "sh -c" sh -c "rm -rf '$CANARY'; true"
AUDIT_PAT='xargs rm' expect_guarded "xargs" sh -c "echo '$CANARY' | xargs rm -rf"
expect_guarded "find -exec" find "$HOME" -maxdepth 1 -name canary -exec rm -rf {} +
if command -v python3 >/dev/null; then
	expect_guarded "python3 os.execv" python3 -c "import os; os.execv('/bin/rm', ['rm', '-rf', '$CANARY'])"
	expect_guarded "python3 subprocess.run" python3 -c "import subprocess; subprocess.run(['rm', '-rf', '$CANARY'])"
else
	skip "python3 not installed"
fi
if command -v perl >/dev/null; then
	expect_guarded "perl exec" perl -e "exec('rm', '-rf', '$CANARY')"
else
	skip "perl not installed"
fi
if command -v make >/dev/null; then
	printf 'all:\n\trm -rf %s\n' "$CANARY" >"$WORK/Makefile.rm"
	expect_guarded "make recipe" make -s -f "$WORK/Makefile.rm"
else
	skip "make not installed"
fi
expect_guarded "awk system()" awk "BEGIN { system(\"rm -rf $CANARY\") }"
if command -v git >/dev/null; then
	expect_guarded "git alias" git -c "alias.x=!rm -rf $CANARY" x
else
	skip "git not installed"
fi
printf '#!/bin/sh\nrm -rf "%s"\n' "$CANARY" >"$WORK/script.sh"
chmod +x "$WORK/script.sh"
expect_guarded "shell script file" "$WORK/script.sh"
expect_guarded "exec -a fakename" bash -c "exec -a fakename rm -rf '$CANARY'"
ln -sf "$(command -v rm)" "$WORK/del"
expect_guarded "symlink to rm under another name" bash -c "'$WORK/del' -rf '$CANARY'; true"
expect_guarded "unset LD_PRELOAD inside a shimmed shell" bash -c "unset LD_PRELOAD; rm -rf '$CANARY'; true"
out=$(LD_PRELOAD=$SHIM bash -c 'unset LD_PRELOAD; bash -c "echo \$LD_PRELOAD"')
like "$out" "libshunt-preload" "a child of a shell that unset LD_PRELOAD gets the shim back"
out=$(LD_PRELOAD=$SHIM "$SPAWNER" envi /usr/bin/env 2>&1)
like "$out" "LD_PRELOAD=.*libshunt-preload" "env -i style empty envp gets LD_PRELOAD back"

# ---- low-risk programs run exactly as before ----
same() {
	local desc=$1; shift
	local a b ra rb
	a=$("$@" 2>&1); ra=$?
	b=$(LD_PRELOAD=$SHIM "$@" 2>&1); rb=$?
	if [ "$a" = "$b" ] && [ "$ra" = "$rb" ]; then
		pass "$desc: same output and exit code with the shim"
	else
		fail "$desc: same output and exit code with the shim"
		diag "without: rc=$ra '$(printf '%s' "$a" | head -c 300)'"
		diag "with:    rc=$rb '$(printf '%s' "$b" | head -c 300)'"
	fi
}
mkdir -p "$WORK/d" && touch "$WORK/d/a" "$WORK/d/b"
same "ls" ls -la "$WORK/d"
same "exit code" sh -c 'exit 7'
same "spawner execve true" "$SPAWNER" execve /bin/true
same "spawner posix_spawnp false" "$SPAWNER" posix_spawnp false
same "spawner system echo" "$SPAWNER" system echo hello
same "spawner popen echo" "$SPAWNER" popen echo hello
same "spawner threads echo" sh -c "'$SPAWNER' threads /bin/echo hi | sort"
if command -v git >/dev/null; then
	mkdir -p "$WORK/repo" && (cd "$WORK/repo" && git init -q && git -c user.email=t@t -c user.name=t commit -q --allow-empty -m init)
	echo x >"$WORK/repo/f"
	same "git status" git -C "$WORK/repo" status --short
	same "git log" git -C "$WORK/repo" log --format=%s
fi
if command -v make >/dev/null && command -v cc >/dev/null; then
	mkdir -p "$WORK/proj"
	for i in 1 2 3 4; do printf 'int f%d(void) { return %d; }\n' "$i" "$i" >"$WORK/proj/f$i.c"; done
	printf 'int main(void) { return 0; }\n' >"$WORK/proj/main.c"
	printf 'OBJS = main.o f1.o f2.o f3.o f4.o\nprog: $(OBJS)\n\tcc -o $@ $(OBJS)\n%%.o: %%.c\n\tcc -O2 -c $< -o $@\nclean:\n\trm -f prog *.o\n' >"$WORK/proj/Makefile"
	same "make -j2 clean all of a small project" sh -c "cd '$WORK/proj' && make -s clean && make -s -j2 && ./prog && echo built"
fi
cat >"$WORK/configure.sh" <<'EOF'
#!/bin/sh
# configure-style: many short commands
i=0
while [ $i -lt 1000 ]; do
	v=$(expr $i + 1)
	echo "$v" | tr 0-9 a-j >/dev/null
	i=$v
done
printf 'checked %s\n' "$i"
uname -s
EOF
chmod +x "$WORK/configure.sh"
same "configure-style script (1000 commands)" "$WORK/configure.sh"

# ---- host execs are counted in the shared counters (source shim) ----
"$SHUNT" exec -- /bin/true >/dev/null 2>&1 # creates the counters file
shim_count() { "$SHUNT" metrics --json 2>/dev/null | sed -n 's/.*"shim":\([0-9]*\).*/\1/p'; }
c0=$(shim_count)
LD_PRELOAD=$SHIM bash -c '/bin/true; /bin/true; /bin/true'
c1=$(shim_count)
is "$((${c1:-0} - ${c0:-0}))" 3 "three host execs counted with source shim"
# children count cached host execs in the shared cache; the shell moves
# them into the file at its next fork, before its own exec and at exit
LD_PRELOAD=$SHIM bash -c 'for i in 1 2 3 4 5; do /bin/true; done; :'
c2=$(shim_count)
is "$((${c2:-0} - ${c1:-0}))" 5 "host execs of children are counted when the shell exits"
LD_PRELOAD=$SHIM bash -c '(/bin/true; /bin/true; :); /bin/true; /bin/true'
c3=$(shim_count)
is "$((${c3:-0} - ${c2:-0}))" 4 "a subshell's and the shell's final exec are counted too"

# ---- the shared decision cache: host decisions only, exact inputs ----
# a shell whose children just ran low-risk commands (cached) on the canary
expect_guarded "after cached host decisions, a different argv is decided afresh" \
	bash -c "/bin/ls '$CANARY' >/dev/null; /bin/ls '$CANARY' >/dev/null; /bin/rm -rf '$CANARY'; true"
# the same argv after the snapshot was replaced under the running shell
mkdir -p "$XDG_CONFIG_HOME/shunt"
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
"$SHUNT" snapshot >/dev/null 2>&1
out=$(LD_PRELOAD=$SHIM CFG="$XDG_CONFIG_HOME/shunt/config.yaml" SHUNT_BIN="$SHUNT" bash -c '
	/bin/echo shunt-test-denied-cached; /bin/echo shunt-test-denied-cached
	printf "policies:\n  denylist:\n    - \"echo shunt-test-denied*\"\n" >"$CFG"
	"$SHUNT_BIN" snapshot >/dev/null 2>&1
	/bin/echo shunt-test-denied-cached; echo rc=$?' 2>&1)
is "$(printf '%s\n' "$out" | grep -c '^shunt-test-denied-cached$')" 2 "cached host decision used while the snapshot is unchanged"
like "$out" "rc=126" "a replaced snapshot is honoured at once: the cached command is now blocked"
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"
"$SHUNT" snapshot >/dev/null 2>&1

# ---- a decision that read the cwd is never cached without it ----
# npx of a bin in node_modules/.bin is host (rule npx-package has
# unless_installed); the same argv in a project without it must not hit
# that host decision in the cache (the argv is path-free, so its key has no
# cwd). The fake npx only says it ran; the gate's dry run runs nothing.
NPX_A="$TEST_TMP/npx-a" NPX_B="$TEST_TMP/npx-b"
mkdir -p "$NPX_A/.git" "$NPX_A/node_modules/.bin" "$NPX_B/.git" "$TEST_TMP/npxbin"
printf '#!/bin/sh\necho tsc\n' >"$NPX_A/node_modules/.bin/tsc"
printf '#!/bin/sh\necho npx-ran\n' >"$TEST_TMP/npxbin/npx"
chmod +x "$NPX_A/node_modules/.bin/tsc" "$TEST_TMP/npxbin/npx"
out=$(cd "$NPX_A" && LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 PATH="$TEST_TMP/npxbin:$PATH" B="$NPX_B" bash -c '
	npx tsc --version; npx tsc --version; cd "$B" && npx tsc --version; true' 2>&1 </dev/null)
is "$(printf '%s\n' "$out" | grep -c '^npx-ran$')" 2 \
	"npx of an installed bin runs on the host, and not from the cache where it is not installed"

# ---- blocked in the fast path: EACCES / exit 126, one-line reason ----
mkdir -p "$XDG_CONFIG_HOME/shunt"
printf 'policies:\n  denylist:\n    - "echo shunt-test-denied*"\n' >"$XDG_CONFIG_HOME/shunt/config.yaml"
if "$SHUNT" snapshot >/dev/null 2>&1; then
	out=$(LD_PRELOAD=$SHIM "$SPAWNER" execve /bin/echo shunt-test-denied 2>&1)
	like "$out" "error EACCES" "denylisted execve fails with EACCES"
	like "$out" "shunt: blocked: .*shunt-test-denied.*allow with: shunt trust add" "one-line reason on stderr"
	unlike "$out" "^shunt-test-denied" "the denied command did not run"
	out=$(LD_PRELOAD=$SHIM "$SPAWNER" posix_spawn /bin/echo shunt-test-denied 2>&1)
	like "$out" "error EACCES" "denylisted posix_spawn returns EACCES"
	out=$(LD_PRELOAD=$SHIM "$SPAWNER" system echo shunt-test-denied 2>&1)
	like "$out" "status 126" "denylisted system() line: shell status 126"
	out=$(LD_PRELOAD=$SHIM bash -c 'echo shunt-test-denied-builtin-is-not-exec; /bin/echo shunt-test-denied; echo rc=$?' 2>&1)
	like "$out" "rc=126" "a shell running a denied command reports 126"
	# every block of the shim is in the audit log and the counters
	blocked_n() { "$SHUNT" metrics --json 2>/dev/null | sed -n 's/.*"blocked":\([0-9]*\).*/\1/p'; }
	logged_n() { "$SHUNT" log --json -n 100000 2>/dev/null | grep '"source":"shim"' | grep '"action":"block"' | grep -c "$1"; }
	b0=$(blocked_n) l0=$(logged_n shunt-test-denied-rec)
	out=$(LD_PRELOAD=$SHIM "$SPAWNER" execve /bin/echo shunt-test-denied-rec 2>&1)
	like "$out" "error EACCES" "a recorded block still fails with EACCES"
	is "$(logged_n shunt-test-denied-rec)" $((l0 + 1)) "a block by the shim (execve) is in shunt log"
	is "$(blocked_n)" $((${b0:-0} + 1)) "and counts in shunt metrics as blocked"
	LD_PRELOAD=$SHIM "$SPAWNER" posix_spawn /bin/echo shunt-test-denied-rec >/dev/null 2>&1
	LD_PRELOAD=$SHIM "$SPAWNER" system echo shunt-test-denied-rec >/dev/null 2>&1
	is "$(logged_n shunt-test-denied-rec)" $((l0 + 3)) "blocks by posix_spawn and system() are in shunt log too"
	out=$("$SHUNT" log -n 1 2>/dev/null)
	like "$out" "block .*shunt-test-denied-rec" "shunt log shows the shim's block"
	# the record is the shim's own decision, carried to the gate, not a
	# second one: its reason is the one the shim printed
	said=$(LD_PRELOAD=$SHIM "$SPAWNER" execve /bin/echo shunt-test-denied-rec 2>&1 | sed -n 's/.*\]: \(.*\); allow with.*/\1/p')
	rec=$("$SHUNT" log --json -n 1 2>/dev/null)
	ok "the record carries the reason the shim gave ($said)" -- grep -qF "\"why\":\"$said\"" <<<"$rec"
	LD_PRELOAD=$SHIM "$SPAWNER" execve /bin/dd if=/dev/zero of=/dev/shunt-test-disk count=0 >/dev/null 2>&1
	like "$("$SHUNT" log --json -n 1 2>/dev/null)" '"rules":\["dd-to-device"\].*"why":"critical risk' "a rule's block is recorded with the rule and reason the shim decided"
	"$SHUNT" gate --shim-blocked -- /bin/echo x >/dev/null 2>&1
	is "$?" 2 "shunt gate --shim-blocked without the shim's decision is a usage error (it decides nothing itself)"
	# a blocked 36 KB argv: one screen line of it (200 columns with no
	# terminal), and how long it was
	big=()
	for ((i = 0; i < 1500; i++)); do big+=("obj/module-$i.o"); done
	out=$(LD_PRELOAD=$SHIM "$SPAWNER" execve /bin/echo shunt-test-denied "${big[@]}" 2>&1 >/dev/null | grep shunt:)
	is "$(printf '%s\n' "$out" | grep -c 'obj/module-')" 1 "a blocked 36 KB argv: its message shows the command on one line"
	like "$out" '\.\.\. \([0-9]{5} bytes\)' "... which says how long the command was"
	ok "... not longer than a screen line and the reason ($(printf '%s\n' "$out" | wc -L) < 400)" -- test "$(printf '%s\n' "$out" | wc -L)" -lt 400
	# one the shim blocks itself (small enough for its own decision)
	out=$(LD_PRELOAD=$SHIM "$SPAWNER" execve /bin/echo shunt-test-denied "${big[@]:0:100}" 2>&1 >/dev/null | grep shunt:)
	is "$(printf '%s\n' "$out" | wc -l)" 1 "the shim's own block message for a 1.7 KB argv is one line"
	like "$out" "^shunt: blocked: .*\\.\\.\\. \\([0-9]{4} bytes\\).*allow with" "... cut, with the command's length"
	ok "... not longer than a screen line and the reason (${#out} < 400)" -- test "${#out}" -lt 400
	out=$("$SHUNT" exec -- /bin/echo shunt-test-denied "${big[@]}" 2>&1 >/dev/null)
	is "$(printf '%s\n' "$out" | grep -c 'module-1499')" 0 "shunt exec's block message does not print the whole 36 KB argv"
	like "$out" '^shunt: blocked: .*\.\.\. \([0-9]{5} bytes\)' "... it cuts it and says how long it was"
	ok "... in at most two lines of 400 bytes" -- test "$(printf '%s\n' "$out" | wc -l)" -le 2 -a "$(printf '%s\n' "$out" | wc -L)" -lt 400
else
	fail "shunt snapshot writes the snapshot"
	diag "$("$SHUNT" snapshot 2>&1)"
fi
rm -f "$XDG_CONFIG_HOME/shunt/config.yaml"

# ---- snapshot replaced / corrupt ----
SNAP=$XDG_STATE_HOME/shunt/policy.snap
mkdir -p "$(dirname "$SNAP")"
head -c 4096 /dev/urandom >"$SNAP"
out=$(LD_PRELOAD=$SHIM bash -c '/bin/echo still-works' 2>&1)
is "$out" "still-works" "corrupt snapshot: low-risk commands still run, silently"
expect_guarded "corrupt snapshot: risky command still re-routed" bash -c "rm -rf '$CANARY'; true"
# the gate that ran writes a good snapshot over a corrupt one
out=$("$SHUNT" snapshot --check 2>&1)
is "$?" 0 "the gate repaired the corrupt snapshot ($out)"
head -c 4096 /dev/urandom >"$SNAP"
out=$(LD_PRELOAD=$SHIM SHUNT_DRY_RUN=1 "$SPAWNER" execve /bin/rm -rf "$CANARY" 2>&1)
is "$(printf '%s\n' "$out" | grep -c 'snapshot .* is unusable')" 1 "corrupt snapshot: one line on stderr, naming the fix"
like "$out" "fix with: shunt snapshot" "the line says how to fix it"
rm -f "$SNAP"
reset_canary

# ---- the gate must exist: a missing gate fails closed ----
FAKE=$HOME/fakeprefix
mkdir -p "$FAKE/lib" "$FAKE/bin"
cp "$SHIM" "$CORE" "$FAKE/lib/"
if [ ! -e /usr/local/bin/shunt ]; then
	out=$(LD_PRELOAD=$FAKE/lib/libshunt-preload.so "$SPAWNER" execve /bin/rm -rf "$CANARY" 2>&1)
	like "$out" "error EACCES" "no gate next to the library: risky exec fails with EACCES"
	ok "no gate: canary survives" test -f "$CANARY/file"
else
	skip "a shunt is installed at the build prefix; cannot test a missing gate"
fi

# ---- the core must sit next to the interposer: without it nothing starts ----
NOCORE=$HOME/nocore
mkdir -p "$NOCORE/lib"
cp "$SHIM" "$NOCORE/lib/"
reset_canary
like "$(LD_PRELOAD=$NOCORE/lib/libshunt-preload.so /bin/echo starts 2>&1)" '^starts$' \
	"no core: a program that starts nothing still runs"
out=$(LD_PRELOAD=$NOCORE/lib/libshunt-preload.so "$SPAWNER" execve /bin/rm -rf "$CANARY" 2>&1)
like "$out" "error EACCES" "no core: an exec fails closed with EACCES"
like "$out" "cannot load the shim core $NOCORE/lib/libshunt-shim-core.so" "no core: stderr names the missing file"
like "$out" "unset LD_PRELOAD" "no core: stderr says what to do"
ok "no core: canary survives" test -f "$CANARY/file"
out=$(LD_PRELOAD=$NOCORE/lib/libshunt-preload.so "$SPAWNER" posix_spawn /bin/true 2>&1)
like "$out" "error EACCES" "no core: posix_spawn fails closed too"
out=$(LD_PRELOAD=$NOCORE/lib/libshunt-preload.so "$SPAWNER" threads /bin/true 2>&1)
is "$(printf '%s\n' "$out" | grep -c 'cannot load the shim core')" 1 "no core: one line per process, not per exec"

done_testing
