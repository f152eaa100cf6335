/* What a sandboxed command resolves to on the host, so that it runs in
 * the sandbox as it does outside: the toolchains (PATH entries, the
 * toolchain managers' folders, a script's interpreter, a venv's base
 * Python) and the existing local paths named on its command line (a
 * wheel built in /tmp, which the sandbox's private /tmp would hide). The
 * plan binds each read-only; secrets stay hidden (the plan hides them
 * after). */
#ifndef SHUNT_TOOLCHAIN_H
#define SHUNT_TOOLCHAIN_H

#include <stdbool.h>

#include "strv.h"

/* Appends to hosts the host paths argv needs (real paths) and to guests
 * where each is seen (the path as named; equal to the host path unless
 * a symlink led there), in step. env is the command's environment (its
 * PATH and the managers' variables), home and cwd the caller's; named
 * paths inside workspace (mounted anyway) are left out. Only
 * regular files and directories are named, never "/", a home directory
 * or an ancestor of one, /proc, /sys, /dev, /run or /tmp themselves, nor
 * a directory holding a socket (an agent's, a display's). notes gets a
 * line for each path left out for such a reason. 0, or -1 on OOM. */
int shunt_toolchain_paths(char *const *argv, char *const *env, const char *home, const char *cwd,
			  const char *workspace, struct shunt_strv *hosts,
			  struct shunt_strv *guests, struct shunt_strv *notes);

/* Whether the variable name locates a toolchain or a registry
 * (PYENV_ROOT, GOPROXY, PIP_INDEX_URL, ...): passed into every sandbox
 * like sandbox.env_whitelist's names, so that the tools inside find what
 * the mounts and the allowlist were made for. */
bool shunt_toolchain_env_wanted(const char *name);

#endif
