/* mcpgw-testbackend: the table of live sessions and new session ids. */

#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <openssl/rand.h>

#include "common/hash.h"

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

int tb_session_table_init(tb_session_table_t *t)
{
    t->nbuckets = 256;
    t->count = 0;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    return t->buckets != NULL ? 0 : -1;
}

/* Streams still listed are left to h2o (they are ended before this on shutdown); they are only
 * unlinked, so that disposing of them later touches no freed session. */
void tb_session_table_fini(tb_session_table_t *t)
{
    for (size_t i = 0; i != t->nbuckets; ++i) {
        tb_session_t *s = t->buckets[i];
        while (s != NULL) {
            tb_session_t *next = s->next;
            while (!h2o_linklist_is_empty(&s->streams)) {
                h2o_linklist_unlink(s->streams.next);
            }
            free(s);
            s = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = 0;
    t->count = 0;
}

/* Returns the link that points at the session with this id, or the NULL link ending its chain. */
static tb_session_t **session_link(tb_session_table_t *t, h2o_iovec_t id)
{
    tb_session_t **link = &t->buckets[gw_hash(id.base, id.len) & (t->nbuckets - 1)];

    while (*link != NULL && !h2o_memis((*link)->id, (*link)->id_len, id.base, id.len)) {
        link = &(*link)->next;
    }
    return link;
}

static void session_table_grow(tb_session_table_t *t)
{
    size_t nbuckets = t->nbuckets * 2;
    tb_session_t **buckets = calloc(nbuckets, sizeof(*buckets));

    if (buckets == NULL) {
        return; /* longer chains, still correct */
    }
    for (size_t i = 0; i != t->nbuckets; ++i) {
        tb_session_t *s = t->buckets[i];
        while (s != NULL) {
            tb_session_t *next = s->next;
            size_t slot = gw_hash(s->id, s->id_len) & (nbuckets - 1);
            s->next = buckets[slot];
            buckets[slot] = s;
            s = next;
        }
    }
    free(t->buckets);
    t->buckets = buckets;
    t->nbuckets = nbuckets;
}

tb_session_t *tb_session_find(tb_session_table_t *t, h2o_iovec_t id)
{
    return *session_link(t, id);
}

int tb_session_add(tb_session_table_t *t, h2o_iovec_t id)
{
    tb_session_t *s = malloc(sizeof(*s) + id.len);

    if (s == NULL) {
        return -1;
    }
    if (t->count >= t->nbuckets) {
        session_table_grow(t);
    }
    h2o_linklist_init_anchor(&s->streams);
    s->sampling = 0;
    s->id_len = id.len;
    memcpy(s->id, id.base, id.len);
    tb_session_t **link = session_link(t, id);
    s->next = *link;
    *link = s;
    ++t->count;
    return 0;
}

/* Returns 1 if the session existed. Its GET streams must have been ended (unlinked) first. */
int tb_session_remove(tb_session_table_t *t, h2o_iovec_t id)
{
    tb_session_t **link = session_link(t, id);
    tb_session_t *s = *link;

    if (s == NULL) {
        return 0;
    }
    assert(h2o_linklist_is_empty(&s->streams));
    *link = s->next;
    free(s);
    --t->count;
    return 1;
}

/* Writes NAME-<32 hex digits> into buf (SESSION_ID_MAX bytes); returns its length or 0. */
size_t tb_session_new_id(const tb_server_t *srv, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[SESSION_RANDOM_BYTES];
    char *p = buf;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return 0;
    }
    memcpy(p, srv->name, srv->name_len);
    p += srv->name_len;
    *p++ = '-';
    for (size_t i = 0; i != sizeof(rnd); ++i) {
        *p++ = hex[rnd[i] >> 4];
        *p++ = hex[rnd[i] & 15];
    }
    return (size_t)(p - buf);
}
