/* fuzz_mcphdr.c: libFuzzer driver for the 2026-07-28 header value rules (every Mcp-Name a client
 * sends goes through gw_mcphdr_decode).
 *
 * Properties checked on every input:
 * - gw_mcphdr_decode returns OK or EINVAL (never anything else with memory to spare), and leaves
 *   the buffer as it was on EINVAL;
 * - an accepted plain value is the input without surrounding SP/HTAB, of VCHAR/SP/HTAB only;
 * - an accepted =?base64?...?= value re-encodes (standard alphabet, padded) to exactly the text
 *   between the markers: one spelling per value, so a check cannot pass on one spelling and a
 *   backend read another;
 * - trimming never grows a value and never leaves SP/HTAB at either end. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/mcphdr.h"
#include "tests/fuzz/fuzz.h"

static void b64_encode(const unsigned char *p, size_t n, gw_buf_t *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {abc[w >> 18 & 63], abc[w >> 12 & 63], i + 1 < n ? abc[w >> 6 & 63] : '=',
                     i + 2 < n ? abc[w & 63] : '='};
        FUZZ_CHECK(gw_buf_append(out, q, 4) == GW_OK, "append");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *v = (const char *)data;
    size_t tn;
    const char *t = gw_mcphdr_trim(v, size, &tn);
    FUZZ_CHECK(tn <= size && t >= v && t + tn <= v + size, "trim outside its input");
    FUZZ_CHECK(tn == 0 || (t[0] != ' ' && t[0] != '\t' && t[tn - 1] != ' ' && t[tn - 1] != '\t'),
               "trim left whitespace");

    gw_buf_t out;
    gw_buf_init(&out);
    FUZZ_CHECK(gw_buf_appends(&out, "pre") == GW_OK, "append");
    gw_err_t err = gw_mcphdr_decode(v, size, &out);
    FUZZ_CHECK(err == GW_OK || err == GW_EINVAL, "decode returned %d", err);
    if (err == GW_EINVAL) {
        FUZZ_CHECK(out.len == 3 && memcmp(out.data, "pre", 3) == 0, "a refusal left bytes");
        gw_buf_fini(&out);
        return 0;
    }
    const char *got = out.data + 3;
    size_t gn = out.len - 3;
    int sentinel = tn >= 11 && memcmp(t, "=?base64?", 9) == 0 && memcmp(t + tn - 2, "?=", 2) == 0;
    if (sentinel) {
        gw_buf_t again;
        gw_buf_init(&again);
        b64_encode((const unsigned char *)got, gn, &again);
        FUZZ_CHECK(again.len == tn - 11 &&
                       memcmp(again.data != NULL ? again.data : "", t + 9, again.len) == 0,
                   "'%.*s' decoded to bytes that encode otherwise", (int)tn, t);
        gw_buf_fini(&again);
    } else {
        FUZZ_CHECK(gn == tn && memcmp(got, t, tn) == 0, "a plain value changed");
        FUZZ_CHECK(gw_mcphdr_chars_ok(got, gn), "a plain value with bad characters passed");
    }
    gw_buf_fini(&out);
    return 0;
}
