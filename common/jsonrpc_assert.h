/* jsonrpc_assert.h: what the scanner's unit tests share (jsonrpc_test.c, jsonrpc_write_test.c,
 * jsonrpc_modern_test.c): a scan with the default depth and assertions on its spans and verdicts.
 * In jsonrpc_assert.c, linked into each. */
#ifndef MCPGW_COMMON_JSONRPC_ASSERT_H
#define MCPGW_COMMON_JSONRPC_ASSERT_H

#include "common/jsonrpc.h"

/* gw_rpc_scan of body with the default depth. */
gw_err_t jt_scan(const char *body, gw_rpc_t *r);
/* Fails unless span of body is want's bytes (want NULL: an empty span). */
void jt_assert_span(const char *body, gw_span_t span, const char *want);
/* Fails unless body scans as kind. */
void jt_assert_kind(const char *body, gw_msg_kind_t kind);
/* Fails unless body scans INVALID for reason. */
void jt_assert_invalid(const char *body, const char *reason);

#endif
