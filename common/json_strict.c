/* json_strict.c: repeated member names and \u0000 escapes, which yajl's tree lets through. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/json_strict.h"

/* Up to this many members, comparing each pair costs less than sorting a copy. */
#define PAIRWISE_MAX 16

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

gw_err_t gw_json_check_unique_members(yajl_val v)
{
    if (!YAJL_IS_OBJECT(v)) {
        return GW_OK;
    }
    size_t n = v->u.object.len;
    const char **keys = v->u.object.keys;
    if (n <= PAIRWISE_MAX) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = i + 1; j < n; j++) {
                if (strcmp(keys[i], keys[j]) == 0) {
                    return GW_EPARSE;
                }
            }
        }
        return GW_OK;
    }
    const char **sorted = malloc(n * sizeof(*sorted));
    if (sorted == NULL) {
        return GW_ENOMEM;
    }
    memcpy(sorted, keys, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_key);
    gw_err_t rc = GW_OK;
    for (size_t i = 1; i < n && rc == GW_OK; i++) {
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            rc = GW_EPARSE;
        }
    }
    free(sorted);
    return rc;
}

gw_err_t gw_json_check_unique_keys(yajl_val v)
{
    if (YAJL_IS_OBJECT(v)) {
        gw_err_t rc = gw_json_check_unique_members(v);
        for (size_t i = 0; i < v->u.object.len && rc == GW_OK; i++) {
            rc = gw_json_check_unique_keys(v->u.object.values[i]);
        }
        return rc;
    }
    if (YAJL_IS_ARRAY(v)) {
        for (size_t i = 0; i < v->u.array.len; i++) {
            gw_err_t rc = gw_json_check_unique_keys(v->u.array.values[i]);
            if (rc != GW_OK) {
                return rc;
            }
        }
    }
    return GW_OK;
}

bool gw_json_has_nul_escape(const char *text, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!in_string) {
            in_string = c == '"';
            continue;
        }
        if (c == '"') {
            in_string = false;
        } else if (c == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) {
                return true;
            }
            i++; /* the escaped character, so that \\u0000 is a backslash and "u0000" */
        }
    }
    return false;
}
