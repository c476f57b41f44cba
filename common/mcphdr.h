/* mcphdr.h: the value rules of the 2026-07-28 transport's standard headers (MCP-Protocol-Version,
 * Mcp-Method, Mcp-Name, Mcp-Param-*): surrounding whitespace, the characters a plain value may
 * hold, and the =?base64?...?= form of a value that cannot be sent plain. Pure functions. */
#ifndef MCPGW_COMMON_MCPHDR_H
#define MCPGW_COMMON_MCPHDR_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

/* The value without its leading and trailing SP and HTAB (spec basic/transports/streamable-http
 * #case-sensitivity: servers compare the value with optional whitespace stripped). Points into
 * v; *out_len is its length. */
const char *gw_mcphdr_trim(const char *v, size_t n, size_t *out_len);

/* Does v hold only VCHAR (0x21-0x7e), SP and HTAB? A plain value with anything else (controls,
 * DEL, bytes of 0x80 and up) is invalid: such values must come base64-encoded. */
int gw_mcphdr_chars_ok(const char *v, size_t n);

/* The value a header carries: v is trimmed; "=?base64?B?=" (markers lowercase, case-sensitive)
 * decodes B strictly (the standard alphabet, '=' padding to a multiple of 4, no other bytes, no
 * stray bits in the last character); anything else must pass gw_mcphdr_chars_ok and is taken as
 * it is. Appends the value to out. GW_EINVAL for a bad encoding or a bad character (out then holds
 * nothing more), GW_ENOMEM when out cannot grow. */
gw_err_t gw_mcphdr_decode(const char *v, size_t n, gw_buf_t *out);

#endif
