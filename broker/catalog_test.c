/* catalog_test.c: unit tests of the broker's catalog: two backends' lists merged under their
 * prefixes, collisions reported, fingerprints and generations that move only when a list changes,
 * paging, capabilities merged once per change. */
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
#include "common/log.h"
#include "common/mcp.h"

typedef struct fixture {
    gw_config_t *cfg;
    brk_catalog_t cat;
} fixture_t;

static int setup_with(void **state, const char *yaml)
{
    fixture_t *f = calloc(1, sizeof(*f));
    char err[512] = "";
    if (f == NULL ||
        gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &f->cfg, err, sizeof(err)) != GW_OK) {
        fprintf(stderr, "config: %s\n", err);
        free(f);
        return -1;
    }
    if (brk_catalog_init(&f->cat, f->cfg) != GW_OK) {
        gw_config_destroy(f->cfg);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int setup_prefixed(void **state)
{
    return setup_with(state, "servers:\n"
                             "  - name: alpha\n"
                             "    url: http://127.0.0.1:3001/mcp\n"
                             "    prefix: a_\n"
                             "  - name: beta\n"
                             "    url: http://127.0.0.1:3002/mcp\n"
                             "    prefix: b_\n");
}

static int setup_unprefixed(void **state)
{
    return setup_with(state, "servers:\n"
                             "  - name: alpha\n"
                             "    url: http://127.0.0.1:3001/mcp\n"
                             "  - name: beta\n"
                             "    url: http://127.0.0.1:3002/mcp\n");
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    brk_catalog_fini(&f->cat);
    gw_config_destroy(f->cfg);
    free(f);
    return 0;
}

static gw_err_t report(brk_catalog_t *cat, const char *json)
{
    return brk_catalog_apply_report(cat, json, strlen(json), NULL);
}

static void names_of(const brk_catalog_t *cat, unsigned s, gw_list_t l, char *out, size_t outlen);

/* The "name" of every item of one list, in order, joined by commas. */
static void names(const brk_catalog_t *cat, gw_list_t l, char *out, size_t outlen)
{
    names_of(cat, 0, l, out, outlen);
}

/* The same for the view of capability set s. */
static void names_of(const brk_catalog_t *cat, unsigned s, gw_list_t l, char *out, size_t outlen)
{
    const brk_view_t *v = brk_catalog_view(cat, s);
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < v->nmerged[l] && off < outlen; i++) {
        off +=
            (size_t)snprintf(out + off, outlen - off, "%s%s", i ? "," : "", v->merged[l][i]->key);
    }
}

static const char alpha_report[] =
    "{\"server\":\"alpha\",\"ok\":true,"
    "\"tools\":[{\"name\":\"echo\",\"description\":\"d\"},{\"name\":\"add\"}],"
    "\"prompts\":[{\"name\":\"greet\"}],"
    "\"resources\":[{\"uri\":\"file:///a.txt\",\"name\":\"a\"}]}";
static const char beta_report[] = "{\"server\":\"beta\",\"ok\":true,"
                                  "\"tools\":[{\"name\":\"echo\"}],"
                                  "\"resources\":[{\"uri\":\"file:///b.txt\",\"name\":\"b\"}]}";

static void test_merge_under_prefixes(void **state)
{
    fixture_t *f = *state;
    char got[256];
    assert_int_equal(brk_catalog_reported(&f->cat), 0);
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    assert_int_equal(brk_catalog_reported(&f->cat), 2);
    names(&f->cat, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,b_echo");
    names(&f->cat, GW_LIST_PROMPTS, got, sizeof(got));
    assert_string_equal(got, "a_greet");
    names(&f->cat, GW_LIST_RESOURCES, got, sizeof(got));
    assert_string_equal(got, "file:///a.txt,file:///b.txt"); /* URIs keep their own names */
    assert_int_equal(f->cat.views[0].collisions, 0);
    /* the client sees the prefixed name in the object too, the rest unchanged */
    assert_string_equal(f->cat.views[0].merged[GW_LIST_TOOLS][0]->json,
                        "{\"name\":\"a_echo\",\"description\":\"d\"}");
    assert_string_equal(
        f->cat.backends[f->cat.views[0].merged[GW_LIST_TOOLS][2]->server].conf->name, "beta");
    assert_non_null(brk_catalog_backend(&f->cat, "beta"));
    assert_null(brk_catalog_backend(&f->cat, "gamma"));
}

static void test_backend_down_leaves_the_list(void **state)
{
    fixture_t *f = *state;
    char got[256];
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    assert_int_equal(report(&f->cat, "{\"server\":\"alpha\",\"ok\":false,\"error\":\"refused\"}"),
                     GW_OK);
    assert_int_equal(f->cat.backends[0].state, BRK_BACKEND_DOWN);
    assert_string_equal(f->cat.backends[0].error, "refused");
    names(&f->cat, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "b_echo");
    assert_int_equal(brk_catalog_reported(&f->cat), 2);
    /* a report for a server the config does not have, or not JSON, is refused */
    assert_int_equal(report(&f->cat, "{\"server\":\"gamma\",\"ok\":true}"), GW_ENOTFOUND);
    assert_int_equal(report(&f->cat, "{\"server\":"), GW_EPARSE);
}

static void test_collisions_reported(void **state)
{
    fixture_t *f = *state;
    char got[256];
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    /* without prefixes both offer "echo": the earlier backend in the config keeps it */
    names(&f->cat, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "echo,add");
    assert_int_equal(f->cat.views[0].collisions, 1);
    assert_string_equal(
        f->cat.backends[f->cat.views[0].merged[GW_LIST_TOOLS][0]->server].conf->name, "alpha");
    /* the hidden item comes back when the one hiding it leaves */
    assert_int_equal(report(&f->cat, "{\"server\":\"alpha\",\"ok\":false}"), GW_OK);
    names(&f->cat, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "echo");
    assert_string_equal(
        f->cat.backends[f->cat.views[0].merged[GW_LIST_TOOLS][0]->server].conf->name, "beta");
    assert_int_equal(f->cat.views[0].collisions, 0);
}

static void test_fingerprints_move_only_on_change(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    uint64_t tools = brk_catalog_digest(&f->cat, 0, GW_LIST_TOOLS);
    uint64_t prompts = brk_catalog_digest(&f->cat, 0, GW_LIST_PROMPTS);
    uint64_t resources = brk_catalog_digest(&f->cat, 0, GW_LIST_RESOURCES);
    uint64_t generation = f->cat.generation;
    /* the same report again: the same generation, the same lists */
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_true(f->cat.generation == generation);
    assert_true(brk_catalog_digest(&f->cat, 0, GW_LIST_TOOLS) == tools);
    assert_true(brk_catalog_digest(&f->cat, 0, GW_LIST_PROMPTS) == prompts);
    assert_true(brk_catalog_digest(&f->cat, 0, GW_LIST_RESOURCES) == resources);
    /* beta adds tools and resources, no prompts */
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    assert_true(brk_catalog_digest(&f->cat, 0, GW_LIST_TOOLS) != tools);
    assert_true(brk_catalog_digest(&f->cat, 0, GW_LIST_PROMPTS) == prompts);
    assert_true(brk_catalog_digest(&f->cat, 0, GW_LIST_RESOURCES) != resources);
    /* a description that changes is a change of the list */
    tools = brk_catalog_digest(&f->cat, 0, GW_LIST_TOOLS);
    assert_int_equal(report(&f->cat, "{\"server\":\"beta\",\"ok\":true,"
                                     "\"tools\":[{\"name\":\"echo\",\"description\":\"new\"}],"
                                     "\"resources\":[{\"uri\":\"file:///b.txt\",\"name\":\"b\"}]}"),
                     GW_OK);
    assert_true(brk_catalog_digest(&f->cat, 0, GW_LIST_TOOLS) != tools);
}

/* One page of the tools list: its names joined by commas, and its nextCursor ("" when none). */
static gw_err_t page(const brk_catalog_t *cat, const char *cursor, size_t size, char *got,
                     size_t gotlen, char *next, size_t nextlen)
{
    gw_buf_t out;
    gw_buf_init(&out);
    gw_err_t err = brk_catalog_page(cat, 0, GW_LIST_TOOLS, cursor, size, &out);
    if (err != GW_OK) {
        gw_buf_fini(&out);
        return err;
    }
    char e[64];
    yajl_val v = gw_json_parse(out.data, out.len, e, sizeof(e));
    assert_non_null(v);
    yajl_val tools = gw_json_get(v, "tools");
    assert_true(YAJL_IS_ARRAY(tools));
    size_t off = 0;
    got[0] = '\0';
    for (size_t i = 0; i < YAJL_GET_ARRAY(tools)->len; i++) {
        const char *name = gw_json_get_string(YAJL_GET_ARRAY(tools)->values[i], "name");
        off += (size_t)snprintf(got + off, gotlen - off, "%s%s", i ? "," : "", name);
    }
    const char *c = gw_json_get_string(v, "nextCursor");
    snprintf(next, nextlen, "%s", c != NULL ? c : "");
    yajl_tree_free(v);
    gw_buf_fini(&out);
    return GW_OK;
}

static void test_paging(void **state)
{
    fixture_t *f = *state;
    char got[256];
    char next[64];
    char cursor[64];
    assert_int_equal(report(&f->cat,
                            "{\"server\":\"alpha\",\"ok\":true,\"tools\":[{\"name\":\"t1\"},"
                            "{\"name\":\"t2\"},{\"name\":\"t3\"}]}"),
                     GW_OK);
    assert_int_equal(report(&f->cat,
                            "{\"server\":\"beta\",\"ok\":true,\"tools\":[{\"name\":\"t4\"},"
                            "{\"name\":\"t5\"}]}"),
                     GW_OK);
    /* no page size: everything at once */
    assert_int_equal(page(&f->cat, NULL, 0, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_string_equal(got, "a_t1,a_t2,a_t3,b_t4,b_t5");
    assert_string_equal(next, "");
    /* pages of two across both backends */
    assert_int_equal(page(&f->cat, NULL, 2, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_string_equal(got, "a_t1,a_t2");
    assert_string_not_equal(next, "");
    snprintf(cursor, sizeof(cursor), "%s", next);
    assert_int_equal(page(&f->cat, cursor, 2, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_string_equal(got, "a_t3,b_t4");
    char second[64];
    snprintf(second, sizeof(second), "%s", cursor);
    snprintf(cursor, sizeof(cursor), "%s", next);
    assert_int_equal(page(&f->cat, cursor, 2, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_string_equal(got, "b_t5");
    assert_string_equal(next, "");
    /* forged cursors are refused */
    assert_int_equal(page(&f->cat, "zz", 2, got, sizeof(got), next, sizeof(next)), GW_EINVAL);
    assert_int_equal(page(&f->cat, "1.-1", 2, got, sizeof(got), next, sizeof(next)), GW_EINVAL);
    /* after any change the old cursors are stale: the client starts over */
    assert_int_equal(
        report(&f->cat, "{\"server\":\"beta\",\"ok\":true,\"tools\":[{\"name\":\"t4\"}]}"), GW_OK);
    assert_int_equal(page(&f->cat, second, 2, got, sizeof(got), next, sizeof(next)), GW_EINVAL);
}

/* Applies a report and returns what it changed (brk_change_t bits); the report must apply. */
static unsigned changes(brk_catalog_t *cat, const char *json)
{
    unsigned changed = 0xff;
    assert_int_equal(brk_catalog_apply_report(cat, json, strlen(json), &changed), GW_OK);
    return changed;
}

static void test_identical_report_keeps_the_generation(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(changes(&f->cat, alpha_report), BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_int_equal(changes(&f->cat, beta_report), BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    uint64_t generation = f->cat.generation;
    const brk_item_t *first = f->cat.views[0].merged[GW_LIST_TOOLS][0];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(changes(&f->cat, alpha_report), 0);
        assert_int_equal(changes(&f->cat, beta_report), 0);
    }
    assert_true(f->cat.generation == generation);
    /* nothing was rebuilt: the merged list is the one clients paged before */
    assert_ptr_equal(f->cat.views[0].merged[GW_LIST_TOOLS][0], first);
}

static void test_down_backend_reporting_again_keeps_the_generation(void **state)
{
    fixture_t *f = *state;
    static const char down[] = "{\"server\":\"alpha\",\"ok\":false,\"error\":\"refused\"}";
    assert_int_equal(changes(&f->cat, beta_report), BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    uint64_t generation = f->cat.generation;
    /* a backend that was never up going down changes nothing a client sees, nor the routes */
    assert_int_equal(changes(&f->cat, down), 0);
    assert_int_equal(f->cat.backends[0].state, BRK_BACKEND_DOWN);
    assert_int_equal(brk_catalog_reported(&f->cat), 2);
    /* and its worker retrying every 2 s, with the same reason or another, changes nothing */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(changes(&f->cat, down), 0);
    }
    assert_int_equal(
        changes(&f->cat, "{\"server\":\"alpha\",\"ok\":false,\"error\":\"timed out\"}"), 0);
    assert_string_equal(f->cat.backends[0].error, "timed out"); /* status shows the last one */
    assert_true(f->cat.generation == generation);
    /* up with its lists: a change; down again: a change; down once more: none */
    assert_int_equal(changes(&f->cat, alpha_report), BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_true(f->cat.generation != generation);
    generation = f->cat.generation;
    assert_int_equal(changes(&f->cat, down), BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_true(f->cat.generation != generation);
    generation = f->cat.generation;
    assert_int_equal(changes(&f->cat, down), 0);
    assert_true(f->cat.generation == generation);
}

static void test_real_change_moves_the_generation(void **state)
{
    fixture_t *f = *state;
    char got[256];
    char next[64];
    assert_int_equal(changes(&f->cat, alpha_report), BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_int_equal(page(&f->cat, NULL, 1, got, sizeof(got), next, sizeof(next)), GW_OK);
    uint64_t generation = f->cat.generation;
    /* a report that lists one tool more: a new generation, the old cursor is stale */
    assert_int_equal(changes(&f->cat,
                             "{\"server\":\"alpha\",\"ok\":true,"
                             "\"tools\":[{\"name\":\"echo\",\"description\":\"d\"},"
                             "{\"name\":\"add\"},{\"name\":\"more\"}],"
                             "\"prompts\":[{\"name\":\"greet\"}],"
                             "\"resources\":[{\"uri\":\"file:///a.txt\",\"name\":\"a\"}]}"),
                     BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_true(f->cat.generation != generation);
    assert_int_equal(page(&f->cat, next, 1, got, sizeof(got), next, sizeof(next)), GW_EINVAL);
    /* a capability that comes without a change of the lists: the routes move, the cursors not */
    generation = f->cat.generation;
    assert_int_equal(page(&f->cat, NULL, 1, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_int_equal(changes(&f->cat,
                             "{\"server\":\"alpha\",\"ok\":true,"
                             "\"capabilities\":{\"completions\":{}},"
                             "\"tools\":[{\"name\":\"echo\",\"description\":\"d\"},"
                             "{\"name\":\"add\"},{\"name\":\"more\"}],"
                             "\"prompts\":[{\"name\":\"greet\"}],"
                             "\"resources\":[{\"uri\":\"file:///a.txt\",\"name\":\"a\"}]}"),
                     BRK_CHANGED_ROUTES);
    assert_true(f->cat.generation == generation);
    assert_int_equal(page(&f->cat, next, 1, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_string_equal(got, "a_add");
    /* another list that changes (prompts) moves the generation, not the tools cursors */
    assert_int_equal(changes(&f->cat, "{\"server\":\"beta\",\"ok\":true,"
                                      "\"prompts\":[{\"name\":\"hello\"}]}"),
                     BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_true(f->cat.generation != generation);
    assert_int_equal(page(&f->cat, next, 1, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_string_equal(got, "a_more");
}

/* Without prefixes, the same tool from two backends: when the first goes, the second's is listed
 * alike (no new generation) but owned by another backend (new routes). */
static void test_owner_change_moves_only_the_routes(void **state)
{
    fixture_t *f = *state;
    static const char same[] = "{\"server\":\"%s\",\"ok\":true,\"tools\":[{\"name\":\"echo\"}]}";
    char r[128];
    snprintf(r, sizeof(r), same, "alpha");
    assert_int_equal(changes(&f->cat, r), BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    snprintf(r, sizeof(r), same, "beta");
    /* hidden by alpha's: the list is as it was; the routes say beta is up */
    assert_int_equal(changes(&f->cat, r), BRK_CHANGED_ROUTES);
    uint64_t generation = f->cat.generation;
    assert_int_equal(changes(&f->cat, "{\"server\":\"alpha\",\"ok\":false,\"error\":\"gone\"}"),
                     BRK_CHANGED_ROUTES);
    assert_true(f->cat.generation == generation);
    assert_string_equal(
        f->cat.backends[f->cat.views[0].merged[GW_LIST_TOOLS][0]->server].conf->name, "beta");
}

static void test_capabilities_merged_once(void **state)
{
    fixture_t *f = *state;
    /* before any report: the gateway's own */
    assert_string_equal(f->cat.capabilities, "{\"tools\":{\"listChanged\":true}}");
    /* alpha's object has a huge experimental member: it is read once and not kept */
    size_t pad = 1u << 20;
    char *big = malloc(pad + 512);
    assert_non_null(big);
    int n = snprintf(big, 512,
                     "{\"server\":\"alpha\",\"ok\":true,\"capabilities\":{\"tools\":{},"
                     "\"logging\":{},\"tasks\":{\"list\":{}},\"experimental\":{\"pad\":\"");
    memset(big + n, 'x', pad);
    snprintf(big + n + pad, 512, "\"}},\"tools\":[{\"name\":\"echo\"}]}");
    assert_int_equal(changes(&f->cat, big), BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_null(strstr(f->cat.capabilities, "experimental"));
    assert_string_equal(f->cat.capabilities, "{\"tools\":{\"listChanged\":true},\"logging\":{},"
                                             "\"tasks\":{\"list\":{}}}");
    const char *merged = f->cat.capabilities;
    /* the same report again: not merged again (the same text, not a copy) */
    assert_int_equal(changes(&f->cat, big), 0);
    assert_ptr_equal(f->cat.capabilities, merged);
    free(big);
    /* beta adds prompts, resources with subscribe, completions and its own tasks members */
    assert_int_equal(changes(&f->cat, "{\"server\":\"beta\",\"ok\":true,\"capabilities\":{"
                                      "\"prompts\":{},\"resources\":{\"subscribe\":true},"
                                      "\"completions\":{},\"tasks\":{\"cancel\":{}}},"
                                      "\"tools\":[{\"name\":\"echo\"}]}"),
                     BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_string_equal(f->cat.capabilities,
                        "{\"tools\":{\"listChanged\":true},\"prompts\":{\"listChanged\":true},"
                        "\"resources\":{\"listChanged\":true,\"subscribe\":true},\"logging\":{},"
                        "\"completions\":{},\"tasks\":{\"list\":{},\"cancel\":{}}}");
    /* server/discover's set, pushed with the routes: the same without tasks (an extension in
     * 2026-07-28, not offered there) */
    gw_buf_t routes;
    gw_buf_init(&routes);
    assert_int_equal(brk_catalog_routes(&f->cat, 1, &routes), GW_OK);
    assert_non_null(strstr(
        routes.data, "\"discover\":[{\"tools\":{\"listChanged\":true},\"prompts\":{"
                     "\"listChanged\":true},\"resources\":{\"listChanged\":true,\"subscribe\":"
                     "true},\"logging\":{},\"completions\":{}}]"));
    gw_buf_fini(&routes);
    assert_true(brk_catalog_offers(&f->cat, "prompts", 0));
    assert_false(brk_catalog_offers(&f->cat, "prompts", 1)); /* an endpoint this config lacks */
    /* beta down: what only it offered goes */
    assert_int_equal(changes(&f->cat, "{\"server\":\"beta\",\"ok\":false}"),
                     BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES);
    assert_string_equal(f->cat.capabilities, "{\"tools\":{\"listChanged\":true},\"logging\":{},"
                                             "\"tasks\":{\"list\":{}}}");
    assert_false(brk_catalog_offers(&f->cat, "prompts", 0));
}

/* Reload: a new catalog whose lists read as before keeps the generation (cursors stay valid). */
static void test_refresh_keeps_the_generation_of_the_same_lists(void **state)
{
    fixture_t *f = *state;
    brk_catalog_t next;
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    uint64_t generation = f->cat.generation;
    assert_int_equal(brk_catalog_init(&next, f->cfg), GW_OK);
    assert_int_equal(brk_catalog_adopt(&next, &f->cat, "alpha"), 1);
    assert_int_equal(brk_catalog_adopt(&next, &f->cat, "beta"), 1);
    assert_int_equal(brk_catalog_refresh(&next, &f->cat), GW_OK);
    assert_true(next.generation == generation);
    assert_string_equal(next.capabilities, f->cat.capabilities);
    brk_catalog_fini(&next);
    /* one backend fewer: a new generation */
    assert_int_equal(brk_catalog_init(&next, f->cfg), GW_OK);
    assert_int_equal(brk_catalog_refresh(&next, &f->cat), GW_OK);
    assert_true(next.generation == generation + 1);
    brk_catalog_fini(&next);
}

/* Reload: what a kept server's worker reported moves to the new catalog, and back again when the
 * new cycle cannot be completed (the running one is then as it was). */
static void test_adopt_and_back(void **state)
{
    fixture_t *f = *state;
    char got[256];
    static const char yaml[] = "servers:\n"
                               "  - name: beta\n"
                               "    url: http://127.0.0.1:3002/mcp\n"
                               "    prefix: b_\n"
                               "  - name: alpha\n"
                               "    url: http://127.0.0.1:3009/mcp\n"
                               "    prefix: a_\n";
    gw_config_t *cfg = NULL;
    char err[256];
    brk_catalog_t next;
    assert_int_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)),
                     GW_OK);
    assert_int_equal(brk_catalog_init(&next, cfg), GW_OK);
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    assert_int_equal(brk_catalog_adopt(&next, &f->cat, "alpha"), 0); /* its url changed */
    assert_int_equal(brk_catalog_adopt(&next, &f->cat, "beta"), 1);
    assert_int_equal(brk_catalog_refresh(&next, &f->cat), GW_OK);
    names(&next, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "b_echo");
    assert_int_equal(next.views[0].merged[GW_LIST_TOOLS][0]->server, 0);
    assert_int_equal(brk_catalog_adopt(&f->cat, &next, "beta"), 1);
    names(&f->cat, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,b_echo");
    assert_int_equal(f->cat.views[0].merged[GW_LIST_TOOLS][2]->server, 1);
    assert_int_equal(f->cat.backends[1].state, BRK_BACKEND_UP);
    brk_catalog_fini(&next);
    gw_config_destroy(cfg);
}

/* ---- capability sets ---- */

static const char alpha_sampling_report[] =
    "{\"server\":\"alpha\",\"caps\":1,\"ok\":true,"
    "\"tools\":[{\"name\":\"echo\",\"description\":\"d\"},{\"name\":\"add\"},"
    "{\"name\":\"sample_me\"}],"
    "\"prompts\":[{\"name\":\"greet\"}],"
    "\"resources\":[{\"uri\":\"file:///a.txt\",\"name\":\"a\"}]}";
/* beta lists the same for clients with sampling */
static const char beta_sampling_report[] =
    "{\"server\":\"beta\",\"caps\":1,\"ok\":true,"
    "\"tools\":[{\"name\":\"echo\"}],"
    "\"resources\":[{\"uri\":\"file:///b.txt\",\"name\":\"b\"}]}";

/* A session of another set sees the default set's lists until its backends reported that set,
 * then its own; the default set's sessions see nothing of it; a backend that lists the same for
 * both keeps one copy. */
static void test_set_sees_its_own_lists(void **state)
{
    fixture_t *f = *state;
    char got[256];
    unsigned changed = 0;
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    assert_int_equal(brk_catalog_activate(&f->cat, GW_CAP_SAMPLING, &changed), GW_OK);
    assert_true(changed & BRK_CHANGED_ROUTES);
    assert_false(brk_catalog_set_complete(&f->cat, GW_CAP_SAMPLING));
    assert_true(brk_catalog_set_complete(&f->cat, 0));
    names_of(&f->cat, GW_CAP_SAMPLING, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,b_echo"); /* nothing fetched for it yet */

    changed = changes(&f->cat, alpha_sampling_report);
    assert_true(changed & BRK_CHANGED_SET);
    assert_true(changed & BRK_CHANGED_LISTS);
    assert_false(brk_catalog_set_complete(&f->cat, GW_CAP_SAMPLING)); /* beta has not said */
    changed = changes(&f->cat, beta_sampling_report);
    assert_true(changed & BRK_CHANGED_SET);
    assert_false(changed & BRK_CHANGED_LISTS); /* beta's lists are the default's */
    assert_true(brk_catalog_set_complete(&f->cat, GW_CAP_SAMPLING));
    assert_null(f->cat.backends[1].sets[GW_CAP_SAMPLING]); /* shared, not copied */
    assert_non_null(f->cat.backends[0].sets[GW_CAP_SAMPLING]);

    names_of(&f->cat, GW_CAP_SAMPLING, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,a_sample_me,b_echo");
    names_of(&f->cat, 0, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,b_echo");
    /* a set not active yet is served the default's; sampling with roots, once active, has the
     * lists of sampling (the largest reported set with fewer capabilities) */
    names_of(&f->cat, GW_CAP_SAMPLING | GW_CAP_ROOTS, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,b_echo");
    assert_int_equal(brk_catalog_activate(&f->cat, GW_CAP_SAMPLING | GW_CAP_ROOTS, &changed),
                     GW_OK);
    names_of(&f->cat, GW_CAP_SAMPLING | GW_CAP_ROOTS, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,a_sample_me,b_echo");
    names_of(&f->cat, GW_CAP_ELICITATION, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,b_echo");

    /* the same report again moves nothing; a failure forgets the set's lists */
    assert_int_equal(changes(&f->cat, alpha_sampling_report), 0);
    changed = changes(&f->cat, "{\"server\":\"alpha\",\"caps\":1,\"ok\":false,"
                               "\"error\":\"boom\"}");
    assert_true(changed & BRK_CHANGED_LISTS);
    assert_int_equal(f->cat.backends[0].state, BRK_BACKEND_UP); /* only the default says down */
    names_of(&f->cat, GW_CAP_SAMPLING, GW_LIST_TOOLS, got, sizeof(got));
    assert_string_equal(got, "a_echo,a_add,b_echo");
    /* a report of a set that is not one is refused */
    static const char bad_set[] = "{\"server\":\"alpha\",\"caps\":8}";
    assert_int_equal(brk_catalog_apply_report(&f->cat, bad_set, strlen(bad_set), NULL), GW_EPARSE);
}

/* Pages and generations are per set: a change of one set's list leaves the cursors and the
 * fingerprint of the others as they were, and a cursor of one set is refused in another. */
static void test_set_pages_and_generations(void **state)
{
    fixture_t *f = *state;
    char got[256];
    char next[64];
    char next1[64];
    unsigned changed = 0;
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    assert_int_equal(brk_catalog_activate(&f->cat, GW_CAP_SAMPLING, &changed), GW_OK);
    changes(&f->cat, alpha_sampling_report);
    changes(&f->cat, beta_sampling_report);
    uint64_t tools0 = brk_catalog_digest(&f->cat, 0, GW_LIST_TOOLS);
    uint64_t tools1 = brk_catalog_digest(&f->cat, GW_CAP_SAMPLING, GW_LIST_TOOLS);
    assert_true(tools0 != tools1);

    assert_int_equal(page(&f->cat, NULL, 2, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_string_equal(got, "a_echo,a_add");
    gw_buf_t out;
    gw_buf_init(&out);
    assert_int_equal(brk_catalog_page(&f->cat, GW_CAP_SAMPLING, GW_LIST_TOOLS, NULL, 2, &out),
                     GW_OK);
    char e[64];
    yajl_val v = gw_json_parse(out.data, out.len, e, sizeof(e));
    snprintf(next1, sizeof(next1), "%s", gw_json_get_string(v, "nextCursor"));
    yajl_tree_free(v);
    gw_buf_reset(&out);
    assert_int_equal(brk_catalog_page(&f->cat, GW_CAP_SAMPLING, GW_LIST_TOOLS, next1, 2, &out),
                     GW_OK);
    assert_non_null(strstr(out.data, "a_sample_me"));
    assert_non_null(strstr(out.data, "b_echo"));
    gw_buf_reset(&out);
    /* a cursor of one set names no place in another's list */
    assert_int_equal(brk_catalog_page(&f->cat, 0, GW_LIST_TOOLS, next1, 2, &out), GW_EINVAL);
    gw_buf_reset(&out);

    /* the sampling list changes: the default set's cursor, fingerprint and list stay */
    changed =
        changes(&f->cat, "{\"server\":\"alpha\",\"caps\":1,\"ok\":true,"
                         "\"tools\":[{\"name\":\"echo\",\"description\":\"d\"},{\"name\":\"add\"},"
                         "{\"name\":\"sample_me\"},{\"name\":\"sample_more\"}],"
                         "\"prompts\":[{\"name\":\"greet\"}],"
                         "\"resources\":[{\"uri\":\"file:///a.txt\",\"name\":\"a\"}]}");
    assert_true(changed & BRK_CHANGED_LISTS);
    assert_true(brk_catalog_digest(&f->cat, 0, GW_LIST_TOOLS) == tools0);
    assert_true(brk_catalog_digest(&f->cat, GW_CAP_SAMPLING, GW_LIST_TOOLS) != tools1);
    assert_int_equal(page(&f->cat, next, 2, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_string_equal(got, "b_echo");
    assert_int_equal(brk_catalog_page(&f->cat, GW_CAP_SAMPLING, GW_LIST_TOOLS, next1, 2, &out),
                     GW_EINVAL); /* its own list changed */
    gw_buf_fini(&out);
}

/* A list that capability sets see differently is "private" to modern callers, every set's;
 * the sessions' cursors are not touched by that (modern cursors carry their scope: methods.c). */
static void test_scope_follows_the_sets(void **state)
{
    fixture_t *f = *state;
    char got[256];
    char next[64];
    unsigned changed = 0;
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    assert_false(brk_catalog_list_private(&f->cat, GW_LIST_TOOLS));
    assert_int_equal(page(&f->cat, NULL, 2, got, sizeof(got), next, sizeof(next)), GW_OK);
    assert_int_equal(brk_catalog_activate(&f->cat, GW_CAP_SAMPLING, &changed), GW_OK);
    /* active, but the same lists so far: still public */
    assert_false(brk_catalog_list_private(&f->cat, GW_LIST_TOOLS));

    changes(&f->cat, alpha_sampling_report); /* one more tool for sampling clients */
    assert_true(brk_catalog_list_private(&f->cat, GW_LIST_TOOLS));
    assert_false(brk_catalog_list_private(&f->cat, GW_LIST_PROMPTS));   /* the same for both */
    assert_false(brk_catalog_list_private(&f->cat, GW_LIST_RESOURCES)); /* likewise */
    /* the default set's list did not change: a session's cursor stays good */
    assert_int_equal(page(&f->cat, next, 2, got, sizeof(got), NULL, 0), GW_OK);
    assert_string_equal(got, "b_echo");

    /* the sets agree again: public again */
    changes(&f->cat, "{\"server\":\"alpha\",\"caps\":1,\"ok\":false,\"error\":\"boom\"}");
    assert_false(brk_catalog_list_private(&f->cat, GW_LIST_TOOLS));
}

/* Auth or a policy makes every list private: what one caller sees says nothing of another. */
static void test_scope_private_with_a_policy(void **state)
{
    fixture_t *f = *state;
    assert_true(brk_catalog_list_private(&f->cat, GW_LIST_TOOLS));
    assert_true(brk_catalog_list_private(&f->cat, GW_LIST_TEMPLATES));
}

static int setup_policy(void **state)
{
    return setup_with(state, "servers:\n"
                             "  - name: alpha\n"
                             "    url: http://127.0.0.1:3001/mcp\n"
                             "    prefix: a_\n"
                             "policy:\n"
                             "  rules:\n"
                             "    - allow: [\"alpha/*\"]\n");
}

/* The routing table routes every name of the active sets and says which sets do not list one. */
static void test_routes_name_absent_sets(void **state)
{
    fixture_t *f = *state;
    unsigned changed = 0;
    assert_int_equal(report(&f->cat, alpha_report), GW_OK);
    assert_int_equal(report(&f->cat, beta_report), GW_OK);
    gw_buf_t out;
    gw_buf_init(&out);
    assert_int_equal(brk_catalog_routes(&f->cat, 1, &out), GW_OK);
    assert_null(strstr(out.data, "sample_me"));
    assert_non_null(strstr(out.data, "\"absent\":{\"tools\":{},\"prompts\":{}}"));
    assert_int_equal(brk_catalog_activate(&f->cat, GW_CAP_SAMPLING, &changed), GW_OK);
    changes(&f->cat, alpha_sampling_report);
    gw_buf_reset(&out);
    assert_int_equal(brk_catalog_routes(&f->cat, 2, &out), GW_OK);
    char e[64];
    yajl_val v = gw_json_parse(out.data, out.len, e, sizeof(e));
    assert_non_null(v);
    yajl_val owner = gw_json_get(gw_json_get(v, "tools"), "a_sample_me");
    assert_true(YAJL_IS_INTEGER(owner) && YAJL_GET_INTEGER(owner) == 0);
    yajl_val absent = gw_json_get(gw_json_get(gw_json_get(v, "absent"), "tools"), "a_sample_me");
    assert_true(YAJL_IS_INTEGER(absent) && YAJL_GET_INTEGER(absent) == 1); /* set 0 only */
    assert_null(gw_json_get(gw_json_get(gw_json_get(v, "absent"), "tools"), "a_echo"));
    yajl_tree_free(v);
    gw_buf_fini(&out);
}

int main(void)
{
    gw_log_threshold = GW_LOG_ERR; /* quiet about the collisions the tests make on purpose */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge_under_prefixes, setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_set_sees_its_own_lists, setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_set_pages_and_generations, setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_routes_name_absent_sets, setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_scope_follows_the_sets, setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_scope_private_with_a_policy, setup_policy, teardown),
        cmocka_unit_test_setup_teardown(test_backend_down_leaves_the_list, setup_prefixed,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_collisions_reported, setup_unprefixed, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprints_move_only_on_change, setup_prefixed,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_and_back, setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_identical_report_keeps_the_generation, setup_prefixed,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_down_backend_reporting_again_keeps_the_generation,
                                        setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_real_change_moves_the_generation, setup_prefixed,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_owner_change_moves_only_the_routes, setup_unprefixed,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_capabilities_merged_once, setup_prefixed, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_keeps_the_generation_of_the_same_lists,
                                        setup_prefixed, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
