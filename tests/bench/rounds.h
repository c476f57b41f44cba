/* rounds.h: what the C micro-benchmarks of tests/bench share: their --rounds N and --ms N
 * options, a monotonic clock in microseconds and the order of rounds' results (their median and
 * fastest are printed). */
#ifndef MCPGW_TESTS_BENCH_ROUNDS_H
#define MCPGW_TESTS_BENCH_ROUNDS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS_MAX 99

static inline double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* qsort's comparison of two doubles. */
static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Reads --rounds N and --ms N over the defaults in *rounds and *ms; 0, or 2 (usage printed). */
static inline int rounds_options(int argc, char **argv, const char *prog, int *rounds, int *ms)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rounds") == 0) {
            *rounds = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--ms") == 0) {
            *ms = atoi(argv[i + 1]);
        }
    }
    if (*rounds < 1 || *rounds > ROUNDS_MAX || *ms < 1) {
        fprintf(stderr, "usage: %s [--rounds 1..%d] [--ms N]\n", prog, ROUNDS_MAX);
        return 2;
    }
    return 0;
}

#endif
