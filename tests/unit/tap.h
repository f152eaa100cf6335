/* Tiny TAP harness for unit tests. */
#ifndef SHUNT_TAP_H
#define SHUNT_TAP_H

#include <stdio.h>
#include <stdarg.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(a, b, name)                                                                         \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (!ok(_a == _b, "%s", name))                                                     \
			printf("#   got %lld, expected %lld\n", _a, _b);                           \
	} while (0)
#define is_str(a, b, name)                                                                         \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		int _eq = (_a && _b) ? strcmp(_a, _b) == 0 : _a == _b;                             \
		if (!ok(_eq, "%s", name))                                                          \
			printf("#   got '%s', expected '%s'\n", _a ? _a : "(null)",                \
			       _b ? _b : "(null)");                                                \
	} while (0)
#define skip(reason)                                                                               \
	do {                                                                                       \
		tap_n++;                                                                           \
		printf("ok %d # SKIP %s\n", tap_n, reason);                                        \
	} while (0)
#define diag(...)                                                                                  \
	do {                                                                                       \
		printf("# ");                                                                      \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
	} while (0)

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
