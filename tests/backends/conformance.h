/* mcpgw-conformance: what its files share: the server context, sessions, calls that answer
 * later, the request being answered, and each file's functions. */

#ifndef MCPGW_TESTS_BACKENDS_CONFORMANCE_H
#define MCPGW_TESTS_BACKENDS_CONFORMANCE_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/serve.h"

#define PROGRAM "mcpgw-conformance"
#define STEP_MS 50 /* the pause between the steps of a slow tool */
/* A listen that sent nothing for this long gets a ": keepalive" comment, so that proxies and
 * the gateway's idle timeouts do not take a quiet subscription for a dead one. */
#define LISTEN_HEARTBEAT_MS 15000
#define MAX_SESSIONS 4096
#define SESSION_PREFIX "conf-"
#define SESSION_RANDOM_BYTES 16
#define SESSION_ID_LEN (sizeof(SESSION_PREFIX) - 1 + 2 * SESSION_RANDOM_BYTES)
#define EVENT_ID_MAX 32
#define CF_NVERSIONS 3
#define CF_NLOG_LEVELS 8
#define TEMPLATE_URI "test://template/{id}/data"
#define CF_MODERN_VERSION "2026-07-28"
#define CF_STATE_KEY_BYTES 32

/* Which revisions the server speaks (--era): legacy is the 2025 server of the 0.1.16 run,
 * modern 2026-07-28 only (no initialize, no sessions), dual both on one endpoint, the era
 * decided per POST from the body's _meta claim as the SDK's dual-era server does. */
enum cf_era { CF_ERA_LEGACY, CF_ERA_MODERN, CF_ERA_DUAL };

/* The client capabilities of a 2026-07-28 request's _meta (bits). */
#define CF_CAP_SAMPLING 0x01
#define CF_CAP_ELICITATION 0x02
#define CF_CAP_ROOTS 0x04

/* Which era's lists show a tool or prompt (its .eras; 0 means both). */
#define CF_SHOW_LEGACY 0x01
#define CF_SHOW_MODERN 0x02

/* The protocol revisions it speaks, oldest first (conformance_methods.c). */
extern const char *const cf_supported_versions[CF_NVERSIONS];
/* RFC 5424 severities as MCP names them, least severe first (conformance_methods.c). */
extern const char *const cf_log_levels[CF_NLOG_LEVELS];
/* A 1x1 red PNG, base64 (conformance_message.c). */
extern const char cf_red_pixel_png[];

typedef struct cf_server cf_server_t;
typedef struct cf_session cf_session_t;
typedef struct cf_stream cf_stream_t;
typedef struct cf_call cf_call_t;
typedef struct cf_tool cf_tool_t;

/* A JSON-RPC id or progress token: a string, or a number kept as its JSON text. */
typedef struct cf_id {
    int is_string;
    char *text; /* NUL-terminated; owned only where the holder says so */
    size_t len;
} cf_id_t;

typedef struct cf_prompt cf_prompt_t;
typedef struct cf_listen cf_listen_t;

typedef struct cf_subscription {
    struct cf_subscription *next;
    char uri[];
} cf_subscription_t;

/* A POST stream test_reconnection closed before its result: a GET with Last-Event-ID resumes it. */
typedef struct cf_resume {
    struct cf_resume *next;
    char stream_key[EVENT_ID_MAX];
    char *result; /* the final response's JSON once ready (malloc'd) */
    size_t result_len;
    cf_stream_t *waiter; /* a resuming GET that came before the result */
} cf_resume_t;

struct cf_session {
    cf_session_t *next;
    cf_server_t *srv;
    unsigned refs; /* the session list, calls and pending updates */
    int live;      /* 0 once deleted */
    int log_level; /* index into cf_log_levels: less severe messages are dropped */
    int client_sampling;
    int client_elicitation;
    int modern; /* a one-request session of a 2026-07-28 call, in no list (cf_session_transient) */
    unsigned caps; /* modern: CF_CAP_* of the request's _meta */
    unsigned next_stream;
    cf_stream_t *get_stream;
    cf_call_t *calls;
    cf_subscription_t *subscriptions;
    size_t nsubscriptions;
    cf_resume_t *resumes;
    char id[SESSION_ID_LEN + 1];
};

/* A tools/call that answers later: on timers, or once the client answers our request. */
struct cf_call {
    cf_call_t *next;       /* in session->calls */
    cf_session_t *session; /* counted reference */
    const cf_tool_t *tool;
    cf_stream_t *stream; /* NULL once the client went away or the stream was closed early */
    h2o_timeout_entry_t timer;
    unsigned step;
    cf_id_t id;             /* of the tools/call, owned */
    cf_id_t progress_token; /* owned; text NULL when the request had none */
    int64_t asked;          /* id of our request to the client; 0 when none is outstanding */
    cf_resume_t *resume;    /* test_reconnection only; owned by the session */
};

/* A request being answered; lives on the handler's stack. */
typedef struct cf_rpc {
    cf_server_t *srv;
    h2o_req_t *req;
    cf_session_t *session; /* NULL for initialize */
    const char *method;
    cf_id_t id; /* borrowed from the parse tree */
    yajl_val params;
    int modern;    /* a 2026-07-28 request: results get resultType (and the cache fields) */
    unsigned caps; /* modern: CF_CAP_* of _meta's clientCapabilities */
} cf_rpc_t;

struct cf_tool {
    const char *name;
    const char *description;
    const char *input_schema; /* JSON text */
    int (*call)(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);
    void (*step)(cf_call_t *call);                   /* a timer step came due */
    void (*answered)(cf_call_t *call, yajl_val msg); /* the client answered our request */
    const char *form;    /* elicitation tools: the requestedSchema, JSON text */
    const char *summary; /* elicitation tools: how the result text starts */
    unsigned eras;       /* CF_SHOW_*: the eras whose tools/list shows it; 0 for both */
    int dynamic;         /* listed only while srv->dynamic_tool (test_trigger_tool_change) */
};

struct cf_server {
    serve_t serve; /* h2o's config, context, loop and listener */
    h2o_timeout_t step_timeout;
    h2o_timeout_t heartbeat_timeout; /* LISTEN_HEARTBEAT_MS: keepalive comments on listens */
    const char *address;
    cf_session_t *sessions;
    size_t nsessions;
    size_t open_streams;
    int64_t last_ask_id;
    yajl_val *tool_schemas; /* parsed input_schema of each tool */
    yajl_val *tool_forms;   /* parsed form of each tool, or NULL */
    enum cf_era era;
    unsigned char state_key[CF_STATE_KEY_BYTES]; /* HMAC key of requestState, random per run */
    cf_listen_t *listens;                        /* open subscriptions/listen streams */
    int dynamic_tool;   /* test_dynamic_tool is listed: each test_trigger_tool_change flips it */
    int dynamic_prompt; /* test_dynamic_prompt, flipped by test_trigger_prompt_change */
    size_t nlistens;
};

/* ---- conformance_message.c ---- */

/* A malloc'd formatted string, or NULL when out of memory. */
char *cf_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The string value of the member key of obj, or NULL. */
const char *cf_member_string(yajl_val obj, const char *key);
/* Borrows the text of a string or number value as an id; -1 for any other value. */
int cf_id_borrow(cf_id_t *id, yajl_val v);
/* A copy of src whose text dst owns (malloc'd); 0, or -1 when out of memory. */
int cf_id_dup(cf_id_t *dst, const cf_id_t *src);
/* Whether the parsed value v is the id id (same kind, same text). */
int cf_id_equals(const cf_id_t *id, yajl_val v);
/* Bounds the nesting of a JSON text before it is parsed; strings may hold any bracket. */
int cf_json_depth_ok(const char *p, size_t len, unsigned max);
/* Writes a member key with a string value. */
void cf_gen_kv(yajl_gen g, const char *key, const char *value);
/* Writes an id: a string, a number as its text, or null when it has none. */
void cf_gen_id(yajl_gen g, const cf_id_t *id);
/* Writes a parsed value back out; depth is bounded by cf_json_depth_ok or by our own constants. */
void cf_gen_value(yajl_gen g, yajl_val v);
/* A value as compact JSON text, malloc'd; NULL when out of memory. */
char *cf_json_text(yajl_val v);
/* Starts a JSON-RPC message in a new generator: {"jsonrpc":"2.0", ; NULL when out of memory. */
yajl_gen cf_message_begin(void);
/* Starts {"jsonrpc":"2.0","id":ID,"result": ; the caller writes the result and closes the map. */
yajl_gen cf_response_begin(const cf_id_t *id);
/* Starts a notification up to its params object, which the caller fills and closes twice. */
yajl_gen cf_notification_begin(const char *method);
/* Writes a text content block. */
void cf_gen_text_content(yajl_gen g, const char *text);
/* Writes an image content block: the red pixel PNG. */
void cf_gen_image_content(yajl_gen g);
/* Writes an embedded text resource content block. */
void cf_gen_resource_content(yajl_gen g, const char *uri, const char *mime_type, const char *text);
/* A CallToolResult with one text item. */
void cf_gen_text_result(yajl_gen g, const char *text, int is_error);

/* ---- conformance_answer.c ---- */

/* Adds a response header (value must outlive the request). */
void cf_add_header(h2o_req_t *req, const h2o_token_t *token, const char *value);
/* Sends a whole response with an optional Content-Type; returns 0. */
int cf_send_body(h2o_req_t *req, int status, const char *reason, const char *content_type,
                 h2o_iovec_t body);
/* Sends a response without a body; returns 0. */
int cf_send_empty(h2o_req_t *req, int status, const char *reason);
/* Answers with a JSON-RPC error; HTTP-level errors (4xx, 5xx) use the same body. */
int cf_send_error(h2o_req_t *req, int status, const char *reason, const cf_id_t *id, int code,
                  const char *message);
/* Answers the request with a JSON-RPC error in a 200; returns 0. */
int cf_rpc_error(cf_rpc_t *r, int code, const char *message);
/* Answers the request with 500 and -32603 "Out of memory"; returns 0. */
int cf_rpc_no_memory(cf_rpc_t *r);
/* Closes the response begun by cf_response_begin and sends it as application/json. */
int cf_rpc_answer(cf_rpc_t *r, yajl_gen g);

/* Answers with an empty result object; returns 0. */
int cf_answer_empty(cf_rpc_t *r);

/* Starts the answer to r as a result of one array named key, open for its items ({"content":[
 * for a tool's content, {"tools":[ for a list); NULL after answering that memory ran out. */
yajl_gen cf_result_array_begin(cf_rpc_t *r, const char *key);
/* Closes the array and the result cf_result_array_begin opened and sends the answer; returns 0. */
int cf_result_array_answer(cf_rpc_t *r, yajl_gen g);

/* ---- conformance_stream.c ---- */

/* Starts a 200 text/event-stream answer to req; NULL when out of memory. */
cf_stream_t *cf_stream_open(cf_server_t *srv, h2o_req_t *req, void *owner,
                            void (*on_gone)(void *owner));
/* The request the stream answers, NULL once h2o let it go. */
h2o_req_t *cf_stream_req(cf_stream_t *s);
/* The owner lets go: no more on_gone. */
void cf_stream_detach(cf_stream_t *s);
/* Queues raw SSE text (copied). */
void cf_stream_write(cf_stream_t *s, const char *text, size_t len);
/* Queues one JSON-RPC message as an SSE event, with an event id when event_id is not NULL. */
void cf_stream_message(cf_stream_t *s, h2o_iovec_t json, const char *event_id);
/* Sends g's complete message (if g is not NULL) and frees g. */
void cf_stream_send_gen(cf_stream_t *s, yajl_gen g);
/* Ends the response once the events queued are sent. */
void cf_stream_end(cf_stream_t *s);

/* ---- conformance_session.c ---- */

/* The live session with this id, or NULL. */
cf_session_t *cf_session_find(cf_server_t *srv, h2o_iovec_t id);
/* A new live session (one reference, the list's); NULL at MAX_SESSIONS or out of memory. */
cf_session_t *cf_session_create(cf_server_t *srv);
/* A one-request session of a 2026-07-28 request (in no list; one reference, the caller's);
 * NULL when out of memory. */
cf_session_t *cf_session_transient(cf_server_t *srv, unsigned caps, int log_level);
/* Drops a reference; the last one frees the session. */
void cf_session_release(cf_session_t *s);
/* The on_gone of a session's GET stream (owner: the session). */
void cf_session_on_get_stream_gone(void *owner);
/* Ends a session (DELETE or shutdown): its streams close, its calls stop. */
void cf_session_end(cf_session_t *s);
/* Sends a message unrelated to any request on the session's GET stream, if one is open. */
void cf_session_notify(cf_session_t *s, yajl_gen g);

/* ---- conformance_call.c ---- */

/* Calls the tool's step again after STEP_MS. */
void cf_call_schedule_step(cf_call_t *call);
/* Starts a call answered on an SSE stream; NULL when out of memory (nothing was sent). */
cf_call_t *cf_call_start(cf_rpc_t *r, const cf_tool_t *tool);
/* Frees the call without touching its stream beyond letting it go. */
void cf_call_destroy(cf_call_t *call);
/* Ends the call without a result: cancelled, its session ended, or its client gone. */
void cf_call_abort(cf_call_t *call);
/* Sends a result with one text item (isError when asked, or out of memory) and ends the call. */
void cf_call_finish_text(cf_call_t *call, const char *text, int is_error);
/* Sends notifications/message at level unless the session's level is above it. */
void cf_call_log(cf_call_t *call, int level, const char *text);
/* Sends notifications/progress when the call has a progress token. */
void cf_call_progress(cf_call_t *call, int progress, int total);
/* Starts a request to the client on the call's stream, up to its params object (open). */
yajl_gen cf_call_ask_begin(cf_call_t *call, const char *method);
/* Closes the request begun by cf_call_ask_begin and sends it on the call's stream. */
void cf_call_ask_send(cf_call_t *call, yajl_gen g);
/* Gives a client's response to the call that asked for it; 0 when none did. */
int cf_call_deliver_answer(cf_session_t *s, yajl_val msg);

/* ---- conformance_reconnection.c ---- */

/* Ends the resume's waiting GET stream, if any, and frees it. */
void cf_resume_free(cf_resume_t *resume);
/* test_reconnection's timer step: the result, kept for the resuming GET. */
void cf_step_reconnection(cf_call_t *call);
/* Sends a priming event (id, retry, empty data), closes the stream and makes the result
 * available later to a GET with Last-Event-ID (SEP-1699 polling). */
int cf_tool_reconnection(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);

/* A GET with Last-Event-ID: resumes the session's stream that test_reconnection closed early
 * (its result now, or once ready), or answers 404; returns 0. */
int cf_resume_get(cf_server_t *srv, h2o_req_t *req, cf_session_t *s, h2o_iovec_t last);

/* ---- conformance_tools.c ---- */

/* Answers tools/list; returns 0. */
int cf_answer_tools_list(cf_rpc_t *r);
/* Answers tools/call (now, or later on a stream); returns 0. */
int cf_answer_tools_call(cf_rpc_t *r);
/* Parses the constant JSON texts of the tools once; a failure is a bug in conformance_tools.c. */
int cf_tools_parse_constants(cf_server_t *srv);
/* Frees what cf_tools_parse_constants parsed. */
void cf_tools_free_constants(cf_server_t *srv);

/* ---- conformance_prompts.c ---- */

/* The prompt named name, or NULL (also for a NULL name). */
const cf_prompt_t *cf_prompt_find(const char *name);
/* Answers prompts/list; returns 0. */
int cf_answer_prompts_list(cf_rpc_t *r);
/* Answers prompts/get; returns 0. */
int cf_answer_prompts_get(cf_rpc_t *r);

/* ---- conformance_resources.c ---- */

/* Answers resources/list; returns 0. */
int cf_answer_resources_list(cf_rpc_t *r);
/* Answers resources/templates/list; returns 0. */
int cf_answer_templates_list(cf_rpc_t *r);
/* Answers resources/read, of a resource or the template; returns 0. */
int cf_answer_resources_read(cf_rpc_t *r);
/* Subscribing succeeds for any URI; one update notification follows on the GET stream. */
int cf_answer_resources_subscribe(cf_rpc_t *r);
/* Answers resources/unsubscribe; returns 0. */
int cf_answer_resources_unsubscribe(cf_rpc_t *r);

/* ---- conformance_methods.c ---- */

/* Answers initialize: a new session and what it offers; returns 0. */
int cf_answer_initialize(cf_rpc_t *r);
/* Answers a request of a live session by its method; returns 0. */
int cf_dispatch(cf_rpc_t *r);
/* Heeds a notification of a session (notifications/cancelled). */
void cf_on_notification(cf_session_t *s, const char *method, yajl_val params);

/* ---- conformance_modern.c ---- */

/* Whether this POST is served as 2026-07-28: always in modern mode; in dual mode when the body
 * claims it (params._meta has io.modelcontextprotocol/protocolVersion) or the
 * MCP-Protocol-Version header names a modern revision. */
int cf_modern_applies(const cf_server_t *srv, const h2o_req_t *req, yajl_val msg);
/* Serves one 2026-07-28 message (the wire checks of docs/design-2026-07-28.md section 1 as the
 * SDK's server answers them, then the method); r has srv, req, params, the id (when has_id) and
 * the method (NULL for a response); returns 0. */
int cf_modern_handle(cf_rpc_t *r, yajl_val msg, int has_id);
/* Answers GET and DELETE in modern mode: 405; returns 0. */
int cf_modern_method_not_allowed(h2o_req_t *req);
/* The result with resultType (and ttlMs and cacheScope for the cacheable methods) spliced in
 * after "result":{ unless it has a resultType already; in req's pool. */
h2o_iovec_t cf_modern_result(h2o_req_t *req, const char *method, h2o_iovec_t json);
/* Answers with a JSON-RPC error with data (JSON text); returns 0. */
int cf_send_error_data(h2o_req_t *req, int status, const char *reason, const cf_id_t *id, int code,
                       const char *message, const char *data);
/* test_custom_header: a tool whose argument travels in Mcp-Param-Region too. */
int cf_tool_custom_header(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);
/* 400 -32021 naming the capabilities (CF_CAP_* bits) the request did not declare; returns 0. */
int cf_missing_capability(cf_rpc_t *r, unsigned missing);

/* ---- conformance_mrtr.c ---- */

/* The modern tools of the MRTR scenarios and the test_input_required_result_prompt prompt. */
int cf_tool_input_required(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);
int cf_prompt_input_required(cf_rpc_t *r);
/* A 2026-07-28 tools/call of a tool that asks the client mid-call in the 2025 way (sampling,
 * elicitation): an input_required result first, the tool's answer on the retry. */
int cf_tool_ask_by_mrtr(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);
/* test_missing_capability, test_streaming_elicitation, test_logging_tool. */
int cf_tool_missing_capability(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);
int cf_tool_streaming_elicitation(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);

/* ---- conformance_listen.c ---- */

/* Answers subscriptions/listen: the acknowledgement, then the stream stays open; returns 0. */
int cf_answer_listen(cf_rpc_t *r);
/* A notifications/cancelled naming a listen ends it gracefully; 0 when none matched. */
int cf_listen_cancel(cf_server_t *srv, yajl_val request_id);
/* Sends method (notifications/tools/list_changed, …/prompts/list_changed) to every listen
 * whose filter asked for it. */
void cf_listen_notify_list_changed(cf_server_t *srv, const char *method);
/* Ends every listen with its graceful result (shutdown). */
void cf_listen_end_all(cf_server_t *srv);
/* test_trigger_tool_change and test_trigger_prompt_change. */
int cf_tool_trigger_change(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);

/* ---- conformance_http.c ---- */

/* The h2o handler of every path. */
int cf_http_on_req(h2o_handler_t *self, h2o_req_t *req);

#endif
