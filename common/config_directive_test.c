/* config_directive_test.c: unit tests of the directive tables of mcpgw.yaml: every default, and
 * every number of every table at its bounds. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/config_sample.h"
#include "common/config_int.h"
#include "common/log.h"

/* Every default, written out here once more on purpose: a row of the directive tables that
 * changes a default shows up as a failure. */
static void test_every_default(void **state)
{
    gw_config_t *c = config_parse_ok("servers:\n  - name: a\n    url: http://a/\n");
    assert_int_equal(c->nlisten, 1);
    assert_string_equal(c->listen[0].address, "127.0.0.1");
    assert_int_equal(c->listen[0].port, 8080);
    assert_string_equal(c->mcp_path, "/mcp");
    assert_string_equal(c->runtime_dir, "/run/mcpgw");
    assert_true(c->routers >= 1 && c->routers <= 64);
    assert_int_equal(c->max_request_body, 1u << 20);
    assert_int_equal(c->page_size, 100);
    assert_int_equal(c->max_header_size, 16u << 10);
    assert_int_equal(c->max_response_body, 8u << 20);
    assert_int_equal(c->max_sessions, 100000);
    assert_int_equal(c->max_sessions_per_client, 10000);
    assert_int_equal(c->client_timeout_ms, 10000);
    assert_int_equal(c->max_concurrent_requests_per_session, 64);
    assert_int_equal(c->max_waiting_calls, 1024);
    assert_int_equal(c->max_pooled_sessions, 1024);
    assert_int_equal(c->upstream_idle_ms, 300000);
    assert_int_equal(c->input_wait_s, 300);
    assert_int_equal(c->max_request_state, 64u << 10);
    assert_string_equal(c->key_file, "/var/lib/mcpgw/session.key");
    assert_int_equal(c->session_ttl_s, 86400);
    assert_int_equal(c->stream_replay, 64);
    assert_int_equal(c->session_idle_ms, 3600000);
    assert_string_equal(c->control_socket, "/run/mcpgw/control.ipc");
    assert_int_equal(c->control_mode, 0660);
    assert_string_equal(c->control_group, "mcpgw");
    assert_int_equal(c->control_group_set, 0);
    assert_int_equal(c->log_level, GW_LOG_INFO);
    assert_int_equal(c->log_json, 0);
    assert_int_equal(c->nallowed_hosts, 0);
    assert_null(c->allowed_hosts);
    assert_int_equal(c->nallowed_origins, 0);
    assert_null(c->allowed_origins);
    assert_int_equal(c->sse_heartbeat_ms, 15000);
    assert_int_equal(c->admin_enabled, 1);
    assert_string_equal(c->admin_address, "127.0.0.1");
    assert_int_equal(c->admin_port, 9090);
    assert_int_equal(c->ready_min_backends, 1);
    assert_int_equal(c->nservers, 1);
    const gw_server_conf_t *a = &c->servers[0];
    assert_string_equal(a->prefix, "");
    assert_int_equal(a->nheaders, 0);
    assert_null(a->headers);
    assert_int_equal(a->timeout_ms, 30000);
    assert_int_equal(a->health_interval_ms, 10000);
    assert_int_equal(a->max_connections, 32);
    assert_int_equal(a->workers, 1);
    assert_int_equal(a->ntool_timeouts, 0);
    assert_null(a->tool_timeouts);
    gw_config_destroy(c);
}

/* Where a row of the tables is tried: the YAML around "KEY: VALUE" (the line it is on, the key
 * path of the messages) and the object its field is in. */
typedef struct row_place {
    const char *section; /* NULL: the top level */
    int entry;           /* 1: listen[0], 2: servers[0] */
} row_place_t;

static void row_yaml(char *yaml, size_t len, const row_place_t *at, const gw_config_directive_t *d,
                     const char *value, unsigned *line, char *path)
{
    if (at->entry == 1) {
        /* The key under test comes first (line 2); the other required key after it. */
        snprintf(yaml, len, "listen:\n  - %s: %s\n%s", d->key, value,
                 strcmp(d->key, "address") == 0 ? "    port: 1\n" : "    address: 127.0.0.1\n");
        snprintf(path, GW_CONFIG_KEY_PATH_MAX, "listen[0].%s", d->key);
        *line = 2;
    } else if (at->entry == 2) {
        snprintf(yaml, len, "servers:\n  - %s: %s\n    name: a\n    url: http://a/\n", d->key,
                 value);
        snprintf(path, GW_CONFIG_KEY_PATH_MAX, "servers[0].%s", d->key);
        *line = 2;
    } else if (at->section != NULL) {
        /* auth's required keys after the one under test */
        int auth = strcmp(at->section, "auth") == 0;
        snprintf(
            yaml, len, "%s:\n  %s: %s\n%s", at->section, d->key, value,
            auth ? "  resource: https://a/mcp\n  issuers: [{issuer: https://a, jwks_file: /a}]\n"
                 : "");
        snprintf(path, GW_CONFIG_KEY_PATH_MAX, "%s.%s", at->section, d->key);
        *line = 2;
    } else {
        snprintf(yaml, len, "%s: %s\n", d->key, value);
        snprintf(path, GW_CONFIG_KEY_PATH_MAX, "%s", d->key);
        *line = 1;
    }
}

/* v as the file writes it (ms for durations) into text. */
static void row_number(char *text, size_t len, const gw_config_directive_t *d, uint64_t v)
{
    int ms = d->type == GW_CONFIG_DURATION || d->type == GW_CONFIG_SECONDS;
    snprintf(text, len, "%llu%s", (unsigned long long)v, ms ? "ms" : "");
}

/* The value of d's field once v was read. */
static void expect_row_value(const row_place_t *at, const gw_config_directive_t *d, uint64_t v)
{
    char text[32];
    char yaml[256];
    char path[GW_CONFIG_KEY_PATH_MAX];
    unsigned line;
    row_number(text, sizeof(text), d, v);
    row_yaml(yaml, sizeof(yaml), at, d, text, &line, path);
    gw_config_t *c = config_parse_ok(yaml);
    const char *obj = at->entry == 1   ? (const char *)&c->listen[0]
                      : at->entry == 2 ? (const char *)&c->servers[0]
                                       : (const char *)c;
    uint64_t got;
    switch (d->type) {
    case GW_CONFIG_UINT:
        got = *(const unsigned *)(const void *)(obj + d->offset);
        break;
    case GW_CONFIG_PORT:
        got = *(const uint16_t *)(const void *)(obj + d->offset);
        break;
    default:
        got = *(const uint64_t *)(const void *)(obj + d->offset);
        break;
    }
    uint64_t want = d->type == GW_CONFIG_SECONDS ? v / 1000 : v;
    if (got != want) {
        fail_msg("%s: %s read as %llu", path, text, (unsigned long long)got);
    }
    gw_config_destroy(c);
}

/* v is refused with d's message for a value out of range. */
static void expect_row_refused(const row_place_t *at, const gw_config_directive_t *d, uint64_t v)
{
    char text[32];
    char yaml[256];
    char path[GW_CONFIG_KEY_PATH_MAX];
    char want[512];
    unsigned line;
    row_number(text, sizeof(text), d, v);
    row_yaml(yaml, sizeof(yaml), at, d, text, &line, path);
    snprintf(want, sizeof(want), "mcpgw.yaml:%u: %s: %s", line, path,
             d->range_msg != NULL ? d->range_msg : d->msg);
    config_expect_error(yaml, want);
}

/* Every number of every table: its min and max are read as written, one below min and one above
 * max are refused with the row's message, and 0 is taken where the row says it means off. */
static void check_rows(const row_place_t *at, const gw_config_directive_t *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const gw_config_directive_t *d = &table[i];
        if (d->type == GW_CONFIG_SECTION) {
            row_place_t sub = {.section = d->key};
            check_rows(&sub, d->sub, d->nsub);
            continue;
        }
        if (d->set != NULL ||
            (d->type != GW_CONFIG_UINT && d->type != GW_CONFIG_PORT && d->type != GW_CONFIG_SIZE &&
             d->type != GW_CONFIG_DURATION && d->type != GW_CONFIG_SECONDS)) {
            continue; /* their own parsing: tested by name above */
        }
        assert_non_null(d->msg);
        assert_true(d->min <= d->max);
        expect_row_value(at, d, d->min);
        expect_row_value(at, d, d->max);
        if (d->max < UINT64_MAX) {
            expect_row_refused(at, d, d->max + 1);
        }
        if (d->zero_ok) {
            expect_row_value(at, d, 0);
        }
        if (d->min > (d->zero_ok ? 1u : 0u)) {
            expect_row_refused(at, d, d->min - 1);
        }
    }
}

static void test_directive_bounds(void **state)
{
    row_place_t top = {0};
    row_place_t listen = {.entry = 1};
    row_place_t server = {.entry = 2};
    check_rows(&top, gw_config_top_directives, gw_config_ntop_directives);
    check_rows(&listen, gw_config_listen_directives, gw_config_nlisten_directives);
    check_rows(&server, gw_config_server_directives, gw_config_nserver_directives);
}

/* servers[].workers as a user reads it: the message names the key, its line and the range. */
static void test_server_workers(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok("servers:\n  - name: a\n    url: http://a/\n    workers: 3\n");
    assert_int_equal(c->servers[0].workers, 3);
    gw_config_destroy(c);
    config_expect_error("servers:\n  - name: a\n    url: http://a/\n    workers: 0\n",
                        "mcpgw.yaml:4: servers[0].workers: must be a number of worker processes "
                        "from 1 to 64");
    config_expect_error("servers:\n  - name: a\n    url: http://a/\n    workers: many\n",
                        "mcpgw.yaml:4: servers[0].workers: must be a number of worker processes "
                        "from 1 to 64");
    /* 4 x 64 = 256 worker processes in all: one past what the outboxes hold */
    char yaml[512] = "servers:\n";
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(yaml);
        snprintf(yaml + n, sizeof(yaml) - n, "  - name: s%d\n    url: http://a/\n    workers: 64\n",
                 i);
    }
    config_expect_error(yaml, "mcpgw.yaml:13: servers[3].workers: more than 255 worker processes "
                              "in all (the sum of every server's workers: routers and the broker "
                              "connect to each)");
}

/* The defaults of the tables are what a file without the key gets. */
static void test_directive_defaults_applied(void **state)
{
    gw_config_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    assert_int_equal(gw_config_defaults(gw_config_top_directives, gw_config_ntop_directives, c),
                     GW_OK);
    gw_config_t *parsed = config_parse_ok("servers: []\n");
    assert_int_equal(c->max_request_body, parsed->max_request_body);
    assert_int_equal(c->session_ttl_s, parsed->session_ttl_s);
    assert_int_equal(c->admin_port, parsed->admin_port);
    assert_int_equal(c->control_mode, parsed->control_mode);
    assert_int_equal(c->log_level, parsed->log_level);
    assert_string_equal(c->admin_address, parsed->admin_address);
    assert_string_equal(c->control_group, parsed->control_group);
    assert_null(c->control_socket); /* follows runtime_dir, once the file was read */
    gw_config_destroy(parsed);
    gw_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_default),
        cmocka_unit_test(test_directive_bounds),
        cmocka_unit_test(test_directive_defaults_applied),
        cmocka_unit_test(test_server_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
