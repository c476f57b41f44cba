/* glob.h: the one pattern language of the configuration's name lists (servers[].tools include and
 * exclude, policy allow and deny, endpoint narrowing): `*` matches any run of bytes, `/` and
 * nothing included; `?` matches one byte; `\` makes the next byte literal. No classes, no
 * braces: tool names are [A-Za-z0-9_.-] and URIs are matched whole. Matching is iterative, keeps
 * one backtrack point, and costs at most len(pattern) * len(text) steps. */
#ifndef MCPGW_COMMON_GLOB_H
#define MCPGW_COMMON_GLOB_H

#include <stddef.h>

/* Whether text (n bytes, not NUL-terminated) matches the NUL-terminated pattern as a whole. */
int gw_glob_match(const char *pattern, const char *text, size_t n);

/* Whether pattern has no wildcard (so a plain comparison decides). */
int gw_glob_is_literal(const char *pattern);

/* Whether pattern is well formed: it does not end in a lone `\`. */
int gw_glob_valid(const char *pattern);

/* The target "server/name" (name n bytes) that patterns are matched against, in stack (stacklen
 * bytes) when it fits, else on the heap: the caller frees it when it is not stack. *len gets its
 * length (not NUL-terminated). NULL when out of memory. */
char *gw_glob_target_join(char *stack, size_t stacklen, const char *server, const char *name,
                          size_t n, size_t *len);

#endif
