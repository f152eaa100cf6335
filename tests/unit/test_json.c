/* Unit tests for the strict JSON parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "tap.h"

static struct shunt_json *parse(const char *s)
{
	return shunt_json_parse("t.json", s, strlen(s), NULL);
}

/* Expects a parse failure whose message contains want. */
static void bad(const char *s, const char *want)
{
	struct shunt_error *err = NULL;
	struct shunt_json *j = shunt_json_parse("t.json", s, strlen(s), &err);
	int good = !j && err && strstr(err->msg, want);
	char shown[41];
	size_t n = 0;
	for (; s[n] && n < 40; n++)
		shown[n] = (s[n] == '\n') ? '|' : s[n];
	shown[n] = '\0';
	if (!ok(good, "rejects %s -> %s", shown, want))
		diag("got: %s", err ? err->msg : "(no error)");
	shunt_json_free(j);
	shunt_error_free(&err);
}

static void test_valid(void)
{
	struct shunt_json *j = parse(" {\"a\": 1, \"b\": [true, false, null, -0.5e2, \"x\"],\n"
				     " \"c\": {\"d\": \"e\"}, \"a\": 2} ");
	ok(j && j->type == SHUNT_JSON_OBJECT, "object parses");
	is_int(j->len, 4, "four members (duplicate kept)");
	is_int((long long)shunt_json_num(j, "a", 0), 2, "duplicate key: last wins");
	const struct shunt_json *b = shunt_json_get(j, "b");
	ok(b && b->type == SHUNT_JSON_ARRAY && b->len == 5, "array of 5");
	ok(b->items[0]->type == SHUNT_JSON_BOOL && b->items[0]->b, "true");
	ok(b->items[1]->type == SHUNT_JSON_BOOL && !b->items[1]->b, "false");
	ok(b->items[2]->type == SHUNT_JSON_NULL, "null");
	ok(b->items[3]->num == -50.0, "exponent number");
	is_str(b->items[4]->str, "x", "string in array");
	is_str(shunt_json_str(shunt_json_get(j, "c"), "d", NULL), "e", "nested object");
	is_str(shunt_json_str(j, "missing", "def"), "def", "default for missing key");
	is_str(shunt_json_str(j, "a", "def"), "def", "default for wrong type");
	ok(shunt_json_bool(j, "a", true), "bool default for wrong type");
	const struct shunt_json *c = shunt_json_get(j, "c");
	is_int(c->line, 2, "node line recorded");
	is_int(c->col, 7, "node col recorded");
	shunt_json_free(j);

	j = parse("42");
	ok(j && j->type == SHUNT_JSON_NUMBER && j->num == 42, "scalar top-level");
	shunt_json_free(j);
	j = parse("[]");
	ok(j && j->type == SHUNT_JSON_ARRAY && j->len == 0, "empty array");
	shunt_json_free(j);
	j = parse("{}");
	ok(j && j->type == SHUNT_JSON_OBJECT && j->len == 0, "empty object");
	shunt_json_free(j);
	j = parse("1234567890123");
	ok(j && j->num == 1234567890123.0, "large integer exact");
	shunt_json_free(j);
}

static void test_strings(void)
{
	struct shunt_json *j = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
	is_str(j ? j->str : NULL, "a\"b\\c/d\b\f\n\r\t", "simple escapes");
	shunt_json_free(j);

	j = parse("\"\\u00e9\\u20ac\"");
	is_str(j ? j->str : NULL, "\xc3\xa9\xe2\x82\xac", "\\u escapes to UTF-8");
	shunt_json_free(j);

	j = parse("\"\\ud83d\\ude00\"");
	is_str(j ? j->str : NULL, "\xf0\x9f\x98\x80", "surrogate pair");
	shunt_json_free(j);

	j = parse("\"a\\u0000b\"");
	ok(j && j->len == 3 && memcmp(j->str, "a\0b", 3) == 0, "\\u0000 kept with len");
	shunt_json_free(j);

	j = parse("\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
	is_str(j ? j->str : NULL, "h\xc3\xa9llo \xf0\x9f\x98\x80", "raw UTF-8 accepted");
	shunt_json_free(j);

	bad("\"\\ud83d\"", "high surrogate");
	bad("\"\\ud83dx\"", "high surrogate");
	bad("\"\\ude00\"", "lone low surrogate");
	bad("\"\\ud83d\\u0041\"", "invalid surrogate pair");
	bad("\"\\u12g4\"", "1:6: invalid hex digit");
	bad("\"\\x\"", "1:2: invalid escape");
	bad("\"abc", "1:1: unterminated string");
	bad("\"a\nb\"", "control character");
	/* invalid UTF-8 inside strings is rejected, with position */
	bad("\"ab\xff\"", "1:4: invalid UTF-8");
	bad("\"\xc0\xaf\"", "invalid UTF-8");	      /* overlong '/' */
	bad("\"\xed\xa0\x80\"", "invalid UTF-8");     /* encoded surrogate */
	bad("\"\xe2\x82\"", "invalid UTF-8");	      /* truncated sequence */
	bad("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* > U+10FFFF */
}

static void test_invalid(void)
{
	bad("", "1:1: unexpected end of input");
	bad("   \n  ", "2:3: unexpected end of input");
	bad("{\"a\":1,}", "1:8: expected string key");
	bad("[1,]", "1:4: unexpected character");
	bad("[1 2]", "1:4: expected ',' or ']'");
	bad("{\"a\" 1}", "1:6: expected ':'");
	bad("{\"a\":1\n \"b\":2}", "2:2: expected ',' or '}'");
	bad("{1:2}", "expected string key");
	bad("[01]", "expected ',' or ']'");
	bad("[1.]", "expected digit after '.'");
	bad("[1e]", "expected digit in exponent");
	bad("[-]", "invalid number");
	bad("[.5]", "unexpected character");
	bad("[+1]", "unexpected character");
	bad("tru", "invalid literal");
	bad("nul", "invalid literal");
	bad("[NaN]", "unexpected character");
	bad("{} x", "1:4: trailing garbage");
	bad("{}{}", "trailing garbage");
	bad("[1]\n\n  ]", "3:3: trailing garbage");
	bad("{\"a\":[1,2", "unexpected end of input in array");
	bad("'a'", "unexpected character");
	bad("\xef\xbb\xbf{}", "unexpected character");
	bad("{\"a\":1", "unexpected end of input in object");
	/* the name prefixes every message */
	bad("[", "t.json:1:2:");
}

static void test_depth(void)
{
	char s[2 * 300 + 1];
	/* exactly 256 levels parse */
	memset(s, '[', 256);
	memset(s + 256, ']', 256);
	s[512] = '\0';
	struct shunt_json *j = parse(s);
	ok(j != NULL, "256 levels of nesting accepted");
	shunt_json_free(j);
	/* 257 levels fail */
	memset(s, '[', 257);
	memset(s + 257, ']', 257);
	s[514] = '\0';
	bad(s, "1:257: nesting deeper than 256");
	/* a huge bomb fails fast without blowing the stack */
	size_t n = 1000000;
	char *big = malloc(n + 1);
	memset(big, '[', n);
	big[n] = '\0';
	struct shunt_error *err = NULL;
	j = shunt_json_parse("bomb", big, n, &err);
	ok(!j && err && strstr(err->msg, "nesting deeper"), "depth bomb rejected");
	shunt_error_free(&err);
	memset(big, '{', n);
	for (size_t i = 0; i + 5 < n; i += 5)
		memcpy(big + i, "{\"a\":", 5);
	j = shunt_json_parse("bomb", big, n, &err);
	ok(!j && err && strstr(err->msg, "nesting deeper"), "object depth bomb rejected");
	shunt_error_free(&err);
	free(big);
}

static void test_not_nul_terminated(void)
{
	/* parse must respect len: "12" followed by bytes that are not JSON */
	const char buf[] = {'1', '2', '3', 'x'};
	struct shunt_json *j = shunt_json_parse("n", buf, 2, NULL);
	ok(j && j->num == 12, "number bounded by len");
	shunt_json_free(j);
	const char s2[] = {'"', 'a', 'b'};
	struct shunt_error *err = NULL;
	j = shunt_json_parse("n", s2, 3, &err);
	ok(!j && err, "unterminated string at end of buffer");
	shunt_error_free(&err);
}

static void test_roundtrip_buf(void)
{
	/* our writer's output (shunt_buf_json_str) always parses back */
	const char hostile[] = "a\"b\\c\nd\x01\x7f\xff\xc3\xa9\0z";
	struct shunt_buf b = {0};
	shunt_buf_json_str(&b, hostile, sizeof(hostile) - 1);
	struct shunt_json *j = shunt_json_parse("rt", b.data, b.len, NULL);
	ok(j && j->type == SHUNT_JSON_STRING, "writer output parses");
	/* invalid byte 0xff comes back as U+00FF; everything else exactly */
	const char want[] = "a\"b\\c\nd\x01\x7f\xc3\xbf\xc3\xa9\0z";
	ok(j && j->len == sizeof(want) - 1 && memcmp(j->str, want, j->len) == 0,
	   "hostile text round-trips (invalid byte as U+00XX)");
	shunt_json_free(j);
	shunt_buf_free(&b);
}

/* shunt_buf_put_shquoted: what sh reads back is exactly the text */
static void test_shquoted(void)
{
	static const char *const texts[] = {"plain", "", "it's", "''", "$HOME `id` \\ \"x\" *;|&",
					    "a\nb"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		struct shunt_buf b = {0};
		shunt_buf_puts(&b, "printf %s ");
		shunt_buf_put_shquoted(&b, texts[i]);
		FILE *f = popen(b.data, "r");
		char got[128] = "";
		size_t n = f ? fread(got, 1, sizeof(got) - 1, f) : 0;
		got[n] = '\0';
		int st = f ? pclose(f) : -1;
		ok(st == 0 && strcmp(got, texts[i]) == 0, "sh reads back text %zu", i);
		shunt_buf_free(&b);
	}
}

int main(void)
{
	test_valid();
	test_strings();
	test_invalid();
	test_depth();
	test_not_nul_terminated();
	test_roundtrip_buf();
	test_shquoted();
	shunt_json_free(NULL);
	return done_testing();
}
