# shunt - plain Makefile, pkg-config for dependencies.
# make            -> build/bin/shunt, build/lib/libshunt-preload.so (+ libshunt-shim-core.so)
# make test       -> every test, plus unit tests under ASan+UBSan
# make bench      -> performance figures
# make fuzz       -> libFuzzer targets (clang)
# make install PREFIX=...

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
CLANG    ?= clang
PKGS     := libpcre2-8 yaml-0.1 libseccomp libcurl
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

MISSING := $(strip $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo y),,$(p))))
ifneq ($(MISSING),)
ifeq ($(filter clean format,$(MAKECMDGOALS)),)
$(error missing development packages for: $(MISSING). On Debian/Ubuntu run: sudo apt-get install pkg-config libpcre2-dev libyaml-dev libseccomp-dev libcurl4-openssl-dev  (or ./install.sh))
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
PCRE2_A    := $(shell pkg-config --variable=libdir libpcre2-8 2>/dev/null)/libpcre2-8.a

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
SHUNT_CFLAGS := -std=gnu11 $(WARN) -fPIC -fvisibility=hidden -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 \
	-fstack-protector-strong -Ipolicy -Iutil -Inet -Isandbox -Ihook -Idaemon -I$(BUILD)/gen $(PKG_CFLAGS) \
	-DSHUNT_VERSION='"$(VERSION)"' -DSHUNT_PREFIX='"$(PREFIX)"'
ALL_CFLAGS = $(SHUNT_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)

# The library's three rooms, one static library each: util/ (generic
# helpers, no policy knowledge), policy/ (the decision core, on util/) and
# net/ (HTTP transport, on util/ and policy/'s config types).
UTIL_SRC    := $(sort $(wildcard util/*.c))
POLICY_SRC  := $(sort $(wildcard policy/*.c))
NET_SRC     := $(sort $(wildcard net/*.c))
SANDBOX_SRC := $(sort $(wildcard sandbox/*.c))
HOOK_SRC    := $(sort $(wildcard hook/*.c))
# shuntd: the daemon, its warm pools and the fd-passing run
DAEMON_SRC  := $(sort $(wildcard daemon/*.c))
# preload/interpose.c is the LD_PRELOAD library; the rest is the shim core.
# Both hold the cached exec path (preload/fast.c).
PRELOAD_SRC := preload/interpose.c preload/fast.c
CORE_SRC    := $(filter-out preload/interpose.c,$(sort $(wildcard preload/*.c)))
RULE_PACKS  := $(sort $(wildcard policy/rules/*.yaml))

UTIL_OBJ    := $(UTIL_SRC:%.c=$(BUILD)/obj/%.o)
POLICY_OBJ  := $(POLICY_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/rules_embedded.o
NET_OBJ     := $(NET_SRC:%.c=$(BUILD)/obj/%.o)
SECURITY_JSON := $(sort $(wildcard sandbox/security/*.json))
SANDBOX_OBJ := $(SANDBOX_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/security_embedded.o
HOOK_OBJ    := $(HOOK_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/shells_embedded.o
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(BUILD)/obj/%.o)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/obj/%.o)
CORE_OBJ    := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)

UTIL_LIB    := $(BUILD)/lib/libshunt-util.a
POLICY_LIB  := $(BUILD)/lib/libshunt-policy.a
NET_LIB     := $(BUILD)/lib/libshunt-net.a
# in link order: a room before the rooms it uses
LIB_LIBS    := $(NET_LIB) $(POLICY_LIB) $(UTIL_LIB)
SANDBOX_LIB := $(BUILD)/lib/libshunt-sandbox.a
DAEMON_LIB  := $(BUILD)/lib/libshunt-daemon.a
SHUNT_BIN   := $(BUILD)/bin/shunt
PRELOAD_SO  := $(BUILD)/lib/libshunt-preload.so
CORE_SO     := $(BUILD)/lib/libshunt-shim-core.so
PRELOAD_SNAP_OBJ := $(BUILD)/obj/gen/default_snap.o
# The microVM guest agent; build-guest.sh links its own static copy.
VM_AGENT    := $(BUILD)/bin/shunt-vm-agent

UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRC  := $(sort $(wildcard tests/helpers/*.c))
HELPER_BIN  := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
# libcurl is dlopen()ed on first use (net/curl_lazy.c): linking it costs ~3 ms per start
LIBS        := $(filter-out -lcurl,$(PKG_LIBS)) -lpthread -ldl
# shunt starts for every gated exec and every sandbox: with PCRE2, libyaml
# and libseccomp linked in statically the dynamic loader has less to do
# (~0.5 ms CPU per start here). Falls back to shared libraries.
STATIC_ARCHIVES := $(wildcard $(PCRE2_A) \
	$(shell pkg-config --variable=libdir yaml-0.1 2>/dev/null)/libyaml.a \
	$(shell pkg-config --variable=libdir libseccomp 2>/dev/null)/libseccomp.a)
ifeq ($(words $(STATIC_ARCHIVES)),3)
SHUNT_LIBS  := $(STATIC_ARCHIVES) -lpthread -ldl
else
SHUNT_LIBS  := $(LIBS)
endif

.PHONY: all test unit bench fuzz install uninstall clean format check-format asan
all: $(SHUNT_BIN) $(PRELOAD_SO) $(CORE_SO) $(HELPER_BIN) $(VM_AGENT)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The shim core links the rooms it needs (policy/ and util/, not net/)
# and keeps only what the shim reaches (--gc-sections): one section per
# function lets it drop, with their references to libyaml, the rule-pack
# and configuration loaders that share files with the matcher it calls.
$(POLICY_SRC:%.c=$(BUILD)/obj/%.o) $(UTIL_OBJ): ALL_CFLAGS += -ffunction-sections -fdata-sections

# A forked child runs preload/fast.c before exec and faults in every page
# it reads: no jump tables or vector constants in .rodata, no loops
# turned into libc calls (tests/integration/shim.sh checks the result).
FAST_CFLAGS := -fno-jump-tables -fno-tree-vectorize -fno-tree-loop-distribute-patterns
$(BUILD)/obj/preload/fast.o: preload/fast.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FAST_CFLAGS) -MMD -MP -c $< -o $@

# Rule packs are embedded so build/bin/shunt works from anywhere.
$(BUILD)/gen/rules_embedded.c: $(RULE_PACKS) tests/tools/embed.sh
	@mkdir -p $(dir $@)
	sh tests/tools/embed.sh rules.h shunt_embedded_pack shunt_embedded_packs \
		shunt_embedded_pack_count $(RULE_PACKS) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/rules_embedded.o: $(BUILD)/gen/rules_embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c $< -o $@

# The shell hooks are embedded so `shunt init` works from the build tree.
SHELL_HOOKS := shells/shunt.bash shells/shunt.zsh
$(BUILD)/gen/shells_embedded.c: $(SHELL_HOOKS) shells/embed.sh
	@mkdir -p $(dir $@)
	sh shells/embed.sh $(SHELL_HOOKS) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/shells_embedded.o: $(BUILD)/gen/shells_embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c $< -o $@

# Built-in seccomp profiles, embedded the same way.
$(BUILD)/gen/security_embedded.c: $(SECURITY_JSON) tests/tools/embed.sh
	@mkdir -p $(dir $@)
	sh tests/tools/embed.sh seccomp.h shunt_embedded_security shunt_embedded_security \
		shunt_embedded_security_count $(SECURITY_JSON) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/security_embedded.o: $(BUILD)/gen/security_embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c $< -o $@

$(UTIL_LIB): $(UTIL_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(POLICY_LIB): $(POLICY_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(NET_LIB): $(NET_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SANDBOX_LIB): $(SANDBOX_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(DAEMON_LIB): $(DAEMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# the daemon's objects use the hook's context and audit records
$(SHUNT_BIN): $(HOOK_OBJ) $(DAEMON_LIB) $(SANDBOX_LIB) $(LIB_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(HOOK_OBJ) $(DAEMON_LIB) $(SANDBOX_LIB) $(LIB_LIBS) $(SHUNT_LIBS)

$(VM_AGENT): sandbox/firecracker/agent.c sandbox/vmchan.c sandbox/vmchan.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ sandbox/firecracker/agent.c sandbox/vmchan.c

# Every mapping of a process costs each fork and each exec of its children
# (fork copies it, exec tears it down; one that holds written pages, a
# few microseconds here), and a shell forks for every command. So both
# libraries keep few: text and read-only data share one segment (no
# separate-code), the core keeps its state in .data (no anonymous .bss
# mapping; preload/shim_int.h), and neither has a RELRO page split off its
# data (norelro: 1 % of a shell's exec storm in tests/bench/shim.sh).
# RELRO would guard little here: the interposer publishes its function
# pointers (the core's entry points, the real execve) in writable .data
# at run time by design, and its lazily bound GOT is writable anyway.
SHIM_LAYOUT := -Wl,-z,noseparate-code -Wl,-z,norelro

# Every process loads the interposer: small, few relocations, lazy
# binding (its libc calls only run when the process forks or execs).
$(PRELOAD_SO): $(PRELOAD_OBJ) preload/shim.map
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -Wl,--version-script=preload/shim.map \
		-Wl,--gc-sections -Wl,-z,lazy $(SHIM_LAYOUT) -o $@ $(PRELOAD_OBJ) -ldl -lpthread

# The shim core is dlopen()ed once per forking process: PCRE2 linked in
# statically and hidden, never libyaml, libseccomp or libcurl (-z defs:
# the link fails if anything the shim reaches needs one of them). Bound at
# load (-z now), so forked children inherit a bound, read-only .got.
$(CORE_SO): $(CORE_OBJ) $(PRELOAD_SNAP_OBJ) $(POLICY_LIB) $(UTIL_LIB) preload/core.map
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -Wl,--version-script=preload/core.map -Wl,--exclude-libs,ALL \
		-Wl,--gc-sections -Wl,-z,defs -Wl,-z,now $(SHIM_LAYOUT) -o $@ $(CORE_OBJ) $(PRELOAD_SNAP_OBJ) \
		$(POLICY_LIB) $(UTIL_LIB) $(PCRE2_A) -ldl -lpthread

# The shim embeds the default policy snapshot (built-in config + rules, no
# user files, no trust) for users who have no snapshot yet.
$(BUILD)/gen/default.snap: $(SHUNT_BIN)
	@mkdir -p $(dir $@)
	$(SHUNT_BIN) snapshot --default --output $@ >/dev/null

$(BUILD)/gen/default_snap.S: $(BUILD)/gen/default.snap
	printf '\t.section .rodata\n\t.balign 16\n\t.globl shunt_default_snap\n\t.hidden shunt_default_snap\nshunt_default_snap:\n\t.incbin "%s"\n\t.globl shunt_default_snap_end\n\t.hidden shunt_default_snap_end\nshunt_default_snap_end:\n\t.section .note.GNU-stack,"",@progbits\n' '$(abspath $<)' > $@

$(PRELOAD_SNAP_OBJ): $(BUILD)/gen/default_snap.S $(BUILD)/gen/default.snap
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/tap.h $(SANDBOX_LIB) $(LIB_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -DSHUNT_UNITTEST -o $@ $< $(SANDBOX_LIB) $(LIB_LIBS) $(LIBS)

# the shim's cached exec path, tested against the real lexer and rules
$(BUILD)/tests/test_fast: tests/unit/test_fast.c preload/fast.c preload/fast.h tests/unit/tap.h \
		$(SANDBOX_LIB) $(LIB_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Ipreload -DSHUNT_UNITTEST -o $@ $< preload/fast.c \
		$(SANDBOX_LIB) $(LIB_LIBS) $(LIBS)

# the line hook's splitter, deciding with the real context and rules
$(BUILD)/tests/test_split: tests/unit/test_split.c hook/split.c hook/args.c hook/context.c hook/agent.c \
		tests/unit/tap.h $(SANDBOX_LIB) $(LIB_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -DSHUNT_UNITTEST -o $@ $< hook/split.c hook/args.c hook/agent.c \
		hook/context.c $(SANDBOX_LIB) $(LIB_LIBS) $(LIBS)

$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lpthread

unit: $(UNIT_BIN)

# the channel test drives the real guest agent
$(BUILD)/tests/test_vmchan: $(VM_AGENT)

# Sanitizer build of the unit tests, in its own tree.
asan:
	$(MAKE) BUILD=$(BUILD)/asan OPT=-O1 \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -U_FORTIFY_SOURCE" \
		unit

test: all unit asan
	@BUILD=$(BUILD) bash tests/run.sh

bench: all
	@BUILD=$(BUILD) bash tests/bench/run.sh

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
fuzz:
	$(MAKE) BUILD=$(BUILD)/fuzzlib CC=$(CLANG) OPT=-O1 \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -U_FORTIFY_SOURCE" \
		$(BUILD)/fuzzlib/lib/libshunt-policy.a $(BUILD)/fuzzlib/lib/libshunt-util.a
	$(MAKE) $(FUZZ_BIN)

FUZZ_LIBS := $(BUILD)/fuzzlib/lib/libshunt-policy.a $(BUILD)/fuzzlib/lib/libshunt-util.a
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(CLANG) $(SHUNT_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -U_FORTIFY_SOURCE \
		-o $@ $< $(FUZZ_LIBS) $(LIBS)

# The man page is the program's own help text (doc/gen-man.sh).
MAN_PAGE := $(BUILD)/man/shunt.1
$(MAN_PAGE): $(SHUNT_BIN) doc/gen-man.sh
	@mkdir -p $(dir $@)
	sh doc/gen-man.sh $(SHUNT_BIN) $(VERSION) > $@.tmp && mv $@.tmp $@

install: all $(MAN_PAGE)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/shunt $(DESTDIR)$(PREFIX)/share/shunt/rules \
		$(DESTDIR)$(PREFIX)/share/shunt/presets $(DESTDIR)$(PREFIX)/share/shunt/security $(DESTDIR)$(PREFIX)/share/shunt/shells
	install -m 0755 $(SHUNT_BIN) $(DESTDIR)$(PREFIX)/bin/shunt
	install -m 0644 $(PRELOAD_SO) $(DESTDIR)$(PREFIX)/lib/libshunt-preload.so
	install -m 0644 $(CORE_SO) $(DESTDIR)$(PREFIX)/lib/libshunt-shim-core.so
	install -m 0644 $(RULE_PACKS) $(DESTDIR)$(PREFIX)/share/shunt/rules/
	install -m 0644 presets/*.yaml $(DESTDIR)$(PREFIX)/share/shunt/presets/
	if ls sandbox/security/*.json >/dev/null 2>&1; then install -m 0644 sandbox/security/*.json $(DESTDIR)$(PREFIX)/share/shunt/security/; fi
	if ls shells/* >/dev/null 2>&1; then cp -r shells/. $(DESTDIR)$(PREFIX)/share/shunt/shells/; fi
	install -d $(DESTDIR)$(PREFIX)/share/shunt/firecracker
	install -m 0755 sandbox/firecracker/build-guest.sh sandbox/firecracker/init sandbox/firecracker/start.sh $(DESTDIR)$(PREFIX)/share/shunt/firecracker/
	install -m 0644 sandbox/firecracker/agent.c sandbox/vmchan.c sandbox/vmchan.h $(DESTDIR)$(PREFIX)/share/shunt/firecracker/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0644 $(MAN_PAGE) $(DESTDIR)$(PREFIX)/share/man/man1/shunt.1
	install -m 0644 completions/shunt.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/shunt
	install -m 0644 completions/_shunt $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_shunt

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/shunt $(DESTDIR)$(PREFIX)/lib/libshunt-preload.so \
		$(DESTDIR)$(PREFIX)/lib/libshunt-shim-core.so $(DESTDIR)$(PREFIX)/share/man/man1/shunt.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/shunt \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_shunt
	rm -rf $(DESTDIR)$(PREFIX)/share/shunt

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
