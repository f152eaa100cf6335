/* What the three files of the shim core share: shim.c (state, set-up,
 * environment fix-up and the wrappers the interposer calls),
 * shim_decide.c (snapshot, counters, decision cache, judging) and
 * shim_gate.c (async-signal-safe helpers, paths, re-routing to the gate
 * and block recording). Internal to libshunt-shim-core.so: everything
 * here is hidden, the only exported symbol stays shunt_shim_core_v1
 * (core.map). The rules of shim.c's opening comment hold for all of it. */
#ifndef SHUNT_PRELOAD_SHIM_INT_H
#define SHUNT_PRELOAD_SHIM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "fast.h"
#include "iface.h"
#include "inherit.h"

extern char **environ;

#pragma GCC visibility push(hidden)

/* State lives in .data, not .bss: a .bss larger than the last page of
 * the file needs an anonymous mapping of its own, and every mapping costs
 * each fork and exec of this process (see the Makefile). */
#define STATE __attribute__((section(".data")))

/* pointers on the stack before a vector spills to mmap */
#define SHUNT_SHIM_STACK_VEC 512

/* the libc functions behind the wrappers, from the interposer at load */
extern struct shunt_shim_real shunt_shim_libc;
/* the interposer's exec path state (fast.h), or shim.c's own */
extern struct shunt_fast *shunt_shim_fast;
/* set once in init: the shunt binary, the snapshot and counters files */
extern char shunt_shim_gate_path[];
extern char shunt_shim_snap_path[];
extern char shunt_shim_counters_path[];

/* A string built in a caller's buffer; overflow once it did not fit. */
struct shunt_shim_sbuf {
	char *p;
	size_t cap, n;
	bool overflow;
};

/* Pointer vector on the stack, spilling to mmap for huge argv/envp. */
struct shunt_shim_vec {
	char **v;
	size_t n, cap;
	void *map;
	size_t maplen;
	char *stack[SHUNT_SHIM_STACK_VEC];
};

enum shunt_shim_verdict { SHUNT_SHIM_HOST, SHUNT_SHIM_GATE, SHUNT_SHIM_BLOCK };

/* a snapshot and the policy decided with (shim_decide.c) */
struct shunt_shim_slot;

/* ---- shim.c ---- */

/* Returns envp, or a copy in v (strings in ldbuf, ldcap bytes) with
 * LD_PRELOAD and the saved SHUNT_* (and, for_gate, HOME and XDG_*)
 * variables put back, and record ("SHUNT_DECIDED=...", policy/inherit.h)
 * in place of any record envp has (record NULL: left as it is). Free v
 * with shunt_shim_vec_free. */
char *const *shunt_shim_fix_env(char *const *envp, bool for_gate, const char *record,
				struct shunt_shim_vec *v, char *ldbuf, size_t ldcap);
/* The record this process was started with (its initial environment),
 * when it had a well-formed one. */
extern struct shunt_inherit shunt_shim_self_record;
extern bool shunt_shim_have_self_record;

/* ---- shim_decide.c ---- */

/* The slot to decide with, loading a replaced snapshot; NULL only when
 * not even the embedded default loads. */
struct shunt_shim_slot *shunt_shim_current_slot(void);
/* Maps the shared counters once per process (never creates the file). */
void shunt_shim_counters_ready(void);
/* Makes the shared decision cache, once per process. */
void shunt_shim_cache_ready(void);
/* Moves the counts children left in the cache into the counters file. */
void shunt_shim_flush_counts(void);
/* What a block said: the message for the terminal, and the decision as
 * the gate records it ("RISK:SCORE:RULE,RULE..." and the why), so the
 * record is the shim's own decision, not a second one. */
struct shunt_shim_blocked {
	char msg[1024];
	char decided[160];
	char why[256];
};

/* Decides an argv (invoked: the path as exec'd; exe: it with links
 * followed) or a shell line. Fills *bk for SHUNT_SHIM_BLOCK; for
 * SHUNT_SHIM_HOST, *acc (may be NULL) with the risk and remote effect
 * accepted, for the record the command inherits. */
enum shunt_shim_verdict shunt_shim_judge(const char *invoked, const char *exe, char *const argv[],
					 const char *line, struct shunt_shim_blocked *bk,
					 struct shunt_inherit *acc);

/* ---- shim_gate.c ---- */

/* Appends s to b, as much as fits; b stays NUL-terminated. */
void shunt_shim_puts(struct shunt_shim_sbuf *b, const char *s);
/* Room for need pointers in v; -1 when the mmap fails. */
int shunt_shim_vec_init(struct shunt_shim_vec *v, size_t need);
/* Appends s when there is room. */
void shunt_shim_vec_push(struct shunt_shim_vec *v, const char *s);
/* Unmaps what shunt_shim_vec_init mapped, if anything. */
void shunt_shim_vec_free(struct shunt_shim_vec *v);
/* Entries before the NULL of v (0 for NULL). */
size_t shunt_shim_count(char *const *v);
/* p is an executable regular file. */
bool shunt_shim_is_exec_file(const char *p);
/* p with symlinks in its last component followed (into buf, cap bytes):
 * shunt_exec_follow_links. */
const char *shunt_shim_follow_links(const char *p, char *buf, size_t cap);
/* p made absolute against the cwd (into buf), or p itself. */
const char *shunt_shim_absolute(const char *p, char *buf, size_t cap);
/* execvp's search for file (into buf); NULL when none. */
const char *shunt_shim_search_path(const char *file, char *buf, size_t cap);
/* The path open as fd (into buf); NULL when it cannot be read. */
const char *shunt_shim_fd_path(int fd, char *buf, size_t cap);
/* The gate is executable; else says so and returns false. */
bool shunt_shim_gate_usable(void);
/* g: shunt gate [--shim-blocked --decided D --why W] --exe EXE --source
 * shim -- ARGV... (the block's part when bk is not NULL); -1 when it does
 * not fit. Free g with shunt_shim_vec_free. */
int shunt_shim_gate_argv(struct shunt_shim_vec *g, const char *exe, char *const argv[],
			 const struct shunt_shim_blocked *bk);
/* out: a shell line that hands line to the gate; false when it does not
 * fit (or the gate's path cannot be quoted). */
bool shunt_shim_gate_line(const char *line, char *out, size_t cap);
/* Has the gate record a blocked exe+argv or shell line, and waits for it.
 * errno unchanged. */
void shunt_shim_record_block(const char *exe, char *const argv[], const char *line,
			     const struct shunt_shim_blocked *bk, char *const envp0[]);

#pragma GCC visibility pop

#endif
