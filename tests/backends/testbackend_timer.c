/* mcpgw-testbackend: one-shot timers of any delay over h2o 2.2's fixed-delay queues. */

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

static void link_timer(tb_timer_t *timer);

static void on_timer_level(h2o_timeout_entry_t *entry)
{
    tb_timer_t *timer = H2O_STRUCT_FROM_MEMBER(tb_timer_t, entry, entry);

    if (h2o_now(timer->srv->serve.loop) >= timer->due_at) {
        timer->on_due(timer);
        return;
    }
    link_timer(timer);
}

static void link_timer(tb_timer_t *timer)
{
    tb_server_t *srv = timer->srv;
    uint64_t now = h2o_now(srv->serve.loop);
    uint64_t left = timer->due_at > now ? timer->due_at - now : 0;
    size_t level = 0;

    if (left != 0) {
        /* level k waits 2^(k-1) ms, the largest such wait <= left */
        level = 64 - (size_t)__builtin_clzll(left);
        if (level > TIMER_LEVELS - 1) {
            level = TIMER_LEVELS - 1;
        }
    }
    timer->entry.cb = on_timer_level;
    h2o_timeout_link(srv->serve.loop, &srv->timer_levels[level], &timer->entry);
}

void tb_timer_start(tb_timer_t *timer, uint64_t due_at)
{
    h2o_timeout_unlink(&timer->entry);
    timer->due_at = due_at;
    link_timer(timer);
}

void tb_timer_stop(tb_timer_t *timer)
{
    h2o_timeout_unlink(&timer->entry);
}

void tb_timer_levels_init(tb_server_t *srv)
{
    for (size_t i = 0; i != TIMER_LEVELS; ++i) {
        h2o_timeout_init(srv->serve.loop, &srv->timer_levels[i],
                         i == 0 ? 0 : (uint64_t)1 << (i - 1));
    }
}

int tb_timer_levels_idle(tb_server_t *srv)
{
    for (size_t i = 0; i != TIMER_LEVELS; ++i) {
        if (!h2o_linklist_is_empty(&srv->timer_levels[i]._entries)) {
            return 0;
        }
    }
    return 1;
}

void tb_timer_levels_dispose(tb_server_t *srv)
{
    for (size_t i = 0; i != TIMER_LEVELS; ++i) {
        h2o_timeout_dispose(srv->serve.loop, &srv->timer_levels[i]);
    }
}
