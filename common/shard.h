/* shard.h: which of a backend's workers (servers[].workers) serves a message: a session's by a
 * hash of its uuid, a 2026-07-28 caller's (no session) by a hash of who it is. Routers and the
 * broker compute it alike, so every message of a session, from any router, before and after any
 * restart or reload that keeps the count, reaches the one worker holding its upstream session. */
#ifndef MCPGW_COMMON_SHARD_H
#define MCPGW_COMMON_SHARD_H

#include "common/envelope.h"

/* The shard (0..n - 1) of the session whose uuid text is session; n 0 or 1: 0. */
unsigned gw_shard_of_session(gw_str_t session, unsigned n);
/* The shard of a caller without a session: its auth-issuer-tag and auth-subject header values
 * (both empty for an anonymous caller: anonymous callers share one shard, as they share one
 * pooled upstream session there). */
unsigned gw_shard_of_caller(gw_str_t issuer_tag, gw_str_t subject, unsigned n);
/* The shard of envelope e: its session's when it has one, else its caller's from its headers. */
unsigned gw_shard_of(const gw_envelope_t *e, unsigned n);

#endif
