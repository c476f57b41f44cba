/* config_sample.c: the parse helpers the configuration's unit tests share (config_sample.h). */
#include <config.h> /* autoconf's, not common/config.h */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/config_sample.h"

gw_config_t *config_parse_ok(const char *yaml)
{
    gw_config_t *c = NULL;
    char err[512] = "";
    if (gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)) != GW_OK) {
        fail_msg("unexpected error: %s", err);
    }
    assert_non_null(c);
    return c;
}

void config_expect_error(const char *yaml, const char *want)
{
    gw_config_t *c = (gw_config_t *)(uintptr_t)1; /* must come back NULL */
    char err[512] = "";
    assert_int_not_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                         GW_OK);
    assert_null(c);
    assert_string_equal(err, want);
}
