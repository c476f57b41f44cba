/* mcpgw-testbackend: the tools, tools/list and tools/call (slow and big have files of their own).
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

typedef struct tool {
    const char *name;
    const char *description;
    const char *properties; /* JSON Schema properties, raw JSON */
    const char *required;   /* raw JSON array, or NULL */
    int (*call)(tb_rpc_call_t *c, yajl_val args);
} tool_t;

static int tool_whoami(tb_rpc_call_t *c, yajl_val args)
{
    tb_begin_text(c, "whoami");
    return tb_finish_text(c);
}

static int tool_echo(tb_rpc_call_t *c, yajl_val args)
{
    static const char *const path[] = {"params", "arguments", "text", NULL};
    yajl_val text = json_member(args, "text");

    if (!YAJL_IS_STRING(text)) {
        return tb_answer_tool_error(c, "echo: \"text\" must be a string");
    }
    h2o_iovec_t raw = tb_raw_json(c, text, path);
    yajl_gen t = tb_begin_text(c, "echo");
    json_gen_str(t, "text");
    json_gen_raw(t, raw);
    return tb_finish_text(c);
}

static int tool_add(tb_rpc_call_t *c, yajl_val args)
{
    yajl_val a = json_member(args, "a"), b = json_member(args, "b");
    long long isum;

    if (!YAJL_IS_DOUBLE(a) || !YAJL_IS_DOUBLE(b)) {
        return tb_answer_tool_error(c, "add: \"a\" and \"b\" must be numbers");
    }
    if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b) &&
        !__builtin_add_overflow(a->u.number.i, b->u.number.i, &isum)) {
        yajl_gen t = tb_begin_text(c, "add");
        json_gen_str(t, "sum");
        yajl_gen_integer(t, isum);
        return tb_finish_text(c);
    }
    double sum = a->u.number.d + b->u.number.d;
    if (!isfinite(sum)) {
        return tb_answer_tool_error(c, "add: the sum is out of range");
    }
    yajl_gen t = tb_begin_text(c, "add");
    json_gen_str(t, "sum");
    yajl_gen_double(t, sum);
    return tb_finish_text(c);
}

/* All values of the header named like headers[first], joined as a list, in pool. */
static h2o_iovec_t joined_header(h2o_mem_pool_t *pool, const h2o_headers_t *headers, size_t first)
{
    const h2o_iovec_t *name = headers->entries[first].name;
    int is_cookie = h2o_memis(name->base, name->len, H2O_STRLIT("cookie"));
    h2o_iovec_t joined = headers->entries[first].value;

    for (size_t i = first + 1; i != headers->size; ++i) {
        const h2o_header_t *h = &headers->entries[i];
        if (!h2o_memis(h->name->base, h->name->len, name->base, name->len)) {
            continue;
        }
        joined = tb_concat3(pool, joined,
                            is_cookie ? h2o_iovec_init(H2O_STRLIT("; "))
                                      : h2o_iovec_init(H2O_STRLIT(", ")),
                            h->value);
    }
    return joined;
}

static int header_seen_before(const h2o_headers_t *headers, size_t index)
{
    const h2o_iovec_t *name = headers->entries[index].name;

    for (size_t i = 0; i != index; ++i) {
        const h2o_iovec_t *other = headers->entries[i].name;
        if (h2o_memis(other->base, other->len, name->base, name->len)) {
            return 1;
        }
    }
    return 0;
}

/* Every request header under its lower-case name, repeated ones joined. HTTP/2 carries the host
 * as :authority, so that is reported as "host" when no host header came. */
static int tool_headers(tb_rpc_call_t *c, yajl_val args)
{
    const h2o_headers_t *headers = &c->req->headers;
    yajl_gen t = tb_begin_text(c, "headers");
    int have_host = 0;

    json_gen_str(t, "headers");
    yajl_gen_map_open(t);
    for (size_t i = 0; i != headers->size; ++i) {
        if (header_seen_before(headers, i)) {
            continue;
        }
        const h2o_iovec_t *name = headers->entries[i].name;
        if (h2o_memis(name->base, name->len, H2O_STRLIT("host"))) {
            have_host = 1;
        }
        json_gen_iov(t, *name);
        json_gen_iov(t, joined_header(&c->req->pool, headers, i));
    }
    if (!have_host && c->req->authority.len != 0) {
        json_gen_str(t, "host");
        json_gen_iov(t, c->req->authority);
    }
    yajl_gen_map_close(t);
    return tb_finish_text(c);
}

static int tool_fail(tb_rpc_call_t *c, yajl_val args)
{
    return tb_answer_tool_error(c, "failed on purpose");
}

static int tool_extra(tb_rpc_call_t *c, yajl_val args)
{
    tb_begin_text(c, "extra");
    return tb_finish_text(c);
}

static int tool_sample_me(tb_rpc_call_t *c, yajl_val args)
{
    tb_begin_text(c, "sample_me");
    return tb_finish_text(c);
}

/* Flips whether tools/list has "extra" (for every session) and says so: in this call's event
 * stream before the result with --sse, else on every open GET stream. */
static int tool_toggle_tools(tb_rpc_call_t *c, yajl_val args)
{
    tb_server_t *srv = c->srv;

    srv->extra_listed = !srv->extra_listed;
    yajl_gen t = tb_begin_text(c, "toggle_tools");
    json_gen_str(t, "extra");
    yajl_gen_bool(t, srv->extra_listed);
    h2o_iovec_t json = tb_close_text_answer(c);
    if (!srv->sse) {
        tb_each_stream(srv, tb_stream_send_list_changed);
        tb_send_json(c->req, 200, "OK", json, 0);
        return 0;
    }
    tb_set_response_head(c->req, 200, "OK", 1);
    tb_send_whole(c->req,
                  tb_concat3(&c->req->pool, h2o_iovec_init(H2O_STRLIT(LIST_CHANGED_EVENT)),
                             tb_frame_body(&c->req->pool, json, 1), h2o_iovec_init(NULL, 0)));
    return 0;
}

static const tool_t tools[] = {
    {"whoami", "Returns this backend's name and the caller's session id.", "{}", NULL, tool_whoami},
    {"echo", "Returns the given text.", "{\"text\":{\"type\":\"string\"}}", "[\"text\"]",
     tool_echo},
    {"add", "Adds two numbers.", "{\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}}",
     "[\"a\",\"b\"]", tool_add},
    {"headers", "Returns the HTTP request headers this backend received.", "{}", NULL,
     tool_headers},
    {"slow",
     "Waits ms milliseconds; with a progress token on an SSE response, reports progress in steps.",
     "{\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60000},"
     "\"steps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1000,\"default\":3}}",
     "[\"ms\"]", tb_tool_slow},
    {"sleep", "The same as slow under another name (per-tool settings of a gateway).",
     "{\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60000},"
     "\"steps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1000,\"default\":3}}",
     "[\"ms\"]", tb_tool_slow},
    {"fail", "Always fails with a tool error.", "{}", NULL, tool_fail},
    {"big", "Returns a text holding the given number of bytes of data.",
     "{\"bytes\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":16777216}}", "[\"bytes\"]",
     tb_tool_big},
    {"toggle_tools",
     "Adds the tool extra to tools/list for every session, or removes it again, and sends "
     "notifications/tools/list_changed.",
     "{}", NULL, tool_toggle_tools},
};

/* Listed, and callable, only while toggle_tools has it on. */
static const tool_t extra_tool = {
    "extra", "Returns this backend's name and the caller's session id; listed after toggle_tools.",
    "{}", NULL, tool_extra};

/* Listed, and callable, only with --caps-tools to a session whose client declared sampling. */
static const tool_t sampling_tool = {"sample_me",
                                     "Listed only to clients that declared sampling at initialize.",
                                     "{}", NULL, tool_sample_me};

int tb_session_sampling(const tb_rpc_call_t *c)
{
    const tb_session_t *s;

    if (!c->srv->caps_tools || c->session.base == NULL) {
        return 0;
    }
    s = tb_session_find(&c->srv->sessions, c->session);
    return s != NULL && s->sampling;
}

void tb_gen_tool(yajl_gen g, const char *name, const char *description, const char *properties,
                 const char *required)
{
    yajl_gen_map_open(g);
    json_gen_str(g, "name");
    json_gen_str(g, name);
    json_gen_str(g, "description");
    json_gen_str(g, description);
    json_gen_str(g, "inputSchema");
    yajl_gen_map_open(g);
    json_gen_str(g, "type");
    json_gen_str(g, "object");
    json_gen_str(g, "properties");
    json_gen_raw(g, h2o_iovec_init(properties, strlen(properties)));
    if (required != NULL) {
        json_gen_str(g, "required");
        json_gen_raw(g, h2o_iovec_init(required, strlen(required)));
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

static void gen_tool(yajl_gen g, const tool_t *tool)
{
    tb_gen_tool(g, tool->name, tool->description, tool->properties, tool->required);
}

/* Builds a constant tools/list result, with or without "extra", into malloc'd memory. */
int tb_tools_list_build(tb_server_t *srv, int with_extra, int with_sampling, h2o_iovec_t *list)
{
    yajl_gen g = srv->out;

    json_gen_restart(g);
    yajl_gen_map_open(g);
    json_gen_str(g, "tools");
    yajl_gen_array_open(g);
    for (size_t i = 0; i != sizeof(tools) / sizeof(tools[0]); ++i) {
        gen_tool(g, &tools[i]);
    }
    if (with_extra) {
        gen_tool(g, &extra_tool);
    }
    if (with_sampling) {
        gen_tool(g, &sampling_tool);
    }
    if (srv->misbehave) {
        tb_misbehave_gen_tools(g);
    }
    for (unsigned i = 0; i < srv->many_tools; i++) {
        char name[16];
        snprintf(name, sizeof(name), "t%05u", i);
        tb_gen_tool(g, name, "A tool that is only listed (list benchmarks).", "{}", NULL);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    h2o_iovec_t out = json_gen_output(g);
    if (out.base == NULL || (list->base = malloc(out.len)) == NULL) {
        return -1;
    }
    memcpy(list->base, out.base, out.len);
    list->len = out.len;
    return 0;
}

int tb_tools_call(tb_rpc_call_t *c)
{
    yajl_val name = json_member(c->params, "name");
    yajl_val args = json_member(c->params, "arguments");

    ++c->srv->stats.calls;
    if (!YAJL_IS_STRING(name) || (args != NULL && !YAJL_IS_OBJECT(args) && !YAJL_IS_NULL(args))) {
        return tb_answer_error(c, -32602, h2o_iovec_init(H2O_STRLIT("Invalid params")));
    }
    for (size_t i = 0; i != sizeof(tools) / sizeof(tools[0]); ++i) {
        if (strcmp(tools[i].name, name->u.string) == 0) {
            return tools[i].call(c, args);
        }
    }
    if (c->srv->extra_listed && strcmp(extra_tool.name, name->u.string) == 0) {
        return extra_tool.call(c, args);
    }
    if (tb_session_sampling(c) && strcmp(sampling_tool.name, name->u.string) == 0) {
        return sampling_tool.call(c, args);
    }
    if (c->srv->misbehave && tb_misbehave_call(c, name->u.string, args) == 0) {
        return 0;
    }
    return tb_answer_error(c, -32602,
                           tb_concat3(&c->req->pool, h2o_iovec_init(H2O_STRLIT("Unknown tool: ")),
                                      h2o_iovec_init(name->u.string, strlen(name->u.string)),
                                      h2o_iovec_init(NULL, 0)));
}
