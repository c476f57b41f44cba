/* jwk_test.c: unit tests of JWK Sets: every key type read and found by kid, each unusable key
 * skipped with its reason while the others stay, and the sets refused whole. Keys are generated
 * here with OpenSSL. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jwk.h"
#include "common/jwt_sample.h"

typedef struct keys {
    EVP_PKEY *rsa, *rsa1024, *p256, *p384, *ed;
} keys_t;

static keys_t K;

static int setup(void **state)
{
    K.rsa = jwt_sample_key(GW_JWS_RS256, 2048);
    K.rsa1024 = jwt_sample_key(GW_JWS_RS256, 1024);
    K.p256 = jwt_sample_key(GW_JWS_ES256, 0);
    K.p384 = jwt_sample_key(GW_JWS_ES384, 0);
    K.ed = jwt_sample_key(GW_JWS_EDDSA, 0);
    return K.rsa && K.rsa1024 && K.p256 && K.p384 && K.ed ? 0 : -1;
}

static int teardown(void **state)
{
    EVP_PKEY_free(K.rsa);
    EVP_PKEY_free(K.rsa1024);
    EVP_PKEY_free(K.p256);
    EVP_PKEY_free(K.p384);
    EVP_PKEY_free(K.ed);
    return 0;
}

/* A set {"keys":[...]} of the JWKs jwks (already written, comma-separated). */
static gw_err_t parse_set(const char *jwks, unsigned allowed, gw_jwks_t **set, char *err,
                          size_t errlen)
{
    gw_buf_t b;
    gw_buf_init(&b);
    gw_buf_appendf(&b, "{\"keys\":[%s]}", jwks);
    assert_int_equal(gw_buf_status(&b), GW_OK);
    gw_err_t rc = gw_jwks_parse(b.data, b.len, allowed, set, err, errlen);
    gw_buf_fini(&b);
    return rc;
}

static void jwk(gw_buf_t *b, EVP_PKEY *k, const char *kid, const char *alg, const char *extra)
{
    if (b->len > 0) {
        gw_buf_appends(b, ",");
    }
    assert_int_equal(jwt_sample_jwk(b, k, kid, alg, extra), GW_OK);
}

static void test_every_key_type(void **state)
{
    gw_buf_t b;
    gw_jwks_t *set = NULL;
    char err[200] = "";
    gw_buf_init(&b);
    jwk(&b, K.rsa, "rsa", NULL, NULL);
    jwk(&b, K.rsa, "rsa-ps", "PS256", "\"use\":\"sig\"");
    jwk(&b, K.rsa, "rsa-512", "RS512", "\"key_ops\":[\"verify\"]");
    jwk(&b, K.p256, "p256", NULL, NULL);
    jwk(&b, K.p384, "p384", "ES384", NULL);
    jwk(&b, K.ed, "ed", NULL, NULL);
    assert_int_equal(parse_set(b.data, GW_JWS_ALGS_ALL, &set, err, sizeof(err)), GW_OK);
    assert_int_equal(gw_jwks_count(set), 6);
    assert_int_equal(gw_jwks_skipped_count(set), 0);
    static const struct {
        const char *kid;
        gw_jws_alg_t alg;
    } want[] = {{"rsa", GW_JWS_RS256},  {"rsa-ps", GW_JWS_PS256}, {"rsa-512", GW_JWS_RS512},
                {"p256", GW_JWS_ES256}, {"p384", GW_JWS_ES384},   {"ed", GW_JWS_EDDSA}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const gw_jwk_t *k = gw_jwks_find(set, want[i].kid, strlen(want[i].kid));
        assert_non_null(k);
        assert_int_equal(k->alg, want[i].alg);
        assert_non_null(k->pkey);
        assert_ptr_equal(gw_jwks_key(set, i), k);
    }
    assert_null(gw_jwks_find(set, "rs", 2)); /* a prefix of a kid is not the kid */
    assert_null(gw_jwks_find(set, "rsa-", 4));
    assert_null(gw_jwks_find(set, "", 0));
    assert_null(gw_jwks_key(set, 6));
    gw_jwks_destroy(set);
    gw_buf_fini(&b);
}

static void test_alg_names(void **state)
{
    gw_jws_alg_t a;
    for (unsigned i = 0; i < GW_JWS_ALG_COUNT; i++) {
        const char *name = gw_jws_alg_name((gw_jws_alg_t)i);
        assert_int_equal(gw_jws_alg_parse(name, strlen(name), &a), GW_OK);
        assert_int_equal(a, i);
    }
    assert_int_equal(gw_jws_alg_parse("none", 4, &a), GW_ENOTFOUND);
    assert_int_equal(gw_jws_alg_parse("HS256", 5, &a), GW_ENOTFOUND);
    assert_int_equal(gw_jws_alg_parse("rs256", 5, &a), GW_ENOTFOUND); /* case-sensitive */
    assert_int_equal(gw_jws_alg_parse("RS2", 3, &a), GW_ENOTFOUND);
    assert_string_equal(gw_jws_alg_name(GW_JWS_ALG_COUNT), "?");
}

/* Each unusable JWK beside a good one: the good one stays, the other is skipped with reason. */
static void test_skipped_with_reason(void **state)
{
    static const struct {
        const char *what;
        const char *reason_has;
    } cases[] = {
        {"enc", "another use"},
        {"ops", "key_ops"},
        {"oct", "unsupported key type"},
        {"rsa1024", "below 2048"},
        {"p256-short-x", "wrong size"},
        {"p256-off-curve", "OpenSSL"},
        {"alg-not-allowed", "does not allow"},
        {"alg-wrong-kty", "does not suit"},
        {"alg-unknown", "unsupported algorithm"},
        {"curve", "unsupported curve"},
        {"dup-kid", "already has"},
        {"dup-member", "named twice"},
        {"kid-number", "kid"},
        {"not-object", "not a JSON object"},
        {"rsa-no-e", "missing"},
        {"rsa-even-e", "exponent"},
        {"ed-short", "32 bytes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *w = cases[i].what;
        gw_buf_t b;
        gw_jwks_t *set = NULL;
        char err[200] = "";
        gw_buf_init(&b);
        jwk(&b, K.p256, "good", NULL, NULL);
        if (strcmp(w, "enc") == 0) {
            jwk(&b, K.rsa, "bad", NULL, "\"use\":\"enc\"");
        } else if (strcmp(w, "ops") == 0) {
            jwk(&b, K.rsa, "bad", NULL, "\"key_ops\":[\"sign\"]");
        } else if (strcmp(w, "oct") == 0) {
            gw_buf_appends(&b, ",{\"kty\":\"oct\",\"kid\":\"bad\",\"k\":\"c2VjcmV0\"}");
        } else if (strcmp(w, "rsa1024") == 0) {
            jwk(&b, K.rsa1024, "bad", NULL, NULL);
        } else if (strcmp(w, "p256-short-x") == 0) {
            gw_buf_appends(&b, ",{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"bad\",\"x\":\"AAAA\","
                               "\"y\":\"AAAA\"}");
        } else if (strcmp(w, "p256-off-curve") == 0) {
            /* x = 1, y = 1 is not on P-256 */
            gw_buf_appends(&b, ",{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"bad\","
                               "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
                               "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}");
        } else if (strcmp(w, "alg-not-allowed") == 0) {
            jwk(&b, K.rsa, "bad", "RS512", NULL);
        } else if (strcmp(w, "alg-wrong-kty") == 0) {
            jwk(&b, K.rsa, "bad", "ES256", NULL);
        } else if (strcmp(w, "alg-unknown") == 0) {
            jwk(&b, K.rsa, "bad", "HS256", NULL);
        } else if (strcmp(w, "curve") == 0) {
            gw_buf_appends(&b, ",{\"kty\":\"OKP\",\"crv\":\"X25519\",\"kid\":\"bad\","
                               "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}");
        } else if (strcmp(w, "dup-kid") == 0) {
            jwk(&b, K.ed, "good", NULL, NULL);
        } else if (strcmp(w, "dup-member") == 0) {
            jwk(&b, K.ed, "bad", NULL, "\"kty\":\"OKP\"");
        } else if (strcmp(w, "kid-number") == 0) {
            gw_buf_appends(&b, ",{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":7,"
                               "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}");
        } else if (strcmp(w, "not-object") == 0) {
            gw_buf_appends(&b, ",\"bad\"");
        } else if (strcmp(w, "rsa-no-e") == 0) {
            gw_buf_appends(&b, ",{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"AQAB\"}");
        } else if (strcmp(w, "rsa-even-e") == 0) {
            gw_buf_appends(&b, ",{\"kty\":\"RSA\",\"kid\":\"bad\",\"n\":\"AQAB\",\"e\":\"AQAA\"}");
        } else if (strcmp(w, "ed-short") == 0) {
            gw_buf_appends(&b,
                           ",{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"bad\",\"x\":\"AQAB\"}");
        }
        assert_int_equal(gw_buf_status(&b), GW_OK);
        gw_err_t rc = parse_set(b.data, GW_JWS_ALGS_DEFAULT, &set, err, sizeof(err));
        if (rc != GW_OK) {
            print_error("case %s: %s\n", w, err);
        }
        assert_int_equal(rc, GW_OK);
        assert_int_equal(gw_jwks_count(set), 1);
        assert_non_null(gw_jwks_find(set, "good", 4));
        assert_int_equal(gw_jwks_skipped_count(set), 1);
        const gw_jwk_skip_t *s = gw_jwks_skipped(set, 0);
        assert_int_equal(s->index, 1);
        if (strstr(s->reason, cases[i].reason_has) == NULL) {
            print_error("case %s: reason \"%s\" lacks \"%s\"\n", w, s->reason, cases[i].reason_has);
            fail();
        }
        if (strcmp(w, "kid-number") != 0 && strcmp(w, "not-object") != 0) {
            assert_string_equal(s->kid, strcmp(w, "dup-kid") == 0 ? "good" : "bad");
        }
        gw_jwks_destroy(set);
        gw_buf_fini(&b);
    }
}

static void test_refused_whole(void **state)
{
    gw_jwks_t *set = (gw_jwks_t *)1;
    char err[200];
    static const char *const not_sets[] = {
        "",
        "[]",
        "{}",
        "{\"keys\":{}}",
        "{\"keys\":[]",
        "not json",
        "{\"keys\":[],\"keys\":[]}",
        "{\"keys\":[{\"kid\":\"a\\u0000b\"}]}",
    };
    for (size_t i = 0; i < sizeof(not_sets) / sizeof(not_sets[0]); i++) {
        gw_err_t rc = gw_jwks_parse(not_sets[i], strlen(not_sets[i]), GW_JWS_ALGS_ALL, &set, err,
                                    sizeof(err));
        assert_int_equal(rc, GW_EPARSE);
        assert_null(set);
        assert_true(strlen(err) > 0);
    }
    /* No usable key: refused, the first reason said. */
    assert_int_equal(gw_jwks_parse("{\"keys\":[]}", 11, GW_JWS_ALGS_ALL, &set, err, sizeof(err)),
                     GW_ENOTFOUND);
    gw_buf_t b;
    gw_buf_init(&b);
    jwk(&b, K.rsa, "r", NULL, "\"use\":\"enc\"");
    assert_int_equal(parse_set(b.data, GW_JWS_ALGS_ALL, &set, err, sizeof(err)), GW_ENOTFOUND);
    assert_non_null(strstr(err, "another use"));
    assert_null(set);

    /* 65 keys: too many, even though each is good. */
    gw_buf_reset(&b);
    for (int i = 0; i < GW_JWKS_MAX_KEYS + 1; i++) {
        char kid[16];
        snprintf(kid, sizeof(kid), "k%d", i);
        jwk(&b, K.ed, kid, NULL, NULL);
    }
    assert_int_equal(parse_set(b.data, GW_JWS_ALGS_ALL, &set, err, sizeof(err)), GW_ETOOBIG);
    assert_null(set);
    /* 64 are fine. */
    char *last = strrchr(b.data, '{');
    b.len = (size_t)(last - b.data - 1);
    b.data[b.len] = '\0';
    assert_int_equal(parse_set(b.data, GW_JWS_ALGS_ALL, &set, err, sizeof(err)), GW_OK);
    assert_int_equal(gw_jwks_count(set), GW_JWKS_MAX_KEYS);
    gw_jwks_destroy(set);

    /* Over 256 KiB: refused before it is parsed. */
    gw_buf_reset(&b);
    gw_buf_appends(&b, "{\"keys\":[],\"pad\":\"");
    while (b.len < GW_JWKS_MAX_SIZE) {
        gw_buf_appends(&b, "xxxxxxxxxxxxxxxx");
    }
    gw_buf_appends(&b, "\"}");
    assert_int_equal(gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_ALL, &set, err, sizeof(err)),
                     GW_ETOOBIG);
    assert_null(set);
    gw_buf_fini(&b);
}

/* No kid is a kid of its own ("") and finds the one key that has none. */
static void test_key_without_kid(void **state)
{
    gw_buf_t b;
    gw_jwks_t *set = NULL;
    char err[200];
    gw_buf_init(&b);
    jwk(&b, K.ed, NULL, NULL, NULL);
    jwk(&b, K.p256, NULL, NULL, NULL); /* a second key without kid: ambiguous, skipped */
    assert_int_equal(parse_set(b.data, GW_JWS_ALGS_ALL, &set, err, sizeof(err)), GW_OK);
    assert_int_equal(gw_jwks_count(set), 1);
    assert_int_equal(gw_jwks_skipped_count(set), 1);
    assert_non_null(gw_jwks_find(set, "", 0));
    assert_int_equal(gw_jwks_find(set, "", 0)->alg, GW_JWS_EDDSA);
    gw_jwks_destroy(set);
    gw_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_type),      cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_skipped_with_reason), cmocka_unit_test(test_refused_whole),
        cmocka_unit_test(test_key_without_kid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
