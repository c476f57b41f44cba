/* config_message.c: the one-line messages of the configuration loader, "mcpgw.yaml:12:
 * servers[1].url: not an http(s) URL", and the key paths they name. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/config_int.h"

static gw_err_t failv(gw_config_ctx_t *cx, gw_err_t code, unsigned line, const char *path,
                      const char *fmt, va_list ap)
{
    if (cx->err == NULL || cx->errlen == 0) {
        return code;
    }
    int n;
    if (path != NULL && path[0] != '\0') {
        n = snprintf(cx->err, cx->errlen, "%s:%u: %s: ", cx->name, line, path);
    } else {
        n = snprintf(cx->err, cx->errlen, "%s:%u: ", cx->name, line);
    }
    if (n >= 0 && (size_t)n < cx->errlen) {
        vsnprintf(cx->err + n, cx->errlen - (size_t)n, fmt, ap);
    }
    return code;
}

gw_err_t gw_config_fail(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_err_t err = failv(cx, GW_EINVAL, n != NULL ? n->line : 1, path, fmt, ap);
    va_end(ap);
    return err;
}

gw_err_t gw_config_fail_yaml(gw_config_ctx_t *cx, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_err_t err = failv(cx, GW_EPARSE, line, NULL, fmt, ap);
    va_end(ap);
    return err;
}

gw_err_t gw_config_fail_nomem(gw_config_ctx_t *cx)
{
    if (cx->err != NULL && cx->errlen > 0) {
        snprintf(cx->err, cx->errlen, "%s: out of memory", cx->name);
    }
    return GW_ENOMEM;
}

/* Key paths only go into messages, so an absurdly long one is cut rather than refused. A quoted
 * key may hold any character; control characters are written as \xNN so that a message stays one
 * line (and one log line). */
void gw_config_path_join(char *dst, const char *parent, const char *key)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0;
    size_t plen = strnlen(parent, GW_CONFIG_KEY_PATH_MAX - 1);
    memcpy(dst, parent, plen);
    len = plen;
    if (plen > 0 && len < GW_CONFIG_KEY_PATH_MAX - 1) {
        dst[len++] = '.';
    }
    for (const char *k = key; *k != '\0'; k++) {
        unsigned char c = (unsigned char)*k;
        int control = c < 0x20 || c == 0x7f;
        if (len + (control ? 4 : 1) > GW_CONFIG_KEY_PATH_MAX - 1) {
            break;
        }
        if (control) {
            dst[len++] = '\\';
            dst[len++] = 'x';
            dst[len++] = hex[c >> 4];
            dst[len++] = hex[c & 15];
        } else {
            dst[len++] = (char)c;
        }
    }
    dst[len] = '\0';
}

void gw_config_path_index(char *dst, const char *parent, size_t i)
{
    snprintf(dst, GW_CONFIG_KEY_PATH_MAX, "%s[%zu]", parent, i);
}
