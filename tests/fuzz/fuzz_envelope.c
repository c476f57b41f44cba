/* fuzz_envelope.c: libFuzzer driver for the inter-process envelope decoder (every message a
 * process receives from another).
 *
 * Properties checked on every input:
 * - gw_env_decode returns OK, EPARSE, EPROTO or ETOOBIG and leaves *out zeroed when it fails;
 * - on success every string and the body point inside the input, kind is a known kind and there
 *   are at most GW_ENV_MAX_HEADERS headers;
 * - re-encoding a decoded envelope and decoding that gives the same envelope, and encoding is
 *   deterministic (the second encoding is byte for byte the first). */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/envelope.h"
#include "tests/fuzz/fuzz.h"

static int write_buf(void *data, const char *buf, size_t len)
{
    return gw_buf_append(data, buf, len) == GW_OK ? 0 : -1;
}

static void check_inside(gw_str_t s, const uint8_t *data, size_t size, const char *what)
{
    if (s.len == 0) {
        return;
    }
    const uint8_t *p = (const uint8_t *)s.ptr;
    FUZZ_CHECK(p >= data && s.len <= size && p <= data + size - s.len,
               "%s (%zu bytes) points outside the input", what, s.len);
}

static int str_same(gw_str_t a, gw_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_same(const gw_envelope_t *a, const gw_envelope_t *b)
{
    FUZZ_CHECK(a->kind == b->kind && a->corr == b->corr && a->deadline_ms == b->deadline_ms,
               "kind/corr/deadline changed in a round trip");
    FUZZ_CHECK(a->status == b->status && a->flags == b->flags && a->proto == b->proto &&
                   a->caps == b->caps,
               "status/flags/proto/caps changed in a round trip");
    FUZZ_CHECK(str_same(a->session, b->session) && str_same(a->method, b->method) &&
                   str_same(a->rpc_id, b->rpc_id) && str_same(a->request_id, b->request_id) &&
                   str_same(a->origin, b->origin) && str_same(a->body, b->body),
               "a string changed in a round trip");
    FUZZ_CHECK(a->nheaders == b->nheaders, "header count %zu became %zu", a->nheaders, b->nheaders);
    for (size_t i = 0; i < a->nheaders; i++) {
        FUZZ_CHECK(str_same(a->headers[i].name, b->headers[i].name) &&
                       str_same(a->headers[i].value, b->headers[i].value),
                   "header %zu changed in a round trip", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_envelope_t e, again, third;
    gw_buf_t enc, enc2;

    gw_err_t err = gw_env_decode(data, size, &e);
    FUZZ_CHECK(err == GW_OK || err == GW_EPARSE || err == GW_EPROTO || err == GW_ETOOBIG,
               "decode returned %d", err);
    if (err != GW_OK) {
        static const gw_envelope_t zero;
        FUZZ_CHECK(memcmp(&e, &zero, sizeof(e)) == 0, "a failed decode left fields set");
        return 0;
    }
    FUZZ_CHECK(e.kind >= GW_ENV_CALL && e.kind <= GW_ENV_CONTROL, "kind %u", e.kind);
    FUZZ_CHECK(e.nheaders <= GW_ENV_MAX_HEADERS, "%zu headers", e.nheaders);
    check_inside(e.session, data, size, "session");
    check_inside(e.method, data, size, "method");
    check_inside(e.rpc_id, data, size, "rpc_id");
    check_inside(e.request_id, data, size, "request_id");
    check_inside(e.origin, data, size, "origin");
    check_inside(e.body, data, size, "body");
    for (size_t i = 0; i < e.nheaders; i++) {
        check_inside(e.headers[i].name, data, size, "header name");
        check_inside(e.headers[i].value, data, size, "header value");
    }

    gw_buf_init(&enc);
    gw_buf_init(&enc2);
    FUZZ_CHECK(gw_env_encode(&e, write_buf, &enc) == GW_OK, "re-encoding a decoded envelope");
    err = gw_env_decode(enc.data, enc.len, &again);
    FUZZ_CHECK(err == GW_OK, "decoding the re-encoding failed (%d)", err);
    check_same(&e, &again);

    FUZZ_CHECK(gw_env_encode(&again, write_buf, &enc2) == GW_OK, "encoding the round trip");
    FUZZ_CHECK(enc.len == enc2.len && memcmp(enc.data, enc2.data, enc.len) == 0,
               "encoding is not deterministic");
    err = gw_env_decode(enc2.data, enc2.len, &third);
    FUZZ_CHECK(err == GW_OK, "third decode (%d)", err);
    check_same(&e, &third);
    gw_buf_fini(&enc);
    gw_buf_fini(&enc2);
    return 0;
}
