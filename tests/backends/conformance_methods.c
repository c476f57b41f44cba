/* mcpgw-conformance: initialize, the method table, completion, logging/setLevel, ping and the
 * notifications it heeds. */

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

#define SERVER_VERSION "1.0.0"
#define LATEST_PROTOCOL_VERSION "2025-11-25"

const char *const cf_supported_versions[CF_NVERSIONS] = {"2025-03-26", "2025-06-18", "2025-11-25"};

const char *const cf_log_levels[CF_NLOG_LEVELS] = {"debug", "info",     "notice", "warning",
                                                   "error", "critical", "alert",  "emergency"};

static const char *const arg1_values[] = {"hello", "help", "test1", "test2", NULL};
static const char *const arg2_values[] = {"world", "word", "test3", NULL};
static const char *const uri_values[] = {"test://static-text", "test://static-binary",
                                         "test://watched-resource", NULL};
static const char *const template_id_values[] = {"1", "2", "3", "123", NULL};

static const struct {
    const char *ref_type;
    const char *ref; /* the prompt name or the template URI */
    const char *argument;
    const char *const *values;
} completions[] = {
    {"ref/prompt", "test_prompt_with_arguments", "arg1", arg1_values},
    {"ref/prompt", "test_prompt_with_arguments", "arg2", arg2_values},
    {"ref/prompt", "test_prompt_with_embedded_resource", "resourceUri", uri_values},
    {"ref/resource", TEMPLATE_URI, "id", template_id_values},
};

static int answer_completion(cf_rpc_t *r)
{
    yajl_val ref = json_member(r->params, "ref");
    const char *type = cf_member_string(ref, "type");
    const char *argument = cf_member_string(json_member(r->params, "argument"), "name");
    const char *value = cf_member_string(json_member(r->params, "argument"), "value");
    const char *name = NULL;

    if (type != NULL && strcmp(type, "ref/prompt") == 0) {
        name = cf_member_string(ref, "name");
        if (cf_prompt_find(name) == NULL) {
            return cf_rpc_error(r, -32602, "Unknown prompt");
        }
    } else if (type != NULL && strcmp(type, "ref/resource") == 0) {
        name = cf_member_string(ref, "uri");
        if (name == NULL || strcmp(name, TEMPLATE_URI) != 0) {
            return cf_rpc_error(r, -32602, "Unknown resource template");
        }
    }
    if (name == NULL || argument == NULL) {
        return cf_rpc_error(r, -32602, "Invalid params");
    }
    const char *const *values = NULL;
    for (size_t i = 0; i != sizeof(completions) / sizeof(completions[0]); ++i) {
        if (strcmp(completions[i].ref_type, type) == 0 && strcmp(completions[i].ref, name) == 0 &&
            strcmp(completions[i].argument, argument) == 0) {
            values = completions[i].values;
        }
    }
    yajl_gen g = cf_response_begin(&r->id);
    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    size_t prefix = value != NULL ? strlen(value) : 0, total = 0;
    yajl_gen_map_open(g);
    json_gen_str(g, "completion");
    yajl_gen_map_open(g);
    json_gen_str(g, "values");
    yajl_gen_array_open(g);
    for (const char *const *v = values; v != NULL && *v != NULL; ++v) {
        if (strncmp(*v, value != NULL ? value : "", prefix) == 0) {
            json_gen_str(g, *v);
            ++total;
        }
    }
    yajl_gen_array_close(g);
    json_gen_str(g, "total");
    yajl_gen_integer(g, (long long)total);
    json_gen_str(g, "hasMore");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return cf_rpc_answer(r, g);
}

static int answer_logging_set_level(cf_rpc_t *r)
{
    const char *level = cf_member_string(r->params, "level");

    for (size_t i = 0; level != NULL && i != CF_NLOG_LEVELS; ++i) {
        if (strcmp(cf_log_levels[i], level) == 0) {
            r->session->log_level = (int)i;
            return cf_answer_empty(r);
        }
    }
    return cf_rpc_error(r, -32602, "Invalid log level");
}

/* ---- initialize and dispatch ---- */

static const char *negotiate_version(const char *asked)
{
    for (size_t i = 0; asked != NULL && i != CF_NVERSIONS; ++i) {
        if (strcmp(cf_supported_versions[i], asked) == 0) {
            return cf_supported_versions[i];
        }
    }
    return LATEST_PROTOCOL_VERSION;
}

int cf_answer_initialize(cf_rpc_t *r)
{
    yajl_val capabilities = json_member(r->params, "capabilities");
    const char *version = negotiate_version(cf_member_string(r->params, "protocolVersion"));

    if (!YAJL_IS_OBJECT(r->params)) {
        return cf_send_error(r->req, 400, "Bad Request", &r->id, -32602, "Invalid params");
    }
    cf_session_t *s = cf_session_create(r->srv);
    if (s == NULL) {
        return cf_send_error(r->req, 503, "Service Unavailable", &r->id, -32603,
                             "Cannot create a session");
    }
    s->client_sampling = YAJL_IS_OBJECT(json_member(capabilities, "sampling"));
    s->client_elicitation = YAJL_IS_OBJECT(json_member(capabilities, "elicitation"));
    yajl_gen g = cf_response_begin(&r->id);
    if (g == NULL) {
        cf_session_end(s);
        return cf_rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    cf_gen_kv(g, "protocolVersion", version);
    json_gen_str(g, "capabilities");
    yajl_gen_map_open(g);
    json_gen_str(g, "tools");
    yajl_gen_map_open(g);
    json_gen_str(g, "listChanged");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    json_gen_str(g, "prompts");
    yajl_gen_map_open(g);
    json_gen_str(g, "listChanged");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    json_gen_str(g, "resources");
    yajl_gen_map_open(g);
    json_gen_str(g, "subscribe");
    yajl_gen_bool(g, 1);
    json_gen_str(g, "listChanged");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    json_gen_str(g, "logging");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    json_gen_str(g, "completions");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    json_gen_str(g, "serverInfo");
    yajl_gen_map_open(g);
    cf_gen_kv(g, "name", PROGRAM);
    cf_gen_kv(g, "version", SERVER_VERSION);
    yajl_gen_map_close(g);
    cf_gen_kv(g, "instructions", "The conformance suite's server scenarios, for mcpgw's tests.");
    yajl_gen_map_close(g);
    h2o_add_header_by_str(&r->req->pool, &r->req->res.headers, H2O_STRLIT("mcp-session-id"), 0,
                          NULL, s->id, SESSION_ID_LEN);
    return cf_rpc_answer(r, g);
}

static const struct {
    const char *method;
    int (*answer)(cf_rpc_t *r);
} methods[] = {
    {"ping", cf_answer_empty},
    {"tools/list", cf_answer_tools_list},
    {"tools/call", cf_answer_tools_call},
    {"prompts/list", cf_answer_prompts_list},
    {"prompts/get", cf_answer_prompts_get},
    {"resources/list", cf_answer_resources_list},
    {"resources/templates/list", cf_answer_templates_list},
    {"resources/read", cf_answer_resources_read},
    {"resources/subscribe", cf_answer_resources_subscribe},
    {"resources/unsubscribe", cf_answer_resources_unsubscribe},
    {"completion/complete", answer_completion},
    {"logging/setLevel", answer_logging_set_level},
};

int cf_dispatch(cf_rpc_t *r)
{
    if (r->params != NULL && !YAJL_IS_OBJECT(r->params)) {
        return cf_rpc_error(r, -32602, "Invalid params");
    }
    if (json_member(r->params, "cursor") != NULL) {
        return cf_rpc_error(r, -32602, "Invalid cursor"); /* every list fits on one page */
    }
    for (size_t i = 0; i != sizeof(methods) / sizeof(methods[0]); ++i) {
        if (strcmp(methods[i].method, r->method) == 0) {
            return methods[i].answer(r);
        }
    }
    return cf_rpc_error(r, -32601, "Method not found");
}

void cf_on_notification(cf_session_t *s, const char *method, yajl_val params)
{
    if (strcmp(method, "notifications/cancelled") == 0) {
        yajl_val request_id = json_member(params, "requestId");
        for (cf_call_t *call = s->calls; call != NULL; call = call->next) {
            if (cf_id_equals(&call->id, request_id)) {
                cf_call_abort(call);
                return;
            }
        }
    }
}
