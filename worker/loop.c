/* loop.c: the worker's event loop: libcurl's poll over the inbox, the signal pipe and the
 * backlogged outboxes, then the timers (waiting calls, catalog, GET streams, resumes, the inbox
 * guard); signals (SIGTERM, SIGINT) stop it gracefully. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/clock.h"
#include "common/ipc.h"
#include "common/log.h"
#include "worker/worker.h"

/* ---- signals ---- */

/* The only file-scope state of the worker: what a signal handler may touch. */
static volatile sig_atomic_t stop_signal;
static int sig_pipe_wr = -1;

static void on_signal(int sig)
{
    int saved = errno;
    char ch = (char)sig;

    stop_signal = 1;
    if (sig_pipe_wr >= 0) {
        ssize_t r = write(sig_pipe_wr, &ch, 1);
        (void)r;
    }
    errno = saved;
}

gw_err_t wrk_loop_signals_setup(wrk_t *w)
{
    struct sigaction sa;
    int fds[2];

    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        return GW_EIO;
    }
    w->sig_fd = fds[0];
    sig_pipe_wr = fds[1];
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    return GW_OK;
}

void wrk_loop_signals_teardown(wrk_t *w)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (sig_pipe_wr >= 0) {
        close(sig_pipe_wr);
        sig_pipe_wr = -1;
    }
    if (w->sig_fd >= 0) {
        close(w->sig_fd);
        w->sig_fd = -1;
    }
}

/* ---- the loop ---- */

static void drain_signals(wrk_t *w)
{
    char buf[64];

    while (read(w->sig_fd, buf, sizeof(buf)) > 0) {
    }
    if (stop_signal && !w->stopping) {
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
        fds[1].fd = w->sig_fd;
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
        if (fds[1].revents != 0 || (stop_signal && !w->stopping)) {
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
