/* loop.c: the worker's event loop: one epoll set holding the inbox, the signal pipe, the
 * outboxes and libcurl's sockets (curl_multi_socket_action), so a turn touches only
 * what is active; then the timers (libcurl's, waiting calls, catalog, GET streams, resumes);
 * signals (SIGTERM, SIGINT) stop it gracefully. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/signals.h"
#include "worker/worker.h"

/* ---- the epoll set and signals ---- */

static gw_err_t watch(wrk_t *w, int fd, uint32_t tag, uint32_t low)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = ((uint64_t)tag << 32) | low;
    return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? GW_OK : GW_EIO;
}

gw_err_t wrk_loop_setup(wrk_t *w)
{
    static const int sigs[] = {SIGTERM, SIGINT};
    gw_err_t err;

    if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        return GW_EIO;
    }
    if ((err = gw_signals_open(&w->sigs, sigs, sizeof(sigs) / sizeof(sigs[0]))) != GW_OK) {
        return err;
    }
    return watch(w, gw_signals_fd(&w->sigs), WRK_EV_SIGNAL, 0);
}

gw_err_t wrk_loop_watch_inbox(wrk_t *w)
{
    return watch(w, gw_inbox_fd(&w->inbox), WRK_EV_INBOX, 0);
}

void wrk_loop_teardown(wrk_t *w)
{
    gw_signals_close(&w->sigs);
    if (w->ep >= 0) {
        close(w->ep);
        w->ep = -1;
    }
}

/* ---- the loop ---- */

static void drain_signals(wrk_t *w)
{
    uint32_t seen = gw_signals_take(&w->sigs);

    if ((seen & (GW_SIGBIT(SIGTERM) | GW_SIGBIT(SIGINT))) != 0 && !w->stopping) {
        w->stopping = 1;
        w->stop_deadline = gw_clock_ms() + WRK_STOP_GRACE_MS;
        gw_log_info("msg=stopping backend=%s calls_in_flight=%d", w->name, !list_empty(&w->calls));
        wrk_catalog_clear(w);
    }
}

static int loop_timeout(wrk_t *w, int64_t now, int64_t next)
{
    int64_t wait = WRK_IDLE_POLL_MS;

    if (w->stopping && w->stop_deadline < next) {
        next = w->stop_deadline;
    }
    if (next != INT64_MAX) {
        wait = next - now < 0 ? 0 : next - now;
    }
    if (!list_empty(&w->backlog) && wait > WRK_BACKLOG_POLL_MS) {
        wait = WRK_BACKLOG_POLL_MS;
    }
    return wait > WRK_IDLE_POLL_MS ? WRK_IDLE_POLL_MS : (int)wait;
}

/* Each outbox's fd is on the epoll set from its first use on (readable only when its peer hung
 * up, or while bytes wait and the socket has room). Outboxes are never closed before exit. */
static void watch_outboxes(wrk_t *w)
{
    for (; w->out_watched < w->out.n; w->out_watched++) {
        size_t i = w->out_watched;
        if (watch(w, gw_outbox_fd(w->out.v[i]), WRK_EV_OUTBOX, (uint32_t)i) != GW_OK) {
            gw_log_warn("msg=\"cannot watch an outbox\" backend=%s peer=%s", w->name,
                        w->out.v[i]->name);
        }
    }
}

/* Hands each epoll event to its owner: libcurl's sockets to their multi at once. */
static void dispatch_events(wrk_t *w, const struct epoll_event *evs, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t tag = (uint32_t)(evs[i].data.u64 >> 32);
        int low = (int)(uint32_t)evs[i].data.u64;
        int flags = 0;

        if (tag == WRK_EV_SIGNAL) {
            drain_signals(w);
        } else if (tag == WRK_EV_REQUESTS || tag == WRK_EV_STREAMS) {
            flags |= (evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0;
            flags |= (evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0;
            flags |= (evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0;
            wrk_xfer_socket_ready(w, tag, low, flags);
        } else if (tag == WRK_EV_OUTBOX && (size_t)low < w->out.n) {
            gw_outbox_poll(w->out.v[low]);
        }
        /* the inbox is drained every turn */
    }
}

static int64_t earliest(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Starts what is due and hands finished transfers to their owners, again while their callbacks
 * start more (a new transfer is due at once: a call's POST after its session's initialize), so
 * nothing finished waits for the next epoll wake-up. */
static void pump_transfers(wrk_t *w)
{
    for (int i = 0; i < WRK_PUMP_MAX; i++) {
        wrk_closer_start_posts(w);
        wrk_xfer_run_timers(w, gw_clock_ms());
        wrk_xfer_complete_done(w);
        wrk_closer_start_posts(w); /* the posts that waited for a slot a completion freed */
        if (wrk_xfer_next_timer(w) > gw_clock_ms()) {
            return;
        }
    }
}

/* The timers of calls, the catalog, GET streams, parked calls, outboxes whose peer is away and
 * resumes; returns when the next one is due. */
static int64_t run_ticks(wrk_t *w, int64_t now)
{
    int64_t next = wrk_call_sweep_waiting(w, now);

    gw_outboxes_redial_tick(&w->out, now);
    next = earliest(next, gw_outboxes_next_dial(&w->out));
    next = earliest(next, wrk_catalog_tick(w, now));
    next = earliest(next, wrk_stream_tick(w, now));
    next = earliest(next, wrk_mrtr_tick(w, now));
    return earliest(next, wrk_call_resumes_tick(w, now));
}

void wrk_loop_run(wrk_t *w)
{
    int64_t next = 0;

    for (;;) {
        struct epoll_event evs[WRK_EPOLL_EVENTS];
        int64_t now = gw_clock_ms();
        int n;

        if (w->stopping &&
            ((list_empty(&w->calls) && list_empty(&w->closers) && list_empty(&w->posts)) ||
             now >= w->stop_deadline)) {
            return;
        }
        watch_outboxes(w);
        n = epoll_wait(w->ep, evs, WRK_EPOLL_EVENTS, loop_timeout(w, now, next));
        if (n < 0 && errno != EINTR) {
            gw_log_warn("msg=\"epoll_wait failed\" backend=%s error=\"%s\"", w->name,
                        strerror(errno));
        }
        dispatch_events(w, evs, n > 0 ? n : 0);
        wrk_inbox_drain(w);
        pump_transfers(w);
        next = run_ticks(w, gw_clock_ms());
        pump_transfers(w); /* what the ticks started */
        wrk_reply_flush_backlog(w);
        gw_outboxes_flush(&w->out); /* the end of the turn: batches go out */
        next = earliest(next, wrk_xfer_next_timer(w));
    }
}
