/* gwid.h: gateway-unique ids, "mcpgw:<server>:<the backend's id>".
 *
 * Task ids, tasks/list cursors and the ids of server-to-client requests reach clients in this
 * form, so that any router can send what refers to them (tasks/get, a client's answer) to the
 * worker of <server>, and two backends' (or two sessions') ids never collide. The backend's part
 * is kept as it is; it may contain ':'. Written and read only here. */
#ifndef MCPGW_COMMON_GWID_H
#define MCPGW_COMMON_GWID_H

#include <stddef.h>

#include "common/buf.h"
#include "common/envelope.h"
#include "common/err.h"

#define GW_GWID_TAG "mcpgw:"

/* Appends "mcpgw:<server>:<id>" (id of idlen bytes) to out. */
gw_err_t gw_gwid_append(gw_buf_t *out, const char *server, const char *id, size_t idlen);
/* Writes "mcpgw:<server>:<id>" NUL-terminated into out; GW_ETOOBIG when it does not fit. */
gw_err_t gw_gwid_format(char *out, size_t outlen, const char *server, const char *id);
/* Splits "mcpgw:<server>:<rest>" (len bytes, not NUL-terminated) into its server and rest
 * (pointers into text; rest may be empty). Returns 1 when text has that form with a non-empty
 * server, else 0. */
int gw_gwid_parse(const char *text, size_t len, gw_str_t *server, gw_str_t *rest);
/* As gw_gwid_parse for a JSON string token as it stands in a body, quotes included
 * ("\"mcpgw:alpha:7\""); rest stops before the closing quote. An escaped token never matches. */
int gw_gwid_parse_token(const char *tok, size_t len, gw_str_t *server, gw_str_t *rest);

#endif
