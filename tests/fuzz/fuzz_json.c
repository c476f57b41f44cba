/* fuzz_json.c: libFuzzer driver for the control-path JSON helpers (gw_json_parse and the
 * generator): what the broker does with the catalogs workers build from backend answers.
 *
 * Properties checked on every input: gw_json_parse returns a tree or NULL with a one-line
 * message; a tree prints with gw_json_to_buf, the printed text parses again, and printing that
 * gives the same bytes (so what the broker relays is stable and valid JSON). */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    gw_buf_t once, twice;

    memset(err, 'x', sizeof(err));
    yajl_val v = gw_json_parse((const char *)data, size, err, sizeof(err));
    if (v == NULL) {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0', "no error text");
        FUZZ_CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL,
                   "error text on several lines: %s", err);
        return 0;
    }
    gw_buf_init(&once);
    gw_buf_init(&twice);
    gw_err_t rc = gw_json_to_buf(v, &once);
    yajl_tree_free(v);
    FUZZ_CHECK(rc == GW_OK, "a parsed tree does not print (%d)", rc);

    yajl_val again = gw_json_parse(once.data, once.len, err, sizeof(err));
    FUZZ_CHECK(again != NULL, "printed JSON does not parse: %s: %.200s", err, once.data);
    rc = gw_json_to_buf(again, &twice);
    yajl_tree_free(again);
    FUZZ_CHECK(rc == GW_OK, "the reparsed tree does not print (%d)", rc);
    FUZZ_CHECK(once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0,
               "printing is not stable: %.200s vs %.200s", once.data, twice.data);
    gw_buf_fini(&once);
    gw_buf_fini(&twice);
    return 0;
}
