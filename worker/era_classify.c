/* era_classify.c: how a backend answered server/discover, and the era that means (era.h). */
#include "config.h"

#include <string.h>

#include "common/json.h"
#include "common/mcp.h"
#include "worker/era.h"

static int lists_modern(yajl_val versions)
{
    if (versions == NULL || !YAJL_IS_ARRAY(versions)) {
        return 0;
    }
    for (size_t i = 0; i < versions->u.array.len; i++) {
        yajl_val v = versions->u.array.values[i];
        if (YAJL_IS_STRING(v) && strcmp(v->u.string, GW_PROTO_MODERN_NAME) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A DiscoverResult as far as the era needs: supportedVersions, an array of strings, and
 * capabilities, an object. */
static int discover_shaped(yajl_val result)
{
    yajl_val versions = gw_json_get(result, "supportedVersions");
    yajl_val caps = gw_json_get(result, "capabilities");

    if (versions == NULL || !YAJL_IS_ARRAY(versions) || caps == NULL || !YAJL_IS_OBJECT(caps)) {
        return 0;
    }
    for (size_t i = 0; i < versions->u.array.len; i++) {
        if (!YAJL_IS_STRING(versions->u.array.values[i])) {
            return 0;
        }
    }
    return 1;
}

gw_probe_t wrk_era_classify(int reached, long status, const char *body, size_t len,
                            long long *rpc_code, yajl_val *discover)
{
    char err[64];
    yajl_val tree = NULL;
    yajl_val error;
    yajl_val result;
    gw_probe_t out;

    *rpc_code = 0;
    if (discover != NULL) {
        *discover = NULL;
    }
    if (!reached || status >= 500) {
        return GW_PROBE_DOWN;
    }
    if (status == 401 || status == 403) {
        return GW_PROBE_AUTH;
    }
    if (len > 0) {
        tree = gw_json_parse(body, len, err, sizeof(err));
    }
    error = gw_json_get(tree, "error");
    if (error != NULL && YAJL_IS_OBJECT(error)) {
        /* in a 2xx or a 4xx alike: the body says what the server is */
        yajl_val code = gw_json_get(error, "code");
        *rpc_code = code != NULL && YAJL_IS_INTEGER(code) ? YAJL_GET_INTEGER(code) : 0;
        out = GW_PROBE_RPC_ERROR;
        if (*rpc_code == GW_RPC_UNSUPPORTED_VERSION &&
            lists_modern(gw_json_get(gw_json_get(error, "data"), "supported"))) {
            out = GW_PROBE_VERSION_RETRY;
        }
        yajl_tree_free(tree);
        return out;
    }
    if (status / 100 != 2) {
        yajl_tree_free(tree);
        return GW_PROBE_HTTP_4XX; /* 4xx (and anything odd below 500) without a JSON-RPC error */
    }
    result = gw_json_get(tree, "result");
    if (result == NULL || !YAJL_IS_OBJECT(result) || !discover_shaped(result)) {
        yajl_tree_free(tree);
        return GW_PROBE_UNUSABLE;
    }
    if (!lists_modern(gw_json_get(result, "supportedVersions"))) {
        yajl_tree_free(tree);
        return GW_PROBE_NO_SHARED;
    }
    if (discover != NULL) {
        *discover = tree;
    } else {
        yajl_tree_free(tree);
    }
    return GW_PROBE_DISCOVER;
}

int wrk_era_of(gw_probe_t outcome)
{
    switch (outcome) {
    case GW_PROBE_DISCOVER:
        return 2;
    case GW_PROBE_NO_SHARED:
    case GW_PROBE_UNUSABLE:
    case GW_PROBE_RPC_ERROR:
    case GW_PROBE_HTTP_4XX:
        return 1;
    default:
        return 0;
    }
}
