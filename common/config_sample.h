/* config_sample.h: what the configuration's unit tests share (test support only): a text that
 * must load, and one that must be refused with exactly one message. */
#ifndef MCPGW_COMMON_CONFIG_SAMPLE_H
#define MCPGW_COMMON_CONFIG_SAMPLE_H

#include "common/config.h"

/* Parses yaml as "mcpgw.yaml"; fails the test with the message when it is refused. */
gw_config_t *config_parse_ok(const char *yaml);
/* Parses yaml as "mcpgw.yaml"; the test fails unless it is refused with exactly want (and no
 * config comes back). */
void config_expect_error(const char *yaml, const char *want);

#endif
