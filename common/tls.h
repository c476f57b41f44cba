/* tls.h: the TLS side of a client listener (listen[].tls): an OpenSSL server context built from
 * the configured certificate chain and key, with the configured minimum version. The router
 * serves with it (adding ALPN h2 and http/1.1); the broker builds one to check the files before
 * it starts or applies a reload, so a broken or unreadable file is refused with its path. The
 * same check for the files of a backend's servers[].tls (the worker's libcurl reads them). */
#ifndef MCPGW_COMMON_TLS_H
#define MCPGW_COMMON_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "common/config.h"
#include "common/err.h"

/* A server context for listener l (which has tls_certificate set) in *out. On failure err gets
 * "listen[i].tls.certificate: PATH: why" (index is i). */
gw_err_t gw_tls_server_ctx(const gw_listen_t *l, size_t index, SSL_CTX **out, char *err,
                           size_t errlen);
/* Builds and frees the context of every TLS listener of c: GW_OK when all load. */
gw_err_t gw_tls_check(const gw_config_t *c, char *err, size_t errlen);
/* Loads the files of every servers[].tls of c into a client context and frees it: GW_OK when
 * all load (the CA file, the client certificate chain, its key and that they match); else err
 * gets "servers[i].tls.ca_file: PATH: why". */
gw_err_t gw_tls_check_backends(const gw_config_t *c, char *err, size_t errlen);
/* Is the listener's address a loopback one (127.0.0.0/8, ::1)? */
int gw_listen_is_loopback(const gw_listen_t *l);

#endif
