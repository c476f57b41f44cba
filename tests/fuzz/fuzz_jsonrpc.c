/* fuzz_jsonrpc.c: libFuzzer driver for the hot-path JSON-RPC scanner (every client body) and the
 * splices and replies the router builds from what it found.
 *
 * Properties checked on every input:
 * - gw_rpc_scan returns OK, EPARSE or ETOOBIG, and leaves *out zeroed when it fails;
 * - what it accepts is strict UTF-8 (RFC 3629), and so is every text it unescaped for routing
 *   (a "\udc00" escape must not turn into bytes that are not UTF-8);
 * - every span lies inside the body, holds exactly one JSON token of the expected type, and a
 *   string span decodes (on its own) to the unescaped text the scanner copied;
 * - the kind agrees with the members found (a request has a method and a non-null id, ...);
 * - a scan with a tiny depth limit either refuses the body as too deep or finds the same;
 * - gw_rpc_error and gw_rpc_result with the scanned id produce a JSON-RPC response that scans
 *   back with that id;
 * - for a request routed by name (tools/call, prompts/get: params.name; completion/complete:
 *   params.ref.name), splicing in the name without a leading prefix (what the router sends to a
 *   backend) and splicing a gateway id over the id give bodies that scan back to the same message
 *   with just those two fields changed;
 * - the 2026-07-28 envelope's raw spans (params._meta and its members, arguments,
 *   inputResponses, requestState) each hold exactly one JSON value, a claim has its
 *   protocolVersion span, and a copied protocolVersion or logLevel is its span's text. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "common/buf.h"
#include "common/jsonrpc.h"
#include "common/mcp.h"
#include "tests/fuzz/fuzz.h"

enum token_type { TOK_NONE, TOK_STRING, TOK_NUMBER, TOK_NULL, TOK_OTHER };

struct token {
    enum token_type type;
    int count; /* values seen (a token is exactly one) */
    gw_buf_t text;
};

static int tok_null(void *ctx)
{
    struct token *t = ctx;
    t->type = TOK_NULL;
    t->count++;
    return 1;
}

static int tok_bool(void *ctx, int v)
{
    struct token *t = ctx;
    (void)v;
    t->type = TOK_OTHER;
    t->count++;
    return 1;
}

static int tok_number(void *ctx, const char *s, size_t n)
{
    struct token *t = ctx;
    t->type = TOK_NUMBER;
    t->count++;
    gw_buf_reset(&t->text);
    return gw_buf_append(&t->text, s, n) == GW_OK;
}

static int tok_string(void *ctx, const unsigned char *s, size_t n)
{
    struct token *t = ctx;
    t->type = TOK_STRING;
    t->count++;
    gw_buf_reset(&t->text);
    return gw_buf_append(&t->text, s, n) == GW_OK;
}

static int tok_container(void *ctx)
{
    struct token *t = ctx;
    t->type = TOK_OTHER;
    t->count++;
    return 0; /* a scalar was expected: stop here */
}

static const yajl_callbacks token_callbacks = {
    .yajl_null = tok_null,
    .yajl_boolean = tok_bool,
    .yajl_number = tok_number,
    .yajl_string = tok_string,
    .yajl_start_map = tok_container,
    .yajl_start_array = tok_container,
};

/* Parses p[0..n) as one JSON scalar on its own; returns its type (TOK_NONE when it is not exactly
 * one valid scalar) and its text (unescaped for a string) in t->text. */
static enum token_type decode_token(const char *p, size_t n, struct token *t)
{
    t->type = TOK_NONE;
    t->count = 0;
    gw_buf_reset(&t->text);
    yajl_handle h = yajl_alloc(&token_callbacks, NULL, t);
    FUZZ_CHECK(h != NULL, "yajl_alloc");
    yajl_status s = yajl_parse(h, (const unsigned char *)p, n);
    if (s == yajl_status_ok) {
        s = yajl_complete_parse(h);
    }
    yajl_free(h);
    if (s != yajl_status_ok || t->count != 1) {
        return TOK_NONE;
    }
    return t->type;
}

/* RFC 3629 UTF-8, written from its table independently of the scanner: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF. */
static int utf8_strict(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            return 0;
        }
        if (n - i - 1 < need || p[i + 1] < lo || p[i + 1] > hi) {
            return 0;
        }
        for (size_t k = 2; k <= need; k++) {
            if (p[i + k] < 0x80 || p[i + k] > 0xbf) {
                return 0;
            }
        }
        i += need + 1;
    }
    return 1;
}

static void check_span_inside(gw_span_t sp, size_t len, const char *what)
{
    FUZZ_CHECK((uint64_t)sp.off + sp.len <= len, "%s span [%u,+%u) outside a body of %zu bytes",
               what, sp.off, sp.len, len);
}

/* A string span decodes to a string; when the scanner copied its text (cap != 0), to that text. */
static void check_string_span(const char *body, size_t len, gw_span_t sp, const char *copied,
                              int too_long, struct token *t, const char *what)
{
    if (sp.len == 0) {
        return;
    }
    check_span_inside(sp, len, what);
    enum token_type type = decode_token(body + sp.off, sp.len, t);
    FUZZ_CHECK(type == TOK_STRING, "%s span '%.*s' is not one JSON string", what, (int)sp.len,
               body + sp.off);
    if (copied == NULL) {
        return;
    }
    if (too_long) {
        FUZZ_CHECK(copied[0] == '\0', "%s: too long but text kept", what);
        return;
    }
    FUZZ_CHECK(strlen(copied) == t->text.len && memcmp(copied, t->text.data, t->text.len) == 0,
               "%s text '%s' differs from its span '%.*s'", what, copied, (int)sp.len,
               body + sp.off);
}

static void check_scalar_span(const char *body, size_t len, gw_span_t sp, int allow_null,
                              struct token *t, const char *what)
{
    if (sp.len == 0) {
        return;
    }
    check_span_inside(sp, len, what);
    enum token_type type = decode_token(body + sp.off, sp.len, t);
    FUZZ_CHECK(type == TOK_STRING || type == TOK_NUMBER || (allow_null && type == TOK_NULL),
               "%s span '%.*s' is not one string or number", what, (int)sp.len, body + sp.off);
}

/* A raw span (any type) holds one JSON value: a scalar decodes as one token, a container opens
 * and closes with matching brackets. */
static void check_value_span(const char *body, size_t len, gw_span_t sp, struct token *t,
                             const char *what)
{
    if (sp.len == 0) {
        return;
    }
    check_span_inside(sp, len, what);
    char first = body[sp.off], last = body[sp.off + sp.len - 1];
    if (first == '{' || first == '[') {
        FUZZ_CHECK((first == '{' && last == '}') || (first == '[' && last == ']'),
                   "%s span '%.*s' is not one container", what, (int)sp.len, body + sp.off);
        return;
    }
    FUZZ_CHECK(decode_token(body + sp.off, sp.len, t) != TOK_NONE,
               "%s span '%.*s' is not one JSON value", what, (int)sp.len, body + sp.off);
}

/* A text the scanner copied from a string span (empty when it was not a string or too long). */
static void check_copied(const char *body, gw_span_t sp, const char *copied, struct token *t,
                         const char *what)
{
    if (copied[0] == '\0' || sp.len == 0) {
        return;
    }
    FUZZ_CHECK(body[sp.off] == '"' && decode_token(body + sp.off, sp.len, t) == TOK_STRING &&
                   strlen(copied) == t->text.len && memcmp(copied, t->text.data, t->text.len) == 0,
               "%s text '%s' differs from its span '%.*s'", what, copied, (int)sp.len,
               body + sp.off);
}

static void check_modern(const char *body, size_t len, const gw_rpc_t *r, struct token *t)
{
    check_value_span(body, len, r->meta, t, "params._meta");
    check_value_span(body, len, r->meta_protocol_version, t, "_meta protocolVersion");
    check_value_span(body, len, r->meta_client_capabilities, t, "_meta clientCapabilities");
    check_value_span(body, len, r->meta_client_info, t, "_meta clientInfo");
    check_value_span(body, len, r->meta_log_level, t, "_meta logLevel");
    check_value_span(body, len, r->meta_subscription_id, t, "_meta subscriptionId");
    check_value_span(body, len, r->arguments, t, "params.arguments");
    check_value_span(body, len, r->input_responses, t, "params.inputResponses");
    check_value_span(body, len, r->request_state, t, "params.requestState");
    check_copied(body, r->meta_protocol_version, r->meta_protocol_version_str, t,
                 "_meta protocolVersion");
    check_copied(body, r->meta_log_level, r->meta_log_level_str, t, "_meta logLevel");
    if (r->kind == GW_MSG_REQUEST || r->kind == GW_MSG_NOTIFICATION) {
        FUZZ_CHECK(!r->meta_claim || (r->meta_protocol_version.len > 0 && r->meta.len > 0 &&
                                      body[r->meta.off] == '{'),
                   "a claim without its spans");
        FUZZ_CHECK(!r->meta_client_info_ok || body[r->meta_client_info.off] == '{',
                   "clientInfo ok but not an object");
    }
}

static int is_zero(const gw_rpc_t *r)
{
    static const gw_rpc_t zero;
    return memcmp(r, &zero, sizeof(zero)) == 0;
}

static int span_eq(const char *a, gw_span_t sa, const char *b, gw_span_t sb)
{
    return sa.len == sb.len && memcmp(a + sa.off, b + sb.off, sa.len) == 0;
}

static void check_scan(const char *body, size_t len, const gw_rpc_t *r, struct token *t)
{
    FUZZ_CHECK(r->kind <= GW_MSG_BATCH, "kind %d", r->kind);
    check_scalar_span(body, len, r->id, 1, t, "id");
    /* With a repeated "id" (an invalid message) the flag may describe another of its values. */
    if (r->id.len > 0 && r->id_is_null && r->kind != GW_MSG_INVALID) {
        FUZZ_CHECK(r->id.len == 4 && memcmp(body + r->id.off, "null", 4) == 0, "null id span");
    }
    check_string_span(body, len, r->method, r->method_str, r->method_too_long, t, "method");
    check_string_span(body, len, r->name, r->name_str, r->name_too_long, t, "params.name");
    check_string_span(body, len, r->uri, NULL, 0, t, "params.uri");
    check_string_span(body, len, r->ref_name, r->ref_name_str, r->ref_name_too_long, t,
                      "params.ref.name");
    check_string_span(body, len, r->ref_uri, NULL, 0, t, "params.ref.uri");
    check_string_span(body, len, r->protocol_version, NULL, 0, t, "params.protocolVersion");
    check_scalar_span(body, len, r->progress_token, 0, t, "progressToken");
    if (r->params.len > 0) {
        check_span_inside(r->params, len, "params");
        char first = body[r->params.off], last = body[r->params.off + r->params.len - 1];
        FUZZ_CHECK((first == '{' && last == '}') || (first == '[' && last == ']'),
                   "params span '%.*s'", (int)r->params.len, body + r->params.off);
    }
    switch (r->kind) {
    case GW_MSG_INVALID:
        FUZZ_CHECK(r->invalid_reason != NULL, "invalid without a reason");
        break;
    case GW_MSG_REQUEST:
        FUZZ_CHECK(r->method.len > 0 && r->id.len > 0 && !r->id_is_null, "request fields");
        FUZZ_CHECK(!r->has_result && !r->has_error, "request with result/error");
        break;
    case GW_MSG_NOTIFICATION:
        FUZZ_CHECK(r->method.len > 0 && r->id.len == 0, "notification fields");
        FUZZ_CHECK(!r->has_result && !r->has_error, "notification with result/error");
        break;
    case GW_MSG_RESPONSE:
        FUZZ_CHECK(r->method.len == 0 && r->has_result != r->has_error, "response fields");
        FUZZ_CHECK(r->id.len > 0, "response without id");
        break;
    case GW_MSG_BATCH:
        break;
    }
}

/* The reply the router would build for this message scans back as a response with its id. */
static void check_replies(const char *body, const gw_rpc_t *r)
{
    const char *id = body + r->id.off;
    size_t id_len = r->id.len;
    gw_buf_t out;
    gw_rpc_t back;
    char msg[GW_RPC_NAME_MAX + 32];

    /* What the router answers for an unknown tool: the message carries the scanned name. */
    snprintf(msg, sizeof(msg), "Unknown tool: %s", r->name_str);
    gw_buf_init(&out);
    FUZZ_CHECK(gw_rpc_error(&out, id, id_len, GW_RPC_INVALID_PARAMS, msg) == GW_OK, "rpc_error");
    gw_err_t err = gw_rpc_scan(out.data, out.len, 0, &back);
    FUZZ_CHECK(err == GW_OK && back.kind == GW_MSG_RESPONSE && back.has_error,
               "error reply does not scan as a response (err %d kind %d): %s", err, back.kind,
               out.data);
    if (id_len > 0) {
        FUZZ_CHECK(span_eq(out.data, back.id, body, r->id), "error reply id differs: %s", out.data);
    } else {
        FUZZ_CHECK(back.id_is_null, "error reply without id is not id null: %s", out.data);
    }

    if (r->kind == GW_MSG_REQUEST) {
        /* A ping answer, and a result made of the request's own params. */
        const char *res = r->params.len > 0 ? body + r->params.off : "{}";
        size_t res_len = r->params.len > 0 ? r->params.len : 2;
        gw_buf_reset(&out);
        FUZZ_CHECK(gw_rpc_result(&out, id, id_len, res, res_len) == GW_OK, "rpc_result");
        err = gw_rpc_scan(out.data, out.len, 0, &back);
        FUZZ_CHECK(err == GW_OK && back.kind == GW_MSG_RESPONSE && back.has_result,
                   "result reply does not scan (err %d kind %d): %s", err, back.kind, out.data);
        FUZZ_CHECK(span_eq(out.data, back.id, body, r->id), "result reply id differs");
    }
    gw_buf_fini(&out);
}

/* The routed name of a request and where it lies: params.name of tools/call and prompts/get,
 * params.ref.name of completion/complete. */
static int routed_name(const gw_rpc_t *r, gw_span_t *span, const char **name)
{
    if (r->kind != GW_MSG_REQUEST) {
        return 0;
    }
    if (strcmp(r->method_str, "tools/call") == 0 || strcmp(r->method_str, "prompts/get") == 0) {
        *span = r->name;
        *name = r->name_str;
        return r->name.len > 0 && !r->name_too_long;
    }
    if (strcmp(r->method_str, "completion/complete") == 0) {
        *span = r->ref_name;
        *name = r->ref_name_str;
        return r->ref_name.len > 0 && !r->ref_name_too_long;
    }
    return 0;
}

/* Strips a data-chosen prefix of the routed name, as the router strips the backend prefix
 * (always at a character boundary: prefixes are ASCII), and swaps the id for a gateway id. */
static void check_splices(const char *body, size_t len, const gw_rpc_t *r, struct token *t)
{
    gw_span_t span;
    const char *name;
    if (!routed_name(r, &span, &name)) {
        return;
    }
    size_t nlen = strlen(name);
    size_t k = nlen > 0 ? len % (nlen + 1) : 0;
    while (k > 0 && k < nlen && ((unsigned char)name[k] & 0xc0) == 0x80) {
        k--;
    }
    gw_buf_t out;
    gw_rpc_t back;
    gw_span_t bspan;
    const char *bname;
    gw_buf_init(&out);
    FUZZ_CHECK(gw_rpc_splice_string(&out, body, len, span, name + k, nlen - k) == GW_OK,
               "splice name");
    gw_err_t err = gw_rpc_scan(out.data, out.len, 0, &back);
    FUZZ_CHECK(err == GW_OK, "name splice output does not scan (%d): %s", err, out.data);
    check_scan(out.data, out.len, &back, t);
    FUZZ_CHECK(back.kind == GW_MSG_REQUEST && strcmp(back.method_str, r->method_str) == 0,
               "name splice changed the message: kind %d method '%s'", back.kind, back.method_str);
    FUZZ_CHECK(routed_name(&back, &bspan, &bname) && strcmp(bname, name + k) == 0,
               "spliced name '%s', want '%s'", bname, name + k);
    FUZZ_CHECK(span_eq(out.data, back.id, body, r->id), "name splice changed the id");
    FUZZ_CHECK(out.len == len - span.len + bspan.len, "name splice length");

    static const char gwid[] = "\"gw-4f2a-17\"";
    gw_buf_reset(&out);
    FUZZ_CHECK(gw_rpc_splice_raw(&out, body, len, r->id, gwid, sizeof(gwid) - 1) == GW_OK,
               "splice id");
    err = gw_rpc_scan(out.data, out.len, 0, &back);
    FUZZ_CHECK(err == GW_OK && back.kind == GW_MSG_REQUEST, "id splice output (%d): %s", err,
               out.data);
    FUZZ_CHECK(back.id.len == sizeof(gwid) - 1 &&
                   memcmp(out.data + back.id.off, gwid, back.id.len) == 0,
               "spliced id");
    FUZZ_CHECK(routed_name(&back, &bspan, &bname) && strcmp(bname, name) == 0,
               "id splice changed the name");
    gw_buf_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct token t;
    gw_rpc_t r, shallow;

    gw_buf_init(&t.text);
    gw_err_t err = gw_rpc_scan(body, size, GW_RPC_DEFAULT_MAX_DEPTH, &r);
    FUZZ_CHECK(err == GW_OK || err == GW_EPARSE || err == GW_ETOOBIG, "scan returned %d", err);
    if (err != GW_OK) {
        FUZZ_CHECK(is_zero(&r), "a failed scan left fields set");
        gw_buf_fini(&t.text);
        return 0;
    }
    check_scan(body, size, &r, &t);
    check_modern(body, size, &r, &t);
    /* JSON text is UTF-8 (RFC 8259): the gateway must not pass on what is not. */
    FUZZ_CHECK(utf8_strict(data, size), "a body that is not UTF-8 was accepted");
    FUZZ_CHECK(utf8_strict((const unsigned char *)r.method_str, strlen(r.method_str)) &&
                   utf8_strict((const unsigned char *)r.name_str, strlen(r.name_str)) &&
                   utf8_strict((const unsigned char *)r.ref_name_str, strlen(r.ref_name_str)),
               "a routed text (method, name) that is not UTF-8: '%s' '%s' '%s'", r.method_str,
               r.name_str, r.ref_name_str);

    err = gw_rpc_scan(body, size, 3, &shallow);
    FUZZ_CHECK(err == GW_OK || err == GW_ETOOBIG, "depth-3 scan returned %d", err);
    if (err == GW_OK) {
        FUZZ_CHECK(shallow.kind == r.kind && memcmp(&shallow.id, &r.id, sizeof(r.id)) == 0 &&
                       memcmp(&shallow.name, &r.name, sizeof(r.name)) == 0 &&
                       strcmp(shallow.method_str, r.method_str) == 0,
                   "the depth limit changed what was found");
    }

    check_replies(body, &r);
    check_splices(body, size, &r, &t);
    gw_buf_fini(&t.text);
    return 0;
}
