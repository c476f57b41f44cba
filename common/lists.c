/* lists.c: the table of MCP's lists (lists.h). */
#include <config.h>

#include <string.h>

#include "common/lists.h"

const gw_list_kind_t gw_list_kinds[GW_NLISTS] = {
    [GW_LIST_TOOLS] = {"tools/list", "tools", "name", "tools", "notifications/tools/list_changed",
                       1},
    [GW_LIST_PROMPTS] = {"prompts/list", "prompts", "name", "prompts",
                         "notifications/prompts/list_changed", 1},
    [GW_LIST_RESOURCES] = {"resources/list", "resources", "uri", "resources",
                           "notifications/resources/list_changed", 0},
    [GW_LIST_TEMPLATES] = {"resources/templates/list", "resourceTemplates", "uriTemplate",
                           "resources", "notifications/resources/list_changed", 0},
};

static int same(const char *lit, const char *s, size_t n)
{
    return strlen(lit) == n && memcmp(lit, s, n) == 0;
}

int gw_list_by_method(const char *method, size_t n)
{
    for (int l = 0; l < GW_NLISTS; l++) {
        if (same(gw_list_kinds[l].method, method, n)) {
            return l;
        }
    }
    return -1;
}

int gw_list_by_changed(const char *method, size_t n)
{
    for (int l = 0; l < GW_LIST_TEMPLATES; l++) {
        if (same(gw_list_kinds[l].changed, method, n)) {
            return l;
        }
    }
    return -1;
}
