/* backend_http.c: the HTTP transfers to the backend over the worker's two libcurl multis (requests
 * and GET streams, each driven by curl_multi_socket_action on the loop's epoll set): easy handles
 * kept for reuse, the shared headers, the header and write callbacks, start, pause and completion
 * of a transfer, and how a failed one is described (TLS options and failures: backend_tls.c). */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include <curl/curl.h>

#include "common/clock.h"
#include "common/log.h"
#include "worker/worker.h"

#define SETOPT(e, opt, val) (curl_easy_setopt((e), (opt), (val)) != CURLE_OK)

/* ---- easy handles ---- */

static size_t on_curl_header(char *buf, size_t size, size_t nitems, void *arg);
static size_t on_curl_write(char *buf, size_t size, size_t nmemb, void *arg);

/* A handle for this backend with what every transfer shares set once: the parsed URL (no parse
 * per transfer), protocols, proxy, HTTP version, TLS and the callbacks. A pooled handle keeps
 * them: curl_easy_reset would free every option and the next transfer set them again. */
static CURL *easy_create(wrk_t *w)
{
    CURL *e = curl_easy_init();
    int bad = 0;

    if (e == NULL) {
        return NULL;
    }
    bad |= SETOPT(e, CURLOPT_CURLU, w->curlu);
    bad |= SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    bad |= SETOPT(e, CURLOPT_TCP_NODELAY, 1L);
    bad |= SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
    bad |= SETOPT(e, CURLOPT_PROXY, "");
    bad |= SETOPT(e, CURLOPT_NOPROXY, "*");
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    bad |= SETOPT(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    bad |= SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (w->https) {
        bad |= SETOPT(e, CURLOPT_PIPEWAIT, 1L); /* prefer multiplexing on an h2 connection */
        bad |= wrk_tls_setopts(w, e);
    }
    bad |= SETOPT(e, CURLOPT_HEADERFUNCTION, on_curl_header);
    bad |= SETOPT(e, CURLOPT_WRITEFUNCTION, on_curl_write);
    if (bad) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

static CURL *easy_acquire(wrk_t *w)
{
    if (w->nidle > 0) {
        return w->idle[--w->nidle];
    }
    return easy_create(w);
}

/* Back to the pool with the shared options as they were; what pointed into the transfer that
 * ended is cleared, the rest each transfer sets again (wrk_xfer_start). A handle left paused is
 * not kept. */
static void easy_release(wrk_t *w, CURL *e, int paused)
{
    if (!paused && w->nidle < WRK_IDLE_EASY_MAX) {
        curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)NULL);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, (char *)NULL);
        w->idle[w->nidle++] = e;
        return;
    }
    curl_easy_cleanup(e);
}

/* ---- transfers ---- */

void wrk_xfer_init(xfer_t *x, wrk_t *w, const xfer_ops_t *ops)
{
    memset(x, 0, sizeof(*x));
    x->w = w;
    x->ops = ops;
    gw_buf_init(&x->req);
    gw_buf_init(&x->body);
    gw_sse_init(&x->sse, w->cfg->max_response_body);
}

static void xfer_reset_response(xfer_t *x)
{
    x->status = 0;
    x->head_seen = 0;
    x->ctype = CTYPE_NONE;
    free(x->sid);
    x->sid = NULL;
    x->sid_bad = 0;
    x->discard = 0;
    x->rpc_seen = 0;
    x->aborted = ABORT_NONE;
    x->paused = 0;
    x->errbuf[0] = '\0';
    gw_sse_reset(&x->sse);
    gw_buf_reset(&x->body);
}

/* Takes the transfer out of libcurl without calling on_done. */
void wrk_xfer_cancel(xfer_t *x)
{
    if (x->easy == NULL) {
        return;
    }
    curl_multi_remove_handle(x->mx->m, x->easy);
    easy_release(x->w, x->easy, x->paused);
    x->easy = NULL;
    x->mx = NULL;
}

void wrk_xfer_fini(xfer_t *x)
{
    wrk_xfer_cancel(x);
    wrk_modern_headers_free(x);
    free(x->sid);
    x->sid = NULL;
    gw_buf_fini(&x->req);
    gw_buf_fini(&x->body);
    gw_sse_fini(&x->sse);
}

void wrk_xfer_trim(xfer_t *x)
{
    if (x->easy != NULL) {
        return;
    }
    free(x->sid);
    x->sid = NULL;
    gw_buf_fini(&x->req);
    gw_buf_fini(&x->body);
    gw_sse_fini(&x->sse);
    gw_sse_init(&x->sse, x->w->cfg->max_response_body);
}

static void xfer_see_head(xfer_t *x, long status)
{
    x->head_seen = 1;
    x->status = status;
    if (x->ops->on_head != NULL) {
        x->ops->on_head(x);
    }
}

static int header_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static xfer_ctype_t ctype_parse(const char *v, size_t n)
{
    size_t end = 0;

    while (end < n && v[end] != ';' && v[end] != ' ' && v[end] != '\t') {
        end++;
    }
    if (header_is(v, end, "application/json")) {
        return CTYPE_JSON;
    }
    if (header_is(v, end, "text/event-stream")) {
        return CTYPE_SSE;
    }
    return CTYPE_OTHER;
}

/* The spec: visible ASCII 0x21-0x7E. */
static int sid_valid(const char *s, size_t n)
{
    if (n == 0 || n > WRK_SID_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static size_t on_curl_header(char *buf, size_t size, size_t nitems, void *arg)
{
    xfer_t *x = arg;
    size_t len = size * nitems;
    size_t n = len;
    const char *colon;
    const char *v;
    const char *end;

    if (x->head_seen) {
        return len; /* trailers */
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    if (n == 0) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) {
            xfer_see_head(x, status);
        }
        return len; /* a 1xx interim response: the real one follows */
    }
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        x->ctype = CTYPE_NONE;
        free(x->sid);
        x->sid = NULL;
        x->sid_bad = 0;
        return len;
    }
    if ((colon = memchr(buf, ':', n)) == NULL) {
        return len;
    }
    v = colon + 1;
    end = buf + n;
    while (v < end && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    if (header_is(buf, (size_t)(colon - buf), "content-type")) {
        x->ctype = ctype_parse(v, (size_t)(end - v));
    } else if (x->want_sid && header_is(buf, (size_t)(colon - buf), "mcp-session-id")) {
        free(x->sid);
        x->sid = NULL;
        x->sid_bad = !sid_valid(v, (size_t)(end - v));
        if (!x->sid_bad && (x->sid = strndup(v, (size_t)(end - v))) == NULL) {
            x->aborted = ABORT_NOMEM;
            return 0;
        }
    }
    return len;
}

static gw_err_t xfer_on_sse_event(void *arg, const char *data, size_t len)
{
    xfer_t *x = arg;

    return x->ops->on_event(x, data, len);
}

static size_t on_curl_write(char *buf, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t len = size * nmemb;
    gw_err_t err;

    if (!x->head_seen) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        xfer_see_head(x, status);
    }
    if (x->discard) {
        return len;
    }
    if (x->ctype == CTYPE_SSE && x->status / 100 == 2) {
        if ((err = gw_sse_feed(&x->sse, buf, len, xfer_on_sse_event, x)) != GW_OK) {
            x->aborted = err == GW_ETOOBIG  ? ABORT_TOO_BIG
                         : err == GW_ENOMEM ? ABORT_NOMEM
                                            : ABORT_RELAY;
            return 0;
        }
        return len;
    }
    if (len > x->w->cfg->max_response_body - x->body.len) {
        x->aborted = ABORT_TOO_BIG;
        return 0;
    }
    if (gw_buf_append(&x->body, buf, len) != GW_OK) {
        x->aborted = ABORT_NOMEM;
        return 0;
    }
    return len;
}

/* Starts an HTTP request to the backend. On GW_OK ops->on_done will be called from the loop
 * (never from inside this call); on failure nothing was started. */
gw_err_t wrk_xfer_start(xfer_t *x, const xfer_req_t *rq)
{
    wrk_t *w = x->w;
    int post = strcmp(rq->method, "POST") == 0;
    int get = strcmp(rq->method, "GET") == 0;
    struct curl_slist *head = post ? w->post_hdrs : w->plain_hdrs;
    struct curl_slist *mine[4];
    size_t n = 0;
    CURL *e;
    int bad = 0;

    assert(x->easy == NULL);
    xfer_reset_response(x);
    x->want_sid = rq->sid == NULL; /* an answer on a session has nothing to tell of its id */
    x->rid_hdr[0] = '\0';
    if (rq->rid != NULL && rq->rid[0] != '\0') {
        snprintf(x->rid_hdr, sizeof(x->rid_hdr), WRK_RID_HDR "%s", rq->rid);
        mine[n++] = &x->hdrs[0];
        x->hdrs[0].data = x->rid_hdr;
    }
    if (rq->proto != NULL) {
        snprintf(x->proto_hdr, sizeof(x->proto_hdr), "MCP-Protocol-Version: %s", rq->proto);
        mine[n++] = &x->hdrs[1];
        x->hdrs[1].data = x->proto_hdr;
    }
    if (rq->sid != NULL) {
        snprintf(x->sid_hdr, sizeof(x->sid_hdr), "Mcp-Session-Id: %s", rq->sid);
        mine[n++] = &x->hdrs[2];
        x->hdrs[2].data = x->sid_hdr;
    }
    if (rq->last_event_id != NULL) {
        snprintf(x->lei_hdr, sizeof(x->lei_hdr), "Last-Event-ID: %s", rq->last_event_id);
        mine[n++] = &x->hdrs[3];
        x->hdrs[3].data = x->lei_hdr;
    }
    /* a request to a 2026-07-28 backend: its Mcp-* headers (worker/modern.c) come next */
    if (x->mhdrs != NULL && rq->proto != NULL && strcmp(rq->proto, GW_PROTO_MODERN_NAME) == 0) {
        struct curl_slist *tail = x->mhdrs;
        for (size_t i = 1; i < x->mhdrs_n; i++) {
            tail = tail->next;
        }
        tail->next = head;
        head = x->mhdrs;
    }
    for (size_t i = n; i-- > 0;) {
        mine[i]->next = head;
        head = mine[i];
    }
    if ((e = easy_acquire(w)) == NULL) {
        return GW_ENOMEM;
    }
    /* only what changes from one transfer to the next (easy_create set the rest) */
    bad |= SETOPT(e, CURLOPT_PRIVATE, (void *)x);
    bad |= SETOPT(e, CURLOPT_HEADERDATA, (void *)x);
    bad |= SETOPT(e, CURLOPT_WRITEDATA, (void *)x);
    bad |= SETOPT(e, CURLOPT_ERRORBUFFER, x->errbuf);
    bad |= SETOPT(e, CURLOPT_HTTPHEADER, head);
    bad |= SETOPT(e, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
    /* HTTP/1.1: a GET stream's connection closes with it; an idle one kept would count against
     * the backend for nothing (over h2 it is one stream of a shared connection) */
    bad |= SETOPT(e, CURLOPT_FORBID_REUSE, (long)(get && !w->https));
    if (post) {
        bad |= SETOPT(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
        bad |= SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
        bad |= SETOPT(e, CURLOPT_POSTFIELDS, rq->len > 0 ? rq->body : "");
    } else {
        bad |= SETOPT(e, CURLOPT_HTTPGET, 1L);
        bad |= SETOPT(e, CURLOPT_CUSTOMREQUEST, get ? (char *)NULL : rq->method);
    }
    if (bad) {
        easy_release(w, e, 1); /* in an unknown state: not kept */
        return GW_EINVAL;
    }
    x->timeout_ms = rq->timeout_ms;
    x->started_ms = gw_clock_ms();
    x->easy = e;
    /* a GET lives as long as its stream: it must never hold a connection a call waits for */
    x->mx = get || rq->stream ? &w->streams : &w->requests;
    if (curl_multi_add_handle(x->mx->m, e) != CURLM_OK) {
        x->easy = NULL;
        x->mx = NULL;
        easy_release(w, e, 0);
        return GW_EIO;
    }
    return GW_OK;
}

void wrk_xfer_set_paused(xfer_t *x, int paused)
{
    if (x->easy == NULL || x->paused == paused) {
        return;
    }
    x->paused = paused;
    /* Unpausing may deliver buffered data through on_curl_write right here. */
    curl_easy_pause(x->easy, paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
}

static void xfer_complete(wrk_multi_t *mx, CURL *e, CURLcode rc)
{
    char *priv = NULL;
    xfer_t *x;

    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    x = (xfer_t *)(void *)priv;
    if (x == NULL || x->easy != e) {
        curl_multi_remove_handle(mx->m, e);
        curl_easy_cleanup(e);
        return;
    }
    if (!x->head_seen && rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        xfer_see_head(x, status);
    }
    wrk_xfer_cancel(x);
    wrk_tls_note_failure(x, rc);
    x->ops->on_done(x, rc);
}

/* Describes a failed transfer (libcurl error, our own abort) for a JSON-RPC error. Returns 0
 * when the transfer completed, else the JSON-RPC error code with msg filled in. */
int wrk_xfer_failure(const xfer_t *x, CURLcode rc, char *msg, size_t len)
{
    const char *name = x->w->name;

    if (x->aborted == ABORT_TOO_BIG) {
        snprintf(msg, len, "backend %s answer exceeds limits.max_response_body (%zu bytes)", name,
                 (size_t)x->w->cfg->max_response_body);
        return GW_RPC_INTERNAL_ERROR;
    }
    if (x->aborted == ABORT_NOMEM) {
        snprintf(msg, len, "backend %s answer: out of memory", name);
        return GW_RPC_INTERNAL_ERROR;
    }
    if (x->aborted == ABORT_RELAY) {
        snprintf(msg, len, "backend %s answer could not be relayed", name);
        return GW_RPC_INTERNAL_ERROR;
    }
    if (rc == CURLE_OK) {
        return 0;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(msg, len, "backend %s timed out after %" PRIu64 " ms", name, x->timeout_ms);
        return GW_RPC_TIMEOUT;
    }
    const char *tls = wrk_tls_describe(x, rc);
    if (tls != NULL) {
        snprintf(msg, len, "backend %s: %s: %s", name, tls,
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        return GW_RPC_BACKEND_UNAVAILABLE;
    }
    snprintf(msg, len, "backend %s %s: %s", name,
             x->head_seen ? "broke off its answer" : "unreachable",
             x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    return GW_RPC_BACKEND_UNAVAILABLE;
}

/* ---- the shared headers, setup and teardown ---- */

static struct curl_slist *headers_add(struct curl_slist *list, const char *line, int *bad)
{
    struct curl_slist *l;

    if (*bad) {
        return list;
    }
    if ((l = curl_slist_append(list, line)) == NULL) {
        *bad = 1;
        return list;
    }
    return l;
}

static int header_configured(const gw_server_conf_t *srv, const char *name)
{
    for (size_t i = 0; i < srv->nheaders; i++) {
        if (strcasecmp(srv->headers[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The headers every request carries: fixed ones, then the server's configured headers. The
 * User-Agent is one of them (unless configured) rather than CURLOPT_USERAGENT, which libcurl
 * formats into a new string for every request. */
static gw_err_t headers_build(wrk_t *w)
{
    const gw_server_conf_t *srv = w->srv;
    int bad = 0;
    char line[1024];

    w->post_hdrs = headers_add(w->post_hdrs, "Content-Type: application/json", &bad);
    w->post_hdrs = headers_add(w->post_hdrs, "Accept: application/json, text/event-stream", &bad);
    w->post_hdrs = headers_add(w->post_hdrs, "Expect:", &bad); /* no 100-continue round trip */
    w->plain_hdrs = headers_add(w->plain_hdrs, "Accept: application/json, text/event-stream", &bad);
    if (!header_configured(srv, "user-agent")) {
        w->post_hdrs = headers_add(w->post_hdrs, "User-Agent: mcpgw/" PACKAGE_VERSION, &bad);
        w->plain_hdrs = headers_add(w->plain_hdrs, "User-Agent: mcpgw/" PACKAGE_VERSION, &bad);
    }
    for (size_t i = 0; i < srv->nheaders; i++) {
        const gw_header_t *h = &srv->headers[i];
        /* "Name;" is how libcurl sends a header with an empty value */
        int n = h->value[0] ? snprintf(line, sizeof(line), "%s: %s", h->name, h->value)
                            : snprintf(line, sizeof(line), "%s;", h->name);
        if (n < 0 || (size_t)n >= sizeof(line)) {
            gw_log_err("msg=\"configured header too long\" backend=%s header=%s", w->name, h->name);
            return GW_ETOOBIG;
        }
        w->post_hdrs = headers_add(w->post_hdrs, line, &bad);
        w->plain_hdrs = headers_add(w->plain_hdrs, line, &bad);
    }
    return bad ? GW_ENOMEM : GW_OK;
}

static void multi_complete_done(wrk_multi_t *mx)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(mx->m, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE) {
            xfer_complete(mx, m->easy_handle, m->data.result);
        }
    }
}

void wrk_xfer_complete_done(wrk_t *w)
{
    multi_complete_done(&w->requests);
    multi_complete_done(&w->streams);
}

/* ---- the multis on the epoll set ---- */

/* CURLMOPT_SOCKETFUNCTION: libcurl says which events of socket s it waits for. */
static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    wrk_multi_t *mx = userp;
    struct epoll_event ev;

    (void)e;
    (void)socketp;
    memset(&ev, 0, sizeof(ev));
    ev.data.u64 = ((uint64_t)mx->tag << 32) | (uint32_t)s;
    if (what == CURL_POLL_REMOVE) {
        /* the socket may be closed already, which took it off the set */
        epoll_ctl(mx->w->ep, EPOLL_CTL_DEL, s, &ev);
        return 0;
    }
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(mx->w->ep, EPOLL_CTL_MOD, s, &ev) == 0) {
        return 0;
    }
    if (errno == ENOENT && epoll_ctl(mx->w->ep, EPOLL_CTL_ADD, s, &ev) == 0) {
        return 0;
    }
    gw_log_err("msg=\"cannot watch a backend socket\" backend=%s fd=%d error=\"%s\"", mx->w->name,
               (int)s, strerror(errno));
    return -1; /* libcurl fails the transfers on that socket */
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT). */
static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    wrk_multi_t *mx = userp;

    (void)m;
    mx->timer_ms = timeout_ms < 0 ? -1 : gw_clock_ms() + timeout_ms;
    return 0;
}

static void multi_action(wrk_multi_t *mx, curl_socket_t s, int flags)
{
    int running = 0;
    CURLMcode mc = curl_multi_socket_action(mx->m, s, flags, &running);

    if (mc != CURLM_OK) {
        gw_log_warn("msg=\"libcurl socket action failed\" backend=%s error=\"%s\"", mx->w->name,
                    curl_multi_strerror(mc));
    }
}

void wrk_xfer_socket_ready(wrk_t *w, uint32_t tag, int fd, int flags)
{
    multi_action(tag == WRK_EV_STREAMS ? &w->streams : &w->requests, fd, flags);
}

static int64_t multi_run_timer(wrk_multi_t *mx, int64_t now)
{
    if (mx->timer_ms >= 0 && now >= mx->timer_ms) {
        mx->timer_ms = -1; /* libcurl sets the next one from inside the call */
        multi_action(mx, CURL_SOCKET_TIMEOUT, 0);
    }
    return mx->timer_ms >= 0 ? mx->timer_ms : INT64_MAX;
}

int64_t wrk_xfer_next_timer(const wrk_t *w)
{
    int64_t a = w->requests.timer_ms >= 0 ? w->requests.timer_ms : INT64_MAX;
    int64_t b = w->streams.timer_ms >= 0 ? w->streams.timer_ms : INT64_MAX;

    return a < b ? a : b;
}

int64_t wrk_xfer_run_timers(wrk_t *w, int64_t now)
{
    int64_t a = multi_run_timer(&w->requests, now);
    int64_t b = multi_run_timer(&w->streams, now);

    return a < b ? a : b;
}

static gw_err_t multi_setup(wrk_t *w, wrk_multi_t *mx, uint32_t tag, long max_host)
{
    int bad = 0;

    mx->w = w;
    mx->tag = tag;
    mx->timer_ms = -1;
    if ((mx->m = curl_multi_init()) == NULL) {
        return GW_ENOMEM;
    }
    bad |= curl_multi_setopt(mx->m, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK;
    bad |= curl_multi_setopt(mx->m, CURLMOPT_SOCKETDATA, (void *)mx) != CURLM_OK;
    bad |= curl_multi_setopt(mx->m, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK;
    bad |= curl_multi_setopt(mx->m, CURLMOPT_TIMERDATA, (void *)mx) != CURLM_OK;
    if (max_host > 0) {
        /* more transfers than connections wait inside libcurl for a free one */
        bad |= curl_multi_setopt(mx->m, CURLMOPT_MAX_HOST_CONNECTIONS, max_host) != CURLM_OK;
        bad |= curl_multi_setopt(mx->m, CURLMOPT_MAXCONNECTS, max_host) != CURLM_OK;
    }
    return bad ? GW_EINVAL : GW_OK;
}

static void multi_teardown(wrk_multi_t *mx)
{
    if (mx->m != NULL) {
        curl_multi_cleanup(mx->m);
        mx->m = NULL;
    }
}

gw_err_t wrk_xfer_setup(wrk_t *w)
{
    gw_err_t err;

    if ((err = multi_setup(w, &w->requests, WRK_EV_REQUESTS, (long)w->srv->max_connections)) !=
            GW_OK ||
        (err = multi_setup(w, &w->streams, WRK_EV_STREAMS, 0)) != GW_OK ||
        (err = wrk_tls_setup(w)) != GW_OK) {
        return err;
    }
    /* parsed once for every handle (CURLOPT_CURLU): libcurl copies it per transfer instead of
     * parsing the text and writing it out again */
    if ((w->curlu = curl_url()) == NULL) {
        return GW_ENOMEM;
    }
    if (curl_url_set(w->curlu, CURLUPART_URL, w->url, 0) != CURLUE_OK) {
        gw_log_err("msg=\"libcurl refused the url\" backend=%s url=%s", w->name, w->url);
        return GW_EINVAL;
    }
    w->https = strncasecmp(w->url, "https:", 6) == 0;
    return headers_build(w);
}

void wrk_xfer_teardown(wrk_t *w)
{
    multi_teardown(&w->requests);
    multi_teardown(&w->streams);
    while (w->nidle > 0) {
        curl_easy_cleanup(w->idle[--w->nidle]);
    }
    curl_url_cleanup(w->curlu);
    w->curlu = NULL;
    curl_slist_free_all(w->post_hdrs);
    curl_slist_free_all(w->plain_hdrs);
    w->post_hdrs = NULL;
    w->plain_hdrs = NULL;
    wrk_tls_teardown(w);
}
