/* modern_page.c: a page of the catalog as a 2026-07-28 client receives it (design
 * docs/design-2026-07-28.md §4): resultType, ttlMs, cacheScope and _meta serverInfo around the
 * page, and cursors that carry the scope of the pages they continue. Pure. */
#include <config.h> /* autoconf's, not common/config.h */

#include <string.h>

#include "broker/broker.h"

/* The scope a modern cursor was handed out under, after the gateway cursor: the spec wants one
 * cacheScope on every page of one list, and whether a list is private can change between two
 * pages (a capability set that lists otherwise appears) while its gateway cursors stay valid
 * for 2025 sessions, whose answers must not change. '~' is no base-36 digit nor '.', so the
 * gateway cursor is what precedes it. */
#define SCOPE_MARK '~'
#define SCOPE_PRIVATE 'p'
#define SCOPE_PUBLIC 's' /* shared */

const char *brk_modern_cursor_open(const char *cursor, int private, char *buf, size_t len)
{
    size_t n = strlen(cursor);
    if (n < 3 || n - 2 >= len || cursor[n - 2] != SCOPE_MARK ||
        cursor[n - 1] != (private ? SCOPE_PRIVATE : SCOPE_PUBLIC)) {
        return NULL;
    }
    memcpy(buf, cursor, n - 2);
    buf[n - 2] = '\0';
    return buf;
}

/* Where the gateway cursor's closing quote is in page ({…,"nextCursor":"<cursor>"}, the way
 * brk_catalog_page_for ends a page that has a next one), or 0 when the page has none. */
static size_t next_cursor_end(const gw_buf_t *page)
{
    static const char key[] = ",\"nextCursor\":\"";
    size_t q = page->len - 2; /* the quote before the closing brace */
    if (page->len < sizeof(key) + 2 || page->data[q] != '"') {
        return 0;
    }
    size_t i = q;
    while (i > 0 &&
           ((page->data[i - 1] >= '0' && page->data[i - 1] <= '9') ||
            (page->data[i - 1] >= 'a' && page->data[i - 1] <= 'z') || page->data[i - 1] == '.')) {
        i--;
    }
    size_t klen = sizeof(key) - 1;
    return i >= klen && memcmp(page->data + i - klen, key, klen) == 0 ? q : 0;
}

gw_err_t brk_modern_page(const gw_buf_t *page, int private, gw_buf_t *out)
{
    if (page->len < 2 || page->data[0] != '{' || page->data[page->len - 1] != '}') {
        return GW_EINVAL; /* brk_catalog_page_for writes one object: never here */
    }
    size_t q = next_cursor_end(page);
    size_t body_end = page->len - 1; /* the page's members end before its '}' */
    gw_buf_appends(out, "{\"resultType\":\"complete\",");
    if (q > 0) {
        char mark[2] = {SCOPE_MARK, private ? SCOPE_PRIVATE : SCOPE_PUBLIC};
        gw_buf_append(out, page->data + 1, q - 1);
        gw_buf_append(out, mark, sizeof(mark));
        gw_buf_append(out, page->data + q, body_end - q);
    } else {
        gw_buf_append(out, page->data + 1, body_end - 1);
    }
    /* ttlMs 0: the gateway's lists change whenever a backend's do, and it announces that
     * (listChanged) rather than promising a lifetime */
    gw_buf_appendf(out,
                   ",\"ttlMs\":0,\"cacheScope\":\"%s\",\"_meta\":{\"io.modelcontextprotocol/"
                   "serverInfo\":{\"name\":\"mcpgw\",\"version\":",
                   private ? "private" : "public");
    gw_buf_append_json_string(out, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
    gw_buf_appends(out, "}}}");
    return gw_buf_status(out);
}
