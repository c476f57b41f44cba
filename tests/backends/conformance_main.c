/* mcpgw-conformance: an MCP backend with exactly what the official conformance suite's server
 * scenarios call, so the suite can run through the gateway (tests/conformance/run): options,
 * startup and shutdown. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

#define MAX_REQUEST_BODY (4 * 1024 * 1024)
#define SHUTDOWN_GRACE_MS 1000
#define ACCEPT_BATCH 16

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [--address ADDR] [--port N] [--era legacy|modern|dual] [--help]\n"
            "\n"
            "An MCP Streamable HTTP server on /mcp implementing the tools, prompts, resources and\n"
            "utilities the official conformance suite's server scenarios call.\n"
            "  --address ADDR  loopback IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
            "  --port N        TCP port; 0 picks a free one (default 0)\n"
            "  --era ERA       legacy: the 2025 revisions, with sessions (the default);\n"
            "                  modern: 2026-07-28 only, no initialize, no sessions;\n"
            "                  dual: both, decided per POST by the body's _meta claim\n"
            "  --help          show this help\n"
            "\n"
            "Prints \"listening port=N\" once listening; SIGTERM or SIGINT stops it.\n");
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **address, uint16_t *port, enum cf_era *era)
{
    static const struct option options[] = {
        {"address", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"era", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'a':
            *address = optarg;
            break;
        case 'p':
            if (serve_parse_port(PROGRAM, optarg, port) != 0) {
                return 2;
            }
            break;
        case 'e':
            if (strcmp(optarg, "legacy") == 0) {
                *era = CF_ERA_LEGACY;
            } else if (strcmp(optarg, "modern") == 0) {
                *era = CF_ERA_MODERN;
            } else if (strcmp(optarg, "dual") == 0) {
                *era = CF_ERA_DUAL;
            } else {
                fprintf(stderr, PROGRAM ": --era: legacy, modern or dual, not '%s'\n", optarg);
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
    return -1;
}

int main(int argc, char **argv)
{
    static cf_server_t srv; /* static: what h2o still holds at exit stays reachable */
    const char *address = "127.0.0.1";
    uint16_t port = 0;
    int rc, fd;

    if ((rc = parse_args(argc, argv, &address, &port, &srv.era)) != -1) {
        return rc;
    }
    srv.address = address;
    if (getrandom(srv.state_key, sizeof(srv.state_key), 0) != (ssize_t)sizeof(srv.state_key)) {
        fprintf(stderr, PROGRAM ": getrandom: %s\n", strerror(errno));
        return 1;
    }
    if (serve_install_signals() != 0) {
        fprintf(stderr, PROGRAM ": sigaction: %s\n", strerror(errno));
        return 1;
    }
    if (cf_tools_parse_constants(&srv) != 0 ||
        (fd = serve_listen(PROGRAM, address, port, 1)) == -1) {
        return 1;
    }

    serve_init(&srv.serve, PROGRAM, ACCEPT_BATCH, MAX_REQUEST_BODY, cf_http_on_req);
    h2o_timeout_init(srv.serve.loop, &srv.step_timeout, STEP_MS);
    h2o_timeout_init(srv.serve.loop, &srv.heartbeat_timeout, LISTEN_HEARTBEAT_MS);
    serve_start(&srv.serve, fd);
    serve_run_until_signalled(&srv.serve);

    /* the listener is closed: end every session and listen (closing its streams), let them
     * drain */
    while (srv.sessions != NULL) {
        cf_session_end(srv.sessions);
    }
    cf_listen_end_all(&srv);
    serve_drain(&srv.serve, &srv.open_streams, SHUTDOWN_GRACE_MS);
    cf_tools_free_constants(&srv);
    return 0;
}
