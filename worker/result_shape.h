/* result_shape.h: a backend's answer reshaped for a caller of the other era (design
 * docs/design-2026-07-28.md §4): resultType (and, for resources/read, ttlMs and cacheScope)
 * spliced in for a 2026-07-28 caller of an old-era backend, -32002 mapped to -32602, and those
 * top-level fields removed for a 2025 session of a modern backend. Pure byte rewrites. */
#ifndef MCPGW_WORKER_RESULT_SHAPE_H
#define MCPGW_WORKER_RESULT_SHAPE_H

#include <stddef.h>

#include "common/buf.h"

/* Which way an answer must be reshaped (wrk_shape_dir). */
typedef enum wrk_shape_dir {
    WRK_SHAPE_AS_IS = 0,  /* caller and backend of the same era: relayed byte for byte */
    WRK_SHAPE_FOR_MODERN, /* a 2026-07-28 caller (GW_ENV_F_MODERN), an old-era backend */
    WRK_SHAPE_FOR_LEGACY, /* a 2025 session, a 2026-07-28 backend */
} wrk_shape_dir_t;

typedef enum wrk_shape_rc {
    WRK_SHAPE_SAME = 0,        /* relay the message as it is (out untouched) */
    WRK_SHAPE_REWRITTEN,       /* out holds the message to relay instead */
    WRK_SHAPE_BAD_RESULT_TYPE, /* an old-era result with a resultType other than "complete" */
    WRK_SHAPE_NOT_OBJECT,      /* a result that is not an object: nothing to splice into */
    WRK_SHAPE_INPUT_REQUIRED,  /* a modern input_required result, which 2025 sessions cannot
                                  receive until MRTR bridging (part D) is built */
    WRK_SHAPE_MALFORMED,       /* not one JSON object: the caller checked it first, so a bug */
    WRK_SHAPE_NOMEM,
} wrk_shape_rc_t;

/* The direction for a caller (caller_modern: the call came with GW_ENV_F_MODERN) and a backend
 * (backend_modern: its era is WRK_ERA_MODERN; an unknown era counts as legacy). */
wrk_shape_dir_t wrk_shape_dir(int caller_modern, int backend_modern);

/* An old-era backend's response msg[0..len) (one well-formed JSON-RPC response) for a modern
 * caller. A result gets "resultType":"complete" right after its opening brace unless it has
 * that already; with cacheable (resources/read), also "ttlMs":0 and "cacheScope":"private"
 * where absent (the gateway cannot know how long an old backend's resource stays valid, nor for
 * whom). An error -32002 (resource not found, which 2026-07-28 does not allow) becomes -32602
 * with data.uri = uri[0..uri_len) (the request's params.uri token, quotes included) added when
 * data is absent or an object without uri; uri_len 0 adds nothing. Nested keys are never
 * touched. out is an empty buffer of the caller's: it holds the new message when this returns
 * WRK_SHAPE_REWRITTEN, and anything otherwise. */
wrk_shape_rc_t wrk_shape_for_modern(const char *msg, size_t len, int cacheable, const char *uri,
                                    size_t uri_len, gw_buf_t *out);

/* A modern backend's response msg[0..len) for a 2025 session: the result's top-level
 * resultType, ttlMs and cacheScope members removed (_meta and nested keys stay); errors pass as
 * they are. WRK_SHAPE_INPUT_REQUIRED for a result whose resultType is "input_required". out as
 * for wrk_shape_for_modern. */
wrk_shape_rc_t wrk_shape_for_legacy(const char *msg, size_t len, gw_buf_t *out);

/* Is the response msg[0..len) a result whose top-level resultType is "input_required" (a
 * modern backend asking a modern caller for input, relayed with GW_ENV_F_INPUT_REQUIRED so the
 * router wraps its requestState, docs/design-2026-07-28.md 5.2)? Pure. */
int wrk_shape_is_input_required(const char *msg, size_t len);

#endif
