/* mcpgw-testbackend: what its files share: the server context, sessions, the message being
 * answered, and each file's functions. */

#ifndef MCPGW_TESTS_BACKENDS_TESTBACKEND_H
#define MCPGW_TESTS_BACKENDS_TESTBACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/serve.h"

#define TB_NVERSIONS 3
#define MAX_NAME_LEN 64
#define SESSION_RANDOM_BYTES 16
#define SESSION_ID_MAX (MAX_NAME_LEN + 1 + 2 * SESSION_RANDOM_BYTES)
#define FILLER_CHUNK 65536
#define TIMER_LEVELS 18 /* 0 ms, then 1 ms .. 65536 ms */

#define LIST_CHANGED_JSON "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}"
#define LIST_CHANGED_EVENT SERVE_SSE_PREFIX LIST_CHANGED_JSON SERVE_SSE_SUFFIX

typedef struct tb_server tb_server_t;
typedef struct tb_stream tb_stream_t; /* a GET stream (testbackend_streams.c) */

/* A one-shot timer with any delay. h2o 2.2 only has fixed-delay queues, so the timer waits in the
 * queue of the largest power-of-two delay not past its deadline, and hops on from there. */
typedef struct tb_timer {
    h2o_timeout_entry_t entry;
    tb_server_t *srv;
    uint64_t due_at;
    void (*on_due)(struct tb_timer *timer);
} tb_timer_t;

typedef struct tb_session {
    struct tb_session *next;
    h2o_linklist_t streams; /* its open GET streams (tb_stream_t.link) */
    int sampling;           /* the client declared sampling at initialize */
    size_t id_len;
    char id[];
} tb_session_t;

typedef struct tb_session_table {
    tb_session_t **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
} tb_session_table_t;

typedef struct tb_stats {
    uint64_t initializes;
    uint64_t calls;
    uint64_t deletes;
    uint64_t notifications;
    uint64_t responses;   /* JSON-RPC responses posted to it (answers to its own requests) */
    uint64_t streams;     /* GET streams open now */
    char last_note[1024]; /* the last notification as received (JSON), if it fitted */
    size_t last_note_len;
    char last_note_session[SESSION_ID_MAX + 1]; /* the session it came on */
} tb_stats_t;

struct tb_server {
    const char *name;
    size_t name_len;
    int sse;
    const char *protocol;  /* --protocol: the only revision spoken, or NULL for all */
    uint64_t heartbeat_ms; /* an SSE comment on idle GET streams; 0: none */
    int extra_listed;      /* toggle_tools has added the tool "extra" */
    int misbehave;         /* --misbehave: the tools of testbackend_misbehave.c are listed */
    unsigned many_tools;   /* --many-tools: this many listed-only tools t00000... */
    int caps_tools;   /* --caps-tools: sample_me is listed to sessions that declared sampling */
    int caps_logging; /* --caps-logging: initialize offers the logging capability */
    serve_t serve;    /* h2o's config, context, loop and listener */
    size_t streaming; /* responses still owing data (slow, big, GET streams being ended), drained
                         on shutdown */
    h2o_timeout_t timer_levels[TIMER_LEVELS];
    tb_session_table_t sessions;
    tb_stats_t stats;
    yajl_gen out;  /* the JSON-RPC message being answered */
    yajl_gen text; /* the JSON text a tool returns as its content */
    char *scratch; /* NUL-terminated copy of the body being parsed */
    size_t scratch_cap;
    h2o_iovec_t tools_list;                /* the tools/list result without "extra", malloc'd */
    h2o_iovec_t tools_list_extra;          /* and with it */
    h2o_iovec_t tools_list_sampling;       /* --caps-tools: tools_list with sample_me */
    h2o_iovec_t tools_list_extra_sampling; /* and tools_list_extra with it */
    size_t capabilities_bytes;             /* --capabilities-bytes: 0, or the size to pad them to */
    h2o_iovec_t capabilities; /* the capabilities object initialize answers, malloc'd */
    char filler[FILLER_CHUNK];
};

/* One JSON-RPC message being answered; lives on the stack of the request handler, so everything
 * it points to is valid only until the handler returns. */
typedef struct tb_rpc_call {
    tb_server_t *srv;
    h2o_req_t *req;
    h2o_iovec_t body;   /* NUL-terminated, in srv->scratch */
    yajl_val msg;       /* parse tree of body, owned by the handler */
    const char *method; /* NULL for a response */
    yajl_val params;
    h2o_iovec_t raw_id;  /* the id as JSON text, as sent; base NULL when absent */
    h2o_iovec_t session; /* Mcp-Session-Id of the request */
} tb_rpc_call_t;

enum tb_rpc_kind { RPC_REQUEST, RPC_NOTIFICATION, RPC_RESPONSE };

/* The protocol revisions it speaks, oldest first (testbackend_rpc.c). */
extern const char *const tb_supported_versions[TB_NVERSIONS];
/* Builds srv->capabilities, padded to srv->capabilities_bytes with an experimental member when
 * that is not 0 (testbackend_rpc.c); 0, or -1 when out of memory. */
int tb_rpc_capabilities_build(tb_server_t *srv);

/* ---- testbackend_timer.c: loop thread only ---- */

/* (Re)arms timer to call timer->on_due at due_at (ms of the loop's clock). */
void tb_timer_start(tb_timer_t *timer, uint64_t due_at);
/* Disarms timer; harmless when it is not armed. */
void tb_timer_stop(tb_timer_t *timer);
/* Sets up the server's timer queues, once the loop exists. */
void tb_timer_levels_init(tb_server_t *srv);
/* Whether no timer is armed. */
int tb_timer_levels_idle(tb_server_t *srv);
/* Disposes of the timer queues; only when they are idle. */
void tb_timer_levels_dispose(tb_server_t *srv);

/* ---- testbackend_sessions.c ---- */

/* An empty table; 0, or -1 when out of memory. */
int tb_session_table_init(tb_session_table_t *t);
/* Frees every session; streams still listed are only unlinked (h2o owns them). */
void tb_session_table_fini(tb_session_table_t *t);
/* The session with this id, or NULL. */
tb_session_t *tb_session_find(tb_session_table_t *t, h2o_iovec_t id);
/* Adds a session with this id (copied); 0, or -1 when out of memory. */
int tb_session_add(tb_session_table_t *t, h2o_iovec_t id);
/* Removes the session; 1 if it existed. Its GET streams must have been ended first. */
int tb_session_remove(tb_session_table_t *t, h2o_iovec_t id);
/* Writes NAME-<32 hex digits> into buf (SESSION_ID_MAX bytes); returns its length or 0. */
size_t tb_session_new_id(const tb_server_t *srv, char *buf);

/* ---- testbackend_rawjson.c ---- */

/* The JSON text of the string or number v found at path (NULL-terminated member names) in the
 * body: as sent when possible, else re-encoded. Points into the body, the tree or the request
 * pool. */
h2o_iovec_t tb_raw_json(tb_rpc_call_t *c, yajl_val v, const char *const *path);
/* Reads a non-negative integral number no larger than max into *out; 1 if it is one. */
int tb_get_uint(yajl_val v, uint64_t max, uint64_t *out);

/* ---- testbackend_answer.c: what the handlers send ---- */

/* a, b and c joined and NUL-terminated, in pool. */
h2o_iovec_t tb_concat3(h2o_mem_pool_t *pool, h2o_iovec_t a, h2o_iovec_t b, h2o_iovec_t c);
/* A copy of json in pool, framed as one SSE message event when sse is set. */
h2o_iovec_t tb_frame_body(h2o_mem_pool_t *pool, h2o_iovec_t json, int sse);
/* Sets status, reason and the Content-Type (with Cache-Control for SSE). */
void tb_set_response_head(h2o_req_t *req, int status, const char *reason, int sse);
/* Sends a whole response at once; body must live in the request pool or be static. */
void tb_send_whole(h2o_req_t *req, h2o_iovec_t body);
/* Sends a response without a body. */
void tb_send_empty(h2o_req_t *req, int status, const char *reason);
/* Sends json (copied) as application/json, or as one SSE event when sse is set. */
void tb_send_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t json, int sse);
/* An HTTP-level rejection: always application/json, with a JSON-RPC error body; returns 0. */
int tb_send_rpc_error(tb_server_t *srv, h2o_req_t *req, int status, const char *reason,
                      h2o_iovec_t raw_id, int code, const char *message);
/* 405 with an Allow header; returns 0. */
int tb_send_not_allowed(tb_server_t *srv, h2o_req_t *req, const char *allow);
/* Opens {"jsonrpc":"2.0","id":ID, in srv->out; the caller adds "result" or "error". */
yajl_gen tb_begin_answer(tb_rpc_call_t *c);
/* Closes and sends the answer begun by tb_begin_answer; returns 0. */
int tb_finish_answer(tb_rpc_call_t *c);
/* Answers with result, JSON text inserted as it is; returns 0. */
int tb_answer_raw_result(tb_rpc_call_t *c, h2o_iovec_t result);
/* Answers with a JSON-RPC error; returns 0. */
int tb_answer_error(tb_rpc_call_t *c, int code, h2o_iovec_t message);
/* Opens the JSON text a tool returns, with the fields every tool shares, in srv->text. */
yajl_gen tb_begin_text(tb_rpc_call_t *c, const char *tool);
/* Closes the tool's text and wraps it as the answer's only content; valid until srv->out is
 * used again. */
h2o_iovec_t tb_close_text_answer(tb_rpc_call_t *c);
/* Closes the tool's text and sends it as the result; returns 0. */
int tb_finish_text(tb_rpc_call_t *c);
/* A tool execution failure: a result with isError, which clients show to the model; returns 0. */
int tb_answer_tool_error(tb_rpc_call_t *c, const char *message);

/* ---- testbackend_streams.c ---- */

/* Opens a GET stream of a live session: the head (with a comment) goes out now, events when
 * they come. */
void tb_stream_open(tb_server_t *srv, h2o_req_t *req, tb_session_t *session);
/* Takes the stream off its session and ends the response once what it owes is sent. */
void tb_stream_end(tb_stream_t *st);
/* Ends every GET stream of the session. */
void tb_session_streams_end(tb_session_t *s);
/* Calls fn on every GET stream of every session; fn may take the stream off its list. */
void tb_each_stream(tb_server_t *srv, void (*fn)(tb_stream_t *st));
/* Sends notifications/tools/list_changed on the stream. */
void tb_stream_send_list_changed(tb_stream_t *st);

/* ---- testbackend_tools.c, testbackend_slow.c, testbackend_big.c ---- */

/* Appends one tools/list entry (properties and required: raw JSON; required may be NULL). */
void tb_gen_tool(yajl_gen g, const char *name, const char *description, const char *properties,
                 const char *required);
/* Does the request's session exist, with a client that declared sampling, and --caps-tools? */
int tb_session_sampling(const tb_rpc_call_t *c);
/* Builds a constant tools/list result, with or without "extra", into malloc'd memory; 0 or -1. */
int tb_tools_list_build(tb_server_t *srv, int with_extra, int with_sampling, h2o_iovec_t *list);
/* Answers a tools/call; returns 0. */
int tb_tools_call(tb_rpc_call_t *c);
/* The slow (and sleep) tool: answers after args.ms on timers; returns 0. */
int tb_tool_slow(tb_rpc_call_t *c, yajl_val args);
/* The big tool: streams a text of args.bytes bytes; returns 0. */
int tb_tool_big(tb_rpc_call_t *c, yajl_val args);

/* ---- testbackend_misbehave.c: the tools --misbehave adds ---- */

/* Appends their tools/list entries to the array open in g. */
void tb_misbehave_gen_tools(yajl_gen g);
/* Answers a call of one of them and returns 0; -1 when name is none of them (nothing sent). */
int tb_misbehave_call(tb_rpc_call_t *c, const char *name, yajl_val args);

/* ---- testbackend_rpc.c ---- */

/* Checks the JSON-RPC 2.0 shape of c->msg and fills in method, params and raw_id; 0 or -1. */
int tb_rpc_classify(tb_rpc_call_t *c, enum tb_rpc_kind *kind);
/* Answers initialize: a new session; returns 0. */
int tb_rpc_initialize(tb_rpc_call_t *c);
/* Answers a request of a live session by its method; returns 0. */
int tb_rpc_dispatch(tb_rpc_call_t *c);

/* ---- testbackend_http.c ---- */

/* The h2o handler of every path. */
int tb_http_on_req(h2o_handler_t *self, h2o_req_t *req);

#endif
