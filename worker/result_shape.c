/* result_shape.c: a backend's answer reshaped for a caller of the other era (resultType and the
 * cache fields spliced in or removed, -32002 mapped), by walking the top-level members of the
 * message and of its result or error: nothing nested is ever read as a key. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/mcp.h"
#include "worker/result_shape.h"

/* ---- a minimal walker over JSON already known to be well-formed (gw_rpc_scan passed) ---- */

typedef struct member {
    size_t key, key_end; /* the key's string token, quotes included */
    size_t val, val_end; /* its value's token */
} member_t;

/* What yajl (gw_rpc_scan) takes for whitespace: RFC 8259's four, and \f and \v besides. A
 * walker that stopped at a form feed yajl skipped would read the rest of the value as a scalar. */
static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static size_t skip_ws(const char *p, size_t i, size_t n)
{
    while (i < n && is_ws(p[i])) {
        i++;
    }
    return i;
}

/* p[i] is '"': the index after the closing quote, 0 when there is none. */
static size_t skip_string(const char *p, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (p[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/* The index after the value starting at p[i], 0 when it does not end. */
static size_t skip_value(const char *p, size_t i, size_t n)
{
    if (i >= n) {
        return 0;
    }
    if (p[i] == '"') {
        return skip_string(p, i, n);
    }
    if (p[i] == '{' || p[i] == '[') {
        size_t depth = 0;
        for (; i < n; i++) {
            if (p[i] == '"') {
                size_t j = skip_string(p, i, n);
                if (j == 0) {
                    return 0;
                }
                i = j - 1;
            } else if (p[i] == '{' || p[i] == '[') {
                depth++;
            } else if ((p[i] == '}' || p[i] == ']') && --depth == 0) {
                return i + 1;
            }
        }
        return 0;
    }
    size_t start = i;
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && !is_ws(p[i])) {
        i++;
    }
    return i > start ? i : 0;
}

/* The next member of the object whose members *i walks (start: just after its '{'). Returns 1
 * with *m, 0 at the closing brace (then p[*i] is '}'), -1 when malformed. */
static int next_member(const char *p, size_t n, size_t *i, member_t *m)
{
    size_t j = skip_ws(p, *i, n);
    if (j < n && p[j] == ',') {
        j = skip_ws(p, j + 1, n);
    }
    if (j >= n) {
        return -1;
    }
    if (p[j] == '}') {
        *i = j;
        return 0;
    }
    if (p[j] != '"') {
        return -1;
    }
    m->key = j;
    if ((j = skip_string(p, j, n)) == 0) {
        return -1;
    }
    m->key_end = j;
    j = skip_ws(p, j, n);
    if (j >= n || p[j] != ':') {
        return -1;
    }
    m->val = skip_ws(p, j + 1, n);
    if ((m->val_end = skip_value(p, m->val, n)) == 0) {
        return -1;
    }
    *i = m->val_end;
    return 1;
}

/* Does the string token p[tok..end) read as the ASCII text lit once unescaped? A key may be
 * written "result\u0054ype": the backend's client reads it as resultType, so must we. */
static int token_is(const char *p, size_t tok, size_t end, const char *lit)
{
    if (end - tok < 2 || p[tok] != '"') {
        return 0;
    }
    size_t i = tok + 1;
    end--; /* the closing quote */
    for (; *lit != '\0'; lit++) {
        if (i >= end) {
            return 0;
        }
        char c = p[i++];
        if (c == '\\' && i < end) {
            char e = p[i++];
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k = strchr(from, e);
            if (e == 'u' && i + 4 <= end) {
                int v = 0;
                for (int d = 0; d < 4; d++) {
                    int h = gw_hex_value(p[i + (size_t)d]);
                    if (h < 0) {
                        return 0;
                    }
                    v = v * 16 + h;
                }
                i += 4;
                if (v >= 0x80) {
                    return 0;
                }
                c = (char)v;
            } else if (k != NULL && e != '\0') {
                c = to[k - from];
            } else {
                return 0;
            }
        }
        if (c != *lit) {
            return 0;
        }
    }
    return i == end;
}

/* The value of the top-level member named "result" or "error" of the message: which one in
 * *is_error. -1 when the message is not an object with one of them. */
static int find_outcome(const char *p, size_t n, member_t *out, int *is_error)
{
    size_t i = skip_ws(p, 0, n);
    if (i >= n || p[i] != '{') {
        return -1;
    }
    i++;
    member_t m;
    int r;
    while ((r = next_member(p, n, &i, &m)) == 1) {
        if (token_is(p, m.key, m.key_end, "result") || token_is(p, m.key, m.key_end, "error")) {
            *out = m;
            *is_error = token_is(p, m.key, m.key_end, "error");
            return 0;
        }
    }
    return -1;
}

/* Is the number token p[tok..end) the integer code (written 32002, -32002.0 or -3.2002e4)? */
static int number_is(const char *p, size_t tok, size_t end, double code)
{
    char t[40];
    if (end - tok == 0 || end - tok >= sizeof(t)) {
        return 0;
    }
    memcpy(t, p + tok, end - tok);
    t[end - tok] = '\0';
    char *stop;
    double v = strtod(t, &stop);
    return *stop == '\0' && v == code;
}

/* ---- edits: spliced in the order of their offsets ---- */

typedef struct edit {
    size_t off, del; /* replace p[off..off+del) */
    const char *ins; /* with ins[0..ins_len) */
    size_t ins_len;
} edit_t;

#define EDITS_MAX 6

static int edit_cmp(const void *a, const void *b)
{
    const edit_t *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static wrk_shape_rc_t apply_edits(const char *p, size_t n, edit_t *e, size_t ne, gw_buf_t *out)
{
    qsort(e, ne, sizeof(*e), edit_cmp);
    size_t at = 0;
    gw_err_t err = GW_OK;
    for (size_t k = 0; k < ne && err == GW_OK; k++) {
        err = gw_buf_append(out, p + at, e[k].off - at);
        if (err == GW_OK) {
            err = gw_buf_append(out, e[k].ins, e[k].ins_len);
        }
        at = e[k].off + e[k].del;
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, p + at, n - at);
    }
    return err == GW_OK ? WRK_SHAPE_REWRITTEN : WRK_SHAPE_NOMEM;
}

/* Appends member text s to ins[0..*n), after a comma when it is not the first. */
static void ins_add(char *ins, size_t *n, const char *s)
{
    size_t l = strlen(s);
    if (*n > 0) {
        ins[(*n)++] = ',';
    }
    memcpy(ins + *n, s, l);
    *n += l;
}

static void edit_add(edit_t *e, size_t *ne, size_t off, size_t del, const char *ins, size_t len)
{
    e[*ne] = (edit_t){off, del, ins, len};
    (*ne)++;
}

/* ---- the two directions ---- */

wrk_shape_dir_t wrk_shape_dir(int caller_modern, int backend_modern)
{
    if (caller_modern && !backend_modern) {
        return WRK_SHAPE_FOR_MODERN;
    }
    if (!caller_modern && backend_modern) {
        return WRK_SHAPE_FOR_LEGACY;
    }
    return WRK_SHAPE_AS_IS;
}

/* An old-era error for a modern caller: -32002 → -32602 with data.uri. */
static wrk_shape_rc_t error_for_modern(const char *p, size_t n, const member_t *err,
                                       const char *uri, size_t uri_len, gw_buf_t *out)
{
    if (p[err->val] != '{') {
        return WRK_SHAPE_SAME;
    }
    member_t m, code = {0}, data = {0};
    int have_code = 0, have_data = 0, r;
    size_t i = err->val + 1;
    while ((r = next_member(p, n, &i, &m)) == 1) {
        if (token_is(p, m.key, m.key_end, "code")) {
            code = m;
            have_code = 1;
        } else if (token_is(p, m.key, m.key_end, "data")) {
            data = m;
            have_data = 1;
        }
    }
    if (r < 0) {
        return WRK_SHAPE_MALFORMED;
    }
    size_t close = i; /* the error object's '}' */
    if (!have_code || !number_is(p, code.val, code.val_end, GW_RPC_RESOURCE_NOT_FOUND)) {
        return WRK_SHAPE_SAME;
    }
    edit_t e[EDITS_MAX];
    size_t ne = 0;
    static const char invalid[] = "-32602";
    edit_add(e, &ne, code.val, code.val_end - code.val, invalid, sizeof(invalid) - 1);
    gw_buf_t ins;
    gw_buf_init(&ins);
    if (uri_len > 0 && !have_data) {
        gw_buf_appends(&ins, ",\"data\":{\"uri\":");
        gw_buf_append(&ins, uri, uri_len);
        gw_buf_appends(&ins, "}");
        edit_add(e, &ne, close, 0, NULL, 0);
    } else if (uri_len > 0 && p[data.val] == '{') {
        size_t j = data.val + 1;
        int has_uri = 0, empty = 1;
        while ((r = next_member(p, n, &j, &m)) == 1) {
            empty = 0;
            has_uri = has_uri || token_is(p, m.key, m.key_end, "uri");
        }
        if (r < 0) {
            gw_buf_fini(&ins);
            return WRK_SHAPE_MALFORMED;
        }
        if (!has_uri) {
            gw_buf_appends(&ins, "\"uri\":");
            gw_buf_append(&ins, uri, uri_len);
            gw_buf_appends(&ins, empty ? "" : ",");
            edit_add(e, &ne, data.val + 1, 0, NULL, 0);
        }
    } /* data that is not an object is the backend's: kept as it is */
    if (gw_buf_status(&ins) != GW_OK) {
        gw_buf_fini(&ins);
        return WRK_SHAPE_NOMEM;
    }
    if (ne == 2) {
        e[1].ins = ins.data;
        e[1].ins_len = ins.len;
    }
    wrk_shape_rc_t rc = apply_edits(p, n, e, ne, out);
    gw_buf_fini(&ins);
    return rc;
}

wrk_shape_rc_t wrk_shape_for_modern(const char *msg, size_t len, int cacheable, const char *uri,
                                    size_t uri_len, gw_buf_t *out)
{
    member_t outcome;
    int is_error;
    if (find_outcome(msg, len, &outcome, &is_error) != 0) {
        return WRK_SHAPE_MALFORMED;
    }
    if (is_error) {
        return error_for_modern(msg, len, &outcome, uri, uri_len, out);
    }
    if (msg[outcome.val] != '{') {
        return WRK_SHAPE_NOT_OBJECT;
    }
    int has_type = 0, has_ttl = 0, has_scope = 0, empty = 1, r;
    member_t m;
    size_t i = outcome.val + 1;
    while ((r = next_member(msg, len, &i, &m)) == 1) {
        empty = 0;
        if (token_is(msg, m.key, m.key_end, "resultType")) {
            /* every copy: a client reading the last one must not see another kind */
            if (!token_is(msg, m.val, m.val_end, "complete")) {
                return WRK_SHAPE_BAD_RESULT_TYPE;
            }
            has_type = 1;
        } else if (token_is(msg, m.key, m.key_end, "ttlMs")) {
            has_ttl = 1;
        } else if (token_is(msg, m.key, m.key_end, "cacheScope")) {
            has_scope = 1;
        }
    }
    if (r < 0) {
        return WRK_SHAPE_MALFORMED;
    }
    char ins[96]; /* the three members at most, and their commas */
    size_t n = 0;
    if (!has_type) {
        ins_add(ins, &n, "\"resultType\":\"complete\"");
    }
    if (cacheable && !has_ttl) {
        ins_add(ins, &n, "\"ttlMs\":0");
    }
    if (cacheable && !has_scope) {
        ins_add(ins, &n, "\"cacheScope\":\"private\"");
    }
    if (n == 0) {
        return WRK_SHAPE_SAME;
    }
    if (!empty) {
        ins[n++] = ',';
    }
    edit_t e[1];
    size_t ne = 0;
    edit_add(e, &ne, outcome.val + 1, 0, ins, n);
    return apply_edits(msg, len, e, ne, out);
}

int wrk_shape_is_input_required(const char *msg, size_t len)
{
    member_t outcome, m;
    int is_error;
    if (memmem(msg, len, "input_required", 14) == NULL && memchr(msg, '\\', len) == NULL) {
        return 0; /* the common case, decided without the walk (an escaped value has a '\\') */
    }
    if (find_outcome(msg, len, &outcome, &is_error) != 0 || is_error || msg[outcome.val] != '{') {
        return 0;
    }
    size_t i = outcome.val + 1;
    while (next_member(msg, len, &i, &m) == 1) {
        if (token_is(msg, m.key, m.key_end, "resultType")) {
            return token_is(msg, m.val, m.val_end, "input_required");
        }
    }
    return 0;
}

wrk_shape_rc_t wrk_shape_for_legacy(const char *msg, size_t len, gw_buf_t *out)
{
    member_t outcome;
    int is_error;
    if (find_outcome(msg, len, &outcome, &is_error) != 0) {
        return WRK_SHAPE_MALFORMED;
    }
    if (is_error || msg[outcome.val] != '{') {
        return WRK_SHAPE_SAME; /* errors, and results we cannot reshape, as the backend sent them */
    }
    /* First pass: is there anything to remove? Most answers have it (every modern result has
     * resultType), but one without is relayed untouched. */
    member_t m;
    int r, drop = 0;
    size_t i = outcome.val + 1;
    while ((r = next_member(msg, len, &i, &m)) == 1) {
        if (token_is(msg, m.key, m.key_end, "resultType")) {
            if (token_is(msg, m.val, m.val_end, "input_required")) {
                return WRK_SHAPE_INPUT_REQUIRED;
            }
            drop = 1;
        } else if (token_is(msg, m.key, m.key_end, "ttlMs") ||
                   token_is(msg, m.key, m.key_end, "cacheScope")) {
            drop = 1;
        }
    }
    if (r < 0) {
        return WRK_SHAPE_MALFORMED;
    }
    if (!drop) {
        return WRK_SHAPE_SAME;
    }
    /* Second pass: the object rebuilt from the members kept, each copied byte for byte. */
    gw_err_t err = gw_buf_append(out, msg, outcome.val + 1);
    int first = 1;
    i = outcome.val + 1;
    while (err == GW_OK && next_member(msg, len, &i, &m) == 1) {
        if (token_is(msg, m.key, m.key_end, "resultType") ||
            token_is(msg, m.key, m.key_end, "ttlMs") ||
            token_is(msg, m.key, m.key_end, "cacheScope")) {
            continue;
        }
        if (!first) {
            err = gw_buf_append(out, ",", 1);
        }
        if (err == GW_OK) {
            err = gw_buf_append(out, msg + m.key, m.val_end - m.key);
        }
        first = 0;
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, msg + i, len - i); /* from the result's '}' to the end */
    }
    if (err != GW_OK) {
        gw_buf_reset(out);
        return WRK_SHAPE_NOMEM;
    }
    return WRK_SHAPE_REWRITTEN;
}
