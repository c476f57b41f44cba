/* jwt_fixture.h: what the JWT unit tests (jwt_test.c, jwt_claims_test.c) share: one key per
 * algorithm in one set, tokens signed with them, and verifying helpers that check a refusal
 * leaves no claims behind (test support only, cmocka). */
#ifndef MCPGW_COMMON_JWT_FIXTURE_H
#define MCPGW_COMMON_JWT_FIXTURE_H

#include <stddef.h>

#include <openssl/evp.h>

#include "common/jwt.h"

#define NOW 1750000000
#define ISS "https://idp.example.com"
#define AUD "https://mcp.example.com/mcp"

/* The keys of a test program, made by jwt_fx_setup (cmocka group setup), freed by
 * jwt_fx_teardown. */
typedef struct jwt_fx {
    EVP_PKEY *rsa, *other_rsa, *p256, *p384, *ed;
    gw_jwks_t *set;     /* every kid of jwt_fx_kids: the RSA key under four, one algorithm each */
    gw_jwks_t *one_key; /* the P-256 key alone, kid "es256" */
} jwt_fx_t;
extern jwt_fx_t jwt_fx;

typedef struct jwt_fx_kid {
    const char *kid;
    gw_jws_alg_t alg;
} jwt_fx_kid_t;
#define JWT_FX_NKIDS 7
extern const jwt_fx_kid_t jwt_fx_kids[JWT_FX_NKIDS];

int jwt_fx_setup(void **state);
int jwt_fx_teardown(void **state);

/* iss ISS, audiences another one and AUD, now NOW, leeway 60 s, the default size. */
gw_jwt_policy_t jwt_fx_policy(void);
/* The claims every test starts from (iss, sub alice, aud, exp, iat, scope, jti) and extra
 * members; a static buffer, valid until the next call. */
char *jwt_fx_payload(const char *extra);
/* A token of header and body (JSON texts) signed by key under alg; the caller frees it. */
char *jwt_fx_sign(EVP_PKEY *key, gw_jws_alg_t alg, const char *header, const char *body);
/* A token for kid signed under alg with the key of alg, typ JWT, the payload's extra members. */
char *jwt_fx_token(const char *kid, gw_jws_alg_t alg, const char *extra);
/* tok verified against jwt_fx.set with policy p, or with jwt_fx_policy(). */
gw_jwt_result_t jwt_fx_verify_p(const char *tok, const gw_jwt_policy_t *p);
gw_jwt_result_t jwt_fx_verify(const char *tok);
/* The payload's extra members in a token of kid rs256, verified. */
gw_jwt_result_t jwt_fx_verify_claims(const char *extra);
/* A payload of exactly body, signed as rs256, verified. */
gw_jwt_result_t jwt_fx_verify_body(const char *body);
/* A header of exactly header, signed with key under alg, verified. */
gw_jwt_result_t jwt_fx_verify_header(const char *header, EVP_PKEY *key, gw_jws_alg_t alg);

/* A header signed with a key under an algorithm, and what verifying it gives. */
typedef struct header_case {
    const char *header;
    EVP_PKEY **key;
    gw_jws_alg_t alg;
    gw_jwt_result_t want;
} header_case_t;
void jwt_fx_check_headers(const header_case_t *cases, size_t n);

#define assert_result(got, want)                                                                   \
    assert_string_equal(gw_jwt_result_name(got), gw_jwt_result_name(want))

#endif
