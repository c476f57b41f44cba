/* fuzz_result_shape.c: libFuzzer driver for the rewrites of backend answers between eras
 * (worker/result_shape.c: what every answer of an old-era backend to a 2026-07-28 caller, and of
 * a modern backend to a 2025 session, goes through). Inputs that gw_rpc_scan does not call a
 * response are skipped: the worker rewrites nothing else.
 *
 * Properties checked on every response: each rewrite returns; what it rewrites is still one
 * JSON-RPC response with the same id bytes; and rewriting that again changes nothing (the
 * fields are there, or gone, once). */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/jsonrpc.h"
#include "tests/fuzz/fuzz.h"
#include "worker/result_shape.h"

static void check_rewritten(const char *in, const gw_rpc_t *before, const gw_buf_t *out)
{
    gw_rpc_t after;
    FUZZ_CHECK(gw_rpc_scan(out->data, out->len, GW_RPC_DEFAULT_MAX_DEPTH, &after) == GW_OK,
               "the rewrite is not JSON: %.200s", out->data);
    FUZZ_CHECK(after.kind == GW_MSG_RESPONSE, "the rewrite is no response: %.200s", out->data);
    FUZZ_CHECK(after.id.len == before->id.len &&
                   memcmp(out->data + after.id.off, in + before->id.off, after.id.len) == 0,
               "the id changed: %.200s", out->data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    gw_rpc_t rpc;
    if (gw_rpc_scan(in, size, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.kind != GW_MSG_RESPONSE) {
        return 0;
    }
    static const char uri[] = "\"test://x\"";
    gw_buf_t out, again;
    gw_buf_init(&out);
    gw_buf_init(&again);
    for (int cacheable = 0; cacheable <= 1; cacheable++) {
        gw_buf_reset(&out);
        if (wrk_shape_for_modern(in, size, cacheable, uri, sizeof(uri) - 1, &out) ==
            WRK_SHAPE_REWRITTEN) {
            check_rewritten(in, &rpc, &out);
            gw_buf_reset(&again);
            wrk_shape_rc_t rc =
                wrk_shape_for_modern(out.data, out.len, cacheable, uri, sizeof(uri) - 1, &again);
            FUZZ_CHECK(rc == WRK_SHAPE_SAME, "not idempotent (%d): %.200s", rc, out.data);
        }
    }
    gw_buf_reset(&out);
    if (wrk_shape_for_legacy(in, size, &out) == WRK_SHAPE_REWRITTEN) {
        check_rewritten(in, &rpc, &out);
        gw_buf_reset(&again);
        wrk_shape_rc_t rc = wrk_shape_for_legacy(out.data, out.len, &again);
        FUZZ_CHECK(rc == WRK_SHAPE_SAME, "not idempotent (%d): %.200s", rc, out.data);
    }
    gw_buf_fini(&out);
    gw_buf_fini(&again);
    return 0;
}
