/* token_test.c: unit tests of session tokens (seal/open, tampering, expiry, hostile input), the
 * key file (create, reload, rotation, permissions) and uuids. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "common/base64.h"
#include "common/token.h"

static const uint8_t key_a[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t key_b[32] = {0xff, 0xfe, 0xfd};

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char tmpdir[] = "/tmp/mcpgw-tokentest-XXXXXX";

static int setup(void **state)
{
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[64 + sizeof(tmpdir)];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void sample_claims(gw_session_claims_t *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < 16; i++) {
        c->uuid[i] = (uint8_t)(0xa0 + i);
    }
    c->issued = 1700000000;
    c->expires = 1700086400;
    c->proto = 2;
    c->caps = 0x05;
    strcpy(c->subject, "alice@example.com");
    gw_issuer_tag("https://idp.example.com", 23, c->issuer_tag);
}

static void assert_claims_equal(const gw_session_claims_t *a, const gw_session_claims_t *b)
{
    assert_memory_equal(a->uuid, b->uuid, 16);
    assert_true(a->issued == b->issued);
    assert_true(a->expires == b->expires);
    assert_int_equal(a->proto, b->proto);
    assert_int_equal(a->caps, b->caps);
    assert_string_equal(a->subject, b->subject);
    assert_memory_equal(a->issuer_tag, b->issuer_tag, GW_ISSUER_TAG_LEN);
}

static gw_keyring_t *ring(uint8_t kid, const uint8_t key[32])
{
    gw_keyring_t *k;
    assert_int_equal(gw_keyring_from_key(kid, key, &k), GW_OK);
    return k;
}

/* A token of layout 2 (before endpoints: no endpoint byte) of c, sealed with key (kid) as a
 * gateway of that layout sealed it: kid, nonce, AES-256-GCM of the plain text with the kid as
 * additional data, tag. */
static void seal_layout2(uint8_t kid, const uint8_t key[32], const gw_session_claims_t *c,
                         char *out)
{
    uint8_t plain[128], raw[1 + 12 + 128 + 16];
    size_t sl = strlen(c->subject), n = 0;
    plain[n++] = 2;
    memcpy(plain + n, c->uuid, 16);
    n += 16;
    for (int i = 7; i >= 0; i--) {
        plain[n++] = (uint8_t)((uint64_t)c->issued >> (8 * i));
    }
    for (int i = 7; i >= 0; i--) {
        plain[n++] = (uint8_t)((uint64_t)c->expires >> (8 * i));
    }
    plain[n++] = c->proto;
    plain[n++] = c->caps;
    memcpy(plain + n, c->issuer_tag, GW_ISSUER_TAG_LEN);
    n += GW_ISSUER_TAG_LEN;
    plain[n++] = (uint8_t)sl;
    memcpy(plain + n, c->subject, sl);
    n += sl;
    raw[0] = kid;
    memset(raw + 1, 0x42, 12);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len, fin;
    assert_non_null(ctx);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw + 1), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &len, raw, 1), 1);
    assert_int_equal(EVP_EncryptUpdate(ctx, raw + 13, &len, plain, (int)n), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, raw + 13 + len, &fin), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, raw + 13 + n), 1);
    EVP_CIPHER_CTX_free(ctx);
    out[gw_b64url_encode(raw, 13 + n + 16, out)] = '\0';
}

/* The endpoint a session was made on is sealed in its token; a token of the layout before
 * endpoints opens as endpoint 0 (the main path), so that running sessions survive an upgrade. */
static void test_endpoint_and_layout2(void **state)
{
    (void)state;
    gw_keyring_t *k = ring(7, key_a);
    gw_session_claims_t c, got;
    char tok[GW_TOKEN_MAX];
    sample_claims(&c);
    c.endpoint = 64;
    assert_int_equal(gw_token_seal(k, &c, tok, sizeof(tok)), GW_OK);
    assert_int_equal(gw_token_open(k, tok, strlen(tok), c.issued, &got), GW_OK);
    assert_claims_equal(&c, &got);
    assert_int_equal(got.endpoint, 64);
    c.endpoint = 0;
    seal_layout2(7, key_a, &c, tok);
    memset(&got, 0xee, sizeof(got));
    assert_int_equal(gw_token_open(k, tok, strlen(tok), c.issued, &got), GW_OK);
    assert_claims_equal(&c, &got);
    assert_int_equal(got.endpoint, 0);
    gw_keyring_destroy(k);
}

static void test_round_trip(void **state)
{
    gw_keyring_t *k = ring(7, key_a);
    gw_session_claims_t c, o;
    char tok[GW_TOKEN_MAX], tok2[GW_TOKEN_MAX];

    sample_claims(&c);
    assert_int_equal(gw_token_seal(k, &c, tok, sizeof(tok)), GW_OK);
    for (const char *p = tok; *p; p++) {
        assert_non_null(strchr(b64url_chars, *p)); /* visible ASCII, no padding */
    }
    assert_int_equal(gw_token_open(k, tok, strlen(tok), c.issued, &o), GW_OK);
    assert_claims_equal(&c, &o);

    /* a random nonce: the same claims never seal to the same text */
    assert_int_equal(gw_token_seal(k, &c, tok2, sizeof(tok2)), GW_OK);
    assert_string_not_equal(tok, tok2);

    /* extremes: empty subject, longest subject, negative and huge times, every bit set */
    memset(&c, 0xff, sizeof(c));
    c.subject[0] = '\0';
    c.issued = INT64_MIN;
    c.expires = INT64_MAX;
    assert_int_equal(gw_token_seal(k, &c, tok, sizeof(tok)), GW_OK);
    assert_int_equal(gw_token_open(k, tok, strlen(tok), 0, &o), GW_OK);
    assert_claims_equal(&c, &o);
    memset(c.subject, 'z', GW_SUBJECT_MAX - 1);
    c.subject[GW_SUBJECT_MAX - 1] = '\0';
    assert_int_equal(gw_token_seal(k, &c, tok, sizeof(tok)), GW_OK);
    assert_true(strlen(tok) < GW_TOKEN_MAX);
    assert_int_equal(gw_token_open(k, tok, strlen(tok), 0, &o), GW_OK);
    assert_claims_equal(&c, &o);
    gw_keyring_destroy(k);
}

/* The issuer tag: the same issuer always gives the same tag, another issuer another one. */
static void test_issuer_tag(void **state)
{
    uint8_t a[GW_ISSUER_TAG_LEN], b[GW_ISSUER_TAG_LEN], z[GW_ISSUER_TAG_LEN] = {0};
    (void)state;
    gw_issuer_tag("https://a.example", 17, a);
    gw_issuer_tag("https://a.example", 17, b);
    assert_memory_equal(a, b, sizeof(a));
    gw_issuer_tag("https://b.example", 17, b);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, z, sizeof(a));
}

static void test_seal_limits(void **state)
{
    gw_keyring_t *k = ring(1, key_a);
    gw_session_claims_t c;
    char tok[GW_TOKEN_MAX];

    sample_claims(&c);
    memset(c.subject, 'x', GW_SUBJECT_MAX); /* no terminating NUL */
    assert_int_equal(gw_token_seal(k, &c, tok, sizeof(tok)), GW_EINVAL);
    sample_claims(&c);
    assert_int_equal(gw_token_seal(k, &c, tok, 20), GW_ETOOBIG);
    gw_keyring_destroy(k);
    assert_int_equal(gw_keyring_from_key(0, key_a, &k), GW_EINVAL);
}

static void test_tamper_every_position(void **state)
{
    gw_keyring_t *k = ring(3, key_a);
    gw_session_claims_t c, o;
    char tok[GW_TOKEN_MAX], bad[GW_TOKEN_MAX];

    sample_claims(&c);
    assert_int_equal(gw_token_seal(k, &c, tok, sizeof(tok)), GW_OK);
    size_t n = strlen(tok);
    for (size_t i = 0; i < n; i++) {
        for (const char *r = b64url_chars; *r; r++) {
            if (*r == tok[i]) {
                continue;
            }
            memcpy(bad, tok, n + 1);
            bad[i] = *r;
            gw_err_t err = gw_token_open(k, bad, n, c.issued, &o);
            assert_true(err == GW_EAUTH || err == GW_EPARSE);
        }
        /* and characters outside the alphabet */
        memcpy(bad, tok, n + 1);
        bad[i] = '=';
        assert_int_equal(gw_token_open(k, bad, n, c.issued, &o), GW_EPARSE);
        bad[i] = '\0';
        assert_int_equal(gw_token_open(k, bad, n, c.issued, &o), GW_EPARSE);
    }
    gw_keyring_destroy(k);
}

static void test_expired(void **state)
{
    gw_keyring_t *k = ring(1, key_a);
    gw_session_claims_t c, o;
    char tok[GW_TOKEN_MAX];

    sample_claims(&c);
    assert_int_equal(gw_token_seal(k, &c, tok, sizeof(tok)), GW_OK);
    assert_int_equal(gw_token_open(k, tok, strlen(tok), c.expires - 1, &o), GW_OK);
    assert_int_equal(gw_token_open(k, tok, strlen(tok), c.expires, &o), GW_EEXPIRED);
    assert_int_equal(gw_token_open(k, tok, strlen(tok), c.expires + 86400, &o), GW_EEXPIRED);
    gw_keyring_destroy(k);
}

static void test_other_key(void **state)
{
    gw_keyring_t *a = ring(1, key_a), *b = ring(1, key_b), *c2 = ring(2, key_a);
    gw_session_claims_t c, o;
    char tok[GW_TOKEN_MAX];

    sample_claims(&c);
    assert_int_equal(gw_token_seal(a, &c, tok, sizeof(tok)), GW_OK);
    assert_int_equal(gw_token_open(b, tok, strlen(tok), c.issued, &o), GW_EAUTH);  /* same kid */
    assert_int_equal(gw_token_open(c2, tok, strlen(tok), c.issued, &o), GW_EAUTH); /* no kid 1 */
    gw_keyring_destroy(a);
    gw_keyring_destroy(b);
    gw_keyring_destroy(c2);
}

static void test_hostile_input(void **state)
{
    gw_keyring_t *k = ring(1, key_a);
    gw_session_claims_t c, o;
    char tok[GW_TOKEN_MAX];
    static char huge[1 << 20];
    unsigned seed = 99;

    assert_int_equal(gw_token_open(k, "", 0, 0, &o), GW_EPARSE);
    assert_int_equal(gw_token_open(k, NULL, 0, 0, &o), GW_EPARSE);
    assert_int_equal(gw_token_open(k, "A", 1, 0, &o), GW_EPARSE);
    assert_int_equal(gw_token_open(k, "AQ", 2, 0, &o), GW_EPARSE);
    assert_int_equal(gw_token_open(k, "not a token", 11, 0, &o), GW_EPARSE);
    assert_int_equal(gw_token_open(k, "AAAA====", 8, 0, &o), GW_EPARSE);
    memset(huge, 'A', sizeof(huge));
    assert_int_equal(gw_token_open(k, huge, sizeof(huge), 0, &o), GW_EPARSE);
    assert_int_equal(gw_token_open(k, huge, GW_TOKEN_MAX - 1, 0, &o), GW_EPARSE);

    sample_claims(&c);
    assert_int_equal(gw_token_seal(k, &c, tok, sizeof(tok)), GW_OK);
    size_t n = strlen(tok);
    /* every truncation and every extension */
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(gw_token_open(k, tok, i, c.issued, &o), GW_OK);
    }
    char longer[GW_TOKEN_MAX * 2];
    for (size_t extra = 1; extra < sizeof(longer) - n - 1; extra++) {
        memcpy(longer, tok, n);
        memset(longer + n, 'A', extra);
        assert_int_not_equal(gw_token_open(k, longer, n + extra, c.issued, &o), GW_OK);
    }
    /* random bytes of every length */
    unsigned char junk[GW_TOKEN_MAX + 8];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand_r(&seed) % sizeof(junk));
        for (size_t i = 0; i < len; i++) {
            junk[i] = (unsigned char)(round & 1 ? (unsigned)b64url_chars[rand_r(&seed) % 64]
                                                : (unsigned)rand_r(&seed));
        }
        gw_err_t err = gw_token_open(k, (const char *)junk, len, 0, &o);
        assert_true(err == GW_EPARSE || err == GW_EAUTH);
    }
    gw_keyring_destroy(k);
}

/* ---- key file ---- */

static void path_in_tmp(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void test_keyfile_create_and_reload(void **state)
{
    char path[512], err[256];
    gw_keyring_t *k1, *k2;
    gw_session_claims_t c, o;
    char tok[GW_TOKEN_MAX];
    struct stat st;

    path_in_tmp(path, sizeof(path), "session.key");
    assert_int_equal(gw_keyring_load(path, 0, &k1, err, sizeof(err)), GW_ENOTFOUND);
    assert_null(k1);
    assert_non_null(strstr(err, path));

    assert_int_equal(gw_keyring_load(path, 1, &k1, err, sizeof(err)), GW_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(S_ISREG(st.st_mode));

    /* the file holds one kid-1 key that a fresh load (another process) also uses */
    assert_int_equal(gw_keyring_load(path, 1, &k2, err, sizeof(err)), GW_OK);
    sample_claims(&c);
    assert_int_equal(gw_token_seal(k1, &c, tok, sizeof(tok)), GW_OK);
    assert_int_equal(gw_token_open(k2, tok, strlen(tok), c.issued, &o), GW_OK);
    assert_claims_equal(&c, &o);

    FILE *f = fopen(path, "r");
    char line[256];
    int keys = 0;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] != '#') {
            keys++;
            assert_int_equal(strncmp(line, "1 ", 2), 0);
            assert_int_equal(strlen(line), 2 + 64 + 1);
        }
    }
    fclose(f);
    assert_int_equal(keys, 1);
    gw_keyring_destroy(k1);
    gw_keyring_destroy(k2);
    /* no temporary file left behind */
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", tmpdir);
    assert_int_equal(system(cmd), 0);
    unlink(path);
}

static const char old_key_hex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char new_key_hex[] =
    "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFe0e1e2e3e4e5e6e7e8e9eaebecedeeef";

static void test_keyfile_rotation(void **state)
{
    char path[512], err[256], text[512];
    gw_keyring_t *old, *rotated, *k;
    gw_session_claims_t c, o;
    char tok_old[GW_TOKEN_MAX], tok_new[GW_TOKEN_MAX];

    path_in_tmp(path, sizeof(path), "rot.key");
    snprintf(text, sizeof(text), "# first key\n\n1 %s\n", old_key_hex);
    write_file(path, text, 0600);
    assert_int_equal(gw_keyring_load(path, 0, &old, err, sizeof(err)), GW_OK);
    sample_claims(&c);
    assert_int_equal(gw_token_seal(old, &c, tok_old, sizeof(tok_old)), GW_OK);

    /* new key first (it seals), old key second (it still opens) */
    snprintf(text, sizeof(text), "  # rotated\r\n2\t%s  \r\n1 %s", new_key_hex, old_key_hex);
    write_file(path, text, 0400);
    assert_int_equal(gw_keyring_load(path, 0, &rotated, err, sizeof(err)), GW_OK);
    assert_int_equal(gw_token_open(rotated, tok_old, strlen(tok_old), c.issued, &o), GW_OK);
    assert_claims_equal(&c, &o);
    assert_int_equal(gw_token_seal(rotated, &c, tok_new, sizeof(tok_new)), GW_OK);
    assert_int_equal(gw_token_open(rotated, tok_new, strlen(tok_new), c.issued, &o), GW_OK);
    /* the old ring does not know kid 2 */
    assert_int_equal(gw_token_open(old, tok_new, strlen(tok_new), c.issued, &o), GW_EAUTH);

    /* the same keys given directly agree with the file */
    uint8_t raw[32];
    for (int i = 0; i < 32; i++) {
        raw[i] = (uint8_t)(0xf0 + i);
        if (i >= 16) {
            raw[i] = (uint8_t)(0xe0 + i - 16);
        }
    }
    k = ring(2, raw);
    assert_int_equal(gw_token_open(k, tok_new, strlen(tok_new), c.issued, &o), GW_OK);
    gw_keyring_destroy(k);
    gw_keyring_destroy(old);
    gw_keyring_destroy(rotated);
    unlink(path);
}

static void expect_bad_file(const char *text, mode_t mode, gw_err_t want, const char *in_err)
{
    char path[512], err[256] = "";
    gw_keyring_t *k = (gw_keyring_t *)&k;

    path_in_tmp(path, sizeof(path), "bad.key");
    write_file(path, text, mode);
    assert_int_equal(gw_keyring_load(path, 1, &k, err, sizeof(err)), want);
    assert_null(k);
    if (strstr(err, in_err) == NULL) {
        fail_msg("error \"%s\" lacks \"%s\"", err, in_err);
    }
    unlink(path);
}

static void test_keyfile_refused(void **state)
{
    char text[256];

    snprintf(text, sizeof(text), "1 %s\n", old_key_hex);
    expect_bad_file(text, 0644, GW_EINVAL, "group or others");
    expect_bad_file(text, 0640, GW_EINVAL, "chmod 600");
    expect_bad_file(text, 0604, GW_EINVAL, "0604");
    expect_bad_file("", 0600, GW_EPARSE, "no keys");
    expect_bad_file("# only a comment\n", 0600, GW_EPARSE, "no keys");
    expect_bad_file("1 abc\n", 0600, GW_EPARSE, ":1: key must be 64 hex digits");
    snprintf(text, sizeof(text), "\n0 %s\n", old_key_hex);
    expect_bad_file(text, 0600, GW_EPARSE, ":2: key id must be 1..255");
    snprintf(text, sizeof(text), "256 %s\n", old_key_hex);
    expect_bad_file(text, 0600, GW_EPARSE, "key id must be 1..255");
    snprintf(text, sizeof(text), "1 %s\n1 %s\n", old_key_hex, new_key_hex);
    expect_bad_file(text, 0600, GW_EPARSE, ":2: duplicate key id");
    snprintf(text, sizeof(text), "1 %s00\n", old_key_hex);
    expect_bad_file(text, 0600, GW_EPARSE, "64 hex digits");
    snprintf(text, sizeof(text), "x1 %s\n", old_key_hex);
    expect_bad_file(text, 0600, GW_EPARSE, "expected");
    snprintf(text, sizeof(text), "1%s\n", old_key_hex);
    expect_bad_file(text, 0600, GW_EPARSE, "key id must be 1..255");
    snprintf(text, sizeof(text), "1 %.63sg\n", old_key_hex);
    expect_bad_file(text, 0600, GW_EPARSE, "64 hex digits");

    /* not a regular file */
    char err[256];
    gw_keyring_t *k;
    assert_int_equal(gw_keyring_load(tmpdir, 0, &k, err, sizeof(err)), GW_EINVAL);
    assert_non_null(strstr(err, "regular file"));
    /* a small error buffer is still terminated */
    assert_int_equal(gw_keyring_load("/nonexistent/dir/key", 1, &k, err, 8), GW_EIO);
    assert_int_equal(strlen(err), 7);
}

static void test_uuid(void **state)
{
    uint8_t a[16], b[16];
    char text[GW_UUID_TEXT_LEN + 1];
    static const uint8_t fixed[16] = {0x4c, 0x1f, 0x0d, 0x9e, 0x1d, 0x2b, 0x4c, 0x8a,
                                      0x9a, 0x55, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab};

    gw_uuid_format(fixed, text);
    assert_string_equal(text, "4c1f0d9e-1d2b-4c8a-9a55-0123456789ab");
    for (int i = 0; i < 100; i++) {
        assert_int_equal(gw_uuid_random(a), GW_OK);
        assert_int_equal(gw_uuid_random(b), GW_OK);
        assert_memory_not_equal(a, b, 16);
        assert_int_equal(a[6] >> 4, 4);
        assert_int_equal(a[8] & 0xc0, 0x80);
        gw_uuid_format(a, text);
        assert_int_equal(strlen(text), GW_UUID_TEXT_LEN);
        assert_int_equal(text[14], '4');
        assert_non_null(strchr("89ab", text[19]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_endpoint_and_layout2),
        cmocka_unit_test(test_issuer_tag),
        cmocka_unit_test(test_seal_limits),
        cmocka_unit_test(test_tamper_every_position),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_other_key),
        cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_keyfile_create_and_reload),
        cmocka_unit_test(test_keyfile_rotation),
        cmocka_unit_test(test_keyfile_refused),
        cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
