/* token.h: the sealed gateway session id (AES-256-GCM, base64url) and the key ring behind it.
 * Any router opens a token without a hop; keys carry ids so they can be rotated. */
#ifndef MCPGW_COMMON_TOKEN_H
#define MCPGW_COMMON_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define GW_TOKEN_MAX 256    /* longest token text, with its NUL */
#define GW_SUBJECT_MAX 64   /* authenticated subject, with its NUL */
#define GW_UUID_TEXT_LEN 36 /* 8-4-4-4-12 hex */
#define GW_ISSUER_TAG_LEN 8 /* SHA-256(iss) cut: the issuer that vouched for a subject */

typedef struct gw_session_claims {
    uint8_t uuid[16];
    int64_t issued;                        /* unix seconds */
    int64_t expires;                       /* unix seconds */
    uint8_t proto;                         /* gw_proto_t negotiated at initialize */
    uint8_t caps;                          /* GW_CAP_* the client declared */
    uint8_t issuer_tag[GW_ISSUER_TAG_LEN]; /* gw_issuer_tag of the token's iss; zeros without */
    uint8_t endpoint;                      /* the endpoint it was made on: 0 mcp_path, n
                                              endpoints[n - 1] (0 for tokens of layout 1 and 2) */
    char subject[GW_SUBJECT_MAX];          /* "" when unauthenticated */
} gw_session_claims_t;

typedef struct gw_keyring gw_keyring_t;

/* Reads the key file: one key per line, "<kid> <64 hex digits>" (kid 1..255), '#' comments;
 * the first key seals, every key opens. With create != 0 and no file, writes a new random key
 * (kid 1) with mode 0600, O_EXCL so two processes never race. A file readable by group or others
 * is refused. */
gw_err_t gw_keyring_load(const char *path, int create, gw_keyring_t **out, char *err,
                         size_t errlen);
/* A ring with one given key (tests, benchmarks). */
gw_err_t gw_keyring_from_key(uint8_t kid, const uint8_t key[32], gw_keyring_t **out);
void gw_keyring_destroy(gw_keyring_t *k);

/* AEAD (AES-256-GCM) of any bytes with the ring's sealing key: raw = kid | nonce | ciphertext |
 * tag, GW_SEAL_OVERHEAD bytes more than the plaintext; the kid is authenticated. Session tokens
 * and requestStates (common/reqstate.h) are both made with it, each under its own key ring. */
#define GW_SEAL_OVERHEAD (1 + 12 + 16)
gw_err_t gw_keyring_seal(const gw_keyring_t *k, const uint8_t *plain, size_t plen, uint8_t *raw);
/* Opens raw[0..rawlen) into plain (rawlen - GW_SEAL_OVERHEAD bytes): GW_EPARSE when too short,
 * GW_EAUTH for a tampered one or an unknown key (plain is then wiped). */
gw_err_t gw_keyring_open(const gw_keyring_t *k, const uint8_t *raw, size_t rawlen, uint8_t *plain);
/* A ring of keys derived from k's (HKDF-SHA256, no salt, info): what one purpose seals never opens
 * under another purpose's ring. Same key ids, same sealing kid. */
gw_err_t gw_keyring_derive(const gw_keyring_t *k, const char *info, gw_keyring_t **out);

/* Seals claims into out (NUL-terminated, visible ASCII, at most GW_TOKEN_MAX with NUL). */
gw_err_t gw_token_seal(const gw_keyring_t *k, const gw_session_claims_t *c, char *out,
                       size_t outlen);
/* Opens a token: GW_EPARSE for a malformed one, GW_EAUTH for a tampered one or an unknown key,
 * GW_EEXPIRED when now >= expires. */
gw_err_t gw_token_open(const gw_keyring_t *k, const char *tok, size_t len, int64_t now,
                       gw_session_claims_t *out);

/* The tag a session keeps of the issuer iss[0..len) of its subject (SHA-256, cut). */
void gw_issuer_tag(const char *iss, size_t len, uint8_t tag[GW_ISSUER_TAG_LEN]);

/* Fills uuid with 16 random bytes (version 4 layout). */
gw_err_t gw_uuid_random(uint8_t uuid[16]);
/* Writes the 36-character text form plus NUL. */
void gw_uuid_format(const uint8_t uuid[16], char out[GW_UUID_TEXT_LEN + 1]);

#endif
