/* closer.c: fire-and-forget requests on upstream sessions: POSTs (answers to server requests,
 * refusals, notifications, logging/setLevel) through a bounded queue with a bounded number in
 * flight per upstream session and per worker, and the DELETE that ends a session. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/metrics.h"
#include "worker/worker.h"

/* A fire-and-forget DELETE of an upstream session, or POST on one. */
typedef struct closer {
    link_t link;               /* w->posts until started, then w->closers */
    const char *done_msg;      /* its log line: "upstream session deleted" or "... posted" */
    char rid[WRK_RID_MAX + 1]; /* the request it was sent for ("" for the gateway's own) */
    char sid[WRK_SID_MAX + 1]; /* a post waiting to start: its upstream session ("": none) */
    char proto[16];
    upstream_t *up; /* a post: its upstream session (a reference), for the per-session bounds */
    int started;    /* a post: its transfer is with libcurl */
    xfer_t x;
} closer_t;

/* Takes cl off its list (if any), out of the post bounds, and frees it. */
static void closer_destroy(closer_t *cl)
{
    wrk_t *w = cl->x.w;

    list_remove(&cl->link);
    if (cl->up != NULL) {
        if (cl->started) {
            w->posts_inflight--;
            cl->up->posts_inflight--;
        } else {
            w->posts_queued--;
            w->posts_queued_bytes -= cl->x.req.len;
        }
        cl->up->posts--;
        if (cl->up->posts == 0) {
            cl->up->posts_dropping = 0; /* a later flood is logged again */
        }
        wrk_upstream_unref(cl->up);
    }
    wrk_xfer_fini(&cl->x);
    free(cl);
}

static void closer_on_done(xfer_t *x, CURLcode rc)
{
    closer_t *cl = GW_CONTAINER_OF(x, closer_t, x);

    gw_log_debug("msg=\"%s\" backend=%s status=%ld curl=\"%s\" request_id=%s", cl->done_msg,
                 x->w->name, x->status, curl_easy_strerror(rc), cl->rid);
    closer_destroy(cl);
}

static gw_err_t ignore_event(xfer_t *x, const char *data, size_t len)
{
    return GW_OK;
}

static const xfer_ops_t closer_ops = {
    .on_done = closer_on_done,
    .on_event = ignore_event,
};

/* Is there room for a post of len bytes on up? When there is not, the post is dropped: counted,
 * and logged once per flood of a session (until its posts drain). */
static int post_admit(upstream_t *up, size_t len, const char *rid)
{
    wrk_t *w = up->w;
    const char *full = NULL;

    if (up->posts >= WRK_POSTS_SESSION_MAX) {
        full = "session";
        gw_metric_add(w->m, GW_MC_POST_DROP_SESSION, 1);
    } else if (w->posts_queued >= WRK_POSTS_QUEUED_MAX ||
               len > WRK_POSTS_QUEUED_BYTES_MAX - w->posts_queued_bytes) {
        full = "worker";
        gw_metric_add(w->m, GW_MC_POST_DROP_WORKER, 1);
    }
    if (full == NULL) {
        return 1;
    }
    if (!up->posts_dropping) {
        up->posts_dropping = 1;
        gw_log_warn("msg=\"posts to the backend dropped: queue full\" backend=%s session=%s "
                    "bound=%s session_max=%u worker_max=%u request_id=%s",
                    w->name, up->key, full, WRK_POSTS_SESSION_MAX, WRK_POSTS_QUEUED_MAX,
                    rid != NULL ? rid : "");
    }
    return 0;
}

/* POSTs one message on the upstream session, fire and forget (answers to server requests,
 * notifications, logging/setLevel): the result is only logged. rid: the client's request it is
 * sent for, passed on as x-request-id ("" for none). GW_ETOOBIG: a queue bound is full and the
 * message was dropped (counted and logged here). */
gw_err_t wrk_closer_post(upstream_t *up, const char *body, size_t len, const char *rid)
{
    wrk_t *w = up->w;
    closer_t *cl;

    if (!post_admit(up, len, rid)) {
        return GW_ETOOBIG;
    }
    if ((cl = calloc(1, sizeof(*cl))) == NULL) {
        return GW_ENOMEM;
    }
    list_init(&cl->link);
    cl->done_msg = "upstream message posted";
    snprintf(cl->rid, sizeof(cl->rid), "%s", rid != NULL ? rid : "");
    snprintf(cl->sid, sizeof(cl->sid), "%s", up->sid != NULL ? up->sid : "");
    snprintf(cl->proto, sizeof(cl->proto), "%s", up->proto);
    wrk_xfer_init(&cl->x, w, &closer_ops);
    if (gw_buf_append(&cl->x.req, body, len) != GW_OK) {
        closer_destroy(cl);
        return GW_ENOMEM;
    }
    cl->up = up;
    up->refs++;
    up->posts++;
    w->posts_queued++;
    w->posts_queued_bytes += len;
    /* Started from the loop: this may run inside a libcurl callback (a server request refused
     * while its event is being read), where libcurl refuses to add a transfer. */
    list_append(&w->posts, &cl->link);
    return GW_OK;
}

/* Starts the posts wrk_closer_post() queued, oldest first, while the worker and each session
 * have room in flight; the others wait for a post to finish. */
void wrk_closer_start_posts(wrk_t *w)
{
    for (link_t *l = w->posts.next; l != &w->posts && w->posts_inflight < WRK_POSTS_INFLIGHT_MAX;) {
        closer_t *cl = GW_CONTAINER_OF(l, closer_t, link);
        l = l->next;
        if (cl->up->posts_inflight >= WRK_POSTS_SESSION_INFLIGHT_MAX) {
            continue;
        }
        list_remove(&cl->link);
        w->posts_queued--;
        w->posts_queued_bytes -= cl->x.req.len;
        w->posts_inflight++;
        cl->up->posts_inflight++;
        cl->started = 1;
        xfer_req_t rq = {
            .method = "POST",
            .body = cl->x.req.data,
            .len = cl->x.req.len,
            .sid = cl->sid[0] ? cl->sid : NULL,
            .proto = cl->proto[0] ? cl->proto : NULL,
            .rid = cl->rid,
            .timeout_ms = w->srv->timeout_ms,
        };
        if (wrk_xfer_start(&cl->x, &rq) != GW_OK) {
            gw_log_warn("msg=\"cannot post to the backend\" backend=%s request_id=%s", w->name,
                        cl->rid);
            closer_destroy(cl);
            continue;
        }
        list_append(&w->closers, &cl->link);
    }
}

/* DELETE the backend's session: fire and forget (the result is only logged). It carries
 * up->rid, the request that closed the session, as x-request-id. */
gw_err_t wrk_closer_delete(upstream_t *up)
{
    wrk_t *w = up->w;
    closer_t *cl;
    gw_err_t err;

    if (up->sid == NULL) {
        return GW_OK; /* a stateless backend: no session to end */
    }
    if ((cl = calloc(1, sizeof(*cl))) == NULL) {
        return GW_ENOMEM;
    }
    list_init(&cl->link);
    cl->done_msg = "upstream session deleted";
    snprintf(cl->rid, sizeof(cl->rid), "%s", up->rid);
    xfer_req_t rq = {
        .method = "DELETE",
        .sid = up->sid,
        .proto = up->proto[0] ? up->proto : NULL,
        .rid = cl->rid,
        .timeout_ms = w->srv->timeout_ms,
    };
    wrk_xfer_init(&cl->x, w, &closer_ops);
    if ((err = wrk_xfer_start(&cl->x, &rq)) != GW_OK) {
        closer_destroy(cl);
        return err;
    }
    list_append(&w->closers, &cl->link);
    return GW_OK;
}

void wrk_closer_free_all(link_t *list)
{
    while (!list_empty(list)) {
        closer_destroy(GW_CONTAINER_OF(list->next, closer_t, link));
    }
}
