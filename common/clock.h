/* clock.h: monotonic and wall clocks in milliseconds (and microseconds for latencies)
 * (CLOCK_MONOTONIC is host-wide, so deadlines expressed in it are valid across the processes of one
 * appliance). */
#ifndef MCPGW_COMMON_CLOCK_H
#define MCPGW_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t gw_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The same clock in microseconds, for latencies (a call often takes less than a millisecond). */
static inline int64_t gw_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t gw_wallclock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

#endif
