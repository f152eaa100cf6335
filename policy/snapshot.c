/* Policy snapshot: writer (cli, mallocs freely) and loader (shim: no
 * malloc, no locks, no stdio). */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "paths.h"

_Static_assert(sizeof(struct shunt_snap_header) == 256, "snapshot header must be 256 bytes");
_Static_assert(sizeof(struct shunt_snap_rule) == 80, "snapshot rule record layout");
_Static_assert(sizeof(struct shunt_snap_trust) == 88, "snapshot trust record layout");

/* ---- checksum ---- */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static void lanes(uint64_t h[4], const unsigned char *p, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	/* four independent lanes keep the multiplier busy */
	for (size_t i = 0; i + 32 <= n; i += 32) {
		for (int l = 0; l < 4; l++) {
			uint64_t w;
			memcpy(&w, p + i + 8 * l, 8);
			h[l] = (h[l] ^ w) * k;
			h[l] ^= h[l] >> 29;
		}
	}
}

/* Hash of a followed by b; na must be a multiple of 32. */
static uint64_t hash_two(const void *a, size_t na, const void *b, size_t nb)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t h[4] = {k, k ^ 1, k ^ 2, k ^ 3};
	lanes(h, a, na);
	lanes(h, b, nb);
	const unsigned char *p = b;
	uint64_t t = 0;
	for (size_t i = nb - nb % 32, j = 0; i < nb; i++, j++)
		t ^= (uint64_t)p[i] << (8 * (j % 8)) ^ ((uint64_t)j << 56);
	uint64_t r = mix(h[0]) ^ (mix(h[1]) * 3) ^ (mix(h[2]) * 5) ^ (mix(h[3]) * 7);
	return mix(r ^ mix(t ^ (na + nb)));
}

uint64_t shunt_snapshot_hash(const void *data, size_t n)
{
	return hash_two(NULL, 0, data, n);
}

/* ---- writer ---- */

struct bytes {
	char *p;
	size_t n, cap;
};

static int bytes_reserve(struct bytes *b, size_t extra)
{
	if (b->n + extra <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->n + extra)
		cap *= 2;
	char *np = realloc(b->p, cap);
	if (!np)
		return -1;
	b->p = np;
	b->cap = cap;
	return 0;
}

static int bytes_append(struct bytes *b, const void *data, size_t n)
{
	if (bytes_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->n, data, n);
	b->n += n;
	return 0;
}

/* Appends s (NUL included) to the string table; returns its offset. */
static int str_add(struct bytes *st, const char *s, uint32_t *off)
{
	if (!s) {
		*off = SHUNT_SNAP_NONE;
		return 0;
	}
	if (st->n > UINT32_MAX - 4096)
		return -1;
	*off = (uint32_t)st->n;
	return bytes_append(st, s, strlen(s) + 1);
}

static void pcre2_version_string(char out[32])
{
	memset(out, 0, 32);
	char v[64] = "";
	pcre2_config(PCRE2_CONFIG_VERSION, v);
	v[sizeof(v) - 1] = '\0';
	size_t n = strlen(v);
	memcpy(out, v, n < 31 ? n : 31);
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int shunt_snapshot_encode(const struct shunt_policy *p, void **out, size_t *len,
			  struct shunt_error **err)
{
	struct bytes st = {0};
	_cleanup_free_ uint32_t *allow = calloc(p->nallowlist + 1, sizeof(uint32_t));
	_cleanup_free_ uint32_t *deny = calloc(p->ndenylist + 1, sizeof(uint32_t));
	_cleanup_free_ struct shunt_snap_rule *rules = calloc(p->nrules + 1, sizeof(*rules));
	_cleanup_free_ struct shunt_snap_trust *trust = calloc(p->ntrust + 1, sizeof(*trust));
	_cleanup_free_ const pcre2_code **codes = calloc(2 * p->nrules + 1, sizeof(*codes));
	size_t nprog = 0;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct shunt_rule_cmd *c = &p->rules[i].cmd;
		nprog += p->rules[i].nprograms + c->nsub + c->nany + c->nall + c->nnone;
	}
	_cleanup_free_ uint32_t *programs = calloc(nprog + 1, sizeof(uint32_t));
	uint8_t *regex = NULL;
	PCRE2_SIZE regex_size = 0;
	int rc = -1;
	if (!allow || !deny || !rules || !trust || !codes || !programs)
		goto oom;
	if (bytes_append(&st, "", 1) < 0) /* offset 0 = empty string */
		goto oom;
	for (size_t i = 0; i < p->nallowlist; i++)
		if (str_add(&st, p->allowlist[i], &allow[i]) < 0)
			goto oom;
	for (size_t i = 0; i < p->ndenylist; i++)
		if (str_add(&st, p->denylist[i], &deny[i]) < 0)
			goto oom;
	size_t ncodes = 0, pi = 0;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct shunt_rule *r = &p->rules[i];
		struct shunt_snap_rule *sr = &rules[i];
		if (str_add(&st, r->id ? r->id : "", &sr->id) < 0 ||
		    str_add(&st, r->description ? r->description : "", &sr->description) < 0 ||
		    str_add(&st, r->pattern ? r->pattern : "", &sr->pattern) < 0)
			goto oom;
		sr->regex = SHUNT_SNAP_NONE;
		if (r->re) {
			sr->regex = (uint32_t)ncodes;
			codes[ncodes++] = r->re;
		}
		sr->programs = (uint32_t)pi;
		sr->nprograms = (uint32_t)r->nprograms;
		for (size_t k = 0; k < r->nprograms; k++)
			if (str_add(&st, r->programs[k], &programs[pi++]) < 0)
				goto oom;
		sr->risk = (int32_t)r->risk;
		sr->profile = r->profile;
		sr->action = r->action;
		sr->scope = (int32_t)r->scope;
		if (str_add(&st, r->unless_installed, &sr->unless_installed) < 0)
			goto oom;
		sr->effect = (int32_t)r->effect;
		const struct shunt_rule_cmd *c = &r->cmd;
		sr->cmd_flags = (c->present ? 1u : 0u) | (c->unless_readonly ? 2u : 0u);
		sr->cmd_strs = (uint32_t)pi;
		sr->nsub = (uint32_t)c->nsub;
		sr->nany = (uint32_t)c->nany;
		sr->nall = (uint32_t)c->nall;
		sr->nnone = (uint32_t)c->nnone;
		char **const lists[] = {c->sub, c->any, c->all, c->none};
		const size_t counts[] = {c->nsub, c->nany, c->nall, c->nnone};
		for (size_t l = 0; l < 4; l++)
			for (size_t k = 0; k < counts[l]; k++)
				if (str_add(&st, lists[l][k], &programs[pi++]) < 0)
					goto oom;
		if (str_add(&st, c->operands, &sr->operands) < 0)
			goto oom;
		sr->operands_regex = SHUNT_SNAP_NONE;
		if (c->operands_re) {
			sr->operands_regex = (uint32_t)ncodes;
			codes[ncodes++] = c->operands_re;
		}
	}
	for (size_t i = 0; i < p->ntrust; i++) {
		const struct shunt_trust_ref *t = &p->trust[i];
		struct shunt_snap_trust *s = &trust[i];
		memcpy(s->key, t->key, 32);
		s->scope = t->scope;
		if (str_add(&st, t->exe, &s->exe) < 0)
			goto oom;
		s->expires = t->expires;
		s->dev = t->dev;
		s->ino = t->ino;
		s->size = t->size;
		s->mtime_ns = t->mtime_ns;
		s->ctime_ns = t->ctime_ns;
	}
	/* the decider binary-searches trust refs: keep them sorted */
	for (size_t i = 1; i < p->ntrust; i++)
		for (size_t j = i; j > 0 && memcmp(trust[j - 1].key, trust[j].key, 32) > 0; j--) {
			struct shunt_snap_trust tmp = trust[j];
			trust[j] = trust[j - 1];
			trust[j - 1] = tmp;
		}
	if (ncodes) {
		int32_t n =
		    pcre2_serialize_encode(codes, (int32_t)ncodes, &regex, &regex_size, NULL);
		if (n < 0) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(n, msg, sizeof(msg));
			shunt_error_set(err, EINVAL, "serialising rule regexes: %s", (char *)msg);
			goto out;
		}
	}

	struct shunt_snap_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SHUNT_SNAP_MAGIC, 8);
	h.version = SHUNT_SNAP_VERSION;
	h.header_size = sizeof(h);
	pcre2_version_string(h.pcre2_version);
	h.mode = p->mode;
	h.level = p->level;
	h.non_interactive = p->non_interactive;
	h.on_error = p->on_error;
	h.runtime = p->runtime;
	for (int i = 0; i < 4; i++)
		h.profile_runtime[i] = p->profile_runtime[i];
	h.gvisor_available = p->gvisor_available;
	h.nallow = (uint32_t)p->nallowlist;
	h.ndeny = (uint32_t)p->ndenylist;
	h.nrules = (uint32_t)p->nrules;
	h.nprograms = (uint32_t)nprog;
	h.ntrust = (uint32_t)p->ntrust;
	h.nregex = (uint32_t)ncodes;
	size_t off = sizeof(h);
	h.off_allow = off;
	off += p->nallowlist * 4;
	h.off_deny = off;
	off += p->ndenylist * 4;
	h.off_rules = off;
	off += p->nrules * sizeof(struct shunt_snap_rule);
	h.off_programs = off;
	off += nprog * 4;
	off = align8(off);
	h.off_trust = off;
	off += p->ntrust * sizeof(struct shunt_snap_trust);
	off = align8(off);
	h.off_regex = off;
	h.regex_size = regex_size;
	off = align8(off + regex_size);
	h.off_strings = off;
	h.strings_size = st.n;
	off += st.n;
	h.total_size = off;
	if (off > SHUNT_SNAP_MAX_SIZE) {
		shunt_error_set(err, EFBIG, "policy snapshot would be %zu bytes (limit %u)", off,
				SHUNT_SNAP_MAX_SIZE);
		goto out;
	}

	char *buf = calloc(1, off);
	if (!buf)
		goto oom;
	memcpy(buf + h.off_allow, allow, p->nallowlist * 4);
	memcpy(buf + h.off_deny, deny, p->ndenylist * 4);
	memcpy(buf + h.off_rules, rules, p->nrules * sizeof(struct shunt_snap_rule));
	memcpy(buf + h.off_programs, programs, nprog * 4);
	memcpy(buf + h.off_trust, trust, p->ntrust * sizeof(struct shunt_snap_trust));
	if (regex_size)
		memcpy(buf + h.off_regex, regex, regex_size);
	memcpy(buf + h.off_strings, st.p, st.n);
	memcpy(buf, &h, sizeof(h)); /* checksum still zero */
	h.checksum = shunt_snapshot_hash(buf, off);
	memcpy(buf, &h, sizeof(h));
	*out = buf;
	*len = off;
	rc = 0;
	goto out;
oom:
	shunt_error_set(err, ENOMEM, "out of memory building the policy snapshot");
out:
	if (regex)
		pcre2_serialize_free(regex);
	free(st.p);
	return rc;
}

int shunt_snapshot_write(const struct shunt_policy *p, const char *path, struct shunt_error **err)
{
	return shunt_snapshot_write_stamped(p, path, 0, err);
}

int shunt_snapshot_write_stamped(const struct shunt_policy *p, const char *path, uint64_t inputs,
				 struct shunt_error **err)
{
	_cleanup_free_ void *data = NULL;
	size_t len = 0;
	if (shunt_snapshot_encode(p, &data, &len, err) < 0)
		return -1;
	if (inputs) {
		struct shunt_snap_header h;
		memcpy(&h, data, sizeof(h));
		h.inputs = inputs;
		h.checksum = 0;
		memcpy(data, &h, sizeof(h));
		h.checksum = shunt_snapshot_hash(data, len);
		memcpy(data, &h, sizeof(h));
	}
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return shunt_error_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (shunt_fs_mkdirs(dir, 0700, err) < 0)
			return shunt_error_prefix(err, "writing policy snapshot: ");
	}
	if (shunt_fs_write_atomic(path, data, len, 0600, err) < 0)
		return shunt_error_prefix(err, "writing policy snapshot %s: ", path);
	return 0;
}

/* ---- loader: no malloc from here on ---- */

struct region {
	char *base;
	size_t size, used;
};

static void *region_alloc(struct region *r, size_t n)
{
	size_t at = (r->used + 15) & ~(size_t)15;
	if (at > r->size || n > r->size - at)
		return NULL;
	r->used = at + n;
	return r->base + at;
}

static void *pcre2_region_malloc(size_t n, void *data)
{
	return region_alloc(data, n);
}

static void pcre2_region_free(void *p, void *data)
{
	/* bump region: freed with the whole snapshot */
	(void)p;
	(void)data;
}

/* off + n*size lies inside [lo, len) without overflow. */
static bool range_ok(uint64_t off, uint64_t n, uint64_t size, uint64_t lo, uint64_t len)
{
	if (off < lo || off > len)
		return false;
	if (size && n > (len - off) / size)
		return false;
	return true;
}

static bool str_ok(uint32_t off, uint64_t strings_size)
{
	return off < strings_size;
}

static bool enum_ok(uint32_t v, uint32_t count)
{
	return v < count;
}

/* The hash is defined over the whole file with the field zeroed; the
 * body is hashed in place, only the header is copied (it is 256 bytes,
 * a multiple of the 32-byte stride, so lanes line up). */
static bool checksum_ok(const struct shunt_snap_header *h, const uint8_t *data, size_t len)
{
	_Static_assert(sizeof(struct shunt_snap_header) % 32 == 0,
		       "header must keep hash lanes aligned");
	struct shunt_snap_header copy;
	memcpy(&copy, h, sizeof(copy));
	copy.checksum = 0;
	return hash_two(&copy, sizeof(copy), data + sizeof(copy), len - sizeof(copy)) ==
	       h->checksum;
}

static int validate_header(const struct shunt_snap_header *h, const uint8_t *data, size_t len,
			   bool verify)
{
	if (len < sizeof(*h))
		return memcmp(data, SHUNT_SNAP_MAGIC, len < 8 ? len : 8) == 0 ? -EBADMSG : -EPROTO;
	if (memcmp(h->magic, SHUNT_SNAP_MAGIC, 8) != 0)
		return -EPROTO;
	if (h->version != SHUNT_SNAP_VERSION || h->header_size != sizeof(*h))
		return -EPROTO;
	if (h->total_size != len)
		return -EBADMSG;
	char v[32];
	pcre2_version_string(v);
	if (memcmp(v, h->pcre2_version, 32) != 0)
		return -EPROTO;
	/* checksum over the file with the checksum field zeroed: hash a
	 * stack copy of the header followed by the body, in one pass */
	if (len > SHUNT_SNAP_MAX_SIZE)
		return -EBADMSG;
	if (verify && !checksum_ok(h, data, len))
		return -EBADMSG;
	/* checksummed, but still never trust an offset */
	uint64_t lo = sizeof(*h);
	if (!range_ok(h->off_allow, h->nallow, 4, lo, len) ||
	    !range_ok(h->off_deny, h->ndeny, 4, lo, len) ||
	    !range_ok(h->off_rules, h->nrules, sizeof(struct shunt_snap_rule), lo, len) ||
	    !range_ok(h->off_programs, h->nprograms, 4, lo, len) ||
	    !range_ok(h->off_trust, h->ntrust, sizeof(struct shunt_snap_trust), lo, len) ||
	    !range_ok(h->off_regex, h->regex_size, 1, lo, len) ||
	    !range_ok(h->off_strings, h->strings_size, 1, lo, len))
		return -EBADMSG;
	if ((h->off_allow | h->off_deny | h->off_rules | h->off_programs) & 3 || (h->off_trust & 7))
		return -EBADMSG;
	if (h->strings_size == 0 || data[h->off_strings + h->strings_size - 1] != '\0')
		return -EBADMSG;
	if (!enum_ok(h->mode, 4) || !enum_ok(h->level, 4) || !enum_ok(h->non_interactive, 2) ||
	    !enum_ok(h->on_error, 2) || !enum_ok(h->runtime, SHUNT_RUNTIME_NONE + 1) ||
	    h->gvisor_available > 1)
		return -EBADMSG;
	for (int i = 0; i < 4; i++)
		if (!enum_ok(h->profile_runtime[i], SHUNT_RUNTIME_NONE + 1))
			return -EBADMSG;
	if ((h->nregex == 0) != (h->regex_size == 0) || h->nregex > 2 * (uint64_t)h->nrules)
		return -EBADMSG;
	return 0;
}

/* The region is read-only once built. Shared, not private: fork copies
 * no page tables of a shared mapping, and a shell that loaded the shim
 * core forks for every command; a child that needs the policy faults in
 * what it reads. */
static void *region_map(size_t n)
{
	return mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

#define REGION_PAGE 4096

/* Bytes of region the arrays and decoded codes of h take, in pages. The
 * counts are 32-bit: no overflow in 64-bit arithmetic. */
static size_t region_need(const struct shunt_snap_header *h)
{
	size_t n = 4096 + ((size_t)h->nallow + h->ndeny + h->nprograms) * sizeof(char *) + 16 * 4 +
		   (size_t)h->nrules * sizeof(struct shunt_rule) +
		   (size_t)h->ntrust * sizeof(struct shunt_trust_ref) + (size_t)h->nregex * 64 +
		   h->regex_size + 8192;
	return (n + REGION_PAGE - 1) & ~(size_t)(REGION_PAGE - 1);
}

/* Decodes the snapshot at data (len bytes) into out. base, when not NULL,
 * is a region of total bytes whose first skip bytes hold data (the file
 * read in by shunt_snapshot_load: one mapping for both); otherwise one is
 * mapped here. */
static int build(const uint8_t *data, size_t len, bool verify, void *base, size_t skip,
		 size_t total, struct shunt_snapshot *out)
{
	const struct shunt_snap_header *h = (const void *)data;
	int rc = ((uintptr_t)data & 7) != 0 ? -EINVAL : validate_header(h, data, len, verify);
	if (rc == 0 && base && skip + region_need(h) > total)
		rc = -EBADMSG; /* not the header the region was sized from */
	if (rc < 0) {
		if (base)
			munmap(base, total);
		return rc;
	}
	if (!base) {
		skip = 0;
		total = region_need(h);
		base = region_map(total);
		if (base == MAP_FAILED)
			return -ENOMEM;
	}
	const char *strings = (const char *)data + h->off_strings;
	const uint32_t *allow = (const void *)(data + h->off_allow);
	const uint32_t *deny = (const void *)(data + h->off_deny);
	const struct shunt_snap_rule *srules = (const void *)(data + h->off_rules);
	const uint32_t *programs = (const void *)(data + h->off_programs);
	const struct shunt_snap_trust *strust = (const void *)(data + h->off_trust);

	struct region reg = {(char *)base + skip, total - skip, 0};
	rc = -EBADMSG;

	const char **al = region_alloc(&reg, (h->nallow + 1) * sizeof(char *));
	const char **dl = region_alloc(&reg, (h->ndeny + 1) * sizeof(char *));
	char **pl = region_alloc(&reg, (h->nprograms + 1) * sizeof(char *));
	struct shunt_rule *rules = region_alloc(&reg, (h->nrules + 1) * sizeof(struct shunt_rule));
	struct shunt_trust_ref *trust =
	    region_alloc(&reg, (h->ntrust + 1) * sizeof(struct shunt_trust_ref));
	pcre2_code **codes = region_alloc(&reg, (h->nregex + 1) * sizeof(pcre2_code *));
	if (!al || !dl || !pl || !rules || !trust || !codes) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < h->nallow; i++) {
		if (!str_ok(allow[i], h->strings_size))
			goto fail;
		al[i] = strings + allow[i];
	}
	for (uint32_t i = 0; i < h->ndeny; i++) {
		if (!str_ok(deny[i], h->strings_size))
			goto fail;
		dl[i] = strings + deny[i];
	}
	for (uint32_t i = 0; i < h->nprograms; i++) {
		if (!str_ok(programs[i], h->strings_size))
			goto fail;
		pl[i] = (char *)strings + programs[i];
	}
	if (h->nregex) {
		const uint8_t *blob = data + h->off_regex;
		if (pcre2_serialize_get_number_of_codes(blob) != (int32_t)h->nregex)
			goto fail;
		pcre2_general_context *gc =
		    pcre2_general_context_create(pcre2_region_malloc, pcre2_region_free, &reg);
		if (!gc) {
			rc = -ENOMEM;
			goto fail;
		}
		int32_t n = pcre2_serialize_decode(codes, (int32_t)h->nregex, blob, gc);
		if (n == PCRE2_ERROR_NOMEMORY) {
			rc = -ENOMEM;
			goto fail;
		}
		if (n != (int32_t)h->nregex)
			goto fail;
	}
	for (uint32_t i = 0; i < h->nrules; i++) {
		const struct shunt_snap_rule *s = &srules[i];
		struct shunt_rule *r = &rules[i];
		if (!str_ok(s->id, h->strings_size) || !str_ok(s->description, h->strings_size) ||
		    !str_ok(s->pattern, h->strings_size))
			goto fail;
		if (s->programs > h->nprograms || s->nprograms > h->nprograms - s->programs)
			goto fail;
		if (s->regex != SHUNT_SNAP_NONE && s->regex >= h->nregex)
			goto fail;
		if (s->risk < 0 || s->risk > SHUNT_RISK_CRITICAL || s->profile < -1 ||
		    s->profile > SHUNT_PROFILE_GODMODE || s->action < -1 ||
		    s->action > SHUNT_ACTION_BLOCK || s->scope < 0 || s->scope > SHUNT_SCOPE_INLINE ||
		    s->effect < 0 || s->effect > SHUNT_EFFECT_MAX || s->cmd_flags > 3)
			goto fail;
		uint64_t ncs = (uint64_t)s->nsub + s->nany + s->nall + s->nnone;
		if (s->cmd_strs > h->nprograms || ncs > h->nprograms - s->cmd_strs)
			goto fail;
		if (s->operands != SHUNT_SNAP_NONE && !str_ok(s->operands, h->strings_size))
			goto fail;
		if (s->operands_regex != SHUNT_SNAP_NONE && s->operands_regex >= h->nregex)
			goto fail;
		if (s->unless_installed != SHUNT_SNAP_NONE &&
		    !str_ok(s->unless_installed, h->strings_size))
			goto fail;
		r->id = (char *)strings + s->id;
		r->description = (char *)strings + s->description;
		r->pattern = (char *)strings + s->pattern;
		r->re = s->regex == SHUNT_SNAP_NONE ? NULL : codes[s->regex];
		r->programs = s->nprograms ? pl + s->programs : NULL;
		r->nprograms = s->nprograms;
		r->risk = (enum shunt_risk)s->risk;
		r->profile = s->profile;
		r->action = s->action;
		r->scope = (enum shunt_rule_scope)s->scope;
		r->effect = (enum shunt_rule_effect)s->effect;
		struct shunt_rule_cmd *c = &r->cmd;
		c->present = s->cmd_flags & 1u;
		c->unless_readonly = (s->cmd_flags & 2u) != 0;
		c->sub = pl + s->cmd_strs;
		c->nsub = s->nsub;
		c->any = c->sub + s->nsub;
		c->nany = s->nany;
		c->all = c->any + s->nany;
		c->nall = s->nall;
		c->none = c->all + s->nall;
		c->nnone = s->nnone;
		c->operands = s->operands == SHUNT_SNAP_NONE ? NULL : (char *)strings + s->operands;
		c->operands_re =
		    s->operands_regex == SHUNT_SNAP_NONE ? NULL : codes[s->operands_regex];
		r->unless_installed = s->unless_installed == SHUNT_SNAP_NONE
					  ? NULL
					  : (char *)strings + s->unless_installed;
	}
	for (uint32_t i = 0; i < h->ntrust; i++) {
		const struct shunt_snap_trust *s = &strust[i];
		struct shunt_trust_ref *t = &trust[i];
		if (s->exe != SHUNT_SNAP_NONE && !str_ok(s->exe, h->strings_size))
			goto fail;
		if (i && memcmp(strust[i - 1].key, s->key, 32) > 0)
			goto fail;
		memcpy(t->key, s->key, 32);
		t->scope = s->scope;
		t->expires = s->expires;
		t->dev = s->dev;
		t->ino = s->ino;
		t->size = s->size;
		t->mtime_ns = s->mtime_ns;
		t->ctime_ns = s->ctime_ns;
		t->exe = s->exe == SHUNT_SNAP_NONE ? NULL : strings + s->exe;
	}

	struct shunt_policy *p = &out->policy;
	memset(p, 0, sizeof(*p));
	p->mode = (enum shunt_mode)h->mode;
	p->level = (enum shunt_level)h->level;
	p->non_interactive = (enum shunt_noninteractive)h->non_interactive;
	p->on_error = (enum shunt_onerror)h->on_error;
	p->runtime = (enum shunt_runtime)h->runtime;
	for (int i = 0; i < 4; i++)
		p->profile_runtime[i] = (enum shunt_runtime)h->profile_runtime[i];
	p->gvisor_available = h->gvisor_available != 0;
	p->allowlist = al;
	p->nallowlist = h->nallow;
	p->denylist = dl;
	p->ndenylist = h->ndeny;
	p->rules = rules;
	p->nrules = h->nrules;
	p->trust = trust;
	p->ntrust = h->ntrust;
	/* nothing writes to it again: make stray writes fault */
	mprotect(base, total, PROT_READ);
	out->region = base;
	out->region_len = total;
	return 0;
fail:
	munmap(base, total);
	return rc;
}

int shunt_snapshot_load_mem(const void *data, size_t len, bool verify, struct shunt_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	return build(data, len, verify, NULL, 0, 0, out);
}

/* Reads the file into the front of a region sized from its header, then
 * decodes it there. */
static int load_fd(int fd, size_t len, struct shunt_snapshot *out)
{
	struct shunt_snap_header hd;
	if (pread(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd))
		return -EBADMSG;
	if (memcmp(hd.magic, SHUNT_SNAP_MAGIC, 8) != 0)
		return -EPROTO;
	if (hd.nregex > len || hd.regex_size > len)
		return -EBADMSG; /* before mapping what it asks for */
	size_t skip = (len + REGION_PAGE - 1) & ~(size_t)(REGION_PAGE - 1);
	size_t total = skip + region_need(&hd);
	void *base = region_map(total);
	if (base == MAP_FAILED)
		return -ENOMEM;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)base + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len) {
		munmap(base, total);
		return -EBADMSG;
	}
	return build(base, len, true, base, skip, total, out);
}

int shunt_snapshot_load(const char *path, struct shunt_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EBADMSG;
	}
	if (st.st_size < (off_t)sizeof(struct shunt_snap_header) ||
	    st.st_size > (off_t)SHUNT_SNAP_MAX_SIZE) {
		/* tell "not a snapshot" from "cut short" by the magic */
		char magic[8] = {0};
		ssize_t n = read(fd, magic, sizeof(magic));
		close(fd);
		if (n > 0 && memcmp(magic, SHUNT_SNAP_MAGIC, (size_t)n) == 0)
			return -EBADMSG;
		return n == 0 ? -EBADMSG : -EPROTO;
	}
	size_t len = (size_t)st.st_size;
	int rc = load_fd(fd, len, out);
	close(fd);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	out->size = (uint64_t)st.st_size;
	out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

void shunt_snapshot_unload(struct shunt_snapshot *s)
{
	if (!s)
		return;
	if (s->region)
		munmap(s->region, s->region_len);
	memset(s, 0, sizeof(*s));
}

const char *shunt_snapshot_strerror(int code)
{
	switch (code) {
	case 0:
		return "ok";
	case -ENOENT:
		return "no snapshot file";
	case -EBADMSG:
		return "snapshot is corrupt or truncated";
	case -EPROTO:
		return "not a snapshot of this shunt version (or PCRE2 version)";
	case -ENOMEM:
		return "out of memory loading the snapshot";
	case -EACCES:
		return "snapshot is not readable";
	default:
		return "snapshot cannot be read";
	}
}

char *shunt_snapshot_path(void)
{
	const char *env = getenv("SHUNT_SNAPSHOT");
	if (env && *env)
		return strdup(env);
	return shunt_paths_file(SHUNT_DIR_STATE, "policy.snap");
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The header says this build can read it (the full check is the shim's). */
static bool read_header(const char *path, struct shunt_snap_header *h)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, h, sizeof(*h));
	close(fd);
	if (n != (ssize_t)sizeof(*h))
		return false;
	char v[32];
	pcre2_version_string(v);
	return memcmp(h->magic, SHUNT_SNAP_MAGIC, 8) == 0 && h->version == SHUNT_SNAP_VERSION &&
	       memcmp(h->pcre2_version, v, 32) == 0;
}

static bool header_current(const char *path)
{
	struct shunt_snap_header h;
	return read_header(path, &h);
}

bool shunt_snapshot_inputs_match(const char *path, uint64_t inputs)
{
	struct shunt_snap_header h;
	return read_header(path, &h) && h.inputs == inputs;
}

int shunt_snapshot_refresh(const struct shunt_policy *p, const char *const *inputs, size_t ninputs,
			   struct shunt_error **err)
{
	_cleanup_free_ char *path = shunt_snapshot_path();
	if (!path)
		return shunt_error_set(err, ENOMEM, "out of memory");
	struct stat st;
	bool stale = stat(path, &st) < 0 || !header_current(path);
	for (size_t i = 0; !stale && i < ninputs; i++) {
		struct stat in;
		if (inputs[i] && stat(inputs[i], &in) == 0 &&
		    (mtime_ns(&in) >= mtime_ns(&st) ||
		     (int64_t)in.st_ctim.tv_sec * 1000000000 + in.st_ctim.tv_nsec >= mtime_ns(&st)))
			stale = true;
	}
	if (!stale)
		return 0;
	if (shunt_snapshot_write(p, path, err) < 0)
		return -1;
	return 1;
}
