/* sse.h: a resumable server-sent events parser (backend answers and GET streams). */
#ifndef MCPGW_COMMON_SSE_H
#define MCPGW_COMMON_SSE_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

/* Called with each complete event's data (data lines joined by \n, no trailing \n); events
 * without data are skipped. A non-GW_OK return stops the feed and is returned by it. */
typedef gw_err_t (*gw_sse_event_fn)(void *arg, const char *data, size_t len);

#define GW_SSE_ID_MAX 255 /* longer event ids are not kept (a stream with one cannot resume) */

typedef struct gw_sse {
    gw_buf_t line;                   /* a line split across reads */
    gw_buf_t data;                   /* the current event's data lines, each followed by \n */
    char last_id[GW_SSE_ID_MAX + 1]; /* the last "id" field seen ("" for none): Last-Event-ID */
    long retry_ms;                   /* the last "retry" field, or -1 */
    int after_cr;  /* the last byte was \r: a \n right after it ends no second line */
    int seen_line; /* a UTF-8 BOM may only precede the first line */
    size_t max;    /* the longest line or event accepted */
} gw_sse_t;

void gw_sse_init(gw_sse_t *p, size_t max);
/* Forgets a partial line and event, the last id and retry (a new stream on the same parser). */
void gw_sse_reset(gw_sse_t *p);
void gw_sse_fini(gw_sse_t *p);
/* Feeds len bytes of the stream (any split: lines may end with \n, \r\n or \r). GW_ETOOBIG
 * when a line or an event exceeds max. */
gw_err_t gw_sse_feed(gw_sse_t *p, const char *buf, size_t len, gw_sse_event_fn fn, void *arg);

#endif
