/* fuzz.h: what the libFuzzer drivers of tests/fuzz share: the invariant check that turns a broken
 * property into a crash libFuzzer records, and the fixed session key ring of the token driver and
 * the seed generator. */
#ifndef MCPGW_TESTS_FUZZ_H
#define MCPGW_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A property that must hold for every input. abort() is a crash to libFuzzer, which then saves
 * the input as an artifact; the message says which property broke. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The session keys the token driver opens with and the seed generator seals with: kid 1 seals,
 * kid 7 opens too. Test keys, never used anywhere else. */
#define FUZZ_KID_SEAL 1
#define FUZZ_KID_OTHER 7
#define FUZZ_KID_FOREIGN 9  /* a key the driver's ring does not hold */
#define FUZZ_NOW 1750000000 /* the "now" every token is opened at */

static const uint8_t fuzz_key_seal[32] = {
    0x6d, 0x63, 0x70, 0x67, 0x77, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x73, 0x65, 0x61, 0x6c, 0x01,
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};
static const uint8_t fuzz_key_other[32] = {
    0x6d, 0x63, 0x70, 0x67, 0x77, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6f, 0x74, 0x68, 0x65, 0x72,
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
};
static const uint8_t fuzz_key_foreign[32] = {
    0x6d, 0x63, 0x70, 0x67, 0x77, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x66, 0x6f, 0x72, 0x65, 0x69,
    0x67, 0x6e, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
};

#endif
