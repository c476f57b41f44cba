/* xmcpheader.h: a tool's x-mcp-header declarations (2026-07-28, transports "Schema Extension"):
 * found in its inputSchema and checked, the values a call's arguments give them, and the
 * base64-sentinel encoding of an Mcp-* header value. Pure: no I/O, no process state. */
#ifndef MCPGW_COMMON_XMCPHEADER_H
#define MCPGW_COMMON_XMCPHEADER_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/err.h"

#define GW_XMCP_MAX 32        /* declarations one tool may make */
#define GW_XMCP_DEPTH_MAX 8   /* properties keys from the schema's root to a declared property */
#define GW_XMCP_NAME_MAX 64   /* the header name after "Mcp-Param-" */
#define GW_XMCP_PATH_MAX 1024 /* the property keys of one declaration, NUL-separated */

typedef enum gw_xmcp_type {
    GW_XMCP_STRING = 1,
    GW_XMCP_INTEGER,
    GW_XMCP_BOOLEAN,
} gw_xmcp_type_t;

/* One declaration: the property reached from the arguments object through depth keys. */
typedef struct gw_xmcp_decl {
    char name[GW_XMCP_NAME_MAX + 1]; /* as declared ("Region"); sent as Mcp-Param-Region */
    gw_xmcp_type_t type;
    size_t depth;
    char path[GW_XMCP_PATH_MAX]; /* depth NUL-terminated keys, one after the other */
} gw_xmcp_decl_t;

typedef struct gw_xmcp_decls {
    size_t n;
    gw_xmcp_decl_t v[GW_XMCP_MAX];
} gw_xmcp_decls_t;

/* Why a schema's declarations are refused (GW_XMCP_OK: they are fine, maybe none). */
typedef enum gw_xmcp_result {
    GW_XMCP_OK = 0,
    GW_XMCP_NOT_A_TOKEN, /* empty, not a string, or not an RFC 9110 token */
    GW_XMCP_DUPLICATE,   /* two declarations with the same name, ignoring case */
    GW_XMCP_BAD_TYPE,    /* on a property that is not string, integer or boolean */
    GW_XMCP_BAD_PLACE,   /* not on a property reached through properties keys only */
    GW_XMCP_TOO_MANY,    /* past GW_XMCP_MAX, GW_XMCP_DEPTH_MAX or GW_XMCP_PATH_MAX */
} gw_xmcp_result_t;

/* Finds the declarations of input_schema (a tool's inputSchema; NULL or a non-object has none)
 * into out. Returns GW_XMCP_OK or why the tool's declarations are invalid. */
gw_xmcp_result_t gw_xmcp_scan(yajl_val input_schema, gw_xmcp_decls_t *out);
/* A short text for r ("duplicate header name"). */
const char *gw_xmcp_reason(gw_xmcp_result_t r);

/* Appends to out the header value declaration d takes from arguments (the tools/call's
 * params.arguments): strings as they are or base64-sentinel encoded (gw_xmcp_encode), integers
 * in decimal, booleans true/false, anything else its JSON text encoded the same way. Returns 1
 * when a value was written, 0 when the argument is absent or null (no header), -1 when out of
 * memory. */
int gw_xmcp_value(const gw_xmcp_decl_t *d, yajl_val arguments, gw_buf_t *out);

/* Appends s[0..n) to out as an Mcp-* header value: as it is when every byte is visible ASCII,
 * space or tab, with no space or tab first or last, and it does not look like the sentinel;
 * else "=?base64?" standard padded base64 of the bytes "?=". GW_ENOMEM or GW_OK. */
gw_err_t gw_xmcp_encode(const char *s, size_t n, gw_buf_t *out);

#endif
