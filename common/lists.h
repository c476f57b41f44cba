/* lists.h: the four lists of MCP (tools, prompts, resources, resource templates) as one table:
 * the method that pages each, its result's array, what identifies an item, the server capability
 * that offers it, and the notification that says it changed. The broker's catalog, the worker's
 * catalog fetch, the routing table and the router's classifier all read this table. */
#ifndef MCPGW_COMMON_LISTS_H
#define MCPGW_COMMON_LISTS_H

#include <stddef.h>

typedef enum gw_list {
    GW_LIST_TOOLS,
    GW_LIST_PROMPTS,
    GW_LIST_RESOURCES,
    GW_LIST_TEMPLATES,
    GW_NLISTS
} gw_list_t;

typedef struct gw_list_kind {
    const char *method;     /* "tools/list" */
    const char *key;        /* the result's array, "tools" (also the routing table's key kind) */
    const char *item_key;   /* the member that names an item: "name", "uri", "uriTemplate" */
    const char *capability; /* the server capability that offers the list: "tools", ... */
    const char *changed;    /* its list_changed notification (templates share resources') */
    int prefixed;           /* item names get the backend's prefix (tools, prompts) */
} gw_list_kind_t;

extern const gw_list_kind_t gw_list_kinds[GW_NLISTS];

/* The list that method (n bytes) pages, or -1. */
int gw_list_by_method(const char *method, size_t n);
/* The list whose list_changed notification method is (n bytes; templates never: they share
 * resources'), or -1. */
int gw_list_by_changed(const char *method, size_t n);

#endif
