/* envelope_sample.c: the sample envelope and the comparison the envelope and ipc tests share. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/envelope_sample.h"

int sample_append_to_buf(void *data, const char *p, size_t n)
{
    return gw_buf_append(data, p, n) == GW_OK ? 0 : -1;
}

static const char body_bytes[] = "{\"jsonrpc\":\"2.0\"}\0\x01\xff\0tail";

void sample_fill(gw_envelope_t *e)
{
    memset(e, 0, sizeof(*e));
    e->kind = GW_ENV_CALL;
    e->corr = UINT64_C(0xfedcba9876543210);
    e->deadline_ms = INT64_C(1234567890123);
    e->session = GW_STR("4c1f0d9e-1d2b-4c8a-9a55-0123456789ab");
    e->method = GW_STR("tools/call");
    e->rpc_id = GW_STR("\"abc\"");
    e->request_id = GW_STR("req-42");
    e->origin = GW_STR("router-3");
    e->status = 200;
    e->flags = GW_ENV_F_SSE | GW_ENV_F_STREAM;
    e->proto = 3;
    e->caps = 0x07;
    e->view = 3;
    e->nheaders = 2;
    e->headers[0].name = GW_STR("mcp-session-id");
    e->headers[0].value = GW_STR("tok");
    e->headers[1].name = GW_STR("x-empty");
    e->headers[1].value = GW_STR("");
    e->body.ptr = body_bytes;
    e->body.len = sizeof(body_bytes) - 1;
}

void sample_assert_str_same(gw_str_t a, gw_str_t b)
{
    assert_int_equal(a.len, b.len);
    if (a.len > 0) {
        assert_memory_equal(a.ptr, b.ptr, a.len);
    }
}

void sample_assert_env_same(const gw_envelope_t *a, const gw_envelope_t *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_true(a->corr == b->corr);
    assert_true(a->deadline_ms == b->deadline_ms);
    sample_assert_str_same(a->session, b->session);
    sample_assert_str_same(a->method, b->method);
    sample_assert_str_same(a->rpc_id, b->rpc_id);
    sample_assert_str_same(a->request_id, b->request_id);
    sample_assert_str_same(a->origin, b->origin);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->proto, b->proto);
    assert_int_equal(a->caps, b->caps);
    assert_int_equal(a->view, b->view);
    assert_int_equal(a->nheaders, b->nheaders);
    for (size_t i = 0; i < a->nheaders; i++) {
        sample_assert_str_same(a->headers[i].name, b->headers[i].name);
        sample_assert_str_same(a->headers[i].value, b->headers[i].value);
    }
    sample_assert_str_same(a->body, b->body);
}
