/* jwt_test.c: unit tests of JWT verification, the token and its header: every algorithm verifies
 * a token signed here with OpenSSL, and each refusal (alg none, HS256 keyed with the RSA public
 * key, alg and kid mismatches, bit flips, truncation, malformed parts, size, duplicate members,
 * ES256 signature lengths, crit, JWE, typ) has its own case; the claims are jwt_claims_test.c's. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "common/base64.h"
#include "common/jwt_fixture.h"
#include "common/jwt_sample.h"

static void test_every_algorithm_verifies(void **state)
{
    for (size_t i = 0; i < JWT_FX_NKIDS; i++) {
        char *t = jwt_fx_token(jwt_fx_kids[i].kid, jwt_fx_kids[i].alg, "\"tenant\":\"t1\"");
        gw_jwt_policy_t p = jwt_fx_policy();
        gw_jwt_claims_t c;
        gw_jwt_result_t r = gw_jwt_verify(t, strlen(t), jwt_fx.set, &p, &c);
        if (r != GW_JWT_OK) {
            print_error("%s: %s\n", jwt_fx_kids[i].kid, gw_jwt_result_name(r));
        }
        assert_result(r, GW_JWT_OK);
        assert_string_equal(c.iss, ISS);
        assert_string_equal(c.sub, "alice");
        assert_string_equal(c.jti, "j-1");
        assert_string_equal(c.scope, "tools prompts");
        assert_true(c.exp == NOW + 300);
        assert_true(c.iat == NOW - 10);
        assert_true(c.nbf == 0);
        assert_string_equal(c.key->kid, jwt_fx_kids[i].kid);
        assert_true(gw_jwt_has_scope(&c, "tools"));
        assert_true(gw_jwt_has_scope(&c, "prompts"));
        assert_false(gw_jwt_has_scope(&c, "tool"));
        assert_false(gw_jwt_has_scope(&c, "tools prompts"));
        assert_false(gw_jwt_has_scope(&c, ""));
        assert_string_equal(gw_jwt_claim(&c, "tenant")->u.string, "t1");
        assert_null(gw_jwt_claim(&c, "absent"));
        gw_jwt_claims_fini(&c);
        free(t);
    }
}

static void test_alg_none(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b);
    const char *h = "{\"alg\":\"none\",\"kid\":\"rs256\"}";
    jwt_sample_b64(&b, h, strlen(h));
    gw_buf_appends(&b, ".");
    jwt_sample_b64(&b, jwt_fx_payload(""), strlen(jwt_fx_payload("")));
    gw_buf_appends(&b, ".");
    assert_result(jwt_fx_verify(b.data), GW_JWT_BAD_ALG);
    /* Without a kid, in a set of one key: still the key's algorithm that counts. */
    gw_jwt_policy_t p = jwt_fx_policy();
    gw_jwt_claims_t c;
    assert_result(gw_jwt_verify(b.data, b.len, jwt_fx.one_key, &p, &c), GW_JWT_BAD_ALG);
    /* "None", "NONE" and a missing alg too. */
    assert_result(
        jwt_fx_verify_header("{\"alg\":\"None\",\"kid\":\"rs256\"}", jwt_fx.rsa, GW_JWS_RS256),
        GW_JWT_BAD_ALG);
    assert_result(jwt_fx_verify_header("{\"kid\":\"rs256\"}", jwt_fx.rsa, GW_JWS_RS256),
                  GW_JWT_BAD_ALG);
    assert_result(jwt_fx_verify_header("{\"alg\":7,\"kid\":\"rs256\"}", jwt_fx.rsa, GW_JWS_RS256),
                  GW_JWT_BAD_ALG);
    gw_buf_fini(&b);
}

/* The classic confusion: HS256 keyed with the bytes of the RSA public key the verifier holds. */
static void test_hs256_with_public_key(void **state)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, jwt_fx.rsa), 1);
    char *pem = NULL;
    long pemlen = BIO_get_mem_data(bio, &pem);
    gw_buf_t b;
    gw_buf_init(&b);
    const char *h = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"rs256\"}";
    jwt_sample_b64(&b, h, strlen(h));
    gw_buf_appends(&b, ".");
    jwt_sample_b64(&b, jwt_fx_payload(""), strlen(jwt_fx_payload("")));
    uint8_t mac[64];
    size_t maclen = 0;
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, (size_t)pemlen,
                              (const uint8_t *)b.data, b.len, mac, sizeof(mac), &maclen));
    gw_buf_appends(&b, ".");
    jwt_sample_b64(&b, mac, maclen);
    assert_result(jwt_fx_verify(b.data), GW_JWT_BAD_ALG);
    gw_buf_fini(&b);
    BIO_free(bio);
}

/* A header signed with a key under an algorithm, and what verifying it gives. */
static void test_alg_and_kid_mismatch(void **state)
{
    static const header_case_t cases[] = {
        /* Signed with the right key under another algorithm the key could do. */
        {"{\"alg\":\"RS384\",\"kid\":\"rs256\"}", &jwt_fx.rsa, GW_JWS_RS384, GW_JWT_BAD_ALG},
        /* PS256 named, the kid's key is for RS256. */
        {"{\"alg\":\"PS256\",\"kid\":\"rs256\"}", &jwt_fx.rsa, GW_JWS_PS256, GW_JWT_BAD_ALG},
        /* ES256 named on an RSA kid, EdDSA on an EC one, ES384 on a P-256 one. */
        {"{\"alg\":\"ES256\",\"kid\":\"rs256\"}", &jwt_fx.p256, GW_JWS_ES256, GW_JWT_BAD_ALG},
        {"{\"alg\":\"EdDSA\",\"kid\":\"es256\"}", &jwt_fx.ed, GW_JWS_EDDSA, GW_JWT_BAD_ALG},
        {"{\"alg\":\"ES384\",\"kid\":\"es256\"}", &jwt_fx.p384, GW_JWS_ES384, GW_JWT_BAD_ALG},
        /* The header says PS256 for the PS256 kid, but the signature is PKCS#1 v1.5. */
        {"{\"alg\":\"PS256\",\"kid\":\"ps256\"}", &jwt_fx.rsa, GW_JWS_RS256, GW_JWT_BAD_SIGNATURE},
        /* The kid of one key, signed by another key of the same type. */
        {"{\"alg\":\"RS256\",\"kid\":\"rs256\"}", &jwt_fx.other_rsa, GW_JWS_RS256,
         GW_JWT_BAD_SIGNATURE},
    };
    jwt_fx_check_headers(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_kid(void **state)
{
    static const header_case_t cases[] = {
        {"{\"alg\":\"RS256\",\"kid\":\"nope\"}", &jwt_fx.rsa, GW_JWS_RS256, GW_JWT_UNKNOWN_KID},
        {"{\"alg\":\"RS256\",\"kid\":\"\"}", &jwt_fx.rsa, GW_JWS_RS256, GW_JWT_UNKNOWN_KID},
        /* kids are compared byte for byte */
        {"{\"alg\":\"RS256\",\"kid\":\"RS256\"}", &jwt_fx.rsa, GW_JWS_RS256, GW_JWT_UNKNOWN_KID},
        {"{\"alg\":\"RS256\",\"kid\":\"rs256 \"}", &jwt_fx.rsa, GW_JWS_RS256, GW_JWT_UNKNOWN_KID},
        /* No kid in a set of several keys. */
        {"{\"alg\":\"RS256\"}", &jwt_fx.rsa, GW_JWS_RS256, GW_JWT_UNKNOWN_KID},
        {"{\"alg\":\"RS256\",\"kid\":7}", &jwt_fx.rsa, GW_JWS_RS256, GW_JWT_MALFORMED},
    };
    jwt_fx_check_headers(cases, sizeof(cases) / sizeof(cases[0]));
    gw_jwt_policy_t p = jwt_fx_policy();
    gw_jwt_claims_t c;
    /* No kid in a set of one key: that key. */
    char *t = jwt_fx_sign(jwt_fx.p256, GW_JWS_ES256, "{\"alg\":\"ES256\"}", jwt_fx_payload(""));
    assert_result(gw_jwt_verify(t, strlen(t), jwt_fx.one_key, &p, &c), GW_JWT_OK);
    gw_jwt_claims_fini(&c);
    free(t);
    /* No key set at all (an issuer whose keys never arrived). */
    t = jwt_fx_token("es256", GW_JWS_ES256, "");
    assert_result(gw_jwt_verify(t, strlen(t), NULL, &p, &c), GW_JWT_UNKNOWN_KID);
    free(t);
    /* In a set where one key has no kid, neither "kid": "" nor no kid reaches it. */
    gw_buf_t b;
    gw_jwks_t *mixed = NULL;
    char err[200];
    gw_buf_init(&b);
    gw_buf_appends(&b, "{\"keys\":[");
    jwt_sample_jwk(&b, jwt_fx.p256, NULL, NULL, NULL);
    gw_buf_appends(&b, ",");
    jwt_sample_jwk(&b, jwt_fx.ed, "ed", NULL, NULL);
    gw_buf_appends(&b, "]}");
    assert_int_equal(gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_ALL, &mixed, err, sizeof(err)),
                     GW_OK);
    t = jwt_fx_sign(jwt_fx.p256, GW_JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"\"}",
                    jwt_fx_payload(""));
    assert_result(gw_jwt_verify(t, strlen(t), mixed, &p, &c), GW_JWT_UNKNOWN_KID);
    free(t);
    t = jwt_fx_sign(jwt_fx.p256, GW_JWS_ES256, "{\"alg\":\"ES256\"}", jwt_fx_payload(""));
    assert_result(gw_jwt_verify(t, strlen(t), mixed, &p, &c), GW_JWT_UNKNOWN_KID);
    free(t);
    gw_jwks_destroy(mixed);
    gw_buf_fini(&b);
}

static void test_bit_flips_and_truncation(void **state)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    gw_jws_alg_t algs[] = {GW_JWS_RS256, GW_JWS_ES256, GW_JWS_EDDSA};
    const char *names[] = {"rs256", "es256", "ed"};
    for (size_t a = 0; a < 3; a++) {
        char *t = jwt_fx_token(names[a], algs[a], "");
        size_t n = strlen(t);
        assert_result(jwt_fx_verify(t), GW_JWT_OK);
        int part = 0;
        for (size_t i = 0; i < n; i++) {
            if (t[i] == '.') {
                part++;
                continue;
            }
            char was = t[i];
            /* The low bit of the character's value: the smallest change base64url can carry. */
            const char *pos = strchr(alphabet, was);
            t[i] = alphabet[(size_t)(pos - alphabet) ^ 1];
            gw_jwt_result_t r = jwt_fx_verify(t);
            if (r == GW_JWT_OK) {
                print_error("%s: change at %zu (part %d) verified\n", names[a], i, part);
            }
            assert_true(r != GW_JWT_OK);
            if (part == 2) {
                assert_true(r == GW_JWT_BAD_SIGNATURE || r == GW_JWT_MALFORMED);
            }
            t[i] = was;
        }
        for (size_t cut = 0; cut < n; cut++) {
            gw_jwt_claims_t c;
            gw_jwt_policy_t p = jwt_fx_policy();
            assert_true(gw_jwt_verify(t, cut, jwt_fx.set, &p, &c) != GW_JWT_OK);
        }
        free(t);
    }
}

static void test_malformed(void **state)
{
    char *t = jwt_fx_token("rs256", GW_JWS_RS256, "");
    size_t n = strlen(t);
    char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    char buf[4096];
    gw_jwt_policy_t p = jwt_fx_policy();
    gw_jwt_claims_t c;

    static const char *const shapes[] = {
        "", ".", "..", "a.b", "a.b.c.d", "a..c", ".b.c", "a.b.c.d.e.f", "a b.c.d",
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        assert_result(jwt_fx_verify(shapes[i]), GW_JWT_MALFORMED);
    }
    /* The three parts without their signature. */
    assert_result(gw_jwt_verify(t, (size_t)(d2 - t), jwt_fx.set, &p, &c), GW_JWT_MALFORMED);
    /* An empty signature. */
    assert_result(gw_jwt_verify(t, (size_t)(d2 - t) + 1, jwt_fx.set, &p, &c), GW_JWT_BAD_SIGNATURE);
    /* Padding, standard base64 characters, white space. */
    snprintf(buf, sizeof(buf), "%.*s=%s", (int)(d1 - t), t, d1);
    assert_result(jwt_fx_verify(buf), GW_JWT_MALFORMED);
    snprintf(buf, sizeof(buf), "%s==", t);
    assert_result(jwt_fx_verify(buf), GW_JWT_MALFORMED);
    snprintf(buf, sizeof(buf), "%s", t);
    buf[n - 3] = '+';
    assert_result(jwt_fx_verify(buf), GW_JWT_MALFORMED);
    buf[n - 3] = '/';
    assert_result(jwt_fx_verify(buf), GW_JWT_MALFORMED);
    snprintf(buf, sizeof(buf), " %s", t);
    assert_result(jwt_fx_verify(buf), GW_JWT_MALFORMED);
    snprintf(buf, sizeof(buf), "%s\n", t);
    assert_result(jwt_fx_verify(buf), GW_JWT_MALFORMED);
    /* Headers that are not JSON objects. */
    static const char *const headers[] = {
        "not json", "[\"alg\"]", "\"RS256\"", "{\"alg\":", "{\"alg\":\"RS256\"} x", ""};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        gw_buf_t b;
        gw_buf_init(&b);
        jwt_sample_b64(&b, headers[i], strlen(headers[i]));
        gw_buf_appendf(&b, "%s", d1);
        assert_result(jwt_fx_verify(b.data), GW_JWT_MALFORMED);
        gw_buf_fini(&b);
    }
    /* A signed payload that is not a JSON object. */
    assert_result(jwt_fx_verify_body("[1,2]"), GW_JWT_MALFORMED);
    assert_result(jwt_fx_verify_body("{\"iss\":"), GW_JWT_MALFORMED);
    /* A NUL byte in the token's text ends nothing: the length given is the token. */
    memcpy(buf, t, n + 1);
    buf[5] = '\0';
    assert_result(gw_jwt_verify(buf, n, jwt_fx.set, &p, &c), GW_JWT_MALFORMED);
    free(t);
}

static void test_size(void **state)
{
    char big[9000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char extra[9100];
    snprintf(extra, sizeof(extra), "\"pad\":\"%s\"", big);
    char *t = jwt_fx_token("rs256", GW_JWS_RS256, extra);
    gw_jwt_policy_t p = jwt_fx_policy();
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_TOO_BIG);
    p.max_size = 16384;
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_OK);
    free(t);
    t = jwt_fx_token("ed", GW_JWS_EDDSA, "");
    p.max_size = strlen(t);
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_OK);
    p.max_size = strlen(t) - 1;
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_TOO_BIG);
    free(t);
}

static void test_duplicate_members(void **state)
{
    assert_result(jwt_fx_verify_header("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"rs256\"}",
                                       jwt_fx.rsa, GW_JWS_RS256),
                  GW_JWT_DUPLICATE_KEY);
    assert_result(jwt_fx_verify_header("{\"alg\":\"RS256\",\"kid\":\"x\",\"kid\":\"rs256\"}",
                                       jwt_fx.rsa, GW_JWS_RS256),
                  GW_JWT_DUPLICATE_KEY);
    assert_result(jwt_fx_verify_claims("\"sub\":\"mallory\""), GW_JWT_DUPLICATE_KEY);
    assert_result(jwt_fx_verify_claims("\"exp\":1900000000"), GW_JWT_DUPLICATE_KEY);
    assert_result(jwt_fx_verify_claims("\"x\":{\"a\":1,\"a\":2}"), GW_JWT_DUPLICATE_KEY);
    /* Twenty members, one repeated: the sorted path. */
    char extra[1024] = "";
    for (int i = 0; i < 20; i++) {
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s\"m%d\":1",
                 i > 0 ? "," : "", i == 19 ? 3 : i);
    }
    assert_result(jwt_fx_verify_claims(extra), GW_JWT_DUPLICATE_KEY);
    extra[strlen(extra) - 4] = '9';
    extra[strlen(extra) - 5] = '1';
    assert_result(jwt_fx_verify_claims(extra), GW_JWT_OK);
}

/* ES256 signatures must be r||s of exactly 64 bytes: DER, 63, 65 and 128 bytes are refused. */
static void test_es256_signature_length(void **state)
{
    char *t = jwt_fx_token("es256", GW_JWS_ES256, "");
    char *d2 = strrchr(t, '.');
    uint8_t sig[128];
    size_t siglen = 0;
    assert_int_equal(gw_b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig), &siglen), 0);
    assert_int_equal(siglen, 64);
    static const size_t lens[] = {0, 32, 63, 65, 96, 128};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t s[128] = {0};
        gw_buf_t b;
        gw_buf_init(&b);
        /* A leading zero for 65, the signature twice for 128, else cut. */
        if (lens[i] == 65) {
            memcpy(s + 1, sig, 64);
        } else if (lens[i] == 128) {
            memcpy(s, sig, 64);
            memcpy(s + 64, sig, 64);
        } else {
            memcpy(s, sig, lens[i] < 64 ? lens[i] : 64);
        }
        gw_buf_append(&b, t, (size_t)(d2 - t) + 1);
        jwt_sample_b64(&b, s, lens[i]);
        assert_result(jwt_fx_verify(b.data), GW_JWT_BAD_SIGNATURE);
        gw_buf_fini(&b);
    }
    /* The same signature in DER, as OpenSSL writes it. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[128];
    size_t derlen = sizeof(der);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, jwt_fx.p256), 1);
    assert_int_equal(EVP_DigestSign(md, der, &derlen, (const uint8_t *)t, (size_t)(d2 - t)), 1);
    EVP_MD_CTX_free(md);
    gw_buf_t b;
    gw_buf_init(&b);
    gw_buf_append(&b, t, (size_t)(d2 - t) + 1);
    jwt_sample_b64(&b, der, derlen);
    assert_result(jwt_fx_verify(b.data), GW_JWT_BAD_SIGNATURE);
    gw_buf_fini(&b);
    /* r and s swapped. */
    uint8_t swapped[64];
    memcpy(swapped, sig + 32, 32);
    memcpy(swapped + 32, sig, 32);
    gw_buf_init(&b);
    gw_buf_append(&b, t, (size_t)(d2 - t) + 1);
    jwt_sample_b64(&b, swapped, 64);
    assert_result(jwt_fx_verify(b.data), GW_JWT_BAD_SIGNATURE);
    gw_buf_fini(&b);
    free(t);
}

static void test_crit_jwe_typ(void **state)
{
    assert_result(jwt_fx_verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"crit\":[\"exp\"],"
                                       "\"exp\":1}",
                                       jwt_fx.rsa, GW_JWS_RS256),
                  GW_JWT_CRIT);
    assert_result(jwt_fx_verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"b64\":false,"
                                       "\"crit\":[\"b64\"]}",
                                       jwt_fx.rsa, GW_JWS_RS256),
                  GW_JWT_CRIT);
    assert_result(jwt_fx_verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"crit\":[]}",
                                       jwt_fx.rsa, GW_JWS_RS256),
                  GW_JWT_CRIT);
    /* A JWE (RFC 7516 compact form: five parts). */
    assert_result(
        jwt_fx_verify("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn"),
        GW_JWT_JWE);
    static const struct {
        const char *typ;
        gw_jwt_result_t want;
    } typs[] = {
        {"\"JWT\"", GW_JWT_OK},
        {"\"jwt\"", GW_JWT_OK},
        {"\"at+jwt\"", GW_JWT_OK},
        {"\"AT+JWT\"", GW_JWT_OK},
        {"\"application/at+jwt\"", GW_JWT_OK},
        {"\"application/jwt\"", GW_JWT_OK},
        {"\"JOSE\"", GW_JWT_BAD_TYPE},
        {"\"JWS\"", GW_JWT_BAD_TYPE},
        {"\"secevent+jwt\"", GW_JWT_BAD_TYPE},
        {"\"\"", GW_JWT_BAD_TYPE},
        {"1", GW_JWT_BAD_TYPE},
        {"null", GW_JWT_BAD_TYPE},
    };
    for (size_t i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
        char h[128];
        snprintf(h, sizeof(h), "{\"alg\":\"RS256\",\"kid\":\"rs256\",\"typ\":%s}", typs[i].typ);
        assert_result(jwt_fx_verify_header(h, jwt_fx.rsa, GW_JWS_RS256), typs[i].want);
    }
    assert_result(jwt_fx_verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"cty\":\"JWT\"}",
                                       jwt_fx.rsa, GW_JWS_RS256),
                  GW_JWT_BAD_TYPE);
    /* No typ at all is fine. */
    assert_result(
        jwt_fx_verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\"}", jwt_fx.rsa, GW_JWS_RS256),
        GW_JWT_OK);
}

static void test_peek(void **state)
{
    gw_jwt_peek_t pk;
    char *t = jwt_fx_token("es384", GW_JWS_ES384, "");
    assert_result(gw_jwt_peek(t, strlen(t), 0, &pk), GW_JWT_OK);
    assert_string_equal(pk.iss, ISS);
    assert_true(pk.has_kid);
    assert_string_equal(pk.kid, "es384");
    assert_int_equal(pk.kidlen, 5);
    free(t);
    /* Unverified: a forged signature peeks the same. */
    t = jwt_fx_sign(jwt_fx.other_rsa, GW_JWS_RS256, "{\"alg\":\"RS256\"}",
                    "{\"iss\":\"https://x\"}");
    assert_result(gw_jwt_peek(t, strlen(t), 0, &pk), GW_JWT_OK);
    assert_string_equal(pk.iss, "https://x");
    assert_false(pk.has_kid);
    assert_string_equal(pk.kid, "");
    assert_result(gw_jwt_peek(t, strlen(t), 10, &pk), GW_JWT_TOO_BIG);
    free(t);
    assert_result(gw_jwt_peek("a.b.c.d.e", 9, 0, &pk), GW_JWT_JWE);
    assert_result(gw_jwt_peek("a.b", 3, 0, &pk), GW_JWT_MALFORMED);
    t = jwt_fx_sign(jwt_fx.rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":1}", "{}");
    assert_result(gw_jwt_peek(t, strlen(t), 0, &pk), GW_JWT_MALFORMED);
    free(t);
    t = jwt_fx_sign(jwt_fx.rsa, GW_JWS_RS256, "{\"alg\":\"RS256\"}",
                    "{\"iss\":\"a\",\"iss\":\"b\"}");
    assert_result(gw_jwt_peek(t, strlen(t), 0, &pk), GW_JWT_DUPLICATE_KEY);
    free(t);
}

static void test_result_names(void **state)
{
    for (int r = 0; r < GW_JWT_RESULT_COUNT; r++) {
        const char *name = gw_jwt_result_name((gw_jwt_result_t)r);
        assert_true(strcmp(name, "?") != 0);
        for (const char *c = name; *c; c++) {
            assert_true((*c >= 'a' && *c <= 'z') || *c == '_'); /* a metric label as is */
        }
    }
    assert_string_equal(gw_jwt_result_name(GW_JWT_RESULT_COUNT), "?");
    assert_string_equal(gw_jwt_result_name(GW_JWT_UNKNOWN_KID), "unknown_kid");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_algorithm_verifies),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_hs256_with_public_key),
        cmocka_unit_test(test_alg_and_kid_mismatch),
        cmocka_unit_test(test_kid),
        cmocka_unit_test(test_bit_flips_and_truncation),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_duplicate_members),
        cmocka_unit_test(test_es256_signature_length),
        cmocka_unit_test(test_crit_jwe_typ),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_result_names),
    };
    return cmocka_run_group_tests(tests, jwt_fx_setup, jwt_fx_teardown);
}
