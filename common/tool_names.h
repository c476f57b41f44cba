/* tool_names.h: servers[].tools, what a backend's tool names become before its prefix: include and
 * exclude globs (common/glob.h) over the backend's own names, renames to the names clients see,
 * and the way back from a name a client calls to the backend's own. Pure functions over the
 * immutable description the configuration holds; any thread, no allocation but in
 * gw_tool_names_index. */
#ifndef MCPGW_COMMON_TOOL_NAMES_H
#define MCPGW_COMMON_TOOL_NAMES_H

#include <stddef.h>

#include "common/err.h"

/* One entry of servers[].tools.rename. */
typedef struct gw_tool_rename {
    char *from; /* the backend's own name */
    char *to;   /* the name clients see, before the prefix */
} gw_tool_rename_t;

typedef struct gw_tool_names {
    char **include; /* globs over the backend's own names; NULL: every tool (NULL-terminated) */
    size_t ninclude;
    char **exclude; /* globs; a tool matching one is never exposed (NULL-terminated or NULL) */
    size_t nexclude;
    gw_tool_rename_t *renames; /* sorted by from once indexed */
    size_t nrenames;
    gw_tool_rename_t **by_to; /* the renames sorted by to (gw_tool_names_index) */
} gw_tool_names_t;

/* What becomes of one tool the backend lists. */
typedef enum gw_tool_fate {
    GW_TOOL_HIDDEN,   /* not included, or excluded */
    GW_TOOL_EXPOSED,  /* under the name given back (its own, or its rename's) */
    GW_TOOL_SHADOWED, /* renamed onto a name the backend's own exposed tool has: dropped */
} gw_tool_fate_t;

/* Whether t changes anything (some include, exclude or rename). */
int gw_tool_names_active(const gw_tool_names_t *t);

/* Whether the backend's own name passes include (default: all) and no exclude. */
int gw_tool_names_listed(const gw_tool_names_t *t, const char *name);

/* The index in renames of the rename from name, or of the rename to name; -1 when there is none.
 * Only on an indexed t. */
long gw_tool_names_find_from(const gw_tool_names_t *t, const char *name);
long gw_tool_names_find_to(const gw_tool_names_t *t, const char *name);

/* Marks in shadowed (t->nrenames bytes, the caller's) the renames whose target is the backend's
 * own name of an exposed tool: name is one tool of the backend's list. Called for every tool of a
 * list before gw_tool_names_expose is asked about any of them. */
void gw_tool_names_note_own(const gw_tool_names_t *t, const char *name, unsigned char *shadowed);

/* What becomes of the backend's tool name: hidden, shadowed (*out: the rename's target it lost),
 * or exposed as *out (name itself or a string of t). shadowed may be NULL (no collision known). */
gw_tool_fate_t gw_tool_names_expose(const gw_tool_names_t *t, const char *name,
                                    const unsigned char *shadowed, const char **out);

/* The backend's own name of the tool a client calls by exposed (without the prefix), or NULL when
 * no exposed tool has that name (excluded, not included, or the old name of a renamed tool).
 * shadowed as for gw_tool_names_expose. */
const char *gw_tool_names_backend(const gw_tool_names_t *t, const char *exposed,
                                  const unsigned char *shadowed);

/* Sorts the renames and builds by_to. GW_ENOMEM, or GW_OK. */
gw_err_t gw_tool_names_index(gw_tool_names_t *t);

/* Whether a and b (both indexed) say the same. */
int gw_tool_names_same(const gw_tool_names_t *a, const gw_tool_names_t *b);

/* Frees what t owns and zeroes it. */
void gw_tool_names_fini(gw_tool_names_t *t);

#endif
