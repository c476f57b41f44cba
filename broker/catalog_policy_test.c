/* catalog_policy_test.c: unit tests of the lists per policy view (catalog_policy.c): what a rule
 * does not let through is left out, pages and cursors count the filtered list and hold in one
 * view only, a filtered list is built once per change of the views, and resources and templates
 * are matched by URI. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/catalog.h"
#include "common/config.h"
#include "common/json.h"

typedef struct fixture {
    gw_config_t *cfg;
    brk_catalog_t cat;
} fixture_t;

static const char policy_yaml[] =
    "servers:\n"
    "  - name: alpha\n"
    "    url: http://127.0.0.1:3001/mcp\n"
    "    prefix: a_\n"
    "  - name: beta\n"
    "    url: http://127.0.0.1:3002/mcp\n"
    "policy:\n"
    "  default: deny\n"
    "  rules:\n"
    "    - match: {scopes: [ops]}\n"
    "      allow: [\"alpha/*\", \"beta/read_*\", \"beta/file:///pub/*\"]\n"
    "      deny: [alpha/add, beta/read_secrets]\n"
    "    - match: {subject: ci}\n"
    "      allow: [beta/*]\n";

static const char alpha_report[] = "{\"server\":\"alpha\",\"ok\":true,"
                                   "\"tools\":[{\"name\":\"echo\"},{\"name\":\"add\"},"
                                   "{\"name\":\"run\"},{\"name\":\"stop\"}],"
                                   "\"prompts\":[{\"name\":\"greet\"}]}";
static const char beta_report[] =
    "{\"server\":\"beta\",\"ok\":true,"
    "\"tools\":[{\"name\":\"read_logs\"},{\"name\":\"read_secrets\"},{\"name\":\"write\"}],"
    "\"resources\":[{\"uri\":\"file:///pub/a\",\"name\":\"a\"},"
    "{\"uri\":\"file:///priv/b\",\"name\":\"b\"}],"
    "\"resourceTemplates\":[{\"uriTemplate\":\"file:///pub/{x}\",\"name\":\"t\"},"
    "{\"uriTemplate\":\"file:///priv/{x}\",\"name\":\"u\"}]}";

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    char err[512] = "";
    if (f == NULL || gw_config_parse("mcpgw.yaml", policy_yaml, strlen(policy_yaml), &f->cfg, err,
                                     sizeof(err)) != GW_OK) {
        fprintf(stderr, "config: %s\n", err);
        free(f);
        return -1;
    }
    if (brk_catalog_init(&f->cat, f->cfg) != GW_OK ||
        brk_catalog_apply_report(&f->cat, alpha_report, strlen(alpha_report), NULL) != GW_OK ||
        brk_catalog_apply_report(&f->cat, beta_report, strlen(beta_report), NULL) != GW_OK) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    brk_catalog_fini(&f->cat);
    gw_config_destroy(f->cfg);
    free(f);
    return 0;
}

/* The keys of list l as view sees it, joined by commas. */
static void keys(const brk_catalog_t *cat, unsigned view, gw_list_t l, char *out, size_t len)
{
    const brk_item_t *const *items;
    size_t n, off = 0;
    assert_int_equal(brk_catalog_filtered(cat, 0, view, l, &items, &n), GW_OK);
    out[0] = '\0';
    for (size_t i = 0; i < n && off < len; i++) {
        off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "," : "", items[i]->key);
    }
}

static void test_views(void **state)
{
    fixture_t *f = *state;
    char got[256];
    keys(&f->cat, 1, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_run,a_stop,read_logs"); /* prefixes are not matched */
    keys(&f->cat, 2, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "read_logs,read_secrets,write");
    keys(&f->cat, 0, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, ""); /* default: deny */
    keys(&f->cat, 1, GW_LIST_PROMPTS, got, sizeof(got));
    assert_string_equal(got, "a_greet");
    keys(&f->cat, 1, GW_LIST_RESOURCES, got, sizeof(got));
    assert_string_equal(got, "file:///pub/a");
    keys(&f->cat, 1, GW_LIST_TEMPLATES, got, sizeof(got));
    assert_string_equal(got, "file:///pub/{x}");
    keys(&f->cat, 2, GW_LIST_TEMPLATES, got, sizeof(got));
    assert_string_equal(got, "file:///pub/{x},file:///priv/{x}");
    keys(&f->cat, 9, GW_LIST_TOOLS, got, sizeof(got)); /* a view it does not have: the default */
    assert_string_equal(got, "");
}

/* One page of tools for view: names joined by commas into got, the nextCursor into next. */
static gw_err_t page(const brk_catalog_t *cat, unsigned view, const char *cursor, char *got,
                     char *next)
{
    gw_buf_t out;
    gw_buf_init(&out);
    gw_err_t err = brk_catalog_page_for(cat, 0, view, GW_LIST_TOOLS, cursor, 2, &out);
    got[0] = next[0] = '\0';
    if (err == GW_OK) {
        char e[64];
        yajl_val v = gw_json_parse(out.data, out.len, e, sizeof(e));
        yajl_val tools = gw_json_get(v, "tools");
        size_t off = 0;
        for (size_t i = 0; i < YAJL_GET_ARRAY(tools)->len; i++) {
            const char *name = gw_json_get_string(YAJL_GET_ARRAY(tools)->values[i], "name");
            off += (size_t)snprintf(got + off, 128 - off, "%s%s", i ? "," : "", name);
        }
        const char *c = gw_json_get_string(v, "nextCursor");
        snprintf(next, 64, "%s", c != NULL ? c : "");
        yajl_tree_free(v);
    }
    gw_buf_fini(&out);
    return err;
}

static void test_pages(void **state)
{
    fixture_t *f = *state;
    char got[128], next[64], next2[64], other[64];
    assert_int_equal(page(&f->cat, 1, NULL, got, next), GW_OK);
    assert_string_equal(got, "a_echo,a_run");
    assert_int_equal(page(&f->cat, 1, next, got, next2), GW_OK);
    assert_string_equal(got, "a_stop,read_logs");
    assert_string_equal(next2, ""); /* the filtered list's end */
    /* the cursor of one view means nothing in another */
    assert_int_equal(page(&f->cat, 2, NULL, got, other), GW_OK);
    assert_string_equal(got, "read_logs,read_secrets");
    assert_int_equal(page(&f->cat, 2, next, got, next2), GW_EINVAL);
    assert_int_equal(page(&f->cat, 1, other, got, next2), GW_EINVAL);
    assert_int_equal(page(&f->cat, 2, other, got, next2), GW_OK);
    assert_string_equal(got, "write");
    /* a list that changed refuses the cursors of its old version */
    static const char alpha2[] = "{\"server\":\"alpha\",\"ok\":true,"
                                 "\"tools\":[{\"name\":\"echo\"},{\"name\":\"run\"}]}";
    assert_int_equal(brk_catalog_apply_report(&f->cat, alpha2, strlen(alpha2), NULL), GW_OK);
    assert_int_equal(page(&f->cat, 1, next, got, next2), GW_EINVAL);
    assert_int_equal(page(&f->cat, 1, NULL, got, next2), GW_OK);
    assert_string_equal(got, "a_echo,a_run");
    assert_int_equal(page(&f->cat, 1, "0.1", got, next2), GW_EINVAL); /* no view in it */
}

static void test_built_once(void **state)
{
    fixture_t *f = *state;
    const brk_item_t *const *a, *const *b;
    size_t na, nb;
    assert_int_equal(brk_catalog_filtered(&f->cat, 0, 1, GW_LIST_TOOLS, &a, &na), GW_OK);
    assert_int_equal(brk_catalog_filtered(&f->cat, 0, 1, GW_LIST_TOOLS, &b, &nb), GW_OK);
    assert_ptr_equal(a, b); /* kept, not built per request */
    assert_int_equal(na, 4);
    static const char alpha2[] = "{\"server\":\"alpha\",\"ok\":true,"
                                 "\"tools\":[{\"name\":\"echo\"},{\"name\":\"zap\"}]}";
    assert_int_equal(brk_catalog_apply_report(&f->cat, alpha2, strlen(alpha2), NULL), GW_OK);
    assert_int_equal(brk_catalog_filtered(&f->cat, 0, 1, GW_LIST_TOOLS, &b, &nb), GW_OK);
    assert_int_equal(nb, 3);
    assert_string_equal(b[1]->key, "a_zap");
}

/* A reload: the catalog made for yaml takes what f's learnt; the cursor of view 1's first page
 * of f is tried in it. */
static gw_err_t cursor_after_reload(fixture_t *f, const char *yaml)
{
    char got[128], next[64], again[64], err[256];
    assert_int_equal(page(&f->cat, 1, NULL, got, next), GW_OK);
    gw_config_t *cfg = NULL;
    assert_int_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)),
                     GW_OK);
    brk_catalog_t cat;
    assert_int_equal(brk_catalog_init(&cat, cfg), GW_OK);
    assert_true(brk_catalog_adopt(&cat, &f->cat, "alpha"));
    assert_true(brk_catalog_adopt(&cat, &f->cat, "beta"));
    assert_int_equal(brk_catalog_refresh(&cat, &f->cat), GW_OK);
    gw_err_t rc = page(&cat, 1, next, got, again);
    brk_catalog_fini(&cat);
    gw_config_destroy(cfg);
    return rc;
}

static void test_reload_cursors(void **state)
{
    fixture_t *f = *state;
    /* the same policy: the same filtered lists, the cursor holds */
    assert_int_equal(cursor_after_reload(f, policy_yaml), GW_OK);
}

static void test_reload_other_policy(void **state)
{
    fixture_t *f = *state;
    /* another policy: the same view may see another list, and its old offsets mean nothing */
    char other[sizeof(policy_yaml) + 8];
    snprintf(other, sizeof(other), "%s", policy_yaml);
    memcpy(strstr(other, "alpha/add"), "alpha/run", 9);
    assert_int_equal(cursor_after_reload(f, other), GW_EINVAL);
}

/* A tool renamed by servers[].tools is matched by the backend's own name: the worker reports it
 * under its new one. */
static void test_renamed_tools(void **state)
{
    (void)state;
    static const char yaml[] = "servers:\n"
                               "  - name: beta\n"
                               "    url: http://127.0.0.1:3002/mcp\n"
                               "    prefix: b_\n"
                               "    tools: {rename: {read_logs: logs, write: put}}\n"
                               "policy:\n"
                               "  rules:\n"
                               "    - allow: [\"beta/read_*\", beta/put]\n";
    static const char report[] = "{\"server\":\"beta\",\"ok\":true,\"tools\":[{\"name\":\"logs\"},"
                                 "{\"name\":\"put\"},{\"name\":\"read_more\"}]}";
    gw_config_t *cfg = NULL;
    char err[256];
    assert_int_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)),
                     GW_OK);
    brk_catalog_t cat;
    assert_int_equal(brk_catalog_init(&cat, cfg), GW_OK);
    assert_int_equal(brk_catalog_apply_report(&cat, report, strlen(report), NULL), GW_OK);
    char got[128];
    keys(&cat, 1, GW_LIST_TOOLS, got, sizeof(got));
    /* logs is read_logs; put is write, which beta/put (its new name) does not name */
    assert_string_equal(got, "b_logs,b_read_more");
    brk_catalog_fini(&cat);
    gw_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_built_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_other_policy, setup, teardown),
        cmocka_unit_test(test_renamed_tools),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
