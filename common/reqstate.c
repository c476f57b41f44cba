/* reqstate.c: sealing and opening requestStates (common/reqstate.h). The plaintext, network
 * byte order: version 1 | kind | round | method | caps | expires 8 | issuer tag 8 | subject
 * hash 16 | target hash 16 | server length 1 | server | W: run 8, slot 4, nonce 4 | P: inner
 * length 4, inner. */
#include <config.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#include "common/base64.h"
#include "common/reqstate.h"

#define RS_VERSION 1
#define RS_FIXED (1 + 1 + 1 + 1 + 1 + 8 + GW_ISSUER_TAG_LEN + 2 * GW_REQSTATE_HASH_LEN + 1)
#define RS_WAIT_TAIL (8 + 4 + 4)
#define RS_INFO "mcpgw requestState v1"
#define PREFIX_LEN (sizeof(GW_REQSTATE_PREFIX) - 1)

gw_err_t gw_reqstate_keys(const gw_keyring_t *session_keys, gw_keyring_t **out)
{
    return gw_keyring_derive(session_keys, RS_INFO, out);
}

void gw_reqstate_hash(const char *s, size_t n, uint8_t out[GW_REQSTATE_HASH_LEN])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    if (n == 0) {
        memset(out, 0, GW_REQSTATE_HASH_LEN);
        return;
    }
    SHA256((const unsigned char *)s, n, md);
    memcpy(out, md, GW_REQSTATE_HASH_LEN);
}

static uint8_t *put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = bytes; i-- > 0;) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    return p + bytes;
}

static uint64_t get_be(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static size_t plain_len(const gw_reqstate_t *s, size_t server_len)
{
    return RS_FIXED + server_len + (s->kind == GW_RS_WAIT ? RS_WAIT_TAIL : 4 + s->inner_len);
}

static void to_plain(const gw_reqstate_t *s, size_t server_len, uint8_t *p)
{
    *p++ = RS_VERSION;
    *p++ = s->kind;
    *p++ = s->round;
    *p++ = s->method;
    *p++ = s->caps;
    p = put_be(p, (uint64_t)s->expires, 8);
    memcpy(p, s->issuer_tag, GW_ISSUER_TAG_LEN);
    p += GW_ISSUER_TAG_LEN;
    memcpy(p, s->subject_hash, GW_REQSTATE_HASH_LEN);
    p += GW_REQSTATE_HASH_LEN;
    memcpy(p, s->target_hash, GW_REQSTATE_HASH_LEN);
    p += GW_REQSTATE_HASH_LEN;
    *p++ = (uint8_t)server_len;
    memcpy(p, s->server, server_len);
    p += server_len;
    if (s->kind == GW_RS_WAIT) {
        p = put_be(p, s->worker_run, 8);
        p = put_be(p, s->slot, 4);
        put_be(p, s->slot_nonce, 4);
    } else {
        p = put_be(p, s->inner_len, 4);
        if (s->inner_len > 0) {
            memcpy(p, s->inner, s->inner_len);
        }
    }
}

static int valid_shape(uint8_t kind, uint8_t method)
{
    return (kind == GW_RS_WAIT || kind == GW_RS_PASS) && method >= GW_RS_TOOLS_CALL &&
           method <= GW_RS_RESOURCES_READ;
}

gw_err_t gw_reqstate_seal(const gw_keyring_t *rk, const gw_reqstate_t *s, gw_buf_t *out)
{
    size_t server_len = strnlen(s->server, sizeof(s->server));
    if (!valid_shape(s->kind, s->method) || server_len == 0 ||
        server_len > GW_REQSTATE_SERVER_MAX) {
        return GW_EINVAL;
    }
    if (s->kind == GW_RS_PASS && s->inner_len > GW_REQSTATE_INNER_MAX) {
        return GW_ETOOBIG;
    }
    size_t plen = plain_len(s, server_len);
    size_t rawlen = plen + GW_SEAL_OVERHEAD;
    gw_buf_t tmp; /* plain, then raw after it */
    gw_buf_init(&tmp);
    gw_err_t rc = gw_buf_reserve(&tmp, plen + rawlen);
    if (rc == GW_OK) {
        uint8_t *plain = (uint8_t *)tmp.data;
        uint8_t *raw = plain + plen;
        to_plain(s, server_len, plain);
        rc = gw_keyring_seal(rk, plain, plen, raw);
        OPENSSL_cleanse(plain, plen);
        if (rc == GW_OK && (rc = gw_buf_appends(out, GW_REQSTATE_PREFIX)) == GW_OK &&
            (rc = gw_buf_reserve(out, GW_B64URL_LEN(rawlen))) == GW_OK) {
            out->len += gw_b64url_encode(raw, rawlen, out->data + out->len);
            out->data[out->len] = '\0';
        }
    }
    gw_buf_fini(&tmp);
    return rc;
}

static gw_err_t from_plain(const uint8_t *p, size_t n, gw_reqstate_t *s)
{
    if (n < RS_FIXED || p[0] != RS_VERSION || !valid_shape(p[1], p[3])) {
        return GW_EPARSE;
    }
    memset(s, 0, sizeof(*s));
    s->kind = p[1];
    s->round = p[2];
    s->method = p[3];
    s->caps = p[4];
    s->expires = (int64_t)get_be(p + 5, 8);
    const uint8_t *q = p + 13;
    memcpy(s->issuer_tag, q, GW_ISSUER_TAG_LEN);
    q += GW_ISSUER_TAG_LEN;
    memcpy(s->subject_hash, q, GW_REQSTATE_HASH_LEN);
    q += GW_REQSTATE_HASH_LEN;
    memcpy(s->target_hash, q, GW_REQSTATE_HASH_LEN);
    q += GW_REQSTATE_HASH_LEN;
    size_t server_len = *q++;
    if (server_len == 0 || server_len > GW_REQSTATE_SERVER_MAX ||
        n - RS_FIXED < server_len + (s->kind == GW_RS_WAIT ? RS_WAIT_TAIL : 4)) {
        return GW_EPARSE;
    }
    memcpy(s->server, q, server_len);
    q += server_len;
    size_t rest = n - RS_FIXED - server_len;
    if (s->kind == GW_RS_WAIT) {
        s->worker_run = get_be(q, 8);
        s->slot = (uint32_t)get_be(q + 8, 4);
        s->slot_nonce = (uint32_t)get_be(q + 12, 4);
        return rest == RS_WAIT_TAIL ? GW_OK : GW_EPARSE;
    }
    s->inner_len = (size_t)get_be(q, 4);
    s->inner = q + 4;
    return rest == 4 + s->inner_len ? GW_OK : GW_EPARSE;
}

gw_err_t gw_reqstate_open(const gw_keyring_t *rk, const char *text, size_t len, int64_t now,
                          gw_buf_t *scratch, gw_reqstate_t *out)
{
    size_t raw_max =
        RS_FIXED + GW_REQSTATE_SERVER_MAX + 4 + GW_REQSTATE_INNER_MAX + GW_SEAL_OVERHEAD;
    if (text == NULL || len <= PREFIX_LEN || memcmp(text, GW_REQSTATE_PREFIX, PREFIX_LEN) != 0 ||
        len - PREFIX_LEN > GW_B64URL_LEN(raw_max)) {
        return GW_EPARSE;
    }
    size_t b64len = len - PREFIX_LEN;
    size_t cap = b64len / 4 * 3 + 3;
    gw_buf_reset(scratch);
    gw_err_t rc = gw_buf_reserve(scratch, 2 * cap);
    if (rc != GW_OK) {
        return rc;
    }
    uint8_t *raw = (uint8_t *)scratch->data + cap;
    uint8_t *plain = (uint8_t *)scratch->data;
    size_t rawlen;
    if (gw_b64url_decode(text + PREFIX_LEN, b64len, raw, cap, &rawlen) != 0 ||
        rawlen < GW_SEAL_OVERHEAD + RS_FIXED) {
        return GW_EPARSE;
    }
    if ((rc = gw_keyring_open(rk, raw, rawlen, plain)) != GW_OK) {
        return rc;
    }
    if ((rc = from_plain(plain, rawlen - GW_SEAL_OVERHEAD, out)) != GW_OK) {
        return rc;
    }
    return now >= out->expires ? GW_EEXPIRED : GW_OK;
}

int gw_reqstate_binds(const gw_reqstate_t *s, const uint8_t issuer_tag[GW_ISSUER_TAG_LEN],
                      const char *subject, size_t subject_len, uint8_t method, const char *target,
                      size_t target_len, uint8_t caps)
{
    uint8_t h[GW_REQSTATE_HASH_LEN];
    uint8_t zeros[GW_ISSUER_TAG_LEN] = {0};
    const uint8_t *tag = issuer_tag != NULL ? issuer_tag : zeros;
    if (s->method != method || (s->caps & ~caps) != 0 ||
        CRYPTO_memcmp(s->issuer_tag, tag, GW_ISSUER_TAG_LEN) != 0) {
        return 0;
    }
    gw_reqstate_hash(subject, subject_len, h);
    if (CRYPTO_memcmp(s->subject_hash, h, sizeof(h)) != 0) {
        return 0;
    }
    gw_reqstate_hash(target, target_len, h);
    return CRYPTO_memcmp(s->target_hash, h, sizeof(h)) == 0;
}
