/* jwt_verify.c: what one JWT verification costs (gw_jwt_verify whole, and gw_jws_verify, the
 * signature alone) for each algorithm, in microseconds; a benchmark, not a test.
 *
 *   tests/bench/jwt_run [--rounds N] [--ms N]   (builds this with -O2 and runs it)
 *
 * Keys are generated at start: RSA 2048 (RS256, PS256), P-256 (ES256), Ed25519 (EdDSA); the
 * token is a typical access token (about 300 bytes of claims). Each round verifies for --ms
 * milliseconds; the line printed per algorithm gives the median round and the fastest. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jwt.h"
#include "common/base64.h"
#include "common/jws.h"
#include "common/jwt_sample.h"
#include "tests/bench/rounds.h"

#define ISS "https://idp.example.com"
#define AUD "https://mcp.example.com/mcp"

/* Microseconds per call of one round of ms milliseconds: whole verification, or signature only. */
static double round_us(const char *tok, size_t len, const gw_jwks_t *set, int sig_only, int ms)
{
    const char *const auds[] = {AUD};
    gw_jwt_policy_t p = {.issuer = ISS, .audiences = auds, .naudiences = 1, .leeway_s = 60};
    p.now = (int64_t)time(NULL);
    const char *dot = strrchr(tok, '.');
    uint8_t sig[JWT_SAMPLE_SIG_MAX];
    size_t siglen = 0;
    gw_b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof(sig), &siglen);
    const gw_jwk_t *key = gw_jwks_key(set, 0);
    long n = 0;
    double start = now_us(), end = start + ms * 1000.0, t = start;
    while (t < end) {
        for (int i = 0; i < 16; i++, n++) {
            if (sig_only) {
                if (gw_jws_verify(key, (const uint8_t *)tok, (size_t)(dot - tok), sig, siglen) !=
                    GW_OK) {
                    fprintf(stderr, "signature refused\n");
                    exit(1);
                }
            } else {
                gw_jwt_claims_t c;
                gw_jwt_result_t r = gw_jwt_verify(tok, len, set, &p, &c);
                if (r != GW_JWT_OK) {
                    fprintf(stderr, "token refused: %s\n", gw_jwt_result_name(r));
                    exit(1);
                }
                gw_jwt_claims_fini(&c);
            }
        }
        t = now_us();
    }
    return (t - start) / (double)n;
}

static void bench(gw_jws_alg_t alg, int rounds, int ms)
{
    char err[200], header[128], payload[512];
    gw_buf_t b;
    gw_jwks_t *set = NULL;
    EVP_PKEY *key = jwt_sample_key(alg, 2048);
    gw_buf_init(&b);
    gw_buf_appends(&b, "{\"keys\":[");
    jwt_sample_jwk(&b, key, "k1", gw_jws_alg_name(alg), NULL);
    gw_buf_appends(&b, "]}");
    if (key == NULL || gw_jwks_parse(b.data, b.len, GW_JWS_ALGS_ALL, &set, err, sizeof(err))) {
        fprintf(stderr, "%s: no key set\n", gw_jws_alg_name(alg));
        exit(1);
    }
    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
             gw_jws_alg_name(alg));
    long t = (long)time(NULL);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"sub\":\"client-7f3a9c\",\"aud\":\"" AUD "\","
             "\"exp\":%ld,\"iat\":%ld,\"nbf\":%ld,\"jti\":\"4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d\","
             "\"client_id\":\"client-7f3a9c\",\"scope\":\"tools prompts resources\"}",
             t + 3600, t, t);
    gw_buf_reset(&b);
    if (jwt_sample_token(&b, key, alg, header, payload) != GW_OK) {
        fprintf(stderr, "%s: no token\n", gw_jws_alg_name(alg));
        exit(1);
    }
    double whole[ROUNDS_MAX], sig[ROUNDS_MAX];
    for (int r = 0; r < rounds; r++) {
        whole[r] = round_us(b.data, b.len, set, 0, ms);
        sig[r] = round_us(b.data, b.len, set, 1, ms);
    }
    qsort(whole, (size_t)rounds, sizeof(double), cmp_double);
    qsort(sig, (size_t)rounds, sizeof(double), cmp_double);
    printf("%-6s token %4zu bytes: verify %7.1f us (fastest %7.1f), signature alone %7.1f us\n",
           gw_jws_alg_name(alg), b.len, whole[rounds / 2], whole[0], sig[rounds / 2]);
    gw_buf_fini(&b);
    gw_jwks_destroy(set);
    EVP_PKEY_free(key);
}

int main(int argc, char **argv)
{
    int rounds = 5, ms = 1000;
    if (rounds_options(argc, argv, "jwt_verify", &rounds, &ms) != 0) {
        return 2;
    }
    printf("%s; %d rounds of %d ms each, median shown\n", OpenSSL_version(OPENSSL_VERSION), rounds,
           ms);
    static const gw_jws_alg_t algs[] = {GW_JWS_RS256, GW_JWS_PS256, GW_JWS_ES256, GW_JWS_EDDSA};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        bench(algs[i], rounds, ms);
    }
    return 0;
}
