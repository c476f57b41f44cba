/* signals.h: one self-pipe for a process's signals.
 *
 * The handler, installed with SA_RESTART (and SA_NOCLDSTOP for SIGCHLD), saves errno, marks
 * the signal and writes one byte into a non-blocking pipe; the process's loop watches the read
 * end (gw_signals_fd) and, when it is readable, takes the marked signals (gw_signals_take).
 * SIGPIPE is ignored. One set per process: the handler's state is the only process-wide state
 * (signal flags and the pipe's write end). */
#ifndef MCPGW_COMMON_SIGNALS_H
#define MCPGW_COMMON_SIGNALS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct gw_signals {
    int rd; /* the pipe's read end, -1 when closed */
} gw_signals_t;

/* Installs the handler for the n signals in sigs (each below 32) and opens the pipe. */
gw_err_t gw_signals_open(gw_signals_t *s, const int *sigs, size_t n);
/* The descriptor to poll for reading. */
int gw_signals_fd(const gw_signals_t *s);
/* Empties the pipe and returns the signals seen since the last call, as a mask of
 * GW_SIGBIT(signo); 0 when none. */
uint32_t gw_signals_take(gw_signals_t *s);
/* Restores the default actions of the signals and closes the pipe. */
void gw_signals_close(gw_signals_t *s);

#define GW_SIGBIT(sig) (UINT32_C(1) << (sig))

#endif
