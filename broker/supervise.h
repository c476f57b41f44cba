/* supervise.h: the broker's children (routers and workers): spawn, reap, restart with backoff,
 * crash-loop detection, orderly stop. */
#ifndef MCPGW_BROKER_SUPERVISE_H
#define MCPGW_BROKER_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum brk_role {
    BRK_ROLE_ROUTER,
    BRK_ROLE_WORKER,
} brk_role_t;

typedef enum brk_child_state {
    BRK_CHILD_STARTING, /* spawned; not known to be serving yet */
    BRK_CHILD_RUNNING,
    BRK_CHILD_BACKOFF, /* died; restart scheduled */
    BRK_CHILD_FAILED,  /* crash loop: restarted slowly until it stays up */
    BRK_CHILD_STOPPED,
} brk_child_state_t;

typedef struct brk_child {
    brk_role_t role;
    char name[48];    /* "router.0", "worker.alpha" */
    char *argv[12];   /* owned strings, NULL-terminated */
    int keep_fds[16]; /* fds the child inherits (listeners), -1 terminated */
    pid_t pid;        /* 0 when not running */
    brk_child_state_t state;
    unsigned restarts;
    int64_t started_ms;
    int64_t restart_at_ms;
    unsigned quick_failures; /* consecutive deaths within 10 s of starting */
    int last_status;         /* wait status of the last exit */
    int retiring;            /* stopped for good (its server left the config): dropped on exit */
    int restart_planned;     /* stopped to start again at once (its server changed) */
} brk_child_t;

typedef struct brk_supervisor {
    brk_child_t *children;
    size_t nchildren;
    size_t cap;
} brk_supervisor_t;

void brk_sup_init(brk_supervisor_t *s);
void brk_sup_fini(brk_supervisor_t *s);
/* Adds a child; argv[0] is the program path. keep_fds may be NULL. */
brk_child_t *brk_sup_add(brk_supervisor_t *s, brk_role_t role, const char *name, char *const argv[],
                         const int *keep_fds);
/* Starts every child that is due (new, or its backoff has passed). */
void brk_sup_start_due(brk_supervisor_t *s, int64_t now_ms);
/* Reaps exited children (call on SIGCHLD) and schedules their restarts. */
void brk_sup_reap(brk_supervisor_t *s, int64_t now_ms);
/* Milliseconds until the next scheduled restart, or -1 when none. */
int brk_sup_next_timeout(const brk_supervisor_t *s, int64_t now_ms);
/* Stops the child for good (SIGTERM); it leaves the list once it has exited. */
void brk_sup_retire(brk_supervisor_t *s, const char *name);
/* Stops the child to start it again at once, not counted as a failure (a changed server). */
void brk_sup_restart(brk_supervisor_t *s, const char *name);
/* SIGTERM to all, wait up to grace_ms, then SIGKILL. */
void brk_sup_stop_all(brk_supervisor_t *s, int grace_ms);
const char *brk_child_state_name(brk_child_state_t st);
const char *brk_role_name(brk_role_t r);
brk_child_t *brk_sup_find(brk_supervisor_t *s, const char *name);

#endif
