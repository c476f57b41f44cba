/* reply.c: the broker's messages to routers and workers (through its outboxes) and its JSON-RPC
 * answers to gateway-level requests. */
#include <config.h> /* autoconf's, not common/config.h */

#include <string.h>

#include "broker/broker.h"
#include "common/buf.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/shard.h"

void brk_reply_send(brk_t *b, gw_str_t to, gw_envelope_t *e, gw_str_t request_id)
{
    gw_outbox_t *o = gw_outboxes_get(&b->out, to);
    e->origin = GW_STR(GW_BROKER_NAME);
    gw_err_t err = o != NULL ? gw_outbox_send(o, e) : GW_ENOTFOUND;
    if (err != GW_OK) {
        gw_log_warn("msg=\"send failed\" peer=%.*s error=\"%s\" request_id=%.*s", (int)to.len,
                    to.ptr, gw_strerror(err), (int)request_id.len, request_id.ptr);
    }
}

size_t brk_reply_to_routers(brk_t *b, gw_envelope_t *e)
{
    size_t sent = 0;
    for (size_t i = 0; i < BRK_MAX_ROUTERS; i++) {
        if (b->subs[i].active) {
            gw_name_t to = gw_router_inbox((unsigned)i);
            brk_reply_send(b, (gw_str_t){to.s, strlen(to.s)}, e, GW_STR(""));
            sent++;
        }
    }
    return sent;
}

size_t brk_reply_to_workers(brk_t *b, const gw_server_conf_t *only, gw_envelope_t *e)
{
    const gw_config_t *cfg = b->cycle->cfg;
    size_t sent = 0;
    for (size_t i = 0; i < cfg->nservers; i++) {
        const gw_server_conf_t *s = &cfg->servers[i];
        for (unsigned k = 0; (only == NULL || only == s) && k < s->workers; k++) {
            gw_name_t to = gw_worker_shard_inbox(s->name, k);
            brk_reply_send(b, (gw_str_t){to.s, strlen(to.s)}, e, GW_STR(""));
            sent++;
        }
    }
    return sent;
}

gw_name_t brk_worker_of(const gw_server_conf_t *s, const gw_envelope_t *e)
{
    return gw_worker_shard_inbox(s->name, gw_shard_of(e, s->workers));
}

void brk_reply(brk_t *b, gw_str_t to, uint64_t corr, uint8_t kind, unsigned status,
               const char *body, size_t len, gw_str_t request_id)
{
    gw_envelope_t e = {.kind = kind, .corr = corr, .status = status};
    e.body = (gw_str_t){body, len};
    brk_reply_send(b, to, &e, request_id);
}

void brk_reply_json(brk_t *b, gw_str_t to, uint64_t corr, const gw_env_header_t *hdr,
                    const char *body, size_t len, gw_str_t request_id)
{
    gw_envelope_t e = {.kind = GW_ENV_HEAD, .corr = corr, .status = 200, .flags = GW_ENV_F_FINAL};
    if (hdr != NULL) {
        e.headers[0] = *hdr;
        e.nheaders = 1;
    }
    e.body = (gw_str_t){body, len};
    brk_reply_send(b, to, &e, request_id);
}

void brk_reply_rpc_error(brk_t *b, const gw_envelope_t *req, int code, const char *msg)
{
    brk_reply_rpc_error_status(b, req, 200, code, msg);
}

void brk_reply_rpc_error_status(brk_t *b, const gw_envelope_t *req, unsigned status, int code,
                                const char *msg)
{
    gw_buf_t buf;
    gw_buf_init(&buf);
    if (status == 200) {
        gw_log_info("msg=rejected code=%d reason=\"%s\" request_id=%.*s", code, msg,
                    (int)req->request_id.len, req->request_id.ptr);
    } else {
        gw_log_info("msg=rejected status=%u code=%d reason=\"%s\" request_id=%.*s", status, code,
                    msg, (int)req->request_id.len, req->request_id.ptr);
    }
    gw_envelope_t e = {
        .kind = GW_ENV_HEAD, .corr = req->corr, .status = status, .flags = GW_ENV_F_FINAL};
    if (gw_rpc_error(&buf, req->rpc_id.ptr, req->rpc_id.len, code, msg) == GW_OK) {
        e.body = (gw_str_t){buf.data, buf.len};
    } else {
        e.status = 503; /* out of memory: no body rather than half of one */
    }
    brk_reply_send(b, req->origin, &e, req->request_id);
    gw_buf_fini(&buf);
}
