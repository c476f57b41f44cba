/* eras.h: what the worker's files that serve the two protocol eras offer the others (part of
 * worker.h, which includes it at its end: the backend's era (era.c), requests to a 2026-07-28
 * backend (modern.c), pooled upstream sessions of 2026-07-28 callers on a 2025 backend (pool.c),
 * answers fitted to the caller's era (call_shape.c) and the Mcp-Param-* check (mcp_param.c). */
#ifndef MCPGW_WORKER_ERAS_H
#define MCPGW_WORKER_ERAS_H

#include "worker/worker.h"

/* ---- call_shape.c: answers fitted to the caller's era ---- */

/* Fits the backend's response data[0..len) for c's caller (worker/result_shape.h): SAME to relay
 * data itself, REWRITTEN with the message to relay in out (empty, the caller's), anything else
 * a refusal for wrk_call_refuse_shape. A modern backend's input_required for a modern caller is
 * SAME, with c->answer_flags marked for the router to seal its requestState. Callable inside
 * libcurl's callbacks. */
wrk_shape_rc_t wrk_call_shape(call_t *c, const char *data, size_t len, gw_buf_t *out);
/* Answers c with the error for a refused verdict rc (-32012, or -32603 for an input_required
 * to a 2025 session). Loop only, outside libcurl's callbacks. */
void wrk_call_refuse_shape(call_t *c, wrk_shape_rc_t rc);

/* ---- mcp_param.c: a 2026-07-28 tools/call's Mcp-Param-* headers (design §1 row 17) ---- */

/* Checks a 2026-07-28 caller's tools/call (after wrk_tool_names_call) against the tool's
 * x-mcp-header declarations and the mcp-param-* headers on its envelope. Returns 1 when c was
 * answered instead: HTTP 400 -32020, or an out-of-memory error; 0 for every other call. */
int wrk_mcp_param_call(call_t *c);

/* ---- era.c: the backend's era, from its answer to server/discover ---- */

/* Prepares the probe, due at once (start); allocates nothing. */
void wrk_era_init(wrk_t *w);
/* Frees what the probe holds. */
void wrk_era_fini(wrk_t *w);
/* Starts the probe when it is due; returns when it next needs the loop. */
int64_t wrk_era_tick(wrk_t *w, int64_t now);
/* Probes again in delay_ms (after a failure, or now after a reload); nothing while a probe runs
 * or one is due already. */
void wrk_era_reprobe(wrk_t *w, int64_t delay_ms, const char *why);
/* Is the backend's era decided (the probe answered and nothing made it due since)? */
int wrk_era_decided(const wrk_t *w);
/* The era c is made in: the backend's, or for a dual backend its caller's (WRK_ERA_MODERN for a
 * 2026-07-28 caller, WRK_ERA_LEGACY for a 2025 session). Never WRK_ERA_DUAL. */
wrk_era_t wrk_era_of_call(const wrk_t *w, const gw_envelope_t *env);
/* Must the call wait for the verdict (the era unknown, or a 2025 session's call while the
 * catalog's initialize says whether a 2026-07-28 backend is dual)? */
int wrk_era_must_hold(const wrk_t *w, const gw_envelope_t *env);
/* Does a new session up start the 2026-07-28 way? (for wrk_upstream_start) */
int wrk_era_session_modern(const upstream_t *up);
/* The catalog session's initialize on a backend whose discover named 2026-07-28 answered:
 * accepted nonzero makes it dual; else it is 2026-07-28 only. Logs, sets the gauge, and lets the
 * held 2025 calls go. */
void wrk_era_settle_dual(wrk_t *w, int accepted);
/* That initialize got no answer (down): the held 2025 calls fail with msg; the check stays. */
void wrk_era_dual_unreached(wrk_t *w, const char *msg);
/* Keeps c until the first verdict (w->era WRK_ERA_UNKNOWN): it is dispatched or failed then. */
void wrk_era_hold_call(call_t *c);
/* Fails held calls whose deadline passed; returns the earliest deadline still ahead. */
int64_t wrk_era_sweep_held(wrk_t *w, int64_t now);
/* Appends a server/discover request with id to out (the probe's, and the health check of a
 * 2026-07-28 backend). */
gw_err_t wrk_era_discover_body(gw_buf_t *out, uint64_t id);
/* The catalog session's stand-in for an InitializeResult on a 2026-07-28 backend:
 * {"result":{"protocolVersion","capabilities","serverInfo"}} from its discover answer; a tree
 * the caller frees, or NULL when out of memory. */
yajl_val wrk_era_init_result(const wrk_t *w);

/* ---- modern.c: requests to a 2026-07-28 backend ---- */

/* wrk_modern_meta, wrk_modern_splice: worker/meta.h */
/* Sets x's Mcp-Method (method), Mcp-Name (name, NULL for none) and Mcp-Param-* headers (the
 * values of decls in arguments, either NULL) for its next start. */
gw_err_t wrk_modern_headers(xfer_t *x, const char *method, const char *name, size_t name_len,
                            const gw_xmcp_decl_t *decls, size_t ndecls, yajl_val arguments);
/* Frees x's Mcp-* headers. */
void wrk_modern_headers_free(xfer_t *x);
/* Prepares call c for a 2026-07-28 backend: the body to send (env.body or c->up_body) in *body
 * and *len, and the headers on c->x. GW_OK, or an error c was answered with. */
gw_err_t wrk_modern_prepare_call(call_t *c, const char **body, size_t *len);
/* The declarations of the backend's tool name (n bytes), or NULL. */
const wrk_xtool_t *wrk_xtools_find(const wrk_t *w, const char *name, size_t n);
/* Keeps (replacing) the declarations of the backend's tool name. GW_ENOMEM or GW_OK. */
gw_err_t wrk_xtools_put(wrk_t *w, const char *name, const gw_xmcp_decls_t *d);
/* Frees the table. */
void wrk_xtools_fini(wrk_t *w);

/* ---- pool.c: upstream sessions of 2026-07-28 callers on a 2025 backend ---- */

/* The pooled session key of the caller of env (GW_ENV_F_MODERN) into out (WRK_UPKEY_MAX + 1);
 * its length. *caps gets the capability bits it declares, level its log level ("" for none). */
size_t wrk_pool_key(const gw_envelope_t *env, char *out, uint8_t *caps, char level[16]);
/* Puts up (just inserted in the map) in the pool, closing the least recently used idle session
 * past limits.max_pooled_sessions. */
void wrk_pool_add(upstream_t *up);
/* up is taken out of the map: out of the pool too. */
void wrk_pool_remove(upstream_t *up);
/* A call starts or ends on pooled session up: it is the most recently used. */
void wrk_pool_touch(upstream_t *up);
/* Closes pooled sessions idle past sessions.upstream_idle; returns when the next one is due. */
int64_t wrk_pool_tick(wrk_t *w, int64_t now);
/* wrk_pool_strip_body: worker/meta.h */
/* What a 2026-07-28 caller gets of a message on its call's stream to a 2025 backend: 1 to
 * relay it, 0 to drop it (notifications/message under its log level or without one; server
 * requests never come here: they park the call, mrtr_call.c). */
int wrk_pool_relay_event(call_t *c, const char *data, size_t len, const gw_rpc_t *rpc);
/* A 2026-07-28 caller's cancel (env: notifications/cancelled with its caller headers): its
 * calls with that request id end; a 2025 backend gets the notification on their session. */
size_t wrk_pool_cancel(wrk_t *w, const gw_envelope_t *env);

/* ---- mrtr_call.c: calls parked for a 2026-07-28 caller's input (design 5.3) ---- */

#define WRK_MRTR_REFUSE_CAP 1  /* the caller did not declare the capability (row 20) */
#define WRK_MRTR_REFUSE_FULL 2 /* limits.max_waiting_calls or the per-caller bound */

/* Chooses the worker's random run id and prepares the table (limits.max_waiting_calls). */
gw_err_t wrk_mrtr_start(wrk_t *w);
/* Frees the table (at exit; the calls are gone). */
void wrk_mrtr_stop(wrk_t *w);
/* A 2025 backend's request on a 2026-07-28 caller's call stream (inside libcurl's callback):
 * ping answered, others refused, an undeclared capability or a full table stops the transfer
 * (GW_EPROTO; wrk_mrtr_on_done answers), else the request is kept for the interim result. */
gw_err_t wrk_mrtr_on_request(call_t *c, const char *data, size_t len, const gw_rpc_t *rpc);
/* Is c parked (its interim result went, no retry yet)? */
int wrk_mrtr_parked(const call_t *c);
/* An event of parked c's stream: dropped and counted; a response stops the transfer. */
gw_err_t wrk_mrtr_parked_event(call_t *c, const gw_rpc_t *rpc, int is_response);
/* c's transfer ended: 1 when mrtr answered or ended c (row 20, full, or parked). */
int wrk_mrtr_on_done(call_t *c);
/* A retry (GW_ENV_F_RESUME) r: attached to its parked call, or answered row 19; r is freed. */
void wrk_mrtr_resume(call_t *r);
/* Frees c's slot (c is destroyed). */
void wrk_mrtr_release(call_t *c);
/* Sends the interim results due and ends the waits past limits.input_wait; returns when the
 * next one is due. */
int64_t wrk_mrtr_tick(wrk_t *w, int64_t now);

#endif
