/* jwt_sample.c: test keys, their JWKs and tokens signed with them (test support only). */
#include <config.h>

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "common/base64.h"
#include "common/jwt_sample.h"

EVP_PKEY *jwt_sample_key(gw_jws_alg_t alg, int bits)
{
    switch (alg) {
    case GW_JWS_ES256:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case GW_JWS_ES384:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    case GW_JWS_EDDSA:
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    default:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(bits != 0 ? bits : 2048));
    }
}

gw_err_t jwt_sample_b64(gw_buf_t *out, const void *p, size_t n)
{
    gw_err_t rc = gw_buf_reserve(out, GW_B64URL_LEN(n));
    if (rc == GW_OK) {
        out->len += gw_b64url_encode(p, n, out->data + out->len);
        out->data[out->len] = '\0';
    }
    return rc;
}

/* Appends ,"name":"<base64url of the parameter>" (a big number padded to pad bytes). */
static gw_err_t bn_member(gw_buf_t *out, EVP_PKEY *pkey, const char *param, const char *name,
                          int pad)
{
    BIGNUM *bn = NULL;
    uint8_t bin[1100];
    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        return GW_EINVAL;
    }
    int n = pad > 0 ? BN_bn2binpad(bn, bin, pad) : BN_bn2bin(bn, bin);
    BN_free(bn);
    if (n <= 0) {
        return GW_EINVAL;
    }
    gw_buf_appendf(out, ",\"%s\":\"", name);
    jwt_sample_b64(out, bin, (size_t)n);
    return gw_buf_appends(out, "\"");
}

gw_err_t jwt_sample_jwk(gw_buf_t *out, EVP_PKEY *pkey, const char *kid, const char *alg,
                        const char *extra)
{
    gw_err_t rc = GW_OK;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        gw_buf_appends(out, "{\"kty\":\"RSA\"");
        rc = bn_member(out, pkey, OSSL_PKEY_PARAM_RSA_N, "n", 0);
        if (rc == GW_OK) {
            rc = bn_member(out, pkey, OSSL_PKEY_PARAM_RSA_E, "e", 0);
        }
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        int size = EVP_PKEY_get_bits(pkey) == 256 ? 32 : 48;
        gw_buf_appendf(out, "{\"kty\":\"EC\",\"crv\":\"%s\"", size == 32 ? "P-256" : "P-384");
        rc = bn_member(out, pkey, OSSL_PKEY_PARAM_EC_PUB_X, "x", size);
        if (rc == GW_OK) {
            rc = bn_member(out, pkey, OSSL_PKEY_PARAM_EC_PUB_Y, "y", size);
        }
    } else {
        uint8_t x[32];
        size_t xlen = sizeof(x);
        if (EVP_PKEY_get_raw_public_key(pkey, x, &xlen) != 1) {
            return GW_EINVAL;
        }
        gw_buf_appends(out, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"");
        jwt_sample_b64(out, x, xlen);
        gw_buf_appends(out, "\"");
    }
    if (kid != NULL) {
        gw_buf_appendf(out, ",\"kid\":\"%s\"", kid);
    }
    if (alg != NULL) {
        gw_buf_appendf(out, ",\"alg\":\"%s\"", alg);
    }
    if (extra != NULL) {
        gw_buf_appendf(out, ",%s", extra);
    }
    gw_buf_appends(out, "}");
    return rc != GW_OK ? rc : gw_buf_status(out);
}

static const EVP_MD *sample_md(gw_jws_alg_t alg)
{
    return alg == GW_JWS_RS384 || alg == GW_JWS_ES384 ? EVP_sha384()
           : alg == GW_JWS_RS512                      ? EVP_sha512()
           : alg == GW_JWS_EDDSA                      ? NULL
                                                      : EVP_sha256();
}

/* DER ECDSA-Sig-Value to JWS r||s of 2 * half bytes. */
static gw_err_t ecdsa_raw(const uint8_t *der, size_t derlen, size_t half, uint8_t *sig,
                          size_t *siglen)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (es == NULL) {
        return GW_EINVAL;
    }
    int ok = BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)half) == (int)half &&
             BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + half, (int)half) == (int)half;
    ECDSA_SIG_free(es);
    *siglen = 2 * half;
    return ok ? GW_OK : GW_EINVAL;
}

gw_err_t jwt_sample_sign(EVP_PKEY *pkey, gw_jws_alg_t alg, const void *input, size_t n,
                         uint8_t *sig, size_t *siglen)
{
    uint8_t der[JWT_SAMPLE_SIG_MAX];
    size_t len = sizeof(der);
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    gw_err_t rc = GW_EINVAL;
    if (md == NULL || EVP_DigestSignInit(md, &pctx, sample_md(alg), NULL, pkey) != 1) {
        goto out;
    }
    if (alg == GW_JWS_PS256 &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
        goto out;
    }
    if (EVP_DigestSign(md, der, &len, input, n) != 1) {
        goto out;
    }
    if (alg == GW_JWS_ES256 || alg == GW_JWS_ES384) {
        rc = ecdsa_raw(der, len, alg == GW_JWS_ES256 ? 32 : 48, sig, siglen);
    } else {
        memcpy(sig, der, len);
        *siglen = len;
        rc = GW_OK;
    }
out:
    EVP_MD_CTX_free(md);
    return rc;
}

gw_err_t jwt_sample_token(gw_buf_t *out, EVP_PKEY *pkey, gw_jws_alg_t alg, const char *header,
                          const char *payload)
{
    uint8_t sig[JWT_SAMPLE_SIG_MAX];
    size_t siglen = 0;
    size_t start = out->len;
    jwt_sample_b64(out, header, strlen(header));
    gw_buf_appends(out, ".");
    jwt_sample_b64(out, payload, strlen(payload));
    gw_err_t rc = gw_buf_status(out);
    if (rc == GW_OK) {
        rc = jwt_sample_sign(pkey, alg, out->data + start, out->len - start, sig, &siglen);
    }
    if (rc == GW_OK) {
        gw_buf_appends(out, ".");
        rc = jwt_sample_b64(out, sig, siglen);
    }
    return rc != GW_OK ? rc : gw_buf_status(out);
}
