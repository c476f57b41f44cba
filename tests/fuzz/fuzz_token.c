/* fuzz_token.c: libFuzzer driver for session tokens (every Mcp-Session-Id header a router opens).
 *
 * The key ring is fixed (tests/fuzz/fuzz.h): kid 1 seals, kids 1 and 7 open. Properties checked:
 * - gw_token_open of the input as a token returns OK, EPARSE, EAUTH or EEXPIRED; when it opens,
 *   the claims are well formed and survive being sealed again and reopened;
 * - claims built from the input seal into visible base64url text shorter than GW_TOKEN_MAX that
 *   opens back to the same claims (or EEXPIRED when they have expired), does not open with a
 *   ring lacking the key, and stops opening when one character is changed or one is cut off. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/token.h"
#include "tests/fuzz/fuzz.h"

static gw_keyring_t *ring;    /* kids 1 (seals) and 7 */
static gw_keyring_t *foreign; /* kid 9 only */

static void hex_key(FILE *f, const uint8_t key[32])
{
    for (size_t i = 0; i < 32; i++) {
        fprintf(f, "%02x", key[i]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[] = "/tmp/mcpgw-fuzz-keys.XXXXXX";
    char err[256] = "";
    (void)argc;
    (void)argv;

    /* gw_keyring_load is the only way to a ring with two keys; mkstemp gives the 0600 file it
     * insists on. */
    int fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0, "mkstemp");
    FILE *f = fdopen(fd, "w");
    FUZZ_CHECK(f != NULL, "fdopen");
    fprintf(f, "# fuzz keys\n%d ", FUZZ_KID_SEAL);
    hex_key(f, fuzz_key_seal);
    fprintf(f, "\n%d ", FUZZ_KID_OTHER);
    hex_key(f, fuzz_key_other);
    fputc('\n', f);
    FUZZ_CHECK(fclose(f) == 0, "writing %s", path);
    gw_err_t rc = gw_keyring_load(path, 0, &ring, err, sizeof(err));
    unlink(path);
    FUZZ_CHECK(rc == GW_OK, "loading the fuzz key ring: %s", err);
    FUZZ_CHECK(gw_keyring_from_key(FUZZ_KID_FOREIGN, fuzz_key_foreign, &foreign) == GW_OK,
               "foreign ring");
    return 0;
}

static int claims_equal(const gw_session_claims_t *a, const gw_session_claims_t *b)
{
    return memcmp(a->uuid, b->uuid, sizeof(a->uuid)) == 0 && a->issued == b->issued &&
           a->expires == b->expires && a->proto == b->proto && a->caps == b->caps &&
           strcmp(a->subject, b->subject) == 0;
}

static int b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void reseal_and_open(const gw_session_claims_t *c, char tok[GW_TOKEN_MAX])
{
    gw_session_claims_t back;
    FUZZ_CHECK(gw_token_seal(ring, c, tok, GW_TOKEN_MAX) == GW_OK, "seal");
    size_t n = strlen(tok);
    FUZZ_CHECK(n > 0 && n < GW_TOKEN_MAX, "token length %zu", n);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(b64url_char(tok[i]), "token character 0x%02x", (unsigned char)tok[i]);
    }
    gw_err_t err = gw_token_open(ring, tok, n, FUZZ_NOW, &back);
    if (FUZZ_NOW >= c->expires) {
        FUZZ_CHECK(err == GW_EEXPIRED, "an expired token opened with %d", err);
    } else {
        FUZZ_CHECK(err == GW_OK, "a fresh token did not open (%d)", err);
        FUZZ_CHECK(claims_equal(c, &back), "claims changed between seal and open");
    }
    err = gw_token_open(foreign, tok, n, FUZZ_NOW, &back);
    FUZZ_CHECK(err == GW_EAUTH, "a ring without the key answered %d", err);
}

/* Claims from the input: uuid, issued, expires, proto, caps, then the subject. */
static void claims_from(const uint8_t *data, size_t size, gw_session_claims_t *c)
{
    uint8_t fixed[16 + 8 + 8 + 2] = {0};
    size_t n = size < sizeof(fixed) ? size : sizeof(fixed);
    memcpy(fixed, data, n);
    memset(c, 0, sizeof(*c));
    memcpy(c->uuid, fixed, 16);
    memcpy(&c->issued, fixed + 16, 8);
    memcpy(&c->expires, fixed + 24, 8);
    c->proto = fixed[32];
    c->caps = fixed[33];
    size_t i = 0;
    for (size_t j = n; j < size && i < GW_SUBJECT_MAX - 1 && data[j] != 0; j++) {
        c->subject[i++] = (char)data[j];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_session_claims_t c, opened;
    char tok[GW_TOKEN_MAX];

    /* 1. The input as a session header. */
    gw_err_t err = gw_token_open(ring, (const char *)data, size, FUZZ_NOW, &opened);
    FUZZ_CHECK(err == GW_OK || err == GW_EPARSE || err == GW_EAUTH || err == GW_EEXPIRED,
               "open returned %d", err);
    if (err == GW_OK) {
        FUZZ_CHECK(memchr(opened.subject, '\0', GW_SUBJECT_MAX) != NULL, "subject unterminated");
        FUZZ_CHECK(opened.expires > FUZZ_NOW, "an expired token opened");
        reseal_and_open(&opened, tok);
    }

    /* 2. Claims made from the input, sealed and opened back. */
    claims_from(data, size, &c);
    reseal_and_open(&c, tok);
    if (FUZZ_NOW >= c.expires) {
        return 0;
    }
    size_t n = strlen(tok);
    gw_err_t cut = gw_token_open(ring, tok, n - 1, FUZZ_NOW, &opened);
    FUZZ_CHECK(cut != GW_OK, "a token missing its last character opened");

    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t pos = size % n;
    char was = tok[pos];
    char now = alphabet[(size_t)(size > 0 ? data[0] : 0) % 64];
    if (now == was) {
        now = was == 'A' ? 'B' : 'A';
    }
    tok[pos] = now;
    err = gw_token_open(ring, tok, n, FUZZ_NOW, &opened);
    FUZZ_CHECK(err == GW_EPARSE || err == GW_EAUTH,
               "a token with character %zu changed ('%c' -> '%c') answered %d", pos, was, now, err);
    return 0;
}
