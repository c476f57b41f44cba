/* mcpgw-testbackend: a fast MCP backend server for the gateway's tests and benchmarks: options,
 * startup and shutdown. */

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

#define MAX_REQUEST_BODY (64 * 1024 * 1024)
#define ACCEPT_BATCH 32
#define SHUTDOWN_GRACE_MS 1000
#define DEFAULT_HEARTBEAT_MS 15000
#define MAX_HEARTBEAT_MS 3600000
#define MAX_CAPABILITIES_BYTES (16 * 1024 * 1024)
#define MAX_MANY_TOOLS 100000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mcpgw-testbackend --name NAME [--address ADDR] [--port N] [--sse]\n"
            "                         [--heartbeat MS] [--protocol VERSION] [--misbehave]\n"
            "                         [--capabilities-bytes N] [--caps-tools] [--caps-logging]\n"
            "                         [--many-tools N]\n"
            "\n"
            "An MCP Streamable HTTP server on /mcp for the gateway's tests and benchmarks.\n"
            "  --name NAME     backend name: 1-64 of A-Z a-z 0-9 _ . - (required)\n"
            "  --address ADDR  IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
            "  --port N        TCP port; 0 picks a free one (default 0)\n"
            "  --sse           answer every request as text/event-stream\n"
            "  --heartbeat MS  a comment on GET streams idle for MS ms; 0: none\n"
            "                  (default 15000)\n"
            "  --protocol VERSION  speak only this revision (2025-03-26, 2025-06-18 or\n"
            "                  2025-11-25): initialize answers it, other MCP-Protocol-Version\n"
            "                  headers get 400\n"
            "  --capabilities-bytes N  pad the capabilities initialize answers to N bytes\n"
            "                  (up to 16777216) with an experimental member\n"
            "  --hang-up PATH  connect to the unix socket PATH, close at once and exit\n"
            "                  (a peer that hangs up mid-handshake)\n"
            "  --misbehave     add the tools wrong_id, not_json, bad_event, second_response\n"
            "                  and flood, which answer as a gateway must refuse or bound\n"
            "  --caps-tools    list the tool sample_me only to sessions whose client declared\n"
            "                  sampling at initialize (and answer it only to them)\n"
            "  --caps-logging  offer the logging capability at initialize\n"
            "  --many-tools N  list N more tools, t00000 and on (up to 100000), that are only\n"
            "                  listed (list benchmarks); calling one is an unknown tool\n"
            "  --help          show this help\n"
            "\n"
            "Prints \"listening port=N\" once listening; GET /stats shows counters.\n");
}

static int valid_name(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > MAX_NAME_LEN) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        char ch = name[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-')) {
            return 0;
        }
    }
    return 1;
}

/* --hang-up PATH: connects to the unix socket at PATH and closes at once, before its listener
 * can greet; what wedges an nng 1.5.2 listener (tests/integration/wedge.test.mjs). */
static int hang_up(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "mcpgw-testbackend: --hang-up %s: path too long\n", path);
        return 2;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "mcpgw-testbackend: --hang-up %s: %s\n", path, strerror(errno));
        return 1;
    }
    close(fd);
    return 0;
}

/* The decimal value of option opt, from 0 to max; -1 (with a message) when it is not one. */
static int parse_count(const char *opt, const char *arg, unsigned long max, const char *what,
                       unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(arg, &end, 10);
    if (errno != 0 || *arg == '\0' || *end != '\0' || *out > max) {
        fprintf(stderr, "mcpgw-testbackend: %s %s: not %s up to %lu\n", opt, arg, what, max);
        return -1;
    }
    return 0;
}

static int parse_args(tb_server_t *srv, int argc, char **argv, const char **address, uint16_t *port)
{
    static const struct option options[] = {
        {"name", required_argument, NULL, 'n'},
        {"address", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"sse", no_argument, NULL, 's'},
        {"heartbeat", required_argument, NULL, 'b'},
        {"protocol", required_argument, NULL, 'P'},
        {"capabilities-bytes", required_argument, NULL, 'C'},
        {"hang-up", required_argument, NULL, 'U'},
        {"misbehave", no_argument, NULL, 'M'},
        {"caps-tools", no_argument, NULL, 'S'},
        {"caps-logging", no_argument, NULL, 'L'},
        {"many-tools", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        unsigned long n;
        switch (opt) {
        case 'n':
            srv->name = optarg;
            break;
        case 'a':
            *address = optarg;
            break;
        case 'p':
            if (serve_parse_port("mcpgw-testbackend", optarg, port) != 0) {
                return 2;
            }
            break;
        case 's':
            srv->sse = 1;
            break;
        case 'M':
            srv->misbehave = 1;
            break;
        case 'S':
            srv->caps_tools = 1;
            break;
        case 'L':
            srv->caps_logging = 1;
            break;
        case 'T':
            if (parse_count("--many-tools", optarg, MAX_MANY_TOOLS, "a number of tools", &n) != 0) {
                return 2;
            }
            srv->many_tools = (unsigned)n;
            break;
        case 'b':
            if (parse_count("--heartbeat", optarg, MAX_HEARTBEAT_MS, "a number of ms", &n) != 0) {
                return 2;
            }
            srv->heartbeat_ms = n;
            break;
        case 'C':
            if (parse_count("--capabilities-bytes", optarg, MAX_CAPABILITIES_BYTES, "a size", &n) !=
                0) {
                return 2;
            }
            srv->capabilities_bytes = n;
            break;
        case 'U':
            return hang_up(optarg);
        case 'P':
            srv->protocol = NULL;
            for (size_t i = 0; i != TB_NVERSIONS; ++i) {
                if (strcmp(optarg, tb_supported_versions[i]) == 0) {
                    srv->protocol = tb_supported_versions[i];
                }
            }
            if (srv->protocol == NULL) {
                fprintf(stderr, "mcpgw-testbackend: --protocol %s: not a revision it knows\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (srv->name == NULL || !valid_name(srv->name)) {
        fprintf(stderr, "mcpgw-testbackend: --name must be 1-64 of A-Z a-z 0-9 _ . -\n");
        return 2;
    }
    srv->name_len = strlen(srv->name);
    return -1;
}

int main(int argc, char **argv)
{
    /* static: whatever h2o still holds at exit stays reachable for leak checkers */
    static tb_server_t srv;
    const char *address = "127.0.0.1";
    uint16_t port = 0;
    int rc, listen_fd;

    srv.heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    if ((rc = parse_args(&srv, argc, argv, &address, &port)) != -1) {
        return rc;
    }
    if (serve_install_signals() != 0) {
        fprintf(stderr, "mcpgw-testbackend: sigaction: %s\n", strerror(errno));
        return 1;
    }
    if ((listen_fd = serve_listen("mcpgw-testbackend", address, port, 0)) == -1) {
        return 1;
    }
    memset(srv.filler, 'x', sizeof(srv.filler));
    srv.out = yajl_gen_alloc(NULL);
    srv.text = yajl_gen_alloc(NULL);
    if (srv.out == NULL || srv.text == NULL || tb_session_table_init(&srv.sessions) != 0 ||
        tb_tools_list_build(&srv, 0, 0, &srv.tools_list) != 0 ||
        tb_tools_list_build(&srv, 1, 0, &srv.tools_list_extra) != 0 ||
        tb_tools_list_build(&srv, 0, 1, &srv.tools_list_sampling) != 0 ||
        tb_tools_list_build(&srv, 1, 1, &srv.tools_list_extra_sampling) != 0 ||
        tb_rpc_capabilities_build(&srv) != 0) {
        fprintf(stderr, "mcpgw-testbackend: out of memory\n");
        return 1;
    }

    serve_init(&srv.serve, "mcpgw-testbackend", ACCEPT_BATCH, MAX_REQUEST_BODY, tb_http_on_req);
    tb_timer_levels_init(&srv);
    serve_start(&srv.serve, listen_fd);
    serve_run_until_signalled(&srv.serve);

    /* the listener is closed: end the GET streams, give streaming responses a moment, leave */
    tb_each_stream(&srv, tb_stream_end);
    serve_drain(&srv.serve, &srv.streaming, SHUTDOWN_GRACE_MS);
    h2o_evloop_run(srv.serve.loop, 0); /* let the closed listener go */

    if (!serve_has_connections(&srv.serve) && tb_timer_levels_idle(&srv)) {
        tb_timer_levels_dispose(&srv);
        serve_dispose(&srv.serve);
    }
    tb_session_table_fini(&srv.sessions);
    yajl_gen_free(srv.out);
    yajl_gen_free(srv.text);
    free(srv.scratch);
    free(srv.tools_list.base);
    free(srv.tools_list_extra.base);
    free(srv.tools_list_sampling.base);
    free(srv.tools_list_extra_sampling.base);
    free(srv.capabilities.base);
    return 0;
}
