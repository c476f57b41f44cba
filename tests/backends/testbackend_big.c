/* mcpgw-testbackend: the big tool, whose answer is streamed around a filler never built in
 * memory. */

#include "config.h"

#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

#define MAX_BIG_BYTES (16 * 1024 * 1024)
#define BIG_MARKER "@big-data@" /* cannot occur in a name or a known session id */
#define FILLER_IOVECS 16

typedef struct filler_body {
    h2o_generator_t generator;
    tb_server_t *srv;
    h2o_iovec_t head;
    h2o_iovec_t tail;
    size_t filler_left;
} filler_body_t;

static void send_filler_round(filler_body_t *body, h2o_req_t *req)
{
    h2o_iovec_t bufs[FILLER_IOVECS + 2];
    size_t n = 0;
    h2o_send_state_t send_state = H2O_SEND_STATE_IN_PROGRESS;

    if (body->head.len != 0) {
        bufs[n++] = body->head;
        body->head.len = 0;
    }
    while (n < FILLER_IOVECS && body->filler_left != 0) {
        size_t len = body->filler_left < FILLER_CHUNK ? body->filler_left : FILLER_CHUNK;
        bufs[n++] = h2o_iovec_init(body->srv->filler, len);
        body->filler_left -= len;
    }
    if (body->filler_left == 0) {
        bufs[n++] = body->tail;
        send_state = H2O_SEND_STATE_FINAL;
    }
    h2o_send(req, bufs, n, send_state);
}

static void on_filler_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    send_filler_round(H2O_STRUCT_FROM_MEMBER(filler_body_t, generator, generator), req);
}

static void on_filler_dispose(void *p)
{
    filler_body_t *body = p;

    --body->srv->streaming;
}

/* memrchr for a needle: the last occurrence, or NULL. */
static const char *find_last(h2o_iovec_t hay, const char *needle)
{
    size_t len = strlen(needle);

    if (hay.len < len) {
        return NULL;
    }
    for (const char *p = hay.base + hay.len - len;; --p) {
        if (memcmp(p, needle, len) == 0) {
            return p;
        }
        if (p == hay.base) {
            return NULL;
        }
    }
}

/* The answer is built once around a marker, then streamed with the marker replaced by the
 * filler, so megabytes of data are never formatted or copied. */
int tb_tool_big(tb_rpc_call_t *c, yajl_val args)
{
    tb_server_t *srv = c->srv;
    h2o_req_t *req = c->req;
    uint64_t bytes;

    if (!tb_get_uint(json_member(args, "bytes"), MAX_BIG_BYTES, &bytes)) {
        return tb_answer_tool_error(c, "big: \"bytes\" must be an integer from 0 to 16777216");
    }
    yajl_gen t = tb_begin_text(c, "big");
    json_gen_str(t, "data");
    json_gen_str(t, BIG_MARKER);
    h2o_iovec_t json = tb_close_text_answer(c);
    const char *mark = find_last(json, BIG_MARKER);
    if (mark == NULL) {
        return tb_answer_error(c, -32603, h2o_iovec_init(H2O_STRLIT("Internal error")));
    }
    const char *after = mark + strlen(BIG_MARKER);
    h2o_iovec_t empty = h2o_iovec_init(NULL, 0);
    filler_body_t *body = h2o_mem_alloc_shared(&req->pool, sizeof(*body), on_filler_dispose);
    body->generator.proceed = on_filler_proceed;
    body->generator.stop = NULL;
    body->srv = srv;
    body->head =
        tb_concat3(&req->pool, srv->sse ? h2o_iovec_init(H2O_STRLIT(SERVE_SSE_PREFIX)) : empty,
                   h2o_iovec_init(json.base, (size_t)(mark - json.base)), empty);
    body->tail =
        tb_concat3(&req->pool, h2o_iovec_init(after, (size_t)(json.base + json.len - after)),
                   srv->sse ? h2o_iovec_init(H2O_STRLIT(SERVE_SSE_SUFFIX)) : empty, empty);
    body->filler_left = (size_t)bytes;
    ++srv->streaming;
    tb_set_response_head(req, 200, "OK", srv->sse);
    req->res.content_length = body->head.len + body->filler_left + body->tail.len;
    h2o_start_response(req, &body->generator);
    send_filler_round(body, req);
    return 0;
}
