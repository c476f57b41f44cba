/* buf.h: a growable byte buffer, the one way mcpgw builds strings and messages. */
#ifndef MCPGW_COMMON_BUF_H
#define MCPGW_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/err.h"

typedef struct gw_buf {
    char *data; /* owned; always NUL-terminated after a successful append (not counted in len) */
    size_t len;
    size_t cap;
    int failed; /* an append ran out of memory: data is short, and every later append fails
                 * too until gw_buf_reset, so a writer that cannot fail (yajl's print callback)
                 * never leaves a gap in the middle; see gw_buf_status */
} gw_buf_t;

void gw_buf_init(gw_buf_t *b);
void gw_buf_fini(gw_buf_t *b);
/* Keeps the allocation, sets len to 0. */
void gw_buf_reset(gw_buf_t *b);
/* Makes room for extra more bytes (plus the terminating NUL). */
gw_err_t gw_buf_reserve(gw_buf_t *b, size_t extra);
gw_err_t gw_buf_append(gw_buf_t *b, const void *p, size_t n);
gw_err_t gw_buf_appends(gw_buf_t *b, const char *s);
gw_err_t gw_buf_appendf(gw_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
gw_err_t gw_buf_vappendf(gw_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends s (n bytes, UTF-8) as a quoted JSON string with RFC 8259 escapes. */
gw_err_t gw_buf_append_json_string(gw_buf_t *b, const char *s, size_t n);
/* GW_ENOMEM when an append since init or reset ran out of memory, else GW_OK. */
gw_err_t gw_buf_status(const gw_buf_t *b);
/* Hands the data to the caller (who frees it) and re-initialises b. */
char *gw_buf_steal(gw_buf_t *b, size_t *len);

#endif
