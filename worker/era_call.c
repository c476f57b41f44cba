/* era_call.c: the era a call or a new upstream session is made in, from the backend's era and,
 * for a dual backend, the caller's (worker/era.c says how the era and the dual check are
 * decided). Pure: it reads the worker's state, no I/O. */
#include "config.h"

#include "worker/worker.h"

wrk_era_t wrk_era_of_call(const wrk_t *w, const gw_envelope_t *env)
{
    if (w->era != WRK_ERA_DUAL) {
        return w->era;
    }
    return (env->flags & GW_ENV_F_MODERN) ? WRK_ERA_MODERN : WRK_ERA_LEGACY;
}

int wrk_era_must_hold(const wrk_t *w, const gw_envelope_t *env)
{
    return w->era == WRK_ERA_UNKNOWN || (w->probe.dual_check && !(env->flags & GW_ENV_F_MODERN));
}

int wrk_era_session_modern(const upstream_t *up)
{
    const wrk_t *w = up->w;

    if (up->is_catalog) {
        /* on a dual backend, and while that is being checked, the 2025 way (era.c, at the top) */
        return w->era == WRK_ERA_MODERN && !w->probe.dual_check;
    }
    /* the others are made for a call (call.c) in its era, which it set in up->modern */
    return w->era == WRK_ERA_MODERN || (w->era == WRK_ERA_DUAL && up->modern);
}
