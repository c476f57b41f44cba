/* token.c: sealing and opening gateway session tokens with AES-256-GCM, and their key file. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/base64.h"
#include "common/hex.h"
#include "common/token.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define PLAIN_VERSION 3
/* version, uuid, issued, expires, proto, caps, issuer tag, endpoint, subject length */
#define PLAIN_FIXED (1 + 16 + 8 + 8 + 1 + 1 + GW_ISSUER_TAG_LEN + 1 + 1)
#define PLAIN_V2_FIXED (1 + 16 + 8 + 8 + 1 + 1 + GW_ISSUER_TAG_LEN + 1) /* no endpoint */
#define PLAIN_V1_FIXED (1 + 16 + 8 + 8 + 1 + 1 + 1) /* version 1 had no issuer tag either */
#define PLAIN_MAX (PLAIN_FIXED + GW_SUBJECT_MAX - 1)
#define RAW_MIN (GW_SEAL_OVERHEAD + PLAIN_V1_FIXED)
#define RAW_MAX (1 + NONCE_LEN + PLAIN_MAX + TAG_LEN)
/* A key file is a few lines; anything bigger is not one. */
#define KEYFILE_MAX (64 * 1024)

struct gw_keyring {
    EVP_CIPHER *cipher; /* fetched once: implicit fetches on every token cost more than AES */
    uint8_t seal_kid;
    uint8_t present[256];
    uint8_t key[256][KEY_LEN];
};

static gw_keyring_t *keyring_new(void)
{
    gw_keyring_t *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return NULL;
    }
    k->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (k->cipher == NULL) {
        free(k);
        return NULL;
    }
    return k;
}

void gw_keyring_destroy(gw_keyring_t *k)
{
    if (k == NULL) {
        return;
    }
    EVP_CIPHER_free(k->cipher);
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

gw_err_t gw_keyring_from_key(uint8_t kid, const uint8_t key[32], gw_keyring_t **out)
{
    *out = NULL;
    if (kid == 0) {
        return GW_EINVAL;
    }
    gw_keyring_t *k = keyring_new();
    if (k == NULL) {
        return GW_ENOMEM;
    }
    k->seal_kid = kid;
    k->present[kid] = 1;
    memcpy(k->key[kid], key, KEY_LEN);
    *out = k;
    return GW_OK;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one "<kid> <64 hex digits>" line (without its newline) into k. */
static const char *parse_key_line(gw_keyring_t *k, const char *p, const char *end)
{
    unsigned kid = 0;
    size_t ndigits = 0;
    uint8_t key[KEY_LEN];

    while (p < end && *p >= '0' && *p <= '9') {
        kid = kid * 10 + (unsigned)(*p++ - '0');
        if (++ndigits > 3) {
            return "key id must be 1..255";
        }
    }
    if (ndigits == 0 || !(p < end && is_blank(*p))) {
        return "expected \"<kid> <64 hex digits>\"";
    }
    if (kid < 1 || kid > 255) {
        return "key id must be 1..255";
    }
    while (p < end && is_blank(*p)) {
        p++;
    }
    if (end - p < 2 * KEY_LEN) {
        return "key must be 64 hex digits";
    }
    for (size_t i = 0; i < KEY_LEN; i++) {
        int hi = gw_hex_value(p[2 * i]), lo = gw_hex_value(p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key, sizeof(key));
            return "key must be 64 hex digits";
        }
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    p += 2 * KEY_LEN;
    while (p < end && is_blank(*p)) {
        p++;
    }
    if (p != end) {
        OPENSSL_cleanse(key, sizeof(key));
        return "key must be 64 hex digits";
    }
    if (k->present[kid]) {
        OPENSSL_cleanse(key, sizeof(key));
        return "duplicate key id";
    }
    k->present[kid] = 1;
    memcpy(k->key[kid], key, KEY_LEN);
    OPENSSL_cleanse(key, sizeof(key));
    if (k->seal_kid == 0) {
        k->seal_kid = (uint8_t)kid;
    }
    return NULL;
}

static gw_err_t parse_keyfile(const char *path, const char *text, size_t len, gw_keyring_t *k,
                              char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    unsigned line = 0;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol != NULL ? eol + 1 : end;
        if (eol == NULL) {
            eol = end;
        }
        line++;
        while (p < eol && is_blank(*p)) {
            p++;
        }
        if (p < eol && *p != '#') {
            const char *why = parse_key_line(k, p, eol);
            if (why != NULL) {
                set_err(err, errlen, "%s:%u: %s", path, line, why);
                return GW_EPARSE;
            }
        }
        p = next;
    }
    if (k->seal_kid == 0) {
        set_err(err, errlen, "%s: no keys", path);
        return GW_EPARSE;
    }
    return GW_OK;
}

static gw_err_t write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return GW_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return GW_OK;
}

static void sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : (slash == path ? 1 : (size_t)(slash - path));

    if (n >= sizeof(dir)) {
        return;
    }
    if (slash == NULL) {
        dir[0] = '.';
    } else {
        memcpy(dir, path, n);
    }
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Writes a new one-key file. The key is written to a private temporary file (O_CREAT|O_EXCL,
 * 0600), synced, then linked into place: link() never replaces, so when two processes race
 * exactly one file wins and nobody ever reads a half-written one. */
static gw_err_t create_keyfile(const char *path, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    char text[160];
    uint8_t key[KEY_LEN];
    int fd = -1, n;
    gw_err_t rc = GW_EIO;

    n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        set_err(err, errlen, "%s: path too long", path);
        return GW_ETOOBIG;
    }
    if (RAND_bytes(key, sizeof(key)) != 1) {
        set_err(err, errlen, "%s: no random bytes for a new key", path);
        return GW_EIO;
    }
    n = snprintf(text, sizeof(text),
                 "# mcpgw session token keys: \"<kid> <64 hex digits>\"; the first seals, all "
                 "open.\n1 ");
    for (size_t i = 0; i < KEY_LEN; i++) {
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%02x", key[i]);
    }
    text[n++] = '\n';
    OPENSSL_cleanse(key, sizeof(key));

    (void)unlink(tmp); /* a leftover of a crashed process with our pid */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        set_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    if (write_all(fd, text, (size_t)n) != GW_OK || fsync(fd) != 0) {
        set_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        set_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (link(tmp, path) != 0 && errno != EEXIST) {
        set_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    sync_parent_dir(path);
    rc = GW_OK;
out:
    OPENSSL_cleanse(text, sizeof(text));
    if (fd >= 0) {
        close(fd);
    }
    (void)unlink(tmp);
    return rc;
}

static gw_err_t read_keyfile(int fd, const char *path, char *buf, size_t cap, size_t *len,
                             char *err, size_t errlen)
{
    struct stat st;
    size_t n = 0;

    if (fstat(fd, &st) != 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return GW_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        return GW_EINVAL;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        set_err(err, errlen,
                "%s: mode %04o gives group or others access to the session keys; chmod 600 it",
                path, (unsigned)(st.st_mode & 07777));
        return GW_EINVAL;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            set_err(err, errlen, "%s: %s", path, strerror(errno));
            return GW_EIO;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n == cap) {
            set_err(err, errlen, "%s: larger than %d bytes, not a key file", path, KEYFILE_MAX);
            return GW_ETOOBIG;
        }
    }
    *len = n;
    return GW_OK;
}

gw_err_t gw_keyring_load(const char *path, int create, gw_keyring_t **out, char *err, size_t errlen)
{
    gw_keyring_t *k = NULL;
    char *text = NULL;
    size_t len = 0;
    int fd;
    gw_err_t rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        rc = create_keyfile(path, err, errlen);
        if (rc != GW_OK) {
            return rc;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? GW_ENOTFOUND : GW_EIO;
    }
    text = malloc(KEYFILE_MAX);
    k = keyring_new();
    if (text == NULL || k == NULL) {
        set_err(err, errlen, "%s: out of memory", path);
        rc = GW_ENOMEM;
        goto out;
    }
    rc = read_keyfile(fd, path, text, KEYFILE_MAX, &len, err, errlen);
    if (rc != GW_OK) {
        goto out;
    }
    rc = parse_keyfile(path, text, len, k, err, errlen);
    if (rc != GW_OK) {
        goto out;
    }
    *out = k;
    k = NULL;
out:
    if (text != NULL) {
        OPENSSL_cleanse(text, KEYFILE_MAX);
        free(text);
    }
    gw_keyring_destroy(k);
    close(fd);
    return rc;
}

static void put_be64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)u;
        u >>= 8;
    }
}

static int64_t get_be64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) {
        u = (u << 8) | p[i];
    }
    return (int64_t)u;
}

static size_t claims_to_plain(const gw_session_claims_t *c, size_t subject_len, uint8_t *p)
{
    p[0] = PLAIN_VERSION;
    memcpy(p + 1, c->uuid, 16);
    put_be64(p + 17, c->issued);
    put_be64(p + 25, c->expires);
    p[33] = c->proto;
    p[34] = c->caps;
    memcpy(p + 35, c->issuer_tag, GW_ISSUER_TAG_LEN);
    p[35 + GW_ISSUER_TAG_LEN] = c->endpoint;
    p[PLAIN_FIXED - 1] = (uint8_t)subject_len;
    memcpy(p + PLAIN_FIXED, c->subject, subject_len);
    return PLAIN_FIXED + subject_len;
}

/* Version 3, or 2 (sealed before endpoints: it reads as endpoint 0, the main path, so that
 * sessions survive an upgrade), or 1 (before issuer tags too: its tag reads as zeros). */
static gw_err_t plain_to_claims(const uint8_t *p, size_t n, gw_session_claims_t *c)
{
    size_t fixed = n == 0      ? PLAIN_FIXED
                   : p[0] == 1 ? PLAIN_V1_FIXED
                   : p[0] == 2 ? PLAIN_V2_FIXED
                               : PLAIN_FIXED;
    if (n < fixed || p[0] < 1 || p[0] > PLAIN_VERSION || p[fixed - 1] != n - fixed ||
        memchr(p + fixed, '\0', n - fixed) != NULL) {
        return GW_EPARSE;
    }
    memset(c, 0, sizeof(*c));
    memcpy(c->uuid, p + 1, 16);
    c->issued = get_be64(p + 17);
    c->expires = get_be64(p + 25);
    c->proto = p[33];
    c->caps = p[34];
    if (fixed != PLAIN_V1_FIXED) {
        memcpy(c->issuer_tag, p + 35, GW_ISSUER_TAG_LEN);
    }
    if (fixed == PLAIN_FIXED) {
        c->endpoint = p[35 + GW_ISSUER_TAG_LEN];
    }
    memcpy(c->subject, p + fixed, n - fixed);
    return GW_OK;
}

void gw_issuer_tag(const char *iss, size_t len, uint8_t tag[GW_ISSUER_TAG_LEN])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)iss, len, md);
    memcpy(tag, md, GW_ISSUER_TAG_LEN);
}

gw_err_t gw_keyring_seal(const gw_keyring_t *k, const uint8_t *plain, size_t plen, uint8_t *raw)
{
    EVP_CIPHER_CTX *ctx = NULL;
    int n, fin;
    gw_err_t rc = GW_EIO;

    if (plen > INT_MAX - GW_SEAL_OVERHEAD) {
        return GW_ETOOBIG;
    }
    raw[0] = k->seal_kid;
    if (RAND_bytes(raw + 1, NONCE_LEN) != 1) {
        return GW_EIO;
    }
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
        return GW_ENOMEM;
    }
    /* the key id is authenticated too (the AAD): a token cannot be moved to another key */
    if (EVP_EncryptInit_ex2(ctx, k->cipher, k->key[k->seal_kid], raw + 1, NULL) == 1 &&
        EVP_EncryptUpdate(ctx, NULL, &n, raw, 1) == 1 &&
        EVP_EncryptUpdate(ctx, raw + 1 + NONCE_LEN, &n, plain, (int)plen) == 1 &&
        EVP_EncryptFinal_ex(ctx, raw + 1 + NONCE_LEN + n, &fin) == 1 && (size_t)(n + fin) == plen &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, raw + 1 + NONCE_LEN + plen) == 1) {
        rc = GW_OK;
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

gw_err_t gw_keyring_open(const gw_keyring_t *k, const uint8_t *raw, size_t rawlen, uint8_t *plain)
{
    EVP_CIPHER_CTX *ctx = NULL;
    int n, fin;

    if (rawlen < GW_SEAL_OVERHEAD || rawlen > INT_MAX) {
        return GW_EPARSE;
    }
    if (!k->present[raw[0]]) {
        return GW_EAUTH;
    }
    size_t clen = rawlen - GW_SEAL_OVERHEAD;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
        return GW_ENOMEM;
    }
    gw_err_t rc = GW_EAUTH;
    /* The tag is checked in EVP_DecryptFinal_ex (constant time inside OpenSSL); callers look at
     * nothing of the plaintext unless it passed. */
    if (EVP_DecryptInit_ex2(ctx, k->cipher, k->key[raw[0]], raw + 1, NULL) == 1 &&
        EVP_DecryptUpdate(ctx, NULL, &n, raw, 1) == 1 &&
        EVP_DecryptUpdate(ctx, plain, &n, raw + 1 + NONCE_LEN, (int)clen) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN,
                            (void *)(raw + 1 + NONCE_LEN + clen)) == 1 &&
        EVP_DecryptFinal_ex(ctx, plain + n, &fin) == 1 && (size_t)(n + fin) == clen) {
        rc = GW_OK;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (rc != GW_OK) {
        OPENSSL_cleanse(plain, clen);
    }
    return rc;
}

gw_err_t gw_keyring_derive(const gw_keyring_t *k, const char *info, gw_keyring_t **out)
{
    *out = NULL;
    gw_keyring_t *d = keyring_new();
    if (d == NULL) {
        return GW_ENOMEM;
    }
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    gw_err_t rc = kctx != NULL ? GW_OK : GW_ENOMEM;
    d->seal_kid = k->seal_kid;
    for (unsigned kid = 1; rc == GW_OK && kid < 256; kid++) {
        if (!k->present[kid]) {
            continue;
        }
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)k->key[kid], KEY_LEN),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
            OSSL_PARAM_construct_end(),
        };
        if (EVP_KDF_derive(kctx, d->key[kid], KEY_LEN, params) != 1) {
            rc = GW_EIO;
        }
        d->present[kid] = 1;
    }
    EVP_KDF_CTX_free(kctx);
    if (rc != GW_OK) {
        gw_keyring_destroy(d);
        return rc;
    }
    *out = d;
    return GW_OK;
}

gw_err_t gw_token_seal(const gw_keyring_t *k, const gw_session_claims_t *c, char *out,
                       size_t outlen)
{
    uint8_t plain[PLAIN_MAX];
    uint8_t raw[RAW_MAX];
    size_t subject_len = strnlen(c->subject, GW_SUBJECT_MAX);

    if (subject_len == GW_SUBJECT_MAX) {
        return GW_EINVAL;
    }
    size_t rawlen = GW_SEAL_OVERHEAD + PLAIN_FIXED + subject_len;
    if (outlen < (rawlen * 4 + 2) / 3 + 1) {
        return GW_ETOOBIG;
    }
    size_t plen = claims_to_plain(c, subject_len, plain);
    gw_err_t rc = gw_keyring_seal(k, plain, plen, raw);
    if (rc == GW_OK) {
        out[gw_b64url_encode(raw, rawlen, out)] = '\0';
    }
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

gw_err_t gw_token_open(const gw_keyring_t *k, const char *tok, size_t len, int64_t now,
                       gw_session_claims_t *out)
{
    uint8_t raw[RAW_MAX];
    uint8_t plain[PLAIN_MAX];
    size_t rawlen;

    if (tok == NULL || len == 0 || len >= GW_TOKEN_MAX) {
        return GW_EPARSE;
    }
    if (gw_b64url_decode(tok, len, raw, sizeof(raw), &rawlen) != 0 || rawlen < RAW_MIN) {
        return GW_EPARSE;
    }
    gw_err_t rc = gw_keyring_open(k, raw, rawlen, plain);
    if (rc == GW_OK) {
        rc = plain_to_claims(plain, rawlen - GW_SEAL_OVERHEAD, out);
    }
    if (rc == GW_OK && now >= out->expires) {
        rc = GW_EEXPIRED;
    }
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

gw_err_t gw_uuid_random(uint8_t uuid[16])
{
    if (RAND_bytes(uuid, 16) != 1) {
        return GW_EIO;
    }
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
    return GW_OK;
}

void gw_uuid_format(const uint8_t uuid[16], char out[GW_UUID_TEXT_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[uuid[i] >> 4];
        out[o++] = hex[uuid[i] & 15];
    }
    out[o] = '\0';
}
