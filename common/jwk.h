/* jwk.h: JSON Web Key Sets (RFC 7517) read into OpenSSL public keys, each with the one JWS
 * algorithm it may verify. Pure: no I/O, no globals; a set is immutable once parsed, so any
 * number of readers may share it. */
#ifndef MCPGW_COMMON_JWK_H
#define MCPGW_COMMON_JWK_H

#include <stddef.h>

#include <openssl/evp.h>

#include "common/err.h"

/* The JWS algorithms mcpgw verifies (RFC 7518 §3, RFC 8037). Symmetric ones (HS*) and "none"
 * are not among them: a resource server holds no shared secret, and a token names no key. */
typedef enum gw_jws_alg {
    GW_JWS_RS256,
    GW_JWS_RS384,
    GW_JWS_RS512,
    GW_JWS_PS256,
    GW_JWS_ES256,
    GW_JWS_ES384,
    GW_JWS_EDDSA,
    GW_JWS_ALG_COUNT
} gw_jws_alg_t;

#define GW_JWS_ALG_BIT(a) (1u << (a))
/* The default `algorithms: [RS256, PS256, ES256, EdDSA]`. */
#define GW_JWS_ALGS_DEFAULT                                                                        \
    (GW_JWS_ALG_BIT(GW_JWS_RS256) | GW_JWS_ALG_BIT(GW_JWS_PS256) | GW_JWS_ALG_BIT(GW_JWS_ES256) |  \
     GW_JWS_ALG_BIT(GW_JWS_EDDSA))
#define GW_JWS_ALGS_ALL ((1u << GW_JWS_ALG_COUNT) - 1)

#define GW_JWKS_MAX_KEYS 64           /* a larger set is refused whole */
#define GW_JWKS_MAX_SIZE (256 * 1024) /* bytes of JSON; a larger set is refused whole */
#define GW_JWK_KID_MAX 256            /* longest kid, with its NUL; a longer one is skipped */
#define GW_JWK_RSA_MIN_BITS 2048
#define GW_JWK_RSA_MAX_BITS 8192 /* bounds what one verification costs */

/* The name of alg as JWS writes it ("RS256", ..., "EdDSA"); "?" when out of range. */
const char *gw_jws_alg_name(gw_jws_alg_t alg);
/* The algorithm named name[0..len) (exact, case-sensitive as RFC 7515 says), or GW_ENOTFOUND. */
gw_err_t gw_jws_alg_parse(const char *name, size_t len, gw_jws_alg_t *out);

/* One verification key. Owned by its set. */
typedef struct gw_jwk {
    char kid[GW_JWK_KID_MAX]; /* "" when the JWK has none */
    size_t kidlen;
    gw_jws_alg_t alg; /* the only algorithm this key verifies */
    EVP_PKEY *pkey;   /* public key */
} gw_jwk_t;

/* A JWK of the set that was not taken, and why (for the caller's log line). */
typedef struct gw_jwk_skip {
    size_t index;             /* position in "keys" */
    char kid[GW_JWK_KID_MAX]; /* "" when it had none (or not a string) */
    const char *reason;       /* static text */
} gw_jwk_skip_t;

typedef struct gw_jwks gw_jwks_t;

/* Parses json[0..len) as a JWK Set into a new set (*out, which the caller frees with
 * gw_jwks_destroy). Keys that cannot be used (use "enc", key_ops without "verify", unknown kty or
 * crv, an algorithm outside allowed_algs (a mask of GW_JWS_ALG_BIT), RSA below 2048 or above 8192
 * bits, a point off its curve, a repeated kid, a repeated member) are skipped, each with a reason
 * (gw_jwks_skipped). Returns GW_OK with at least one key; GW_ETOOBIG over GW_JWKS_MAX_SIZE bytes
 * or GW_JWKS_MAX_KEYS entries; GW_EPARSE for text that is not a JWK Set; GW_ENOTFOUND when no key
 * was usable; GW_ENOMEM. On failure err says why and *out is NULL. Any thread. */
gw_err_t gw_jwks_parse(const char *json, size_t len, unsigned allowed_algs, gw_jwks_t **out,
                       char *err, size_t errlen);
void gw_jwks_destroy(gw_jwks_t *set);
/* The key whose kid is kid[0..kidlen), or NULL. */
const gw_jwk_t *gw_jwks_find(const gw_jwks_t *set, const char *kid, size_t kidlen);
/* Usable keys, and the i-th of them (i < gw_jwks_count). */
size_t gw_jwks_count(const gw_jwks_t *set);
const gw_jwk_t *gw_jwks_key(const gw_jwks_t *set, size_t i);
/* Skipped entries, and the i-th of them. */
size_t gw_jwks_skipped_count(const gw_jwks_t *set);
const gw_jwk_skip_t *gw_jwks_skipped(const gw_jwks_t *set, size_t i);

#endif
