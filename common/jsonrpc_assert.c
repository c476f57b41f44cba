/* jsonrpc_assert.c: the scanner tests' shared scan and assertions (jsonrpc_assert.h). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonrpc_assert.h"

gw_err_t jt_scan(const char *body, gw_rpc_t *r)
{
    return gw_rpc_scan(body, strlen(body), GW_RPC_DEFAULT_MAX_DEPTH, r);
}

void jt_assert_span(const char *body, gw_span_t span, const char *want)
{
    if (want == NULL) {
        assert_int_equal(span.len, 0);
        return;
    }
    if (span.len != strlen(want) || memcmp(body + span.off, want, span.len) != 0) {
        fail_msg("span [%u,+%u) is '%.*s', want '%s'", span.off, span.len, (int)span.len,
                 body + span.off, want);
    }
}

void jt_assert_kind(const char *body, gw_msg_kind_t kind)
{
    gw_rpc_t r;
    assert_int_equal(jt_scan(body, &r), GW_OK);
    if (r.kind != kind) {
        fail_msg("%s: kind %d, want %d (%s)", body, r.kind, kind,
                 r.invalid_reason ? r.invalid_reason : "-");
    }
}

void jt_assert_invalid(const char *body, const char *reason)
{
    gw_rpc_t r;
    assert_int_equal(jt_scan(body, &r), GW_OK);
    if (r.kind != GW_MSG_INVALID) {
        fail_msg("%s: kind %d, want INVALID", body, r.kind);
    }
    assert_non_null(r.invalid_reason);
    assert_string_equal(r.invalid_reason, reason);
}
