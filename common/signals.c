/* signals.c: the signal self-pipe (signals.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common/signals.h"

#define NSIGS 32

/* The only state a signal handler may touch. */
static volatile sig_atomic_t seen[NSIGS];
static volatile sig_atomic_t pipe_wr = -1;
static uint32_t installed;

static void on_signal(int sig)
{
    int saved = errno;
    if (sig > 0 && sig < NSIGS) {
        seen[sig] = 1;
    }
    if (pipe_wr >= 0) {
        char ch = (char)sig;
        ssize_t r = write(pipe_wr, &ch, 1); /* a full pipe already wakes the loop */
        (void)r;
    }
    errno = saved;
}

gw_err_t gw_signals_open(gw_signals_t *s, const int *sigs, size_t n)
{
    int fds[2];
    struct sigaction sa;

    s->rd = -1;
    for (size_t i = 0; i < n; i++) {
        if (sigs[i] <= 0 || sigs[i] >= NSIGS) {
            return GW_EINVAL;
        }
    }
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        return GW_EIO;
    }
    s->rd = fds[0];
    pipe_wr = fds[1];
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    for (size_t i = 0; i < n; i++) {
        sa.sa_flags = SA_RESTART | (sigs[i] == SIGCHLD ? SA_NOCLDSTOP : 0);
        seen[sigs[i]] = 0;
        if (sigaction(sigs[i], &sa, NULL) != 0) {
            gw_signals_close(s);
            return GW_EIO;
        }
        installed |= GW_SIGBIT(sigs[i]);
    }
    return GW_OK;
}

int gw_signals_fd(const gw_signals_t *s)
{
    return s->rd;
}

uint32_t gw_signals_take(gw_signals_t *s)
{
    char buf[64];
    uint32_t mask = 0;

    while (s->rd >= 0 && read(s->rd, buf, sizeof(buf)) > 0) {
    }
    for (int sig = 1; sig < NSIGS; sig++) {
        if (seen[sig]) {
            seen[sig] = 0;
            mask |= GW_SIGBIT(sig);
        }
    }
    return mask;
}

void gw_signals_close(gw_signals_t *s)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIGS; sig++) {
        if (installed & GW_SIGBIT(sig)) {
            sigaction(sig, &sa, NULL);
        }
    }
    installed = 0;
    if (pipe_wr >= 0) {
        close(pipe_wr);
        pipe_wr = -1;
    }
    if (s->rd >= 0) {
        close(s->rd);
        s->rd = -1;
    }
}
