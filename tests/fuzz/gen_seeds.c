/* gen_seeds.c: writes the seeds of the envelope and token fuzz drivers that cannot be typed by
 * hand: real envelopes from gw_env_encode (one per kind of message the processes exchange) and
 * real tokens from gw_token_seal with the fuzz key ring. Run once by `tests/fuzz/run
 * --regen-seeds`, which writes into tests/fuzz/corpus/{envelope,token}/. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/envelope.h"
#include "common/mcp.h"
#include "common/token.h"
#include "tests/fuzz/fuzz.h"

static int write_buf(void *data, const char *buf, size_t len)
{
    return gw_buf_append(data, buf, len) == GW_OK ? 0 : -1;
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gen_seeds: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_envelope(const char *dir, const char *name, const gw_envelope_t *e)
{
    gw_buf_t b;
    gw_envelope_t check;
    gw_buf_init(&b);
    if (gw_env_encode(e, write_buf, &b) != GW_OK || gw_env_decode(b.data, b.len, &check) != GW_OK) {
        fprintf(stderr, "gen_seeds: %s does not round-trip\n", name);
        gw_buf_fini(&b);
        return -1;
    }
    int rc = write_file(dir, name, b.data, b.len);
    gw_buf_fini(&b);
    return rc;
}

#define STR(s) ((gw_str_t){(s), strlen(s)})

static int envelopes(const char *dir)
{
    static const char session[] = "5b0f6a9e-3c1d-4e7a-9b2f-0d8c7e6a5b41";
    int rc = 0;

    /* router -> worker: a tools/call with the prefix already stripped */
    gw_envelope_t call = {.kind = GW_ENV_CALL, .corr = 42, .deadline_ms = 918273645};
    call.session = STR(session);
    call.method = STR("tools/call");
    call.rpc_id = STR("7");
    call.request_id = STR("9f3c2a1b00000001");
    call.origin = STR("router-0");
    call.proto = GW_PROTO_2025_11_25;
    call.caps = GW_CAP_SAMPLING | GW_CAP_ROOTS;
    call.body = STR("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
                    "\"echo\",\"arguments\":{\"text\":\"hello\"},\"_meta\":{\"progressToken\":"
                    "\"p-1\"}}}");
    rc |= write_envelope(dir, "call-tools-call.bin", &call);

    /* router -> broker: initialize (no session yet) */
    gw_envelope_t init = call;
    init.session = GW_STR_NULL;
    init.method = STR("initialize");
    init.rpc_id = STR("\"init-1\"");
    init.body = STR("{\"jsonrpc\":\"2.0\",\"id\":\"init-1\",\"method\":\"initialize\",\"params\":{"
                    "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"roots\":{}},"
                    "\"clientInfo\":{\"name\":\"seed\",\"version\":\"1\"}}}");
    rc |= write_envelope(dir, "call-initialize.bin", &init);

    /* broker -> router: the whole JSON reply in one HEAD with its session header */
    gw_envelope_t head = {.kind = GW_ENV_HEAD, .corr = 42, .status = 200, .flags = GW_ENV_F_FINAL};
    head.origin = STR("broker");
    head.nheaders = 1;
    head.headers[0].name = STR("mcp-session-id");
    head.headers[0].value = STR("AQx7c2VlZC10b2tlbi1ub3QtYS1yZWFsLW9uZS1idXQtc2hhcGVkLWxpa2UtaXQ");
    head.body = STR("{\"jsonrpc\":\"2.0\",\"id\":\"init-1\",\"result\":{\"protocolVersion\":"
                    "\"2025-11-25\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":"
                    "\"mcpgw\",\"version\":\"0.1.0\"}}}");
    rc |= write_envelope(dir, "head-final.bin", &head);

    /* worker -> router: an event stream: HEAD, CHUNK, END */
    gw_envelope_t sse = {.kind = GW_ENV_HEAD, .corr = 43, .status = 200, .flags = GW_ENV_F_SSE};
    sse.origin = STR("worker-beta");
    rc |= write_envelope(dir, "head-sse.bin", &sse);
    gw_envelope_t chunk = {.kind = GW_ENV_CHUNK, .corr = 43};
    chunk.origin = STR("worker-beta");
    chunk.body = STR("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{"
                     "\"progressToken\":\"p-1\",\"progress\":1,\"total\":2}}");
    rc |= write_envelope(dir, "chunk-progress.bin", &chunk);
    gw_envelope_t end = {.kind = GW_ENV_END, .corr = 43};
    end.origin = STR("worker-beta");
    rc |= write_envelope(dir, "end.bin", &end);

    /* a HEAD-less failure: END with a status and a JSON-RPC error */
    gw_envelope_t fail = {.kind = GW_ENV_END, .corr = 44, .status = 502};
    fail.origin = STR("worker-alpha");
    fail.body = STR("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32010,\"message\":"
                    "\"backend alpha unreachable\"}}");
    rc |= write_envelope(dir, "end-failure.bin", &fail);

    /* router -> broker: the routes subscription; worker -> broker: a catalog report */
    gw_envelope_t routes = {.kind = GW_ENV_CONTROL, .corr = 1, .flags = GW_ENV_F_STREAM};
    routes.method = STR("routes");
    routes.origin = STR("router-1");
    routes.body = STR("1");
    rc |= write_envelope(dir, "control-routes.bin", &routes);
    gw_envelope_t catalog = {.kind = GW_ENV_CONTROL, .corr = 2};
    catalog.method = STR("catalog");
    catalog.origin = STR("worker-alpha");
    catalog.body = STR("{\"server\":\"alpha\",\"ok\":true,\"error\":null,\"protocolVersion\":"
                       "\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":"
                       "\"alpha\",\"version\":\"1\"},\"tools\":[{\"name\":\"echo\","
                       "\"inputSchema\":{\"type\":\"object\"}}]}");
    rc |= write_envelope(dir, "control-catalog.bin", &catalog);
    return rc;
}

static int write_token(const char *dir, const char *name, const gw_keyring_t *k,
                       const gw_session_claims_t *c)
{
    char tok[GW_TOKEN_MAX];
    if (gw_token_seal(k, c, tok, sizeof(tok)) != GW_OK) {
        fprintf(stderr, "gen_seeds: cannot seal %s\n", name);
        return -1;
    }
    return write_file(dir, name, tok, strlen(tok));
}

static int tokens(const char *dir)
{
    gw_keyring_t *seal = NULL, *other = NULL, *foreign = NULL;
    int rc = -1;

    if (gw_keyring_from_key(FUZZ_KID_SEAL, fuzz_key_seal, &seal) != GW_OK ||
        gw_keyring_from_key(FUZZ_KID_OTHER, fuzz_key_other, &other) != GW_OK ||
        gw_keyring_from_key(FUZZ_KID_FOREIGN, fuzz_key_foreign, &foreign) != GW_OK) {
        goto out;
    }
    gw_session_claims_t c = {
        .uuid = {0x5b, 0x0f, 0x6a, 0x9e, 0x3c, 0x1d, 0x4e, 0x7a, 0x9b, 0x2f, 0x0d, 0x8c, 0x7e, 0x6a,
                 0x5b, 0x41},
        .issued = FUZZ_NOW - 60,
        .expires = FUZZ_NOW + 86400,
        .proto = GW_PROTO_2025_11_25,
        .caps = GW_CAP_ELICITATION,
    };
    rc = write_token(dir, "fresh.txt", seal, &c);
    snprintf(c.subject, sizeof(c.subject), "alice@example.com");
    c.caps = GW_CAP_SAMPLING | GW_CAP_ELICITATION | GW_CAP_ROOTS;
    rc |= write_token(dir, "subject.txt", seal, &c);
    c.subject[0] = '\0';
    rc |= write_token(dir, "second-key.txt", other, &c);
    rc |= write_token(dir, "foreign-key.txt", foreign, &c);
    c.issued = FUZZ_NOW - 7200;
    c.expires = FUZZ_NOW - 3600;
    rc |= write_token(dir, "expired.txt", seal, &c);
out:
    gw_keyring_destroy(seal);
    gw_keyring_destroy(other);
    gw_keyring_destroy(foreign);
    return rc;
}

int main(int argc, char **argv)
{
    char dir[4096];
    if (argc != 2) {
        fprintf(stderr,
                "usage: gen_seeds CORPUS_DIR (writes CORPUS_DIR/envelope, CORPUS_DIR/token)\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/envelope", argv[1]);
    mkdir(dir, 0755);
    int rc = envelopes(dir);
    snprintf(dir, sizeof(dir), "%s/token", argv[1]);
    mkdir(dir, 0755);
    rc |= tokens(dir);
    return rc == 0 ? 0 : 1;
}
