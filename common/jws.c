/* jws.c: JWS signatures (RFC 7518 §3, RFC 8037) checked with EVP_DigestVerify. */
#include <config.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "common/jws.h"

static const EVP_MD *alg_md(gw_jws_alg_t alg)
{
    switch (alg) {
    case GW_JWS_RS256:
    case GW_JWS_PS256:
    case GW_JWS_ES256:
        return EVP_sha256();
    case GW_JWS_RS384:
    case GW_JWS_ES384:
        return EVP_sha384();
    case GW_JWS_RS512:
        return EVP_sha512();
    default:
        return NULL; /* EdDSA hashes inside the signature */
    }
}

/* JWS writes ECDSA as r||s of fixed size; EVP wants the DER of ECDSA-Sig-Value. Returns the DER
 * length (in *der, OPENSSL_free'd by the caller), 0 for a wrong length, -1 out of memory. */
static int ecdsa_der(const uint8_t *sig, size_t siglen, size_t half, uint8_t **der)
{
    if (siglen != 2 * half) {
        return 0;
    }
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
    int n = -1;
    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* es owns them */
        *der = NULL;
        n = i2d_ECDSA_SIG(es, der);
        n = n > 0 ? n : -1;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n;
}

gw_err_t gw_jws_verify(const gw_jwk_t *key, const uint8_t *input, size_t len, const uint8_t *sig,
                       size_t siglen)
{
    gw_err_t rc = GW_ENOMEM;
    uint8_t *der = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL) {
        goto out;
    }
    rc = GW_EAUTH; /* from here on, whatever fails refuses the signature */
    if (key->alg == GW_JWS_ES256 || key->alg == GW_JWS_ES384) {
        int n = ecdsa_der(sig, siglen, key->alg == GW_JWS_ES256 ? 32 : 48, &der);
        if (n <= 0) {
            rc = n == 0 ? GW_EAUTH : GW_ENOMEM;
            goto out;
        }
        sig = der;
        siglen = (size_t)n;
    }
    if (EVP_DigestVerifyInit(md, &pctx, alg_md(key->alg), NULL, key->pkey) != 1) {
        goto out;
    }
    if (key->alg == GW_JWS_PS256 &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
        goto out;
    }
    /* 1 verified, 0 a wrong signature, below 0 one OpenSSL could not even read: both refused. */
    rc = EVP_DigestVerify(md, sig, siglen, input, len) == 1 ? GW_OK : GW_EAUTH;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ERR_clear_error();
    return rc;
}
