/* Unit tests for the shared execution counters. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "counters.h"
#include "fsutil.h"
#include "tap.h"

int main(void)
{
	char dir[] = "/tmp/shunt-counters-test.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[256];
	snprintf(path, sizeof(path), "%s/counters.bin", dir);

	ok(shunt_counters_map(path, false) == NULL, "no file and no create: NULL");
	struct shunt_counters *c = shunt_counters_map(path, true);
	ok(c != NULL, "created and mapped");
	struct stat st;
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	       (size_t)st.st_size == sizeof(struct shunt_counters),
	   "file is 0600 and the struct's size");
	ok(c && c->magic == SHUNT_COUNTERS_MAGIC && c->version == SHUNT_COUNTERS_VERSION,
	   "header initialised");
	shunt_counters_record(NULL, 0, 0, 0, 0, false, 1, false);
	ok(1, "recording into NULL is a no-op");

	enum { KIDS = 8, EACH = 1000 };
	for (int k = 0; k < KIDS; k++) {
		if (fork() == 0) {
			struct shunt_counters *m = shunt_counters_map(path, true);
			for (int i = 0; i < EACH; i++)
				shunt_counters_record(m, (enum shunt_action)(i % 4),
						      (enum shunt_risk)(i % 2),
						      SHUNT_RUNTIME_PROCESS, SHUNT_SOURCE_SHIM,
						      i % 10 == 0, i % 2 ? 10 : -1, i % 5 == 0);
			shunt_counters_unmap(m);
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++)
		wait(NULL);
	is_int(c->total, KIDS * EACH, "8 x 1000 records: exact total");
	is_int(c->by_action[SHUNT_ACTION_HOST], KIDS * EACH / 4, "by action exact");
	is_int(c->by_risk[SHUNT_RISK_MEDIUM], KIDS * EACH / 2, "by risk exact");
	is_int(c->by_runtime[SHUNT_RUNTIME_PROCESS], KIDS * EACH, "by runtime exact");
	is_int(c->by_source[SHUNT_SOURCE_SHIM], KIDS * EACH, "by source exact");
	is_int(c->trusted, KIDS * EACH / 10, "trusted exact");
	is_int(c->cache_hits, KIDS * EACH / 5, "cache hits exact");
	is_int(c->duration_count, KIDS * EACH / 2, "durations counted only when known");
	is_int(c->duration_ms_total, KIDS * EACH / 2 * 10, "duration total");
	shunt_counters_add_duration(c, 5);
	is_int(c->duration_count, KIDS * EACH / 2 + 1, "add_duration");

	/* out-of-range enums are counted in total only, never out of bounds */
	shunt_counters_record(c, (enum shunt_action)99, (enum shunt_risk) - 1,
			      (enum shunt_runtime)42, (enum shunt_source)7, false, -1, false);
	is_int(c->total, KIDS * EACH + 1, "bad enums: total still counted");

	shunt_counters_reset(c);
	ok(c->total == 0 && c->by_action[0] == 0 && c->duration_ms_total == 0, "reset zeroes");
	ok(c->magic == SHUNT_COUNTERS_MAGIC && c->reset_time > 0,
	   "reset keeps header, stamps time");
	shunt_counters_unmap(c);

	/* wrong magic: re-initialised */
	int fd = open(path, O_WRONLY);
	uint64_t junk = 0x1234;
	ok(pwrite(fd, &junk, sizeof(junk), 0) == sizeof(junk), "header clobbered");
	close(fd);
	c = shunt_counters_map(path, true);
	ok(c && c->magic == SHUNT_COUNTERS_MAGIC && c->total == 0, "bad magic re-initialised");
	shunt_counters_unmap(c);

	/* wrong size (truncated, or too big): re-initialised, no SIGBUS */
	ok(truncate(path, 7) == 0, "file truncated to 7 bytes");
	c = shunt_counters_map(path, true);
	ok(c && c->magic == SHUNT_COUNTERS_MAGIC, "truncated file re-initialised");
	if (c)
		shunt_counters_record(c, 0, 0, 0, 0, false, -1, false);
	ok(c && c->total == 1, "and usable");
	shunt_counters_unmap(c);
	ok(truncate(path, 1 << 20) == 0, "file grown to 1 MiB");
	c = shunt_counters_map(path, true);
	ok(c && c->magic == SHUNT_COUNTERS_MAGIC, "oversized file re-initialised");
	shunt_counters_unmap(c);
	stat(path, &st);
	is_int(st.st_size, sizeof(struct shunt_counters), "size fixed");

	/* wrong version: re-initialised */
	c = shunt_counters_map(path, true);
	c->version = 999;
	shunt_counters_unmap(c);
	c = shunt_counters_map(path, false);
	ok(c == NULL, "bad version without create: not mapped");
	c = shunt_counters_map(path, true);
	ok(c && c->version == SHUNT_COUNTERS_VERSION, "bad version re-initialised");
	shunt_counters_unmap(c);

	/* not a regular file */
	ok(shunt_counters_map(dir, true) == NULL, "a directory is refused");
	shunt_fs_rmtree(dir, NULL);
	return done_testing();
}
