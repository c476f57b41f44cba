/* names_test.c: process names (names.h), gateway-unique ids (gwid.h) and the list table
 * (lists.h): what is written is read back, and what is not of the form is refused. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/gwid.h"
#include "common/lists.h"
#include "common/names.h"

static void test_names(void **state)
{
    (void)state;
    unsigned i = 99;
    assert_string_equal(gw_router_inbox(3).s, "router-3");
    assert_string_equal(gw_router_proc(12).s, "router.12");
    assert_string_equal(gw_worker_inbox("alpha").s, "worker-alpha");
    assert_string_equal(gw_worker_proc("alpha").s, "worker.alpha");
    /* the longest server name fits */
    char longest[GW_SERVER_NAME_MAX + 1];
    memset(longest, 'x', GW_SERVER_NAME_MAX);
    longest[GW_SERVER_NAME_MAX] = '\0';
    assert_int_equal(strlen(gw_worker_inbox(longest).s), GW_SERVER_NAME_MAX + 7);

    assert_true(gw_router_inbox_parse("router-0", 8, &i));
    assert_int_equal(i, 0);
    assert_true(gw_router_inbox_parse("router-63", 9, &i));
    assert_int_equal(i, 63);
    assert_false(gw_router_inbox_parse("router-", 7, &i));
    assert_false(gw_router_inbox_parse("router-01", 9, &i));
    assert_false(gw_router_inbox_parse("router-1x", 9, &i));
    assert_false(gw_router_inbox_parse("router.1", 8, &i));
    assert_false(gw_router_inbox_parse("router-12345678901", 18, &i));

    assert_string_equal(gw_worker_proc_server("worker.beta"), "beta");
    assert_null(gw_worker_proc_server("worker-beta"));
    assert_null(gw_worker_proc_server("worker."));
    assert_null(gw_worker_proc_server("router.1"));

    assert_true(gw_is_inbox_name("broker"));
    assert_true(gw_is_inbox_name("router-2"));
    assert_true(gw_is_inbox_name("worker-a_b-C9"));
    assert_false(gw_is_inbox_name("worker-"));
    assert_false(gw_is_inbox_name("worker-a/b"));
    assert_false(gw_is_inbox_name("broker2"));
    assert_false(gw_is_inbox_name("router-x"));
}

/* servers[].workers: shard k > 0 of a backend has names no server can have, read back whole. */
static void test_shard_names(void **state)
{
    (void)state;
    const char *server = NULL;
    size_t len = 0;
    unsigned k = 99;
    assert_string_equal(gw_worker_shard_inbox("alpha", 0).s, "worker-alpha");
    assert_string_equal(gw_worker_shard_inbox("alpha", 2).s, "worker-alpha.2");
    assert_string_equal(gw_worker_shard_proc("alpha", 0).s, "worker.alpha");
    assert_string_equal(gw_worker_shard_proc("alpha", 63).s, "worker.alpha.63");
    char longest[GW_SERVER_NAME_MAX + 1];
    memset(longest, 'x', GW_SERVER_NAME_MAX);
    longest[GW_SERVER_NAME_MAX] = '\0';
    assert_int_equal(strlen(gw_worker_shard_inbox(longest, 63).s), GW_SERVER_NAME_MAX + 10);

    assert_true(gw_worker_inbox_parse("worker-alpha", 12, &server, &len, &k));
    assert_int_equal(k, 0);
    assert_int_equal(len, 5);
    assert_memory_equal(server, "alpha", 5);
    assert_true(gw_worker_inbox_parse("worker-a-b.17", 13, &server, &len, &k));
    assert_int_equal(k, 17);
    assert_int_equal(len, 3);
    assert_memory_equal(server, "a-b", 3);
    assert_false(gw_worker_inbox_parse("worker-alpha.0", 14, &server, &len, &k));
    assert_false(gw_worker_inbox_parse("worker-alpha.07", 15, &server, &len, &k));
    assert_false(gw_worker_inbox_parse("worker-alpha.64", 15, &server, &len, &k));
    assert_false(gw_worker_inbox_parse("worker-alpha.", 13, &server, &len, &k));
    assert_false(gw_worker_inbox_parse("worker-alpha.1.2", 16, &server, &len, &k));
    assert_false(gw_worker_inbox_parse("worker-.1", 9, &server, &len, &k));
    assert_false(gw_worker_inbox_parse("worker.alpha.1", 14, &server, &len, &k));
    assert_true(gw_worker_proc_parse("worker.alpha.1", &server, &len, &k));
    assert_int_equal(k, 1);
    assert_int_equal(len, 5);
    assert_null(gw_worker_proc_server("worker.alpha.1"));

    assert_true(gw_is_inbox_name("worker-alpha.1"));
    assert_true(gw_is_inbox_name("worker-alpha.63"));
    assert_false(gw_is_inbox_name("worker-alpha.64"));
    assert_false(gw_is_inbox_name("worker-alpha#1"));
    assert_false(gw_is_inbox_name("worker-alpha.x"));
}

static void test_gwid(void **state)
{
    (void)state;
    char out[64];
    gw_str_t server, rest;
    assert_int_equal(gw_gwid_format(out, sizeof(out), "ev1", "task:42"), GW_OK);
    assert_string_equal(out, "mcpgw:ev1:task:42");
    assert_int_equal(gw_gwid_format(out, 10, "ev1", "task:42"), GW_ETOOBIG);

    assert_true(gw_gwid_parse("mcpgw:ev1:task:42", 17, &server, &rest));
    assert_int_equal(server.len, 3);
    assert_memory_equal(server.ptr, "ev1", 3);
    assert_int_equal(rest.len, 7);
    assert_memory_equal(rest.ptr, "task:42", 7);
    assert_true(gw_gwid_parse("mcpgw:ev2:", 10, &server, &rest)); /* a next-server cursor */
    assert_int_equal(rest.len, 0);
    assert_false(gw_gwid_parse("mcpgw::x", 8, &server, &rest));
    assert_false(gw_gwid_parse("mcpgw:ev1", 9, &server, &rest));
    assert_false(gw_gwid_parse("mcpgx:ev1:1", 11, &server, &rest));
    assert_false(gw_gwid_parse(NULL, 0, &server, &rest));

    assert_true(gw_gwid_parse_token("\"mcpgw:alpha:7\"", 15, &server, &rest));
    assert_memory_equal(server.ptr, "alpha", 5);
    assert_int_equal(rest.len, 1);
    assert_memory_equal(rest.ptr, "7", 1);
    assert_false(gw_gwid_parse_token("mcpgw:alpha:7", 13, &server, &rest));
    assert_false(gw_gwid_parse_token("\"mcpgw:al\\u0070ha:7\"", 20, &server, &rest));
    assert_false(gw_gwid_parse_token("7", 1, &server, &rest));

    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_gwid_append(&b, "beta", "abc", 3), GW_OK);
    assert_int_equal(b.len, 14);
    assert_memory_equal(b.data, "mcpgw:beta:abc", 14);
    gw_buf_fini(&b);
}

static void test_lists(void **state)
{
    (void)state;
    assert_int_equal(gw_list_by_method("tools/list", 10), GW_LIST_TOOLS);
    assert_int_equal(gw_list_by_method("resources/templates/list", 24), GW_LIST_TEMPLATES);
    assert_int_equal(gw_list_by_method("tools/lis", 9), -1);
    assert_int_equal(gw_list_by_method("tools/call", 10), -1);
    assert_int_equal(gw_list_by_changed("notifications/prompts/list_changed", 34), GW_LIST_PROMPTS);
    assert_int_equal(gw_list_by_changed("notifications/resources/list_changed", 36),
                     GW_LIST_RESOURCES);
    assert_int_equal(gw_list_by_changed("notifications/roots/list_changed", 32), -1);
    for (int l = 0; l < GW_NLISTS; l++) {
        assert_int_equal(
            gw_list_by_method(gw_list_kinds[l].method, strlen(gw_list_kinds[l].method)), l);
    }
    assert_string_equal(gw_list_kinds[GW_LIST_TEMPLATES].capability, "resources");
    assert_true(gw_list_kinds[GW_LIST_TOOLS].prefixed);
    assert_false(gw_list_kinds[GW_LIST_RESOURCES].prefixed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_shard_names),
        cmocka_unit_test(test_gwid),
        cmocka_unit_test(test_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
