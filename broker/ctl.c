/* ctl.c: mcpgwctl, the admin CLI: sends one command over the broker's control socket and prints
 * the answer as a table (or JSON with --json). Exit status: 0 done, 1 the command failed,
 * 2 usage error or no broker to talk to. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/ipc.h"
#include "common/json.h"

#define DEFAULT_SOCKET "/run/mcpgw/control.ipc"
#define REPLY_TIMEOUT_MS 5000

typedef int (*print_fn)(yajl_val v);

/* One mcpgwctl command: the words that name it, its one optional argument, the broker's
 * operation (NULL: answered here) and how its answer is printed for people. */
typedef struct command {
    const char *words; /* "session kill" */
    const char *arg;   /* "ID", "FILE", "[--backend NAME]" or NULL */
    const char *help;
    const char *op;      /* the control operation; NULL for local commands */
    const char *arg_key; /* the argument's key in the request's JSON */
    print_fn print;      /* human-readable output of the reply */
} command_t;

static const char *str_or(yajl_val v, const char *key, const char *dflt)
{
    const char *s = gw_json_get_string(v, key);
    return s != NULL ? s : dflt;
}

static long long int_or(yajl_val v, const char *key, long long dflt)
{
    yajl_val x = gw_json_get(v, key);
    return YAJL_IS_INTEGER(x) ? YAJL_GET_INTEGER(x) : dflt;
}

static int print_status(yajl_val v)
{
    printf("mcpgw %s  %s  listen %s  sessions %lld\n\n", str_or(v, "version", "?"),
           YAJL_IS_TRUE(gw_json_get(v, "ready")) ? "ready" : "starting", str_or(v, "listen", "-"),
           int_or(v, "sessions", 0));
    printf("%-8s %-8s %-24s %-10s %s\n", "PID", "ROLE", "NAME", "STATE", "RESTARTS");
    yajl_val procs = gw_json_get(v, "processes");
    for (size_t i = 0; YAJL_IS_ARRAY(procs) && i < YAJL_GET_ARRAY(procs)->len; i++) {
        yajl_val p = YAJL_GET_ARRAY(procs)->values[i];
        printf("%-8lld %-8s %-24s %-10s %lld\n", int_or(p, "pid", 0), str_or(p, "role", "?"),
               str_or(p, "name", "?"), str_or(p, "state", "?"), int_or(p, "restarts", 0));
    }
    printf("\n%-16s %-8s %-6s %-12s %s\n", "BACKEND", "STATE", "TOOLS", "PREFIX", "URL");
    yajl_val bes = gw_json_get(v, "backends");
    for (size_t i = 0; YAJL_IS_ARRAY(bes) && i < YAJL_GET_ARRAY(bes)->len; i++) {
        yajl_val b = YAJL_GET_ARRAY(bes)->values[i];
        printf("%-16s %-8s %-6lld %-12s %s", str_or(b, "name", "?"), str_or(b, "state", "?"),
               int_or(b, "tools", 0), str_or(b, "prefix", ""), str_or(b, "url", "?"));
        const char *err = gw_json_get_string(b, "error");
        printf(err != NULL ? "  (%s)\n" : "\n", err);
    }
    return 0;
}

static int print_version(yajl_val v)
{
    printf("mcpgwctl %s, broker %s\n", PACKAGE_VERSION, str_or(v, "version", "?"));
    return 0;
}

static int print_backends(yajl_val v)
{
    printf("%-16s %-8s %-8s %-6s %-8s %-7s %-9s %-8s %-7s %-8s %-10s %s\n", "BACKEND", "STATE",
           "ERA", "TOOLS", "SESSIONS", "POOLED", "REQUESTS", "ERRORS", "AVG_MS", "WORKERS",
           "RESTARTS", "URL");
    yajl_val bes = gw_json_get(v, "backends");
    for (size_t i = 0; YAJL_IS_ARRAY(bes) && i < YAJL_GET_ARRAY(bes)->len; i++) {
        yajl_val b = YAJL_GET_ARRAY(bes)->values[i];
        yajl_val lat = gw_json_get(b, "latency_ms");
        printf("%-16s %-8s %-8s %-6lld %-8lld %-7lld %-9lld %-8lld %-7.2f %-8lld %-10lld %s",
               str_or(b, "name", "?"), str_or(b, "state", "?"), str_or(b, "era", "?"),
               int_or(b, "tools", 0), int_or(b, "upstream_sessions", 0),
               int_or(b, "pooled_sessions", 0), int_or(b, "requests", 0), int_or(b, "errors", 0),
               YAJL_IS_NUMBER(lat) ? YAJL_GET_DOUBLE(lat) : 0.0, int_or(b, "workers", 1),
               int_or(b, "restarts", 0), str_or(b, "url", "?"));
        const char *err = gw_json_get_string(b, "error");
        printf(err != NULL ? "  (%s)\n" : "\n", err); /* why it is down, as status shows it */
    }
    return 0;
}

static int print_tools(yajl_val v)
{
    printf("%-48s %s\n", "TOOL", "BACKEND");
    yajl_val tools = gw_json_get(v, "tools");
    for (size_t i = 0; YAJL_IS_ARRAY(tools) && i < YAJL_GET_ARRAY(tools)->len; i++) {
        yajl_val t = YAJL_GET_ARRAY(tools)->values[i];
        printf("%-48s %s\n", str_or(t, "name", "?"), str_or(t, "backend", "?"));
    }
    return 0;
}

static void print_session_row(yajl_val s)
{
    const char *subject = str_or(s, "subject", "");
    printf("%-36s %-11lld %-13lld %-11lld %-7s %s\n", str_or(s, "id", "?"), int_or(s, "created", 0),
           int_or(s, "last_activity", 0), int_or(s, "expires", 0),
           YAJL_IS_TRUE(gw_json_get(s, "revoked")) ? "yes" : "no",
           subject[0] != '\0' ? subject : "-");
}

static int print_sessions(yajl_val v)
{
    printf("%-36s %-11s %-13s %-11s %-7s %s\n", "SESSION", "CREATED", "LAST_ACTIVITY", "EXPIRES",
           "REVOKED", "SUBJECT");
    yajl_val list = gw_json_get(v, "sessions");
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < YAJL_GET_ARRAY(list)->len; i++) {
        print_session_row(YAJL_GET_ARRAY(list)->values[i]);
    }
    return 0;
}

static int print_session(yajl_val v)
{
    printf("%-36s %-11s %-13s %-11s %-7s %s\n", "SESSION", "CREATED", "LAST_ACTIVITY", "EXPIRES",
           "REVOKED", "SUBJECT");
    print_session_row(v);
    return 0;
}

static int print_reload(yajl_val v)
{
    printf("reload %s\n", str_or(v, "reload", "done"));
    return 0;
}

static int print_level(yajl_val v)
{
    printf("log level %s in %lld processes\n", str_or(v, "level", "?"), int_or(v, "processes", 0));
    return 0;
}

static int print_drain(yajl_val v)
{
    printf("drain %s\n", str_or(v, "drain", "started"));
    return 0;
}

static int print_killed(yajl_val v)
{
    printf("session %s ended\n", str_or(v, "killed", "?"));
    return 0;
}

static int print_policy(yajl_val v)
{
    const char *rule = str_or(v, "rule", "?");
    printf("target    %s\n", str_or(v, "target", "?"));
    if (strcmp(rule, "default") == 0) {
        printf("rule      none matched: policy.default is %s\n", str_or(v, "default", "?"));
    } else if (strcmp(rule, "none") == 0) {
        printf("rule      no policy: every caller sees everything\n");
    } else {
        printf("rule      %s (policy.rules[%s], line %lld)\n", rule, rule, int_or(v, "line", 0));
    }
    printf("decision  %s\n", str_or(v, "decision", "?"));
    return 0;
}

/* The caller mcpgwctl policy test describes (its options, in any order among the words). */
typedef struct policy_caller {
    const char *subject;
    const char *scopes; /* a,b */
    const char *address;
    const char *claims[32]; /* k=v */
    size_t nclaims;
    int anonymous;
} policy_caller_t;

/* Takes argv[*i] when it is an option of policy test (moving *i past its value); 0 otherwise,
 * -1 for one without its value or too many claims. */
static int take_policy_option(int argc, char **argv, int *i, policy_caller_t *pc)
{
    const char *o = argv[*i];
    const char **slot = strcmp(o, "--subject") == 0   ? &pc->subject
                        : strcmp(o, "--scopes") == 0  ? &pc->scopes
                        : strcmp(o, "--address") == 0 ? &pc->address
                        : strcmp(o, "--claim") == 0   ? &pc->claims[pc->nclaims]
                                                      : NULL;
    if (strcmp(o, "--anonymous") == 0) {
        pc->anonymous = 1;
        return 1;
    }
    if (slot == NULL) {
        return 0;
    }
    if (*i + 1 >= argc || (slot == &pc->claims[pc->nclaims] &&
                           (pc->nclaims + 1 >= sizeof(pc->claims) / sizeof(pc->claims[0]) ||
                            strchr(argv[*i + 1], '=') == NULL))) {
        return -1;
    }
    *slot = argv[++*i];
    pc->nclaims += slot == &pc->claims[pc->nclaims];
    return 1;
}

/* The arguments of policy/test: claims given twice under one name make a list claim. */
static void policy_args(const policy_caller_t *pc, const char *target, gw_buf_t *b)
{
    gw_buf_appends(b, "{\"target\":");
    gw_buf_append_json_string(b, target, strlen(target));
    if (pc->anonymous) {
        gw_buf_appends(b, ",\"anonymous\":true");
    }
    const char *const keys[] = {"subject", "address"};
    const char *const vals[] = {pc->subject, pc->address};
    for (size_t k = 0; k < 2; k++) {
        if (vals[k] != NULL) {
            gw_buf_appendf(b, ",\"%s\":", keys[k]);
            gw_buf_append_json_string(b, vals[k], strlen(vals[k]));
        }
    }
    if (pc->scopes != NULL) {
        char scope[1024];
        snprintf(scope, sizeof(scope), "%s", pc->scopes);
        for (char *c = scope; *c; c++) {
            *c = *c == ',' ? ' ' : *c;
        }
        gw_buf_appends(b, ",\"scopes\":");
        gw_buf_append_json_string(b, scope, strlen(scope));
    }
    gw_buf_appends(b, ",\"claims\":{");
    int first = 1;
    for (size_t i = 0; i < pc->nclaims; i++) {
        size_t klen = (size_t)(strchr(pc->claims[i], '=') - pc->claims[i]);
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = strncmp(pc->claims[j], pc->claims[i], klen + 1) == 0;
        }
        if (seen) {
            continue;
        }
        gw_buf_appends(b, first ? "" : ",");
        first = 0;
        gw_buf_append_json_string(b, pc->claims[i], klen);
        gw_buf_appends(b, ":[");
        for (size_t j = i; j < pc->nclaims; j++) {
            if (strncmp(pc->claims[j], pc->claims[i], klen + 1) == 0) {
                const char *v = pc->claims[j] + klen + 1;
                gw_buf_appends(b, j > i ? "," : "");
                gw_buf_append_json_string(b, v, strlen(v));
            }
        }
        gw_buf_appends(b, "]");
    }
    gw_buf_appends(b, "}}");
}

static const command_t commands[] = {
    {"status", NULL, "processes (pid, role, state) and backends (state, tools, url)", "status",
     NULL, print_status},
    {"backends", NULL,
     "backends: state, era, url, tools, upstream and pooled sessions, requests, errors, latency",
     "backends", NULL, print_backends},
    {"tools", "[--backend NAME]", "the tools clients see, and their backends", "tools", "backend",
     print_tools},
    {"sessions", NULL, "the live gateway sessions", "sessions", NULL, print_sessions},
    {"session show", "ID", "one session", "session/show", "id", print_session},
    {"session kill", "ID", "end a session (as the client's DELETE would)", "session/kill", "id",
     print_killed},
    {"reload", NULL, "apply the configuration file again (servers added, removed, changed)",
     "reload", NULL, print_reload},
    {"drain", NULL, "stop taking new sessions, finish what is in flight, then exit", "drain", NULL,
     print_drain},
    {"log-level", "LEVEL", "log at LEVEL (err, warning, notice, info, debug) in every process",
     "log-level", "level", print_level},
    {"policy test", "[OPTIONS] TARGET",
     "what a caller gets for TARGET (server/name): --subject S | --anonymous, --scopes a,b, "
     "--claim k=v (repeatable), --address A",
     "policy/test", "target", print_policy},
    {"check-config", "FILE", "check a configuration file (no broker needed)", NULL, NULL, NULL},
    {"version", NULL, "the versions of mcpgwctl and of the running broker", "status", NULL,
     print_version},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mcpgwctl [-s SOCKET] [--json] COMMAND\n"
               "  -s, --socket PATH  the broker's control socket (default " DEFAULT_SOCKET ")\n"
               "  -j, --json         print the broker's answer as JSON\n"
               "  -V, --version      print mcpgwctl's version and exit\n"
               "  -h, --help         print this help and exit\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        char w[48];
        snprintf(w, sizeof(w), "%s%s%s", commands[i].words, commands[i].arg ? " " : "",
                 commands[i].arg ? commands[i].arg : "");
        fprintf(f, "  %-30s %s\n", w, commands[i].help);
    }
    fprintf(f, "exit status: 0 done, 1 the command failed, 2 usage error or broker unreachable\n");
}

/* "group mcpgw" or "gid 123" for messages. */
static const char *group_text(gid_t gid, char *out, size_t outlen)
{
    struct group *g = getgrgid(gid);
    if (g != NULL) {
        snprintf(out, outlen, "group %s", g->gr_name);
    } else {
        snprintf(out, outlen, "gid %ld", (long)gid);
    }
    return out;
}

/* Says why the control socket at path cannot be used, after dialing it failed with err. */
static void explain_unreachable(const char *path, gw_err_t err)
{
    struct stat st;
    int have = stat(path, &st) == 0;
    int stat_err = errno;
    char grp[64];
    if (err == GW_EPERM && !have) {
        fprintf(stderr,
                "mcpgwctl: permission denied: %s is in a directory this user cannot enter "
                "(run as root or as a member of the gateway's group)\n",
                path);
    } else if (err == GW_EPERM) {
        fprintf(stderr,
                "mcpgwctl: permission denied on %s (mode %04o, %s): run as root or as a member "
                "of that group\n",
                path, (unsigned)(st.st_mode & 07777), group_text(st.st_gid, grp, sizeof(grp)));
    } else if (!have && (stat_err == ENOENT || stat_err == ENOTDIR)) {
        fprintf(stderr,
                "mcpgwctl: no control socket at %s: mcpgw-broker is not running, or its "
                "control.socket is elsewhere (-s PATH)\n",
                path);
    } else if (have && !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "mcpgwctl: %s is not a socket (control.socket names the broker's)\n", path);
    } else if (err == GW_EUNAVAIL) {
        fprintf(stderr,
                "mcpgwctl: nothing listens on %s: mcpgw-broker is not running (the socket is "
                "left from an earlier run)\n",
                path);
    } else {
        fprintf(stderr, "mcpgwctl: cannot connect to %s: %s\n", path, gw_strerror(err));
    }
}

/* Sends the command and collects the reply's CHUNKs into out; returns the END status or -1. */
static int call_broker(const char *path, const char *method, const gw_buf_t *args, gw_buf_t *out)
{
    char url[GW_IPC_URL_MAX];
    int w = snprintf(url, sizeof(url), "ipc://%s", path);
    if (w < 0 || (size_t)w >= sizeof(url) ||
        strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "mcpgwctl: %s: path too long for a unix socket\n", path);
        return -1;
    }
    /* Waiting for the connection gives the system's answer (missing, refused, denied) at once;
     * the nng dialer would only retry. */
    nng_socket s;
    gw_err_t err = gw_ipc_dial_wait(&s, url);
    if (err != GW_OK) {
        explain_unreachable(path, err);
        return -1;
    }
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .corr = 1};
    e.method = (gw_str_t){method, strlen(method)};
    e.body = (gw_str_t){args->data, args->len};
    int64_t deadline = gw_clock_ms() + REPLY_TIMEOUT_MS;
    int status = -1;
    int sent = 0;
    struct pollfd pfd = {.fd = gw_ipc_recv_fd(s), .events = POLLIN};
    while (gw_clock_ms() < deadline) {
        if (!sent) {
            /* The dial is asynchronous: retry until the pipe is up. */
            sent = gw_ipc_send(s, &e) == GW_OK;
        }
        poll(&pfd, 1, sent ? 100 : 20);
        nng_msg *m = NULL;
        gw_envelope_t r;
        while (gw_ipc_recv(s, &m, &r, NULL) == GW_OK) {
            if (r.kind == GW_ENV_CHUNK) {
                gw_buf_append(out, r.body.ptr, r.body.len);
            } else if (r.kind == GW_ENV_END) {
                status = (int)r.status;
            }
            nng_msg_free(m);
        }
        if (status >= 0) {
            break;
        }
    }
    nng_close(s);
    if (status < 0) {
        fprintf(stderr, "mcpgwctl: no answer from the broker at %s within %d ms\n", path,
                REPLY_TIMEOUT_MS);
    }
    return status;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = DEFAULT_SOCKET;
    int json = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "+s:jVh", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            path = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'V':
            printf("mcpgwctl %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    /* Options may also follow the command ("mcpgwctl status --json"). */
    const char *words[4];
    size_t nwords = 0;
    const char *backend = NULL;
    policy_caller_t pc = {0};
    int taken;
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
            backend = argv[++i];
        } else if ((taken = take_policy_option(argc, argv, &i, &pc)) != 0) {
            if (taken < 0) {
                usage(stderr);
                return 2;
            }
        } else if (nwords < 4) {
            words[nwords++] = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    /* The longest command whose words start the argument list; the next word is its argument. */
    const command_t *cmd = NULL;
    size_t used = 0;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        char joined[64] = "";
        for (size_t k = 0; k < nwords; k++) {
            size_t len = strlen(joined);
            snprintf(joined + len, sizeof(joined) - len, "%s%s", k ? " " : "", words[k]);
            if (strcmp(joined, commands[i].words) == 0 && k + 1 > used) {
                cmd = &commands[i];
                used = k + 1;
            }
        }
    }
    const char *arg = used < nwords ? words[used] : NULL;
    int needs_arg =
        cmd != NULL && cmd->arg != NULL &&
        (cmd->arg[0] != '[' || (cmd->op != NULL && strcmp(cmd->op, "policy/test") == 0));
    if (cmd == NULL || (needs_arg && arg == NULL) || (!needs_arg && arg != NULL) ||
        used + (arg != NULL) != nwords) {
        if (nwords > 0 && cmd == NULL) {
            fprintf(stderr, "mcpgwctl: unknown command: %s\n", words[0]);
        }
        usage(stderr);
        return 2;
    }
    if (cmd->op == NULL) { /* check-config: the same loader the broker uses, here */
        gw_config_t *cfg = NULL;
        char err[512];
        if (gw_config_load(arg, &cfg, err, sizeof(err)) != GW_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("%s: configuration is valid (%zu servers)\n", arg, cfg->nservers);
        gw_config_destroy(cfg);
        return 0;
    }
    gw_buf_t args;
    gw_buf_init(&args);
    const char *value =
        cmd->arg_key != NULL && strcmp(cmd->arg_key, "backend") == 0 ? backend : arg;
    if (strcmp(cmd->op, "policy/test") == 0) {
        policy_args(&pc, arg, &args);
    } else if (cmd->arg_key != NULL && value != NULL) {
        gw_buf_appendf(&args, "{\"%s\":", cmd->arg_key);
        gw_buf_append_json_string(&args, value, strlen(value));
        gw_buf_appends(&args, "}");
    }
    if (gw_buf_status(&args) != GW_OK) {
        fprintf(stderr, "mcpgwctl: out of memory\n");
        gw_buf_fini(&args);
        return 1;
    }
    gw_buf_t out;
    gw_buf_init(&out);
    int status = call_broker(path, cmd->op, &args, &out);
    gw_buf_fini(&args);
    if (status < 0) {
        gw_buf_fini(&out);
        return 2;
    }
    int rc = status == 0 ? 0 : 1;
    if (json) {
        printf("%.*s\n", (int)out.len, out.data ? out.data : "");
    } else {
        char err[128];
        yajl_val v = gw_json_parse(out.data ? out.data : "", out.len, err, sizeof(err));
        if (v == NULL) {
            fprintf(stderr, "mcpgwctl: unreadable answer from the broker: %s\n", err);
            rc = 1;
        } else if (status != 0) {
            fprintf(stderr, "mcpgwctl: %s\n", str_or(v, "error", "the command failed"));
        } else {
            rc = cmd->print(v);
        }
        yajl_tree_free(v);
    }
    gw_buf_fini(&out);
    return rc;
}
