/* routes_test.c: the router's routing table: parsing the broker's JSON (and refusing malformed
 * tables), lookups by name, resource owners through URIs and RFC 6570 templates, tool deadlines
 * and servers named by gateway ids. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "router/era.h"
#include "router/routes.h"

static const char table_json[] =
    "{\"seq\":7,\"generation\":3,\"activity_ms\":1500,"
    "\"servers\":["
    "{\"name\":\"alpha\",\"prefix\":\"a_\",\"timeout_ms\":1000,\"tool_timeouts\":{\"slow\":9000},"
    "\"resources\":true,\"logging\":true,\"tasks\":false},"
    "{\"name\":\"beta\",\"prefix\":\"\",\"timeout_ms\":2000,\"workers\":3,\"resources\":true,"
    "\"tasks\":true},"
    "{\"name\":\"gamma\",\"prefix\":\"g.\",\"timeout_ms\":3000,\"tasks\":true}],"
    "\"tools\":{\"a_slow\":0,\"a_echo\":0,\"zeta\":1,\"g.add\":2},"
    "\"prompts\":{\"a_greet\":0},"
    "\"resources\":{\"file:///etc/motd\":1},"
    "\"resourceTemplates\":{\"mem://{key}\":0,\"doc://{+path}\":1,\"q://x{?a,b}\":2}}";

static gw_err_t parse(const char *json, rtr_routes_t **out)
{
    char err[128];
    yajl_val root = gw_json_parse(json, strlen(json), err, sizeof(err));
    assert_non_null(root);
    gw_err_t e = rtr_routes_parse(root, out);
    yajl_tree_free(root);
    return e;
}

static int setup_table(void **state)
{
    rtr_routes_t *r = NULL;
    assert_int_equal(parse(table_json, &r), GW_OK);
    *state = r;
    return 0;
}

static int teardown_table(void **state)
{
    rtr_routes_destroy(*state);
    return 0;
}

static void test_parse(void **state)
{
    const rtr_routes_t *r = *state;
    assert_int_equal(r->generation, 3);
    assert_int_equal(r->activity_ms, 1500);
    assert_int_equal(r->nservers, 3);
    assert_string_equal(r->servers[0].name, "alpha");
    assert_int_equal(r->servers[0].prefix_len, 2);
    assert_int_equal(r->servers[1].prefix_len, 0);
    assert_true(r->servers[0].resources && r->servers[0].logging && !r->servers[0].tasks);
    assert_true(r->servers[1].tasks && !r->servers[1].logging);
    assert_null(r->servers[0].peers[0]);
    assert_int_equal(r->servers[0].workers, 1); /* none sent: one */
    assert_int_equal(r->servers[1].workers, 3);
    assert_int_equal(r->nkeys[GW_LIST_TOOLS], 4);
    assert_int_equal(r->nkeys[GW_LIST_PROMPTS], 1);
    assert_int_equal(r->nkeys[GW_LIST_RESOURCES], 1);
    assert_int_equal(r->nkeys[GW_LIST_TEMPLATES], 3);
    /* templates stay in the broker's order: the first match wins */
    assert_string_equal(r->keys[GW_LIST_TEMPLATES][0].key, "mem://{key}");
}

static void test_find(void **state)
{
    const rtr_routes_t *r = *state;
    const rtr_route_key_t *k = rtr_routes_find(r, GW_LIST_TOOLS, "g.add");
    assert_non_null(k);
    assert_int_equal(k->server, 2);
    assert_int_equal(rtr_routes_find(r, GW_LIST_TOOLS, "a_echo")->server, 0);
    assert_int_equal(rtr_routes_find(r, GW_LIST_TOOLS, "zeta")->server, 1);
    assert_null(rtr_routes_find(r, GW_LIST_TOOLS, "a_greet")); /* a prompt, not a tool */
    assert_non_null(rtr_routes_find(r, GW_LIST_PROMPTS, "a_greet"));
    assert_null(rtr_routes_find(r, GW_LIST_TOOLS, "echo")); /* prefixes are part of the key */
    assert_null(rtr_routes_find(NULL, GW_LIST_TOOLS, "zeta"));
}

static void test_resource_owner(void **state)
{
    const rtr_routes_t *r = *state;
    assert_int_equal(rtr_routes_resource_owner(r, "file:///etc/motd"), 1); /* listed */
    assert_int_equal(rtr_routes_resource_owner(r, "mem://k1"), 0);         /* {key} */
    assert_int_equal(rtr_routes_resource_owner(r, "doc://a/b/c"), 1);      /* {+path} */
    assert_int_equal(rtr_routes_resource_owner(r, "q://x"), 2);            /* {?a,b}: empty */
    assert_int_equal(rtr_routes_resource_owner(r, "q://x?a=1&b=2"), 2);
    /* {key} matches no '/': not mem://, and two servers offer resources: no owner */
    assert_int_equal(rtr_routes_resource_owner(r, "mem://a/b"), -1);
    assert_int_equal(rtr_routes_resource_owner(r, "other://x"), -1);
    assert_int_equal(rtr_routes_resource_owner(NULL, "mem://k1"), -1);
}

static void test_only_resource_server(void **state)
{
    (void)state;
    rtr_routes_t *r = NULL;
    assert_int_equal(parse("{\"generation\":1,\"servers\":["
                           "{\"name\":\"a\",\"prefix\":\"\",\"timeout_ms\":5},"
                           "{\"name\":\"b\",\"prefix\":\"\",\"timeout_ms\":5,\"resources\":true}],"
                           "\"tools\":{},\"prompts\":{},\"resources\":{},"
                           "\"resourceTemplates\":{}}",
                           &r),
                     GW_OK);
    assert_int_equal(r->activity_ms, RTR_ACTIVITY_MS_DEFAULT);
    assert_int_equal(rtr_routes_resource_owner(r, "any://thing"), 1);
    rtr_routes_destroy(r);
}

static void test_tool_timeout(void **state)
{
    const rtr_routes_t *r = *state;
    assert_int_equal(rtr_routes_tool_timeout(&r->servers[0], "slow"), 9000);
    assert_int_equal(rtr_routes_tool_timeout(&r->servers[0], "echo"), 1000);
    assert_int_equal(rtr_routes_tool_timeout(&r->servers[1], "slow"), 2000);
}

static void test_server_named(void **state)
{
    const rtr_routes_t *r = *state;
    assert_int_equal(rtr_routes_server_named(r, "beta", 4, 0), 1);
    assert_int_equal(rtr_routes_server_named(r, "betax", 4, 0), 1); /* only len bytes count */
    assert_int_equal(rtr_routes_server_named(r, "alpha", 5, 0), 0);
    assert_int_equal(rtr_routes_server_named(r, "alpha", 5, 1), -1); /* offers no tasks */
    assert_int_equal(rtr_routes_server_named(r, "gamma", 5, 1), 2);
    assert_int_equal(rtr_routes_server_named(r, "alp", 3, 0), -1);
    assert_int_equal(rtr_routes_server_named(NULL, "beta", 4, 0), -1);
}

/* A name some capability sets do not list is unknown to their sessions only. */
static void test_absent_sets(void **state)
{
    (void)state;
    static const char json[] =
        "{\"generation\":1,\"servers\":[{\"name\":\"a\",\"prefix\":\"a_\",\"timeout_ms\":5}],"
        "\"tools\":{\"a_echo\":0,\"a_sample_me\":0},\"prompts\":{\"a_p\":0},\"resources\":{},"
        "\"resourceTemplates\":{},"
        "\"absent\":{\"tools\":{\"a_sample_me\":5,\"a_unrouted\":1},\"prompts\":{\"a_p\":2}}}";
    rtr_routes_t *r = NULL;
    rtr_route_key_t scratch;
    assert_int_equal(parse(json, &r), GW_OK);
    assert_null(rtr_routes_find_for(r, 0, GW_LIST_TOOLS, "a_sample_me", &scratch));
    assert_non_null(rtr_routes_find_for(r, 1, GW_LIST_TOOLS, "a_sample_me", &scratch));
    assert_null(rtr_routes_find_for(r, 2, GW_LIST_TOOLS, "a_sample_me", &scratch));
    assert_non_null(rtr_routes_find_for(r, 3, GW_LIST_TOOLS, "a_sample_me", &scratch));
    assert_non_null(
        rtr_routes_find_for(r, 0x08 | 1, GW_LIST_TOOLS, "a_sample_me", &scratch)); /* 3 bits */
    assert_non_null(rtr_routes_find_for(r, 0, GW_LIST_TOOLS, "a_echo", &scratch));
    assert_non_null(rtr_routes_find(r, GW_LIST_TOOLS, "a_sample_me")); /* any session */
    assert_null(rtr_routes_find_for(r, 1, GW_LIST_PROMPTS, "a_p", &scratch));
    assert_non_null(rtr_routes_find_for(r, 0, GW_LIST_PROMPTS, "a_p", &scratch));
    /* while set 0 is being fetched: known names go to their owner, others by their prefix */
    r->pending = 1;
    assert_non_null(rtr_routes_find_for(r, 0, GW_LIST_TOOLS, "a_sample_me", &scratch));
    const rtr_route_key_t *k = rtr_routes_find_for(r, 0, GW_LIST_TOOLS, "a_new", &scratch);
    assert_ptr_equal(k, &scratch);
    assert_int_equal(k->server, 0);
    assert_null(rtr_routes_find_for(r, 0, GW_LIST_TOOLS, "b_new", &scratch));
    assert_null(rtr_routes_find_for(r, 1, GW_LIST_TOOLS, "a_new", &scratch));
    rtr_routes_destroy(r);
    r = NULL;
    assert_int_equal(parse("{\"generation\":1,\"servers\":[],\"tools\":{},\"prompts\":{},"
                           "\"resources\":{},\"resourceTemplates\":{},"
                           "\"absent\":{\"tools\":{\"x\":\"all\"}}}",
                           &r),
                     GW_EPARSE);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"servers\":[]}",                                  /* no generation */
        "{\"generation\":1}",                                /* no servers */
        "{\"generation\":1,\"servers\":[{\"name\":\"a\"}]}", /* no prefix, timeout */
        "{\"generation\":1,\"servers\":[{\"name\":\"a\",\"prefix\":\"\",\"timeout_ms\":5}],"
        "\"tools\":{\"x\":1},\"prompts\":{},\"resources\":{},\"resourceTemplates\":{}}",
        "{\"generation\":1,\"servers\":[{\"name\":\"a\",\"prefix\":\"\",\"timeout_ms\":5,"
        "\"tool_timeouts\":{\"t\":0}}],"
        "\"tools\":{},\"prompts\":{},\"resources\":{},\"resourceTemplates\":{}}",
        "{\"generation\":1,\"servers\":[{\"name\":\"a\",\"prefix\":\"\",\"timeout_ms\":5}],"
        "\"tools\":{},\"prompts\":{},\"resources\":{}}", /* no templates */
        "{\"generation\":1,\"servers\":[{\"name\":\"a\",\"prefix\":\"\",\"timeout_ms\":5,"
        "\"workers\":0}],\"tools\":{},\"prompts\":{},\"resources\":{},\"resourceTemplates\":{}}",
        "{\"generation\":1,\"servers\":[{\"name\":\"a\",\"prefix\":\"\",\"timeout_ms\":5,"
        "\"workers\":65}],\"tools\":{},\"prompts\":{},\"resources\":{},\"resourceTemplates\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rtr_routes_t *r = NULL;
        assert_int_equal(parse(bad[i], &r), GW_EPARSE);
        assert_null(r);
    }
}

/* server/discover's capabilities per endpoint, and what each offers (design §3, row 16). */
static void test_discover(void **state)
{
    (void)state;
    static const char json[] =
        "{\"generation\":1,\"servers\":[],\"tools\":{},\"prompts\":{},\"resources\":{},"
        "\"resourceTemplates\":{},\"discover\":[{\"tools\":{\"listChanged\":true},\"prompts\":{"
        "\"listChanged\":true},\"resources\":{\"listChanged\":true,\"subscribe\":true},"
        "\"completions\":{},\"logging\":{}},{\"tools\":{\"listChanged\":true}}]}";
    rtr_routes_t *r = NULL;
    unsigned offers;
    assert_int_equal(parse(json, &r), GW_OK);
    assert_int_equal(r->ndiscover, 2);
    assert_string_equal(
        rtr_routes_discover(r, 0, &offers),
        "{\"tools\":{\"listChanged\":true},\"prompts\":{\"listChanged\":true},"
        "\"resources\":{\"listChanged\":true,\"subscribe\":true},\"completions\":{},"
        "\"logging\":{}}");
    assert_int_equal(offers, RTR_OFFERS_PROMPTS | RTR_OFFERS_RESOURCES | RTR_OFFERS_COMPLETIONS |
                                 RTR_OFFERS_LOGGING);
    assert_string_equal(rtr_routes_discover(r, 1, &offers), "{\"tools\":{\"listChanged\":true}}");
    assert_int_equal(offers, 0);
    /* an endpoint the table does not know, or no table: tools only, never a failure */
    assert_string_equal(rtr_routes_discover(r, 5, &offers), "{\"tools\":{\"listChanged\":true}}");
    assert_int_equal(offers, 0);
    assert_string_equal(rtr_routes_discover(NULL, 0, &offers),
                        "{\"tools\":{\"listChanged\":true}}");
    rtr_routes_destroy(r);
    static const char *const bad[] = {
        "{\"generation\":1,\"servers\":[],\"tools\":{},\"prompts\":{},\"resources\":{},"
        "\"resourceTemplates\":{},\"discover\":{}}",
        "{\"generation\":1,\"servers\":[],\"tools\":{},\"prompts\":{},\"resources\":{},"
        "\"resourceTemplates\":{},\"discover\":[{},7]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = NULL;
        assert_int_equal(parse(bad[i], &r), GW_EPARSE);
        assert_null(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse, setup_table, teardown_table),
        cmocka_unit_test_setup_teardown(test_find, setup_table, teardown_table),
        cmocka_unit_test_setup_teardown(test_resource_owner, setup_table, teardown_table),
        cmocka_unit_test(test_only_resource_server),
        cmocka_unit_test(test_discover),
        cmocka_unit_test_setup_teardown(test_tool_timeout, setup_table, teardown_table),
        cmocka_unit_test_setup_teardown(test_server_named, setup_table, teardown_table),
        cmocka_unit_test(test_absent_sets),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
