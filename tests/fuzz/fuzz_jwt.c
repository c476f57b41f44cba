/* fuzz_jwt.c: libFuzzer driver for JWT verification and JWK Sets (every bearer token a router
 * will see, every key set the broker will fetch).
 *
 * The keys are made at start (an Ed25519 key "ed" and a P-256 key "es" in one set). Properties:
 * - the input as a token: gw_jwt_peek and gw_jwt_verify return one of their results, never OK
 *   for a token nobody here signed, and leave no claims behind on a refusal;
 * - the input as a JWK Set: gw_jwks_parse returns OK (with 1 to 64 keys, each found by its kid)
 *   or one of its refusals;
 * - the input as the payload, then as the header, of a token signed here with "ed": when it
 *   verifies, the claims are those the policy asked for (iss, aud, a bounded sub, exp ahead with
 *   leeway), and the same token with one signature character changed does not verify. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/jwt.h"
#include "common/jwt_sample.h"
#include "common/token.h"
#include "tests/fuzz/fuzz.h"

#define ISS "https://idp.example.com"
#define AUD "https://mcp.example.com/mcp"
#define LEEWAY 60

static EVP_PKEY *ed, *es;
static gw_jwks_t *set;
static const char *const audiences[] = {AUD};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256] = "";
    gw_buf_t b;
    (void)argc;
    (void)argv;
    ed = jwt_sample_key(GW_JWS_EDDSA, 0);
    es = jwt_sample_key(GW_JWS_ES256, 0);
    FUZZ_CHECK(ed != NULL && es != NULL, "keys");
    gw_buf_init(&b);
    gw_buf_appends(&b, "{\"keys\":[");
    jwt_sample_jwk(&b, ed, "ed", NULL, NULL);
    gw_buf_appends(&b, ",");
    jwt_sample_jwk(&b, es, "es", NULL, NULL);
    gw_buf_appends(&b, "]}");
    FUZZ_CHECK(gw_buf_status(&b) == GW_OK, "set text");
    gw_err_t rc = gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_DEFAULT, &set, err, sizeof(err));
    FUZZ_CHECK(rc == GW_OK && gw_jwks_count(set) == 2, "set: %s", err);
    gw_buf_fini(&b);
    return 0;
}

static gw_jwt_policy_t policy(void)
{
    gw_jwt_policy_t p = {.issuer = ISS,
                         .audiences = audiences,
                         .naudiences = 1,
                         .now = FUZZ_NOW,
                         .leeway_s = LEEWAY,
                         .max_size = 0};
    return p;
}

static gw_jwt_result_t verify(const char *tok, size_t len, gw_jwt_claims_t *c)
{
    gw_jwt_policy_t p = policy();
    gw_jwt_result_t r = gw_jwt_verify(tok, len, set, &p, c);
    FUZZ_CHECK((unsigned)r < GW_JWT_RESULT_COUNT, "result %d", r);
    if (r != GW_JWT_OK) {
        FUZZ_CHECK(c->payload == NULL && c->scope == NULL && c->sub == NULL, "claims left");
        return r;
    }
    FUZZ_CHECK(c->iss != NULL && strcmp(c->iss, ISS) == 0, "iss");
    FUZZ_CHECK(c->sub != NULL && strlen(c->sub) > 0 && strlen(c->sub) < GW_SUBJECT_MAX, "sub");
    FUZZ_CHECK(c->exp + LEEWAY > FUZZ_NOW, "expired token verified");
    FUZZ_CHECK(c->nbf <= FUZZ_NOW + LEEWAY && c->iat <= FUZZ_NOW + LEEWAY, "future token");
    FUZZ_CHECK(c->scope != NULL && c->payload != NULL && c->key != NULL, "claims");
    FUZZ_CHECK(gw_jwt_claim(c, "aud") != NULL, "aud");
    return r;
}

/* header and payload signed with "ed"; when it verifies, a changed signature must not. */
static void signed_here(const char *header, const char *payload)
{
    gw_buf_t b;
    gw_jwt_claims_t c;
    gw_buf_init(&b);
    if (jwt_sample_token(&b, ed, GW_JWS_EDDSA, header, payload) != GW_OK) {
        gw_buf_fini(&b);
        return;
    }
    if (verify(b.data, b.len, &c) == GW_JWT_OK) {
        FUZZ_CHECK(c.key->alg == GW_JWS_EDDSA && strcmp(c.key->kid, "ed") == 0, "key");
        gw_jwt_claims_fini(&c);
        char *sig = strrchr(b.data, '.') + 1;
        sig[0] = sig[0] == 'A' ? 'B' : 'A';
        FUZZ_CHECK(verify(b.data, b.len, &c) != GW_JWT_OK, "a changed signature verified");
    }
    gw_buf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    gw_jwt_claims_t c;
    gw_jwt_peek_t pk;

    /* 1. A token from the network. */
    gw_jwt_result_t r = gw_jwt_peek(text, size, 0, &pk);
    FUZZ_CHECK(r == GW_JWT_OK || r == GW_JWT_MALFORMED || r == GW_JWT_TOO_BIG || r == GW_JWT_JWE ||
                   r == GW_JWT_DUPLICATE_KEY || r == GW_JWT_NO_MEMORY,
               "peek %s", gw_jwt_result_name(r));
    FUZZ_CHECK(memchr(pk.iss, '\0', sizeof(pk.iss)) != NULL && pk.kidlen < GW_JWK_KID_MAX &&
                   pk.kid[pk.kidlen] == '\0',
               "peek fields");
    FUZZ_CHECK(verify(text, size, &c) != GW_JWT_OK, "a token signed by nobody here verified");

    /* 2. A key set from an issuer. */
    gw_jwks_t *s = NULL;
    char err[256] = "";
    gw_err_t rc = gw_jwks_parse(text, size, GW_JWS_ALGS_ALL, &s, err, sizeof(err));
    FUZZ_CHECK(rc == GW_OK || rc == GW_EPARSE || rc == GW_ETOOBIG || rc == GW_ENOTFOUND ||
                   rc == GW_ENOMEM,
               "jwks %d", rc);
    if (rc == GW_OK) {
        size_t n = gw_jwks_count(s);
        FUZZ_CHECK(n >= 1 && n <= GW_JWKS_MAX_KEYS, "count %zu", n);
        for (size_t i = 0; i < n; i++) {
            const gw_jwk_t *k = gw_jwks_key(s, i);
            FUZZ_CHECK(k->pkey != NULL && gw_jwks_find(s, k->kid, k->kidlen) == k, "key %zu", i);
        }
        gw_jwks_destroy(s);
    } else {
        FUZZ_CHECK(s == NULL && err[0] != '\0', "refusal without text");
    }

    /* 3. The input as the claims, then as the header, of a token signed here. */
    if (size > 4096 || memchr(data, '\0', size) != NULL) {
        return 0;
    }
    char *copy = strndup(text, size);
    FUZZ_CHECK(copy != NULL, "strndup");
    signed_here("{\"alg\":\"EdDSA\",\"kid\":\"ed\"}", copy);
    signed_here(copy, "{\"iss\":\"" ISS "\",\"sub\":\"s\",\"aud\":\"" AUD "\",\"exp\":1750000100}");
    free(copy);
    return 0;
}
