/* config_files_test.c: what mcpgw.yaml only names: a header value read from a file (its final
 * newline dropped, refused when others can read it, when missing, or when it holds a control
 * character), a listener's TLS section (both files required, the minimum version), and a
 * backend's (https:// only, verify on by default, the client certificate and key together, a key
 * others cannot read). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

static char dir[] = "/tmp/mcpgw-cfgfiles-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[64 + sizeof(dir)];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text, mode_t mode, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

/* Parses a config of one server whose Authorization header is {file: path}. */
static gw_err_t parse_header_file(const char *path, gw_config_t **c, char *err, size_t errlen)
{
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "servers:\n  - name: a\n    url: http://a/\n    headers:\n"
             "      Authorization: {file: %s}\n",
             path);
    *c = NULL;
    return gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), c, err, errlen);
}

static void test_header_from_file(void **state)
{
    (void)state;
    char path[256], err[512] = "";
    gw_config_t *c = NULL;
    write_file("alpha", "Bearer s3cret\n", 0600, path, sizeof(path));
    assert_int_equal(parse_header_file(path, &c, err, sizeof(err)), GW_OK);
    assert_int_equal(c->servers[0].nheaders, 1);
    assert_string_equal(c->servers[0].headers[0].name, "Authorization");
    assert_string_equal(c->servers[0].headers[0].value, "Bearer s3cret");
    gw_config_destroy(c);

    write_file("crlf", "Bearer x\r\n", 0640, path, sizeof(path));
    assert_int_equal(parse_header_file(path, &c, err, sizeof(err)), GW_OK);
    assert_string_equal(c->servers[0].headers[0].value, "Bearer x");
    gw_config_destroy(c);
}

static void test_header_file_refused(void **state)
{
    (void)state;
    char path[256], err[512], want[800];
    gw_config_t *c = NULL;

    write_file("open", "Bearer s3cret\n", 0644, path, sizeof(path));
    assert_int_not_equal(parse_header_file(path, &c, err, sizeof(err)), GW_OK);
    snprintf(want, sizeof(want),
             "mcpgw.yaml:5: servers[0].headers.Authorization.file: %s: readable by others (mode "
             "0644): chmod o-r it",
             path);
    assert_string_equal(err, want);

    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_not_equal(parse_header_file(path, &c, err, sizeof(err)), GW_OK);
    snprintf(want, sizeof(want),
             "mcpgw.yaml:5: servers[0].headers.Authorization.file: %s: No such file or directory",
             path);
    assert_string_equal(err, want);

    write_file("twolines", "Bearer a\nX-Other: b\n", 0600, path, sizeof(path));
    assert_int_not_equal(parse_header_file(path, &c, err, sizeof(err)), GW_OK);
    assert_non_null(strstr(err, "header value contains control characters"));

    const char *yaml = "servers:\n  - name: a\n    url: http://a/\n    headers:\n"
                       "      Authorization: {path: /x}\n";
    assert_int_not_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                         GW_OK);
    assert_string_equal(err, "mcpgw.yaml:5: servers[0].headers.Authorization: expected a string or "
                             "{file: PATH}");
    assert_null(c);
}

static void test_listen_tls(void **state)
{
    (void)state;
    char err[512] = "";
    gw_config_t *c = NULL;
    const char *yaml =
        "listen:\n  - address: 127.0.0.1\n    port: 443\n    tls:\n"
        "      certificate: /etc/mcpgw/tls/gw.pem\n      key: /etc/mcpgw/tls/gw.key\n"
        "  - address: ::1\n    port: 8080\n";
    assert_int_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                     GW_OK);
    assert_string_equal(c->listen[0].tls_certificate, "/etc/mcpgw/tls/gw.pem");
    assert_string_equal(c->listen[0].tls_key, "/etc/mcpgw/tls/gw.key");
    assert_int_equal(c->listen[0].tls_min_version, GW_TLS_1_2);
    assert_null(c->listen[1].tls_certificate);
    gw_config_destroy(c);

    yaml = "listen:\n  - address: 127.0.0.1\n    port: 443\n    tls:\n"
           "      certificate: /a.pem\n      key: /a.key\n      min_version: TLSv1.3\n";
    assert_int_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                     GW_OK);
    assert_int_equal(c->listen[0].tls_min_version, GW_TLS_1_3);
    gw_config_destroy(c);

    yaml = "listen:\n  - address: 127.0.0.1\n    port: 443\n    tls:\n      certificate: /a.pem\n";
    assert_int_not_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                         GW_OK);
    assert_non_null(strstr(err, "listen[0].tls"));
    assert_non_null(strstr(err, "key"));

    yaml = "listen:\n  - address: 127.0.0.1\n    port: 443\n    tls:\n"
           "      certificate: /a.pem\n      key: /a.key\n      min_version: SSLv3\n";
    assert_int_not_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                         GW_OK);
    assert_string_equal(err, "mcpgw.yaml:7: listen[0].tls.min_version: must be TLSv1.2 or TLSv1.3");
}

/* Parses one server with url and the tls block's lines (each "key: value"). */
static gw_err_t parse_server_tls(const char *url, const char *tls, gw_config_t **c, char *err,
                                 size_t errlen)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "servers:\n  - name: a\n    url: %s\n    tls:\n%s", url, tls);
    *c = NULL;
    return gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), c, err, errlen);
}

static void test_server_tls(void **state)
{
    (void)state;
    char key[256], open_key[256], tls[800], err[512] = "", want[800];
    gw_config_t *c = NULL;
    write_file("client.key", "not checked here\n", 0640, key, sizeof(key));
    write_file("open.key", "not checked here\n", 0644, open_key, sizeof(open_key));

    snprintf(tls, sizeof(tls),
             "      ca_file: /etc/mcpgw/backend-ca.pem\n      client_certificate: /c.pem\n"
             "      client_key: %s\n      server_name: backend.internal\n",
             key);
    assert_int_equal(parse_server_tls("https://10.0.0.5:8443/mcp", tls, &c, err, sizeof(err)),
                     GW_OK);
    const gw_server_tls_t *t = &c->servers[0].tls;
    assert_int_equal(t->set, 1);
    assert_int_equal(t->verify, 1);
    assert_string_equal(t->ca_file, "/etc/mcpgw/backend-ca.pem");
    assert_string_equal(t->client_certificate, "/c.pem");
    assert_string_equal(t->client_key, key);
    assert_string_equal(t->server_name, "backend.internal");
    gw_config_destroy(c);

    /* no block: not set, verify still on (libcurl's defaults) */
    const char *yaml = "servers:\n  - name: a\n    url: https://a/\n";
    assert_int_equal(gw_config_parse("mcpgw.yaml", yaml, strlen(yaml), &c, err, sizeof(err)),
                     GW_OK);
    assert_int_equal(c->servers[0].tls.set, 0);
    assert_int_equal(c->servers[0].tls.verify, 1);
    gw_config_destroy(c);

    assert_int_equal(parse_server_tls("https://a/", "      verify: false\n", &c, err, sizeof(err)),
                     GW_OK);
    assert_int_equal(c->servers[0].tls.verify, 0);
    gw_config_destroy(c);

    /* a tls block on http:// is never a silent downgrade */
    assert_int_not_equal(
        parse_server_tls("http://a/mcp", "      verify: true\n", &c, err, sizeof(err)), GW_OK);
    assert_string_equal(err, "mcpgw.yaml:5: servers[0].tls: needs an https:// url (url is "
                             "http://a/mcp)");
    assert_null(c);

    assert_int_not_equal(
        parse_server_tls("https://a/", "      client_certificate: /c.pem\n", &c, err, sizeof(err)),
        GW_OK);
    assert_string_equal(err, "mcpgw.yaml:5: servers[0].tls: client_certificate and client_key "
                             "come together (client_key is missing)");
    snprintf(tls, sizeof(tls), "      client_key: %s\n", key);
    assert_int_not_equal(parse_server_tls("https://a/", tls, &c, err, sizeof(err)), GW_OK);
    assert_non_null(strstr(err, "(client_certificate is missing)"));

    snprintf(tls, sizeof(tls), "      client_certificate: /c.pem\n      client_key: %s\n",
             open_key);
    assert_int_not_equal(parse_server_tls("https://a/", tls, &c, err, sizeof(err)), GW_OK);
    snprintf(want, sizeof(want),
             "mcpgw.yaml:6: servers[0].tls.client_key: %s: readable by others (mode 0644): chmod "
             "o-r it",
             open_key);
    assert_string_equal(err, want);

    assert_int_not_equal(
        parse_server_tls("https://a/", "      server_name: a:443\n", &c, err, sizeof(err)), GW_OK);
    assert_non_null(strstr(err, "servers[0].tls.server_name: must be a host name"));
    assert_int_not_equal(
        parse_server_tls("https://a/", "      verify: maybe\n", &c, err, sizeof(err)), GW_OK);
    assert_string_equal(err, "mcpgw.yaml:5: servers[0].tls.verify: must be true or false");
    assert_int_not_equal(parse_server_tls("https://a/", "      ca: /x.pem\n", &c, err, sizeof(err)),
                         GW_OK);
    assert_string_equal(err, "mcpgw.yaml:5: servers[0].tls.ca: unknown key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_from_file),
        cmocka_unit_test(test_header_file_refused),
        cmocka_unit_test(test_listen_tls),
        cmocka_unit_test(test_server_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
