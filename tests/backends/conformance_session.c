/* mcpgw-conformance: sessions: created by initialize, ended by DELETE or shutdown. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

cf_session_t *cf_session_find(cf_server_t *srv, h2o_iovec_t id)
{
    if (id.len != SESSION_ID_LEN) {
        return NULL;
    }
    for (cf_session_t *s = srv->sessions; s != NULL; s = s->next) {
        if (memcmp(s->id, id.base, SESSION_ID_LEN) == 0) {
            return s;
        }
    }
    return NULL;
}

cf_session_t *cf_session_create(cf_server_t *srv)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[SESSION_RANDOM_BYTES];
    size_t prefix = sizeof(SESSION_PREFIX) - 1;

    if (srv->nsessions >= MAX_SESSIONS || getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        return NULL;
    }
    cf_session_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->srv = srv;
    s->refs = 1;
    s->live = 1;
    s->log_level = 0;
    memcpy(s->id, SESSION_PREFIX, prefix);
    for (size_t i = 0; i != sizeof(rnd); ++i) {
        s->id[prefix + 2 * i] = hex[rnd[i] >> 4];
        s->id[prefix + 2 * i + 1] = hex[rnd[i] & 15];
    }
    s->id[SESSION_ID_LEN] = '\0';
    s->next = srv->sessions;
    srv->sessions = s;
    ++srv->nsessions;
    return s;
}

/* 2026-07-28 has no sessions; the calls that answer later still hang on a session (their
 * stream, log level and client capabilities), so each modern request gets one of its own. */
cf_session_t *cf_session_transient(cf_server_t *srv, unsigned caps, int log_level)
{
    cf_session_t *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->srv = srv;
    s->refs = 1;
    s->live = 1;
    s->modern = 1;
    s->caps = caps;
    s->client_sampling = (caps & CF_CAP_SAMPLING) != 0;
    s->client_elicitation = (caps & CF_CAP_ELICITATION) != 0;
    s->log_level = log_level;
    strcpy(s->id, "modern");
    return s;
}

void cf_session_release(cf_session_t *s)
{
    if (--s->refs != 0) {
        return;
    }
    while (s->subscriptions != NULL) {
        cf_subscription_t *sub = s->subscriptions;
        s->subscriptions = sub->next;
        free(sub);
    }
    free(s);
}

void cf_session_on_get_stream_gone(void *owner)
{
    ((cf_session_t *)owner)->get_stream = NULL;
}

void cf_session_end(cf_session_t *s)
{
    cf_server_t *srv = s->srv;

    if (!s->live) {
        return;
    }
    s->live = 0;
    for (cf_session_t **p = &srv->sessions; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            --srv->nsessions;
            break;
        }
    }
    if (s->get_stream != NULL) {
        cf_stream_t *get = s->get_stream;
        s->get_stream = NULL;
        cf_stream_detach(get);
        cf_stream_end(get);
    }
    s->refs++; /* the calls' references must not free s under the loop */
    while (s->calls != NULL) {
        cf_call_abort(s->calls);
    }
    while (s->resumes != NULL) {
        cf_resume_t *resume = s->resumes;
        s->resumes = resume->next;
        cf_resume_free(resume);
    }
    s->refs--;
    cf_session_release(s); /* the list's reference */
}

/* Sends a message unrelated to any request on the session's GET stream, if one is open. */
void cf_session_notify(cf_session_t *s, yajl_gen g)
{
    cf_stream_send_gen(s->get_stream, g);
}
