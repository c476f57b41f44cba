/* json.h: control-path JSON helpers over yajl's tree and generator (catalogs, routes, CLI). */
#ifndef MCPGW_COMMON_JSON_H
#define MCPGW_COMMON_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/err.h"

/* Parses text[0..len) (need not be NUL-terminated) into a tree the caller frees with
 * yajl_tree_free. NULL on error, with a message in err. */
yajl_val gw_json_parse(const char *text, size_t len, char *err, size_t errlen);
/* Member key of object v, or NULL (also when v is not an object). */
yajl_val gw_json_get(yajl_val v, const char *key);
/* String value of member key, or NULL. */
const char *gw_json_get_string(yajl_val v, const char *key);
/* Generates v into g (any type, recursively). */
yajl_gen_status gw_json_gen(yajl_gen g, yajl_val v);
/* Appends the compact JSON text of v to out. */
gw_err_t gw_json_to_buf(yajl_val v, gw_buf_t *out);
/* A generator whose output goes to out (beautify off, no validation of UTF-8 needed). Out of
 * memory while writing shows in gw_buf_status(out), which the caller checks when done. */
yajl_gen gw_json_gen_to_buf(gw_buf_t *out);
/* Ends a generator from gw_json_gen_to_buf: frees g and says how the writing went, from the
 * generator's last status st and out's gw_buf_status (GW_ETOOBIG for too deep, GW_EINVAL for
 * another generator error, GW_ENOMEM when out ran out of memory). */
gw_err_t gw_json_gen_done(yajl_gen g, gw_buf_t *out, yajl_gen_status st);
/* Writes a NUL-terminated string as a yajl string. */
yajl_gen_status gw_json_gen_cstr(yajl_gen g, const char *s);

#endif
