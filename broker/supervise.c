/* supervise.c: spawning, reaping and restarting the broker's children with backoff; a child
 * that keeps dying right after start is marked failed and retried slowly instead of spinning. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/supervise.h"
#include "common/clock.h"
#include "common/log.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define QUICK_DEATH_MS 10000  /* a death sooner than this after start counts as quick */
#define CRASH_LOOP_DEATHS 5   /* this many quick deaths in a row is a crash loop */
#define FAILED_RETRY_MS 30000 /* a failed child is still retried, this slowly */

static const char *const state_names[] = {
    [BRK_CHILD_STARTING] = "starting", [BRK_CHILD_RUNNING] = "running",
    [BRK_CHILD_BACKOFF] = "backoff",   [BRK_CHILD_FAILED] = "failed",
    [BRK_CHILD_STOPPED] = "stopped",
};

const char *brk_child_state_name(brk_child_state_t st)
{
    return state_names[st];
}

const char *brk_role_name(brk_role_t r)
{
    return r == BRK_ROLE_ROUTER ? "router" : "worker";
}

void brk_sup_init(brk_supervisor_t *s)
{
    memset(s, 0, sizeof(*s));
}

void brk_sup_fini(brk_supervisor_t *s)
{
    for (size_t i = 0; i < s->nchildren; i++) {
        for (char **a = s->children[i].argv; *a != NULL; a++) {
            free(*a);
        }
    }
    free(s->children);
    memset(s, 0, sizeof(*s));
}

brk_child_t *brk_sup_add(brk_supervisor_t *s, brk_role_t role, const char *name, char *const argv[],
                         const int *keep_fds)
{
    if (s->nchildren == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        brk_child_t *n = realloc(s->children, cap * sizeof(*n));
        if (n == NULL) {
            return NULL;
        }
        s->children = n;
        s->cap = cap;
    }
    brk_child_t *c = &s->children[s->nchildren];
    memset(c, 0, sizeof(*c));
    c->role = role;
    snprintf(c->name, sizeof(c->name), "%s", name);
    size_t n = 0;
    for (; argv[n] != NULL && n + 1 < sizeof(c->argv) / sizeof(c->argv[0]); n++) {
        if ((c->argv[n] = strdup(argv[n])) == NULL) {
            while (n > 0) {
                free(c->argv[--n]);
            }
            return NULL;
        }
    }
    c->argv[n] = NULL;
    size_t k = 0;
    for (; keep_fds != NULL && keep_fds[k] >= 0 && k + 1 < 16; k++) {
        c->keep_fds[k] = keep_fds[k];
    }
    c->keep_fds[k] = -1;
    c->state = BRK_CHILD_STARTING;
    c->restart_at_ms = 0;
    s->nchildren++;
    return c;
}

brk_child_t *brk_sup_find(brk_supervisor_t *s, const char *name)
{
    for (size_t i = 0; i < s->nchildren; i++) {
        if (strcmp(s->children[i].name, name) == 0) {
            return &s->children[i];
        }
    }
    return NULL;
}

static void spawn(brk_child_t *c, int64_t now_ms)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        gw_log_err("msg=\"fork failed\" child=%s error=\"%s\"", c->name, strerror(errno));
        c->state = BRK_CHILD_BACKOFF;
        c->restart_at_ms = now_ms + BACKOFF_MAX_MS;
        return;
    }
    if (pid == 0) {
        /* A child never outlives its broker: a broker killed with SIGKILL and started again
         * finds no orphans holding the sockets. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(0); /* it died before prctl took effect */
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        for (int *fd = c->keep_fds; *fd >= 0; fd++) {
            fcntl(*fd, F_SETFD, 0);
        }
        execv(c->argv[0], c->argv);
        fprintf(stderr, "mcpgw-broker: cannot run %s: %s\n", c->argv[0], strerror(errno));
        _exit(127);
    }
    c->pid = pid;
    c->started_ms = now_ms;
    c->state = BRK_CHILD_RUNNING;
    gw_log_info("msg=spawned child=%s pid=%d restarts=%u", c->name, (int)pid, c->restarts);
}

void brk_sup_start_due(brk_supervisor_t *s, int64_t now_ms)
{
    for (size_t i = 0; i < s->nchildren; i++) {
        brk_child_t *c = &s->children[i];
        if (c->pid == 0 && c->state != BRK_CHILD_STOPPED && c->restart_at_ms <= now_ms) {
            spawn(c, now_ms);
        }
    }
}

static void note_exit(brk_child_t *c, int status, int64_t now_ms)
{
    c->pid = 0;
    c->last_status = status;
    if (c->state == BRK_CHILD_STOPPED) {
        return;
    }
    if (c->restart_planned) {
        c->restart_planned = 0;
        c->state = BRK_CHILD_BACKOFF;
        c->restart_at_ms = now_ms;
        gw_log_info("msg=\"child stopped for a planned restart\" child=%s", c->name);
        return;
    }
    if (WIFSIGNALED(status)) {
        gw_log_warn("msg=\"child died\" child=%s signal=%d", c->name, WTERMSIG(status));
    } else {
        gw_log_warn("msg=\"child exited\" child=%s status=%d", c->name, WEXITSTATUS(status));
    }
    c->quick_failures = now_ms - c->started_ms < QUICK_DEATH_MS ? c->quick_failures + 1 : 0;
    c->restarts++;
    if (c->quick_failures >= CRASH_LOOP_DEATHS) {
        c->state = BRK_CHILD_FAILED;
        c->restart_at_ms = now_ms + FAILED_RETRY_MS;
        gw_log_err("msg=\"crash loop: child marked failed\" child=%s retry_in_ms=%d", c->name,
                   FAILED_RETRY_MS);
        return;
    }
    int64_t backoff = BACKOFF_FIRST_MS;
    for (unsigned i = 1; i < c->quick_failures && backoff < BACKOFF_MAX_MS; i++) {
        backoff *= 2;
    }
    c->state = BRK_CHILD_BACKOFF;
    c->restart_at_ms = now_ms + (backoff < BACKOFF_MAX_MS ? backoff : BACKOFF_MAX_MS);
}

/* Drops the child at i from the list (its strings freed). */
static void drop_child(brk_supervisor_t *s, size_t i)
{
    for (char **a = s->children[i].argv; *a != NULL; a++) {
        free(*a);
    }
    memmove(&s->children[i], &s->children[i + 1], (s->nchildren - i - 1) * sizeof(brk_child_t));
    s->nchildren--;
}

void brk_sup_reap(brk_supervisor_t *s, int64_t now_ms)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            return;
        }
        for (size_t i = 0; i < s->nchildren; i++) {
            if (s->children[i].pid != pid) {
                continue;
            }
            note_exit(&s->children[i], status, now_ms);
            if (s->children[i].retiring) {
                gw_log_info("msg=\"child retired\" child=%s", s->children[i].name);
                drop_child(s, i);
            }
            break;
        }
    }
}

void brk_sup_retire(brk_supervisor_t *s, const char *name)
{
    for (size_t i = 0; i < s->nchildren; i++) {
        brk_child_t *c = &s->children[i];
        if (strcmp(c->name, name) != 0) {
            continue;
        }
        c->state = BRK_CHILD_STOPPED;
        c->retiring = 1;
        if (c->pid > 0) {
            kill(c->pid, SIGTERM);
        } else {
            drop_child(s, i);
        }
        return;
    }
}

void brk_sup_restart(brk_supervisor_t *s, const char *name)
{
    brk_child_t *c = brk_sup_find(s, name);
    if (c == NULL) {
        return;
    }
    if (c->pid > 0) {
        c->restart_planned = 1;
        kill(c->pid, SIGTERM);
    } else {
        c->restart_at_ms = 0; /* due now */
    }
}

int brk_sup_next_timeout(const brk_supervisor_t *s, int64_t now_ms)
{
    int64_t best = -1;
    for (size_t i = 0; i < s->nchildren; i++) {
        const brk_child_t *c = &s->children[i];
        if (c->pid != 0 || c->state == BRK_CHILD_STOPPED) {
            continue;
        }
        int64_t d = c->restart_at_ms - now_ms;
        if (d < 0) {
            d = 0;
        }
        if (best < 0 || d < best) {
            best = d;
        }
    }
    return (int)best;
}

void brk_sup_stop_all(brk_supervisor_t *s, int grace_ms)
{
    for (size_t i = 0; i < s->nchildren; i++) {
        brk_child_t *c = &s->children[i];
        c->state = BRK_CHILD_STOPPED;
        if (c->pid > 0) {
            kill(c->pid, SIGTERM);
        }
    }
    int64_t deadline = gw_clock_ms() + grace_ms;
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < s->nchildren; i++) {
            alive += s->children[i].pid > 0;
        }
        if (alive == 0) {
            return;
        }
        if (gw_clock_ms() >= deadline) {
            break;
        }
        usleep(20000); /* the broker is shutting down: nothing else to serve */
        brk_sup_reap(s, gw_clock_ms());
    }
    for (size_t i = 0; i < s->nchildren; i++) {
        if (s->children[i].pid > 0) {
            gw_log_warn("msg=\"child did not stop; killing\" child=%s", s->children[i].name);
            kill(s->children[i].pid, SIGKILL);
            waitpid(s->children[i].pid, NULL, 0);
            s->children[i].pid = 0;
        }
    }
}
