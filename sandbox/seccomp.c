/* seccomp profiles in Docker's JSON format, compiled with libseccomp.
 *
 * Supported: defaultAction, defaultErrnoRet, architectures, archMap,
 * flags, syscalls[] {names|name, action, errnoRet, args, comment,
 * includes, excludes}. listenerPath/listenerMetadata are accepted but
 * SCMP_ACT_NOTIFY is refused (we run no listener). The sandboxed process
 * is assumed to hold no capabilities: a rule gated on `includes.caps` is
 * applied only when it denies, and `excludes.caps` never excludes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#define SHUNT_SECCOMP_IMPL
#include <seccomp.h> /* ours, which pulls in libseccomp's */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"

#define PROFILE_MAX (4u << 20)

struct sc_ctx {
	const char *name; /* file name for messages */
	scmp_filter_ctx f;
	uint32_t def_action;
	int def_errno;
	uint32_t native;
};

static int at(struct sc_ctx *c, const struct shunt_json *n, struct shunt_error **err,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int at(struct sc_ctx *c, const struct shunt_json *n, struct shunt_error **err,
	      const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return shunt_error_set(err, EINVAL, "%s:%d:%d: %s", c->name, n ? n->line : 0,
			       n ? n->col : 0, msg);
}

static bool in_list(const char *key, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (strcmp(key, *allowed) == 0)
			return true;
	return false;
}

/* Objects must hold only known keys: a typo must not silently drop a rule. */
static int check_object(struct sc_ctx *c, const struct shunt_json *o, const char *what,
			const char *const *allowed, struct shunt_error **err)
{
	if (!o || o->type != SHUNT_JSON_OBJECT)
		return at(c, o, err, "%s must be an object", what);
	for (size_t i = 0; i < o->len; i++)
		if (!in_list(o->keys[i], allowed))
			return at(c, o->items[i], err, "unknown key '%s' in %s", o->keys[i], what);
	return 0;
}

static int want_type(struct sc_ctx *c, const struct shunt_json *n, enum shunt_json_type t,
		     const char *what, struct shunt_error **err)
{
	static const char *const tn[] = {"null",     "a boolean", "a number",
					 "a string", "an array",  "an object"};
	if (n->type != t)
		return at(c, n, err, "%s must be %s", what, tn[t]);
	return 0;
}

/* An array of strings (a lone string is not accepted: Docker does not). */
static int want_strv(struct sc_ctx *c, const struct shunt_json *n, const char *what,
		     struct shunt_error **err)
{
	if (want_type(c, n, SHUNT_JSON_ARRAY, what, err) < 0)
		return -1;
	for (size_t i = 0; i < n->len; i++)
		if (want_type(c, n->items[i], SHUNT_JSON_STRING, what, err) < 0)
			return -1;
	return 0;
}

/* Integers must be exact in a double: above 2^53 the JSON value would be
 * silently rounded, so refuse it rather than compare the wrong value. */
static int want_uint(struct sc_ctx *c, const struct shunt_json *n, uint64_t max, const char *what,
		     uint64_t *out, struct shunt_error **err)
{
	if (want_type(c, n, SHUNT_JSON_NUMBER, what, err) < 0)
		return -1;
	if (n->num < 0 || n->num != floor(n->num) || n->num > 9007199254740992.0 ||
	    n->num > (double)max)
		return at(c, n, err, "%s must be an integer between 0 and %llu", what,
			  (unsigned long long)max);
	*out = (uint64_t)n->num;
	return 0;
}

static int parse_action(struct sc_ctx *c, const struct shunt_json *n,
			const struct shunt_json *errno_node, int def_errno, uint32_t *out,
			struct shunt_error **err)
{
	uint64_t e = (uint64_t)def_errno;
	if (want_type(c, n, SHUNT_JSON_STRING, "action", err) < 0)
		return -1;
	if (errno_node && want_uint(c, errno_node, 4095, "errnoRet", &e, err) < 0)
		return -1;
	const char *s = n->str;
	if (strcmp(s, "SCMP_ACT_ALLOW") == 0)
		*out = SCMP_ACT_ALLOW;
	else if (strcmp(s, "SCMP_ACT_ERRNO") == 0)
		*out = SCMP_ACT_ERRNO((uint16_t)e);
	else if (strcmp(s, "SCMP_ACT_KILL") == 0 || strcmp(s, "SCMP_ACT_KILL_THREAD") == 0)
		*out = SCMP_ACT_KILL_THREAD;
	else if (strcmp(s, "SCMP_ACT_KILL_PROCESS") == 0)
		*out = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(s, "SCMP_ACT_TRAP") == 0)
		*out = SCMP_ACT_TRAP;
	else if (strcmp(s, "SCMP_ACT_TRACE") == 0)
		*out = SCMP_ACT_TRACE((uint16_t)e);
	else if (strcmp(s, "SCMP_ACT_LOG") == 0)
		*out = SCMP_ACT_LOG;
	else if (strcmp(s, "SCMP_ACT_NOTIFY") == 0)
		return at(c, n, err,
			  "action SCMP_ACT_NOTIFY needs a seccomp agent, which shunt does not run");
	else
		return at(c, n, err, "unknown action '%s'", s);
	return 0;
}

static bool denies(uint32_t action)
{
	return action != SCMP_ACT_ALLOW && action != SCMP_ACT_LOG;
}

/* Architectures this process can actually run; rules for others would only
 * grow the filter. */
static bool arch_related(uint32_t native, uint32_t a)
{
	if (a == native)
		return true;
	if (native == SCMP_ARCH_X86_64)
		return a == SCMP_ARCH_X86 || a == SCMP_ARCH_X32;
	if (native == SCMP_ARCH_AARCH64)
		return a == SCMP_ARCH_ARM;
	return false;
}

static int add_arch(struct sc_ctx *c, const struct shunt_json *n, struct shunt_error **err)
{
	uint32_t a = seccomp_arch_resolve_name(n->str);
	if (a == 0)
		return 0; /* unknown to this libseccomp: skip like Docker */
	if (!arch_related(c->native, a))
		return 0;
	int r = seccomp_arch_add(c->f, a);
	if (r < 0 && r != -EEXIST)
		return at(c, n, err, "architecture %s: %s", n->str, strerror(-r));
	return 0;
}

static int parse_arches(struct sc_ctx *c, const struct shunt_json *root, struct shunt_error **err)
{
	const struct shunt_json *archs = shunt_json_get(root, "architectures");
	const struct shunt_json *map = shunt_json_get(root, "archMap");
	if (archs) {
		if (want_strv(c, archs, "architectures", err) < 0)
			return -1;
		for (size_t i = 0; i < archs->len; i++)
			if (add_arch(c, archs->items[i], err) < 0)
				return -1;
	}
	if (!map)
		return 0;
	if (want_type(c, map, SHUNT_JSON_ARRAY, "archMap", err) < 0)
		return -1;
	static const char *const keys[] = {"architecture", "subArchitectures", NULL};
	for (size_t i = 0; i < map->len; i++) {
		const struct shunt_json *e = map->items[i];
		if (check_object(c, e, "archMap entry", keys, err) < 0)
			return -1;
		const struct shunt_json *a = shunt_json_get(e, "architecture");
		const struct shunt_json *subs = shunt_json_get(e, "subArchitectures");
		if (!a)
			return at(c, e, err, "archMap entry needs 'architecture'");
		if (want_type(c, a, SHUNT_JSON_STRING, "architecture", err) < 0)
			return -1;
		if (subs && want_strv(c, subs, "subArchitectures", err) < 0)
			return -1;
		/* Only the entry for the architecture we run on applies. */
		if (seccomp_arch_resolve_name(a->str) != c->native)
			continue;
		if (add_arch(c, a, err) < 0)
			return -1;
		for (size_t k = 0; subs && k < subs->len; k++)
			if (add_arch(c, subs->items[k], err) < 0)
				return -1;
	}
	return 0;
}

static int kernel_at_least(const char *want)
{
	struct utsname u;
	unsigned wa = 0, wb = 0, ha = 0, hb = 0;
	if (sscanf(want, "%u.%u", &wa, &wb) < 1)
		return -1;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &ha, &hb) < 1)
		return 1;
	return ha > wa || (ha == wa && hb >= wb);
}

/* Evaluates includes/excludes: 1 = rule applies, 0 = skip it. */
static int filter_applies(struct sc_ctx *c, const struct shunt_json *sc, uint32_t action,
			  struct shunt_error **err)
{
	static const char *const keys[] = {"caps", "arches", "minKernel", NULL};
	const struct shunt_json *inc = shunt_json_get(sc, "includes");
	const struct shunt_json *exc = shunt_json_get(sc, "excludes");
	int applies = 1;
	for (int pass = 0; pass < 2; pass++) {
		const struct shunt_json *o = pass == 0 ? inc : exc;
		const char *what = pass == 0 ? "includes" : "excludes";
		if (!o)
			continue;
		if (check_object(c, o, what, keys, err) < 0)
			return -1;
		const struct shunt_json *caps = shunt_json_get(o, "caps");
		const struct shunt_json *arches = shunt_json_get(o, "arches");
		const struct shunt_json *mk = shunt_json_get(o, "minKernel");
		if (caps && want_strv(c, caps, "caps", err) < 0)
			return -1;
		if (arches && want_strv(c, arches, "arches", err) < 0)
			return -1;
		if (mk && want_type(c, mk, SHUNT_JSON_STRING, "minKernel", err) < 0)
			return -1;
		bool arch_match = false;
		for (size_t i = 0; arches && i < arches->len; i++) {
			/* Docker spells these "amd64", "x86"...; also accept SCMP names. */
			const char *a = arches->items[i]->str;
			uint32_t v = seccomp_arch_resolve_name(a);
			if (v == 0 && strcmp(a, "amd64") == 0)
				v = SCMP_ARCH_X86_64;
			if (v == 0 && strcmp(a, "arm64") == 0)
				v = SCMP_ARCH_AARCH64;
			if (v == c->native)
				arch_match = true;
		}
		int kv = mk ? kernel_at_least(mk->str) : 1;
		if (kv < 0)
			return at(c, mk, err, "minKernel '%s' is not a kernel version", mk->str);
		if (pass == 0) {
			/* We hold no capabilities: a cap-gated allow is not ours,
			 * but a cap-gated denial is kept (conservative). */
			if (caps && caps->len && !denies(action))
				applies = 0;
			if (arches && arches->len && !arch_match)
				applies = 0;
			if (!kv)
				applies = 0;
		} else {
			if (arches && arches->len && arch_match)
				applies = 0;
			if (mk && kv)
				applies = 0;
		}
	}
	return applies;
}

static int parse_op(struct sc_ctx *c, const struct shunt_json *n, enum scmp_compare *op,
		    struct shunt_error **err)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
	    {"SCMP_CMP_NE", SCMP_CMP_NE},
	    {"SCMP_CMP_LT", SCMP_CMP_LT},
	    {"SCMP_CMP_LE", SCMP_CMP_LE},
	    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
	    {"SCMP_CMP_GE", SCMP_CMP_GE},
	    {"SCMP_CMP_GT", SCMP_CMP_GT},
	    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
	};
	if (want_type(c, n, SHUNT_JSON_STRING, "op", err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(n->str, ops[i].name) == 0) {
			*op = ops[i].op;
			return 0;
		}
	return at(c, n, err, "unknown op '%s'", n->str);
}

static int parse_args(struct sc_ctx *c, const struct shunt_json *args, struct scmp_arg_cmp *cmp,
		      size_t *n, struct shunt_error **err)
{
	static const char *const keys[] = {"index", "value", "valueTwo", "op", NULL};
	*n = 0;
	if (!args || args->type == SHUNT_JSON_NULL)
		return 0;
	if (want_type(c, args, SHUNT_JSON_ARRAY, "args", err) < 0)
		return -1;
	if (args->len > 6)
		return at(c, args, err, "at most 6 args conditions are supported");
	for (size_t i = 0; i < args->len; i++) {
		const struct shunt_json *a = args->items[i];
		const struct shunt_json *idx, *val, *val2, *op;
		uint64_t index = 0, v = 0, v2 = 0;
		if (check_object(c, a, "args entry", keys, err) < 0)
			return -1;
		idx = shunt_json_get(a, "index");
		val = shunt_json_get(a, "value");
		val2 = shunt_json_get(a, "valueTwo");
		op = shunt_json_get(a, "op");
		if (!idx || !val || !op)
			return at(c, a, err, "args entry needs 'index', 'value' and 'op'");
		if (want_uint(c, idx, 5, "index", &index, err) < 0 ||
		    want_uint(c, val, UINT64_MAX, "value", &v, err) < 0)
			return -1;
		if (val2 && want_uint(c, val2, UINT64_MAX, "valueTwo", &v2, err) < 0)
			return -1;
		cmp[i].arg = (unsigned)index;
		if (parse_op(c, op, &cmp[i].op, err) < 0)
			return -1;
		cmp[i].datum_a = v;
		cmp[i].datum_b = v2;
	}
	*n = args->len;
	return 0;
}

static int add_rule(struct sc_ctx *c, const struct shunt_json *where, const char *sys,
		    uint32_t action, const struct scmp_arg_cmp *cmp, size_t ncmp,
		    struct shunt_error **err)
{
	int nr = seccomp_syscall_resolve_name(sys);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a syscall on this architecture: skip like Docker */
	/* Conditions on the same argument cannot be ANDed by libseccomp; like
	 * runc, such a list means "any of them" and becomes one rule each. */
	bool repeated = false;
	for (size_t i = 0; i < ncmp; i++)
		for (size_t k = i + 1; k < ncmp; k++)
			if (cmp[i].arg == cmp[k].arg)
				repeated = true;
	int r;
	if (repeated) {
		for (size_t i = 0; i < ncmp; i++) {
			r = seccomp_rule_add_array(c->f, action, nr, 1, &cmp[i]);
			if (r < 0)
				goto fail;
		}
		return 0;
	}
	r = seccomp_rule_add_array(c->f, action, nr, (unsigned)ncmp, ncmp ? cmp : NULL);
	if (r >= 0)
		return 0;
fail:
	return at(c, where, err, "syscall '%s': cannot add rule: %s", sys, strerror(-r));
}

static int parse_syscall(struct sc_ctx *c, const struct shunt_json *sc, struct shunt_error **err)
{
	static const char *const keys[] = {"names",   "name",	  "action",   "errnoRet", "args",
					   "comment", "includes", "excludes", NULL};
	struct scmp_arg_cmp cmp[6];
	size_t ncmp = 0;
	uint32_t action;
	if (check_object(c, sc, "syscalls entry", keys, err) < 0)
		return -1;
	const struct shunt_json *names = shunt_json_get(sc, "names");
	const struct shunt_json *name = shunt_json_get(sc, "name");
	const struct shunt_json *act = shunt_json_get(sc, "action");
	const struct shunt_json *comment = shunt_json_get(sc, "comment");
	if (!act)
		return at(c, sc, err, "syscalls entry needs 'action'");
	if (!names && !name)
		return at(c, sc, err, "syscalls entry needs 'names' or 'name'");
	if (names && want_strv(c, names, "names", err) < 0)
		return -1;
	if (name && want_type(c, name, SHUNT_JSON_STRING, "name", err) < 0)
		return -1;
	if (comment && want_type(c, comment, SHUNT_JSON_STRING, "comment", err) < 0)
		return -1;
	if (parse_action(c, act, shunt_json_get(sc, "errnoRet"), EPERM, &action, err) < 0)
		return -1;
	if (parse_args(c, shunt_json_get(sc, "args"), cmp, &ncmp, err) < 0)
		return -1;
	int applies = filter_applies(c, sc, action, err);
	if (applies <= 0)
		return applies;
	if (action == c->def_action)
		return 0; /* libseccomp refuses rules equal to the default */
	if (name && add_rule(c, name, name->str, action, cmp, ncmp, err) < 0)
		return -1;
	for (size_t i = 0; names && i < names->len; i++)
		if (add_rule(c, names->items[i], names->items[i]->str, action, cmp, ncmp, err) < 0)
			return -1;
	return 0;
}

static int parse_flags(struct sc_ctx *c, const struct shunt_json *flags, struct shunt_error **err)
{
	if (!flags)
		return 0;
	if (want_strv(c, flags, "flags", err) < 0)
		return -1;
	for (size_t i = 0; i < flags->len; i++) {
		const char *s = flags->items[i]->str;
		if (strcmp(s, "SECCOMP_FILTER_FLAG_LOG") == 0)
			seccomp_attr_set(c->f, SCMP_FLTATR_CTL_LOG, 1);
		else if (strcmp(s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
			seccomp_attr_set(c->f, SCMP_FLTATR_CTL_SSB, 1);
		else if (strcmp(s, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
			seccomp_attr_set(c->f, SCMP_FLTATR_CTL_TSYNC, 1);
		else
			return at(c, flags->items[i], err, "unknown flag '%s'", s);
	}
	return 0;
}

static int compile_json(struct sc_ctx *c, const struct shunt_json *root, struct shunt_error **err)
{
	static const char *const keys[] = {"defaultAction", "defaultErrnoRet",	"architectures",
					   "archMap",	    "syscalls",		"flags",
					   "listenerPath",  "listenerMetadata", NULL};
	uint64_t e = EPERM;
	if (check_object(c, root, "the profile", keys, err) < 0)
		return -1;
	const struct shunt_json *da = shunt_json_get(root, "defaultAction");
	const struct shunt_json *de = shunt_json_get(root, "defaultErrnoRet");
	const struct shunt_json *sys = shunt_json_get(root, "syscalls");
	if (!da)
		return at(c, root, err, "the profile needs 'defaultAction'");
	if (de && want_uint(c, de, 4095, "defaultErrnoRet", &e, err) < 0)
		return -1;
	c->def_errno = (int)e;
	if (parse_action(c, da, de, c->def_errno, &c->def_action, err) < 0)
		return -1;
	c->f = seccomp_init(c->def_action);
	if (!c->f)
		return shunt_error_set(err, ENOMEM, "%s: seccomp_init failed", c->name);
	if (parse_flags(c, shunt_json_get(root, "flags"), err) < 0)
		return -1;
	if (parse_arches(c, root, err) < 0)
		return -1;
	if (!sys)
		return 0;
	if (want_type(c, sys, SHUNT_JSON_ARRAY, "syscalls", err) < 0)
		return -1;
	for (size_t i = 0; i < sys->len; i++)
		if (parse_syscall(c, sys->items[i], err) < 0)
			return -1;
	return 0;
}

const char *shunt_seccomp_builtin_name(enum shunt_profile profile)
{
	switch (profile) {
	case SHUNT_PROFILE_READ_ONLY:
		return "read_only.json";
	case SHUNT_PROFILE_WORKSPACE_WRITE:
		return "workspace_write.json";
	case SHUNT_PROFILE_SYSTEM_WRITE:
	case SHUNT_PROFILE_GODMODE:
		return "system_write.json";
	default:
		return "default.json";
	}
}

const char *shunt_seccomp_builtin(const char *name, size_t *len)
{
	for (size_t i = 0; i < shunt_embedded_security_count; i++)
		if (shunt_embedded_security[i].name &&
		    strcmp(shunt_embedded_security[i].name, name) == 0) {
			if (len)
				*len = shunt_embedded_security[i].len;
			return shunt_embedded_security[i].data;
		}
	return NULL;
}

/* Parses and compiles into *out (caller releases it). */
static int compile(const char *path, enum shunt_profile profile, scmp_filter_ctx *out,
		   struct shunt_error **err)
{
	_cleanup_free_ char *owned = NULL;
	const char *text;
	size_t len = 0;
	struct sc_ctx c = {0};
	int r;

	*out = NULL;
	c.native = seccomp_arch_native();
	if (path) {
		if (shunt_fs_read(path, PROFILE_MAX, &owned, &len, err) < 0)
			return shunt_error_prefix(err, "seccomp profile");
		text = owned;
		c.name = path;
	} else {
		c.name = shunt_seccomp_builtin_name(profile);
		text = shunt_seccomp_builtin(c.name, &len);
		if (!text)
			return shunt_error_set(
			    err, ENOENT, "built-in seccomp profile %s is missing from this build",
			    c.name);
	}
	struct shunt_json *root = shunt_json_parse(c.name, text, len, err);
	if (!root)
		return shunt_error_prefix(err, "seccomp profile");
	r = compile_json(&c, root, err);
	shunt_json_free(root);
	if (r < 0) {
		if (c.f)
			seccomp_release(c.f);
		return -1;
	}
	*out = c.f;
	return 0;
}

int shunt_seccomp_check(const char *profile_path, enum shunt_profile profile,
			struct shunt_error **err)
{
	scmp_filter_ctx f;
	if (compile(profile_path, profile, &f, err) < 0)
		return -1;
	/* Generating the BPF catches what only the compiler sees (size). */
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int r = fd >= 0 ? seccomp_export_bpf(f, fd) : 0;
	if (fd >= 0)
		close(fd);
	seccomp_release(f);
	if (r < 0)
		return shunt_error_sys(err, -r, "compiling seccomp profile %s",
				       profile_path ? profile_path
						    : shunt_seccomp_builtin_name(profile));
	return 0;
}

int shunt_seccomp_apply(const char *profile_path, enum shunt_profile profile,
			struct shunt_error **err)
{
	scmp_filter_ctx f;
	if (compile(profile_path, profile, &f, err) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;
		seccomp_release(f);
		return shunt_error_sys(err, e, "prctl(PR_SET_NO_NEW_PRIVS)");
	}
	int r = seccomp_load(f);
	seccomp_release(f);
	if (r < 0)
		return shunt_error_sys(err, -r, "loading seccomp profile %s",
				       profile_path ? profile_path
						    : shunt_seccomp_builtin_name(profile));
	return 0;
}
