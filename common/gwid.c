/* gwid.c: gateway-unique ids (gwid.h). */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "common/gwid.h"

#define TAG_LEN (sizeof(GW_GWID_TAG) - 1)

gw_err_t gw_gwid_append(gw_buf_t *out, const char *server, const char *id, size_t idlen)
{
    gw_err_t err = gw_buf_appendf(out, GW_GWID_TAG "%s:", server);
    if (err == GW_OK) {
        err = gw_buf_append(out, id, idlen);
    }
    return err;
}

gw_err_t gw_gwid_format(char *out, size_t outlen, const char *server, const char *id)
{
    int n = snprintf(out, outlen, GW_GWID_TAG "%s:%s", server, id);
    return n < 0 || (size_t)n >= outlen ? GW_ETOOBIG : GW_OK;
}

int gw_gwid_parse(const char *text, size_t len, gw_str_t *server, gw_str_t *rest)
{
    if (text == NULL || len <= TAG_LEN || memcmp(text, GW_GWID_TAG, TAG_LEN) != 0) {
        return 0;
    }
    const char *name = text + TAG_LEN;
    const char *colon = memchr(name, ':', len - TAG_LEN);
    if (colon == NULL || colon == name) {
        return 0;
    }
    *server = (gw_str_t){name, (size_t)(colon - name)};
    *rest = (gw_str_t){colon + 1, (size_t)(text + len - (colon + 1))};
    return 1;
}

int gw_gwid_parse_token(const char *tok, size_t len, gw_str_t *server, gw_str_t *rest)
{
    if (len < 2 || tok[0] != '"' || tok[len - 1] != '"' || memchr(tok, '\\', len) != NULL) {
        return 0;
    }
    return gw_gwid_parse(tok + 1, len - 2, server, rest);
}
