/* reqstate_test.c: unit tests of sealed requestStates: both kinds round trip, and a tampered,
 * truncated, foreign, expired or session-key state never opens; the binding to caller, method,
 * target and capabilities. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/mcp.h"
#include "common/reqstate.h"

static const uint8_t key_a[32] = {7, 7, 7, 1, 2, 3};
static const uint8_t key_b[32] = {9, 9, 9};

#define NOW 1800000000

static void wait_state(gw_reqstate_t *s)
{
    memset(s, 0, sizeof(*s));
    s->kind = GW_RS_WAIT;
    s->round = 2;
    s->method = GW_RS_TOOLS_CALL;
    s->caps = GW_CAP_ELICITATION | GW_CAP_SAMPLING;
    s->expires = NOW + 300;
    gw_issuer_tag("https://idp.example", 19, s->issuer_tag);
    gw_reqstate_hash("alice", 5, s->subject_hash);
    gw_reqstate_hash("alpha_ask", 9, s->target_hash);
    strcpy(s->server, "alpha");
    s->worker_run = 0x0102030405060708ull;
    s->slot = 77;
    s->slot_nonce = 0xdeadbeef;
}

static gw_keyring_t *ring(const uint8_t *key)
{
    gw_keyring_t *k = NULL, *rk = NULL;
    assert_int_equal(gw_keyring_from_key(1, key, &k), GW_OK);
    assert_int_equal(gw_reqstate_keys(k, &rk), GW_OK);
    gw_keyring_destroy(k);
    return rk;
}

static void test_wait_round_trip(void **state)
{
    gw_keyring_t *rk = ring(key_a);
    gw_reqstate_t s, o;
    gw_buf_t text, scratch;
    gw_buf_init(&text);
    gw_buf_init(&scratch);
    wait_state(&s);
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_OK);
    assert_int_equal(strncmp(text.data, GW_REQSTATE_PREFIX, 7), 0);
    assert_null(strpbrk(text.data, "\"\\/+= ")); /* safe inside a JSON string, as it is */
    assert_int_equal(gw_reqstate_open(rk, text.data, text.len, NOW, &scratch, &o), GW_OK);
    assert_int_equal(o.kind, GW_RS_WAIT);
    assert_int_equal(o.round, 2);
    assert_int_equal(o.method, GW_RS_TOOLS_CALL);
    assert_int_equal(o.caps, s.caps);
    assert_int_equal(o.expires, s.expires);
    assert_memory_equal(o.issuer_tag, s.issuer_tag, sizeof(s.issuer_tag));
    assert_string_equal(o.server, "alpha");
    assert_true(o.worker_run == s.worker_run);
    assert_int_equal(o.slot, 77);
    assert_int_equal(o.slot_nonce, 0xdeadbeef);
    assert_true(gw_reqstate_binds(&o, s.issuer_tag, "alice", 5, GW_RS_TOOLS_CALL, "alpha_ask", 9,
                                  s.caps | GW_CAP_ROOTS));
    /* two seals of one state differ (a fresh nonce each) */
    gw_buf_t again;
    gw_buf_init(&again);
    assert_int_equal(gw_reqstate_seal(rk, &s, &again), GW_OK);
    assert_true(again.len == text.len && memcmp(again.data, text.data, text.len) != 0);
    gw_buf_fini(&again);
    gw_buf_fini(&text);
    gw_buf_fini(&scratch);
    gw_keyring_destroy(rk);
}

static void test_pass_keeps_inner_bytes(void **state)
{
    gw_keyring_t *rk = ring(key_a);
    gw_reqstate_t s, o;
    gw_buf_t text, scratch;
    gw_buf_init(&text);
    gw_buf_init(&scratch);
    static const uint8_t inner[] = "v1.\x00\xff{\"a\":1}"; /* any bytes, NUL included */
    wait_state(&s);
    s.kind = GW_RS_PASS;
    s.inner = inner;
    s.inner_len = sizeof(inner);
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_OK);
    assert_int_equal(gw_reqstate_open(rk, text.data, text.len, NOW, &scratch, &o), GW_OK);
    assert_int_equal(o.kind, GW_RS_PASS);
    assert_int_equal(o.inner_len, sizeof(inner));
    assert_memory_equal(o.inner, inner, sizeof(inner));
    /* empty inner, and the largest allowed; one byte more is refused */
    s.inner_len = 0;
    gw_buf_reset(&text);
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_OK);
    assert_int_equal(gw_reqstate_open(rk, text.data, text.len, NOW, &scratch, &o), GW_OK);
    assert_int_equal(o.inner_len, 0);
    static uint8_t big[GW_REQSTATE_INNER_MAX + 1];
    memset(big, 'x', sizeof(big));
    s.inner = big;
    s.inner_len = GW_REQSTATE_INNER_MAX;
    gw_buf_reset(&text);
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_OK);
    assert_int_equal(gw_reqstate_open(rk, text.data, text.len, NOW, &scratch, &o), GW_OK);
    assert_int_equal(o.inner_len, GW_REQSTATE_INNER_MAX);
    s.inner_len = GW_REQSTATE_INNER_MAX + 1;
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_ETOOBIG);
    gw_buf_fini(&text);
    gw_buf_fini(&scratch);
    gw_keyring_destroy(rk);
}

static void test_never_opens_when_wrong(void **state)
{
    gw_keyring_t *rk = ring(key_a);
    gw_keyring_t *other = ring(key_b);
    gw_reqstate_t s, o;
    gw_buf_t text, scratch;
    gw_buf_init(&text);
    gw_buf_init(&scratch);
    wait_state(&s);
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_OK);
    /* every single character changed: never opens (and nothing is read from it) */
    for (size_t i = 7; i < text.len; i++) {
        char saved = text.data[i];
        text.data[i] = saved == 'A' ? 'B' : 'A';
        gw_err_t rc = gw_reqstate_open(rk, text.data, text.len, NOW, &scratch, &o);
        assert_true(rc == GW_EAUTH || rc == GW_EPARSE);
        text.data[i] = saved;
    }
    /* truncated, extended, another prefix, another key, expired */
    assert_int_equal(gw_reqstate_open(rk, text.data, text.len - 4, NOW, &scratch, &o) != GW_OK, 1);
    assert_int_equal(gw_reqstate_open(rk, text.data, 7, NOW, &scratch, &o), GW_EPARSE);
    assert_int_equal(gw_reqstate_open(rk, "v1.AAAA.BBBB", 12, NOW, &scratch, &o), GW_EPARSE);
    assert_int_equal(gw_reqstate_open(other, text.data, text.len, NOW, &scratch, &o), GW_EAUTH);
    assert_int_equal(gw_reqstate_open(rk, text.data, text.len, NOW + 300, &scratch, &o),
                     GW_EEXPIRED);
    /* a session token made with the same session key is not a requestState, nor the reverse */
    gw_keyring_t *sk = NULL;
    assert_int_equal(gw_keyring_from_key(1, key_a, &sk), GW_OK);
    gw_session_claims_t c = {.expires = NOW + 100};
    char tok[GW_TOKEN_MAX];
    assert_int_equal(gw_token_seal(sk, &c, tok, sizeof(tok)), GW_OK);
    char faked[GW_TOKEN_MAX + 8];
    size_t n = (size_t)snprintf(faked, sizeof(faked), "%s%s", GW_REQSTATE_PREFIX, tok);
    assert_int_not_equal(gw_reqstate_open(rk, faked, n, NOW, &scratch, &o), GW_OK);
    gw_session_claims_t oc;
    assert_int_not_equal(gw_token_open(sk, text.data + 7, text.len - 7, NOW, &oc), GW_OK);
    gw_keyring_destroy(sk);
    gw_buf_fini(&text);
    gw_buf_fini(&scratch);
    gw_keyring_destroy(rk);
    gw_keyring_destroy(other);
}

static void test_binding(void **state)
{
    gw_reqstate_t s;
    wait_state(&s);
    uint8_t tag[GW_ISSUER_TAG_LEN];
    memcpy(tag, s.issuer_tag, sizeof(tag));
    uint8_t caps = s.caps;
    assert_true(gw_reqstate_binds(&s, tag, "alice", 5, GW_RS_TOOLS_CALL, "alpha_ask", 9, caps));
    assert_false(gw_reqstate_binds(&s, tag, "mallory", 7, GW_RS_TOOLS_CALL, "alpha_ask", 9, caps));
    assert_false(gw_reqstate_binds(&s, NULL, "", 0, GW_RS_TOOLS_CALL, "alpha_ask", 9, caps));
    assert_false(gw_reqstate_binds(&s, tag, "alice", 5, GW_RS_PROMPTS_GET, "alpha_ask", 9, caps));
    assert_false(gw_reqstate_binds(&s, tag, "alice", 5, GW_RS_TOOLS_CALL, "alpha_other", 11, caps));
    assert_false(gw_reqstate_binds(&s, tag, "alice", 5, GW_RS_TOOLS_CALL, "alpha_ask", 9,
                                   GW_CAP_ELICITATION));
    uint8_t other[GW_ISSUER_TAG_LEN];
    gw_issuer_tag("https://evil.example", 20, other);
    assert_false(gw_reqstate_binds(&s, other, "alice", 5, GW_RS_TOOLS_CALL, "alpha_ask", 9, caps));
    /* anonymous: zeros bind only anonymous callers */
    memset(s.issuer_tag, 0, sizeof(s.issuer_tag));
    memset(s.subject_hash, 0, sizeof(s.subject_hash));
    assert_true(gw_reqstate_binds(&s, NULL, "", 0, GW_RS_TOOLS_CALL, "alpha_ask", 9, caps));
    assert_false(gw_reqstate_binds(&s, tag, "alice", 5, GW_RS_TOOLS_CALL, "alpha_ask", 9, caps));
}

static void test_refuses_bad_shapes(void **state)
{
    gw_keyring_t *rk = ring(key_a);
    gw_reqstate_t s;
    gw_buf_t text;
    gw_buf_init(&text);
    wait_state(&s);
    s.kind = 'X';
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_EINVAL);
    wait_state(&s);
    s.method = 9;
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_EINVAL);
    wait_state(&s);
    s.server[0] = '\0';
    assert_int_equal(gw_reqstate_seal(rk, &s, &text), GW_EINVAL);
    assert_int_equal(text.len, 0);
    gw_buf_fini(&text);
    gw_keyring_destroy(rk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_round_trip),
        cmocka_unit_test(test_pass_keeps_inner_bytes),
        cmocka_unit_test(test_never_opens_when_wrong),
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_refuses_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
