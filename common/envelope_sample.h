/* envelope_sample.h: what the envelope and ipc unit tests share: a sample envelope that sets every
 * field, and an assertion that two envelopes are the same field by field (test support only). */
#ifndef MCPGW_COMMON_ENVELOPE_SAMPLE_H
#define MCPGW_COMMON_ENVELOPE_SAMPLE_H

#include <stddef.h>

#include "common/envelope.h"

/* A gw_env_encode writer that appends to the gw_buf_t at data. */
int sample_append_to_buf(void *data, const char *p, size_t n);
/* Fills e with a CALL that sets every field (two headers, a body with NULs). */
void sample_fill(gw_envelope_t *e);
/* cmocka assertions that a and b are the same string / envelope. */
void sample_assert_str_same(gw_str_t a, gw_str_t b);
void sample_assert_env_same(const gw_envelope_t *a, const gw_envelope_t *b);

#endif
