/* The small yajl helpers both C test backends share. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/json.h"

yajl_val json_member(yajl_val obj, const char *key)
{
    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }
    for (size_t i = 0; i != obj->u.object.len; ++i) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }
    return NULL;
}

void json_gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void json_gen_iov(yajl_gen g, h2o_iovec_t v)
{
    yajl_gen_string(g, (const unsigned char *)v.base, v.len);
}

void json_gen_raw(yajl_gen g, h2o_iovec_t raw)
{
    if (raw.base == NULL) {
        yajl_gen_null(g);
        return;
    }
    yajl_gen_number(g, raw.base, raw.len);
}

void json_gen_restart(yajl_gen g)
{
    yajl_gen_reset(g, NULL);
    yajl_gen_clear(g);
}

h2o_iovec_t json_gen_output(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        return h2o_iovec_init(NULL, 0);
    }
    return h2o_iovec_init(buf, len);
}
