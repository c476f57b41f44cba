/* mcpparam.h: the check of a 2026-07-28 tools/call's Mcp-Param-* headers against its arguments
 * (docs/design-2026-07-28.md §1 row 17; spec basic/transports/streamable-http, "Server Behavior
 * for Custom Headers"). Pure: the tool's declarations (common/xmcpheader.h), the arguments and
 * the headers the client sent in; a verdict with the answer's message and data out. */
#ifndef MCPGW_COMMON_MCPPARAM_H
#define MCPGW_COMMON_MCPPARAM_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmcpheader.h"

#define GW_MCPPARAM_PREFIX "mcp-param-" /* matched ignoring case */
#define GW_MCPPARAM_PREFIX_LEN (sizeof(GW_MCPPARAM_PREFIX) - 1)

/* One header the client sent: its whole name ("mcp-param-region", any case) and raw value. */
typedef struct gw_mcpparam_hdr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} gw_mcpparam_hdr_t;

typedef struct gw_mcpparam_verdict {
    int rejected;     /* 0: the headers agree with the arguments */
    gw_buf_t message; /* "Header mismatch: Mcp-Param-Region ..." */
    gw_buf_t data;    /* {"mismatch":{"header":"Mcp-Param-Region",...}} (router/era.c's shape) */
} gw_mcpparam_verdict_t;

void gw_mcpparam_verdict_init(gw_mcpparam_verdict_t *v);
void gw_mcpparam_verdict_fini(gw_mcpparam_verdict_t *v);

/* Does name (n bytes) start with "mcp-param-", ignoring case? */
int gw_mcpparam_is_param_header(const char *name, size_t n);

/* Checks each of the n declarations against arguments (params.arguments; NULL: none) and the
 * headers: the first that fails fills out (rejected 1). A declaration whose argument is absent
 * or null expects no header, and one sent is ignored ("MUST NOT expect the header"); a present
 * argument needs its header, sent once, valid (gw_mcphdr_decode) and equal to the argument:
 * strings byte for byte after decoding, numbers numerically (42 and 42.0 agree), booleans as
 * true/false (ignoring case: the value is the same). Headers no declaration names are ignored.
 * GW_ENOMEM, else GW_OK. */
gw_err_t gw_mcpparam_check(const gw_xmcp_decl_t *decls, size_t n, yajl_val arguments,
                           const gw_mcpparam_hdr_t *hdrs, size_t nhdrs, gw_mcpparam_verdict_t *out);

#endif
