/* tls.c: server contexts for TLS listeners, and the check of backends' TLS files (tls.h). */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "common/tls.h"

/* The newest OpenSSL error as text, or the errno text when OpenSSL queued none (a file that
 * cannot be opened shows as both: errno is the clearer). */
static void why(char *out, size_t outlen)
{
    unsigned long e = ERR_peek_last_error();
    int sys = errno;
    if (e != 0 && ERR_GET_LIB(e) != ERR_LIB_SYS) {
        ERR_error_string_n(e, out, outlen);
    } else {
        snprintf(out, outlen, "%s", strerror(sys != 0 ? sys : EINVAL));
    }
    ERR_clear_error();
}

/* Loads the certificate chain file cert (leaf first) and its key file into ctx and checks that
 * they match; on failure err gets "WHERE.CERT_KEY: PATH: why" (or the key's). */
static gw_err_t load_chain_and_key(SSL_CTX *ctx, const char *where, const char *cert_key,
                                   const char *cert, const char *key_key, const char *key,
                                   char *err, size_t errlen)
{
    char reason[256];
    ERR_clear_error();
    errno = 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        why(reason, sizeof(reason));
        snprintf(err, errlen, "%s.%s: %s: %s", where, cert_key, cert, reason);
        return GW_EINVAL;
    }
    errno = 0;
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        why(reason, sizeof(reason));
        snprintf(err, errlen, "%s.%s: %s: %s", where, key_key, key, reason);
        return GW_EINVAL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "%s.%s: %s: does not match the certificate %s", where, key_key, key,
                 cert);
        return GW_EINVAL;
    }
    return GW_OK;
}

gw_err_t gw_tls_server_ctx(const gw_listen_t *l, size_t index, SSL_CTX **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "listen[%zu].tls: out of memory", index);
        return GW_ENOMEM;
    }
    SSL_CTX_set_min_proto_version(ctx, l->tls_min_version == GW_TLS_1_3 ? TLS1_3_VERSION
                                                                        : TLS1_2_VERSION);
    /* No compression (CRIME), no renegotiation, the server's cipher order; tickets stay on so
     * that resumption works across router processes that share nothing (each router has its
     * own ticket key: a resumed connection that reaches another router does a full handshake). */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    char where[48];
    snprintf(where, sizeof(where), "listen[%zu].tls", index);
    gw_err_t rc = load_chain_and_key(ctx, where, "certificate", l->tls_certificate, "key",
                                     l->tls_key, err, errlen);
    if (rc != GW_OK) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return GW_OK;
}

gw_err_t gw_tls_check(const gw_config_t *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->nlisten; i++) {
        SSL_CTX *ctx = NULL;
        if (c->listen[i].tls_certificate == NULL) {
            continue;
        }
        gw_err_t rc = gw_tls_server_ctx(&c->listen[i], i, &ctx, err, errlen);
        if (rc != GW_OK) {
            return rc;
        }
        SSL_CTX_free(ctx);
    }
    return GW_OK;
}

/* The files of one servers[].tls in a throwaway client context. */
static gw_err_t check_backend_files(const gw_server_tls_t *t, size_t index, char *err,
                                    size_t errlen)
{
    char reason[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "servers[%zu].tls: out of memory", index);
        return GW_ENOMEM;
    }
    gw_err_t rc = GW_EINVAL;
    ERR_clear_error();
    errno = 0;
    if (t->ca_file != NULL && SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
        why(reason, sizeof(reason));
        snprintf(err, errlen, "servers[%zu].tls.ca_file: %s: %s", index, t->ca_file, reason);
        goto out;
    }
    if (t->client_certificate != NULL) {
        char where[48];
        snprintf(where, sizeof(where), "servers[%zu].tls", index);
        if ((rc = load_chain_and_key(ctx, where, "client_certificate", t->client_certificate,
                                     "client_key", t->client_key, err, errlen)) != GW_OK) {
            goto out;
        }
    }
    rc = GW_OK;
out:
    SSL_CTX_free(ctx);
    return rc;
}

gw_err_t gw_tls_check_backends(const gw_config_t *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->nservers; i++) {
        gw_err_t rc;
        if (c->servers[i].tls.set &&
            (rc = check_backend_files(&c->servers[i].tls, i, err, errlen)) != GW_OK) {
            return rc;
        }
    }
    return GW_OK;
}

int gw_listen_is_loopback(const gw_listen_t *l)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, l->address, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    return inet_pton(AF_INET6, l->address, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}
