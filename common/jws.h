/* jws.h: one JWS signature checked with OpenSSL 3's EVP under the key's own algorithm. */
#ifndef MCPGW_COMMON_JWS_H
#define MCPGW_COMMON_JWS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/jwk.h"

/* GW_OK when sig[0..siglen) is key's signature of input[0..len) under key->alg (RSASSA-PKCS1-v1_5,
 * RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash, ECDSA as raw r||s of
 * exactly twice the curve's size, Ed25519); GW_EAUTH when it is not, GW_ENOMEM. Leaves OpenSSL's
 * error queue empty. Any thread. */
gw_err_t gw_jws_verify(const gw_jwk_t *key, const uint8_t *input, size_t len, const uint8_t *sig,
                       size_t siglen);

#endif
