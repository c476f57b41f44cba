/* jwks_file.c: an issuer's key set read from its auth.issuers[].jwks_file: the file's JSON (at
 * most GW_JWKS_MAX_SIZE bytes) parsed by common/jwk.c with the issuer's algorithms; shared by
 * routers (which verify with it) and the broker (which refuses a config whose files do not load,
 * at start, -t and reload). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/jwks_file.h"

unsigned gw_jwks_algorithms_mask(const gw_auth_issuer_t *is)
{
    unsigned mask = 0;
    for (size_t i = 0; i < is->nalgorithms; i++) {
        gw_jws_alg_t alg;
        if (gw_jws_alg_parse(is->algorithms[i], strlen(is->algorithms[i]), &alg) == GW_OK) {
            mask |= GW_JWS_ALG_BIT(alg);
        }
    }
    return mask;
}

/* Reads path (at most GW_JWKS_MAX_SIZE bytes) into b. */
static gw_err_t read_jwks_file(const char *path, gw_buf_t *b, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return GW_EIO;
    }
    gw_err_t rc = GW_OK;
    for (;;) {
        if (gw_buf_reserve(b, 16384) != GW_OK) {
            rc = GW_ENOMEM;
            snprintf(err, errlen, "%s: out of memory", path);
            break;
        }
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = GW_EIO;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0) {
            break;
        }
        b->len += (size_t)n;
        if (b->len > GW_JWKS_MAX_SIZE) {
            rc = GW_ETOOBIG;
            snprintf(err, errlen, "%s: larger than %d bytes", path, GW_JWKS_MAX_SIZE);
            break;
        }
    }
    close(fd);
    return rc;
}

gw_err_t gw_jwks_file_load(const gw_auth_issuer_t *is, gw_jwks_t **out, char *err, size_t errlen)
{
    gw_buf_t b;
    gw_buf_init(&b);
    *out = NULL;
    gw_err_t rc = read_jwks_file(is->jwks_file, &b, err, errlen);
    if (rc == GW_OK) {
        char why[256] = "";
        rc = gw_jwks_parse(b.data != NULL ? b.data : "", b.len, gw_jwks_algorithms_mask(is), out,
                           why, sizeof(why));
        if (rc != GW_OK) {
            snprintf(err, errlen, "%s: %s", is->jwks_file, why);
        }
    }
    gw_buf_fini(&b);
    return rc;
}
