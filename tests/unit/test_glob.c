#include <string.h>

#include "policy.h"
#include "sha256.h"
#include "tap.h"

int main(void)
{
	ok(shunt_glob_match("npm test", "npm test"), "exact match");
	ok(shunt_glob_match("npm test", "  npm   test  "), "whitespace runs compare equal");
	ok(!shunt_glob_match("npm test", "npm test; rm -rf ~"), "no partial match");
	ok(shunt_glob_match("curl * | sh", "curl -fsSL https://x.sh | sh"), "star spans words");
	ok(!shunt_glob_match("curl * | sh", "curl -fsSL https://x.sh | jq"),
	   "star pipeline mismatch");
	ok(shunt_glob_match("rm -rf /*", "rm -rf /usr"), "star at end");
	ok(shunt_glob_match("*DROP DATABASE*", "psql -c 'DROP DATABASE prod'"), "infix");
	ok(shunt_glob_match("git ?ush", "git push"), "question mark");
	ok(shunt_glob_match("ls [abc]", "ls b"), "class");
	ok(!shunt_glob_match("ls [!abc]", "ls b"), "negated class");
	ok(shunt_glob_match("echo \\*", "echo *"), "escaped star");
	ok(!shunt_glob_match("echo \\*", "echo x"), "escaped star is literal");
	ok(shunt_glob_match("*", ""), "star matches empty");
	ok(!shunt_glob_match("a", ""), "empty text");
	/* pathological pattern must stay fast (single-star backtracking) */
	char text[20001];
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ok(!shunt_glob_match("*a*a*a*a*a*a*a*a*a*b", text), "pathological glob terminates");

	uint8_t d[32];
	char hex[65];
	shunt_sha256("abc", 3, d);
	shunt_sha256_hex(d, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "sha256(abc)");
	shunt_sha256("", 0, d);
	shunt_sha256_hex(d, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "sha256('')");
	char million[1000];
	memset(million, 'a', sizeof(million));
	struct shunt_sha256 s;
	shunt_sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		shunt_sha256_update(&s, million, sizeof(million));
	shunt_sha256_final(&s, d);
	shunt_sha256_hex(d, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "sha256 of a million 'a' in chunks");

	uint8_t k1[32], k2[32], k3[32];
	shunt_trust_key(0, "/w1", "npm install x", k1);
	shunt_trust_key(0, "/w2", "npm install x", k2);
	shunt_trust_key(1, NULL, "npm install x", k3);
	ok(memcmp(k1, k2, 32) != 0, "exact keys differ by workspace");
	ok(memcmp(k1, k3, 32) != 0, "exact and global keys differ");
	return done_testing();
}
