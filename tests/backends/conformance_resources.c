/* mcpgw-conformance: the resources and their template, resources/read, subscriptions and
 * their update notifications. */

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

#define MAX_SUBSCRIPTIONS 64
#define MAX_URI_LEN 2048

typedef struct cf_resource {
    const char *uri;
    const char *name;
    const char *description;
    const char *mime_type;
    const char *text; /* or */
    const char *blob;
} cf_resource_t;

/* A notifications/resources/updated due a little after a subscription. */
typedef struct cf_update {
    h2o_timeout_entry_t timer;
    cf_session_t *session; /* counted reference */
    char uri[];
} cf_update_t;

#define TEMPLATE_HEAD "test://template/"
#define TEMPLATE_TAIL "/data"

static const cf_resource_t resources[] = {
    {.uri = "test://static-text",
     .name = "static-text",
     .description = "A static text resource",
     .mime_type = "text/plain",
     .text = "This is the content of the static text resource."},
    {.uri = "test://static-binary",
     .name = "static-binary",
     .description = "A static binary resource (a PNG image)",
     .mime_type = "image/png",
     .blob = cf_red_pixel_png},
    {.uri = "test://watched-resource",
     .name = "watched-resource",
     .description = "A resource to subscribe to; subscribers hear of an update shortly after",
     .mime_type = "text/plain",
     .text = "This is the watched resource."},
};

#define NRESOURCES (sizeof(resources) / sizeof(resources[0]))

int cf_answer_resources_list(cf_rpc_t *r)
{
    yajl_gen g = cf_result_array_begin(r, "resources");

    if (g == NULL) {
        return 0;
    }
    for (size_t i = 0; i != NRESOURCES; ++i) {
        yajl_gen_map_open(g);
        cf_gen_kv(g, "uri", resources[i].uri);
        cf_gen_kv(g, "name", resources[i].name);
        cf_gen_kv(g, "description", resources[i].description);
        cf_gen_kv(g, "mimeType", resources[i].mime_type);
        yajl_gen_map_close(g);
    }
    return cf_result_array_answer(r, g);
}

int cf_answer_templates_list(cf_rpc_t *r)
{
    yajl_gen g = cf_result_array_begin(r, "resourceTemplates");

    if (g == NULL) {
        return 0;
    }
    yajl_gen_map_open(g);
    cf_gen_kv(g, "uriTemplate", TEMPLATE_URI);
    cf_gen_kv(g, "name", "template-data");
    cf_gen_kv(g, "description", "Data for an id, substituted into the content");
    cf_gen_kv(g, "mimeType", "application/json");
    yajl_gen_map_close(g);
    return cf_result_array_answer(r, g);
}

/* The {id} of a URI matching TEMPLATE_URI (one or more characters, no '/'), malloc'd. */
static char *template_id(const char *uri)
{
    size_t len = strlen(uri), head = strlen(TEMPLATE_HEAD), tail = strlen(TEMPLATE_TAIL);

    if (len <= head + tail || strncmp(uri, TEMPLATE_HEAD, head) != 0 ||
        strcmp(uri + len - tail, TEMPLATE_TAIL) != 0) {
        return NULL;
    }
    size_t id_len = len - head - tail;
    if (memchr(uri + head, '/', id_len) != NULL) {
        return NULL;
    }
    return cf_format("%.*s", (int)id_len, uri + head);
}

static void gen_resource_contents(yajl_gen g, const char *uri, const char *mime_type,
                                  const char *text, const char *blob)
{
    yajl_gen_map_open(g);
    json_gen_str(g, "contents");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    cf_gen_kv(g, "uri", uri);
    cf_gen_kv(g, "mimeType", mime_type);
    cf_gen_kv(g, text != NULL ? "text" : "blob", text != NULL ? text : blob);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
}

static int answer_template_read(cf_rpc_t *r, const char *uri, const char *id)
{
    yajl_gen data = yajl_gen_alloc(NULL);
    yajl_gen g = data != NULL ? cf_response_begin(&r->id) : NULL;

    if (g == NULL) {
        if (data != NULL) {
            yajl_gen_free(data);
        }
        return cf_rpc_no_memory(r);
    }
    char *text = cf_format("Data for ID: %s", id);
    yajl_gen_map_open(data);
    cf_gen_kv(data, "id", id);
    json_gen_str(data, "templateTest");
    yajl_gen_bool(data, 1);
    cf_gen_kv(data, "data", text != NULL ? text : "");
    yajl_gen_map_close(data);
    h2o_iovec_t json = json_gen_output(data);
    char *json_z = cf_format("%.*s", (int)json.len, json.base);
    gen_resource_contents(g, uri, "application/json", json_z != NULL ? json_z : "", NULL);
    free(text);
    free(json_z);
    yajl_gen_free(data);
    return cf_rpc_answer(r, g);
}

int cf_answer_resources_read(cf_rpc_t *r)
{
    const char *uri = cf_member_string(r->params, "uri");

    if (uri == NULL) {
        return cf_rpc_error(r, -32602, "Invalid params");
    }
    for (size_t i = 0; i != NRESOURCES; ++i) {
        if (strcmp(resources[i].uri, uri) == 0) {
            yajl_gen g = cf_response_begin(&r->id);
            if (g == NULL) {
                return cf_rpc_no_memory(r);
            }
            gen_resource_contents(g, uri, resources[i].mime_type, resources[i].text,
                                  resources[i].blob);
            return cf_rpc_answer(r, g);
        }
    }
    char *id = template_id(uri);
    if (id != NULL) {
        int rc = answer_template_read(r, uri, id);
        free(id);
        return rc;
    }
    if (r->modern) {
        /* 2026-07-28 retires -32002: an unknown URI is invalid params, the URI in data */
        yajl_gen g = yajl_gen_alloc(NULL);
        if (g == NULL) {
            return cf_rpc_no_memory(r);
        }
        yajl_gen_map_open(g);
        cf_gen_kv(g, "uri", uri);
        yajl_gen_map_close(g);
        h2o_iovec_t data = json_gen_output(g);
        char *text = cf_format("%.*s", (int)data.len, data.base);
        int rc = text != NULL ? cf_send_error_data(r->req, 200, "OK", &r->id, -32602,
                                                   "Resource not found", text)
                              : cf_rpc_no_memory(r);
        free(text);
        yajl_gen_free(g);
        return rc;
    }
    return cf_rpc_error(r, -32002, "Resource not found");
}

static cf_subscription_t **subscription_link(cf_session_t *s, const char *uri)
{
    cf_subscription_t **p = &s->subscriptions;

    while (*p != NULL && strcmp((*p)->uri, uri) != 0) {
        p = &(*p)->next;
    }
    return p;
}

static void on_update_due(h2o_timeout_entry_t *entry)
{
    cf_update_t *update = H2O_STRUCT_FROM_MEMBER(cf_update_t, timer, entry);
    cf_session_t *s = update->session;

    if (s->live && *subscription_link(s, update->uri) != NULL) {
        yajl_gen g = cf_notification_begin("notifications/resources/updated");
        if (g != NULL) {
            cf_gen_kv(g, "uri", update->uri);
            yajl_gen_map_close(g);
            yajl_gen_map_close(g);
            cf_session_notify(s, g);
        }
    }
    free(update);
    cf_session_release(s);
}

/* Subscribing succeeds for any URI; one update notification follows on the GET stream. */
int cf_answer_resources_subscribe(cf_rpc_t *r)
{
    cf_session_t *s = r->session;
    const char *uri = cf_member_string(r->params, "uri");

    if (uri == NULL || strlen(uri) > MAX_URI_LEN) {
        return cf_rpc_error(r, -32602, "Invalid params");
    }
    if (*subscription_link(s, uri) == NULL) {
        if (s->nsubscriptions >= MAX_SUBSCRIPTIONS) {
            return cf_rpc_error(r, -32602, "Too many subscriptions");
        }
        cf_subscription_t *sub = malloc(sizeof(*sub) + strlen(uri) + 1);
        if (sub == NULL) {
            return cf_rpc_no_memory(r);
        }
        strcpy(sub->uri, uri);
        sub->next = s->subscriptions;
        s->subscriptions = sub;
        ++s->nsubscriptions;
    }
    cf_update_t *update = calloc(1, sizeof(*update) + strlen(uri) + 1);
    if (update != NULL) {
        strcpy(update->uri, uri);
        update->session = s;
        s->refs++;
        update->timer.cb = on_update_due;
        h2o_timeout_link(r->srv->serve.loop, &r->srv->step_timeout, &update->timer);
    }
    return cf_answer_empty(r);
}

int cf_answer_resources_unsubscribe(cf_rpc_t *r)
{
    cf_session_t *s = r->session;
    const char *uri = cf_member_string(r->params, "uri");

    if (uri == NULL) {
        return cf_rpc_error(r, -32602, "Invalid params");
    }
    cf_subscription_t **p = subscription_link(s, uri);
    if (*p != NULL) {
        cf_subscription_t *sub = *p;
        *p = sub->next;
        free(sub);
        --s->nsubscriptions;
    }
    return cf_answer_empty(r);
}
