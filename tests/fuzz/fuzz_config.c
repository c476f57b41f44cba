/* fuzz_config.c: libFuzzer driver for the configuration parser (gw_config_parse on text in memory:
 * what `mcpgw-broker -t`, start-up and every reload read).
 *
 * Properties checked on every input: the parser returns, leaks nothing (LeakSanitizer), and
 * - on failure, gives no config and one line of error text naming the file: "fuzz.yaml:LINE: ...";
 * - on success, gives a config within the documented limits: at least one listener with a numeric
 *   address, an mcp_path starting with '/', 1..64 routers, a body limit of 1KiB..64MiB, a ttl of
 *   at least 1 s, and servers with valid, unique names, http(s) URLs, valid prefixes and
 *   positive timeouts, each found again by gw_config_server. */
#include <config.h>

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "tests/fuzz/fuzz.h"

#define NAME "fuzz.yaml"

static int all_of(const char *s, const char *extra)
{
    for (; *s != '\0'; s++) {
        int c = (unsigned char)*s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 strchr(extra, c) != NULL;
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

static void check_config(const gw_config_t *c)
{
    unsigned char addr[16];

    FUZZ_CHECK(c->path != NULL && strcmp(c->path, NAME) == 0, "path");
    FUZZ_CHECK(c->nlisten >= 1 && c->listen != NULL, "no listener");
    for (size_t i = 0; i < c->nlisten; i++) {
        const char *a = c->listen[i].address;
        FUZZ_CHECK(a != NULL &&
                       (inet_pton(AF_INET, a, addr) == 1 || inet_pton(AF_INET6, a, addr) == 1),
                   "listen[%zu].address '%s'", i, a ? a : "(null)");
    }
    FUZZ_CHECK(c->mcp_path != NULL && c->mcp_path[0] == '/', "mcp_path");
    FUZZ_CHECK(c->runtime_dir != NULL && c->runtime_dir[0] != '\0', "runtime_dir");
    FUZZ_CHECK(c->key_file != NULL && c->key_file[0] != '\0', "key_file");
    FUZZ_CHECK(c->control_socket != NULL && c->control_socket[0] != '\0', "control socket");
    FUZZ_CHECK(c->routers >= 1 && c->routers <= 64, "routers %u", c->routers);
    FUZZ_CHECK(c->max_request_body >= 1024 && c->max_request_body <= (64u << 20),
               "max_request_body %llu", (unsigned long long)c->max_request_body);
    FUZZ_CHECK(c->session_ttl_s >= 1, "ttl %llu", (unsigned long long)c->session_ttl_s);
    FUZZ_CHECK(c->nservers == 0 || c->servers != NULL, "servers");
    for (size_t i = 0; i < c->nservers; i++) {
        const gw_server_conf_t *s = &c->servers[i];
        FUZZ_CHECK(s->name != NULL && strlen(s->name) >= 1 &&
                       strlen(s->name) <= GW_SERVER_NAME_MAX && all_of(s->name, "_-"),
                   "servers[%zu].name", i);
        FUZZ_CHECK(s->url != NULL && (strncasecmp(s->url, "http://", 7) == 0 ||
                                      strncasecmp(s->url, "https://", 8) == 0),
                   "servers[%zu].url '%s'", i, s->url ? s->url : "(null)");
        FUZZ_CHECK(s->prefix != NULL && strlen(s->prefix) <= GW_PREFIX_MAX &&
                       all_of(s->prefix, "_.-"),
                   "servers[%zu].prefix", i);
        FUZZ_CHECK(s->timeout_ms > 0, "servers[%zu].timeout", i);
        FUZZ_CHECK(s->nheaders == 0 || s->headers != NULL, "servers[%zu].headers", i);
        for (size_t j = 0; j < s->nheaders; j++) {
            FUZZ_CHECK(s->headers[j].name != NULL && s->headers[j].name[0] != '\0' &&
                           s->headers[j].value != NULL,
                       "servers[%zu].headers[%zu]", i, j);
        }
        FUZZ_CHECK(gw_config_server(c, s->name) == s, "servers[%zu] not found by name", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_config_t *c = NULL;
    char err[512];

    memset(err, 'x', sizeof(err));
    gw_err_t rc = gw_config_parse(NAME, (const char *)data, size, &c, err, sizeof(err));
    if (rc != GW_OK) {
        FUZZ_CHECK(c == NULL, "a failed parse returned a config");
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "error text not terminated");
        FUZZ_CHECK(strncmp(err, NAME ":", sizeof(NAME)) == 0, "error text '%s'", err);
        FUZZ_CHECK(rc == GW_ENOMEM || strchr(err, '\n') == NULL, "error text on several lines");
        return 0;
    }
    FUZZ_CHECK(c != NULL, "success without a config");
    check_config(c);
    gw_config_destroy(c);
    return 0;
}
