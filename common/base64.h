/* base64.h: strict base64 (RFC 4648): unpadded base64url (§5), the text form of session tokens,
 * requestStates and JWTs; padded standard base64 (§4), that of the 2026-07-28 header values. */
#ifndef MCPGW_COMMON_BASE64_H
#define MCPGW_COMMON_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* The length of the unpadded text of n bytes. */
#define GW_B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))

/* Writes the unpadded text of in[0..n) to out (GW_B64URL_LEN(n) bytes, no NUL); returns its
 * length. */
size_t gw_b64url_encode(const uint8_t *in, size_t n, char *out);
/* Decodes in[0..n) into out (at most cap bytes) and sets *outlen. Strict: no padding, no
 * character outside the alphabet, and the unused low bits of the last character zero, so that
 * every byte string has exactly one spelling. Returns 0, or -1 on any of these or when out is too
 * small. */
int gw_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);

/* The padded text of n bytes in the standard alphabet. */
#define GW_B64_LEN(n) ((((n) + 2) / 3) * 4)

/* Writes the padded standard-alphabet text of in[0..n) to out (GW_B64_LEN(n) bytes, no NUL). */
size_t gw_b64_encode(const uint8_t *in, size_t n, char *out);
/* Decodes padded standard base64 as strictly as gw_b64url_decode: a length that is a multiple of
 * four, exactly the padding needed, no character outside the alphabet, spare bits zero. */
int gw_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);

#endif
