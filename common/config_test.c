/* config_test.c: unit tests of the mcpgw.yaml loader, its messages and its size/duration parsers.
 */
#include <config.h>

#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/config_sample.h"
#include "common/log.h"

static const char full_yaml[] = "listen:\n"
                                "  - address: 127.0.0.1\n"
                                "    port: 8080\n"
                                "  - address: \"::1\"\n"
                                "    port: 0\n"
                                "mcp_path: /gw/mcp\n"
                                "runtime_dir: /tmp/mcpgw-test   # ipc sockets\n"
                                "routers: 2\n"
                                "limits:\n"
                                "  max_request_body: 512KiB\n"
                                "sessions:\n"
                                "  key_file: /etc/mcpgw/session.key\n"
                                "  ttl: 1h30m\n"
                                "control:\n"
                                "  socket: /tmp/ctl.ipc\n"
                                "log:\n"
                                "  level: debug\n"
                                "servers:\n"
                                "  - name: alpha\n"
                                "    url: http://127.0.0.1:3001/mcp\n"
                                "    prefix: alpha_\n"
                                "    headers:\n"
                                "      Authorization: Bearer not-the-clients-token\n"
                                "      X-Api-Key: \"k\"\n"
                                "    timeout: 1500ms\n"
                                "  - name: beta-2\n"
                                "    url: https://[::1]:8443/mcp\n";

static void test_full_config(void **state)
{
    gw_config_t *c = config_parse_ok(full_yaml);
    assert_string_equal(c->path, "mcpgw.yaml");
    assert_int_equal(c->nlisten, 2);
    assert_string_equal(c->listen[0].address, "127.0.0.1");
    assert_int_equal(c->listen[0].port, 8080);
    assert_string_equal(c->listen[1].address, "::1");
    assert_int_equal(c->listen[1].port, 0);
    assert_string_equal(c->mcp_path, "/gw/mcp");
    assert_string_equal(c->runtime_dir, "/tmp/mcpgw-test");
    assert_int_equal(c->routers, 2);
    assert_int_equal(c->max_request_body, 512 * 1024);
    assert_string_equal(c->key_file, "/etc/mcpgw/session.key");
    assert_int_equal(c->session_ttl_s, 5400);
    assert_string_equal(c->control_socket, "/tmp/ctl.ipc");
    assert_int_equal(c->log_level, GW_LOG_DEBUG);
    assert_int_equal(c->nservers, 2);

    const gw_server_conf_t *a = gw_config_server(c, "alpha");
    assert_ptr_equal(a, &c->servers[0]);
    assert_string_equal(a->url, "http://127.0.0.1:3001/mcp");
    assert_string_equal(a->prefix, "alpha_");
    assert_int_equal(a->nheaders, 2);
    assert_string_equal(a->headers[0].name, "Authorization");
    assert_string_equal(a->headers[0].value, "Bearer not-the-clients-token");
    assert_string_equal(a->headers[1].name, "X-Api-Key");
    assert_string_equal(a->headers[1].value, "k");
    assert_int_equal(a->timeout_ms, 1500);

    const gw_server_conf_t *b = gw_config_server(c, "beta-2");
    assert_non_null(b);
    assert_string_equal(b->url, "https://[::1]:8443/mcp");
    assert_string_equal(b->prefix, "");
    assert_int_equal(b->nheaders, 0);
    assert_null(b->headers);
    assert_int_equal(b->timeout_ms, 30000);
    assert_null(gw_config_server(c, "gamma"));
    gw_config_destroy(c);
}

/* The example of the design brief, verbatim. */
static void test_brief_example(void **state)
{
    gw_config_t *c = config_parse_ok(
        "listen:\n"
        "  - address: 127.0.0.1\n"
        "    port: 8080\n"
        "mcp_path: /mcp\n"
        "runtime_dir: /run/mcpgw            # ipc sockets; tests use a temp dir\n"
        "routers: 2                         # default: number of CPUs\n"
        "limits:\n"
        "  max_request_body: 1MiB\n"
        "sessions:\n"
        "  key_file: /var/lib/mcpgw/session.key   # created with mode 0600 when missing\n"
        "  ttl: 24h\n"
        "servers:\n"
        "  - name: alpha\n"
        "    url: http://127.0.0.1:3001/mcp\n"
        "    prefix: alpha_                 # may be empty\n"
        "    headers:                       # sent to this backend only\n"
        "      Authorization: Bearer not-the-clients-token\n"
        "    timeout: 30s\n");
    assert_int_equal(c->nservers, 1);
    assert_string_equal(c->servers[0].headers[0].value, "Bearer not-the-clients-token");
    assert_int_equal(c->servers[0].timeout_ms, 30000);
    assert_int_equal(c->max_request_body, 1 << 20);
    gw_config_destroy(c);
}

static void test_defaults(void **state)
{
    /* One harmless key: an empty file is an error of its own. */
    gw_config_t *c = config_parse_ok("servers: []\n");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = cpus < 1 ? 1 : cpus > 64 ? 64 : (unsigned)cpus;

    assert_int_equal(c->nlisten, 1);
    assert_string_equal(c->listen[0].address, "127.0.0.1");
    assert_int_equal(c->listen[0].port, 8080);
    assert_string_equal(c->mcp_path, "/mcp");
    assert_string_equal(c->runtime_dir, "/run/mcpgw");
    assert_int_equal(c->routers, want);
    assert_int_equal(c->max_request_body, 1024 * 1024);
    assert_string_equal(c->key_file, "/var/lib/mcpgw/session.key");
    assert_int_equal(c->session_ttl_s, 24 * 3600);
    assert_int_equal(c->stream_replay, 64);
    assert_int_equal(c->sse_heartbeat_ms, 15000);
    assert_string_equal(c->control_socket, "/run/mcpgw/control.ipc");
    assert_int_equal(c->log_level, GW_LOG_INFO);
    assert_int_equal(c->max_concurrent_requests_per_session, 64);
    assert_int_equal(c->session_idle_ms, 3600 * 1000);
    assert_int_equal(c->nservers, 0);
    assert_null(c->servers);
    gw_config_destroy(c);
}

static void test_control_socket_follows_runtime_dir(void **state)
{
    gw_config_t *c = config_parse_ok("runtime_dir: /tmp/x\nservers:\n");
    assert_string_equal(c->control_socket, "/tmp/x/control.ipc");
    assert_int_equal(c->nservers, 0);
    gw_config_destroy(c);
}

static void test_control_permissions(void **state)
{
    /* The default group may be missing (a build tree): then -1, the broker's own group. */
    gw_config_t *c = config_parse_ok("servers: []\n");
    struct group *g = getgrnam("mcpgw");
    assert_int_equal(c->control_mode, 0660);
    assert_string_equal(c->control_group, "mcpgw");
    assert_int_equal(c->control_group_set, 0);
    assert_int_equal(c->control_gid, g != NULL ? (int64_t)g->gr_gid : -1);
    gw_config_destroy(c);

    c = config_parse_ok("control:\n  mode: 0640\n  group: root\n");
    assert_int_equal(c->control_mode, 0640);
    assert_string_equal(c->control_group, "root");
    assert_int_equal(c->control_group_set, 1);
    assert_int_equal(c->control_gid, 0);
    gw_config_destroy(c);

    /* quoted or not, with or without the leading 0; a number is a gid as it is */
    c = config_parse_ok("control:\n  mode: \"600\"\n  group: 4242\n");
    assert_int_equal(c->control_mode, 0600);
    assert_int_equal(c->control_gid, 4242);
    assert_string_equal(c->control_group, "4242");
    gw_config_destroy(c);
}

static void test_err_control_permissions(void **state)
{
    const char *want = "must be an octal mode from 0001 to 0777, such as 0660";
    char msg[160];
    static const char *const bad_modes[] = {"0680", "999", "01777", "0000", "rw-rw----", "\"\""};
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        char yaml[96];
        snprintf(yaml, sizeof(yaml), "servers: []\ncontrol:\n  mode: %s\n", bad_modes[i]);
        snprintf(msg, sizeof(msg), "mcpgw.yaml:3: control.mode: %s", want);
        config_expect_error(yaml, msg);
    }
    config_expect_error("control:\n  group: no-such-group-mcpgw-test\n",
                        "mcpgw.yaml:2: control.group: no such group: no-such-group-mcpgw-test");
    config_expect_error("control:\n  group: \"\"\n",
                        "mcpgw.yaml:2: control.group: must not be empty");
    config_expect_error("control:\n  group: 99999999999\n",
                        "mcpgw.yaml:2: control.group: no such group: 99999999999");
}

static void test_server_defaults_and_empty_prefixes(void **state)
{
    /* Several servers may share the empty prefix; tool collisions are checked at runtime. */
    gw_config_t *c = config_parse_ok("servers:\n"
                                     "  - name: a\n"
                                     "    url: http://h1/mcp\n"
                                     "  - name: b\n"
                                     "    url: HTTPS://h2\n"
                                     "    prefix: \"\"\n"
                                     "    headers:\n"
                                     "  - name: c\n"
                                     "    url: http://h3:1/\n"
                                     "    prefix:\n");
    assert_int_equal(c->nservers, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(c->servers[i].prefix, "");
        assert_int_equal(c->servers[i].timeout_ms, 30000);
        assert_int_equal(c->servers[i].nheaders, 0);
    }
    gw_config_destroy(c);
}

static void test_levels_and_sizes_accepted(void **state)
{
    gw_config_t *c = config_parse_ok("log:\n  level: warn\nlimits:\n  max_request_body: 1KiB\n"
                                     "routers: 64\nsessions:\n  ttl: 1\n");
    assert_int_equal(c->log_level, GW_LOG_WARNING);
    assert_int_equal(c->max_request_body, 1024);
    assert_int_equal(c->routers, 64);
    assert_int_equal(c->session_ttl_s, 1);
    gw_config_destroy(c);
    c = config_parse_ok("http:\n  sse_heartbeat: 0\nsessions:\n  stream_replay: 0\n");
    assert_int_equal(c->sse_heartbeat_ms, 0);
    assert_int_equal(c->stream_replay, 0);
    gw_config_destroy(c);
    c = config_parse_ok("http:\n  sse_heartbeat: 250ms\nsessions:\n  stream_replay: 1000\n");
    assert_int_equal(c->sse_heartbeat_ms, 250);
    assert_int_equal(c->stream_replay, 1000);
    gw_config_destroy(c);
    config_expect_error(
        "http:\n  sse_heartbeat: 5ms\n",
        "mcpgw.yaml:2: http.sse_heartbeat: must be 0 (never) or a duration from 100ms to "
        "1h");
    config_expect_error(
        "sessions:\n  stream_replay: lots\n",
        "mcpgw.yaml:2: sessions.stream_replay: must be a number of events from 0 (no "
        "replay) to 100000");
    c = config_parse_ok("log:\n  level: error\nlimits:\n  max_request_body: 64MiB\n");
    assert_int_equal(c->log_level, GW_LOG_ERR);
    assert_int_equal(c->max_request_body, 64u << 20);
    gw_config_destroy(c);
}

static void test_session_limits(void **state)
{
    gw_config_t *c = config_parse_ok("limits:\n  max_concurrent_requests_per_session: 3\n"
                                     "sessions:\n  idle_timeout: 2s\n");
    assert_int_equal(c->max_concurrent_requests_per_session, 3);
    assert_int_equal(c->session_idle_ms, 2000);
    gw_config_destroy(c);
    c = config_parse_ok("limits:\n  max_concurrent_requests_per_session: 0\n"
                        "sessions:\n  idle_timeout: 0\n");
    assert_int_equal(c->max_concurrent_requests_per_session, 0);
    assert_int_equal(c->session_idle_ms, 0);
    gw_config_destroy(c);
    c = config_parse_ok("sessions:\n  idle_timeout: 1h30m\n");
    assert_int_equal(c->session_idle_ms, 5400 * 1000);
    gw_config_destroy(c);
}

static void test_err_session_limits(void **state)
{
    config_expect_error(
        "limits:\n  max_concurrent_requests_per_session: -1\n",
        "mcpgw.yaml:2: limits.max_concurrent_requests_per_session: must be a number "
        "from 0 (no limit) to 10000000");
    config_expect_error(
        "limits:\n  max_concurrent_requests_per_session: [1]\n",
        "mcpgw.yaml:2: limits.max_concurrent_requests_per_session: must be a number "
        "from 0 (no limit) to 10000000");
    config_expect_error(
        "sessions:\n  ttl: 1h\n  idle_timeout: soon\n",
        "mcpgw.yaml:3: sessions.idle_timeout: not a duration (e.g. 30m, 1h; 0 never ends "
        "an idle session)");
    config_expect_error("sessions:\n  idle_timeout: 500ms\n",
                        "mcpgw.yaml:2: sessions.idle_timeout: must be 0 (never) or at least 1s");
}

static void test_tool_timeouts(void **state)
{
    gw_config_t *c = config_parse_ok("servers:\n"
                                     "  - name: a\n"
                                     "    url: http://a/\n"
                                     "    timeout: 20s\n"
                                     "    tool_timeouts:\n"
                                     "      slow_report: 5m\n"
                                     "      quick: 250ms\n"
                                     "      \"ns.tool-2\": 1h\n"
                                     "  - name: b\n"
                                     "    url: http://b/\n"
                                     "    tool_timeouts:\n");
    const gw_server_conf_t *a = &c->servers[0];
    assert_int_equal(a->ntool_timeouts, 3);
    assert_string_equal(a->tool_timeouts[0].tool, "slow_report");
    assert_int_equal(a->tool_timeouts[0].timeout_ms, 300000);
    assert_string_equal(a->tool_timeouts[1].tool, "quick");
    assert_int_equal(a->tool_timeouts[1].timeout_ms, 250);
    assert_int_equal(gw_server_tool_timeout_ms(a, "slow_report", 11), 300000);
    assert_int_equal(gw_server_tool_timeout_ms(a, "quick", 5), 250);
    assert_int_equal(gw_server_tool_timeout_ms(a, "ns.tool-2", 9), 3600000);
    /* anything else, a prefix of a name included, has the server's timeout */
    assert_int_equal(gw_server_tool_timeout_ms(a, "slow", 4), 20000);
    assert_int_equal(gw_server_tool_timeout_ms(a, "quick_", 6), 20000);
    assert_int_equal(gw_server_tool_timeout_ms(a, "", 0), 20000);
    const gw_server_conf_t *b = &c->servers[1];
    assert_int_equal(b->ntool_timeouts, 0);
    assert_int_equal(gw_server_tool_timeout_ms(b, "quick", 5), 30000);
    gw_config_destroy(c);
}

static void test_err_tool_timeouts(void **state)
{
    static const char head[] = "servers:\n  - name: a\n    url: http://a/\n    tool_timeouts:\n";
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "%s      ok: 1s\n      slow_report: 5 minutes\n", head);
    config_expect_error(yaml,
                        "mcpgw.yaml:6: servers[0].tool_timeouts.slow_report: not a duration (e.g. "
                        "250ms, 30s, 5m)");
    snprintf(yaml, sizeof(yaml), "%s      slow_report: 0s\n", head);
    config_expect_error(
        yaml, "mcpgw.yaml:5: servers[0].tool_timeouts.slow_report: must be greater than 0");
    snprintf(yaml, sizeof(yaml), "%s      x: 1s\n      \"x\": 2s\n", head);
    config_expect_error(yaml, "mcpgw.yaml:6: servers[0].tool_timeouts.x: duplicate tool");
    snprintf(yaml, sizeof(yaml), "%s      \"\": 2s\n", head);
    config_expect_error(
        yaml, "mcpgw.yaml:5: servers[0].tool_timeouts: a tool name is 1 to 128 characters");
    snprintf(yaml, sizeof(yaml), "%s      \"a b\": 2s\n", head);
    config_expect_error(yaml,
                        "mcpgw.yaml:5: servers[0].tool_timeouts.a b: a tool name has no spaces or "
                        "control characters");
    snprintf(yaml, sizeof(yaml), "%s      - slow: 1s\n", head);
    config_expect_error(yaml,
                        "mcpgw.yaml:5: servers[0].tool_timeouts: expected a mapping of tool names "
                        "to durations");
    snprintf(yaml, sizeof(yaml), "%s      x: {a: 1}\n", head);
    config_expect_error(
        yaml, "mcpgw.yaml:5: servers[0].tool_timeouts.x: not a duration (e.g. 250ms, 30s, "
              "5m)");
    char name[200];
    memset(name, 'n', 129);
    name[129] = '\0';
    snprintf(yaml, sizeof(yaml), "%s      %s: 1s\n", head, name);
    gw_config_t *c = NULL;
    char err[512] = "";
    assert_int_not_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                         GW_OK);
    assert_non_null(strstr(err, "a tool name is 1 to 128 characters"));
    name[128] = '\0'; /* 128 is fine */
    snprintf(yaml, sizeof(yaml), "%s      %s: 1s\n", head, name);
    c = config_parse_ok(yaml);
    assert_int_equal(gw_server_tool_timeout_ms(&c->servers[0], name, 128), 1000);
    gw_config_destroy(c);
}

static void test_err_bad_url_line(void **state)
{
    config_expect_error("servers:\n"
                        "  - name: alpha\n"
                        "    url: http://127.0.0.1:3001/mcp\n"
                        "  - name: beta\n"
                        "    # a comment line\n"
                        "    url: ftp://example.com/mcp\n",
                        "mcpgw.yaml:6: servers[1].url: not an http(s) URL");
}

static void test_err_url_without_host(void **state)
{
    config_expect_error("servers:\n  - name: a\n    url: http:///mcp\n",
                        "mcpgw.yaml:3: servers[0].url: http(s) URL without a host");
    config_expect_error("servers:\n  - name: a\n    url: http://h:99999/\n",
                        "mcpgw.yaml:3: servers[0].url: URL has a bad port");
    config_expect_error(
        "servers:\n  - name: a\n    url: http://u:p@h/\n",
        "mcpgw.yaml:3: servers[0].url: URL must not carry user:password (use headers)");
}

static void test_err_unknown_key(void **state)
{
    config_expect_error("mcp_path: /mcp\nlisten_port: 8080\n",
                        "mcpgw.yaml:2: listen_port: unknown key");
    config_expect_error("limits:\n  max_request_body: 1MiB\n  max_body: 1\n",
                        "mcpgw.yaml:3: limits.max_body: unknown key");
    config_expect_error("servers:\n  - name: a\n    url: http://h/\n    tiemout: 3s\n",
                        "mcpgw.yaml:4: servers[0].tiemout: unknown key");
}

/* A quoted key can hold a newline; the message must stay one line (it is logged as one field).
 * Found by tests/fuzz/fuzz_config. */
static void test_err_key_with_control_characters(void **state)
{
    config_expect_error("\"a\\nb\": 1\n", "mcpgw.yaml:1: a\\x0ab: unknown key");
    config_expect_error("servers:\n  - name: a\n    url: http://h/\n    \"t\\r\\x7f\": 3s\n",
                        "mcpgw.yaml:4: servers[0].t\\x0d\\x7f: unknown key");
    config_expect_error(
        "servers:\n  - name: a\n    url: http://h/\n    headers:\n      \"X-\\tA\": v\n",
        "mcpgw.yaml:5: servers[0].headers.X-\\x09A: not a valid HTTP header name");
}

/* A refused entry of http.allowed_hosts/allowed_origins is freed with the rest (LeakSanitizer
 * reported it). Found by tests/fuzz/fuzz_config. */
static void test_err_allowed_hosts_entry_freed(void **state)
{
    config_expect_error(
        "http:\n  allowed_hosts: [\"a b\"]\n",
        "mcpgw.yaml:2: http.allowed_hosts[0]: must not contain spaces or control characters");
    config_expect_error("http:\n  allowed_origins: [\"http://ok\", \"\"]\n",
                        "mcpgw.yaml:2: http.allowed_origins[1]: must not be empty");
    config_expect_error("http:\n  allowed_hosts: [ok, [x]]\n",
                        "mcpgw.yaml:2: http.allowed_hosts[1]: expected a string");
}

static void test_err_duplicate_server_name(void **state)
{
    config_expect_error(
        "servers:\n"
        "  - name: alpha\n"
        "    url: http://a/\n"
        "  - url: http://b/\n"
        "    name: alpha\n",
        "mcpgw.yaml:5: servers[1].name: duplicate server name \"alpha\" (also servers[0])");
}

static void test_err_duplicate_prefix(void **state)
{
    config_expect_error(
        "servers:\n"
        "  - name: a\n"
        "    url: http://a/\n"
        "    prefix: p_\n"
        "  - name: b\n"
        "    url: http://b/\n"
        "    prefix: p_\n",
        "mcpgw.yaml:7: servers[1].prefix: prefix \"p_\" is already used by server \"a\"");
}

static void test_err_bad_duration(void **state)
{
    config_expect_error("sessions:\n  ttl: 5 minutes\n",
                        "mcpgw.yaml:2: sessions.ttl: not a duration (e.g. 30s, 5m, 24h, 7d)");
    config_expect_error("sessions:\n  ttl: 500ms\n",
                        "mcpgw.yaml:2: sessions.ttl: must be at least 1s");
    config_expect_error("servers:\n  - name: a\n    url: http://a/\n    timeout: -1s\n",
                        "mcpgw.yaml:4: servers[0].timeout: not a duration (e.g. 250ms, 30s, 5m)");
    config_expect_error("servers:\n  - name: a\n    url: http://a/\n    timeout: 0s\n",
                        "mcpgw.yaml:4: servers[0].timeout: must be greater than 0");
}

static void test_err_bad_size(void **state)
{
    config_expect_error(
        "limits:\n  max_request_body: 1XB\n",
        "mcpgw.yaml:2: limits.max_request_body: not a size (e.g. 1MiB, 512KiB, 1048576)");
    config_expect_error("limits:\n  max_request_body: 1023\n",
                        "mcpgw.yaml:2: limits.max_request_body: must be between 1KiB and 64MiB");
    config_expect_error("limits:\n  max_request_body: 65MiB\n",
                        "mcpgw.yaml:2: limits.max_request_body: must be between 1KiB and 64MiB");
}

static void test_err_port(void **state)
{
    config_expect_error("listen:\n  - address: 127.0.0.1\n    port: 70000\n",
                        "mcpgw.yaml:3: listen[0].port: not a port number (0..65535)");
    config_expect_error("listen:\n  - address: 127.0.0.1\n    port: http\n",
                        "mcpgw.yaml:3: listen[0].port: not a port number (0..65535)");
}

static void test_err_listen(void **state)
{
    config_expect_error("listen:\n  - address: 127.0.0.1\n    port: 1\n  - address: localhost\n"
                        "    port: 2\n",
                        "mcpgw.yaml:4: listen[1].address: not a numeric IPv4 or IPv6 address");
    config_expect_error("listen: []\n", "mcpgw.yaml:1: listen: at least one address is required");
    config_expect_error("listen: 127.0.0.1:8080\n",
                        "mcpgw.yaml:1: listen: expected a list of {address, port}");
    config_expect_error("listen:\n  - address: 127.0.0.1\n",
                        "mcpgw.yaml:2: listen[0]: missing required key port");
}

static void test_err_mcp_path(void **state)
{
    config_expect_error("mcp_path: mcp\n", "mcpgw.yaml:1: mcp_path: must start with '/'");
    config_expect_error("mcp_path: /mcp?x=1\n",
                        "mcpgw.yaml:1: mcp_path: must be a plain URL path (no spaces, '?' or '#')");
}

static void test_err_routers(void **state)
{
    config_expect_error("routers: 0\n", "mcpgw.yaml:1: routers: must be a number from 1 to 64");
    config_expect_error("routers: 65\n", "mcpgw.yaml:1: routers: must be a number from 1 to 64");
    config_expect_error("routers: many\n", "mcpgw.yaml:1: routers: must be a number from 1 to 64");
}

static void test_err_server_name_and_prefix(void **state)
{
    config_expect_error(
        "servers:\n  - name: al pha\n    url: http://a/\n",
        "mcpgw.yaml:2: servers[0].name: must be 1 to 32 characters of [A-Za-z0-9_-]");
    config_expect_error(
        "servers:\n  - name: abcdefghijabcdefghijabcdefghijabc\n    url: http://a/\n",
        "mcpgw.yaml:2: servers[0].name: must be 1 to 32 characters of [A-Za-z0-9_-]");
    config_expect_error("servers:\n  - name: a\n    url: http://a/\n    prefix: a/b\n",
                        "mcpgw.yaml:4: servers[0].prefix: must be at most 64 characters of "
                        "[A-Za-z0-9_.-]");
    config_expect_error("servers:\n  - url: http://a/\n",
                        "mcpgw.yaml:2: servers[0]: missing required key name");
    config_expect_error("servers:\n  - name: a\n",
                        "mcpgw.yaml:2: servers[0]: missing required key url");
}

static void test_err_headers(void **state)
{
    config_expect_error(
        "servers:\n  - name: a\n    url: http://a/\n    headers:\n      Host: evil\n",
        "mcpgw.yaml:5: servers[0].headers.Host: header is set by the gateway");
    config_expect_error(
        "servers:\n  - name: a\n    url: http://a/\n    headers:\n"
        "      X-Ok: 1\n      Mcp-Session-Id: x\n",
        "mcpgw.yaml:6: servers[0].headers.Mcp-Session-Id: header is set by the gateway");
    config_expect_error(
        "servers:\n  - name: a\n    url: http://a/\n    headers:\n      Bad Name: x\n",
        "mcpgw.yaml:5: servers[0].headers.Bad Name: not a valid HTTP header name");
    config_expect_error(
        "servers:\n  - name: a\n    url: http://a/\n    headers:\n"
        "      X-A: \"one\\r\\nX-B: two\"\n",
        "mcpgw.yaml:5: servers[0].headers.X-A: header value contains control characters");
    config_expect_error("servers:\n  - name: a\n    url: http://a/\n    headers:\n"
                        "      x-a: 1\n      X-A: 2\n",
                        "mcpgw.yaml:6: servers[0].headers.X-A: duplicate header");
    config_expect_error(
        "servers:\n  - name: a\n    url: http://a/\n    headers: [a, b]\n",
        "mcpgw.yaml:4: servers[0].headers: expected a mapping of header names to values");
}

static void test_err_duplicate_key(void **state)
{
    config_expect_error("sessions:\n  ttl: 1h\n  ttl: 2h\n",
                        "mcpgw.yaml:3: sessions.ttl: duplicate key");
}

static void test_err_log_level(void **state)
{
    config_expect_error(
        "log:\n  level: loud\n",
        "mcpgw.yaml:2: log.level: must be one of err, warning, notice, info, debug");
}

static void test_err_shapes(void **state)
{
    config_expect_error("", "mcpgw.yaml:1: empty configuration: expected a mapping of settings");
    config_expect_error("# nothing but a comment\n",
                        "mcpgw.yaml:1: empty configuration: expected a mapping of settings");
    config_expect_error("- listen\n", "mcpgw.yaml:1: the top level must be a mapping of settings");
    config_expect_error("just a string\n",
                        "mcpgw.yaml:1: the top level must be a mapping of settings");
    config_expect_error("sessions: 24h\n", "mcpgw.yaml:1: sessions: expected a mapping");
    config_expect_error("mcp_path: [a]\n", "mcpgw.yaml:1: mcp_path: expected a string");
    config_expect_error("servers: alpha\n", "mcpgw.yaml:1: servers: expected a list of servers");
    config_expect_error("runtime_dir: \"\"\n", "mcpgw.yaml:1: runtime_dir: must not be empty");
    config_expect_error("x: &a 1\ny: *a\n", "mcpgw.yaml:2: YAML aliases are not supported");
    config_expect_error("a: 1\n---\nb: 2\n", "mcpgw.yaml:2: only one YAML document is allowed");
}

static void test_err_yaml_syntax(void **state)
{
    config_expect_error(
        "mcp_path: /mcp\nlisten: [1, 2\nroutes: 3\n",
        "mcpgw.yaml:3: YAML: did not find expected ',' or ']' (while parsing a flow "
        "sequence started on line 2)");
    config_expect_error("a: b: c\n",
                        "mcpgw.yaml:1: YAML: mapping values are not allowed in this context");
}

static void test_error_buffer_small(void **state)
{
    gw_config_t *c = NULL;
    char err[8];
    const char *yaml = "routers: 0\n";
    assert_int_not_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                         GW_OK);
    assert_string_equal(err, "mcpgw.y");
    /* No buffer at all is allowed too. */
    assert_int_not_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, NULL, 0), GW_OK);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/mcpgw-config-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, full_yaml, strlen(full_yaml)), (ssize_t)strlen(full_yaml));
    close(fd);

    gw_config_t *c = NULL;
    char err[256] = "";
    assert_int_equal(gw_config_load(path, &c, err, sizeof(err)), GW_OK);
    assert_string_equal(c->path, path);
    assert_int_equal(c->nservers, 2);
    gw_config_destroy(c);
    unlink(path);

    assert_int_equal(gw_config_load(path, &c, err, sizeof(err)), GW_ENOTFOUND);
    assert_null(c);
    char want[300];
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    assert_string_equal(err, want);
}

/* The commented default config the packages install must load as it is. */
static void test_shipped_config(void **state)
{
    const char *srcdir = getenv("srcdir");
    if (srcdir == NULL) {
        skip();
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/etc/mcpgw.yaml", srcdir);
    gw_config_t *c = NULL;
    char err[512] = "";
    if (gw_config_load(path, &c, err, sizeof(err)) != GW_OK) {
        fail_msg("%s", err);
    }
    assert_string_equal(c->mcp_path, "/mcp");
    assert_string_equal(c->control_socket, "/run/mcpgw/control.ipc");
    assert_int_equal(c->nservers, 0);
    gw_config_destroy(c);
}

static void test_parse_size(void **state)
{
    static const struct {
        const char *in;
        gw_err_t rc;
        uint64_t want;
    } cases[] = {
        {"0", GW_OK, 0},
        {"1048576", GW_OK, 1048576},
        {"1MiB", GW_OK, 1048576},
        {"512KiB", GW_OK, 512 * 1024},
        {"64kB", GW_OK, 64000},
        {"2MB", GW_OK, 2000000},
        {"3GiB", GW_OK, 3ull << 30},
        {"1GB", GW_OK, 1000000000},
        {"10B", GW_OK, 10},
        {"1 MiB", GW_OK, 1048576},
        {"18446744073709551615", GW_OK, UINT64_MAX},
        {"18446744073709551616", GW_ETOOBIG, 0},
        {"17179869184GiB", GW_ETOOBIG, 0},
        {"", GW_EINVAL, 0},
        {"-1", GW_EINVAL, 0},
        {"+1", GW_EINVAL, 0},
        {" 1", GW_EINVAL, 0},
        {"1.5MiB", GW_EINVAL, 0},
        {"1mib", GW_EINVAL, 0},
        {"MiB", GW_EINVAL, 0},
        {"1MiBx", GW_EINVAL, 0},
        {"0x10", GW_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        gw_err_t rc = gw_parse_size(cases[i].in, &v);
        if (rc != cases[i].rc || (rc == GW_OK && v != cases[i].want)) {
            fail_msg("gw_parse_size(\"%s\") = %d, %llu", cases[i].in, rc, (unsigned long long)v);
        }
    }
}

static void test_parse_duration(void **state)
{
    static const struct {
        const char *in;
        gw_err_t rc;
        uint64_t want;
    } cases[] = {
        {"250ms", GW_OK, 250},
        {"30s", GW_OK, 30000},
        {"5m", GW_OK, 300000},
        {"24h", GW_OK, 86400000},
        {"7d", GW_OK, 604800000},
        {"30", GW_OK, 30000},
        {"0", GW_OK, 0},
        {"1h30m", GW_OK, 5400000},
        {"1m500ms", GW_OK, 60500},
        {"18446744073709551615ms", GW_OK, UINT64_MAX},
        {"18446744073709551615s", GW_ETOOBIG, 0},
        {"99999999999999999999", GW_ETOOBIG, 0},
        {"18446744073709551615ms1ms", GW_ETOOBIG, 0},
        {"", GW_EINVAL, 0},
        {"-5s", GW_EINVAL, 0},
        {"s", GW_EINVAL, 0},
        {"5", GW_OK, 5000},
        {"5x", GW_EINVAL, 0},
        {"5 s", GW_EINVAL, 0},
        {"1h30", GW_EINVAL, 0},
        {"1.5h", GW_EINVAL, 0},
        {"5S", GW_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        gw_err_t rc = gw_parse_duration_ms(cases[i].in, &v);
        if (rc != cases[i].rc || (rc == GW_OK && v != cases[i].want)) {
            fail_msg("gw_parse_duration_ms(\"%s\") = %d, %llu", cases[i].in, rc,
                     (unsigned long long)v);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_brief_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_control_socket_follows_runtime_dir),
        cmocka_unit_test(test_control_permissions),
        cmocka_unit_test(test_err_control_permissions),
        cmocka_unit_test(test_server_defaults_and_empty_prefixes),
        cmocka_unit_test(test_levels_and_sizes_accepted),
        cmocka_unit_test(test_session_limits),
        cmocka_unit_test(test_err_session_limits),
        cmocka_unit_test(test_tool_timeouts),
        cmocka_unit_test(test_err_tool_timeouts),
        cmocka_unit_test(test_err_bad_url_line),
        cmocka_unit_test(test_err_url_without_host),
        cmocka_unit_test(test_err_unknown_key),
        cmocka_unit_test(test_err_key_with_control_characters),
        cmocka_unit_test(test_err_allowed_hosts_entry_freed),
        cmocka_unit_test(test_err_duplicate_server_name),
        cmocka_unit_test(test_err_duplicate_prefix),
        cmocka_unit_test(test_err_bad_duration),
        cmocka_unit_test(test_err_bad_size),
        cmocka_unit_test(test_err_port),
        cmocka_unit_test(test_err_listen),
        cmocka_unit_test(test_err_mcp_path),
        cmocka_unit_test(test_err_routers),
        cmocka_unit_test(test_err_server_name_and_prefix),
        cmocka_unit_test(test_err_headers),
        cmocka_unit_test(test_err_duplicate_key),
        cmocka_unit_test(test_err_log_level),
        cmocka_unit_test(test_err_shapes),
        cmocka_unit_test(test_err_yaml_syntax),
        cmocka_unit_test(test_error_buffer_small),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_shipped_config),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
