/* meta.h: the _meta of a request to a 2026-07-28 backend (docs/design-2026-07-28.md 7.3): its
 * members for a capability set and log level, and their splice into a message's params. Pure:
 * no I/O, no worker state. */
#ifndef MCPGW_WORKER_META_H
#define MCPGW_WORKER_META_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* Appends params._meta's members (no braces) for a request with client capabilities caps
 * (GW_CAP_*) and log level (NULL or "" for none; one of the eight LoggingLevel names). */
gw_err_t wrk_modern_meta(gw_buf_t *out, uint8_t caps, const char *level);
/* Writes body (a JSON-RPC request or notification) to out with those members spliced into
 * params._meta (params and _meta created when absent, their other members kept, an
 * io.modelcontextprotocol/ member of its own replaced). GW_EINVAL for params that are not an
 * object, GW_EPARSE for a body that is not JSON. */
gw_err_t wrk_modern_splice(const char *body, size_t len, uint8_t caps, const char *level,
                           gw_buf_t *out);

/* Writes into out the body of a 2026-07-28 call for a 2025 backend: params.inputResponses and
 * params.requestState removed (design 7.1: a resume never sends them up), the rest as it was.
 * Returns 1 when out holds it, 0 when body goes as it is (nothing to remove, or not an object
 * with params), -1 when out of memory. */
int wrk_pool_strip_body(const char *body, size_t len, gw_buf_t *out);

#endif
