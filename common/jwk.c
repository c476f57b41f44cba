/* jwk.c: a JSON Web Key Set read with yajl's tree into OpenSSL 3 public keys (EVP_PKEY_fromdata),
 * unusable keys skipped with a reason. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "common/base64.h"
#include "common/json.h"
#include "common/json_strict.h"
#include "common/jwk.h"

/* The largest member we decode: an RSA modulus of GW_JWK_RSA_MAX_BITS, with a spare zero. */
#define MEMBER_MAX (GW_JWK_RSA_MAX_BITS / 8 + 1)
#define EXPONENT_MAX_BYTES 8

struct gw_jwks {
    size_t count;
    gw_jwk_t keys[GW_JWKS_MAX_KEYS];
    size_t nskipped;
    gw_jwk_skip_t skipped[GW_JWKS_MAX_KEYS];
};

static const char *const alg_names[GW_JWS_ALG_COUNT] = {
    [GW_JWS_RS256] = "RS256", [GW_JWS_RS384] = "RS384", [GW_JWS_RS512] = "RS512",
    [GW_JWS_PS256] = "PS256", [GW_JWS_ES256] = "ES256", [GW_JWS_ES384] = "ES384",
    [GW_JWS_EDDSA] = "EdDSA",
};

const char *gw_jws_alg_name(gw_jws_alg_t alg)
{
    return (unsigned)alg < GW_JWS_ALG_COUNT ? alg_names[alg] : "?";
}

gw_err_t gw_jws_alg_parse(const char *name, size_t len, gw_jws_alg_t *out)
{
    for (unsigned a = 0; a < GW_JWS_ALG_COUNT; a++) {
        if (strlen(alg_names[a]) == len && memcmp(alg_names[a], name, len) == 0) {
            *out = (gw_jws_alg_t)a;
            return GW_OK;
        }
    }
    return GW_ENOTFOUND;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", msg);
    }
}

/* A decoded base64url member of a JWK. NULL reason on success. */
static const char *decode_member(yajl_val jwk, const char *name, uint8_t *out, size_t cap,
                                 size_t *outlen)
{
    const char *s = gw_json_get_string(jwk, name);
    if (s == NULL) {
        return "a key member is missing or not a string";
    }
    size_t n = strlen(s);
    if (n > GW_B64URL_LEN(cap) || gw_b64url_decode(s, n, out, cap, outlen) != 0) {
        return "a key member is not base64url of the expected size";
    }
    return NULL;
}

/* Builds an EVP_PKEY of type name from params; NULL reason on success. */
static const char *pkey_from(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    const char *reason = "the key is refused by OpenSSL";
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;
    if (params == NULL || ctx == NULL) {
        reason = "out of memory";
        goto out;
    }
    if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        goto out;
    }
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = check != NULL && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        reason = "the public key fails OpenSSL's check (not on its curve, or a bad exponent)";
        goto out;
    }
    *out = pkey;
    pkey = NULL;
    reason = NULL;
out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    ERR_clear_error();
    return reason;
}

static const char *rsa_key(yajl_val jwk, EVP_PKEY **out)
{
    uint8_t n[MEMBER_MAX], e[EXPONENT_MAX_BYTES];
    size_t nlen, elen;
    const char *reason = decode_member(jwk, "n", n, sizeof(n), &nlen);
    if (reason == NULL) {
        reason = decode_member(jwk, "e", e, sizeof(e), &elen);
    }
    if (reason != NULL) {
        return reason;
    }
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bn == NULL || be == NULL || bld == NULL) {
        reason = "out of memory";
    } else if (!BN_is_odd(be) || BN_cmp(be, BN_value_one()) <= 0) {
        reason = "an RSA exponent that is not an odd number above 1";
    } else if (BN_num_bits(bn) < GW_JWK_RSA_MIN_BITS) {
        reason = "an RSA key below 2048 bits";
    } else if (BN_num_bits(bn) > GW_JWK_RSA_MAX_BITS) {
        reason = "an RSA key above 8192 bits";
    } else if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
               !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
        reason = "out of memory";
    } else {
        reason = pkey_from("RSA", bld, out);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return reason;
}

/* EC (P-256, P-384) from x and y of exactly the curve's size, as an uncompressed point. */
static const char *ec_key(yajl_val jwk, const char *group, size_t size, EVP_PKEY **out)
{
    uint8_t point[1 + 2 * 48];
    size_t xlen, ylen;
    const char *reason = decode_member(jwk, "x", point + 1, size, &xlen);
    if (reason == NULL) {
        reason = decode_member(jwk, "y", point + 1 + size, size, &ylen);
    }
    if (reason != NULL) {
        return reason;
    }
    if (xlen != size || ylen != size) {
        return "an EC coordinate of the wrong size";
    }
    point[0] = 0x04;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size)) {
        reason = "out of memory";
    } else {
        reason = pkey_from("EC", bld, out);
    }
    OSSL_PARAM_BLD_free(bld);
    return reason;
}

static const char *ed25519_key(yajl_val jwk, EVP_PKEY **out)
{
    uint8_t x[32];
    size_t xlen;
    const char *reason = decode_member(jwk, "x", x, sizeof(x), &xlen);
    if (reason != NULL) {
        return reason;
    }
    if (xlen != sizeof(x)) {
        return "an Ed25519 key that is not 32 bytes";
    }
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, x, 32)) {
        reason = "out of memory";
    } else {
        reason = pkey_from("ED25519", bld, out);
    }
    OSSL_PARAM_BLD_free(bld);
    return reason;
}

static int str_is(const char *s, const char *want)
{
    return s != NULL && strcmp(s, want) == 0;
}

/* The algorithm a JWK verifies: its "alg" when present, which must suit its kty and crv; else
 * the only one its curve allows, and RS256 for RSA (the one OpenID Connect requires every
 * provider to support; a PS256 issuer must say "alg": "PS256"). NULL reason on success. */
static const char *key_alg(yajl_val jwk, const char *kty, const char *crv, gw_jws_alg_t *out)
{
    gw_jws_alg_t natural;
    unsigned fits;
    if (str_is(kty, "RSA")) {
        natural = GW_JWS_RS256;
        fits = GW_JWS_ALG_BIT(GW_JWS_RS256) | GW_JWS_ALG_BIT(GW_JWS_RS384) |
               GW_JWS_ALG_BIT(GW_JWS_RS512) | GW_JWS_ALG_BIT(GW_JWS_PS256);
    } else if (str_is(kty, "EC") && str_is(crv, "P-256")) {
        natural = GW_JWS_ES256;
        fits = GW_JWS_ALG_BIT(natural);
    } else if (str_is(kty, "EC") && str_is(crv, "P-384")) {
        natural = GW_JWS_ES384;
        fits = GW_JWS_ALG_BIT(natural);
    } else if (str_is(kty, "OKP") && str_is(crv, "Ed25519")) {
        natural = GW_JWS_EDDSA;
        fits = GW_JWS_ALG_BIT(natural);
    } else if (str_is(kty, "EC") || str_is(kty, "OKP")) {
        return "an unsupported curve";
    } else {
        return "an unsupported key type";
    }
    yajl_val alg = gw_json_get(jwk, "alg");
    if (alg == NULL) {
        *out = natural;
        return NULL;
    }
    gw_jws_alg_t named;
    if (!YAJL_IS_STRING(alg) ||
        gw_jws_alg_parse(alg->u.string, strlen(alg->u.string), &named) != GW_OK) {
        return "an unsupported algorithm";
    }
    if (!(fits & GW_JWS_ALG_BIT(named))) {
        return "an algorithm that does not suit the key type";
    }
    *out = named;
    return NULL;
}

/* "use" absent or "sig"; "key_ops" absent or holding "verify". */
static const char *key_purpose(yajl_val jwk)
{
    yajl_val use = gw_json_get(jwk, "use");
    if (use != NULL && !(YAJL_IS_STRING(use) && str_is(use->u.string, "sig"))) {
        return "a key for another use than signatures";
    }
    yajl_val ops = gw_json_get(jwk, "key_ops");
    if (ops == NULL) {
        return NULL;
    }
    if (YAJL_IS_ARRAY(ops)) {
        for (size_t i = 0; i < ops->u.array.len; i++) {
            yajl_val op = ops->u.array.values[i];
            if (YAJL_IS_STRING(op) && str_is(op->u.string, "verify")) {
                return NULL;
            }
        }
    }
    return "key_ops without verify";
}

/* One entry of "keys" into set->keys, or its reason into set->skipped. GW_ENOMEM only. */
static gw_err_t add_key(gw_jwks_t *set, size_t index, yajl_val jwk, unsigned allowed)
{
    gw_jwk_t *k = &set->keys[set->count];
    const char *reason = NULL;
    memset(k, 0, sizeof(*k));
    yajl_val kid = gw_json_get(jwk, "kid");
    if (kid != NULL && YAJL_IS_STRING(kid) && strlen(kid->u.string) < GW_JWK_KID_MAX) {
        k->kidlen = strlen(kid->u.string);
        memcpy(k->kid, kid->u.string, k->kidlen);
    }
    if (!YAJL_IS_OBJECT(jwk)) {
        reason = "not a JSON object";
    } else if (gw_json_check_unique_keys(jwk) != GW_OK) {
        reason = "a member named twice";
    } else if (kid != NULL && !(YAJL_IS_STRING(kid) && strlen(kid->u.string) < GW_JWK_KID_MAX)) {
        reason = "a kid that is not a string of at most 255 bytes";
    } else if ((reason = key_purpose(jwk)) != NULL) {
    } else if ((reason = key_alg(jwk, gw_json_get_string(jwk, "kty"),
                                 gw_json_get_string(jwk, "crv"), &k->alg)) != NULL) {
    } else if (!(allowed & GW_JWS_ALG_BIT(k->alg))) {
        reason = "an algorithm the configuration does not allow";
    } else if (gw_jwks_find(set, k->kid, k->kidlen) != NULL) {
        reason = "a kid another key of the set already has";
    } else if (k->alg == GW_JWS_ES256) {
        reason = ec_key(jwk, "P-256", 32, &k->pkey);
    } else if (k->alg == GW_JWS_ES384) {
        reason = ec_key(jwk, "P-384", 48, &k->pkey);
    } else if (k->alg == GW_JWS_EDDSA) {
        reason = ed25519_key(jwk, &k->pkey);
    } else {
        reason = rsa_key(jwk, &k->pkey);
    }
    if (reason != NULL && strcmp(reason, "out of memory") == 0) {
        return GW_ENOMEM;
    }
    if (reason == NULL) {
        set->count++;
        return GW_OK;
    }
    gw_jwk_skip_t *s = &set->skipped[set->nskipped++];
    s->index = index;
    memcpy(s->kid, k->kid, sizeof(s->kid));
    s->reason = reason;
    memset(k, 0, sizeof(*k));
    return GW_OK;
}

gw_err_t gw_jwks_parse(const char *json, size_t len, unsigned allowed_algs, gw_jwks_t **out,
                       char *err, size_t errlen)
{
    char msg[160];
    gw_err_t rc = GW_EPARSE;
    gw_jwks_t *set = NULL;
    yajl_val root = NULL;
    *out = NULL;
    if (len > GW_JWKS_MAX_SIZE) {
        set_err(err, errlen, "the key set is over 256 KiB");
        return GW_ETOOBIG;
    }
    if (gw_json_has_nul_escape(json, len)) {
        set_err(err, errlen, "the key set holds a \\u0000 escape");
        return GW_EPARSE;
    }
    root = gw_json_parse(json, len, msg, sizeof(msg));
    if (root == NULL) {
        char why[sizeof(msg) + 32];
        snprintf(why, sizeof(why), "the key set is not JSON: %s", msg);
        set_err(err, errlen, why);
        return GW_EPARSE;
    }
    yajl_val keys = gw_json_get(root, "keys");
    if (!YAJL_IS_OBJECT(root) || !YAJL_IS_ARRAY(keys)) {
        set_err(err, errlen, "not a JWK Set: no \"keys\" array");
        goto out;
    }
    if (gw_json_check_unique_members(root) != GW_OK) {
        set_err(err, errlen, "the key set names a member twice");
        goto out;
    }
    if (keys->u.array.len > GW_JWKS_MAX_KEYS) {
        set_err(err, errlen, "the key set has more than 64 keys");
        rc = GW_ETOOBIG;
        goto out;
    }
    set = calloc(1, sizeof(*set));
    if (set == NULL) {
        set_err(err, errlen, "out of memory");
        rc = GW_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < keys->u.array.len; i++) {
        if (add_key(set, i, keys->u.array.values[i], allowed_algs) != GW_OK) {
            set_err(err, errlen, "out of memory");
            rc = GW_ENOMEM;
            goto out;
        }
    }
    if (set->count == 0) {
        snprintf(msg, sizeof(msg), "no usable key in the set (%zu skipped%s%s)", set->nskipped,
                 set->nskipped > 0 ? ", the first for " : "",
                 set->nskipped > 0 ? set->skipped[0].reason : "");
        set_err(err, errlen, msg);
        rc = GW_ENOTFOUND;
        goto out;
    }
    *out = set;
    set = NULL;
    rc = GW_OK;
out:
    gw_jwks_destroy(set);
    yajl_tree_free(root);
    return rc;
}

void gw_jwks_destroy(gw_jwks_t *set)
{
    if (set == NULL) {
        return;
    }
    for (size_t i = 0; i < set->count; i++) {
        EVP_PKEY_free(set->keys[i].pkey);
    }
    free(set);
}

const gw_jwk_t *gw_jwks_find(const gw_jwks_t *set, const char *kid, size_t kidlen)
{
    for (size_t i = 0; i < set->count; i++) {
        if (set->keys[i].kidlen == kidlen && memcmp(set->keys[i].kid, kid, kidlen) == 0) {
            return &set->keys[i];
        }
    }
    return NULL;
}

size_t gw_jwks_count(const gw_jwks_t *set)
{
    return set->count;
}

const gw_jwk_t *gw_jwks_key(const gw_jwks_t *set, size_t i)
{
    return i < set->count ? &set->keys[i] : NULL;
}

size_t gw_jwks_skipped_count(const gw_jwks_t *set)
{
    return set->nskipped;
}

const gw_jwk_skip_t *gw_jwks_skipped(const gw_jwks_t *set, size_t i)
{
    return i < set->nskipped ? &set->skipped[i] : NULL;
}
