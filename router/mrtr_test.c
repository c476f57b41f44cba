/* mrtr_test.c: the pure text parts of the router's MRTR (router/mrtr.h): result.requestState
 * found in a worker's response (escaped keys, nesting, strings that look like members, repeats,
 * cut bodies), the retry's state text, the quoted splice both ways, and the wait-* headers. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/result_state.h"
#include "router/mrtr.h"

/* The value token result.requestState has in msg, "" when absent, NULL when refused. */
static const char *state_of(const char *msg, char *out, size_t outlen)
{
    gw_span_t s;
    int rc = gw_result_state(msg, strlen(msg), &s);
    if (rc < 0) {
        return NULL;
    }
    if (rc == 0) {
        out[0] = '\0';
        return out;
    }
    snprintf(out, outlen, "%.*s", (int)s.len, msg + s.off);
    return out;
}

#define IR "\"resultType\":\"input_required\""

static void test_result_state(void **state)
{
    (void)state;
    char v[256];
    /* the worker's W body, and a modern backend's P one with the state after nested objects */
    assert_string_equal(state_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{" IR
                                 ",\"inputRequests\":{},\"requestState\":\"\"}}",
                                 v, sizeof(v)),
                        "\"\"");
    assert_string_equal(
        state_of("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{" IR ",\"inputRequests\":{\"k\":"
                 "{\"method\":\"elicitation/create\",\"params\":{\"requestState\":\"inner\"}}},"
                 "\"requestState\" : \"cf1.abc\\\"d\\\\e\"}}",
                 v, sizeof(v)),
        "\"cf1.abc\\\"d\\\\e\"");
    /* result before id, whitespace everywhere */
    assert_string_equal(
        state_of(
            " { \"result\" : { \"requestState\" : \"s\" } , \"id\" : 2 , \"jsonrpc\":\"2.0\" } ", v,
            sizeof(v)),
        "\"s\"");
    /* an escaped key is the member a parser reads */
    assert_string_equal(
        state_of("{\"id\":1,\"result\":{\"request\\u0053tate\":\"x\"}}", v, sizeof(v)), "\"x\"");
    /* inputRequests alone: none */
    assert_string_equal(
        state_of("{\"id\":1,\"result\":{" IR ",\"inputRequests\":{}}}", v, sizeof(v)), "");
    /* a string that looks like the member is text, and a nested one is not the result's */
    assert_string_equal(
        state_of(
            "{\"id\":1,\"result\":{\"content\":[{\"text\":\"\\\"requestState\\\":\\\"x\\\"\"}],"
            "\"_meta\":{\"requestState\":\"y\"}}}",
            v, sizeof(v)),
        "");
    assert_string_equal(state_of("{\"id\":1,\"requestState\":\"top\",\"result\":{}}", v, sizeof(v)),
                        "");
    /* a non-string value is found as it is (the caller refuses it) */
    assert_string_equal(state_of("{\"id\":1,\"result\":{\"requestState\":42}}", v, sizeof(v)),
                        "42");
    /* refused: repeated members, no result object, cut or broken text */
    assert_null(state_of("{\"id\":1,\"result\":{\"requestState\":\"a\",\"requestState\":\"b\"}}", v,
                         sizeof(v)));
    assert_null(
        state_of("{\"id\":1,\"result\":{\"requestState\":\"a\",\"request\\u0053tate\":\"b\"}}", v,
                 sizeof(v)));
    assert_null(
        state_of("{\"id\":1,\"result\":{},\"result\":{\"requestState\":\"a\"}}", v, sizeof(v)));
    assert_null(state_of("{\"id\":1,\"error\":{\"code\":1,\"message\":\"m\"}}", v, sizeof(v)));
    assert_null(state_of("{\"id\":1,\"result\":[]}", v, sizeof(v)));
    assert_null(state_of("{\"id\":1,\"result\":{\"requestState\":\"abc", v, sizeof(v)));
    assert_null(state_of("{\"id\":1,\"result\":{\"requestState\" \"abc\"}}", v, sizeof(v)));
    assert_null(state_of("{\"id\":1,\"result\":{\"a\":{\"b\":[1,2}", v, sizeof(v)));
    assert_null(state_of("", v, sizeof(v)));
    assert_null(state_of("[]", v, sizeof(v)));
    char deep[2048];
    size_t n = (size_t)snprintf(deep, sizeof(deep), "{\"id\":1,\"result\":{\"a\":");
    for (int i = 0; i < 300; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 300; i++) {
        deep[n++] = ']';
    }
    snprintf(deep + n, sizeof(deep) - n, ",\"requestState\":\"z\"}}");
    assert_null(state_of(deep, v, sizeof(v)));
}

static void test_splice(void **state)
{
    (void)state;
    /* the sealed text into the worker's empty state */
    const char *msg = "{\"id\":1,\"result\":{\"requestState\":\"\",\"x\":1}}";
    gw_span_t s;
    assert_int_equal(gw_result_state(msg, strlen(msg), &s), 1);
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(rtr_mrtr_splice_quoted(&b, msg, strlen(msg), s, "mcpgw1.AbC-_", 12), GW_OK);
    assert_int_equal(b.len, strlen(msg) + 12);
    assert_memory_equal(b.data, "{\"id\":1,\"result\":{\"requestState\":\"mcpgw1.AbC-_\",\"x\":1}}",
                        b.len);
    gw_buf_fini(&b);
    /* a P inner, escapes as the backend wrote them, back into a retry */
    const char *inner = "cf1.a\\\"b\\u00e9";
    const char *retry = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"t\",\"requestState\":\"mcpgw1.xyz\",\"inputResponses\":{}}}";
    gw_rpc_t rpc;
    assert_int_equal(gw_rpc_scan(retry, strlen(retry), GW_RPC_DEFAULT_MAX_DEPTH, &rpc), GW_OK);
    const char *text;
    size_t len;
    assert_int_equal(rtr_mrtr_state_text(retry, rpc.request_state, &text, &len), 1);
    assert_int_equal(len, 10);
    assert_memory_equal(text, "mcpgw1.xyz", 10);
    gw_buf_init(&b);
    assert_int_equal(
        rtr_mrtr_splice_quoted(&b, retry, strlen(retry), rpc.request_state, inner, strlen(inner)),
        GW_OK);
    const char *want =
        "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"t\",\"requestState\":\"cf1.a\\\"b\\u00e9\",\"inputResponses\":{}}}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    /* it is still one request, with the backend's bytes where the state was */
    gw_rpc_t again;
    assert_int_equal(gw_rpc_scan(b.data, b.len, GW_RPC_DEFAULT_MAX_DEPTH, &again), GW_OK);
    assert_int_equal(again.kind, GW_MSG_REQUEST);
    assert_int_equal(again.request_state.len, strlen(inner) + 2);
    assert_memory_equal(b.data + again.request_state.off + 1, inner, strlen(inner));
    gw_buf_fini(&b);
    /* a span past the body is refused */
    gw_buf_init(&b);
    assert_int_equal(rtr_mrtr_splice_quoted(&b, "{}", 2, (gw_span_t){1, 5}, "x", 1), GW_EINVAL);
    gw_buf_fini(&b);
}

/* Whether body's requestState is taken as one of ours. */
static int ours(const char *params_state)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\","
             "\"requestState\":%s}}",
             params_state);
    gw_rpc_t rpc;
    assert_int_equal(gw_rpc_scan(body, strlen(body), GW_RPC_DEFAULT_MAX_DEPTH, &rpc), GW_OK);
    const char *t;
    size_t n;
    return rtr_mrtr_state_text(body, rpc.request_state, &t, &n);
}

static void test_state_text(void **state)
{
    (void)state;
    assert_true(ours("\"mcpgw1.AAAA\""));
    assert_false(ours("\"cf1.abc.def\"")); /* a backend's own: never forwarded */
    assert_false(ours("\"mcpgw1.\""));     /* the prefix alone */
    assert_false(ours("\"mcpgw\""));
    assert_false(ours("\"\\u006dcpgw1.AAAA\"")); /* escaped: not the bytes handed out */
    assert_false(ours("\"mcpgw1.AA\\/AA\""));
    assert_false(ours("42"));
    assert_false(ours("{\"s\":\"mcpgw1.AAAA\"}"));
    assert_false(ours("null"));
}

static void test_wait_headers(void **state)
{
    (void)state;
    gw_env_header_t h[6] = {
        {GW_STR("event-id"), GW_STR("7")},
        {GW_STR("wait-run"), GW_STR("00ff00ff00ff00fA")},
        {GW_STR("wait-slot"), GW_STR("4294967295")},
        {GW_STR("wait-nonce"), GW_STR("0")},
        {GW_STR("wait-round"), GW_STR("255")},
    };
    rtr_mrtr_wait_t w;
    assert_int_equal(rtr_mrtr_wait_parse(h, 5, &w), 1);
    assert_true(w.run == 0x00ff00ff00ff00faull);
    assert_int_equal(w.slot, 4294967295u);
    assert_int_equal(w.nonce, 0);
    assert_int_equal(w.round, 255);
    rtr_mrtr_wait_text_t t;
    rtr_mrtr_wait_format(&w, &t);
    assert_string_equal(t.run, "00ff00ff00ff00fa");
    assert_string_equal(t.slot, "4294967295");
    assert_string_equal(t.nonce, "0");
    assert_string_equal(t.round, "255");
    /* none: kind P */
    assert_int_equal(rtr_mrtr_wait_parse(h, 1, &w), 0);
    assert_int_equal(rtr_mrtr_wait_parse(NULL, 0, &w), 0);
    /* one missing */
    assert_int_equal(rtr_mrtr_wait_parse(h, 4, &w), -1);
    /* repeated */
    h[5] = (gw_env_header_t){GW_STR("wait-slot"), GW_STR("1")};
    assert_int_equal(rtr_mrtr_wait_parse(h, 6, &w), -1);
    /* each value bad in turn */
    static const struct {
        size_t i;
        const char *v;
    } bad[] = {
        {1, "00ff00ff00ff00f"},
        {1, "00ff00ff00ff00fg"},
        {1, "00ff00ff00ff00ff0"},
        {2, "4294967296"},
        {2, "-1"},
        {2, "01"},
        {2, ""},
        {3, "1 "},
        {4, "0"},
        {4, "256"},
        {4, "x"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        gw_env_header_t c[5];
        memcpy(c, h, sizeof(c));
        c[bad[k].i].value = (gw_str_t){bad[k].v, strlen(bad[k].v)};
        assert_int_equal(rtr_mrtr_wait_parse(c, 5, &w), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_state),
        cmocka_unit_test(test_splice),
        cmocka_unit_test(test_state_text),
        cmocka_unit_test(test_wait_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
