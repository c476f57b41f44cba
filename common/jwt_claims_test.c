/* jwt_claims_test.c: unit tests of the claims of a verified JWT: iss exact, aud string or array,
 * exp, nbf and iat with leeway both ways, sub bounded by the session token, scope and scp. */
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
#include "common/token.h"

static void test_issuer(void **state)
{
    assert_result(jwt_fx_verify_body("{\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300}"),
                  GW_JWT_BAD_ISSUER);
    assert_result(jwt_fx_verify_claims("\"iss\":\"x\"") /* a second iss: duplicate */,
                  GW_JWT_DUPLICATE_KEY);
    static const char *const wrong[] = {"https://idp.example.com/", "https://IDP.example.com",
                                        "https://idp.example.co", "https://evil.example.com", ""};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"iss\":\"%s\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300}", wrong[i]);
        assert_result(jwt_fx_verify_body(body), GW_JWT_BAD_ISSUER);
    }
    assert_result(
        jwt_fx_verify_body("{\"iss\":7,\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300}"),
        GW_JWT_BAD_ISSUER);
    /* An iss with \u0000 after the right one is not the right one. */
    assert_result(jwt_fx_verify_body("{\"iss\":\"" ISS "\\u0000x\",\"sub\":\"a\",\"aud\":\"" AUD
                                     "\",\"exp\":1750000300}"),
                  GW_JWT_MALFORMED);
    gw_jwt_policy_t p = jwt_fx_policy();
    p.issuer = NULL;
    char *t = jwt_fx_token("rs256", GW_JWS_RS256, "");
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_BAD_ISSUER);
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
        assert_result(jwt_fx_verify_body(body), cases[i].want);
    }
    gw_jwt_policy_t p = jwt_fx_policy();
    p.naudiences = 0;
    char *t = jwt_fx_token("rs256", GW_JWS_RS256, "");
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_BAD_AUDIENCE);
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
        gw_jwt_result_t r = jwt_fx_verify_body(body);
        if (r != cases[i].want) {
            print_error("%s: %s\n", cases[i].claims, gw_jwt_result_name(r));
        }
        assert_result(r, cases[i].want);
    }
    /* Without leeway, a minute late is too late. */
    char *t =
        jwt_fx_sign(jwt_fx.rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
                    "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1749999990}");
    gw_jwt_policy_t p = jwt_fx_policy();
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_OK);
    p.leeway_s = 0;
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_EXPIRED);
    p.leeway_s = INT64_MAX; /* clamped: no overflow */
    assert_result(jwt_fx_verify_p(t, &p), GW_JWT_OK);
    free(t);
}

/* Every single-character change anywhere in the token, and every truncation, is refused. */
static void test_subject_and_scope(void **state)
{
    char body[512];
    char sub[GW_SUBJECT_MAX + 1];
    memset(sub, 's', sizeof(sub));
    sub[GW_SUBJECT_MAX - 1] = '\0'; /* the longest that fits a session token */
    snprintf(body, sizeof(body),
             "{\"iss\":\"" ISS "\",\"sub\":\"%s\",\"aud\":\"" AUD "\",\"exp\":1750000300}", sub);
    assert_result(jwt_fx_verify_body(body), GW_JWT_OK);
    sub[GW_SUBJECT_MAX - 1] = 's';
    sub[GW_SUBJECT_MAX] = '\0';
    snprintf(body, sizeof(body),
             "{\"iss\":\"" ISS "\",\"sub\":\"%s\",\"aud\":\"" AUD "\",\"exp\":1750000300}", sub);
    assert_result(jwt_fx_verify_body(body), GW_JWT_BAD_SUBJECT);
    const char *subs[] = {"\"\"", "7", "\"a\\nb\"", "\"a\\u007fb\""};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"iss\":\"" ISS "\",\"sub\":%s,\"aud\":\"" AUD "\",\"exp\":1750000300}",
                 subs[i]);
        assert_result(jwt_fx_verify_body(body), GW_JWT_BAD_SUBJECT);
    }
    assert_result(
        jwt_fx_verify_body("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1750000300}"),
        GW_JWT_BAD_SUBJECT);

    /* scp as an array (Azure AD, Okta) when there is no scope. */
    char *t =
        jwt_fx_sign(jwt_fx.rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
                    "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300,"
                    "\"scp\":[\"tools\",\"resources\"]}");
    gw_jwt_policy_t p = jwt_fx_policy();
    gw_jwt_claims_t c;
    assert_result(gw_jwt_verify(t, strlen(t), jwt_fx.set, &p, &c), GW_JWT_OK);
    assert_string_equal(c.scope, "tools resources");
    assert_true(gw_jwt_has_scope(&c, "resources"));
    assert_null(c.jti);
    assert_true(c.iat == 0);
    gw_jwt_claims_fini(&c);
    free(t);
    t = jwt_fx_sign(jwt_fx.rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
                    "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"exp\":1750000300}");
    assert_result(gw_jwt_verify(t, strlen(t), jwt_fx.set, &p, &c), GW_JWT_OK);
    assert_string_equal(c.scope, "");
    assert_false(gw_jwt_has_scope(&c, "tools"));
    gw_jwt_claims_fini(&c);
    free(t);
    assert_result(jwt_fx_verify_claims("\"scp\":[1]") /* scope wins; scp ignored */, GW_JWT_OK);
    t = jwt_fx_sign(jwt_fx.rsa, GW_JWS_RS256, "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
                    "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                    "\",\"exp\":1750000300,\"scp\":[]}");
    assert_result(gw_jwt_verify(t, strlen(t), jwt_fx.set, &p, &c), GW_JWT_OK);
    assert_string_equal(c.scope, "");
    gw_jwt_claims_fini(&c);
    free(t);
    assert_result(jwt_fx_verify_body("{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                                     "\",\"exp\":1750000300,\"scp\":[\"a\",1]}"),
                  GW_JWT_MALFORMED);
    assert_result(jwt_fx_verify_body("{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                                     "\",\"exp\":1750000300,\"scope\":[\"a\"]}"),
                  GW_JWT_MALFORMED);
    assert_result(jwt_fx_verify_body("{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
                                     "\",\"exp\":1750000300,\"jti\":5}"),
                  GW_JWT_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issuer),
        cmocka_unit_test(test_audience),
        cmocka_unit_test(test_times_and_leeway),
        cmocka_unit_test(test_subject_and_scope),
    };
    return cmocka_run_group_tests(tests, jwt_fx_setup, jwt_fx_teardown);
}
