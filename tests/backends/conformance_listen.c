/* mcpgw-conformance: subscriptions/listen of 2026-07-28: the acknowledgement with the honoured
 * filter, list_changed after the trigger tools, resources/updated for the subscribed URIs, every
 * notification tagged with the subscription id, and the graceful end. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

#define MAX_LISTENS 1024
#define MAX_LISTEN_URIS 16
#define SUBSCRIPTION_ID "io.modelcontextprotocol/subscriptionId"

#define WANT_TOOLS 0x01
#define WANT_PROMPTS 0x02
#define WANT_RESOURCES 0x04

struct cf_listen {
    cf_listen_t *next;
    cf_server_t *srv;
    cf_stream_t *stream;
    cf_id_t id; /* the listen request's id, owned: the subscription id */
    unsigned want;
    h2o_timeout_entry_t update_timer; /* one resources/updated per URI, shortly after the ack */
    h2o_timeout_entry_t heartbeat;
    size_t nuris;
    char *uris[MAX_LISTEN_URIS];
};

static void listen_free(cf_listen_t *l)
{
    cf_server_t *srv = l->srv;

    for (cf_listen_t **p = &srv->listens; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            --srv->nlistens;
            break;
        }
    }
    h2o_timeout_unlink(&l->update_timer);
    h2o_timeout_unlink(&l->heartbeat);
    for (size_t i = 0; i != l->nuris; ++i) {
        free(l->uris[i]);
    }
    free(l->id.text);
    free(l);
}

static void on_listen_stream_gone(void *owner)
{
    cf_listen_t *l = owner;

    l->stream = NULL;
    listen_free(l); /* the client closed the stream: that ends the subscription */
}

/* Writes "_meta":{"io.modelcontextprotocol/subscriptionId":ID} into an open map. */
static void gen_subscription_meta(yajl_gen g, const cf_listen_t *l)
{
    json_gen_str(g, "_meta");
    yajl_gen_map_open(g);
    json_gen_str(g, SUBSCRIPTION_ID);
    cf_gen_id(g, &l->id);
    yajl_gen_map_close(g);
}

/* Whatever goes out on the stream restarts the heartbeat's wait. */
static void heartbeat_restart(cf_listen_t *l)
{
    h2o_timeout_unlink(&l->heartbeat);
    h2o_timeout_link(l->srv->serve.loop, &l->srv->heartbeat_timeout, &l->heartbeat);
}

static void on_heartbeat_due(h2o_timeout_entry_t *entry)
{
    cf_listen_t *l = H2O_STRUCT_FROM_MEMBER(cf_listen_t, heartbeat, entry);

    cf_stream_write(l->stream, H2O_STRLIT(": keepalive\n\n"));
    heartbeat_restart(l);
}

static void listen_send(cf_listen_t *l, const char *method, const char *uri)
{
    yajl_gen g = cf_notification_begin(method);

    if (g == NULL) {
        return;
    }
    if (uri != NULL) {
        cf_gen_kv(g, "uri", uri);
    }
    gen_subscription_meta(g, l);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    cf_stream_send_gen(l->stream, g);
    heartbeat_restart(l);
}

static void on_update_due(h2o_timeout_entry_t *entry)
{
    cf_listen_t *l = H2O_STRUCT_FROM_MEMBER(cf_listen_t, update_timer, entry);

    for (size_t i = 0; i != l->nuris; ++i) {
        listen_send(l, "notifications/resources/updated", l->uris[i]);
    }
}

/* The result that ends a listen gracefully, then the end of its stream. */
static void listen_end(cf_listen_t *l)
{
    yajl_gen g = cf_response_begin(&l->id);

    if (g != NULL) {
        yajl_gen_map_open(g);
        cf_gen_kv(g, "resultType", "complete");
        gen_subscription_meta(g, l);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        cf_stream_send_gen(l->stream, g);
    }
    cf_stream_t *s = l->stream;
    cf_stream_detach(s);
    cf_stream_end(s);
    listen_free(l);
}

/* A URI of this server's scheme: its resources, and any id of its template. */
static int known_uri(const char *uri)
{
    return strncmp(uri, "test://", 7) == 0 && strlen(uri) <= 2048;
}

static int wants(yajl_val filter, const char *key)
{
    return YAJL_IS_TRUE(json_member(filter, key));
}

int cf_answer_listen(cf_rpc_t *r)
{
    yajl_val filter = json_member(r->params, "notifications");
    yajl_val uris = json_member(filter, "resourceSubscriptions");

    if (filter != NULL && !YAJL_IS_OBJECT(filter)) {
        return cf_rpc_error(r, -32602, "Invalid params: notifications must be an object");
    }
    if (uris != NULL && (!YAJL_IS_ARRAY(uris) || uris->u.array.len > MAX_LISTEN_URIS)) {
        return cf_rpc_error(r, -32602,
                            "Invalid params: resourceSubscriptions must be an array of "
                            "at most 16 URIs");
    }
    if (r->srv->nlistens >= MAX_LISTENS) {
        return cf_send_error(r->req, 503, "Service Unavailable", &r->id, -32603,
                             "Too many subscriptions");
    }
    cf_listen_t *l = calloc(1, sizeof(*l));
    if (l == NULL || cf_id_dup(&l->id, &r->id) != 0) {
        free(l);
        return cf_rpc_no_memory(r);
    }
    l->srv = r->srv;
    l->want = (wants(filter, "toolsListChanged") ? WANT_TOOLS : 0) |
              (wants(filter, "promptsListChanged") ? WANT_PROMPTS : 0) |
              (wants(filter, "resourcesListChanged") ? WANT_RESOURCES : 0);
    for (size_t i = 0; uris != NULL && i != uris->u.array.len; ++i) {
        const char *uri = YAJL_GET_STRING(uris->u.array.values[i]);
        if (uri != NULL && known_uri(uri) && (l->uris[l->nuris] = strdup(uri)) != NULL) {
            ++l->nuris;
        }
    }
    l->update_timer.cb = on_update_due;
    l->heartbeat.cb = on_heartbeat_due;
    l->next = r->srv->listens;
    r->srv->listens = l;
    ++r->srv->nlistens;
    l->stream = cf_stream_open(r->srv, r->req, l, on_listen_stream_gone);

    /* first, and before anything else: what is honoured (the resources never change, so
     * resourcesListChanged is not) */
    yajl_gen g = cf_notification_begin("notifications/subscriptions/acknowledged");
    if (g != NULL) {
        json_gen_str(g, "notifications");
        yajl_gen_map_open(g);
        if (l->want & WANT_TOOLS) {
            json_gen_str(g, "toolsListChanged");
            yajl_gen_bool(g, 1);
        }
        if (l->want & WANT_PROMPTS) {
            json_gen_str(g, "promptsListChanged");
            yajl_gen_bool(g, 1);
        }
        if (l->nuris != 0) {
            json_gen_str(g, "resourceSubscriptions");
            yajl_gen_array_open(g);
            for (size_t i = 0; i != l->nuris; ++i) {
                json_gen_str(g, l->uris[i]);
            }
            yajl_gen_array_close(g);
        }
        yajl_gen_map_close(g);
        gen_subscription_meta(g, l);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        cf_stream_send_gen(l->stream, g);
    }
    l->want &= ~WANT_RESOURCES;
    heartbeat_restart(l);
    if (l->nuris != 0) {
        h2o_timeout_link(r->srv->serve.loop, &r->srv->step_timeout, &l->update_timer);
    }
    return 0;
}

int cf_listen_cancel(cf_server_t *srv, yajl_val request_id)
{
    for (cf_listen_t *l = srv->listens; l != NULL; l = l->next) {
        if (cf_id_equals(&l->id, request_id)) {
            listen_end(l);
            return 1;
        }
    }
    return 0;
}

void cf_listen_notify_list_changed(cf_server_t *srv, const char *method)
{
    unsigned bit =
        strcmp(method, "notifications/tools/list_changed") == 0 ? WANT_TOOLS : WANT_PROMPTS;

    for (cf_listen_t *l = srv->listens; l != NULL; l = l->next) {
        if (l->want & bit) {
            listen_send(l, method, NULL);
        }
    }
}

void cf_listen_end_all(cf_server_t *srv)
{
    while (srv->listens != NULL) {
        listen_end(srv->listens);
    }
}

/* The list really changes (test_dynamic_tool or test_dynamic_prompt comes or goes), so that a
 * gateway, which announces its own catalog's changes and not a backend's notification, has a
 * change to announce. */
int cf_tool_trigger_change(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    int prompts = strcmp(tool->name, "test_trigger_prompt_change") == 0;

    if (prompts) {
        r->srv->dynamic_prompt = !r->srv->dynamic_prompt;
    } else {
        r->srv->dynamic_tool = !r->srv->dynamic_tool;
    }
    cf_listen_notify_list_changed(r->srv, prompts ? "notifications/prompts/list_changed"
                                                  : "notifications/tools/list_changed");
    yajl_gen g = cf_response_begin(&r->id);
    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    cf_gen_text_result(g,
                       prompts ? "Sent notifications/prompts/list_changed to the listens"
                               : "Sent notifications/tools/list_changed to the listens",
                       0);
    return cf_rpc_answer(r, g);
}
