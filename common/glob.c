/* glob.c: `*`, `?` and `\` over bytes (glob.h). The classic two-pointer walk: on a mismatch after
 * a `*`, the star takes one more byte and matching resumes behind it, so no recursion and no
 * exponential backtracking whatever the pattern; and the server/name target patterns match. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/glob.h"

int gw_glob_match(const char *pattern, const char *text, size_t n)
{
    const char *p = pattern;
    size_t t = 0;
    const char *star = NULL; /* the pattern just behind the last `*` */
    size_t star_t = 0;       /* the text position that star is trying */
    while (t < n) {
        if (*p == '*') {
            while (*p == '*') {
                p++;
            }
            if (*p == '\0') {
                return 1;
            }
            star = p;
            star_t = t;
            continue;
        }
        const char *lit = p;
        if (*p == '\\' && p[1] != '\0') {
            lit = p + 1;
        }
        if (*p != '\0' && (*p == '?' || *lit == text[t])) {
            p = lit + 1;
            t++;
            continue;
        }
        if (star == NULL) {
            return 0;
        }
        p = star;
        t = ++star_t;
    }
    while (*p == '*') {
        p++;
    }
    return *p == '\0';
}

int gw_glob_is_literal(const char *pattern)
{
    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p == '*' || *p == '?' || *p == '\\') {
            return 0;
        }
    }
    return 1;
}

int gw_glob_valid(const char *pattern)
{
    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p == '\\') {
            if (p[1] == '\0') {
                return 0;
            }
            p++;
        }
    }
    return 1;
}

char *gw_glob_target_join(char *stack, size_t stacklen, const char *server, const char *name,
                          size_t n, size_t *len)
{
    size_t sl = strlen(server);
    *len = sl + 1 + n;
    char *t = *len <= stacklen ? stack : malloc(*len);
    if (t == NULL) {
        return NULL;
    }
    memcpy(t, server, sl);
    t[sl] = '/';
    memcpy(t + sl + 1, name, n);
    return t;
}
