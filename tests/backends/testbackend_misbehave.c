/* mcpgw-testbackend: the tools --misbehave adds, each answering a call in a way a gateway must
 * refuse (another id, a body that is not JSON, an event that is not JSON-RPC, a second response)
 * or bound (a flood of server-to-client requests before the answer). */

#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

#define FLOOD_MAX 100000
#define FLOOD_DEFAULT 10000

typedef struct misbehaviour {
    const char *name;
    const char *description;
    const char *properties;
    int (*call)(tb_rpc_call_t *c, yajl_val args);
} misbehaviour_t;

/* Whether the answer goes out as an event stream: args.sse when given, else the server's mode. */
static int wants_sse(tb_rpc_call_t *c, yajl_val args)
{
    yajl_val sse = json_member(args, "sse");
    return sse != NULL ? YAJL_IS_TRUE(sse) : c->srv->sse;
}

/* The tool's regular answer (a copy in the request pool), framed as an event when sse is set. */
static h2o_iovec_t regular_answer(tb_rpc_call_t *c, const char *tool, int sse)
{
    tb_begin_text(c, tool);
    return tb_frame_body(&c->req->pool, tb_close_text_answer(c), sse);
}

static void send_events(tb_rpc_call_t *c, h2o_iovec_t a, h2o_iovec_t b)
{
    tb_set_response_head(c->req, 200, "OK", 1);
    tb_send_whole(c->req, tb_concat3(&c->req->pool, a, b, h2o_iovec_init(NULL, 0)));
}

/* The answer, with the id of a request that was never sent (the request's id with "0" after it
 * for a number, a string "wrong-id" else). */
static int tool_wrong_id(tb_rpc_call_t *c, yajl_val args)
{
    int sse = wants_sse(c, args);
    h2o_iovec_t id = c->raw_id;
    h2o_iovec_t wrong = id.len > 0 && id.base[0] != '"'
                            ? tb_concat3(&c->req->pool, id, h2o_iovec_init(H2O_STRLIT("0")),
                                         h2o_iovec_init(NULL, 0))
                            : h2o_iovec_init(H2O_STRLIT("\"wrong-id\""));

    c->raw_id = wrong;
    h2o_iovec_t body = regular_answer(c, "wrong_id", sse);
    c->raw_id = id;
    tb_set_response_head(c->req, 200, "OK", sse);
    tb_send_whole(c->req, body);
    return 0;
}

static int tool_not_json(tb_rpc_call_t *c, yajl_val args)
{
    tb_set_response_head(c->req, 200, "OK", 0);
    tb_send_whole(c->req, h2o_iovec_init(H2O_STRLIT("<html>this is not JSON</html>")));
    return 0;
}

/* An event that is JSON but not JSON-RPC, then the answer. */
static int tool_bad_event(tb_rpc_call_t *c, yajl_val args)
{
    static const char bad[] = "{\"jsonrpc\":\"2.0\",\"hello\":\"world\"}";
    send_events(c, serve_sse_event(&c->req->pool, NULL, h2o_iovec_init(H2O_STRLIT(bad))),
                regular_answer(c, "bad_event", 1));
    return 0;
}

/* The answer, twice. */
static int tool_second_response(tb_rpc_call_t *c, yajl_val args)
{
    h2o_iovec_t once = regular_answer(c, "second_response", 1);
    send_events(c, once, once);
    return 0;
}

/* args.count (default 10000) sampling/createMessage requests, then the answer, in one event
 * stream: what a session without the sampling capability must not let through unbounded. */
static int tool_flood(tb_rpc_call_t *c, yajl_val args)
{
    uint64_t count = FLOOD_DEFAULT;
    yajl_val n = json_member(args, "count");

    if (n != NULL && !tb_get_uint(n, FLOOD_MAX, &count)) {
        return tb_answer_tool_error(c, "flood: \"count\" must be an integer from 0 to 100000");
    }
    static const char head[] = SERVE_SSE_PREFIX "{\"jsonrpc\":\"2.0\",\"id\":\"flood-";
    static const char tail[] = "\",\"method\":\"sampling/createMessage\",\"params\":{\"messages\":"
                               "[],\"maxTokens\":1}}" SERVE_SSE_SUFFIX;
    size_t one = sizeof(head) - 1 + 20 + sizeof(tail) - 1;
    char *buf = h2o_mem_alloc_pool(&c->req->pool, one * count + 1);
    size_t len = 0;
    for (uint64_t i = 0; i < count; i++) {
        len += (size_t)snprintf(buf + len, one + 1, "%s%" PRIu64 "%s", head, i, tail);
    }
    send_events(c, h2o_iovec_init(buf, len), regular_answer(c, "flood", 1));
    return 0;
}

static const misbehaviour_t misbehaviours[] = {
    {"wrong_id", "Answers with the id of a request that was never sent.",
     "{\"sse\":{\"type\":\"boolean\"}}", tool_wrong_id},
    {"not_json", "Answers 200 application/json with a body that is not JSON.", "{}", tool_not_json},
    {"bad_event", "Sends an event that is not JSON-RPC, then the answer.", "{}", tool_bad_event},
    {"second_response", "Sends the answer twice in its event stream.", "{}", tool_second_response},
    {"flood", "Sends count sampling/createMessage requests, then the answer, in one event stream.",
     "{\"count\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000}}", tool_flood},
};

void tb_misbehave_gen_tools(yajl_gen g)
{
    for (size_t i = 0; i != sizeof(misbehaviours) / sizeof(misbehaviours[0]); ++i) {
        tb_gen_tool(g, misbehaviours[i].name, misbehaviours[i].description,
                    misbehaviours[i].properties, NULL);
    }
}

int tb_misbehave_call(tb_rpc_call_t *c, const char *name, yajl_val args)
{
    for (size_t i = 0; i != sizeof(misbehaviours) / sizeof(misbehaviours[0]); ++i) {
        if (strcmp(misbehaviours[i].name, name) == 0) {
            return misbehaviours[i].call(c, args);
        }
    }
    return -1;
}
