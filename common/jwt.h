/* jwt.h: verification of a bearer JWT (compact JWS, RFC 7519 and RFC 8725) against an issuer's
 * key set: the algorithm is the key's, never the token's; then iss, aud, exp, nbf, iat. Pure: no
 * I/O, no globals, any thread. */
#ifndef MCPGW_COMMON_JWT_H
#define MCPGW_COMMON_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "common/err.h"
#include "common/jwk.h"

#define GW_JWT_MAX_SIZE_DEFAULT 8192 /* policy.max_size 0 means this */
#define GW_JWT_ISS_MAX 512           /* longest iss gw_jwt_peek reports, with its NUL */

/* What one verification found; gw_jwt_result_name gives the reason label of metrics and logs. */
typedef enum gw_jwt_result {
    GW_JWT_OK,
    GW_JWT_MALFORMED,     /* not three base64url parts of JSON objects, or a claim's wrong type */
    GW_JWT_TOO_BIG,       /* longer than policy.max_size */
    GW_JWT_JWE,           /* five parts: an encrypted token, which a resource server cannot read */
    GW_JWT_BAD_ALG,       /* alg missing, none, HS*, unknown, or not the key's */
    GW_JWT_UNKNOWN_KID,   /* no key of the set has the token's kid (or no kid, several keys) */
    GW_JWT_BAD_SIGNATURE, /* the signature does not verify (ES*: not exactly r||s) */
    GW_JWT_BAD_TYPE,      /* typ neither JWT nor at+jwt, or a cty (nested token) */
    GW_JWT_CRIT,          /* a crit header: no extension is understood */
    GW_JWT_DUPLICATE_KEY, /* a member named twice in header or payload */
    GW_JWT_EXPIRED,       /* exp (plus leeway) has passed */
    GW_JWT_NOT_YET_VALID, /* nbf or iat (minus leeway) is in the future */
    GW_JWT_BAD_ISSUER,    /* iss missing or not policy.issuer */
    GW_JWT_BAD_AUDIENCE,  /* aud missing or naming none of policy.audiences */
    GW_JWT_NO_EXPIRY,     /* exp missing */
    GW_JWT_BAD_SUBJECT,   /* sub missing, longer than GW_SUBJECT_MAX - 1, or with control bytes */
    GW_JWT_NO_MEMORY,
    GW_JWT_RESULT_COUNT
} gw_jwt_result_t;

/* What a token must satisfy besides its signature. The strings are the caller's. */
typedef struct gw_jwt_policy {
    const char *issuer;           /* iss must equal it byte for byte */
    const char *const *audiences; /* aud must contain one of them */
    size_t naudiences;            /* 0: every token is refused (fail closed) */
    int64_t now;                  /* seconds since the epoch */
    int64_t leeway_s;             /* clock skew allowed on exp, nbf and iat */
    size_t max_size;              /* bytes of token; 0 = GW_JWT_MAX_SIZE_DEFAULT */
} gw_jwt_policy_t;

/* The claims of a verified token. iss, sub and jti point into payload; scope is its own. */
typedef struct gw_jwt_claims {
    const char *iss;
    const char *sub; /* shorter than GW_SUBJECT_MAX, no control bytes */
    const char *jti; /* NULL when absent */
    char *scope;     /* "scope" (RFC 9068), else the "scp" array joined by spaces; "" if neither */
    int64_t exp;
    int64_t iat;         /* 0 when absent */
    int64_t nbf;         /* 0 when absent */
    const gw_jwk_t *key; /* the key that verified it: the set's, valid while the set lives */
    yajl_val payload;    /* the whole verified payload, for claim-based policy */
} gw_jwt_claims_t;

/* What a token says before it is verified: enough to choose the issuer's key set and to know
 * that its kid is unknown there. Never trust it for anything else. */
typedef struct gw_jwt_peek {
    char iss[GW_JWT_ISS_MAX]; /* "" when absent, not a string, or too long */
    char kid[GW_JWK_KID_MAX]; /* "" when absent */
    size_t kidlen;
    bool has_kid;
} gw_jwt_peek_t;

/* The reason label of r ("ok", "malformed", "too_big", ...). */
const char *gw_jwt_result_name(gw_jwt_result_t r);

/* Verifies token[0..len) against set (NULL when the issuer has no keys yet: unknown_kid) and
 * policy. On GW_JWT_OK fills *claims, which the caller frees with gw_jwt_claims_fini; on any other
 * result *claims is zeroed and holds nothing. A token without kid is verified only by a set of
 * exactly one key; an empty kid names no key. */
gw_jwt_result_t gw_jwt_verify(const char *token, size_t len, const gw_jwks_t *set,
                              const gw_jwt_policy_t *policy, gw_jwt_claims_t *claims);
void gw_jwt_claims_fini(gw_jwt_claims_t *claims);
/* The payload member name of a verified token, or NULL. */
yajl_val gw_jwt_claim(const gw_jwt_claims_t *claims, const char *name);
/* True when the token's scopes include scope (whole words of claims->scope). */
bool gw_jwt_has_scope(const gw_jwt_claims_t *claims, const char *scope);

/* Reads the unverified iss and kid of token[0..len) (max_size as in the policy). GW_JWT_OK,
 * MALFORMED, TOO_BIG, JWE, DUPLICATE_KEY or NO_MEMORY. */
gw_jwt_result_t gw_jwt_peek(const char *token, size_t len, size_t max_size, gw_jwt_peek_t *out);

#endif
