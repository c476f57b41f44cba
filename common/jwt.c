/* jwt.c: a bearer JWT verified: compact JWS structure, header rules (RFC 8725), the signature by
 * the key the kid names under that key's algorithm, then the registered claims. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/json_strict.h"
#include "common/jws.h"
#include "common/jwt.h"
#include "common/token.h"

/* NumericDates beyond the year 9999 (or before 1970) are refused, so that adding a leeway never
 * overflows. */
#define DATE_MAX INT64_C(253402300799)

static const char *const result_names[GW_JWT_RESULT_COUNT] = {
    [GW_JWT_OK] = "ok",
    [GW_JWT_MALFORMED] = "malformed",
    [GW_JWT_TOO_BIG] = "too_big",
    [GW_JWT_JWE] = "jwe",
    [GW_JWT_BAD_ALG] = "bad_alg",
    [GW_JWT_UNKNOWN_KID] = "unknown_kid",
    [GW_JWT_BAD_SIGNATURE] = "bad_signature",
    [GW_JWT_BAD_TYPE] = "bad_type",
    [GW_JWT_CRIT] = "crit",
    [GW_JWT_DUPLICATE_KEY] = "duplicate_key",
    [GW_JWT_EXPIRED] = "expired",
    [GW_JWT_NOT_YET_VALID] = "not_yet_valid",
    [GW_JWT_BAD_ISSUER] = "bad_issuer",
    [GW_JWT_BAD_AUDIENCE] = "bad_audience",
    [GW_JWT_NO_EXPIRY] = "no_expiry",
    [GW_JWT_BAD_SUBJECT] = "bad_subject",
    [GW_JWT_NO_MEMORY] = "no_memory",
};

const char *gw_jwt_result_name(gw_jwt_result_t r)
{
    return (unsigned)r < GW_JWT_RESULT_COUNT ? result_names[r] : "?";
}

/* The three parts of a compact JWS: header, payload, signature. */
typedef struct parts {
    const char *at[3];
    size_t len[3];
} parts_t;

static gw_jwt_result_t split(const char *tok, size_t len, size_t max_size, parts_t *p)
{
    size_t dots[4], ndots = 0;
    if (len > (max_size != 0 ? max_size : GW_JWT_MAX_SIZE_DEFAULT)) {
        return GW_JWT_TOO_BIG;
    }
    for (size_t i = 0; i < len; i++) {
        if (tok[i] == '.') {
            if (ndots == 4) {
                return GW_JWT_MALFORMED;
            }
            dots[ndots++] = i;
        }
    }
    if (ndots == 4) {
        return GW_JWT_JWE;
    }
    if (ndots != 2) {
        return GW_JWT_MALFORMED;
    }
    p->at[0] = tok;
    p->len[0] = dots[0];
    p->at[1] = tok + dots[0] + 1;
    p->len[1] = dots[1] - dots[0] - 1;
    p->at[2] = tok + dots[1] + 1;
    p->len[2] = len - dots[1] - 1;
    /* An empty signature is left to the header's alg ("none" is refused as bad_alg). */
    return p->len[0] == 0 || p->len[1] == 0 ? GW_JWT_MALFORMED : GW_JWT_OK;
}

/* Decodes b64[0..n) into a new buffer (*out, *outlen; the caller frees it). */
static gw_jwt_result_t decode(const char *b64, size_t n, uint8_t **out, size_t *outlen)
{
    uint8_t *raw = malloc(n / 4 * 3 + 3);
    if (raw == NULL) {
        return GW_JWT_NO_MEMORY;
    }
    if (gw_b64url_decode(b64, n, raw, n / 4 * 3 + 3, outlen) != 0) {
        free(raw);
        return GW_JWT_MALFORMED;
    }
    *out = raw;
    return GW_JWT_OK;
}

/* A base64url part read as one JSON object with no member named twice and no \u0000. */
static gw_jwt_result_t read_object(const char *b64, size_t n, yajl_val *out)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    gw_jwt_result_t r = decode(b64, n, &raw, &rawlen);
    if (r != GW_JWT_OK) {
        return r;
    }
    yajl_val v = NULL;
    r = GW_JWT_MALFORMED;
    if (!gw_json_has_nul_escape((const char *)raw, rawlen)) {
        v = gw_json_parse((const char *)raw, rawlen, NULL, 0);
    }
    free(raw);
    if (v == NULL || !YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        return r;
    }
    gw_err_t err = gw_json_check_unique_keys(v);
    if (err != GW_OK) {
        yajl_tree_free(v);
        return err == GW_ENOMEM ? GW_JWT_NO_MEMORY : GW_JWT_DUPLICATE_KEY;
    }
    *out = v;
    return GW_JWT_OK;
}

/* RFC 7515 §4.1.9: typ is a media type, compared case-insensitively, "application/" optional;
 * RFC 9068 access tokens say at+jwt, most others JWT. */
static bool typ_allowed(const char *typ)
{
    static const char *const allowed[] = {"JWT", "at+jwt", "application/jwt", "application/at+jwt"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (strcasecmp(typ, allowed[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* The header's rules, then the key: named by kid, or the set's only key when there is no kid.
 * alg is checked before the kid, so that a forged "none" or HS256 token never looks like a
 * reason to refetch the key set. */
static gw_jwt_result_t check_header(yajl_val h, const gw_jwks_t *set, const gw_jwk_t **key)
{
    if (gw_json_get(h, "crit") != NULL) {
        return GW_JWT_CRIT;
    }
    yajl_val typ = gw_json_get(h, "typ");
    if (typ != NULL && !(YAJL_IS_STRING(typ) && typ_allowed(typ->u.string))) {
        return GW_JWT_BAD_TYPE;
    }
    if (gw_json_get(h, "cty") != NULL) {
        return GW_JWT_BAD_TYPE; /* a nested JWT: never what an access token is */
    }
    const char *alg = gw_json_get_string(h, "alg");
    gw_jws_alg_t named;
    if (alg == NULL || gw_jws_alg_parse(alg, strlen(alg), &named) != GW_OK) {
        return GW_JWT_BAD_ALG;
    }
    yajl_val kid = gw_json_get(h, "kid");
    const gw_jwk_t *k = NULL;
    if (kid != NULL && (!YAJL_IS_STRING(kid) || strlen(kid->u.string) >= GW_JWK_KID_MAX)) {
        return GW_JWT_MALFORMED;
    }
    if (set == NULL) {
        return GW_JWT_UNKNOWN_KID; /* the issuer's keys are not there (yet) */
    }
    if (kid != NULL) {
        /* An empty kid names no key: "kid": "" must not reach a key published without one. */
        size_t n = strlen(kid->u.string);
        k = n > 0 ? gw_jwks_find(set, kid->u.string, n) : NULL;
    } else if (gw_jwks_count(set) == 1) {
        k = gw_jwks_key(set, 0);
    }
    if (k == NULL) {
        return GW_JWT_UNKNOWN_KID;
    }
    if (k->alg != named) {
        return GW_JWT_BAD_ALG;
    }
    *key = k;
    return GW_JWT_OK;
}

/* A NumericDate: 1 read into *out, 0 absent, -1 not a number in range. */
static int numeric_date(yajl_val payload, const char *name, int64_t *out)
{
    yajl_val v = gw_json_get(payload, name);
    if (v == NULL) {
        return 0;
    }
    if (YAJL_IS_INTEGER(v)) {
        long long x = YAJL_GET_INTEGER(v);
        if (x < 0 || x > DATE_MAX) {
            return -1;
        }
        *out = (int64_t)x;
        return 1;
    }
    if (YAJL_IS_DOUBLE(v)) {
        double d = YAJL_GET_DOUBLE(v);
        if (!(d >= 0 && d <= (double)DATE_MAX)) {
            return -1;
        }
        *out = (int64_t)d;
        return 1;
    }
    return -1;
}

static bool audience_matches(yajl_val aud, const gw_jwt_policy_t *policy)
{
    for (size_t i = 0; i < policy->naudiences; i++) {
        if (YAJL_IS_STRING(aud) && strcmp(aud->u.string, policy->audiences[i]) == 0) {
            return true;
        }
        for (size_t j = 0; YAJL_IS_ARRAY(aud) && j < aud->u.array.len; j++) {
            yajl_val a = aud->u.array.values[j];
            if (YAJL_IS_STRING(a) && strcmp(a->u.string, policy->audiences[i]) == 0) {
                return true;
            }
        }
    }
    return false;
}

static bool subject_allowed(const char *sub)
{
    size_t n = strlen(sub);
    if (n == 0 || n >= GW_SUBJECT_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)sub[i];
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

/* "scope" (a space-separated string), else "scp" (an array of strings, or one string). */
static gw_jwt_result_t read_scope(yajl_val payload, char **out)
{
    yajl_val scope = gw_json_get(payload, "scope");
    yajl_val scp = scope != NULL ? scope : gw_json_get(payload, "scp");
    if (scp == NULL) {
        *out = strdup("");
    } else if (YAJL_IS_STRING(scp)) {
        *out = strdup(scp->u.string);
    } else if (scope == NULL && YAJL_IS_ARRAY(scp)) {
        gw_buf_t b;
        gw_buf_init(&b);
        for (size_t i = 0; i < scp->u.array.len; i++) {
            yajl_val one = scp->u.array.values[i];
            if (!YAJL_IS_STRING(one)) {
                gw_buf_fini(&b);
                return GW_JWT_MALFORMED;
            }
            gw_buf_appends(&b, i > 0 ? " " : "");
            gw_buf_appends(&b, one->u.string);
        }
        if (gw_buf_status(&b) != GW_OK) {
            gw_buf_fini(&b);
            return GW_JWT_NO_MEMORY;
        }
        *out = gw_buf_steal(&b, NULL);
    } else {
        return GW_JWT_MALFORMED;
    }
    return *out != NULL ? GW_JWT_OK : GW_JWT_NO_MEMORY;
}

static gw_jwt_result_t check_claims(yajl_val payload, const gw_jwt_policy_t *policy,
                                    gw_jwt_claims_t *c)
{
    int64_t leeway = policy->leeway_s < 0 ? 0 : policy->leeway_s;
    leeway = leeway > DATE_MAX ? DATE_MAX : leeway;
    c->iss = gw_json_get_string(payload, "iss");
    if (c->iss == NULL || policy->issuer == NULL || strcmp(c->iss, policy->issuer) != 0) {
        return GW_JWT_BAD_ISSUER;
    }
    yajl_val aud = gw_json_get(payload, "aud");
    if (aud == NULL || !audience_matches(aud, policy)) {
        return GW_JWT_BAD_AUDIENCE;
    }
    int has = numeric_date(payload, "exp", &c->exp);
    if (has <= 0) {
        return has == 0 ? GW_JWT_NO_EXPIRY : GW_JWT_MALFORMED;
    }
    if (policy->now >= c->exp + leeway) {
        return GW_JWT_EXPIRED;
    }
    if ((has = numeric_date(payload, "nbf", &c->nbf)) < 0) {
        return GW_JWT_MALFORMED;
    }
    if (has > 0 && c->nbf > policy->now + leeway) {
        return GW_JWT_NOT_YET_VALID;
    }
    if ((has = numeric_date(payload, "iat", &c->iat)) < 0) {
        return GW_JWT_MALFORMED;
    }
    if (has > 0 && c->iat > policy->now + leeway) {
        return GW_JWT_NOT_YET_VALID; /* issued in the future: a clock or a forger */
    }
    c->sub = gw_json_get_string(payload, "sub");
    if (c->sub == NULL || !subject_allowed(c->sub)) {
        return GW_JWT_BAD_SUBJECT;
    }
    yajl_val jti = gw_json_get(payload, "jti");
    if (jti != NULL && !YAJL_IS_STRING(jti)) {
        return GW_JWT_MALFORMED;
    }
    c->jti = jti != NULL ? jti->u.string : NULL;
    return read_scope(payload, &c->scope);
}

gw_jwt_result_t gw_jwt_verify(const char *token, size_t len, const gw_jwks_t *set,
                              const gw_jwt_policy_t *policy, gw_jwt_claims_t *claims)
{
    parts_t p;
    yajl_val header = NULL, payload = NULL;
    uint8_t *sig = NULL;
    size_t siglen = 0;
    const gw_jwk_t *key = NULL;
    memset(claims, 0, sizeof(*claims));

    gw_jwt_result_t r = split(token, len, policy->max_size, &p);
    if (r == GW_JWT_OK) {
        r = read_object(p.at[0], p.len[0], &header);
    }
    if (r == GW_JWT_OK) {
        r = check_header(header, set, &key);
    }
    if (r == GW_JWT_OK) {
        r = decode(p.at[2], p.len[2], &sig, &siglen);
    }
    if (r == GW_JWT_OK) {
        /* The signing input is the token's own text up to the second dot. */
        size_t input = p.len[0] + 1 + p.len[1];
        gw_err_t err = gw_jws_verify(key, (const uint8_t *)token, input, sig, siglen);
        r = err == GW_OK ? GW_JWT_OK : err == GW_ENOMEM ? GW_JWT_NO_MEMORY : GW_JWT_BAD_SIGNATURE;
    }
    if (r == GW_JWT_OK) {
        r = read_object(p.at[1], p.len[1], &payload);
    }
    if (r == GW_JWT_OK) {
        claims->payload = payload;
        claims->key = key;
        r = check_claims(payload, policy, claims);
    }
    free(sig);
    yajl_tree_free(header);
    if (r != GW_JWT_OK) {
        if (claims->payload == NULL) {
            yajl_tree_free(payload);
        }
        gw_jwt_claims_fini(claims);
    }
    return r;
}

void gw_jwt_claims_fini(gw_jwt_claims_t *claims)
{
    free(claims->scope);
    yajl_tree_free(claims->payload);
    memset(claims, 0, sizeof(*claims));
}

yajl_val gw_jwt_claim(const gw_jwt_claims_t *claims, const char *name)
{
    return claims->payload != NULL ? gw_json_get(claims->payload, name) : NULL;
}

bool gw_jwt_has_scope(const gw_jwt_claims_t *claims, const char *scope)
{
    size_t n = strlen(scope);
    const char *s = claims->scope;
    if (s == NULL || n == 0) {
        return false;
    }
    while (*s != '\0') {
        size_t word = strcspn(s, " ");
        if (word == n && memcmp(s, scope, n) == 0) {
            return true;
        }
        s += word;
        s += strspn(s, " ");
    }
    return false;
}

gw_jwt_result_t gw_jwt_peek(const char *token, size_t len, size_t max_size, gw_jwt_peek_t *out)
{
    parts_t p;
    yajl_val header = NULL, payload = NULL;
    memset(out, 0, sizeof(*out));
    gw_jwt_result_t r = split(token, len, max_size, &p);
    if (r == GW_JWT_OK) {
        r = read_object(p.at[0], p.len[0], &header);
    }
    if (r == GW_JWT_OK) {
        r = read_object(p.at[1], p.len[1], &payload);
    }
    if (r == GW_JWT_OK) {
        yajl_val kid = gw_json_get(header, "kid");
        const char *iss = gw_json_get_string(payload, "iss");
        if (kid != NULL && !(YAJL_IS_STRING(kid) && strlen(kid->u.string) < GW_JWK_KID_MAX)) {
            r = GW_JWT_MALFORMED;
        } else if (kid != NULL) {
            out->has_kid = true;
            out->kidlen = strlen(kid->u.string);
            memcpy(out->kid, kid->u.string, out->kidlen + 1);
        }
        if (r == GW_JWT_OK && iss != NULL && strlen(iss) < GW_JWT_ISS_MAX) {
            memcpy(out->iss, iss, strlen(iss) + 1);
        }
    }
    yajl_tree_free(header);
    yajl_tree_free(payload);
    if (r != GW_JWT_OK) {
        memset(out, 0, sizeof(*out));
    }
    return r;
}
