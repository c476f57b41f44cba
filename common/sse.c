/* sse.c: a resumable parser of server-sent event streams (the WHATWG event-stream format) that
 * hands each complete event's data to a callback and keeps the last event id and retry advice
 * (what a relay needs to resume a stream the server closed early). */
#include <config.h>

#include <string.h>

#include "common/sse.h"

void gw_sse_init(gw_sse_t *p, size_t max)
{
    gw_buf_init(&p->line);
    gw_buf_init(&p->data);
    p->after_cr = 0;
    p->seen_line = 0;
    p->max = max;
    p->last_id[0] = '\0';
    p->retry_ms = -1;
}

void gw_sse_reset(gw_sse_t *p)
{
    gw_buf_reset(&p->line);
    gw_buf_reset(&p->data);
    p->after_cr = 0;
    p->seen_line = 0;
    p->last_id[0] = '\0';
    p->retry_ms = -1;
}

void gw_sse_fini(gw_sse_t *p)
{
    gw_buf_fini(&p->line);
    gw_buf_fini(&p->data);
}

static gw_err_t on_line(gw_sse_t *p, const char *s, size_t n, gw_sse_event_fn fn, void *arg)
{
    const char *colon;
    const char *v;
    size_t vlen;
    gw_err_t err;

    if (!p->seen_line) {
        p->seen_line = 1;
        if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
            s += 3;
            n -= 3;
        }
    }
    if (n == 0) {
        /* Dispatch. Events without data (the 2025-11-25 priming event, keep-alives) carry
         * nothing for the client. */
        size_t len = p->data.len > 0 ? p->data.len - 1 : 0;
        err = GW_OK;
        if (len > 0) {
            err = fn(arg, p->data.data, len);
        }
        gw_buf_reset(&p->data);
        return err;
    }
    if (s[0] == ':') {
        return GW_OK; /* comment */
    }
    colon = memchr(s, ':', n);
    size_t flen = colon ? (size_t)(colon - s) : n;
    v = colon ? colon + 1 : s + n;
    vlen = (size_t)(s + n - v);
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (flen == 2 && memcmp(s, "id", 2) == 0) {
        /* WHATWG: an id with a NUL is ignored; one too long to keep forgets the last one */
        if (memchr(v, '\0', vlen) == NULL) {
            size_t k = vlen <= GW_SSE_ID_MAX ? vlen : 0;
            memcpy(p->last_id, v, k);
            p->last_id[k] = '\0';
        }
        return GW_OK;
    }
    if (flen == 5 && memcmp(s, "retry", 5) == 0) {
        long ms = 0;
        size_t i = 0;
        while (i < vlen && v[i] >= '0' && v[i] <= '9' && ms < 100000000) {
            ms = ms * 10 + (v[i++] - '0');
        }
        if (vlen > 0 && i == vlen) {
            p->retry_ms = ms;
        }
        return GW_OK;
    }
    if (flen != 4 || memcmp(s, "data", 4) != 0) {
        return GW_OK; /* event and unknown fields mean nothing to a relay */
    }
    if (vlen + 1 > p->max - p->data.len) {
        return GW_ETOOBIG;
    }
    if ((err = gw_buf_append(&p->data, v, vlen)) != GW_OK) {
        return err;
    }
    return gw_buf_append(&p->data, "\n", 1);
}

gw_err_t gw_sse_feed(gw_sse_t *p, const char *buf, size_t len, gw_sse_event_fn fn, void *arg)
{
    const char *s = buf;
    const char *end = buf + len;
    gw_err_t err;

    while (s < end) {
        const char *eol = s;

        if (p->after_cr) {
            p->after_cr = 0;
            if (*s == '\n') {
                s++;
                continue;
            }
        }
        while (eol < end && *eol != '\n' && *eol != '\r') {
            eol++;
        }
        if (eol == end) {
            if ((size_t)(end - s) > p->max - p->line.len) {
                return GW_ETOOBIG;
            }
            return gw_buf_append(&p->line, s, (size_t)(end - s));
        }
        if (p->line.len > 0) {
            if ((size_t)(eol - s) > p->max - p->line.len) {
                return GW_ETOOBIG;
            }
            if ((err = gw_buf_append(&p->line, s, (size_t)(eol - s))) != GW_OK) {
                return err;
            }
            err = on_line(p, p->line.data, p->line.len, fn, arg);
            gw_buf_reset(&p->line);
        } else {
            /* The same limit as for a line that arrives in pieces: what a stream may carry must
             * not depend on how the network cut it. */
            if ((size_t)(eol - s) > p->max) {
                return GW_ETOOBIG;
            }
            err = on_line(p, s, (size_t)(eol - s), fn, arg);
        }
        if (err != GW_OK) {
            return err;
        }
        p->after_cr = *eol == '\r';
        s = eol + 1;
    }
    return GW_OK;
}
