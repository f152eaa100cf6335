/* SHA-256 (FIPS 180-4). No allocation; async-signal-safe. */
#ifndef SHUNT_SHA256_H
#define SHUNT_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct shunt_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t nbuf;
};

void shunt_sha256_init(struct shunt_sha256 *s);
void shunt_sha256_update(struct shunt_sha256 *s, const void *data, size_t n);
void shunt_sha256_final(struct shunt_sha256 *s, uint8_t out[32]);
/* One-shot digest. */
void shunt_sha256(const void *data, size_t n, uint8_t out[32]);
/* Lower-case hex of a 32-byte digest into out[65]. */
void shunt_sha256_hex(const uint8_t d[32], char out[65]);

#endif
