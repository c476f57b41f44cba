/* backend_tls.c: TLS to an https:// backend (servers[].tls): the url and connect-to that a
 * server_name asks for, the options every easy handle gets (backend_http.c sets them where it
 * configures a handle, so calls, GET streams, the catalog and health checks all use them), and a
 * failed TLS exchange named for the JSON-RPC error, the log and
 * mcpgw_backend_tls_failures_total. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/metrics.h"
#include "worker/worker.h"

/* server_name: the url's host is replaced by it, so that libcurl verifies the certificate
 * against it and sends it as SNI (and as Host); CURLOPT_CONNECT_TO still connects to the host
 * the url names ("::HOST:" is any host and port, to HOST on the same port). */
static gw_err_t rewrite_url(wrk_t *w, const char *server_name)
{
    CURLU *u = curl_url();
    char *host = NULL;
    char line[300];
    gw_err_t rc = GW_EINVAL;

    if (u == NULL) {
        return GW_ENOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, w->srv->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        (size_t)snprintf(line, sizeof(line), "::%s:", host) >= sizeof(line) ||
        curl_url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &w->tls_url, 0) != CURLUE_OK) {
        gw_log_err("msg=\"cannot put tls.server_name into the url\" backend=%s url=%s "
                   "server_name=%s",
                   w->name, w->srv->url, server_name);
        goto out;
    }
    if ((w->tls_connect_to = curl_slist_append(NULL, line)) == NULL) {
        rc = GW_ENOMEM;
        goto out;
    }
    w->url = w->tls_url;
    rc = GW_OK;
out:
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

gw_err_t wrk_tls_setup(wrk_t *w)
{
    const gw_server_tls_t *t = &w->srv->tls;

    w->url = w->srv->url;
    if (!t->set) {
        return GW_OK;
    }
    if (t->server_name != NULL) {
        gw_err_t err = rewrite_url(w, t->server_name);
        if (err != GW_OK) {
            return err;
        }
    }
    gw_log_info("msg=\"backend TLS\" backend=%s verify=%s ca_file=%s client_certificate=%s "
                "server_name=%s",
                w->name, t->verify ? "true" : "false", t->ca_file ? t->ca_file : "system",
                t->client_certificate ? t->client_certificate : "none",
                t->server_name ? t->server_name : "url");
    return GW_OK;
}

void wrk_tls_teardown(wrk_t *w)
{
    curl_free(w->tls_url);
    w->tls_url = NULL;
    curl_slist_free_all(w->tls_connect_to);
    w->tls_connect_to = NULL;
    w->url = NULL;
}

#define SETOPT(e, opt, val) (curl_easy_setopt((e), (opt), (val)) != CURLE_OK)

int wrk_tls_setopts(const wrk_t *w, CURL *e)
{
    const gw_server_tls_t *t = &w->srv->tls;
    int bad = 0;

    if (!t->set) {
        return 0; /* libcurl's defaults: verified against the system CAs */
    }
    bad |= SETOPT(e, CURLOPT_SSL_VERIFYPEER, t->verify ? 1L : 0L);
    bad |= SETOPT(e, CURLOPT_SSL_VERIFYHOST, t->verify ? 2L : 0L);
    if (t->ca_file != NULL) {
        /* only these CAs (not the system's directory as well), read again by each new
         * connection so that a renewed file needs no restart */
        bad |= SETOPT(e, CURLOPT_CAINFO, t->ca_file);
        bad |= SETOPT(e, CURLOPT_CAPATH, (char *)NULL);
#if LIBCURL_VERSION_NUM >= 0x075700 /* 7.87: CA stores cached for 24 hours by default */
        bad |= SETOPT(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
    }
    if (t->client_certificate != NULL) {
        bad |= SETOPT(e, CURLOPT_SSLCERT, t->client_certificate);
        bad |= SETOPT(e, CURLOPT_SSLCERTTYPE, "PEM");
        bad |= SETOPT(e, CURLOPT_SSLKEY, t->client_key);
        bad |= SETOPT(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (w->tls_connect_to != NULL) {
        bad |= SETOPT(e, CURLOPT_CONNECT_TO, w->tls_connect_to);
    }
    return bad;
}

/* The kinds of TLS failure: the counter of mcpgw_backend_tls_failures_total, its reason label
 * (for the log line) and the words of the JSON-RPC error. */
typedef struct tls_kind {
    gw_counter_t counter;
    const char *reason;
    const char *what;
} tls_kind_t;

static const tls_kind_t kind_verify = {GW_MC_TLS_VERIFY, "verify", "TLS certificate verify failed"};
static const tls_kind_t kind_ca_file = {GW_MC_TLS_CA_FILE, "ca_file", "TLS CA file unusable"};
static const tls_kind_t kind_client_cert = {GW_MC_TLS_CLIENT_CERTIFICATE, "client_certificate",
                                            "TLS client certificate or key unusable"};
static const tls_kind_t kind_cert_required = {GW_MC_TLS_CLIENT_CERTIFICATE_REFUSED,
                                              "client_certificate_refused",
                                              "TLS client certificate required by the backend"};
static const tls_kind_t kind_cert_refused = {GW_MC_TLS_CLIENT_CERTIFICATE_REFUSED,
                                             "client_certificate_refused",
                                             "TLS client certificate refused by the backend"};
static const tls_kind_t kind_handshake = {GW_MC_TLS_HANDSHAKE, "handshake", "TLS handshake failed"};

/* The alerts a backend sends about the client certificate (OpenSSL's words in libcurl's text). */
static const char *const client_cert_alerts[] = {
    "alert bad certificate",     "alert unknown ca",          "alert certificate unknown",
    "alert certificate expired", "alert certificate revoked", "alert unsupported certificate",
};

/* What failed, from libcurl's code and its error text, or NULL when it was not TLS. A TLS alert
 * the backend sends after the handshake (TLS 1.3 asks for a client certificate that way) comes
 * as a receive error. */
static const tls_kind_t *tls_failure(const xfer_t *x, CURLcode rc)
{
    if (strncasecmp(x->w->url, "https:", 6) != 0) {
        return NULL;
    }
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
        return &kind_verify;
    case CURLE_SSL_CACERT_BADFILE:
        return &kind_ca_file;
    case CURLE_SSL_CERTPROBLEM:
        return &kind_client_cert;
#if LIBCURL_VERSION_NUM >= 0x074d00
    case CURLE_SSL_CLIENTCERT:
        return &kind_cert_required;
#endif
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        if (strstr(x->errbuf, " alert ") == NULL) {
            return NULL;
        }
        /* fall through */
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        if (strstr(x->errbuf, "alert certificate required") != NULL) {
            return &kind_cert_required;
        }
        for (size_t i = 0; i < sizeof(client_cert_alerts) / sizeof(client_cert_alerts[0]); i++) {
            if (strstr(x->errbuf, client_cert_alerts[i]) != NULL) {
                return &kind_cert_refused;
            }
        }
        return &kind_handshake;
    default:
        return NULL;
    }
}

const char *wrk_tls_describe(const xfer_t *x, CURLcode rc)
{
    const tls_kind_t *k = tls_failure(x, rc);

    return k != NULL ? k->what : NULL;
}

void wrk_tls_note_failure(const xfer_t *x, CURLcode rc)
{
    const tls_kind_t *k = rc != CURLE_OK ? tls_failure(x, rc) : NULL;
    char quoted[CURL_ERROR_SIZE];

    if (k == NULL) {
        return;
    }
    gw_metric_add(x->w->m, k->counter, 1);
    gw_log_warn("msg=\"%s\" backend=%s reason=%s request_id=%s error=\"%s\"", k->what, x->w->name,
                k->reason, x->rid_hdr[0] != '\0' ? x->rid_hdr + sizeof(WRK_RID_HDR) - 1 : "",
                gw_log_quote(quoted, sizeof(quoted), x->errbuf, strlen(x->errbuf)));
}
