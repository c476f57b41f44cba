/* audit_line.c: what one tools/call audit line costs the router, in microseconds: the line of
 * router/call.c (the same format, values of a real call's length) through common/log.c to
 * stderr, at log.level info (formatted and written) and at warning (the level check alone); a
 * benchmark, not a test. tests/bench/hotpath builds it with -O2 and runs it with stderr to a
 * file and to /dev/null (formatting with a write that costs nothing).
 *
 *   audit_line [--rounds N] [--ms N]
 *
 * Prints one line per level, "AUDIT level=info us=X fastest=Y", the median and fastest of the
 * rounds. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "tests/bench/rounds.h"

/* Microseconds per audit line over one round of ms milliseconds, at the current threshold. */
static double round_us(int ms)
{
    static const char request_id[] = "cf1d557200000002";
    static const char session[] = "AVGSfiXew0tMenyVs0Qt0j4irxflGrARybQAu_WGEl9ZRZc0o99rEYCj8Xyr321";
    static const char subject[] = "";
    char quoted[64];
    long n = 0;
    double start = now_us(), end = start + ms * 1000.0, t = start;
    while (t < end) {
        for (int i = 0; i < 64; i++, n++) {
            gw_log_info("msg=audit request_id=%s session=%s subject=\"%s\" tool=%s backend=%s "
                        "status=%u outcome=%s duration_ms=%.3f decision=allowed rule=%s",
                        request_id, session, gw_log_quote(quoted, sizeof(quoted), subject, 0),
                        "b_echo", "bench", 200u, "answered", (double)(n % 1000) / 1000.0, "none");
        }
        t = now_us();
    }
    return (t - start) / (double)n;
}

int main(int argc, char **argv)
{
    int rounds = 5, ms = 200;
    if (rounds_options(argc, argv, "audit_line", &rounds, &ms) != 0) {
        return 2;
    }
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"info", GW_LOG_INFO}, {"warning", GW_LOG_WARNING}};
    for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
        double us[ROUNDS_MAX];
        gw_log_setup("router.0", levels[l].level);
        for (int r = 0; r < rounds; r++) {
            us[r] = round_us(ms);
        }
        qsort(us, (size_t)rounds, sizeof(us[0]), cmp_double);
        printf("AUDIT level=%s us=%.3f fastest=%.3f\n", levels[l].name, us[rounds / 2], us[0]);
    }
    return 0;
}
