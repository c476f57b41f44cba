/* jwt_test.c: unit tests of JWT verification: every algorithm verifies a token signed here with
 * OpenSSL, and each refusal (alg none, HS256 keyed with the RSA public key, alg and kid
 * mismatches, iss, aud, exp, nbf and iat with leeway, bit flips, truncation, malformed parts,
 * size, duplicate members, ES256 signature lengths, crit, JWE, typ, sub) has its own case. */
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

#include "common/base64url.h"
#include "common/jwt.h"
#include "common/jwt_sample.h"
#include "common/token.h"

#define NOW 1750000000
#define ISS "https://idp.example.com"
#define AUD "https://mcp.example.com/mcp"

static const char *const audiences[] = {"https://other.example.com", AUD};

/* One key per algorithm (the RSA key under four kids, one algorithm each), in one set. */
static const struct {
    const char *kid;
    gw_jws_alg_t alg;
} kids[] = {
    {"rs256", GW_JWS_RS256}, {"rs384", GW_JWS_RS384}, {"rs512", GW_JWS_RS512},
    {"ps256", GW_JWS_PS256}, {"es256", GW_JWS_ES256}, {"es384", GW_JWS_ES384},
    {"ed", GW_JWS_EDDSA},
};
#define NKIDS (sizeof(kids) / sizeof(kids[0]))

static EVP_PKEY *rsa, *p256, *p384, *ed, *other_rsa;
static gw_jwks_t *set;     /* every kid above */
static gw_jwks_t *one_key; /* es256 alone */

static EVP_PKEY *key_of(gw_jws_alg_t alg)
{
    return alg == GW_JWS_ES256 ? p256 : alg == GW_JWS_ES384 ? p384 : alg == GW_JWS_EDDSA ? ed : rsa;
}

static int setup(void **state)
{
    char err[200] = "";
    gw_buf_t b;
    rsa = jwt_sample_key(GW_JWS_RS256, 2048);
    other_rsa = jwt_sample_key(GW_JWS_RS256, 2048);
    p256 = jwt_sample_key(GW_JWS_ES256, 0);
    p384 = jwt_sample_key(GW_JWS_ES384, 0);
    ed = jwt_sample_key(GW_JWS_EDDSA, 0);
    if (!rsa || !other_rsa || !p256 || !p384 || !ed) {
        return -1;
    }
    gw_buf_init(&b);
    gw_buf_appends(&b, "{\"keys\":[");
    for (size_t i = 0; i < NKIDS; i++) {
        gw_buf_appends(&b, i > 0 ? "," : "");
        jwt_sample_jwk(&b, key_of(kids[i].alg), kids[i].kid, gw_jws_alg_name(kids[i].alg), NULL);
    }
    gw_buf_appends(&b, "]}");
    gw_err_t rc = gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_ALL, &set, err, sizeof(err));
    gw_buf_reset(&b);
    gw_buf_appends(&b, "{\"keys\":[");
    jwt_sample_jwk(&b, p256, "es256", NULL, NULL);
    gw_buf_appends(&b, "]}");
    if (rc == GW_OK) {
        rc = gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_ALL, &one_key, err, sizeof(err));
    }
    gw_buf_fini(&b);
    if (rc != GW_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    return gw_jwks_count(set) == NKIDS ? 0 : -1;
}

static int teardown(void **state)
{
    gw_jwks_destroy(set);
    gw_jwks_destroy(one_key);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(other_rsa);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
    return 0;
}

static gw_jwt_policy_t policy(void)
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
static char *payload(const char *extra)
{
    static char p[16384];
    snprintf(p, sizeof(p),
             "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\",\"exp\":%d,\"iat\":%d,"
             "\"scope\":\"tools prompts\",\"jti\":\"j-1\"%s%s}",
             NOW + 300, NOW - 10, extra[0] != '\0' ? "," : "", extra);
    return p;
}

/* A token signed by key under alg with the header's JSON text. The caller frees it. */
static char *sign_with(EVP_PKEY *key, gw_jws_alg_t alg, const char *header, const char *body)
{
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(jwt_sample_token(&b, key, alg, header, body), GW_OK);
    return gw_buf_steal(&b, NULL);
}

/* A token for kid signed as its key's algorithm says, the payload's extra members given. */
static char *token(const char *kid, gw_jws_alg_t alg, const char *extra)
{
    char header[256];
    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
             gw_jws_alg_name(alg), kid);
    return sign_with(key_of(alg), alg, header, payload(extra));
}

static gw_jwt_result_t verify_p(const char *tok, const gw_jwt_policy_t *p)
{
    gw_jwt_claims_t c;
    gw_jwt_result_t r = gw_jwt_verify(tok, strlen(tok), set, p, &c);
    if (r == GW_JWT_OK) {
        assert_non_null(c.payload);
        gw_jwt_claims_fini(&c);
    } else {
        assert_null(c.payload);
        assert_null(c.scope);
    }
    return r;
}

static gw_jwt_result_t verify(const char *tok)
{
    gw_jwt_policy_t p = policy();
    return verify_p(tok, &p);
}

/* The payload's extra members in a token of kid rs256, verified. */
static gw_jwt_result_t verify_claims(const char *extra)
{
    char *t = token("rs256", GW_JWS_RS256, extra);
    gw_jwt_result_t r = verify(t);
    free(t);
    return r;
}

/* A payload of exactly the given text (not payload()), signed as rs256, verified. */
static gw_jwt_result_t verify_body(const char *body)
{
    char *t = sign_with(rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}", body);
    gw_jwt_result_t r = verify(t);
    free(t);
    return r;
}

/* A header of exactly the given text, signed with key under alg, verified. */
static gw_jwt_result_t verify_header(const char *header, EVP_PKEY *key, gw_jws_alg_t alg)
{
    char *t = sign_with(key, alg, header, payload(""));
    gw_jwt_result_t r = verify(t);
    free(t);
    return r;
}

#define assert_result(got, want)                                                                   \
    assert_string_equal(gw_jwt_result_name(got), gw_jwt_result_name(want))

static void test_every_algorithm_verifies(void **state)
{
    for (size_t i = 0; i < NKIDS; i++) {
        char *t = token(kids[i].kid, kids[i].alg, "\"tenant\":\"t1\"");
        gw_jwt_policy_t p = policy();
        gw_jwt_claims_t c;
        gw_jwt_result_t r = gw_jwt_verify(t, strlen(t), set, &p, &c);
        if (r != GW_JWT_OK) {
            print_error("%s: %s\n", kids[i].kid, gw_jwt_result_name(r));
        }
        assert_result(r, GW_JWT_OK);
        assert_string_equal(c.iss, ISS);
        assert_string_equal(c.sub, "alice");
        assert_string_equal(c.jti, "j-1");
        assert_string_equal(c.scope, "tools prompts");
        assert_true(c.exp == NOW + 300);
        assert_true(c.iat == NOW - 10);
        assert_true(c.nbf == 0);
        assert_string_equal(c.key->kid, kids[i].kid);
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
    jwt_sample_b64(&b, payload(""), strlen(payload("")));
    gw_buf_appends(&b, ".");
    assert_result(verify(b.data), GW_JWT_BAD_ALG);
    /* Without a kid, in a set of one key: still the key's algorithm that counts. */
    gw_jwt_policy_t p = policy();
    gw_jwt_claims_t c;
    assert_result(gw_jwt_verify(b.data, b.len, one_key, &p, &c), GW_JWT_BAD_ALG);
    /* "None", "NONE" and a missing alg too. */
    assert_result(verify_header("{\"alg\":\"None\",\"kid\":\"rs256\"}", rsa, GW_JWS_RS256),
                  GW_JWT_BAD_ALG);
    assert_result(verify_header("{\"kid\":\"rs256\"}", rsa, GW_JWS_RS256), GW_JWT_BAD_ALG);
    assert_result(verify_header("{\"alg\":7,\"kid\":\"rs256\"}", rsa, GW_JWS_RS256),
                  GW_JWT_BAD_ALG);
    gw_buf_fini(&b);
}

/* The classic confusion: HS256 keyed with the bytes of the RSA public key the verifier holds. */
static void test_hs256_with_public_key(void **state)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, rsa), 1);
    char *pem = NULL;
    long pemlen = BIO_get_mem_data(bio, &pem);
    gw_buf_t b;
    gw_buf_init(&b);
    const char *h = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"rs256\"}";
    jwt_sample_b64(&b, h, strlen(h));
    gw_buf_appends(&b, ".");
    jwt_sample_b64(&b, payload(""), strlen(payload("")));
    uint8_t mac[64];
    size_t maclen = 0;
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, (size_t)pemlen,
                              (const uint8_t *)b.data, b.len, mac, sizeof(mac), &maclen));
    gw_buf_appends(&b, ".");
    jwt_sample_b64(&b, mac, maclen);
    assert_result(verify(b.data), GW_JWT_BAD_ALG);
    gw_buf_fini(&b);
    BIO_free(bio);
}

static void test_alg_and_kid_mismatch(void **state)
{
    /* Signed with the right key under another algorithm the key could do (RS384 on rs256). */
    assert_result(verify_header("{\"alg\":\"RS384\",\"kid\":\"rs256\"}", rsa, GW_JWS_RS384),
                  GW_JWT_BAD_ALG);
    /* PS256 named, the kid's key is for RS256. */
    assert_result(verify_header("{\"alg\":\"PS256\",\"kid\":\"rs256\"}", rsa, GW_JWS_PS256),
                  GW_JWT_BAD_ALG);
    /* ES256 named on an RSA kid, EdDSA on an EC one. */
    assert_result(verify_header("{\"alg\":\"ES256\",\"kid\":\"rs256\"}", p256, GW_JWS_ES256),
                  GW_JWT_BAD_ALG);
    assert_result(verify_header("{\"alg\":\"EdDSA\",\"kid\":\"es256\"}", ed, GW_JWS_EDDSA),
                  GW_JWT_BAD_ALG);
    /* The header says PS256 for the PS256 kid, but the signature is PKCS#1 v1.5. */
    assert_result(verify_header("{\"alg\":\"PS256\",\"kid\":\"ps256\"}", rsa, GW_JWS_RS256),
                  GW_JWT_BAD_SIGNATURE);
    /* The kid of one key, signed by another key of the same type. */
    assert_result(verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\"}", other_rsa, GW_JWS_RS256),
                  GW_JWT_BAD_SIGNATURE);
    assert_result(verify_header("{\"alg\":\"ES384\",\"kid\":\"es256\"}", p384, GW_JWS_ES384),
                  GW_JWT_BAD_ALG);
}

static void test_kid(void **state)
{
    gw_jwt_policy_t p = policy();
    gw_jwt_claims_t c;
    assert_result(verify_header("{\"alg\":\"RS256\",\"kid\":\"nope\"}", rsa, GW_JWS_RS256),
                  GW_JWT_UNKNOWN_KID);
    assert_result(verify_header("{\"alg\":\"RS256\",\"kid\":\"\"}", rsa, GW_JWS_RS256),
                  GW_JWT_UNKNOWN_KID);
    assert_result(verify_header("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", rsa, GW_JWS_RS256),
                  GW_JWT_UNKNOWN_KID); /* kids are compared byte for byte */
    /* No kid: unknown in a set of several keys, the key in a set of one. */
    assert_result(verify_header("{\"alg\":\"RS256\"}", rsa, GW_JWS_RS256), GW_JWT_UNKNOWN_KID);
    char *t = sign_with(p256, GW_JWS_ES256, "{\"alg\":\"ES256\"}", payload(""));
    assert_result(gw_jwt_verify(t, strlen(t), one_key, &p, &c), GW_JWT_OK);
    gw_jwt_claims_fini(&c);
    free(t);
    assert_result(verify_header("{\"alg\":\"RS256\",\"kid\":7}", rsa, GW_JWS_RS256),
                  GW_JWT_MALFORMED);
    /* No key set at all (an issuer whose keys never arrived). */
    t = token("es256", GW_JWS_ES256, "");
    assert_result(gw_jwt_verify(t, strlen(t), NULL, &p, &c), GW_JWT_UNKNOWN_KID);
    free(t);
    /* In a set where one key has no kid, neither "kid": "" nor no kid reaches it. */
    gw_buf_t b;
    gw_jwks_t *mixed = NULL;
    char err[200];
    gw_buf_init(&b);
    gw_buf_appends(&b, "{\"keys\":[");
    jwt_sample_jwk(&b, p256, NULL, NULL, NULL);
    gw_buf_appends(&b, ",");
    jwt_sample_jwk(&b, ed, "ed", NULL, NULL);
    gw_buf_appends(&b, "]}");
    assert_int_equal(gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_ALL, &mixed, err, sizeof(err)),
                     GW_OK);
    t = sign_with(p256, GW_JWS_ES256, "{\"alg\":\"ES256\",\"kid\":\"\"}", payload(""));
    assert_result(gw_jwt_verify(t, strlen(t), mixed, &p, &c), GW_JWT_UNKNOWN_KID);
    free(t);
    t = sign_with(p256, GW_JWS_ES256, "{\"alg\":\"ES256\"}", payload(""));
    assert_result(gw_jwt_verify(t, strlen(t), mixed, &p, &c), GW_JWT_UNKNOWN_KID);
    free(t);
    gw_jwks_destroy(mixed);
    gw_buf_fini(&b);
}

static void test_issuer(void **state)
{
    assert_result(verify_body("{\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300}"),
                  GW_JWT_BAD_ISSUER);
    assert_result(verify_claims("\"iss\":\"x\"") /* a second iss: duplicate */,
                  GW_JWT_DUPLICATE_KEY);
    static const char *const wrong[] = {"https://idp.example.com/", "https://IDP.example.com",
                                        "https://idp.example.co", "https://evil.example.com", ""};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"iss\":\"%s\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300}", wrong[i]);
        assert_result(verify_body(body), GW_JWT_BAD_ISSUER);
    }
    assert_result(verify_body("{\"iss\":7,\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300}"),
                  GW_JWT_BAD_ISSUER);
    /* An iss with \u0000 after the right one is not the right one. */
    assert_result(verify_body("{\"iss\":\"" ISS "\\u0000x\",\"sub\":\"a\",\"aud\":\"" AUD
                              "\",\"exp\":1750000300}"),
                  GW_JWT_MALFORMED);
    gw_jwt_policy_t p = policy();
    p.issuer = NULL;
    char *t = token("rs256", GW_JWS_RS256, "");
    assert_result(verify_p(t, &p), GW_JWT_BAD_ISSUER);
    free(t);
}

static void test_audience(void **state)
{
    const char *base = "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"exp\":1750000300";
    char body[512];
    static const struct {
        const char *aud;
        gw_jwt_result_t want;
    } cases[] = {
        {"", GW_JWT_BAD_AUDIENCE},
        {",\"aud\":\"https://mcp.example.com\"", GW_JWT_BAD_AUDIENCE},
        {",\"aud\":\"https://mcp.example.com/mcp/\"", GW_JWT_BAD_AUDIENCE},
        {",\"aud\":[]", GW_JWT_BAD_AUDIENCE},
        {",\"aud\":[\"a\",\"b\"]", GW_JWT_BAD_AUDIENCE},
        {",\"aud\":7", GW_JWT_BAD_AUDIENCE},
        {",\"aud\":[7,\"" AUD "\"]", GW_JWT_OK},
        {",\"aud\":[\"a\",\"" AUD "\"]", GW_JWT_OK},
        {",\"aud\":\"https://other.example.com\"", GW_JWT_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "%s%s}", base, cases[i].aud);
        assert_result(verify_body(body), cases[i].want);
    }
    gw_jwt_policy_t p = policy();
    p.naudiences = 0;
    char *t = token("rs256", GW_JWS_RS256, "");
    assert_result(verify_p(t, &p), GW_JWT_BAD_AUDIENCE);
    free(t);
}

/* exp, nbf and iat against now with the leeway, both ways. */
static void test_times_and_leeway(void **state)
{
    static const struct {
        const char *claims;
        gw_jwt_result_t want;
    } cases[] = {
        {"\"exp\":1749999939", GW_JWT_EXPIRED}, /* now - 61 */
        {"\"exp\":1749999940", GW_JWT_EXPIRED}, /* now - 60: exp + leeway is not after now */
        {"\"exp\":1749999941", GW_JWT_OK},      /* now - 59 */
        {"\"exp\":1750000001", GW_JWT_OK},
        {"\"exp\":1750000001.5", GW_JWT_OK}, /* NumericDates may have fractions */
        {"\"exp\":\"1750000300\"", GW_JWT_MALFORMED},
        {"\"exp\":-1", GW_JWT_MALFORMED},
        {"\"exp\":1e300", GW_JWT_MALFORMED},
        {"\"exp\":99999999999999999999999", GW_JWT_MALFORMED},
        {"\"exp\":1750000300,\"nbf\":1750000061", GW_JWT_NOT_YET_VALID}, /* now + 61 */
        {"\"exp\":1750000300,\"nbf\":1750000060", GW_JWT_OK},            /* now + 60 */
        {"\"exp\":1750000300,\"nbf\":1749990000", GW_JWT_OK},
        {"\"exp\":1750000300,\"nbf\":null", GW_JWT_MALFORMED},
        {"\"exp\":1750000300,\"iat\":1750000120", GW_JWT_NOT_YET_VALID}, /* issued in 2 min */
        {"\"exp\":1750000300,\"iat\":1750000059", GW_JWT_OK},
        {"\"exp\":1750000300,\"iat\":\"x\"", GW_JWT_MALFORMED},
        {"\"nbf\":1749990000", GW_JWT_NO_EXPIRY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body), "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",%s}",
                 cases[i].claims);
        gw_jwt_result_t r = verify_body(body);
        if (r != cases[i].want) {
            print_error("%s: %s\n", cases[i].claims, gw_jwt_result_name(r));
        }
        assert_result(r, cases[i].want);
    }
    /* Without leeway, a minute late is too late. */
    char *t =
        sign_with(rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
                  "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1749999990}");
    gw_jwt_policy_t p = policy();
    assert_result(verify_p(t, &p), GW_JWT_OK);
    p.leeway_s = 0;
    assert_result(verify_p(t, &p), GW_JWT_EXPIRED);
    p.leeway_s = INT64_MAX; /* clamped: no overflow */
    assert_result(verify_p(t, &p), GW_JWT_OK);
    free(t);
}

/* Every single-character change anywhere in the token, and every truncation, is refused. */
static void test_bit_flips_and_truncation(void **state)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    gw_jws_alg_t algs[] = {GW_JWS_RS256, GW_JWS_ES256, GW_JWS_EDDSA};
    const char *names[] = {"rs256", "es256", "ed"};
    for (size_t a = 0; a < 3; a++) {
        char *t = token(names[a], algs[a], "");
        size_t n = strlen(t);
        assert_result(verify(t), GW_JWT_OK);
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
            gw_jwt_result_t r = verify(t);
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
            gw_jwt_policy_t p = policy();
            assert_true(gw_jwt_verify(t, cut, set, &p, &c) != GW_JWT_OK);
        }
        free(t);
    }
}

static void test_malformed(void **state)
{
    char *t = token("rs256", GW_JWS_RS256, "");
    size_t n = strlen(t);
    char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    char buf[4096];
    gw_jwt_policy_t p = policy();
    gw_jwt_claims_t c;

    static const char *const shapes[] = {
        "", ".", "..", "a.b", "a.b.c.d", "a..c", ".b.c", "a.b.c.d.e.f", "a b.c.d",
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        assert_result(verify(shapes[i]), GW_JWT_MALFORMED);
    }
    /* The three parts without their signature. */
    assert_result(gw_jwt_verify(t, (size_t)(d2 - t), set, &p, &c), GW_JWT_MALFORMED);
    /* An empty signature. */
    assert_result(gw_jwt_verify(t, (size_t)(d2 - t) + 1, set, &p, &c), GW_JWT_BAD_SIGNATURE);
    /* Padding, standard base64 characters, white space. */
    snprintf(buf, sizeof(buf), "%.*s=%s", (int)(d1 - t), t, d1);
    assert_result(verify(buf), GW_JWT_MALFORMED);
    snprintf(buf, sizeof(buf), "%s==", t);
    assert_result(verify(buf), GW_JWT_MALFORMED);
    snprintf(buf, sizeof(buf), "%s", t);
    buf[n - 3] = '+';
    assert_result(verify(buf), GW_JWT_MALFORMED);
    buf[n - 3] = '/';
    assert_result(verify(buf), GW_JWT_MALFORMED);
    snprintf(buf, sizeof(buf), " %s", t);
    assert_result(verify(buf), GW_JWT_MALFORMED);
    snprintf(buf, sizeof(buf), "%s\n", t);
    assert_result(verify(buf), GW_JWT_MALFORMED);
    /* Headers that are not JSON objects. */
    static const char *const headers[] = {
        "not json", "[\"alg\"]", "\"RS256\"", "{\"alg\":", "{\"alg\":\"RS256\"} x", ""};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        gw_buf_t b;
        gw_buf_init(&b);
        jwt_sample_b64(&b, headers[i], strlen(headers[i]));
        gw_buf_appendf(&b, "%s", d1);
        assert_result(verify(b.data), GW_JWT_MALFORMED);
        gw_buf_fini(&b);
    }
    /* A signed payload that is not a JSON object. */
    assert_result(verify_body("[1,2]"), GW_JWT_MALFORMED);
    assert_result(verify_body("{\"iss\":"), GW_JWT_MALFORMED);
    /* A NUL byte in the token's text ends nothing: the length given is the token. */
    memcpy(buf, t, n + 1);
    buf[5] = '\0';
    assert_result(gw_jwt_verify(buf, n, set, &p, &c), GW_JWT_MALFORMED);
    free(t);
}

static void test_size(void **state)
{
    char big[9000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char extra[9100];
    snprintf(extra, sizeof(extra), "\"pad\":\"%s\"", big);
    char *t = token("rs256", GW_JWS_RS256, extra);
    gw_jwt_policy_t p = policy();
    assert_result(verify_p(t, &p), GW_JWT_TOO_BIG);
    p.max_size = 16384;
    assert_result(verify_p(t, &p), GW_JWT_OK);
    free(t);
    t = token("ed", GW_JWS_EDDSA, "");
    p.max_size = strlen(t);
    assert_result(verify_p(t, &p), GW_JWT_OK);
    p.max_size = strlen(t) - 1;
    assert_result(verify_p(t, &p), GW_JWT_TOO_BIG);
    free(t);
}

static void test_duplicate_members(void **state)
{
    assert_result(
        verify_header("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"rs256\"}", rsa, GW_JWS_RS256),
        GW_JWT_DUPLICATE_KEY);
    assert_result(
        verify_header("{\"alg\":\"RS256\",\"kid\":\"x\",\"kid\":\"rs256\"}", rsa, GW_JWS_RS256),
        GW_JWT_DUPLICATE_KEY);
    assert_result(verify_claims("\"sub\":\"mallory\""), GW_JWT_DUPLICATE_KEY);
    assert_result(verify_claims("\"exp\":1900000000"), GW_JWT_DUPLICATE_KEY);
    assert_result(verify_claims("\"x\":{\"a\":1,\"a\":2}"), GW_JWT_DUPLICATE_KEY);
    /* Twenty members, one repeated: the sorted path. */
    char extra[1024] = "";
    for (int i = 0; i < 20; i++) {
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s\"m%d\":1",
                 i > 0 ? "," : "", i == 19 ? 3 : i);
    }
    assert_result(verify_claims(extra), GW_JWT_DUPLICATE_KEY);
    extra[strlen(extra) - 4] = '9';
    extra[strlen(extra) - 5] = '1';
    assert_result(verify_claims(extra), GW_JWT_OK);
}

/* ES256 signatures must be r||s of exactly 64 bytes: DER, 63, 65 and 128 bytes are refused. */
static void test_es256_signature_length(void **state)
{
    char *t = token("es256", GW_JWS_ES256, "");
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
        assert_result(verify(b.data), GW_JWT_BAD_SIGNATURE);
        gw_buf_fini(&b);
    }
    /* The same signature in DER, as OpenSSL writes it. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[128];
    size_t derlen = sizeof(der);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, p256), 1);
    assert_int_equal(EVP_DigestSign(md, der, &derlen, (const uint8_t *)t, (size_t)(d2 - t)), 1);
    EVP_MD_CTX_free(md);
    gw_buf_t b;
    gw_buf_init(&b);
    gw_buf_append(&b, t, (size_t)(d2 - t) + 1);
    jwt_sample_b64(&b, der, derlen);
    assert_result(verify(b.data), GW_JWT_BAD_SIGNATURE);
    gw_buf_fini(&b);
    /* r and s swapped. */
    uint8_t swapped[64];
    memcpy(swapped, sig + 32, 32);
    memcpy(swapped + 32, sig, 32);
    gw_buf_init(&b);
    gw_buf_append(&b, t, (size_t)(d2 - t) + 1);
    jwt_sample_b64(&b, swapped, 64);
    assert_result(verify(b.data), GW_JWT_BAD_SIGNATURE);
    gw_buf_fini(&b);
    free(t);
}

static void test_crit_jwe_typ(void **state)
{
    assert_result(verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"crit\":[\"exp\"],"
                                "\"exp\":1}",
                                rsa, GW_JWS_RS256),
                  GW_JWT_CRIT);
    assert_result(verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"b64\":false,"
                                "\"crit\":[\"b64\"]}",
                                rsa, GW_JWS_RS256),
                  GW_JWT_CRIT);
    assert_result(
        verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"crit\":[]}", rsa, GW_JWS_RS256),
        GW_JWT_CRIT);
    /* A JWE (RFC 7516 compact form: five parts). */
    assert_result(verify("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn"),
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
        assert_result(verify_header(h, rsa, GW_JWS_RS256), typs[i].want);
    }
    assert_result(
        verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"cty\":\"JWT\"}", rsa, GW_JWS_RS256),
        GW_JWT_BAD_TYPE);
    /* No typ at all is fine. */
    assert_result(verify_header("{\"alg\":\"RS256\",\"kid\":\"rs256\"}", rsa, GW_JWS_RS256),
                  GW_JWT_OK);
}

static void test_subject_and_scope(void **state)
{
    char body[512];
    char sub[GW_SUBJECT_MAX + 1];
    memset(sub, 's', sizeof(sub));
    sub[GW_SUBJECT_MAX - 1] = '\0'; /* the longest that fits a session token */
    snprintf(body, sizeof(body),
             "{\"iss\":\"" ISS "\",\"sub\":\"%s\",\"aud\":\"" AUD "\",\"exp\":1750000300}", sub);
    assert_result(verify_body(body), GW_JWT_OK);
    sub[GW_SUBJECT_MAX - 1] = 's';
    sub[GW_SUBJECT_MAX] = '\0';
    snprintf(body, sizeof(body),
             "{\"iss\":\"" ISS "\",\"sub\":\"%s\",\"aud\":\"" AUD "\",\"exp\":1750000300}", sub);
    assert_result(verify_body(body), GW_JWT_BAD_SUBJECT);
    const char *subs[] = {"\"\"", "7", "\"a\\nb\"", "\"a\\u007fb\""};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"iss\":\"" ISS "\",\"sub\":%s,\"aud\":\"" AUD "\",\"exp\":1750000300}",
                 subs[i]);
        assert_result(verify_body(body), GW_JWT_BAD_SUBJECT);
    }
    assert_result(verify_body("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1750000300}"),
                  GW_JWT_BAD_SUBJECT);

    /* scp as an array (Azure AD, Okta) when there is no scope. */
    char *t = sign_with(rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
                        "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300,"
                        "\"scp\":[\"tools\",\"resources\"]}");
    gw_jwt_policy_t p = policy();
    gw_jwt_claims_t c;
    assert_result(gw_jwt_verify(t, strlen(t), set, &p, &c), GW_JWT_OK);
    assert_string_equal(c.scope, "tools resources");
    assert_true(gw_jwt_has_scope(&c, "resources"));
    assert_null(c.jti);
    assert_true(c.iat == 0);
    gw_jwt_claims_fini(&c);
    free(t);
    t = sign_with(rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
                  "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300}");
    assert_result(gw_jwt_verify(t, strlen(t), set, &p, &c), GW_JWT_OK);
    assert_string_equal(c.scope, "");
    assert_false(gw_jwt_has_scope(&c, "tools"));
    gw_jwt_claims_fini(&c);
    free(t);
    assert_result(verify_claims("\"scp\":[1]") /* scope wins; scp ignored */, GW_JWT_OK);
    assert_result(verify_body("{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                              "\",\"exp\":1750000300,\"scp\":[\"a\",1]}"),
                  GW_JWT_MALFORMED);
    assert_result(verify_body("{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                              "\",\"exp\":1750000300,\"scope\":[\"a\"]}"),
                  GW_JWT_MALFORMED);
    assert_result(verify_body("{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                              "\",\"exp\":1750000300,\"jti\":5}"),
                  GW_JWT_MALFORMED);
}

static void test_peek(void **state)
{
    gw_jwt_peek_t pk;
    char *t = token("es384", GW_JWS_ES384, "");
    assert_result(gw_jwt_peek(t, strlen(t), 0, &pk), GW_JWT_OK);
    assert_string_equal(pk.iss, ISS);
    assert_true(pk.has_kid);
    assert_string_equal(pk.kid, "es384");
    assert_int_equal(pk.kidlen, 5);
    free(t);
    /* Unverified: a forged signature peeks the same. */
    t = sign_with(other_rsa, GW_JWS_RS256, "{\"alg\":\"RS256\"}", "{\"iss\":\"https://x\"}");
    assert_result(gw_jwt_peek(t, strlen(t), 0, &pk), GW_JWT_OK);
    assert_string_equal(pk.iss, "https://x");
    assert_false(pk.has_kid);
    assert_string_equal(pk.kid, "");
    assert_result(gw_jwt_peek(t, strlen(t), 10, &pk), GW_JWT_TOO_BIG);
    free(t);
    assert_result(gw_jwt_peek("a.b.c.d.e", 9, 0, &pk), GW_JWT_JWE);
    assert_result(gw_jwt_peek("a.b", 3, 0, &pk), GW_JWT_MALFORMED);
    t = sign_with(rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":1}", "{}");
    assert_result(gw_jwt_peek(t, strlen(t), 0, &pk), GW_JWT_MALFORMED);
    free(t);
    t = sign_with(rsa, GW_JWS_RS256, "{\"alg\":\"RS256\"}", "{\"iss\":\"a\",\"iss\":\"b\"}");
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
        cmocka_unit_test(test_issuer),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_times_and_leeway),
        cmocka_unit_test(test_bit_flips_and_truncation),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_duplicate_members),
        cmocka_unit_test(test_es256_signature_length),
        cmocka_unit_test(test_crit_jwe_typ),
        cmocka_unit_test(test_subject_and_scope),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_result_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
