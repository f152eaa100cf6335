/* Shared execution counters: a MAP_SHARED file updated with atomic adds.
 * With an explicit path everything here is raw syscalls (the shim calls it
 * between fork and exec): no stdio, no malloc, no locks except a brief
 * flock while (re)initialising a file with a bad header. */
#include "counters.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool header_ok(const struct shunt_counters *c)
{
	return __atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) == SHUNT_COUNTERS_MAGIC &&
	       __atomic_load_n(&c->version, __ATOMIC_RELAXED) == SHUNT_COUNTERS_VERSION;
}

/* Zeroes the body and publishes the header last, so readers that see the
 * magic see a clean body. Caller holds the flock. */
static void init_mapping(struct shunt_counters *c)
{
	__atomic_store_n(&c->magic, 0, __ATOMIC_RELAXED);
	volatile unsigned char *p = (volatile unsigned char *)c;
	for (size_t i = sizeof(c->magic); i < sizeof(*c); i++)
		p[i] = 0;
	__atomic_store_n(&c->version, SHUNT_COUNTERS_VERSION, __ATOMIC_RELAXED);
	__atomic_store_n(&c->reset_time, (uint64_t)time(NULL), __ATOMIC_RELAXED);
	__atomic_store_n(&c->magic, SHUNT_COUNTERS_MAGIC, __ATOMIC_RELEASE);
}

static struct shunt_counters *map_path(const char *path, bool create)
{
	int saved = errno;
	int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0);
	int fd;
	do
		fd = open(path, flags, 0600);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		errno = saved;
		return NULL;
	}
	struct stat st;
	struct shunt_counters *c = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((size_t)st.st_size != sizeof(*c)) {
		if (!create)
			goto out;
		/* Wrong size: re-initialise under the lock (re-check first:
		 * another process may have just done it). */
		if (flock(fd, LOCK_EX) < 0)
			goto out;
		if (fstat(fd, &st) < 0 ||
		    ((size_t)st.st_size != sizeof(*c) && ftruncate(fd, sizeof(*c)) < 0)) {
			flock(fd, LOCK_UN);
			goto out;
		}
		flock(fd, LOCK_UN);
	}
	void *m = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto out;
	c = m;
	if (!header_ok(c)) {
		if (!create || flock(fd, LOCK_EX) < 0) {
			munmap(m, sizeof(*c));
			c = NULL;
			goto out;
		}
		if (!header_ok(c))
			init_mapping(c);
		flock(fd, LOCK_UN);
	}
out:
	close(fd);
	errno = saved;
	return c;
}

struct shunt_counters *shunt_counters_map(const char *path, bool create)
{
	if (path)
		return map_path(path, create);
	const char *env = getenv("SHUNT_COUNTERS");
	if (env && *env)
		return map_path(env, create);
	char *dir = shunt_paths_dir(SHUNT_DIR_STATE);
	char *file = shunt_paths_file(SHUNT_DIR_STATE, "counters.bin");
	struct shunt_counters *c = NULL;
	if (dir && file) {
		if (create) {
			/* mkdir -p the state dir, 0700 */
			for (char *p = dir + 1;; p++) {
				if (*p == '/' || *p == '\0') {
					char ch = *p;
					*p = '\0';
					mkdir(dir, 0700);
					*p = ch;
					if (!ch)
						break;
				}
			}
		}
		c = map_path(file, create);
	}
	free(dir);
	free(file);
	return c;
}

static void add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

void shunt_counters_record(struct shunt_counters *c, enum shunt_action action, enum shunt_risk risk,
			   enum shunt_runtime runtime, enum shunt_source source, bool trusted,
			   long long duration_ms, bool cache_hit)
{
	if (!c)
		return;
	add(&c->total, 1);
	if ((unsigned)action < NELEM(c->by_action))
		add(&c->by_action[action], 1);
	if (trusted)
		add(&c->trusted, 1);
	if ((unsigned)risk < NELEM(c->by_risk))
		add(&c->by_risk[risk], 1);
	if ((unsigned)runtime < NELEM(c->by_runtime))
		add(&c->by_runtime[runtime], 1);
	if ((unsigned)source < NELEM(c->by_source))
		add(&c->by_source[source], 1);
	if (duration_ms >= 0) {
		add(&c->duration_ms_total, (uint64_t)duration_ms);
		add(&c->duration_count, 1);
	}
	if (cache_hit)
		add(&c->cache_hits, 1);
}

void shunt_counters_add_duration(struct shunt_counters *c, long long duration_ms)
{
	if (!c || duration_ms < 0)
		return;
	add(&c->duration_ms_total, (uint64_t)duration_ms);
	add(&c->duration_count, 1);
}

void shunt_counters_reset(struct shunt_counters *c)
{
	if (!c)
		return;
	uint64_t *first = &c->total;
	uint64_t *last = &c->reset_time;
	for (uint64_t *p = first; p < last; p++)
		__atomic_store_n(p, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->reset_time, (uint64_t)time(NULL), __ATOMIC_RELAXED);
}

void shunt_counters_unmap(struct shunt_counters *c)
{
	if (c)
		munmap(c, sizeof(*c));
}
