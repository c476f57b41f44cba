/* mcpparam.c: a 2026-07-28 tools/call's Mcp-Param-* headers checked against its arguments
 * (docs/design-2026-07-28.md §1 row 17). The worker runs it (worker/mcp_param.c): it holds the
 * tools' x-mcp-header declarations and sees every call's body before anything goes upstream. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/mcphdr.h"
#include "common/mcpparam.h"

#define SHOWN_MAX 120 /* bytes of a value a message or data shows */

void gw_mcpparam_verdict_init(gw_mcpparam_verdict_t *v)
{
    v->rejected = 0;
    gw_buf_init(&v->message);
    gw_buf_init(&v->data);
}

void gw_mcpparam_verdict_fini(gw_mcpparam_verdict_t *v)
{
    gw_buf_fini(&v->message);
    gw_buf_fini(&v->data);
}

int gw_mcpparam_is_param_header(const char *name, size_t n)
{
    return n >= GW_MCPPARAM_PREFIX_LEN &&
           strncasecmp(name, GW_MCPPARAM_PREFIX, GW_MCPPARAM_PREFIX_LEN) == 0;
}

/* s[0..n) as a client may read it in a message: visible ASCII and space kept, any other byte
 * '?', cut at SHOWN_MAX with "...". Always valid JSON string content once escaped. */
static void shown(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        if (i == SHOWN_MAX) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        dst[o++] = ch >= 0x20 && ch <= 0x7e ? (char)ch : '?';
    }
    dst[o] = '\0';
}

/* {"mismatch":{"header":H[,"value":V][,"body":B]}} */
static gw_err_t mismatch(gw_mcpparam_verdict_t *out, const char *header, const char *value,
                         const char *body)
{
    gw_err_t err = gw_buf_appends(&out->data, "{\"mismatch\":{\"header\":");
    err = err == GW_OK ? gw_buf_append_json_string(&out->data, header, strlen(header)) : err;
    if (err == GW_OK && value != NULL) {
        err = gw_buf_appends(&out->data, ",\"value\":");
        err = err == GW_OK ? gw_buf_append_json_string(&out->data, value, strlen(value)) : err;
    }
    if (err == GW_OK && body != NULL) {
        err = gw_buf_appends(&out->data, ",\"body\":");
        err = err == GW_OK ? gw_buf_append_json_string(&out->data, body, strlen(body)) : err;
    }
    err = err == GW_OK ? gw_buf_appends(&out->data, "}}") : err;
    out->rejected = 1;
    return err;
}

/* The argument a declaration names, or NULL. */
static yajl_val argument_of(const gw_xmcp_decl_t *d, yajl_val arguments)
{
    yajl_val v = arguments;
    const char *key = d->path;
    for (size_t i = 0; i < d->depth && v != NULL; i++) {
        v = YAJL_IS_OBJECT(v) ? gw_json_get(v, key) : NULL;
        key += strlen(key) + 1;
    }
    return v;
}

/* "arguments.a.b" for the message. */
static void path_of(const gw_xmcp_decl_t *d, char *dst, size_t cap)
{
    size_t o = (size_t)snprintf(dst, cap, "arguments");
    const char *key = d->path;
    for (size_t i = 0; i < d->depth && o + 1 < cap; i++) {
        o += (size_t)snprintf(dst + o, cap - o, ".%s", key);
        key += strlen(key) + 1;
    }
}

/* Is s a number as JSON writes one (no sign '+', no hex, no inf/nan)? *integral: no '.' or
 * exponent. */
static int number_text(const char *s, size_t n, int *integral)
{
    size_t i = 0, digits = 0;
    *integral = 1;
    if (i < n && s[i] == '-') {
        i++;
    }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        digits++;
    }
    if (digits == 0) {
        return 0;
    }
    if (i < n && s[i] == '.') {
        *integral = 0;
        size_t frac = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            frac++;
        }
        if (frac == 0) {
            return 0;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *integral = 0;
        size_t exp = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            exp++;
        }
        if (exp == 0) {
            return 0;
        }
    }
    return i == n;
}

/* Does the decoded header value h[0..n) equal the number arg? Integers compare exactly when both
 * are integral and fit a long long, else as doubles. */
static int number_equal(const char *h, size_t n, yajl_val arg)
{
    char text[64];
    int integral;
    if (n >= sizeof(text) || !number_text(h, n, &integral)) {
        return 0;
    }
    memcpy(text, h, n);
    text[n] = '\0';
    if (integral && YAJL_IS_INTEGER(arg)) {
        errno = 0;
        long long x = strtoll(text, NULL, 10);
        if (errno == 0) {
            return x == YAJL_GET_INTEGER(arg);
        }
    }
    double want = YAJL_IS_INTEGER(arg) ? (double)YAJL_GET_INTEGER(arg) : YAJL_GET_DOUBLE(arg);
    if ((arg->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) == 0 && !YAJL_IS_INTEGER(arg)) {
        want = strtod(arg->u.number.r, NULL);
    }
    double got = strtod(text, NULL);
    return isfinite(got) && got == want;
}

/* Does the decoded header value equal the argument? canon is the argument as the gateway would
 * send it, decoded (gw_xmcp_value then gw_mcphdr_decode): the bytes to compare for strings and
 * for values of a type the schema did not declare. */
static int value_equal(const char *h, size_t n, yajl_val arg, const gw_buf_t *canon)
{
    if (YAJL_IS_NUMBER(arg)) {
        return number_equal(h, n, arg);
    }
    if (YAJL_IS_TRUE(arg) || YAJL_IS_FALSE(arg)) {
        const char *b = YAJL_IS_TRUE(arg) ? "true" : "false";
        return n == strlen(b) && strncasecmp(h, b, n) == 0;
    }
    return n == canon->len && (n == 0 || memcmp(h, canon->data, n) == 0);
}

/* The one declaration's check; GW_OK with out untouched when it passes. */
static gw_err_t check_one(const gw_xmcp_decl_t *d, yajl_val arguments,
                          const gw_mcpparam_hdr_t *hdrs, size_t nhdrs, gw_mcpparam_verdict_t *out)
{
    char header[sizeof("Mcp-Param-") + GW_XMCP_NAME_MAX];
    snprintf(header, sizeof(header), "Mcp-Param-%s", d->name);
    yajl_val arg = argument_of(d, arguments);
    if (arg == NULL || YAJL_IS_NULL(arg)) {
        return GW_OK; /* no header expected; one sent is not compared with anything */
    }
    const gw_mcpparam_hdr_t *h = NULL;
    size_t dn = strlen(d->name);
    for (size_t i = 0; i < nhdrs; i++) {
        const gw_mcpparam_hdr_t *x = &hdrs[i];
        if (!gw_mcpparam_is_param_header(x->name, x->name_len) ||
            x->name_len - GW_MCPPARAM_PREFIX_LEN != dn ||
            strncasecmp(x->name + GW_MCPPARAM_PREFIX_LEN, d->name, dn) != 0) {
            continue;
        }
        if (h != NULL) {
            /* two lines of one header: which one an intermediary routed on is unknown */
            gw_err_t err =
                gw_buf_appendf(&out->message, "Header mismatch: %s sent more than once", header);
            return err == GW_OK ? mismatch(out, header, NULL, NULL) : err;
        }
        h = x;
    }
    if (h == NULL) {
        gw_err_t err =
            gw_buf_appendf(&out->message, "Header mismatch: %s header is required", header);
        return err == GW_OK ? mismatch(out, header, "(missing)", NULL) : err;
    }
    gw_buf_t v, enc, canon;
    gw_buf_init(&v);
    gw_buf_init(&enc);
    gw_buf_init(&canon);
    gw_err_t err = gw_mcphdr_decode(h->value, h->value_len, &v);
    if (err == GW_EINVAL) {
        err = gw_buf_appendf(&out->message, "Header mismatch: %s carries an invalid value", header);
        err = err == GW_OK ? mismatch(out, header, NULL, NULL) : err;
        goto done;
    }
    if (err == GW_OK) {
        int r = gw_xmcp_value(d, arguments, &enc);
        err =
            r < 0 ? GW_ENOMEM : gw_mcphdr_decode(enc.data != NULL ? enc.data : "", enc.len, &canon);
    }
    if (err == GW_OK && !value_equal(v.data != NULL ? v.data : "", v.len, arg, &canon)) {
        char hv[SHOWN_MAX + 8], bv[SHOWN_MAX + 8], path[256];
        shown(hv, sizeof(hv), v.data != NULL ? v.data : "", v.len);
        shown(bv, sizeof(bv), canon.data != NULL ? canon.data : "", canon.len);
        path_of(d, path, sizeof(path));
        err = gw_buf_appendf(&out->message, "Header mismatch: %s '%s' does not match %s '%s'",
                             header, hv, path, bv);
        err = err == GW_OK ? mismatch(out, header, hv, bv) : err;
    }
done:
    gw_buf_fini(&v);
    gw_buf_fini(&enc);
    gw_buf_fini(&canon);
    return err;
}

gw_err_t gw_mcpparam_check(const gw_xmcp_decl_t *decls, size_t n, yajl_val arguments,
                           const gw_mcpparam_hdr_t *hdrs, size_t nhdrs, gw_mcpparam_verdict_t *out)
{
    for (size_t i = 0; i < n && !out->rejected; i++) {
        gw_err_t err = check_one(&decls[i], arguments, hdrs, nhdrs, out);
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}
