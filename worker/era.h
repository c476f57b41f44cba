/* era.h: the classification of a backend's answer to the worker's server/discover probe
 * (docs/design-2026-07-28.md 7.2, as the v2 client's classifyProbeOutcome does it, except that an
 * unusable 2xx answer counts as the 2025 era: a gateway prefers to keep serving). Pure: no I/O. */
#ifndef MCPGW_WORKER_ERA_H
#define MCPGW_WORKER_ERA_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "common/metrics.h"

/* The probe's answer: reached (0 when the transfer failed: timeout, refused, broken off), the
 * HTTP status, and the JSON-RPC message it carried (the JSON body, or the response taken out of
 * an event stream; len 0 when none). Returns the outcome; *rpc_code is the JSON-RPC error code
 * when there was one (else 0); *discover, when not NULL and the outcome is GW_PROBE_DISCOVER,
 * gets the whole message's tree (the caller's, free with yajl_tree_free). */
gw_probe_t wrk_era_classify(int reached, long status, const char *body, size_t len,
                            long long *rpc_code, yajl_val *discover);

/* The era an outcome means: 2 modern, 1 legacy, 0 none (down, or probe again). */
int wrk_era_of(gw_probe_t outcome);

#endif
