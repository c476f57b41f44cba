/* listen.c: the 2026-07-28 subscriptions/listen streams (docs/design-2026-07-28.md §6): the table
 * keyed by (caller, listen id), bounded per caller and per gateway; the acknowledgement with the
 * honoured filter; list_changed from the gateway's own catalog changes; resources/updated fanned
 * in from the workers; the graceful end (the complete result) on a drop, a cancel, a stop. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/endpoint.h"
#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/lists.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/names.h"

/* Per caller (token issuer and subject; anonymous callers are one caller): design §6. */
#define LISTENS_PER_CALLER 16
/* resourceSubscriptions of one listen, and the length of one URI: a listen is one client's, and
 * more than this is no client's honest need; past either the listen is refused (400 -32602). */
#define LISTEN_MAX_URIS 64
#define LISTEN_URI_MAX 2048

#define SUB_ID_KEY "io.modelcontextprotocol/subscriptionId"
#define ACK_WAIT_MS 2000

/* The honoured filter's bits. */
enum { WANT_TOOLS = 1u << 0, WANT_PROMPTS = 1u << 1, WANT_RESOURCES = 1u << 2 };

typedef struct listen {
    struct listen *next;
    char *caller; /* "<issuer tag hex>:<subject>", "" for anonymous */
    char *id;     /* the listen request's id, its raw JSON token */
    size_t id_len;
    char holder[GW_NAME_MAX]; /* the router holding the client's stream */
    uint64_t corr;            /* its correlation id there */
    uint64_t serial;          /* names it to workers: "L<serial>" */
    unsigned want;            /* WANT_*, honoured */
    unsigned set;             /* the caller's capability set */
    char **uris;              /* resourceSubscriptions honoured */
    char **uri_worker;        /* the inbox of the backend each routes to (a name: a reload may
                                 renumber the servers) */
    size_t nuris;
    char request_id[80];
    /* the caller's headers, for listen/subscribe (again after a worker restarts) */
    char subject[GW_SUBJECT_MAX];
    size_t subject_len;
    char tag[GW_ISSUER_TAG_LEN];
    size_t tag_len;
    char level[16];
    uint8_t caps;
    /* The acknowledgement waits until every backend of its URIs says the subscription is in
     * place (listen/ready, or the answer to its resources/subscribe), so that an update the
     * client causes right after it is not missed; at most ACK_WAIT_MS, and never behind an
     * event, which sends it first. */
    int acked;
    unsigned char *ready; /* per URI: its backend confirmed */
    int64_t ack_due_ms;
} listen_t;

struct brk_listens {
    listen_t *head;
    size_t n;
    uint64_t next_serial;
};

gw_err_t brk_listens_init(brk_t *b)
{
    b->listens = calloc(1, sizeof(*b->listens));
    return b->listens != NULL ? GW_OK : GW_ENOMEM;
}

static void listen_free(listen_t *l)
{
    for (size_t i = 0; i < l->nuris; i++) {
        free(l->uris[i]);
        free(l->uri_worker[i]);
    }
    free(l->uris);
    free(l->uri_worker);
    free(l->ready);
    free(l->caller);
    free(l->id);
    free(l);
}

void brk_listens_fini(brk_t *b)
{
    if (b->listens == NULL) {
        return;
    }
    while (b->listens->head != NULL) {
        listen_t *l = b->listens->head;
        b->listens->head = l->next;
        listen_free(l);
    }
    free(b->listens);
    b->listens = NULL;
}

size_t brk_listens_count(const brk_t *b)
{
    return b->listens != NULL ? b->listens->n : 0;
}

static gw_str_t header(const gw_envelope_t *e, const char *name)
{
    for (size_t i = 0; i < e->nheaders; i++) {
        if (gw_str_eq(e->headers[i].name, name)) {
            return e->headers[i].value;
        }
    }
    return GW_STR_NULL;
}

/* The caller of a modern envelope as one string (the tag is bytes: hex). NULL out of memory. */
static char *caller_of(const gw_envelope_t *e)
{
    gw_str_t tag = header(e, "auth-issuer-tag");
    gw_str_t sub = header(e, "auth-subject");
    if (tag.len == 0 && sub.len == 0) {
        return strdup("");
    }
    char *s = malloc(2 * tag.len + 1 + sub.len + 1);
    if (s == NULL) {
        return NULL;
    }
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < tag.len; i++) {
        s[n++] = digits[(unsigned char)tag.ptr[i] >> 4];
        s[n++] = digits[(unsigned char)tag.ptr[i] & 15];
    }
    s[n++] = ':';
    if (sub.len > 0) {
        memcpy(s + n, sub.ptr, sub.len);
    }
    s[n + sub.len] = '\0';
    return s;
}

static void listen_unlink(brk_t *b, listen_t *l)
{
    for (listen_t **p = &b->listens->head; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            b->listens->n--;
            return;
        }
    }
}

static void worker_send(brk_t *b, const char *inbox, gw_envelope_t *e)
{
    gw_outbox_t *o = gw_outboxes_get(&b->out, (gw_str_t){inbox, strlen(inbox)});
    e->origin = GW_STR(GW_BROKER_NAME);
    if (o == NULL || gw_outbox_send(o, e) != GW_OK) {
        /* a reload removed it (its listens hear nothing more of it), or it is stuck */
        gw_log_warn("msg=\"worker not told of a listen\" worker=%s method=%.*s", inbox,
                    (int)e->method.len, e->method.ptr);
    }
}

/* The workers of l's resource subscriptions forget them (they unsubscribe upstream). */
static void tell_workers_dropped(brk_t *b, const listen_t *l)
{
    char key[32];
    snprintf(key, sizeof(key), "L%llu", (unsigned long long)l->serial);
    for (size_t i = 0; i < l->nuris; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = strcmp(l->uri_worker[j], l->uri_worker[i]) == 0;
        }
        if (!seen) {
            gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
            e.method = GW_STR("listen/drop");
            e.session = (gw_str_t){key, strlen(key)};
            worker_send(b, l->uri_worker[i], &e);
        }
    }
}

/* Ends l: its result, complete and tagged (spec basic/patterns/subscriptions, graceful closure),
 * then the end of the stream; out of the table. */
static void listen_end(brk_t *b, listen_t *l, const char *why)
{
    gw_buf_t m;
    gw_buf_init(&m);
    (void)gw_buf_appends(&m, "{\"jsonrpc\":\"2.0\",\"id\":");
    (void)gw_buf_append(&m, l->id, l->id_len);
    (void)gw_buf_appends(&m,
                         ",\"result\":{\"resultType\":\"complete\",\"_meta\":{\"" SUB_ID_KEY "\":");
    (void)gw_buf_append(&m, l->id, l->id_len);
    gw_str_t to = {l->holder, strlen(l->holder)};
    gw_str_t rid = {l->request_id, strlen(l->request_id)};
    if (gw_buf_appends(&m, "}}}") == GW_OK) {
        gw_envelope_t c = {.kind = GW_ENV_CHUNK, .corr = l->corr};
        c.body = (gw_str_t){m.data, m.len};
        brk_reply_send(b, to, &c, rid);
    }
    gw_buf_fini(&m);
    brk_reply(b, to, l->corr, GW_ENV_END, 200, NULL, 0, rid);
    gw_log_info("msg=\"listen ended\" reason=%s router=%s request_id=%s listens=%zu", why,
                l->holder, l->request_id, b->listens->n - 1);
    tell_workers_dropped(b, l);
    listen_unlink(b, l);
    listen_free(l);
}

static void listen_send(brk_t *b, const listen_t *l, const char *method, const char *members);

/* One event onto l's stream: method, and params' members (JSON text without braces, or "")
 * before the subscription id. */
static void listen_send(brk_t *b, const listen_t *l, const char *method, const char *members)
{
    gw_buf_t m;
    gw_buf_init(&m);
    (void)gw_buf_appendf(
        &m, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":{%s%s\"_meta\":{\"" SUB_ID_KEY "\":",
        method, members, members[0] ? "," : "");
    (void)gw_buf_append(&m, l->id, l->id_len);
    if (gw_buf_appends(&m, "}}}") == GW_OK) {
        gw_envelope_t c = {.kind = GW_ENV_CHUNK, .corr = l->corr};
        c.body = (gw_str_t){m.data, m.len};
        brk_reply_send(b, (gw_str_t){l->holder, strlen(l->holder)}, &c,
                       (gw_str_t){l->request_id, strlen(l->request_id)});
    } else {
        gw_log_warn("msg=\"listen event lost: out of memory\" request_id=%s", l->request_id);
    }
    gw_buf_fini(&m);
}

/* The backend resource uri routes to for a caller of set and view, when that backend advertises
 * resources.subscribe; else -1. Listed resources only: a URI that only a template matches is not
 * honoured (its owner would be a guess among the backends whose templates match). */
/* The acknowledgement: the honoured filter and the subscription id, before anything else. */
static gw_err_t send_ack(brk_t *b, listen_t *l)
{
    gw_buf_t f;
    gw_buf_init(&f);
    (void)gw_buf_appends(&f, "\"notifications\":{");
    const char *sep = "";
    static const struct {
        unsigned bit;
        const char *key;
    } flags[] = {{WANT_TOOLS, "toolsListChanged"},
                 {WANT_PROMPTS, "promptsListChanged"},
                 {WANT_RESOURCES, "resourcesListChanged"}};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (l->want & flags[i].bit) {
            (void)gw_buf_appendf(&f, "%s\"%s\":true", sep, flags[i].key);
            sep = ",";
        }
    }
    if (l->nuris > 0) {
        (void)gw_buf_appendf(&f, "%s\"resourceSubscriptions\":[", sep);
        for (size_t i = 0; i < l->nuris; i++) {
            (void)gw_buf_appends(&f, i > 0 ? "," : "");
            (void)gw_buf_append_json_string(&f, l->uris[i], strlen(l->uris[i]));
        }
        (void)gw_buf_appends(&f, "]");
    }
    gw_err_t err = gw_buf_appends(&f, "}");
    l->acked = 1;
    if (err == GW_OK) {
        listen_send(b, l, "notifications/subscriptions/acknowledged", f.data);
    }
    gw_buf_fini(&f);
    return err;
}

/* Sends l's acknowledgement when every URI's backend confirmed (or force). */
static void ack_if_ready(brk_t *b, listen_t *l, int force, const char *why)
{
    for (size_t i = 0; !force && i < l->nuris; i++) {
        if (!l->ready[i]) {
            return;
        }
    }
    if (!l->acked) {
        if (send_ack(b, l) != GW_OK) {
            gw_log_warn("msg=\"listen acknowledgement lost: out of memory\" request_id=%s",
                        l->request_id);
        }
        gw_log_debug("msg=\"listen acknowledged\" why=%s request_id=%s", why, l->request_id);
    }
}

static long subscribable_owner(const brk_t *b, unsigned set, unsigned view, const char *uri)
{
    const brk_catalog_t *cat = &b->cycle->cat;
    const brk_item_t *const *items;
    size_t n;
    if (!(cat->active & (1u << set))) {
        set = 0; /* a set not seen yet has no view: the default set's lists until it comes */
    }
    if (brk_catalog_filtered(cat, set, view, GW_LIST_RESOURCES, &items, &n) != GW_OK) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i]->key, uri) == 0) {
            size_t s = items[i]->server;
            return s < cat->nbackends && (cat->backends[s].caps.bits & BRK_CAP_SUBSCRIBE) ? (long)s
                                                                                          : -1;
        }
    }
    return -1;
}

/* Reads params.notifications into l (what is honoured of it); a message for the client when it
 * is not a filter. */
static const char *read_filter(brk_t *b, const gw_envelope_t *e, yajl_val params, listen_t *l)
{
    yajl_val f = gw_json_get(params, "notifications");
    if (!YAJL_IS_OBJECT(f)) {
        return "Invalid params: params.notifications must be an object";
    }
    unsigned endpoint = gw_view_endpoint(e->view);
    static const struct {
        const char *key;
        unsigned bit;
        const char *capability; /* NULL: always honoured */
    } flags[] = {
        {"toolsListChanged", WANT_TOOLS, NULL},
        {"promptsListChanged", WANT_PROMPTS, "prompts"},
        {"resourcesListChanged", WANT_RESOURCES, "resources"},
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        yajl_val v = gw_json_get(f, flags[i].key);
        if (v != NULL && !YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
            return "Invalid params: a notifications flag must be a boolean";
        }
        if (YAJL_IS_TRUE(v) &&
            (flags[i].capability == NULL ||
             brk_catalog_offers(&b->cycle->cat, flags[i].capability, endpoint))) {
            l->want |= flags[i].bit;
        }
    }
    yajl_val subs = gw_json_get(f, "resourceSubscriptions");
    if (subs == NULL) {
        return NULL;
    }
    if (!YAJL_IS_ARRAY(subs)) {
        return "Invalid params: resourceSubscriptions must be an array of URIs";
    }
    size_t n = subs->u.array.len;
    if (n > LISTEN_MAX_URIS) {
        return "Invalid params: more than 64 resourceSubscriptions";
    }
    l->uris = calloc(n + 1, sizeof(*l->uris));
    l->uri_worker = calloc(n + 1, sizeof(*l->uri_worker));
    l->ready = calloc(n + 1, 1);
    if (l->uris == NULL || l->uri_worker == NULL || l->ready == NULL) {
        return "";
    }
    for (size_t i = 0; i < n; i++) {
        const char *u = YAJL_GET_STRING(subs->u.array.values[i]);
        if (u == NULL || strlen(u) > LISTEN_URI_MAX) {
            return "Invalid params: a resourceSubscriptions entry must be a URI string";
        }
        int dup = 0;
        for (size_t j = 0; j < l->nuris && !dup; j++) {
            dup = strcmp(l->uris[j], u) == 0;
        }
        long owner = dup ? -1 : subscribable_owner(b, l->set, e->view, u);
        if (owner < 0) {
            continue; /* not honoured: the acknowledgement leaves it out */
        }
        /* the caller's shard: its pooled session there is the one subscribed (read_filter
         * runs on the listen's own envelope, which has no session) */
        gw_name_t inbox = brk_worker_of(&b->cycle->cfg->servers[owner], e);
        if ((l->uris[l->nuris] = strdup(u)) == NULL ||
            (l->uri_worker[l->nuris] = strdup(inbox.s)) == NULL) {
            free(l->uris[l->nuris]);
            return "";
        }
        l->nuris++;
    }
    return NULL;
}

/* Each backend of l's resource subscriptions is asked to subscribe upstream for the caller:
 * listen/subscribe records which listen wants which URI (the worker maps updates back to it),
 * then the URI's resources/subscribe goes as a modern call of the caller, on the caller's pooled
 * session there (worker/listen.c; its answer comes back here and is not needed). */
static void subscribe_upstream(brk_t *b, const listen_t *l, const char *only)
{
    char key[32];
    snprintf(key, sizeof(key), "L%llu", (unsigned long long)l->serial);
    for (size_t i = 0; i < l->nuris; i++) {
        if (only != NULL && strcmp(only, l->uri_worker[i]) != 0) {
            continue;
        }
        gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY | GW_ENV_F_MODERN};
        e.method = GW_STR("listen/subscribe");
        e.session = (gw_str_t){key, strlen(key)};
        e.request_id = (gw_str_t){l->request_id, strlen(l->request_id)};
        e.caps = l->caps;
        e.proto = GW_PROTO_2026_07_28;
        if (l->subject_len > 0) {
            e.headers[e.nheaders++] =
                (gw_env_header_t){GW_STR("auth-subject"), {l->subject, l->subject_len}};
        }
        if (l->tag_len > 0) {
            e.headers[e.nheaders++] =
                (gw_env_header_t){GW_STR("auth-issuer-tag"), {l->tag, l->tag_len}};
        }
        if (l->level[0] != '\0') {
            e.headers[e.nheaders++] =
                (gw_env_header_t){GW_STR("log-level"), {l->level, strlen(l->level)}};
        }
        e.body = (gw_str_t){l->uris[i], strlen(l->uris[i])};
        worker_send(b, l->uri_worker[i], &e);
    }
}

void brk_listen_resubscribe(brk_t *b, gw_str_t worker)
{
    char inbox[GW_NAME_MAX];
    snprintf(inbox, sizeof(inbox), "%.*s", (int)worker.len, worker.ptr);
    for (listen_t *l = b->listens->head; l != NULL; l = l->next) {
        subscribe_upstream(b, l, inbox);
    }
}

static listen_t *find(brk_t *b, const char *caller, const char *id, size_t id_len)
{
    for (listen_t *l = b->listens->head; l != NULL; l = l->next) {
        if (l->id_len == id_len && memcmp(l->id, id, id_len) == 0 &&
            strcmp(l->caller, caller) == 0) {
            return l;
        }
    }
    return NULL;
}

void brk_listen_open(brk_t *b, const gw_envelope_t *e)
{
    char err[64];
    listen_t *l = calloc(1, sizeof(*l));
    yajl_val v = gw_json_parse(e->body.ptr, e->body.len, err, sizeof(err));
    if (l == NULL || (l->caller = caller_of(e)) == NULL || e->rpc_id.len == 0 ||
        (l->id = malloc(e->rpc_id.len)) == NULL) {
        yajl_tree_free(v);
        if (l != NULL) {
            listen_free(l);
        }
        brk_reply_rpc_error_status(b, e, 503, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        return;
    }
    memcpy(l->id, e->rpc_id.ptr, e->rpc_id.len);
    l->id_len = e->rpc_id.len;
    snprintf(l->holder, sizeof(l->holder), "%.*s", (int)e->origin.len, e->origin.ptr);
    snprintf(l->request_id, sizeof(l->request_id), "%.*s", (int)e->request_id.len,
             e->request_id.ptr);
    l->corr = e->corr;
    l->set = e->caps & BRK_CAP_SET_MASK;
    l->caps = e->caps;
    brk_cap_sets_want(b, l->set); /* its list changes are announced per set */
    gw_str_t hv = header(e, "auth-subject");
    if (hv.len < sizeof(l->subject)) {
        memcpy(l->subject, hv.ptr != NULL ? hv.ptr : "", hv.len);
        l->subject_len = hv.len;
    }
    hv = header(e, "auth-issuer-tag");
    if (hv.len <= sizeof(l->tag)) {
        memcpy(l->tag, hv.ptr != NULL ? hv.ptr : "", hv.len);
        l->tag_len = hv.len;
    }
    hv = header(e, "log-level");
    if (hv.len < sizeof(l->level)) {
        memcpy(l->level, hv.ptr != NULL ? hv.ptr : "", hv.len);
    }
    const char *bad = read_filter(b, e, gw_json_get(v, "params"), l);
    yajl_tree_free(v);
    if (bad != NULL) {
        listen_free(l);
        if (bad[0] == '\0') {
            brk_reply_rpc_error_status(b, e, 503, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        } else {
            brk_reply_rpc_error_status(b, e, 400, GW_RPC_INVALID_PARAMS, bad);
        }
        return;
    }
    /* the same caller and id again (a client that reconnected before its old stream was seen
     * to go): the newer one holds, the older one ends as the broker drops it */
    listen_t *old = find(b, l->caller, l->id, l->id_len);
    if (old != NULL) {
        listen_end(b, old, "replaced");
    }
    size_t mine = 0;
    for (listen_t *o = b->listens->head; o != NULL; o = o->next) {
        mine += strcmp(o->caller, l->caller) == 0;
    }
    unsigned max = b->cycle->cfg->max_listens;
    if (mine >= LISTENS_PER_CALLER || (max > 0 && b->listens->n >= max)) {
        const char *what = mine >= LISTENS_PER_CALLER
                               ? "Too Many Requests: this caller already holds 16 listens"
                               : "Too Many Requests: the gateway holds limits.max_listens listens";
        listen_free(l);
        brk_reply_rpc_error_status(b, e, 429, GW_RPC_INTERNAL_ERROR, what);
        return;
    }
    l->serial = ++b->listens->next_serial;
    l->next = b->listens->head;
    b->listens->head = l;
    b->listens->n++;
    gw_env_header_t h = {GW_STR("x-accel-buffering"), GW_STR("no")};
    gw_envelope_t head = {
        .kind = GW_ENV_HEAD, .corr = e->corr, .status = 200, .flags = GW_ENV_F_SSE};
    head.headers[0] = h;
    head.nheaders = 1;
    brk_reply_send(b, e->origin, &head, e->request_id);
    l->ack_due_ms = gw_clock_ms() + ACK_WAIT_MS;
    subscribe_upstream(b, l, NULL);
    ack_if_ready(b, l, 0, "no resource subscriptions");
    gw_log_info("msg=\"listen opened\" router=%s request_id=%s want=%u uris=%zu listens=%zu",
                l->holder, l->request_id, l->want, l->nuris, b->listens->n);
}

void brk_listen_on_close(brk_t *b, const gw_envelope_t *e)
{
    for (listen_t *l = b->listens->head; l != NULL; l = l->next) {
        if (l->corr == e->corr && gw_str_eq(e->origin, l->holder)) {
            gw_log_info("msg=\"listen closed by the client\" request_id=%s", l->request_id);
            tell_workers_dropped(b, l);
            listen_unlink(b, l);
            listen_free(l);
            return;
        }
    }
}

void brk_listen_on_cancelled(brk_t *b, const gw_envelope_t *e)
{
    gw_rpc_t rpc;
    if (gw_rpc_scan(e->body.ptr, e->body.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.request_id.len == 0) {
        return;
    }
    char *caller = caller_of(e);
    listen_t *l = caller != NULL
                      ? find(b, caller, e->body.ptr + rpc.request_id.off, rpc.request_id.len)
                      : NULL;
    free(caller);
    if (l != NULL) {
        listen_end(b, l, "cancelled");
    }
}

void brk_listen_on_event(brk_t *b, const gw_envelope_t *e)
{
    unsigned long long serial;
    char key[32];
    snprintf(key, sizeof(key), "%.*s", (int)(e->session.len < 31 ? e->session.len : 31),
             e->session.ptr);
    if (sscanf(key, "L%llu", &serial) != 1) {
        return;
    }
    for (listen_t *l = b->listens->head; l != NULL; l = l->next) {
        if (l->serial != serial) {
            continue;
        }
        /* only a URI this listen subscribed, from the backend it routes to */
        for (size_t i = 0; i < l->nuris; i++) {
            if (e->body.len == strlen(l->uris[i]) &&
                memcmp(e->body.ptr, l->uris[i], e->body.len) == 0) {
                if (!gw_str_eq(e->origin, l->uri_worker[i])) {
                    continue;
                }
                ack_if_ready(b, l, 1, "an event came first");
                gw_buf_t u;
                gw_buf_init(&u);
                (void)gw_buf_appends(&u, "\"uri\":");
                if (gw_buf_append_json_string(&u, l->uris[i], strlen(l->uris[i])) == GW_OK) {
                    listen_send(b, l, "notifications/resources/updated", u.data);
                }
                gw_buf_fini(&u);
                return;
            }
        }
        return;
    }
}

/* The backend of worker confirmed l's subscriptions there. */
static void mark_ready(brk_t *b, listen_t *l, gw_str_t worker)
{
    for (size_t i = 0; i < l->nuris; i++) {
        if (gw_str_eq(worker, l->uri_worker[i])) {
            l->ready[i] = 1;
        }
    }
    ack_if_ready(b, l, 0, "subscribed");
}

void brk_listen_on_ready(brk_t *b, const gw_envelope_t *e)
{
    unsigned long long serial = 0;
    char key[32];
    snprintf(key, sizeof(key), "%.*s", (int)(e->session.len < 31 ? e->session.len : 31),
             e->session.ptr);
    if (e->corr & GW_LISTEN_CORR_FLAG) {
        serial = e->corr & ~GW_LISTEN_CORR_FLAG;
    } else if (sscanf(key, "L%llu", &serial) != 1) {
        return;
    }
    for (listen_t *l = b->listens->head; l != NULL; l = l->next) {
        if (l->serial == serial) {
            mark_ready(b, l, e->origin);
            return;
        }
    }
}

int64_t brk_listen_tick(brk_t *b, int64_t now)
{
    int64_t next = INT64_MAX;
    for (listen_t *l = b->listens != NULL ? b->listens->head : NULL; l != NULL; l = l->next) {
        if (!l->acked && now >= l->ack_due_ms) {
            ack_if_ready(b, l, 1, "the backends did not confirm in time");
        } else if (!l->acked && l->ack_due_ms < next) {
            next = l->ack_due_ms;
        }
    }
    return next;
}

void brk_listen_announce(brk_t *b, int list, unsigned sets)
{
    unsigned bit = list == GW_LIST_TOOLS     ? WANT_TOOLS
                   : list == GW_LIST_PROMPTS ? WANT_PROMPTS
                                             : WANT_RESOURCES;
    for (listen_t *l = b->listens->head; l != NULL; l = l->next) {
        if ((l->want & bit) && (sets & (1u << l->set))) {
            ack_if_ready(b, l, 1, "an event came first");
            listen_send(b, l, gw_list_kinds[list].changed, "");
        }
    }
}

void brk_listen_release_router(brk_t *b, const char *router)
{
    for (listen_t *l = b->listens->head; l != NULL;) {
        listen_t *next = l->next;
        if (strcmp(l->holder, router) == 0) {
            tell_workers_dropped(b, l);
            listen_unlink(b, l);
            listen_free(l);
        }
        l = next;
    }
}

void brk_listen_end_all(brk_t *b, const char *why)
{
    while (b->listens != NULL && b->listens->head != NULL) {
        listen_end(b, b->listens->head, why);
    }
}
