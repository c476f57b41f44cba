/* base64url.h: strict unpadded base64url (RFC 4648 §5), the text form of session tokens and JWTs.
 */
#ifndef MCPGW_COMMON_BASE64URL_H
#define MCPGW_COMMON_BASE64URL_H

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

#endif
