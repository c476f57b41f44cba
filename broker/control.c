/* control.c: the control socket mcpgwctl talks to: its listener (mode, group), the command table
 * and each command's handler (status, sessions, kill, reload, log-level, drain; policy test in
 * policy_ctl.c). */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"

/* One string member in an object of its own: {"k": "v"}. */
static gw_err_t gen_object_str(yajl_gen g, const char *k, const char *v)
{
    yajl_gen_map_open(g);
    brk_status_kv_str(g, k, v);
    return yajl_gen_map_close(g) == yajl_gen_status_ok ? GW_OK : GW_EINVAL;
}

static gw_err_t ctl_status(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    return brk_status_gen(b, g);
}

static gw_err_t ctl_backends(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    return brk_status_gen_backends(b, g);
}

static gw_err_t ctl_tools(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    brk_catalog_t *cat = &b->cycle->cat;
    const char *only = gw_json_get_string(args, "backend");
    if (only != NULL && brk_catalog_backend(cat, only) == NULL) {
        snprintf(err, errlen, "no backend named %s", only);
        return GW_ENOTFOUND;
    }
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "tools");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < cat->views[0].nmerged[GW_LIST_TOOLS]; i++) {
        const brk_item_t *it = cat->views[0].merged[GW_LIST_TOOLS][i];
        const char *backend = cat->backends[it->server].conf->name;
        if (only != NULL && strcmp(only, backend) != 0) {
            continue;
        }
        yajl_gen_map_open(g);
        brk_status_kv_str(g, "name", it->key);
        brk_status_kv_str(g, "backend", backend);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    return yajl_gen_map_close(g) == yajl_gen_status_ok ? GW_OK : GW_EINVAL;
}

static void gen_session(yajl_gen g, const brk_session_t *s)
{
    yajl_gen_map_open(g);
    brk_status_kv_str(g, "id", s->uuid);
    brk_status_kv_int(g, "created", s->created_s);
    brk_status_kv_int(g, "last_activity", s->last_s);
    brk_status_kv_int(g, "expires", s->expires_s);
    gw_json_gen_cstr(g, "revoked");
    yajl_gen_bool(g, s->revoked);
    brk_status_kv_str(g, "subject", s->subject);
    yajl_gen_map_close(g);
}

static gw_err_t ctl_sessions(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "sessions");
    yajl_gen_array_open(g);
    size_t pos = 0;
    for (const brk_session_t *s = brk_sessions_next(b, NULL, &pos); s != NULL;
         s = brk_sessions_next(b, s, &pos)) {
        if (!s->revoked) {
            gen_session(g, s);
        }
    }
    yajl_gen_array_close(g);
    return yajl_gen_map_close(g) == yajl_gen_status_ok ? GW_OK : GW_EINVAL;
}

static brk_session_t *session_arg(brk_t *b, yajl_val args, char *err, size_t errlen)
{
    const char *id = gw_json_get_string(args, "id");
    brk_session_t *s = id != NULL ? brk_session_find(b, id, strlen(id)) : NULL;
    if (s == NULL) {
        snprintf(err, errlen, "no session %s (ids are the uuids `mcpgwctl sessions` lists)",
                 id != NULL ? id : "(none given)");
    }
    return s;
}

static gw_err_t ctl_session_show(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    brk_session_t *s = session_arg(b, args, err, errlen);
    if (s == NULL) {
        return GW_ENOTFOUND;
    }
    gen_session(g, s);
    return GW_OK;
}

static gw_err_t ctl_session_kill(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    brk_session_t *s = session_arg(b, args, err, errlen);
    if (s == NULL) {
        return GW_ENOTFOUND;
    }
    if (!s->revoked) {
        /* The same path as a client's DELETE, answered to nobody. */
        gw_envelope_t e = {.kind = GW_ENV_CONTROL, .corr = 0};
        e.session = (gw_str_t){s->uuid, strlen(s->uuid)};
        e.origin = GW_STR("");
        brk_session_end_delete(b, &e);
    }
    return gen_object_str(g, "killed", s->uuid);
}

/* log-level LEVEL: every process logs at LEVEL from now on (until it restarts or a reload sets
 * the configured level again). */
size_t brk_control_set_log_level(brk_t *b, int level)
{
    gw_log_threshold = level;
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    e.method = GW_STR("log-level");
    e.body = (gw_str_t){gw_log_level_name(level), strlen(gw_log_level_name(level))};
    size_t sent = brk_reply_to_routers(b, &e);
    sent += brk_reply_to_workers(b, NULL, &e);
    gw_log_notice("msg=\"log level set\" level=%s processes=%zu", gw_log_level_name(level),
                  sent + 1);
    return sent + 1;
}

static gw_err_t ctl_log_level(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    const char *name = gw_json_get_string(args, "level");
    int level = name != NULL ? gw_log_level_parse(name) : -1;
    if (level < 0) {
        snprintf(err, errlen, "not a log level: %s (err, warning, notice, info, debug)",
                 name != NULL ? name : "(none given)");
        return GW_EINVAL;
    }
    size_t sent = brk_control_set_log_level(b, level);
    yajl_gen_map_open(g);
    brk_status_kv_str(g, "level", gw_log_level_name(level));
    brk_status_kv_int(g, "processes", (long long)sent);
    return yajl_gen_map_close(g) == yajl_gen_status_ok ? GW_OK : GW_EINVAL;
}

/* drain: no new sessions (initialize gets 503, /readyz 503 so balancers move away), requests in
 * flight finish (the routers' in-flight gauges reach 0), then the gateway exits as on SIGTERM;
 * at most BRK_DRAIN_MAX_MS. */
static gw_err_t ctl_drain(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    if (b->drain_deadline_ms == 0) {
        b->drain_started_ms = gw_clock_ms();
        b->drain_deadline_ms = b->drain_started_ms + BRK_DRAIN_MAX_MS;
        gw_log_notice("msg=draining max_ms=%d", BRK_DRAIN_MAX_MS);
    }
    return gen_object_str(g, "drain",
                          "started: no new sessions; exiting once requests in flight are done");
}

/* Requests the routers are waiting on, from their metrics slots. */
static int64_t routers_in_flight(const brk_t *b)
{
    int64_t n = 0;
    for (unsigned i = 0; i < b->cycle->cfg->routers; i++) {
        const gw_metrics_slot_t *m = gw_metrics_slot(b->metrics, i);
        n += m != NULL ? __atomic_load_n(&m->gauges[GW_MG_IN_FLIGHT], __ATOMIC_RELAXED) : 0;
    }
    return n;
}

void brk_control_check_drain(brk_t *b)
{
    /* a moment first: mcpgwctl gets its answer, and calls just accepted reach a router's count */
    if (b->drain_deadline_ms == 0 || b->stopping || gw_clock_ms() < b->drain_started_ms + 300) {
        return;
    }
    int64_t left = routers_in_flight(b);
    if (left == 0 || gw_clock_ms() >= b->drain_deadline_ms) {
        gw_log_notice("msg=\"drained; stopping\" in_flight=%lld", (long long)left);
        b->stopping = 1;
    }
}

static gw_err_t ctl_reload(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    char msg[600];
    gw_err_t rc = brk_reload(b, msg, sizeof(msg));
    if (rc != GW_OK) {
        snprintf(err, errlen, "%s", msg);
        return rc;
    }
    return gen_object_str(g, "reload", msg);
}

/* The broker side of mcpgwctl's commands: one table, arguments as a JSON object. A handler
 * generates its answer into g, or fails with a message in err. */
static const struct control_command {
    const char *name;
    gw_err_t (*run)(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen);
} control_commands[] = {
    {"status", ctl_status},
    {"backends", ctl_backends},
    {"tools", ctl_tools},
    {"sessions", ctl_sessions},
    {"session/show", ctl_session_show},
    {"session/kill", ctl_session_kill},
    {"reload", ctl_reload},
    {"log-level", ctl_log_level},
    {"drain", ctl_drain},
    {"policy/test", brk_ctl_policy_test},
};

/* Runs cmd into out; the status mcpgwctl gets: 0 done, 1 failed (with a message in err). */
static unsigned run_command(brk_t *b, const struct control_command *cmd, yajl_val args,
                            gw_buf_t *out, char *err, size_t errlen)
{
    yajl_gen g = gw_json_gen_to_buf(out);
    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    gw_err_t rc = cmd->run(b, args, g, err, errlen);
    gw_err_t done = gw_json_gen_done(g, out, yajl_gen_status_ok);
    if (rc == GW_OK) {
        rc = done; /* the command's own result, else how its JSON got written */
    }
    if (rc != GW_OK && err[0] == '\0') {
        snprintf(err, errlen, "%s", gw_strerror(rc));
    }
    return rc != GW_OK;
}

static void on_control_message(brk_t *b, const gw_ipc_route_t *route, const gw_envelope_t *e)
{
    gw_buf_t out;
    gw_buf_init(&out);
    unsigned status = 2;
    char err[256] = "";
    const struct control_command *cmd = NULL;
    for (size_t i = 0; i < sizeof(control_commands) / sizeof(control_commands[0]); i++) {
        if (gw_str_eq(e->method, control_commands[i].name)) {
            cmd = &control_commands[i];
        }
    }
    yajl_val args =
        e->body.len > 0 ? gw_json_parse(e->body.ptr, e->body.len, err, sizeof(err)) : NULL;
    if (cmd == NULL) {
        snprintf(err, sizeof(err), "unknown command: %.*s", (int)e->method.len, e->method.ptr);
    } else if (e->body.len == 0 || args != NULL) {
        err[0] = '\0';
        status = run_command(b, cmd, args, &out, err, sizeof(err));
    }
    if (err[0] != '\0') {
        gw_buf_reset(&out);
        yajl_gen g = gw_json_gen_to_buf(&out);
        if (g != NULL) {
            /* the error answer is best effort: a failed one leaves out empty or short */
            (void)gen_object_str(g, "error", err);
            (void)gw_json_gen_done(g, &out, yajl_gen_status_ok);
        }
        if (status == 0) {
            status = 1;
        }
    }
    yajl_tree_free(args);
    gw_envelope_t r = {.kind = GW_ENV_CHUNK, .corr = e->corr};
    r.body = (gw_str_t){out.data, out.len};
    gw_ipc_reply(b->csock, route, &r);
    r.kind = GW_ENV_END;
    r.status = status;
    r.body = GW_STR_NULL;
    gw_ipc_reply(b->csock, route, &r);
    gw_buf_fini(&out);
}

void brk_control_serve(brk_t *b)
{
    for (;;) {
        nng_msg *m = NULL;
        gw_envelope_t e;
        gw_ipc_route_t route = {.len = 0};
        gw_err_t err = gw_ipc_recv(b->csock, &m, &e, &route);
        if (err == GW_EAGAIN) {
            return;
        }
        if (err != GW_OK) {
            gw_log_warn("msg=\"dropped a message\" error=\"%s\"", gw_strerror(err));
            continue;
        }
        on_control_message(b, &route, &e);
        nng_msg_free(m);
    }
}

/* Giving a file to one of its own groups needs no privilege, so the broker running as mcpgw
 * (systemd) makes it mcpgw:mcpgw as it is; another group needs the broker's user to be a member
 * (or root). The default group may be missing or out of reach (a run from a build tree): the
 * socket then keeps the broker's group. */
gw_err_t brk_control_socket_group(brk_t *b)
{
    const gw_config_t *c = b->cycle->cfg;
    if (c->control_gid < 0) {
        gw_log_info("msg=\"control socket keeps the broker's group: group mcpgw does not exist\" "
                    "path=%s gid=%ld",
                    c->control_socket, (long)getegid());
    } else if (chown(c->control_socket, (uid_t)-1, (gid_t)c->control_gid) != 0) {
        if (c->control_group_set) {
            gw_log_err("msg=\"cannot give the control socket to control.group (the broker's user "
                       "must be a member of it)\" path=%s group=%s error=\"%s\"",
                       c->control_socket, c->control_group, strerror(errno));
            return GW_EPERM;
        }
        gw_log_info("msg=\"control socket keeps the broker's group: cannot give it to group "
                    "mcpgw\" path=%s gid=%ld error=\"%s\"",
                    c->control_socket, (long)getegid(), strerror(errno));
    }
    return GW_OK;
}

gw_err_t brk_control_open(brk_t *b)
{
    const gw_config_t *c = b->cycle->cfg;
    char url[GW_IPC_URL_MAX];
    int n = snprintf(url, sizeof(url), "ipc://%s", c->control_socket);
    gw_err_t err = n < 0 || (size_t)n >= sizeof(url)
                       ? GW_ETOOBIG
                       : gw_ipc_listen_mode(&b->csock, url, c->control_mode);
    if (err != GW_OK) {
        gw_log_err("msg=\"cannot listen on the control socket\" path=%s error=\"%s\"",
                   c->control_socket, gw_strerror(err));
        return err;
    }
    gw_ipc_guard_init(&b->control_guard, b->csock, url, c->control_mode);
    if ((err = brk_control_socket_group(b)) != GW_OK) {
        return err;
    }
    if (c->control_mode & 0002) {
        gw_log_warn("msg=\"control.mode lets every local user control the gateway\" mode=%04o",
                    c->control_mode);
    }
    return GW_OK;
}
