/* config_keys.c: the directive tables of mcpgw.yaml's top level and its sections (listen, limits,
 * sessions, control, log, http, admin): every key with its type, bounds, default and message,
 * the few setters whose parsing is special, and the defaults known only once the file was read. */
#include <config.h>

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config_int.h"
#include "common/log.h"
#include "common/rate.h"

#define ROUTERS_MAX 64
#define LISTEN_MAX 64
#define GROUP_BUF_MAX (1u << 20) /* getgrnam_r's buffer grows up to this for huge groups */

/* ---- listen ---- */

static const char *const tls_versions[] = {"TLSv1.2", "TLSv1.3", NULL};

/* listen[].tls: both files required once the section is there; the files themselves are read
 * (and refused with their path) when the broker starts or reloads (common/tls.c). */
static const gw_config_directive_t tls_directives[] = {
    {GW_CONFIG_ROW_NONEMPTY("certificate", gw_listen_t, tls_certificate), .required = 1},
    {GW_CONFIG_ROW_NONEMPTY("key", gw_listen_t, tls_key), .required = 1},
    {GW_CONFIG_ROW_ENUM("min_version", gw_listen_t, tls_min_version), .def = GW_TLS_1_2,
     .names = tls_versions, .msg = "must be TLSv1.2 or TLSv1.3"},
};

/* address and port required in an entry; the defaults make the listener used when listen is
 * absent. */
const gw_config_directive_t gw_config_listen_directives[] = {
    {GW_CONFIG_ROW_STRING("address", gw_listen_t, address), .required = 1, .def_str = "127.0.0.1",
     .check = gw_config_address_problem},
    {GW_CONFIG_ROW_PORT("port", gw_listen_t, port), .required = 1, .max = 65535, .def = 8080,
     .msg = "not a port number (0..65535)"},
    {GW_CONFIG_ROW_SECTION("tls", tls_directives)},
};
const size_t gw_config_nlisten_directives = GW_CONFIG_NELEM(gw_config_listen_directives);

static gw_err_t set_listen(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                           const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    if (v->kind != GW_CONFIG_SEQUENCE) {
        return gw_config_fail(cx, v, path, "expected a list of {address, port}");
    }
    if (v->nitems == 0) {
        return gw_config_fail(cx, v, path, "at least one address is required");
    }
    if (v->nitems > LISTEN_MAX) {
        return gw_config_fail(cx, v, path, "at most %d addresses", LISTEN_MAX);
    }
    gw_listen_t *l = calloc(v->nitems, sizeof(*l));
    if (l == NULL) {
        return gw_config_fail_nomem(cx);
    }
    /* Owned by c from here, so that gw_config_destroy frees whatever got filled in. */
    for (size_t i = 0; i < c->nlisten; i++) {
        gw_listen_fini(&c->listen[i]);
    }
    free(c->listen);
    c->listen = l;
    c->nlisten = v->nitems;
    for (size_t i = 0; i < v->nitems; i++) {
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, path, i);
        if (gw_config_defaults(gw_config_listen_directives, gw_config_nlisten_directives, &l[i]) !=
            GW_OK) {
            return gw_config_fail_nomem(cx);
        }
        gw_err_t err = gw_config_check_map(cx, v->items[i], sub, gw_config_listen_directives,
                                           gw_config_nlisten_directives, &l[i]);
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}

/* ---- top-level scalars ---- */

/* The number of online CPUs, within 1..ROUTERS_MAX. */
static unsigned default_routers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        return 1;
    }
    return n > ROUTERS_MAX ? ROUTERS_MAX : (unsigned)n;
}

/* ---- limits ---- */

#define COUNT_MAX 10000000
#define COUNT_MSG "must be a number from 0 (no limit) to " GW_CONFIG_STR(COUNT_MAX)

static const gw_config_directive_t limits_directives[] = {
    {GW_CONFIG_ROW_SIZE("max_request_body", gw_config_t, max_request_body), .min = 1u << 10,
     .max = 64u << 20, .def = 1u << 20, .msg = "not a size (e.g. 1MiB, 512KiB, 1048576)",
     .range_msg = "must be between 1KiB and 64MiB"},
    /* h2o itself refuses request heads past about 408 KiB, closing the connection. */
    {GW_CONFIG_ROW_SIZE("max_header_size", gw_config_t, max_header_size), .min = 1u << 10,
     .max = 256u << 10, .def = 16u << 10, .msg = "not a size (e.g. 16KiB)",
     .range_msg = "must be between 1KiB and 256KiB"},
    {GW_CONFIG_ROW_SIZE("max_response_body", gw_config_t, max_response_body), .min = 1u << 10,
     .max = GW_MAX_RESPONSE_BODY_LIMIT, .def = 8u << 20, .msg = "not a size (e.g. 8MiB)",
     .range_msg = "must be between 1KiB and 15MiB"},
    {GW_CONFIG_ROW_UINT("max_sessions", gw_config_t, max_sessions), .max = COUNT_MAX, .def = 100000,
     .msg = COUNT_MSG},
    {GW_CONFIG_ROW_UINT("max_sessions_per_client", gw_config_t, max_sessions_per_client),
     .max = COUNT_MAX, .def = 10000, .msg = COUNT_MSG},
    {GW_CONFIG_ROW_UINT("max_concurrent_requests_per_session", gw_config_t,
                        max_concurrent_requests_per_session),
     .max = COUNT_MAX, .def = 64, .msg = COUNT_MSG},
    {GW_CONFIG_ROW_DURATION("client_timeout", gw_config_t, client_timeout_ms), .min = 100,
     .max = 3600000, .def = 10000, .msg = "must be a duration from 100ms to 1h"},
    {GW_CONFIG_ROW_UINT("page_size", gw_config_t, page_size), .min = 1, .max = 10000, .def = 100,
     .msg = "must be a number from 1 to 10000"},
    {.key = "rate",
     .type = GW_CONFIG_CUSTOM,
     .offset = GW_CONFIG_FIELD(gw_config_t, rate, gw_rate_conf_t),
     .set = gw_config_set_rate},
    {GW_CONFIG_ROW_UINT("rate_callers", gw_config_t, rate_callers), .min = GW_RATE_SLOTS_MIN,
     .max = GW_RATE_SLOTS_MAX, .def = 65536,
     .msg = "must be a number of callers from 64 to 16777216"},
    /* MRTR, the worker's half (docs/design-2026-07-28.md 5.3): calls of 2026-07-28 callers parked
     * in one worker while their client answers the backend's requests (16 per caller at most, a
     * fixed bound: WRK_WAITS_PER_CALLER in worker/mrtr.h). */
    {GW_CONFIG_ROW_UINT("max_waiting_calls", gw_config_t, max_waiting_calls), .min = 1,
     .max = COUNT_MAX, .def = 1024,
     .msg = "must be a number of calls from 1 to " GW_CONFIG_STR(COUNT_MAX)},
    /* Upstream sessions a worker keeps for 2026-07-28 callers of a 2025 backend (pooled by
     * caller, capability set and log level, docs/design-2026-07-28.md 7.1). */
    {GW_CONFIG_ROW_UINT("max_pooled_sessions", gw_config_t, max_pooled_sessions), .min = 1,
     .max = COUNT_MAX, .def = 1024,
     .msg = "must be a number of sessions from 1 to " GW_CONFIG_STR(COUNT_MAX)},
    /* MRTR, the router's half (docs/design-2026-07-28.md 5.2): how long a sealed requestState
     * opens (a human answers elicitations), and the largest backend requestState a P state
     * wraps (GW_REQSTATE_INNER_MAX, 1 MiB, is what the format takes). */
    {GW_CONFIG_ROW_SECONDS("input_wait", gw_config_t, input_wait_s), .min = 1000,
     .max = 24ull * 3600 * 1000, .def = 300ull * 1000, .msg = "not a duration (e.g. 30s, 5m)",
     .range_msg = "must be from 1s to 24h"},
    {GW_CONFIG_ROW_SIZE("max_request_state", gw_config_t, max_request_state), .min = 1u << 10,
     .max = 1u << 20, .def = 64u << 10, .msg = "not a size (e.g. 64KiB)",
     .range_msg = "must be between 1KiB and 1MiB"},
    /* Rounds of input a worker bridges for a 2025 session's call to a 2026-07-28 backend
     * (docs/design-2026-07-28.md 5.4): past them the call ends with -32603. */
    {GW_CONFIG_ROW_UINT("max_input_rounds", gw_config_t, max_input_rounds), .min = 1, .max = 1000,
     .def = 8, .msg = "must be a number of rounds from 1 to 1000"},
    /* subscriptions/listen streams of 2026-07-28 clients the broker holds (design §6; 16 per
     * caller besides, fixed) */
    {GW_CONFIG_ROW_UINT("max_listens", gw_config_t, max_listens), .max = COUNT_MAX, .def = 4096,
     .msg = COUNT_MSG},
};

/* ---- sessions ---- */

static const gw_config_directive_t sessions_directives[] = {
    {GW_CONFIG_ROW_NONEMPTY("key_file", gw_config_t, key_file),
     .def_str = "/var/lib/mcpgw/session.key"},
    {GW_CONFIG_ROW_SECONDS("ttl", gw_config_t, session_ttl_s), .min = 1000, .max = UINT64_MAX,
     .def = 24ull * 3600 * 1000, .msg = "not a duration (e.g. 30s, 5m, 24h, 7d)",
     .range_msg = "must be at least 1s"},
    {GW_CONFIG_ROW_UINT("stream_replay", gw_config_t, stream_replay), .max = 100000, .def = 64,
     .msg = "must be a number of events from 0 (no replay) to 100000"},
    {GW_CONFIG_ROW_DURATION("idle_timeout", gw_config_t, session_idle_ms), .zero_ok = 1,
     .min = 1000, .max = UINT64_MAX, .def = 3600ull * 1000,
     .msg = "not a duration (e.g. 30m, 1h; 0 never ends an idle session)",
     .range_msg = "must be 0 (never) or at least 1s"},
    {GW_CONFIG_ROW_DURATION("upstream_idle", gw_config_t, upstream_idle_ms), .min = 1000,
     .max = 7ull * 24 * 3600 * 1000, .def = 300ull * 1000, .msg = "not a duration (e.g. 30s, 5m)",
     .range_msg = "must be from 1s to 7d"},
};

/* ---- control ---- */

/* Permission bits as chmod takes them, in octal with or without a leading 0: "0660", "640". */
static gw_err_t set_control_mode(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                 const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    unsigned mode = 0;
    int ok = v->kind == GW_CONFIG_SCALAR && v->len >= 1 && v->len <= 4;
    for (size_t i = 0; ok && i < v->len; i++) {
        ok = v->text[i] >= '0' && v->text[i] <= '7';
        mode = mode * 8 + (unsigned)(v->text[i] - '0');
    }
    /* nng takes 0 as "leave the mode alone", so 0000 cannot be asked for. */
    if (!ok || mode == 0 || mode > d->max) {
        return gw_config_fail(cx, v, path, "%s", d->msg);
    }
    c->control_mode = mode;
    return GW_OK;
}

/* Looks name up in the group database: 0 and *gid when found, ENOENT when there is no such
 * group, another errno when the lookup itself failed. */
static int lookup_group(const char *name, int64_t *gid)
{
    size_t size = 16384;
    for (;;) {
        char *buf = malloc(size);
        if (buf == NULL) {
            return ENOMEM;
        }
        struct group gr;
        struct group *found = NULL;
        int rc = getgrnam_r(name, &gr, buf, size, &found);
        if (rc == 0 && found != NULL) {
            *gid = (int64_t)found->gr_gid;
        }
        free(buf);
        if (rc == ERANGE && size < GROUP_BUF_MAX) {
            size *= 2;
            continue;
        }
        if (rc != 0) {
            return rc;
        }
        return found != NULL ? 0 : ENOENT;
    }
}

/* A group name, or a number taken as a gid as it is. A name given here must exist: the broker
 * could not give the socket to it. */
static gw_err_t set_control_group(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                  const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    gw_err_t err = gw_config_take_nonempty(cx, v, path, &c->control_group);
    if (err != GW_OK) {
        return err;
    }
    c->control_group_set = 1;
    uint64_t n;
    if (gw_config_scalar_uint(v, 0x7fffffff, &n)) {
        c->control_gid = (int64_t)n;
        return GW_OK;
    }
    int rc = lookup_group(c->control_group, &c->control_gid);
    if (rc == ENOENT) {
        return gw_config_fail(cx, v, path, "no such group: %s", c->control_group);
    }
    if (rc != 0) {
        return gw_config_fail(cx, v, path, "cannot look up group %s: %s", c->control_group,
                              strerror(rc));
    }
    return GW_OK;
}

/* control.socket has no default here: it follows runtime_dir (gw_config_finish). */
static const gw_config_directive_t control_directives[] = {
    {GW_CONFIG_ROW_NONEMPTY("socket", gw_config_t, control_socket)},
    {GW_CONFIG_ROW_UINT("mode", gw_config_t, control_mode), .max = 0777, .def = 0660,
     .msg = "must be an octal mode from 0001 to 0777, such as 0660", .set = set_control_mode},
    {GW_CONFIG_ROW_NONEMPTY("group", gw_config_t, control_group), .def_str = "mcpgw",
     .set = set_control_group},
};

/* ---- log ---- */

static gw_err_t set_log_level(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                              const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    int level = v->kind == GW_CONFIG_SCALAR ? gw_log_level_parse(v->text) : -1;
    if (level < 0) {
        return gw_config_fail(cx, v, path, "%s", d->msg);
    }
    c->log_level = level;
    return GW_OK;
}

static const char *const log_formats[] = {"logfmt", "json", NULL}; /* log_json 0, 1 */

static const gw_config_directive_t log_directives[] = {
    {GW_CONFIG_ROW_ENUM("level", gw_config_t, log_level), .def = GW_LOG_INFO,
     .msg = "must be one of err, warning, notice, info, debug", .set = set_log_level},
    {GW_CONFIG_ROW_ENUM("format", gw_config_t, log_json), .def = 0, .names = log_formats,
     .msg = "must be logfmt or json"},
};

/* ---- http ---- */

static const gw_config_directive_t http_directives[] = {
    {GW_CONFIG_ROW_STRLIST("allowed_hosts", gw_config_t, allowed_hosts, nallowed_hosts)},
    {GW_CONFIG_ROW_STRLIST("allowed_origins", gw_config_t, allowed_origins, nallowed_origins)},
    {GW_CONFIG_ROW_DURATION("sse_heartbeat", gw_config_t, sse_heartbeat_ms), .zero_ok = 1,
     .min = 100, .max = 3600000, .def = 15000,
     .msg = "must be 0 (never) or a duration from 100ms to 1h"},
};

/* ---- admin ---- */

static const gw_config_directive_t admin_directives[] = {
    {GW_CONFIG_ROW_BOOL("enabled", gw_config_t, admin_enabled), .def = 1,
     .msg = "must be true or false"},
    {GW_CONFIG_ROW_STRING("address", gw_config_t, admin_address), .def_str = "127.0.0.1",
     .check = gw_config_address_problem},
    {GW_CONFIG_ROW_PORT("port", gw_config_t, admin_port), .max = 65535, .def = 9090,
     .msg = "not a port number (0..65535)"},
    {GW_CONFIG_ROW_UINT("ready_min_backends", gw_config_t, ready_min_backends), .max = 1024,
     .def = 1, .msg = "must be a number from 0 to 1024"},
};

/* ---- the top level ---- */

const gw_config_directive_t gw_config_top_directives[] = {
    {GW_CONFIG_ROW_CUSTOM("listen", set_listen)},
    {GW_CONFIG_ROW_STRING("mcp_path", gw_config_t, mcp_path), .def_str = "/mcp",
     .check = gw_config_url_path_problem},
    {GW_CONFIG_ROW_NONEMPTY("instructions", gw_config_t, instructions),
     .check = gw_config_instructions_problem},
    {GW_CONFIG_ROW_NONEMPTY("runtime_dir", gw_config_t, runtime_dir), .def_str = "/run/mcpgw"},
    {GW_CONFIG_ROW_UINT("routers", gw_config_t, routers), .min = 1, .max = ROUTERS_MAX,
     .def_fn = default_routers, .msg = "must be a number from 1 to " GW_CONFIG_STR(ROUTERS_MAX)},
    {GW_CONFIG_ROW_SECTION("limits", limits_directives)},
    {GW_CONFIG_ROW_SECTION("sessions", sessions_directives)},
    {GW_CONFIG_ROW_SECTION("control", control_directives)},
    {GW_CONFIG_ROW_SECTION("log", log_directives)},
    {GW_CONFIG_ROW_CUSTOM("servers", gw_config_set_servers)},
    {GW_CONFIG_ROW_SECTION("http", http_directives)},
    {GW_CONFIG_ROW_SECTION("admin", admin_directives)},
    {.key = "auth",
     .type = GW_CONFIG_SECTION,
     .sub = gw_config_auth_directives,
     .nsub = GW_CONFIG_NAUTH_DIRECTIVES},
    {GW_CONFIG_ROW_CUSTOM("policy", gw_config_set_policy)},
    {GW_CONFIG_ROW_CUSTOM("endpoints", gw_config_set_endpoints)},
};
const size_t gw_config_ntop_directives = GW_CONFIG_NELEM(gw_config_top_directives);

gw_err_t gw_config_finish(gw_config_t *c)
{
    if (gw_config_auth_finish(c) != GW_OK) {
        return GW_ENOMEM;
    }
    if (c->listen == NULL) {
        if ((c->listen = calloc(1, sizeof(*c->listen))) == NULL) {
            return GW_ENOMEM;
        }
        c->nlisten = 1;
        gw_err_t err = gw_config_defaults(gw_config_listen_directives, gw_config_nlisten_directives,
                                          c->listen);
        if (err != GW_OK) {
            return err;
        }
    }
    if (c->control_socket == NULL) {
        gw_buf_t b;
        gw_buf_init(&b);
        if (gw_buf_appendf(&b, "%s/control.ipc", c->runtime_dir) != GW_OK) {
            gw_buf_fini(&b);
            return GW_ENOMEM;
        }
        if ((c->control_socket = gw_buf_steal(&b, NULL)) == NULL) {
            return GW_ENOMEM;
        }
    }
    if (!c->control_group_set) {
        /* The default group may be missing (a run from a build tree): the broker then keeps
         * its own group on the socket and says so. */
        int rc = lookup_group(c->control_group, &c->control_gid);
        if (rc == ENOMEM) {
            return GW_ENOMEM;
        }
        if (rc != 0) {
            c->control_gid = -1;
        }
    }
    return GW_OK;
}
