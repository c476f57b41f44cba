/* json_strict.h: the checks yajl's tree leaves to its user: repeated member names and \u0000. */
#ifndef MCPGW_COMMON_JSON_STRICT_H
#define MCPGW_COMMON_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "common/err.h"

/* GW_EPARSE when an object in v (at any depth) names a member twice (yajl keeps both, and two
 * readers of the same text could then take different values), GW_ENOMEM, else GW_OK. v comes
 * from gw_json_parse, whose depth bound bounds the recursion. */
gw_err_t gw_json_check_unique_keys(yajl_val v);
/* The same for the members of object v only (GW_OK when v is not an object). */
gw_err_t gw_json_check_unique_members(yajl_val v);
/* True when a string of JSON text[0..len) holds the escape \u0000: yajl's tree gives strings as
 * C strings, so "a\u0000b" would be read as "a". */
bool gw_json_has_nul_escape(const char *text, size_t len);

#endif
