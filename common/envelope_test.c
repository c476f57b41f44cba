/* envelope_test.c: unit tests of the envelope codec: round trip, zero copy, hostile input. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "common/buf.h"
#include "common/envelope.h"
#include "common/envelope_sample.h"

static void encode(const gw_envelope_t *e, gw_buf_t *b)
{
    gw_buf_init(b);
    assert_int_equal(gw_env_encode(e, sample_append_to_buf, b), GW_OK);
}

static void assert_inside(gw_str_t s, const gw_buf_t *b)
{
    assert_true(s.ptr >= b->data && s.ptr + s.len <= b->data + b->len);
}

static void test_round_trip(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;

    sample_fill(&e);
    encode(&e, &b);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_OK);
    sample_assert_env_same(&e, &d);
    gw_buf_fini(&b);
}

static void test_round_trip_extremes(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;

    memset(&e, 0, sizeof(e)); /* every string empty, every number zero but kind */
    e.kind = GW_ENV_END;
    encode(&e, &b);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_OK);
    sample_assert_env_same(&e, &d);
    gw_buf_fini(&b);

    sample_fill(&e);
    e.kind = GW_ENV_CONTROL;
    e.corr = UINT64_MAX;
    e.deadline_ms = -1;
    e.status = UINT32_MAX;
    e.flags = UINT32_MAX;
    e.proto = 255;
    e.caps = 255;
    e.view = UINT16_MAX;
    e.nheaders = GW_ENV_MAX_HEADERS;
    for (size_t i = 0; i < GW_ENV_MAX_HEADERS; i++) {
        e.headers[i].name = GW_STR("x-h");
        e.headers[i].value = GW_STR("v\0v");
    }
    encode(&e, &b);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_OK);
    sample_assert_env_same(&e, &d);
    gw_buf_fini(&b);

    e.deadline_ms = INT64_MIN;
    encode(&e, &b);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_OK);
    assert_true(d.deadline_ms == INT64_MIN);
    gw_buf_fini(&b);
}

static void test_large_body(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;
    size_t n = 3u << 20;
    char *big = malloc(n);

    assert_non_null(big);
    for (size_t i = 0; i < n; i++) {
        big[i] = (char)(i * 7);
    }
    sample_fill(&e);
    e.body.ptr = big;
    e.body.len = n;
    encode(&e, &b);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_OK);
    sample_assert_env_same(&e, &d);
    gw_buf_fini(&b);
    free(big);
}

static void test_zero_copy(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;

    sample_fill(&e);
    encode(&e, &b);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_OK);
    assert_inside(d.session, &b);
    assert_inside(d.method, &b);
    assert_inside(d.rpc_id, &b);
    assert_inside(d.request_id, &b);
    assert_inside(d.headers[0].name, &b);
    assert_inside(d.headers[0].value, &b);
    assert_inside(d.body, &b);
    assert_inside(d.origin, &b);
    /* the origin is the last string in the message; only the view (a fixint here) follows */
    assert_ptr_equal(d.origin.ptr + d.origin.len + 1, b.data + b.len);
    assert_int_equal(d.view, 3);
    gw_buf_fini(&b);
}

static void test_truncated_every_length(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;

    sample_fill(&e);
    encode(&e, &b);
    for (size_t n = 0; n < b.len; n++) {
        /* a private copy of exactly n bytes lets ASan catch any read past the end */
        char *copy = malloc(n + 1);
        assert_non_null(copy);
        memcpy(copy, b.data, n);
        assert_int_not_equal(gw_env_decode(copy, n, &d), GW_OK);
        free(copy);
    }
    assert_int_equal(gw_env_decode(NULL, 0, &d), GW_EPARSE);
    gw_buf_fini(&b);
}

static void test_trailing_bytes(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;

    sample_fill(&e);
    encode(&e, &b);
    assert_int_equal(gw_buf_append(&b, "\xc0", 1), GW_OK);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_EPARSE);
    gw_buf_fini(&b);
}

static void test_wrong_version(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;

    sample_fill(&e);
    encode(&e, &b);
    assert_int_equal((unsigned char)b.data[0], 0xdc); /* array16 of 16 */
    assert_int_equal(b.data[2], 16);
    assert_int_equal(b.data[3], GW_ENV_VERSION);
    b.data[3] = GW_ENV_VERSION + 1;
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_EPROTO);
    b.data[3] = 0;
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_EPROTO);
    gw_buf_fini(&b);

    /* another version may have another shape: still GW_EPROTO, not GW_EPARSE */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, GW_ENV_VERSION + 1);
    msgpack_pack_nil(&pk);
    msgpack_pack_nil(&pk);
    assert_int_equal(gw_env_decode(sb.data, sb.size, &d), GW_EPROTO);
    msgpack_sbuffer_destroy(&sb);
    /* even when it is too big or cut short for this version */
    static const unsigned char v_next_big[] = {0x92, 0xcd, 0x00, GW_ENV_VERSION + 1, 0xdd, 0x01,
                                               0x00, 0x00, 0x00};
    assert_int_equal(gw_env_decode(v_next_big, sizeof(v_next_big), &d), GW_EPROTO);
}

/* Packs an envelope field by field so single fields can be given the wrong type. */
enum variant { V_GOOD, V_NIL, V_SWAP };

static void pack_field(msgpack_packer *pk, unsigned i, enum variant v, unsigned nheaders)
{
    static const unsigned is_string = 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 14;
    if (v == V_NIL) {
        msgpack_pack_nil(pk);
        return;
    }
    if (v == V_SWAP) { /* a string where a number goes and a number everywhere else */
        if (i == 4 || i == 5 || i == 6 || i == 7 || i == 12 || i == 13 || i == 14) {
            msgpack_pack_uint8(pk, 1);
        } else {
            msgpack_pack_str(pk, 1);
            msgpack_pack_str_body(pk, "1", 1);
        }
        return;
    }
    if (is_string & (1u << i)) {
        msgpack_pack_str(pk, 2);
        msgpack_pack_str_body(pk, "ab", 2);
    } else if (i == 12) {
        msgpack_pack_array(pk, nheaders);
        for (unsigned h = 0; h < nheaders; h++) {
            msgpack_pack_array(pk, 2);
            msgpack_pack_str(pk, 1);
            msgpack_pack_str_body(pk, "n", 1);
            msgpack_pack_str(pk, 1);
            msgpack_pack_str_body(pk, "v", 1);
        }
    } else if (i == 13) {
        msgpack_pack_bin(pk, 3);
        msgpack_pack_bin_body(pk, "a\0b", 3);
    } else if (i == 0) {
        msgpack_pack_uint8(pk, GW_ENV_VERSION);
    } else if (i == 1) {
        msgpack_pack_uint8(pk, GW_ENV_CHUNK);
    } else {
        msgpack_pack_uint8(pk, 7);
    }
}

static gw_err_t decode_packed(unsigned nfields, int bad, enum variant v, unsigned nheaders)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    gw_envelope_t d;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, nfields);
    for (unsigned i = 0; i < nfields; i++) {
        pack_field(&pk, i, (int)i == bad ? v : V_GOOD, nheaders);
    }
    gw_err_t err = gw_env_decode(sb.data, sb.size, &d);
    if (err == GW_OK) {
        assert_int_equal(d.kind, GW_ENV_CHUNK);
        assert_int_equal(d.nheaders, nheaders);
        assert_int_equal(d.body.len, 3);
    }
    msgpack_sbuffer_destroy(&sb);
    return err;
}

static void test_wrong_types(void **state)
{
    assert_int_equal(decode_packed(16, -1, V_GOOD, 1), GW_OK);
    assert_int_equal(decode_packed(16, -1, V_GOOD, 0), GW_OK);
    assert_int_equal(decode_packed(13, -1, V_GOOD, 1), GW_EPARSE);
    assert_int_equal(decode_packed(17, -1, V_GOOD, 1), GW_EPARSE);
    assert_int_equal(decode_packed(0, -1, V_GOOD, 1), GW_EPARSE);
    /* the version is checked first, so a bad one reads as another protocol */
    for (int i = 1; i < 16; i++) {
        assert_int_equal(decode_packed(16, i, V_NIL, 1), GW_EPARSE);
        assert_int_equal(decode_packed(16, i, V_SWAP, 1), GW_EPARSE);
    }
    assert_int_equal(decode_packed(16, 0, V_NIL, 1), GW_EPARSE);
    assert_int_equal(decode_packed(16, 0, V_SWAP, 1), GW_EPARSE);
}

static void test_out_of_range(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;

    sample_fill(&e);
    e.kind = 0;
    encode(&e, &b);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_EPARSE);
    gw_buf_fini(&b);
    e.kind = GW_ENV_CONTROL + 1;
    encode(&e, &b);
    assert_int_equal(gw_env_decode(b.data, b.len, &d), GW_EPARSE);
    gw_buf_fini(&b);
}

static void test_too_many_headers(void **state)
{
    gw_envelope_t e;
    gw_buf_t b;

    assert_int_equal(decode_packed(16, -1, V_GOOD, GW_ENV_MAX_HEADERS), GW_OK);
    assert_int_equal(decode_packed(16, -1, V_GOOD, GW_ENV_MAX_HEADERS + 1), GW_ETOOBIG);
    assert_int_equal(decode_packed(16, -1, V_GOOD, 1000), GW_ETOOBIG);

    sample_fill(&e);
    e.nheaders = GW_ENV_MAX_HEADERS + 1;
    gw_buf_init(&b);
    assert_int_equal(gw_env_encode(&e, sample_append_to_buf, &b), GW_ETOOBIG);
    gw_buf_fini(&b);
}

static void test_hostile_counts(void **state)
{
    gw_envelope_t d;
    /* array32 claiming four billion elements: must fail without trying to allocate them */
    static const unsigned char huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    /* fixarray 15 whose headers are an array32 of 2^24 nils with 2 bytes behind it */
    static const unsigned char huge_headers[] = {0x9f, 0x01, 0x03, 0x00, 0x00, 0xa0, 0xa0,
                                                 0xa0, 0xa0, 0x00, 0x00, 0x00, 0x00, 0xdd,
                                                 0x01, 0x00, 0x00, 0x00, 0xc0, 0xc0};
    static const unsigned char str32[] = {0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
    static const unsigned char never_used[] = {0xc1};
    static const unsigned char deep[] = {
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
        0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0xc0};

    assert_int_not_equal(gw_env_decode(huge_array, sizeof(huge_array), &d), GW_OK);
    assert_int_not_equal(gw_env_decode(huge_headers, sizeof(huge_headers), &d), GW_OK);
    assert_int_equal(gw_env_decode(str32, sizeof(str32), &d), GW_EPARSE);
    assert_int_equal(gw_env_decode(never_used, sizeof(never_used), &d), GW_EPARSE);
    assert_int_equal(gw_env_decode(deep, sizeof(deep), &d), GW_EPARSE);
    assert_int_equal(gw_env_decode("\x01", 1, &d), GW_EPARSE);
}

static void test_mutations_never_crash(void **state)
{
    gw_envelope_t e, d;
    gw_buf_t b;
    unsigned seed = 12345;

    sample_fill(&e);
    encode(&e, &b);
    char *copy = malloc(b.len);
    assert_non_null(copy);
    for (int round = 0; round < 20000; round++) {
        memcpy(copy, b.data, b.len);
        int flips = 1 + (int)(rand_r(&seed) % 4);
        for (int f = 0; f < flips; f++) {
            copy[rand_r(&seed) % b.len] = (char)rand_r(&seed);
        }
        size_t n = b.len - (rand_r(&seed) % 3 == 0 ? rand_r(&seed) % b.len : 0);
        if (gw_env_decode(copy, n, &d) == GW_OK) {
            assert_true(d.nheaders <= GW_ENV_MAX_HEADERS);
            assert_true(d.body.ptr >= copy && d.body.ptr + d.body.len <= copy + n);
        }
    }
    free(copy);
    gw_buf_fini(&b);
}

static int failing_writer(void *data, const char *p, size_t n)
{
    int *calls = data;
    return ++*calls > 3 ? -1 : 0;
}

static void test_writer_failure(void **state)
{
    gw_envelope_t e;
    int calls = 0;

    sample_fill(&e);
    assert_int_not_equal(gw_env_encode(&e, failing_writer, &calls), GW_OK);
}

static void test_str_eq(void **state)
{
    assert_true(gw_str_eq(GW_STR("tools/call"), "tools/call"));
    assert_false(gw_str_eq(GW_STR("tools/call"), "tools/cal"));
    assert_false(gw_str_eq(GW_STR("tools/cal"), "tools/call"));
    assert_false(gw_str_eq(GW_STR("tools/calL"), "tools/call"));
    assert_true(gw_str_eq(GW_STR_NULL, ""));
    assert_true(gw_str_eq(GW_STR(""), ""));
    assert_false(gw_str_eq(GW_STR_NULL, "x"));
    assert_false(gw_str_eq(GW_STR("a\0b"), "a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_extremes),
        cmocka_unit_test(test_large_body),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_hostile_counts),
        cmocka_unit_test(test_mutations_never_crash),
        cmocka_unit_test(test_writer_failure),
        cmocka_unit_test(test_str_eq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
