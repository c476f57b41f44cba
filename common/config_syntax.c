/* config_syntax.c: the syntax of values in mcpgw.yaml, checked on plain strings: names and
 * prefixes, HTTP header names, numeric addresses, backend URLs and the URL path of the endpoint. */
#include <config.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/config_int.h"

static int is_name_char(int c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr(extra, c) != NULL);
}

int gw_config_is_word(const char *s, const char *extra, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_name_char((unsigned char)s[i], extra)) {
            return 0;
        }
    }
    return 1;
}

int gw_config_is_http_token(const char *s)
{
    return gw_config_is_word(s, "!#$%&'*+-.^_`|~", 1, SIZE_MAX);
}

const char *gw_config_address_problem(const char *s)
{
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1) {
        return NULL;
    }
    return "not a numeric IPv4 or IPv6 address";
}

const char *gw_config_url_path_problem(const char *path)
{
    if (path[0] != '/') {
        return "must start with '/'";
    }
    for (const char *p = path; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#') {
            return "must be a plain URL path (no spaces, '?' or '#')";
        }
    }
    return NULL;
}

const char *gw_config_instructions_problem(const char *s)
{
    /* sent whole in every initialize and server/discover answer: bounded like one */
    if (strlen(s) > GW_CONFIG_INSTRUCTIONS_MAX) {
        return "at most " GW_CONFIG_STR(GW_CONFIG_INSTRUCTIONS_MAX) " bytes";
    }
    return NULL;
}

const char *gw_config_url_problem(const char *url)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        p = url + 8;
    } else {
        return "not an http(s) URL";
    }
    for (const char *q = url; *q != '\0'; q++) {
        if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
            return "URL contains spaces or control characters";
        }
    }
    size_t alen = strcspn(p, "/?#");
    const char *end = p + alen;
    if (memchr(p, '@', alen) != NULL) {
        return "URL must not carry user:password (use headers)";
    }
    const char *port = NULL;
    if (*p == '[') {
        const char *close = memchr(p, ']', alen);
        if (close == NULL || close == p + 1) {
            return "URL has a malformed IPv6 host";
        }
        if (close + 1 < end) {
            if (close[1] != ':') {
                return "URL has a malformed IPv6 host";
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', alen);
        if (colon == p || alen == 0) {
            return "http(s) URL without a host";
        }
        if (colon != NULL) {
            port = colon + 1;
        }
    }
    if (port != NULL) {
        unsigned long n = 0;
        if (port == end) {
            return "URL has an empty port";
        }
        for (const char *q = port; q < end; q++) {
            if (*q < '0' || *q > '9' || (n = n * 10 + (unsigned long)(*q - '0')) > 65535) {
                return "URL has a bad port";
            }
        }
        if (n == 0) {
            return "URL has a bad port";
        }
    }
    return NULL;
}

const char *gw_config_tool_name_problem(const char *s, size_t len)
{
    if (len == 0 || len > GW_CONFIG_TOOL_NAME_MAX) {
        return "a tool name is 1 to " GW_CONFIG_STR(GW_CONFIG_TOOL_NAME_MAX) " characters";
    }
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c <= 0x20 || c == 0x7f) {
            return "a tool name has no spaces or control characters";
        }
    }
    return NULL;
}
