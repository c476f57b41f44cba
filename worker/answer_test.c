/* answer_test.c: the check of backend answers: the response with the id sent (by bytes), events
 * that are requests or notifications, and each way an answer is refused. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "worker/answer.h"

static wrk_answer_t check(const char *msg, const char *id, int event, int answered)
{
    gw_rpc_t rpc;
    return wrk_answer_check(msg, strlen(msg), id, strlen(id), event, answered, &rpc);
}

static void test_the_response(void **state)
{
    (void)state;
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", "7", 0, 0),
                     WRK_ANSWER_RESPONSE);
    assert_int_equal(
        check("{\"result\":{},\"id\":\"a\\\"b\",\"jsonrpc\":\"2.0\"}", "\"a\\\"b\"", 1, 0),
        WRK_ANSWER_RESPONSE);
    assert_int_equal(
        check("{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-1,\"message\":\"x\"}}", "7", 0,
              0),
        WRK_ANSWER_RESPONSE);
}

static void test_ids_compared_by_bytes(void **state)
{
    (void)state;
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{}}", "7", 0, 0),
                     WRK_ANSWER_WRONG_ID);
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"result\":{}}", "7", 0, 0),
                     WRK_ANSWER_WRONG_ID);
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":7.0,\"result\":{}}", "7", 1, 0),
                     WRK_ANSWER_WRONG_ID);
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":\"\\u0061\",\"result\":{}}", "\"a\"", 0, 0),
                     WRK_ANSWER_WRONG_ID);
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":70,\"result\":{}}", "7", 0, 0),
                     WRK_ANSWER_WRONG_ID);
    assert_int_equal(
        check("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-1,\"message\":\"x\"}}", "7", 0,
              0),
        WRK_ANSWER_WRONG_ID);
    /* a call without an id has no response */
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", "", 1, 0),
                     WRK_ANSWER_WRONG_ID);
}

static void test_events(void **state)
{
    (void)state;
    assert_int_equal(
        check("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}", "7", 1,
              0),
        WRK_ANSWER_MESSAGE);
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"roots/list\"}", "7", 1, 0),
                     WRK_ANSWER_MESSAGE);
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", "7", 1, 1),
                     WRK_ANSWER_SECOND);
    /* a whole JSON body must be the response itself */
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}", "7", 0, 0),
                     WRK_ANSWER_NOT_JSONRPC);
}

static void test_refused(void **state)
{
    (void)state;
    assert_int_equal(check("this is not JSON", "7", 0, 0), WRK_ANSWER_NOT_JSON);
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}", "7", 1, 0),
                     WRK_ANSWER_NOT_JSON);
    assert_int_equal(check("{\"hello\":1}", "7", 1, 0), WRK_ANSWER_NOT_JSONRPC);
    assert_int_equal(check("[{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}]", "7", 0, 0),
                     WRK_ANSWER_NOT_JSONRPC);
    assert_int_equal(check("42", "7", 1, 0), WRK_ANSWER_NOT_JSONRPC);
    assert_int_equal(check("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{},\"error\":{}}", "7", 0, 0),
                     WRK_ANSWER_NOT_JSONRPC);
    assert_string_equal(wrk_answer_reason(WRK_ANSWER_WRONG_ID), "wrong_id");
    assert_string_equal(wrk_answer_reason(WRK_ANSWER_NOT_JSON), "not_json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_response),
        cmocka_unit_test(test_ids_compared_by_bytes),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
