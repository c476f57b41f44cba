/* config_auth.c: the auth section of mcpgw.yaml (the OAuth 2.1 resource server): the resource,
 * the issuers with their key sets, audiences and algorithms, the scopes, leeway and token size;
 * the defaults that follow from the resource; and freeing it all. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/config_int.h"

#define ISSUERS_MAX 16

/* The JWS algorithms a key may verify (common/jwk.h's names; symmetric ones and none never). */
static const char *const algorithm_names[] = {"RS256", "RS384", "RS512", "PS256",
                                              "ES256", "ES384", "EdDSA"};
static const char *const default_algorithms[] = {"RS256", "PS256", "ES256", "EdDSA"};

/* RFC 8707: an absolute URI without a fragment; RFC 9728 wants https, loopback http is for
 * tests. */
const char *gw_config_resource_problem(const char *s)
{
    const char *why = gw_config_url_problem(s);
    if (why != NULL) {
        return why;
    }
    return strchr(s, '#') != NULL ? "must not have a fragment (RFC 8707)" : NULL;
}

static const char *issuer_problem(const char *s)
{
    const char *why = gw_config_url_problem(s);
    if (why != NULL) {
        return why;
    }
    return strpbrk(s, "?#") != NULL ? "must have no query or fragment (RFC 8414)" : NULL;
}

static const gw_config_directive_t issuer_directives[] = {
    {GW_CONFIG_ROW_NONEMPTY("issuer", gw_auth_issuer_t, issuer), .required = 1,
     .check = issuer_problem},
    {GW_CONFIG_ROW_NONEMPTY("jwks_file", gw_auth_issuer_t, jwks_file)},
    {GW_CONFIG_ROW_NONEMPTY("jwks_uri", gw_auth_issuer_t, jwks_uri),
     .check = gw_config_url_problem},
    {GW_CONFIG_ROW_STRLIST("audiences", gw_auth_issuer_t, audiences, naudiences)},
    {GW_CONFIG_ROW_STRLIST("algorithms", gw_auth_issuer_t, algorithms, nalgorithms)},
};

static void issuer_fini(gw_auth_issuer_t *is)
{
    free(is->issuer);
    free(is->jwks_file);
    free(is->jwks_uri);
    gw_config_strings_free(is->audiences, is->naudiences);
    gw_config_strings_free(is->algorithms, is->nalgorithms);
}

static char **copy_list(const char *const *src, size_t n)
{
    char **list = calloc(n + 1, sizeof(*list));
    for (size_t i = 0; list != NULL && i < n; i++) {
        if ((list[i] = strdup(src[i])) == NULL) {
            gw_config_strings_free(list, i);
            return NULL;
        }
    }
    return list;
}

static int is_algorithm(const char *s)
{
    for (size_t i = 0; i < GW_CONFIG_NELEM(algorithm_names); i++) {
        if (strcmp(s, algorithm_names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* http://127.x.x.x, http://[::1] or http://localhost, with or without a port and path. */
static int is_loopback_http(const char *u)
{
    if (strncmp(u, "http://", 7) != 0) {
        return 0;
    }
    const char *h = u + 7;
    size_t n = strcspn(h, ":/?#");
    if (h[0] == '[') {
        return strncmp(h, "[::1]", 5) == 0 && strchr(":/?#", h[5]) != NULL;
    }
    if (n == 9 && strncmp(h, "localhost", 9) == 0) {
        return 1;
    }
    return n >= 4 && strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == n;
}

/* What one entry must say beyond its keys: where its keys are, and algorithms mcpgw knows. */
static gw_err_t check_issuer(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                             gw_auth_issuer_t *is)
{
    if ((is->jwks_file == NULL) == (is->jwks_uri == NULL)) {
        return gw_config_fail(cx, n, path, "needs exactly one of jwks_file and jwks_uri");
    }
    if (is->jwks_uri != NULL && strncmp(is->jwks_uri, "https://", 8) != 0 &&
        !is_loopback_http(is->jwks_uri)) {
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_join(sub, path, "jwks_uri");
        return gw_config_fail(cx, gw_config_node_value_of(n, "jwks_uri"), sub,
                              "must be https:// (http:// only to a loopback address)");
    }
    const gw_config_node_t *algs = gw_config_node_value_of(n, "algorithms");
    if (algs != n && is->nalgorithms == 0) {
        return gw_config_fail(cx, algs, path, "algorithms: at least one is required");
    }
    for (size_t i = 0; i < is->nalgorithms; i++) {
        if (!is_algorithm(is->algorithms[i])) {
            char sub[GW_CONFIG_KEY_PATH_MAX], key[GW_CONFIG_KEY_PATH_MAX];
            gw_config_path_join(key, path, "algorithms");
            gw_config_path_index(sub, key, i);
            return gw_config_fail(cx, algs->items[i], sub,
                                  "must be one of RS256, RS384, RS512, PS256, ES256, ES384, EdDSA");
        }
    }
    const gw_config_node_t *auds = gw_config_node_value_of(n, "audiences");
    if (auds != n && is->naudiences == 0) {
        return gw_config_fail(cx, auds, path, "audiences: at least one is required");
    }
    return GW_OK;
}

static gw_err_t set_issuers(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                            const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    (void)d;
    if (v->kind != GW_CONFIG_SEQUENCE || v->nitems == 0) {
        return gw_config_fail(cx, v, path, "expected a list of {issuer, jwks_file}");
    }
    if (v->nitems > ISSUERS_MAX) {
        return gw_config_fail(cx, v, path, "at most %d issuers", ISSUERS_MAX);
    }
    if ((c->auth_issuers = calloc(v->nitems, sizeof(*c->auth_issuers))) == NULL) {
        return gw_config_fail_nomem(cx);
    }
    for (size_t i = 0; i < v->nitems; i++) {
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, path, i);
        c->nauth_issuers++; /* owned by c from here: gw_config_destroy frees what got filled */
        gw_err_t err = gw_config_check_map(cx, v->items[i], sub, issuer_directives,
                                           GW_CONFIG_NELEM(issuer_directives), &c->auth_issuers[i]);
        if (err == GW_OK) {
            err = check_issuer(cx, v->items[i], sub, &c->auth_issuers[i]);
        }
        if (err != GW_OK) {
            return err;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->auth_issuers[j].issuer, c->auth_issuers[i].issuer) == 0) {
                return gw_config_fail(cx, v->items[i], sub, "issuer %s is listed twice",
                                      c->auth_issuers[i].issuer);
            }
        }
    }
    return GW_OK;
}

/* Set when the section is there: resource and issuers required. */
const gw_config_directive_t gw_config_auth_directives[GW_CONFIG_NAUTH_DIRECTIVES] = {
    {GW_CONFIG_ROW_NONEMPTY("resource", gw_config_t, auth_resource), .required = 1,
     .check = gw_config_resource_problem},
    {GW_CONFIG_ROW_CUSTOM("issuers", set_issuers), .required = 1},
    {GW_CONFIG_ROW_STRLIST("scopes_supported", gw_config_t, auth_scopes_supported,
                           nauth_scopes_supported)},
    {GW_CONFIG_ROW_STRLIST("required_scopes", gw_config_t, auth_required_scopes,
                           nauth_required_scopes)},
    {GW_CONFIG_ROW_SECONDS("leeway", gw_config_t, auth_leeway_s), .zero_ok = 1, .min = 1000,
     .max = 600000, .def = 60000, .msg = "must be 0 or a duration from 1s to 10m"},
    {GW_CONFIG_ROW_SIZE("max_token_size", gw_config_t, auth_max_token_size), .min = 1u << 10,
     .max = 64u << 10, .def = 8u << 10, .msg = "not a size (e.g. 8KiB)",
     .range_msg = "must be between 1KiB and 64KiB"},
};

gw_err_t gw_config_auth_finish(gw_config_t *c)
{
    for (size_t i = 0; i < c->nauth_issuers; i++) {
        gw_auth_issuer_t *is = &c->auth_issuers[i];
        is->audiences_set = is->audiences != NULL;
        if (is->audiences == NULL) {
            const char *res = c->auth_resource;
            if ((is->audiences = copy_list(&res, 1)) == NULL) {
                return GW_ENOMEM;
            }
            is->naudiences = 1;
        }
        if (is->algorithms == NULL) {
            size_t n = GW_CONFIG_NELEM(default_algorithms);
            if ((is->algorithms = copy_list(default_algorithms, n)) == NULL) {
                return GW_ENOMEM;
            }
            is->nalgorithms = n;
        }
    }
    return GW_OK;
}

void gw_config_auth_fini(gw_config_t *c)
{
    for (size_t i = 0; i < c->nauth_issuers; i++) {
        issuer_fini(&c->auth_issuers[i]);
    }
    free(c->auth_issuers);
    gw_config_strings_free(c->auth_scopes_supported, c->nauth_scopes_supported);
    gw_config_strings_free(c->auth_required_scopes, c->nauth_required_scopes);
    free(c->auth_resource);
}
