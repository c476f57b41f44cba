/* buf_test.c: unit tests of the byte buffer and its JSON string escaping, plus the small pieces
 * built on it or beside it: yajl helpers, error texts, protocol names, log lines. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mcp.h"

static void test_init_is_empty(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    gw_buf_reset(&b); /* harmless before anything was appended */
    gw_buf_fini(&b);
    gw_buf_fini(&b); /* and fini twice is too */
}

static void test_appends(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_buf_append(&b, "abc", 3), GW_OK);
    assert_int_equal(gw_buf_appends(&b, "def"), GW_OK);
    assert_int_equal(gw_buf_append(&b, "", 0), GW_OK);
    assert_int_equal(gw_buf_appendf(&b, "-%d-%s", 42, "x"), GW_OK);
    assert_int_equal(b.len, 11);
    assert_string_equal(b.data, "abcdef-42-x");
    assert_int_equal(gw_buf_append(&b, "\0z", 2), GW_OK);
    assert_int_equal(b.len, 13);
    assert_memory_equal(b.data, "abcdef-42-x\0z", 14);

    char *old = b.data;
    size_t cap = b.cap;
    gw_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, old);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    gw_buf_fini(&b);
    assert_null(b.data);
}

static void test_growth(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b);
    for (size_t i = 0; i < 100000; i++) {
        char c = (char)('a' + i % 26);
        assert_int_equal(gw_buf_append(&b, &c, 1), GW_OK);
    }
    assert_int_equal(b.len, 100000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    for (size_t i = 0; i < 100000; i++) {
        assert_int_equal(b.data[i], 'a' + i % 26);
    }

    assert_int_equal(gw_buf_reserve(&b, 1000000), GW_OK);
    assert_true(b.cap >= b.len + 1000000 + 1);
    assert_int_equal(gw_buf_reserve(&b, SIZE_MAX), GW_ENOMEM);
    assert_int_equal(gw_buf_reserve(&b, SIZE_MAX - b.len), GW_ENOMEM);
    assert_int_equal(b.len, 100000);
    gw_buf_fini(&b);
}

static void test_appendf_long(void **state)
{
    /* Longer than any first allocation, so the format runs a second time. */
    char big[5000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_buf_appends(&b, "<"), GW_OK);
    assert_int_equal(gw_buf_appendf(&b, "%s|%zu", big, sizeof(big)), GW_OK);
    assert_int_equal(b.len, 1 + 4999 + 1 + 4);
    assert_memory_equal(b.data + 1, big, 4999);
    assert_string_equal(b.data + 1 + 4999, "|5000");
    gw_buf_fini(&b);
}

static void expect_json_string(const char *in, size_t n, const char *want)
{
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_buf_appends(&b, "x="), GW_OK);
    assert_int_equal(gw_buf_append_json_string(&b, in, n), GW_OK);
    assert_string_equal(b.data + 2, want);
    assert_int_equal(b.len, 2 + strlen(want));
    gw_buf_fini(&b);
}

static void test_json_string_escapes(void **state)
{
    expect_json_string("", 0, "\"\"");
    expect_json_string("plain", 5, "\"plain\"");
    expect_json_string("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
    expect_json_string("C:\\dir\\", 7, "\"C:\\\\dir\\\\\"");
    expect_json_string("a/b", 3, "\"a/b\"");
    expect_json_string("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
    expect_json_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    expect_json_string("nul\0byte", 8, "\"nul\\u0000byte\"");
}

static void test_json_string_utf8_passthrough(void **state)
{
    /* é, €, 𝄞 and a U+2028 line separator: all valid in a JSON string as they are. */
    const char *s = "\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e \xe2\x80\xa8";
    char want[64];
    snprintf(want, sizeof(want), "\"%s\"", s);
    expect_json_string(s, strlen(s), want);
}

static void test_json_string_round_trip(void **state)
{
    /* What we escape, yajl must read back to the same bytes. */
    char in[64];
    for (size_t i = 0; i < 32; i++) {
        in[i] = (char)(i + 1);
    }
    memcpy(in + 31, "\"\\ok\xc3\xa9", 6);
    size_t n = 37;
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_buf_append_json_string(&b, in, n), GW_OK);
    char err[128];
    yajl_val v = gw_json_parse(b.data, b.len, err, sizeof(err));
    assert_non_null(v);
    assert_true(YAJL_IS_STRING(v));
    assert_int_equal(strlen(v->u.string), n);
    assert_memory_equal(v->u.string, in, n);
    yajl_tree_free(v);
    gw_buf_fini(&b);
}

/* A buffer that ran out of memory says so and takes nothing more until reset, so a writer that
 * cannot fail never leaves a gap in the middle of what it wrote. */
static void test_failed_is_sticky(void **state)
{
    (void)state;
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_buf_appends(&b, "ab"), GW_OK);
    assert_int_equal(gw_buf_status(&b), GW_OK);
    assert_int_equal(gw_buf_reserve(&b, SIZE_MAX), GW_ENOMEM);
    assert_int_equal(gw_buf_status(&b), GW_ENOMEM);
    assert_int_equal(gw_buf_appends(&b, "cd"), GW_ENOMEM);
    assert_int_equal(b.len, 2);
    gw_buf_reset(&b);
    assert_int_equal(gw_buf_status(&b), GW_OK);
    assert_int_equal(gw_buf_appends(&b, "ef"), GW_OK);
    assert_string_equal(b.data, "ef");
    gw_buf_fini(&b);
}

static void test_steal(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_buf_appends(&b, "owned"), GW_OK);
    size_t len = 0;
    char *p = gw_buf_steal(&b, &len);
    assert_string_equal(p, "owned");
    assert_int_equal(len, 5);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(p);

    /* Nothing appended: still a string the caller can free. */
    p = gw_buf_steal(&b, NULL);
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);

    /* The buffer is usable again after a steal. */
    assert_int_equal(gw_buf_appends(&b, "again"), GW_OK);
    assert_string_equal(b.data, "again");
    gw_buf_fini(&b);
}

static void test_strerror(void **state)
{
    assert_string_equal(gw_strerror(GW_OK), "success");
    assert_string_equal(gw_strerror(GW_ENOMEM), "out of memory");
    for (int e = GW_OK; e <= GW_EPROTO; e++) {
        assert_non_null(gw_strerror((gw_err_t)e));
        assert_string_not_equal(gw_strerror((gw_err_t)e), "unknown error");
    }
    assert_string_equal(gw_strerror((gw_err_t)999), "unknown error");
    assert_string_equal(gw_strerror((gw_err_t)-1), "unknown error");
}

static void test_proto(void **state)
{
    assert_int_equal(gw_proto_parse("2025-03-26", 10), GW_PROTO_2025_03_26);
    assert_int_equal(gw_proto_parse("2025-06-18", 10), GW_PROTO_2025_06_18);
    assert_int_equal(gw_proto_parse("2025-11-25xyz", 10), GW_PROTO_2025_11_25);
    assert_int_equal(gw_proto_parse("2025-11-2", 9), GW_PROTO_NONE);
    assert_int_equal(gw_proto_parse("2024-11-05", 10), GW_PROTO_NONE);
    assert_int_equal(gw_proto_parse("", 0), GW_PROTO_NONE);
    assert_int_equal(gw_proto_parse(NULL, 0), GW_PROTO_NONE);
    assert_string_equal(gw_proto_name(GW_PROTO_LATEST), "2025-11-25");
    assert_string_equal(gw_proto_name(GW_PROTO_DEFAULT), "2025-03-26");
    assert_string_equal(gw_proto_name(GW_PROTO_2025_06_18), "2025-06-18");
    assert_null(gw_proto_name(GW_PROTO_NONE));
    assert_null(gw_proto_name((gw_proto_t)42));
}

/* ---- json.c ---- */

static void expect_json_round_trip(const char *in, const char *want)
{
    char err[256] = "";
    yajl_val v = gw_json_parse(in, strlen(in), err, sizeof(err));
    if (v == NULL) {
        fail_msg("parse of %s failed: %s", in, err);
    }
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_json_to_buf(v, &b), GW_OK);
    assert_string_equal(b.data, want);
    gw_buf_fini(&b);
    yajl_tree_free(v);
}

static void test_json_round_trip(void **state)
{
    expect_json_round_trip(
        "{ \"a\" : [1, 2.50, -0, 1e400, 12345678901234567890123],\n"
        "  \"b\": {\"c\": null, \"d\": true, \"e\": false}, \"s\": \"\\u00e9\\n\"}",
        "{\"a\":[1,2.50,-0,1e400,12345678901234567890123],"
        "\"b\":{\"c\":null,\"d\":true,\"e\":false},\"s\":\"\xc3\xa9\\n\"}");
    expect_json_round_trip("[]", "[]");
    expect_json_round_trip("\"x\"", "\"x\"");
    expect_json_round_trip("0.1", "0.1");
}

static void test_json_parse_not_terminated(void **state)
{
    /* The input is a slice of a larger buffer: only len bytes are JSON. */
    const char text[] = "{\"k\":\"v\"}GARBAGE";
    char err[128];
    yajl_val v = gw_json_parse(text, 9, err, sizeof(err));
    assert_non_null(v);
    assert_string_equal(gw_json_get_string(v, "k"), "v");
    assert_null(gw_json_get_string(v, "missing"));
    assert_null(gw_json_get(v, "missing"));
    assert_null(gw_json_get(v->u.object.values[0], "k")); /* not an object */
    assert_null(gw_json_get(NULL, "k"));
    yajl_tree_free(v);
}

static void test_json_parse_errors(void **state)
{
    char err[256];
    err[0] = '\0';
    assert_null(gw_json_parse("{\"a\":", 5, err, sizeof(err)));
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));

    err[0] = '\0';
    assert_null(gw_json_parse("{} \0 {}", 7, err, sizeof(err)));
    assert_string_equal(err, "NUL byte in JSON text");

    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    assert_null(gw_json_parse(deep, sizeof(deep), err, sizeof(err)));
    assert_string_equal(err, "JSON nested too deeply");

    /* Brackets inside strings are not nesting. */
    char s[300];
    s[0] = '"';
    memset(s + 1, '[', 298);
    s[299] = '"';
    yajl_val v = gw_json_parse(s, sizeof(s), err, sizeof(err));
    assert_non_null(v);
    yajl_tree_free(v);

    /* No error buffer is fine. */
    assert_null(gw_json_parse("nope", 4, NULL, 0));
}

static void test_json_gen_to_buf(void **state)
{
    gw_buf_t b;
    gw_buf_init(&b);
    yajl_gen g = gw_json_gen_to_buf(&b);
    assert_non_null(g);
    assert_int_equal(yajl_gen_map_open(g), yajl_gen_status_ok);
    assert_int_equal(gw_json_gen_cstr(g, "name"), yajl_gen_status_ok);
    assert_int_equal(gw_json_gen_cstr(g, "a\"b"), yajl_gen_status_ok);
    assert_int_equal(gw_json_gen_cstr(g, "n"), yajl_gen_status_ok);
    assert_int_equal(gw_json_gen(g, NULL), yajl_gen_status_ok);
    assert_int_equal(gw_json_gen_done(g, &b, yajl_gen_map_close(g)), GW_OK);
    assert_string_equal(b.data, "{\"name\":\"a\\\"b\",\"n\":null}");
    gw_buf_fini(&b);
}

/* gw_json_gen_done tells a generator error and a buffer that ran out of memory apart. */
static void test_json_gen_done(void **state)
{
    (void)state;
    gw_buf_t b;
    gw_buf_init(&b);
    yajl_gen g = gw_json_gen_to_buf(&b);
    /* a map key that is not a string: the generator refuses it */
    assert_int_equal(yajl_gen_map_open(g), yajl_gen_status_ok);
    assert_int_equal(gw_json_gen_done(g, &b, yajl_gen_integer(g, 1)), GW_EINVAL);
    gw_buf_reset(&b);
    g = gw_json_gen_to_buf(&b);
    assert_int_equal(gw_buf_reserve(&b, SIZE_MAX), GW_ENOMEM); /* as if an append failed */
    assert_int_equal(gw_json_gen_done(g, &b, gw_json_gen_cstr(g, "x")), GW_ENOMEM);
    gw_buf_fini(&b);
}

/* ---- log.c ---- */

/* Runs one log call with stderr redirected into a pipe and returns what was written. */
static size_t capture_log(char *out, size_t outlen, int level, const char *value)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    gw_log(level, "msg=hello value=%s", value);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    size_t n = 0;
    ssize_t r;
    while (n < outlen - 1 && (r = read(fds[0], out + n, outlen - 1 - n)) > 0) {
        n += (size_t)r;
    }
    close(fds[0]);
    out[n] = '\0';
    return n;
}

static void test_log_line(void **state)
{
    char line[8192];
    gw_log_setup("router.1", GW_LOG_INFO);
    size_t n = capture_log(line, sizeof(line), GW_LOG_WARNING, "x\ny");
    assert_true(n > 0);
    assert_memory_equal(line, "ts=", 3);
    /* ts=2026-11-23T23:50:01.123Z */
    assert_int_equal(line[7], '-');
    assert_int_equal(line[13], 'T');
    assert_int_equal(line[22], '.');
    assert_int_equal(line[26], 'Z');
    char want[128];
    snprintf(want, sizeof(want), " level=warning proc=router.1 pid=%ld msg=hello value=x y\n",
             (long)getpid());
    assert_string_equal(line + 27, want);

    assert_int_equal(capture_log(line, sizeof(line), GW_LOG_DEBUG, "hidden"), 0);
    gw_log_threshold = GW_LOG_DEBUG;
    assert_true(capture_log(line, sizeof(line), GW_LOG_DEBUG, "shown") > 0);
    assert_non_null(strstr(line, " level=debug "));
    gw_log_setup("mcpgw", GW_LOG_INFO);
}

static void test_log_truncates(void **state)
{
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'v', 9999);
    big[9999] = '\0';
    char line[16384];
    size_t n = capture_log(line, sizeof(line), GW_LOG_ERR, big);
    free(big);
    assert_int_equal(n, 4096);
    assert_int_equal(line[n - 1], '\n');
    assert_memory_equal(line + n - 16, " truncated=true\n", 16);
    assert_null(memchr(line, '\n', n - 1));
}

/* Text a client chose, quoted with gw_log_quote, stays inside its value: no forged field. */
static void test_log_quote(void **state)
{
    char q[64];
    const char *evil = "x\" request_id=forged \\ z\n";
    assert_string_equal(gw_log_quote(q, sizeof(q), evil, strlen(evil)),
                        "x\\\" request_id=forged \\\\ z ");
    assert_string_equal(gw_log_quote(q, 5, "abcdef", 6), "ab");
    assert_string_equal(gw_log_quote(q, 5, "\"\"\"", 3), "\\\"");
    char line[8192];
    char value[80];
    snprintf(value, sizeof(value), "\"%s\"", gw_log_quote(q, sizeof(q), evil, strlen(evil)));
    gw_log_set_json(1);
    capture_log(line, sizeof(line), GW_LOG_ERR, value);
    gw_log_set_json(0);
    assert_non_null(strstr(line, "\"value\":\"x\\\" request_id=forged \\\\ z \"}"));
    assert_null(strstr(line, "\"request_id\""));
}

static void test_log_levels(void **state)
{
    assert_int_equal(gw_log_level_parse("err"), GW_LOG_ERR);
    assert_int_equal(gw_log_level_parse("error"), GW_LOG_ERR);
    assert_int_equal(gw_log_level_parse("warning"), GW_LOG_WARNING);
    assert_int_equal(gw_log_level_parse("warn"), GW_LOG_WARNING);
    assert_int_equal(gw_log_level_parse("notice"), GW_LOG_NOTICE);
    assert_int_equal(gw_log_level_parse("INFO"), GW_LOG_INFO);
    assert_int_equal(gw_log_level_parse("debug"), GW_LOG_DEBUG);
    assert_int_equal(gw_log_level_parse("trace"), -1);
    assert_int_equal(gw_log_level_parse(""), -1);
    assert_int_equal(gw_log_level_parse(NULL), -1);
    assert_string_equal(gw_log_level_name(GW_LOG_ERR), "err");
    assert_string_equal(gw_log_level_name(GW_LOG_WARNING), "warning");
    assert_string_equal(gw_log_level_name(GW_LOG_NOTICE), "notice");
    assert_string_equal(gw_log_level_name(GW_LOG_INFO), "info");
    assert_string_equal(gw_log_level_name(GW_LOG_DEBUG), "debug");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_empty),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_appendf_long),
        cmocka_unit_test(test_json_string_escapes),
        cmocka_unit_test(test_json_string_utf8_passthrough),
        cmocka_unit_test(test_json_string_round_trip),
        cmocka_unit_test(test_failed_is_sticky),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_proto),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_parse_not_terminated),
        cmocka_unit_test(test_json_parse_errors),
        cmocka_unit_test(test_json_gen_to_buf),
        cmocka_unit_test(test_json_gen_done),
        cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_log_truncates),
        cmocka_unit_test(test_log_quote),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
