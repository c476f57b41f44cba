/* fuzz_sse.c: libFuzzer driver for the server-sent events parser (every backend stream a worker
 * relays).
 *
 * Input: byte 0 chooses the split and the limit, the rest is the stream. The stream is fed three
 * ways: whole, in two reads split at a position taken from byte 0, and one byte per read. The
 * parser promises that any split gives the same result, so all three must deliver the same
 * events in the same order and end with the same status. Byte 0's low bit picks a small limit
 * (64 bytes, so that GW_ETOOBIG is exercised) or a large one (1 MiB). */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/sse.h"
#include "tests/fuzz/fuzz.h"

struct sink {
    gw_buf_t events; /* each event as a 4-byte length and its data */
    size_t max;
};

static gw_err_t on_event(void *arg, const char *data, size_t len)
{
    struct sink *s = arg;
    uint32_t n = (uint32_t)len;

    FUZZ_CHECK(len > 0, "an empty event was delivered");
    FUZZ_CHECK(len < s->max, "an event of %zu bytes passed the limit of %zu", len, s->max);
    if (gw_buf_append(&s->events, &n, sizeof(n)) != GW_OK ||
        gw_buf_append(&s->events, data, len) != GW_OK) {
        return GW_ENOMEM;
    }
    return GW_OK;
}

/* Feeds stream in reads that end at the offsets in cuts (ascending, the last one is the stream's
 * length); stops at the first error like the worker does. */
static gw_err_t feed(const char *stream, const size_t *cuts, size_t ncuts, struct sink *sink)
{
    gw_sse_t p;
    gw_err_t err = GW_OK;
    size_t at = 0;

    gw_sse_init(&p, sink->max);
    for (size_t i = 0; i < ncuts && err == GW_OK; i++) {
        err = gw_sse_feed(&p, stream + at, cuts[i] - at, on_event, sink);
        at = cuts[i];
    }
    gw_sse_fini(&p);
    return err;
}

static void check_same(const struct sink *sa, gw_err_t ea, const struct sink *sb, gw_err_t eb,
                       const char *how)
{
    const gw_buf_t *a = &sa->events, *b = &sb->events;

    FUZZ_CHECK(ea == eb, "fed whole the stream ends with %d, fed %s with %d", ea, how, eb);
    FUZZ_CHECK(a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0),
               "fed %s the stream gives other events (%zu vs %zu bytes of events)", how, a->len,
               b->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const char *stream = (const char *)data + 1;
    size_t len = size - 1;
    size_t max = (data[0] & 1) ? 64 : (1u << 20);
    size_t split = len == 0 ? 0 : (size_t)data[0] * len / 255;
    struct sink whole = {.max = max}, two = {.max = max}, bytes = {.max = max};

    gw_buf_init(&whole.events);
    gw_buf_init(&two.events);
    gw_buf_init(&bytes.events);

    size_t one_cut[1] = {len};
    gw_err_t e_whole = feed(stream, one_cut, 1, &whole);
    FUZZ_CHECK(e_whole == GW_OK || e_whole == GW_ETOOBIG, "feed returned %d", e_whole);

    size_t two_cuts[2] = {split, len};
    gw_err_t e_two = feed(stream, two_cuts, 2, &two);
    check_same(&whole, e_whole, &two, e_two, "in two reads");

    if (len <= 4096) {
        size_t cuts[4096];
        for (size_t i = 0; i < len; i++) {
            cuts[i] = i + 1;
        }
        gw_err_t e_bytes = feed(stream, cuts, len, &bytes);
        check_same(&whole, e_whole, &bytes, e_bytes, "byte by byte");
    }

    gw_buf_fini(&whole.events);
    gw_buf_fini(&two.events);
    gw_buf_fini(&bytes.events);
    return 0;
}
