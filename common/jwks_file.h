/* jwks_file.h: an issuer's key set read from its jwks_file. */
#ifndef MCPGW_COMMON_JWKS_FILE_H
#define MCPGW_COMMON_JWKS_FILE_H

#include <stddef.h>

#include "common/config.h"
#include "common/err.h"
#include "common/jwk.h"

/* The mask (GW_JWS_ALG_BIT) of the issuer's algorithms. */
unsigned gw_jwks_algorithms_mask(const gw_auth_issuer_t *is);
/* Reads and parses is->jwks_file into *out (the caller's, gw_jwks_destroy); on failure err says
 * why, naming the file, and *out is NULL. */
gw_err_t gw_jwks_file_load(const gw_auth_issuer_t *is, gw_jwks_t **out, char *err, size_t errlen);

#endif
