/* http_checks.c: the HTTP-level checks of a request: Accept, Content-Type, Host and Origin
 * (DNS rebinding), MCP-Protocol-Version, and the Mcp-Session-Id token (bound to its subject). */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/clock.h"
#include "router/router.h"

/* Does the comma-separated media-type list v contain type (ignoring parameters and case)? */
int rtr_http_accepts(h2o_iovec_t v, const char *type)
{
    size_t tlen = strlen(type);
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.base[i] == ' ' || v.base[i] == '\t' || v.base[i] == ',')) {
            i++;
        }
        size_t start = i;
        while (i < v.len && v.base[i] != ',' && v.base[i] != ';' && v.base[i] != ' ') {
            i++;
        }
        size_t n = i - start;
        if ((n == tlen && strncasecmp(v.base + start, type, n) == 0) ||
            (n == 3 && memcmp(v.base + start, "*/*", 3) == 0)) {
            return 1;
        }
        while (i < v.len && v.base[i] != ',') {
            i++;
        }
    }
    return 0;
}

int rtr_http_is_json(h2o_iovec_t v)
{
    static const char ct[] = "application/json";
    size_t n = sizeof(ct) - 1;
    if (v.len < n || strncasecmp(v.base, ct, n) != 0) {
        return 0;
    }
    return v.len == n || v.base[n] == ';' || v.base[n] == ' ';
}

/* Is host (no port, no brackets) a loopback name or address? */
static int is_loopback_host(const char *h, size_t n)
{
    return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
           (n == 3 && memcmp(h, "::1", 3) == 0) ||
           (n >= 4 && memcmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == n);
}

/* Splits "host:port", "[v6]:port" or "host" into the host part. */
static void host_part(const char *s, size_t n, const char **h, size_t *hn)
{
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        *h = s + 1;
        *hn = close != NULL ? (size_t)(close - s - 1) : n - 1;
        return;
    }
    const char *colon = memchr(s, ':', n);
    *h = s;
    *hn = colon != NULL ? (size_t)(colon - s) : n;
}

static int in_list(char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], "*") == 0 ||
            (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0)) {
            return 1;
        }
    }
    return 0;
}

/* DNS-rebinding protection (transports spec): the Host must be loopback, one of the listen
 * addresses or in http.allowed_hosts; an Origin, when sent, must be loopback or in
 * http.allowed_origins. */
int rtr_http_host_allowed(rtr_t *r, h2o_req_t *req)
{
    const char *h;
    size_t hn;
    host_part(req->input.authority.base, req->input.authority.len, &h, &hn);
    int host_ok =
        is_loopback_host(h, hn) || in_list(r->cfg->allowed_hosts, r->cfg->nallowed_hosts, h, hn);
    for (size_t i = 0; !host_ok && i < r->cfg->nlisten; i++) {
        const char *a = r->cfg->listen[i].address;
        host_ok = strlen(a) == hn && strncasecmp(a, h, hn) == 0;
    }
    if (!host_ok) {
        return 0;
    }
    h2o_iovec_t origin = rtr_header(req, "origin");
    if (origin.len == 0) {
        return 1;
    }
    if (in_list(r->cfg->allowed_origins, r->cfg->nallowed_origins, origin.base, origin.len)) {
        return 1;
    }
    const char *sep = origin.len > 3 ? memmem(origin.base, origin.len, "://", 3) : NULL;
    if (sep == NULL) {
        return 0;
    }
    const char *auth = sep + 3;
    host_part(auth, (size_t)(origin.base + origin.len - auth), &h, &hn);
    return is_loopback_host(h, hn);
}

/* An MCP-Protocol-Version header, when present, must name a revision mcpgw speaks (absent means
 * 2025-03-26, or the session's); answers 400 otherwise. */
int rtr_http_protocol_version_ok(rtr_t *r, h2o_req_t *req)
{
    h2o_iovec_t pv = rtr_header(req, "mcp-protocol-version");
    if (pv.len > 0 && gw_proto_parse(pv.base, pv.len) == GW_PROTO_NONE) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Bad Request: Unsupported MCP-Protocol-Version");
        return 0;
    }
    return 1;
}

/* Validates the session header; on success fills claims and uuid text, else answers. */
int rtr_http_check_session(rtr_t *r, h2o_req_t *req, gw_session_claims_t *claims, char *uuid,
                           const char *id, size_t id_len)
{
    h2o_iovec_t sid = rtr_header(req, "mcp-session-id");
    if (sid.len == 0) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 400, id, id_len, GW_RPC_INVALID_REQUEST,
                          "Bad Request: Mcp-Session-Id header is required");
        return 0;
    }
    static const rtr_caller_t nobody;
    gw_err_t err = gw_token_open(r->keys, sid.base, sid.len, gw_wallclock_s(), claims);
    if (err == GW_OK) {
        gw_uuid_format(claims->uuid, uuid);
        const rtr_caller_t *who = r->caller != NULL ? r->caller : &nobody;
        if (!rtr_auth_binds(r, who, claims, req)) {
            err = GW_EAUTH; /* another subject's session: as unknown as a forged one */
        } else if (claims->endpoint != who->endpoint) {
            err = GW_EAUTH; /* a session of another endpoint: unknown on this one */
        } else if (!gw_revoked_has(&r->revoked, claims->uuid)) {
            rtr_session_seen(r, uuid, claims->expires);
            return 1;
        }
    }
    h2o_iovec_t rid = rtr_request_id_of(req);
    gw_log_debug("msg=\"session refused\" error=\"%s\" request_id=%.*s",
                 err == GW_OK ? "revoked" : gw_strerror(err), (int)rid.len, rid.base);
    rtr_respond_error(r, RTR_TO_CLIENT(req), 404, id, id_len, GW_RPC_SESSION_NOT_FOUND,
                      "Session not found");
    return 0;
}
