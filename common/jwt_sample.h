/* jwt_sample.h: what the JWK and JWT unit tests, the fuzz seeds and the benchmark share: keys
 * generated with OpenSSL, written as JWKs, and tokens signed with EVP_DigestSign (test support
 * only, never linked into a program). */
#ifndef MCPGW_COMMON_JWT_SAMPLE_H
#define MCPGW_COMMON_JWT_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/jwk.h"

#define JWT_SAMPLE_SIG_MAX 1024 /* bytes of the largest signature (RSA 8192) */

/* A new private key for alg: RSA of bits (RS*, PS256; 0 means 2048), P-256, P-384, Ed25519.
 * NULL on failure. */
EVP_PKEY *jwt_sample_key(gw_jws_alg_t alg, int bits);
/* Appends pkey's public JWK: {"kty":..., "kid": kid, "alg": alg (omitted when NULL), ...}; extra
 * (when not NULL) is more members written as is, e.g. "\"use\":\"enc\"". */
gw_err_t jwt_sample_jwk(gw_buf_t *out, EVP_PKEY *pkey, const char *kid, const char *alg,
                        const char *extra);
/* Appends the unpadded base64url of p[0..n). */
gw_err_t jwt_sample_b64(gw_buf_t *out, const void *p, size_t n);
/* The JWS signature of input[0..n) by pkey under alg (ECDSA as raw r||s) into sig
 * (JWT_SAMPLE_SIG_MAX bytes). */
gw_err_t jwt_sample_sign(EVP_PKEY *pkey, gw_jws_alg_t alg, const void *input, size_t n,
                         uint8_t *sig, size_t *siglen);
/* Appends the compact JWS of header and payload (JSON texts) signed by pkey under alg. */
gw_err_t jwt_sample_token(gw_buf_t *out, EVP_PKEY *pkey, gw_jws_alg_t alg, const char *header,
                          const char *payload);

#endif
