/* buf.c: the growable byte buffer behind every string and message mcpgw builds. */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define BUF_MIN_CAP 64

void gw_buf_init(gw_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void gw_buf_fini(gw_buf_t *b)
{
    free(b->data);
    gw_buf_init(b);
}

void gw_buf_reset(gw_buf_t *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

gw_err_t gw_buf_status(const gw_buf_t *b)
{
    return b->failed ? GW_ENOMEM : GW_OK;
}

gw_err_t gw_buf_reserve(gw_buf_t *b, size_t extra)
{
    if (b->failed || extra > SIZE_MAX - 1 - b->len) {
        b->failed = 1;
        return GW_ENOMEM;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return GW_OK;
    }
    size_t cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
    while (cap < need) {
        /* Doubling keeps appends amortised O(1); past half of SIZE_MAX take exactly what is
         * needed instead of overflowing. */
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
        return GW_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return GW_OK;
}

gw_err_t gw_buf_append(gw_buf_t *b, const void *p, size_t n)
{
    gw_err_t err = gw_buf_reserve(b, n);
    if (err != GW_OK) {
        return err;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return GW_OK;
}

gw_err_t gw_buf_appends(gw_buf_t *b, const char *s)
{
    return gw_buf_append(b, s, strlen(s));
}

gw_err_t gw_buf_vappendf(gw_buf_t *b, const char *fmt, va_list ap)
{
    /* Try to format into the room already there; most calls fit and need one pass. */
    gw_err_t err = gw_buf_reserve(b, 0);
    if (err != GW_OK) {
        return err;
    }
    va_list ap2;
    va_copy(ap2, ap);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->data + b->len, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = '\0';
        return GW_EINVAL;
    }
    if ((size_t)n >= room) {
        err = gw_buf_reserve(b, (size_t)n);
        if (err != GW_OK) {
            b->data[b->len] = '\0';
            return err;
        }
        va_copy(ap2, ap);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
        va_end(ap2);
        if (n < 0) {
            b->data[b->len] = '\0';
            return GW_EINVAL;
        }
    }
    b->len += (size_t)n;
    return GW_OK;
}

gw_err_t gw_buf_appendf(gw_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_err_t err = gw_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return err;
}

gw_err_t gw_buf_append_json_string(gw_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX; reserving that up front makes the loop below
     * allocation-free. */
    if (n > (SIZE_MAX - 3) / 6) {
        return GW_ENOMEM;
    }
    gw_err_t err = gw_buf_reserve(b, n * 6 + 2);
    if (err != GW_OK) {
        return err;
    }
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\b':
            *o++ = '\\';
            *o++ = 'b';
            break;
        case '\f':
            *o++ = '\\';
            *o++ = 'f';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        default:
            if (c < 0x20) {
                *o++ = '\\';
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 0xf];
            } else {
                *o++ = (char)c;
            }
            break;
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return GW_OK;
}

char *gw_buf_steal(gw_buf_t *b, size_t *len)
{
    char *p = b->data;
    size_t n = b->len;
    if (p == NULL) {
        /* Callers get a string they can free even when nothing was appended; NULL means only
         * out of memory. */
        p = calloc(1, 1);
        n = 0;
    }
    if (len != NULL) {
        *len = n;
    }
    gw_buf_init(b);
    return p;
}
