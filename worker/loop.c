/* loop.c: the worker's event loop: libcurl's poll over the inbox, the signal pipe and the
 * backlogged outboxes, then the timers (waiting calls, catalog, GET streams, resumes, the inbox
 * guard); signals (SIGTERM, SIGINT) stop it gracefully. */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/clock.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/signals.h"
#include "worker/worker.h"

/* ---- signals ---- */

gw_err_t wrk_loop_signals_setup(wrk_t *w)
{
    static const int sigs[] = {SIGTERM, SIGINT};

    return gw_signals_open(&w->sigs, sigs, sizeof(sigs) / sizeof(sigs[0]));
}

void wrk_loop_signals_teardown(wrk_t *w)
{
    gw_signals_close(&w->sigs);
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

void wrk_loop_run(wrk_t *w)
{
    int64_t next = 0;

    for (;;) {
        struct curl_waitfd fds[2 + WRK_OUTBOXES];
        unsigned nfds = 2;
        int64_t now = gw_clock_ms();
        int running = 0;
        CURLMcode mc;

        if (w->stopping &&
            ((list_empty(&w->calls) && list_empty(&w->closers) && list_empty(&w->posts)) ||
             now >= w->stop_deadline)) {
            return;
        }
        memset(fds, 0, sizeof(fds));
        fds[0].fd = gw_ipc_recv_fd(w->inbox);
        fds[0].events = CURL_WAIT_POLLIN;
        fds[1].fd = gw_signals_fd(&w->sigs);
        fds[1].events = CURL_WAIT_POLLIN;
        for (size_t i = 0; i < w->out.n && nfds < sizeof(fds) / sizeof(fds[0]); i++) {
            if (w->out.v[i]->count > 0) { /* readable once nng can take more */
                fds[nfds].fd = gw_outbox_send_fd(w->out.v[i]);
                fds[nfds++].events = CURL_WAIT_POLLIN;
            }
        }
        mc = curl_multi_poll(w->multi, fds, nfds, loop_timeout(w, now, next), NULL);
        if (mc != CURLM_OK) {
            gw_log_warn("msg=\"poll failed\" backend=%s error=\"%s\"", w->name,
                        curl_multi_strerror(mc));
        }
        if (fds[1].revents != 0) {
            drain_signals(w);
        }
        wrk_inbox_drain(w);
        wrk_closer_start_posts(w);
        curl_multi_perform(w->multi, &running);
        wrk_xfer_complete_done(w);
        wrk_closer_start_posts(w);
        wrk_reply_flush_backlog(w);
        gw_outboxes_flush(&w->out); /* the end of the turn: batches go out */
        now = gw_clock_ms();
        next = wrk_call_sweep_waiting(w, now);
        {
            int64_t cat_next = wrk_catalog_tick(w, now);
            int64_t streams_next = wrk_stream_tick(w, now);
            int64_t guard_next = gw_ipc_guard_tick(&w->inbox_guard, now);
            int64_t resume_next = wrk_call_resumes_tick(w, now);
            if (resume_next < next) {
                next = resume_next;
            }
            if (guard_next < next) {
                next = guard_next;
            }
            if (cat_next < next) {
                next = cat_next;
            }
            if (streams_next < next) {
                next = streams_next;
            }
        }
    }
}
