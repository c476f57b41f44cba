/* shard.c: a message's worker among a backend's servers[].workers (shard.h). */
#include <config.h>

#include <stdint.h>

#include "common/hash.h"
#include "common/shard.h"

/* FNV-1a's low bits follow its last bytes closely: mixed (a 64-bit finalizer) before the
 * modulo so that uuids spread evenly over any n. */
static unsigned pick(uint64_t h, unsigned n)
{
    if (n <= 1) {
        return 0;
    }
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return (unsigned)(h % n);
}

unsigned gw_shard_of_session(gw_str_t session, unsigned n)
{
    return pick(gw_hash(session.ptr, session.len), n);
}

unsigned gw_shard_of_caller(gw_str_t issuer_tag, gw_str_t subject, unsigned n)
{
    uint64_t h = gw_hash_more(GW_HASH_INIT, "caller", 6); /* never a session's value */
    h = gw_hash_more(h, issuer_tag.ptr, issuer_tag.len);
    h = gw_hash_more(h, "\n", 1);
    return pick(gw_hash_more(h, subject.ptr, subject.len), n);
}

static gw_str_t header(const gw_envelope_t *e, const char *name)
{
    for (size_t i = 0; i < e->nheaders; i++) {
        if (gw_str_eq(e->headers[i].name, name)) {
            return e->headers[i].value;
        }
    }
    return GW_STR_NULL;
}

unsigned gw_shard_of(const gw_envelope_t *e, unsigned n)
{
    if (e->session.len > 0) {
        return gw_shard_of_session(e->session, n);
    }
    return gw_shard_of_caller(header(e, "auth-issuer-tag"), header(e, "auth-subject"), n);
}
