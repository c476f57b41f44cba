/* tool_names.c: servers[].tools applied to names (tool_names.h): the globs decide which of the
 * backend's own names are exposed, the renames are found by binary search on either side, and a
 * rename that lands on a name the backend's own exposed tool has loses to that tool. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/glob.h"
#include "common/tool_names.h"

int gw_tool_names_active(const gw_tool_names_t *t)
{
    return t->include != NULL || t->nexclude > 0 || t->nrenames > 0;
}

static int matches_any(char *const *globs, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (gw_glob_match(globs[i], name, len)) {
            return 1;
        }
    }
    return 0;
}

int gw_tool_names_listed(const gw_tool_names_t *t, const char *name)
{
    size_t len = strlen(name);
    if (t->include != NULL && !matches_any(t->include, t->ninclude, name, len)) {
        return 0;
    }
    return !matches_any(t->exclude, t->nexclude, name, len);
}

long gw_tool_names_find_from(const gw_tool_names_t *t, const char *name)
{
    size_t lo = 0;
    size_t hi = t->nrenames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t->renames[mid].from);
        if (c == 0) {
            return (long)mid;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

long gw_tool_names_find_to(const gw_tool_names_t *t, const char *name)
{
    size_t lo = 0;
    size_t hi = t->by_to != NULL ? t->nrenames : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t->by_to[mid]->to);
        if (c == 0) {
            return (long)(t->by_to[mid] - t->renames);
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

void gw_tool_names_note_own(const gw_tool_names_t *t, const char *name, unsigned char *shadowed)
{
    long r = gw_tool_names_find_to(t, name);
    /* a rename's target is never itself renamed (the loader refuses it): name is exposed as
     * itself whenever the globs let it through */
    if (r >= 0 && gw_tool_names_listed(t, name)) {
        shadowed[r] = 1;
    }
}

gw_tool_fate_t gw_tool_names_expose(const gw_tool_names_t *t, const char *name,
                                    const unsigned char *shadowed, const char **out)
{
    if (!gw_tool_names_listed(t, name)) {
        return GW_TOOL_HIDDEN;
    }
    long r = gw_tool_names_find_from(t, name);
    if (r < 0) {
        *out = name;
        return GW_TOOL_EXPOSED;
    }
    *out = t->renames[r].to;
    return shadowed != NULL && shadowed[r] ? GW_TOOL_SHADOWED : GW_TOOL_EXPOSED;
}

const char *gw_tool_names_backend(const gw_tool_names_t *t, const char *exposed,
                                  const unsigned char *shadowed)
{
    long r = gw_tool_names_find_to(t, exposed);
    if (r >= 0 && !(shadowed != NULL && shadowed[r]) &&
        gw_tool_names_listed(t, t->renames[r].from)) {
        return t->renames[r].from;
    }
    if (gw_tool_names_find_from(t, exposed) >= 0) {
        return NULL; /* the old name of a renamed tool */
    }
    return gw_tool_names_listed(t, exposed) ? exposed : NULL;
}

static int cmp_from(const void *a, const void *b)
{
    return strcmp(((const gw_tool_rename_t *)a)->from, ((const gw_tool_rename_t *)b)->from);
}

static int cmp_to(const void *a, const void *b)
{
    return strcmp((*(gw_tool_rename_t *const *)a)->to, (*(gw_tool_rename_t *const *)b)->to);
}

gw_err_t gw_tool_names_index(gw_tool_names_t *t)
{
    free(t->by_to);
    t->by_to = NULL;
    if (t->nrenames == 0) {
        return GW_OK;
    }
    qsort(t->renames, t->nrenames, sizeof(*t->renames), cmp_from);
    if ((t->by_to = calloc(t->nrenames, sizeof(*t->by_to))) == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < t->nrenames; i++) {
        t->by_to[i] = &t->renames[i];
    }
    qsort(t->by_to, t->nrenames, sizeof(*t->by_to), cmp_to);
    return GW_OK;
}

static int same_globs(char *const *a, size_t na, char *const *b, size_t nb)
{
    if ((a == NULL) != (b == NULL) || na != nb) {
        return 0;
    }
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

int gw_tool_names_same(const gw_tool_names_t *a, const gw_tool_names_t *b)
{
    if (!same_globs(a->include, a->ninclude, b->include, b->ninclude) ||
        !same_globs(a->exclude, a->nexclude, b->exclude, b->nexclude) ||
        a->nrenames != b->nrenames) {
        return 0;
    }
    for (size_t i = 0; i < a->nrenames; i++) {
        if (strcmp(a->renames[i].from, b->renames[i].from) != 0 ||
            strcmp(a->renames[i].to, b->renames[i].to) != 0) {
            return 0;
        }
    }
    return 1;
}

static void free_globs(char **globs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(globs[i]);
    }
    free(globs);
}

void gw_tool_names_fini(gw_tool_names_t *t)
{
    free_globs(t->include, t->ninclude);
    free_globs(t->exclude, t->nexclude);
    for (size_t i = 0; i < t->nrenames; i++) {
        free(t->renames[i].from);
        free(t->renames[i].to);
    }
    free(t->renames);
    free(t->by_to);
    memset(t, 0, sizeof(*t));
}
