/* The small yajl helpers both C test backends share: a member of a parsed object, strings and
 * raw JSON text written to a generator, and the generated text. */

#ifndef MCPGW_TESTS_BACKENDS_JSON_H
#define MCPGW_TESTS_BACKENDS_JSON_H

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* The value of the member key of obj, or NULL (also when obj is not an object). */
yajl_val json_member(yajl_val obj, const char *key);

/* Writes the NUL-terminated string s as a JSON string. */
void json_gen_str(yajl_gen g, const char *s);

/* Writes the bytes of v as a JSON string. */
void json_gen_iov(yajl_gen g, h2o_iovec_t v);

/* Inserts JSON text verbatim as a value (yajl copies number text unchecked); null if absent. */
void json_gen_raw(yajl_gen g, h2o_iovec_t raw);

/* Empties g for a new text. */
void json_gen_restart(yajl_gen g);

/* The generated text; valid until g is used again. */
h2o_iovec_t json_gen_output(yajl_gen g);

#endif
