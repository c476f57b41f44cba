/* envelope.c: msgpack encoding and zero-copy, bounds-checked decoding of gw_envelope_t. */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "common/envelope.h"

/* The wire form is one array: [version, kind, corr, deadline_ms, session, method, rpc_id,
 * request_id, status, flags, proto, caps, [[name, value], ...], body, origin, view]. */
enum {
    F_VERSION,
    F_KIND,
    F_CORR,
    F_DEADLINE,
    F_SESSION,
    F_METHOD,
    F_RPC_ID,
    F_REQUEST_ID,
    F_STATUS,
    F_FLAGS,
    F_PROTO,
    F_CAPS,
    F_HEADERS,
    F_BODY,
    F_ORIGIN,
    F_VIEW,
    F_COUNT
};

/* msgpack-c allocates every array's element table when it reads the array's header, before it
 * knows whether the elements are there; a hostile count would make it allocate gigabytes. The
 * pre-scan bounds the total number of container elements (a valid envelope has fewer than 64). */
#define MAX_ELEMENTS 256
/* Deeper than a valid envelope (3 levels) yet within msgpack-c's own 32-level stack. */
#define MAX_NESTING 8

int gw_str_eq(gw_str_t s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n) {
        return 0;
    }
    return n == 0 || memcmp(s.ptr, lit, n) == 0;
}

static int pack_str(msgpack_packer *pk, gw_str_t s)
{
    if (s.len > UINT32_MAX) {
        return -1;
    }
    if (msgpack_pack_str(pk, s.len) != 0) {
        return -1;
    }
    return s.len == 0 ? 0 : msgpack_pack_str_body(pk, s.ptr, s.len);
}

gw_err_t gw_env_encode(const gw_envelope_t *e, gw_env_write_fn write, void *data)
{
    msgpack_packer pk;
    int r = 0;

    if (e->nheaders > GW_ENV_MAX_HEADERS) {
        return GW_ETOOBIG;
    }
    if (e->body.len > UINT32_MAX) {
        return GW_ETOOBIG;
    }
    msgpack_packer_init(&pk, data, write);
    r |= msgpack_pack_array(&pk, F_COUNT);
    r |= msgpack_pack_uint8(&pk, GW_ENV_VERSION);
    r |= msgpack_pack_uint8(&pk, e->kind);
    r |= msgpack_pack_uint64(&pk, e->corr);
    r |= msgpack_pack_int64(&pk, e->deadline_ms);
    r |= pack_str(&pk, e->session);
    r |= pack_str(&pk, e->method);
    r |= pack_str(&pk, e->rpc_id);
    r |= pack_str(&pk, e->request_id);
    r |= msgpack_pack_uint32(&pk, e->status);
    r |= msgpack_pack_uint32(&pk, e->flags);
    r |= msgpack_pack_uint8(&pk, e->proto);
    r |= msgpack_pack_uint8(&pk, e->caps);
    r |= msgpack_pack_array(&pk, e->nheaders);
    for (size_t i = 0; i < e->nheaders && r == 0; i++) {
        r |= msgpack_pack_array(&pk, 2);
        r |= pack_str(&pk, e->headers[i].name);
        r |= pack_str(&pk, e->headers[i].value);
    }
    r |= msgpack_pack_bin(&pk, e->body.len);
    if (e->body.len > 0) {
        r |= msgpack_pack_bin_body(&pk, e->body.ptr, e->body.len);
    }
    r |= pack_str(&pk, e->origin);
    r |= msgpack_pack_uint16(&pk, e->view);
    /* The writers mcpgw uses (nng_msg, gw_buf_t) fail only when memory runs out; a string over
     * 4 GiB cannot reach here through the limits above and the IPC size limit. */
    return r == 0 ? GW_OK : GW_ENOMEM;
}

static uint64_t read_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

enum mp_class { MP_INVALID = 0, MP_SCALAR, MP_ARRAY, MP_MAP };

/* The msgpack formats 0xc0..0xdf: fixed bytes after the type byte, then the size of a length (or
 * element count) field. */
static const struct mp_format {
    uint8_t fixed;
    uint8_t lenbytes;
    uint8_t cls;
} mp_formats[32] = {
    [0x00] = {0, 0, MP_SCALAR},                              /* nil; 0xc1 is never used */
    [0x02] = {0, 0, MP_SCALAR},  [0x03] = {0, 0, MP_SCALAR}, /* false, true */
    [0x04] = {0, 1, MP_SCALAR},  [0x05] = {0, 2, MP_SCALAR}, /* bin 8/16 */
    [0x06] = {0, 4, MP_SCALAR},  [0x07] = {1, 1, MP_SCALAR}, /* bin 32, ext 8 */
    [0x08] = {1, 2, MP_SCALAR},  [0x09] = {1, 4, MP_SCALAR}, /* ext 16/32 */
    [0x0a] = {4, 0, MP_SCALAR},  [0x0b] = {8, 0, MP_SCALAR}, /* float 32/64 */
    [0x0c] = {1, 0, MP_SCALAR},  [0x0d] = {2, 0, MP_SCALAR}, /* uint 8/16 */
    [0x0e] = {4, 0, MP_SCALAR},  [0x0f] = {8, 0, MP_SCALAR}, /* uint 32/64 */
    [0x10] = {1, 0, MP_SCALAR},  [0x11] = {2, 0, MP_SCALAR}, /* int 8/16 */
    [0x12] = {4, 0, MP_SCALAR},  [0x13] = {8, 0, MP_SCALAR}, /* int 32/64 */
    [0x14] = {2, 0, MP_SCALAR},  [0x15] = {3, 0, MP_SCALAR}, /* fixext 1/2 */
    [0x16] = {5, 0, MP_SCALAR},  [0x17] = {9, 0, MP_SCALAR}, /* fixext 4/8 */
    [0x18] = {17, 0, MP_SCALAR}, [0x19] = {0, 1, MP_SCALAR}, /* fixext 16, str 8 */
    [0x1a] = {0, 2, MP_SCALAR},  [0x1b] = {0, 4, MP_SCALAR}, /* str 16/32 */
    [0x1c] = {0, 2, MP_ARRAY},   [0x1d] = {0, 4, MP_ARRAY},  /* array 16/32 */
    [0x1e] = {0, 2, MP_MAP},     [0x1f] = {0, 4, MP_MAP},    /* map 16/32 */
};

/* Walks one msgpack object without allocating: checks that every length stays inside the
 * buffer, that nesting and the element total stay small, and that nothing follows the object. */
static gw_err_t prescan(const uint8_t *p, size_t len)
{
    uint64_t pending[MAX_NESTING + 1]; /* objects still to read at each nesting level */
    size_t depth = 0, off = 0;
    uint64_t elements = 0;

    pending[0] = 1;
    for (;;) {
        while (pending[depth] == 0) {
            if (depth == 0) {
                return off == len ? GW_OK : GW_EPARSE;
            }
            depth--;
        }
        pending[depth]--;
        if (off >= len) {
            return GW_EPARSE;
        }
        uint8_t t = p[off++];
        struct mp_format f = {0, 0, MP_SCALAR};
        uint64_t n = 0;

        if (t <= 0x7f || t >= 0xe0) {
            /* positive and negative fixint */
        } else if (t <= 0x8f) {
            f.cls = MP_MAP;
            n = t & 0x0f;
        } else if (t <= 0x9f) {
            f.cls = MP_ARRAY;
            n = t & 0x0f;
        } else if (t <= 0xbf) {
            n = t & 0x1f; /* fixstr */
        } else {
            f = mp_formats[t - 0xc0];
            if (f.cls == MP_INVALID || len - off < f.lenbytes) {
                return GW_EPARSE;
            }
            n = read_be(p + off, f.lenbytes);
            off += f.lenbytes;
        }
        if (f.cls == MP_SCALAR) {
            if (f.fixed + n > len - off) {
                return GW_EPARSE;
            }
            off += f.fixed + (size_t)n;
            continue;
        }
        if (f.cls == MP_MAP) {
            n *= 2;
        }
        elements += n;
        if (elements > MAX_ELEMENTS) {
            return GW_ETOOBIG;
        }
        if (n > len - off) {
            return GW_EPARSE;
        }
        if (n > 0) {
            if (depth == MAX_NESTING) {
                return GW_EPARSE;
            }
            pending[++depth] = n;
        }
    }
}

/* Another version may be shaped differently (and trip the limits of this one), so the version
 * is looked at first: an array whose first element is an unsigned integer other than ours. */
static int other_version(const uint8_t *p, size_t len)
{
    size_t off;

    if (len >= 1 && p[0] >= 0x91 && p[0] <= 0x9f) {
        off = 1;
    } else if (len >= 3 && p[0] == 0xdc && (p[1] | p[2]) != 0) {
        off = 3;
    } else if (len >= 5 && p[0] == 0xdd && (p[1] | p[2] | p[3] | p[4]) != 0) {
        off = 5;
    } else {
        return 0;
    }
    if (off >= len) {
        return 0;
    }
    uint8_t t = p[off++];
    if (t <= 0x7f) {
        return t != GW_ENV_VERSION;
    }
    size_t n = t == 0xcc ? 1 : t == 0xcd ? 2 : t == 0xce ? 4 : t == 0xcf ? 8 : 0;
    if (n == 0 || len - off < n) {
        return 0;
    }
    return read_be(p + off, n) != GW_ENV_VERSION;
}

static int get_uint(const msgpack_object *o, uint64_t max, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max) {
        return -1;
    }
    *out = o->via.u64;
    return 0;
}

static int get_str(const msgpack_object *o, gw_str_t *out)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        return -1;
    }
    out->ptr = o->via.str.ptr;
    out->len = o->via.str.size;
    return 0;
}

static gw_err_t decode_headers(const msgpack_object *o, gw_envelope_t *out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        return GW_EPARSE;
    }
    if (o->via.array.size > GW_ENV_MAX_HEADERS) {
        return GW_ETOOBIG;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *pair = &o->via.array.ptr[i];
        if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2) {
            return GW_EPARSE;
        }
        if (get_str(&pair->via.array.ptr[0], &out->headers[i].name) != 0 ||
            get_str(&pair->via.array.ptr[1], &out->headers[i].value) != 0) {
            return GW_EPARSE;
        }
    }
    out->nheaders = o->via.array.size;
    return GW_OK;
}

static gw_err_t decode_fields(const msgpack_object *top, gw_envelope_t *out)
{
    uint64_t v;

    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size == 0) {
        return GW_EPARSE;
    }
    const msgpack_object *f = top->via.array.ptr;
    if (f[F_VERSION].type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
        f[F_VERSION].type != MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return GW_EPARSE;
    }
    if (f[F_VERSION].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        f[F_VERSION].via.u64 != GW_ENV_VERSION) {
        return GW_EPROTO;
    }
    if (top->via.array.size != F_COUNT) {
        return GW_EPARSE;
    }
    if (get_uint(&f[F_KIND], GW_ENV_CONTROL, &v) != 0 || v < GW_ENV_CALL) {
        return GW_EPARSE;
    }
    out->kind = (uint8_t)v;
    if (get_uint(&f[F_CORR], UINT64_MAX, &out->corr) != 0) {
        return GW_EPARSE;
    }
    if (f[F_DEADLINE].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        f[F_DEADLINE].via.u64 <= INT64_MAX) {
        out->deadline_ms = (int64_t)f[F_DEADLINE].via.u64;
    } else if (f[F_DEADLINE].type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        out->deadline_ms = f[F_DEADLINE].via.i64;
    } else {
        return GW_EPARSE;
    }
    if (get_str(&f[F_SESSION], &out->session) != 0 || get_str(&f[F_METHOD], &out->method) != 0 ||
        get_str(&f[F_RPC_ID], &out->rpc_id) != 0 ||
        get_str(&f[F_REQUEST_ID], &out->request_id) != 0 ||
        get_str(&f[F_ORIGIN], &out->origin) != 0) {
        return GW_EPARSE;
    }
    if (get_uint(&f[F_STATUS], UINT32_MAX, &v) != 0) {
        return GW_EPARSE;
    }
    out->status = (uint32_t)v;
    if (get_uint(&f[F_FLAGS], UINT32_MAX, &v) != 0) {
        return GW_EPARSE;
    }
    out->flags = (uint32_t)v;
    if (get_uint(&f[F_PROTO], UINT8_MAX, &v) != 0) {
        return GW_EPARSE;
    }
    out->proto = (uint8_t)v;
    if (get_uint(&f[F_CAPS], UINT8_MAX, &v) != 0) {
        return GW_EPARSE;
    }
    out->caps = (uint8_t)v;
    if (get_uint(&f[F_VIEW], UINT16_MAX, &v) != 0) {
        return GW_EPARSE;
    }
    out->view = (uint16_t)v;
    gw_err_t err = decode_headers(&f[F_HEADERS], out);
    if (err != GW_OK) {
        return err;
    }
    if (f[F_BODY].type != MSGPACK_OBJECT_BIN) {
        return GW_EPARSE;
    }
    out->body.ptr = f[F_BODY].via.bin.ptr;
    out->body.len = f[F_BODY].via.bin.size;
    return GW_OK;
}

gw_err_t gw_env_decode(const void *data, size_t len, gw_envelope_t *out)
{
    msgpack_unpacked u;
    size_t off = 0;
    gw_err_t err;

    memset(out, 0, sizeof(*out));
    if (data == NULL || len == 0) {
        return GW_EPARSE;
    }
    if (other_version(data, len)) {
        return GW_EPROTO;
    }
    err = prescan(data, len);
    if (err != GW_OK) {
        return err;
    }
    msgpack_unpacked_init(&u);
    switch (msgpack_unpack_next(&u, data, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
        err = off == len ? decode_fields(&u.data, out) : GW_EPARSE;
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        err = GW_ENOMEM;
        break;
    default:
        err = GW_EPARSE;
        break;
    }
    /* Strings and bin point into data (msgpack_unpack_next references its input), so the zone
     * holding the object tree can go now. */
    msgpack_unpacked_destroy(&u);
    if (err != GW_OK) {
        memset(out, 0, sizeof(*out));
    }
    return err;
}
