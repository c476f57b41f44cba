/* jwt_fixture.c: the keys, key sets, tokens and verifying helpers the JWT unit tests share (test
 * support only): one key per algorithm made with OpenSSL at setup, tokens signed with them. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jwt_fixture.h"
#include "common/jwt_sample.h"

jwt_fx_t jwt_fx;

static const char *const audiences[] = {"https://other.example.com", AUD};

const jwt_fx_kid_t jwt_fx_kids[JWT_FX_NKIDS] = {
    {"rs256", GW_JWS_RS256}, {"rs384", GW_JWS_RS384}, {"rs512", GW_JWS_RS512},
    {"ps256", GW_JWS_PS256}, {"es256", GW_JWS_ES256}, {"es384", GW_JWS_ES384},
    {"ed", GW_JWS_EDDSA},
};

static EVP_PKEY *key_of(gw_jws_alg_t alg)
{
    return alg == GW_JWS_ES256   ? jwt_fx.p256
           : alg == GW_JWS_ES384 ? jwt_fx.p384
           : alg == GW_JWS_EDDSA ? jwt_fx.ed
                                 : jwt_fx.rsa;
}

int jwt_fx_setup(void **state)
{
    char err[200] = "";
    gw_buf_t b;
    jwt_fx.rsa = jwt_sample_key(GW_JWS_RS256, 2048);
    jwt_fx.other_rsa = jwt_sample_key(GW_JWS_RS256, 2048);
    jwt_fx.p256 = jwt_sample_key(GW_JWS_ES256, 0);
    jwt_fx.p384 = jwt_sample_key(GW_JWS_ES384, 0);
    jwt_fx.ed = jwt_sample_key(GW_JWS_EDDSA, 0);
    if (!jwt_fx.rsa || !jwt_fx.other_rsa || !jwt_fx.p256 || !jwt_fx.p384 || !jwt_fx.ed) {
        return -1;
    }
    gw_buf_init(&b);
    gw_buf_appends(&b, "{\"keys\":[");
    for (size_t i = 0; i < JWT_FX_NKIDS; i++) {
        gw_buf_appends(&b, i > 0 ? "," : "");
        jwt_sample_jwk(&b, key_of(jwt_fx_kids[i].alg), jwt_fx_kids[i].kid,
                       gw_jws_alg_name(jwt_fx_kids[i].alg), NULL);
    }
    gw_buf_appends(&b, "]}");
    gw_err_t rc = gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_ALL, &jwt_fx.set, err, sizeof(err));
    gw_buf_reset(&b);
    gw_buf_appends(&b, "{\"keys\":[");
    jwt_sample_jwk(&b, jwt_fx.p256, "es256", NULL, NULL);
    gw_buf_appends(&b, "]}");
    if (rc == GW_OK) {
        rc = gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_ALL, &jwt_fx.one_key, err, sizeof(err));
    }
    gw_buf_fini(&b);
    if (rc != GW_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    return gw_jwks_count(jwt_fx.set) == JWT_FX_NKIDS ? 0 : -1;
}

int jwt_fx_teardown(void **state)
{
    gw_jwks_destroy(jwt_fx.set);
    gw_jwks_destroy(jwt_fx.one_key);
    EVP_PKEY_free(jwt_fx.rsa);
    EVP_PKEY_free(jwt_fx.other_rsa);
    EVP_PKEY_free(jwt_fx.p256);
    EVP_PKEY_free(jwt_fx.p384);
    EVP_PKEY_free(jwt_fx.ed);
    return 0;
}

gw_jwt_policy_t jwt_fx_policy(void)
{
    gw_jwt_policy_t p = {
        .issuer = ISS,
        .audiences = audiences,
        .naudiences = 2,
        .now = NOW,
        .leeway_s = 60,
        .max_size = 0,
    };
    return p;
}

/* The payload every test starts from, with extra members appended. */
char *jwt_fx_payload(const char *extra)
{
    static char p[16384];
    snprintf(p, sizeof(p),
             "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\",\"exp\":%d,\"iat\":%d,"
             "\"scope\":\"tools prompts\",\"jti\":\"j-1\"%s%s}",
             NOW + 300, NOW - 10, extra[0] != '\0' ? "," : "", extra);
    return p;
}

/* A token signed by key under alg with the header's JSON text. The caller frees it. */
char *jwt_fx_sign(EVP_PKEY *key, gw_jws_alg_t alg, const char *header, const char *body)
{
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(jwt_sample_token(&b, key, alg, header, body), GW_OK);
    return gw_buf_steal(&b, NULL);
}

/* A token for kid signed as its key's algorithm says, the payload's extra members given. */
char *jwt_fx_token(const char *kid, gw_jws_alg_t alg, const char *extra)
{
    char header[256];
    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             gw_jws_alg_name(alg), kid);
    return jwt_fx_sign(key_of(alg), alg, header, jwt_fx_payload(extra));
}

gw_jwt_result_t jwt_fx_verify_p(const char *tok, const gw_jwt_policy_t *p)
{
    gw_jwt_claims_t c;
    gw_jwt_result_t r = gw_jwt_verify(tok, strlen(tok), jwt_fx.set, p, &c);
    if (r == GW_JWT_OK) {
        assert_non_null(c.payload);
        gw_jwt_claims_fini(&c);
    } else {
        assert_null(c.payload);
        assert_null(c.scope);
    }
    return r;
}

gw_jwt_result_t jwt_fx_verify(const char *tok)
{
    gw_jwt_policy_t p = jwt_fx_policy();
    return jwt_fx_verify_p(tok, &p);
}

/* The payload's extra members in a token of kid rs256, verified. */
gw_jwt_result_t jwt_fx_verify_claims(const char *extra)
{
    char *t = jwt_fx_token("rs256", GW_JWS_RS256, extra);
    gw_jwt_result_t r = jwt_fx_verify(t);
    free(t);
    return r;
}

/* A payload of exactly the given text (not payload()), signed as rs256, verified. */
gw_jwt_result_t jwt_fx_verify_body(const char *body)
{
    char *t = jwt_fx_sign(jwt_fx.rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}", body);
    gw_jwt_result_t r = jwt_fx_verify(t);
    free(t);
    return r;
}

/* A header of exactly the given text, signed with key under alg, verified. */
gw_jwt_result_t jwt_fx_verify_header(const char *header, EVP_PKEY *key, gw_jws_alg_t alg)
{
    char *t = jwt_fx_sign(key, alg, header, jwt_fx_payload(""));
    gw_jwt_result_t r = jwt_fx_verify(t);
    free(t);
    return r;
}

void jwt_fx_check_headers(const header_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        gw_jwt_result_t r = jwt_fx_verify_header(cases[i].header, *cases[i].key, cases[i].alg);
        if (r != cases[i].want) {
            print_error("%s: %s\n", cases[i].header, gw_jwt_result_name(r));
        }
        assert_result(r, cases[i].want);
    }
}
