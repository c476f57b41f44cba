/* mcpgw-conformance: multi round-trip requests of 2026-07-28 (input_required results, the retry
 * with inputResponses and requestState): the test_input_required_result_* tools and prompt the
 * suite's MRTR scenarios call, the HMAC-protected requestState, and the diagnostic tools of its
 * server-stateless scenario. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <h2o.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

#define STATE_PREFIX "cf1."
#define STATE_TTL_S 300 /* a human answers elicitations: five minutes */
#define MAX_STATE_LEN 1024
#define MAX_CARRIED 128

/* One input request of an input_required result. */
typedef struct cf_ask {
    const char *key;
    const char *method;
    const char *params; /* JSON text */
    unsigned cap;       /* CF_CAP_* the client must have declared */
} cf_ask_t;

#define NAME_FORM                                                                                  \
    "\"requestedSchema\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"    \
    "\"required\":[\"name\"]}"

static const cf_ask_t ask_user_name = {
    "user_name", "elicitation/create",
    "{\"mode\":\"form\",\"message\":\"What is your name?\"," NAME_FORM "}", CF_CAP_ELICITATION};
static const cf_ask_t ask_capital = {
    "capital_question", "sampling/createMessage",
    "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\","
    "\"text\":\"What is the capital of France?\"}}],\"maxTokens\":100}",
    CF_CAP_SAMPLING};
static const cf_ask_t ask_greeting = {
    "greeting", "sampling/createMessage",
    "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\","
    "\"text\":\"Generate a greeting\"}}],\"maxTokens\":50}",
    CF_CAP_SAMPLING};
static const cf_ask_t ask_roots = {"client_roots", "roots/list", "{}", CF_CAP_ROOTS};
static const cf_ask_t ask_confirm = {
    "confirm", "elicitation/create",
    "{\"mode\":\"form\",\"message\":\"Please confirm\",\"requestedSchema\":{\"type\":\"object\","
    "\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"]}}",
    CF_CAP_ELICITATION};
static const cf_ask_t ask_step1 = {
    "step1", "elicitation/create",
    "{\"mode\":\"form\",\"message\":\"Step 1: What is your name?\"," NAME_FORM "}",
    CF_CAP_ELICITATION};
static const cf_ask_t ask_step2 = {
    "step2", "elicitation/create",
    "{\"mode\":\"form\",\"message\":\"Step 2: What is your favorite color?\","
    "\"requestedSchema\":{\"type\":\"object\",\"properties\":{\"color\":{\"type\":\"string\"}},"
    "\"required\":[\"color\"]}}",
    CF_CAP_ELICITATION};
static const cf_ask_t ask_context = {
    "user_context", "elicitation/create",
    "{\"mode\":\"form\",\"message\":\"What context should the prompt use?\","
    "\"requestedSchema\":{\"type\":\"object\",\"properties\":{\"context\":{\"type\":\"string\"}},"
    "\"required\":[\"context\"]}}",
    CF_CAP_ELICITATION};

/* ---- requestState: "cf1." base64url(target \n round \n expiry \n carried) "." base64url(mac) --
 * The MAC (HMAC-SHA256 under a key drawn at start) covers everything before the last dot, so a
 * state opens only in this process, for the tool or prompt that issued it, within its TTL. */

static size_t b64url(const unsigned char *in, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = 0;

    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[n++] = abc[v >> 18 & 63];
        out[n++] = abc[v >> 12 & 63];
        if (i + 1 < len) {
            out[n++] = abc[v >> 6 & 63];
        }
        if (i + 2 < len) {
            out[n++] = abc[v & 63];
        }
    }
    out[n] = '\0';
    return n;
}

static int b64url_value(char c)
{
    const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *p = c != '\0' ? strchr(abc, c) : NULL;

    return p != NULL ? (int)(p - abc) : -1;
}

/* Decodes unpadded base64url; its length, or -1. */
static ssize_t b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;

    if (len % 4 == 1) {
        return -1;
    }
    for (size_t i = 0; i != len; ++i) {
        int v = b64url_value(in[i]);
        if (v < 0) {
            return -1;
        }
        acc = acc << 6 | (unsigned)v;
        if ((bits += 6) >= 8) {
            bits -= 8;
            if (n == cap) {
                return -1;
            }
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return (ssize_t)n;
}

static void state_mac(const cf_server_t *srv, const char *text, size_t len, unsigned char *mac)
{
    unsigned mac_len = 32;

    HMAC(EVP_sha256(), srv->state_key, sizeof(srv->state_key), (const unsigned char *)text, len,
         mac, &mac_len);
}

/* A new state for target at round carrying text (no newline), malloc'd; NULL on failure. */
static char *state_seal(const cf_server_t *srv, const char *target, int round, const char *carried)
{
    char payload[MAX_STATE_LEN / 2];
    int len = snprintf(payload, sizeof(payload), "%s\n%d\n%lld\n%s", target, round,
                       (long long)time(NULL) + STATE_TTL_S, carried != NULL ? carried : "");
    if (len < 0 || (size_t)len >= sizeof(payload)) {
        return NULL;
    }
    char *out = malloc(MAX_STATE_LEN + 64);
    if (out == NULL) {
        return NULL;
    }
    size_t n = strlen(STATE_PREFIX);
    memcpy(out, STATE_PREFIX, n);
    n += b64url((const unsigned char *)payload, (size_t)len, out + n);
    unsigned char mac[32];
    state_mac(srv, out, n, mac);
    out[n++] = '.';
    b64url(mac, sizeof(mac), out + n);
    return out;
}

/* Opens a state of target: its round (carried text into carried), or -1 when it is forged,
 * tampered with, expired or another tool's. */
static int state_open(const cf_server_t *srv, const char *state, const char *target,
                      char carried[MAX_CARRIED])
{
    size_t len = strlen(state), prefix = strlen(STATE_PREFIX);
    const char *dot = strrchr(state, '.');
    unsigned char mac[32], given[33];
    unsigned char payload[MAX_STATE_LEN];

    if (len > MAX_STATE_LEN || strncmp(state, STATE_PREFIX, prefix) != 0 || dot == NULL ||
        dot < state + prefix) {
        return -1;
    }
    state_mac(srv, state, (size_t)(dot - state), mac);
    if (b64url_decode(dot + 1, strlen(dot + 1), given, sizeof(given)) != 32 ||
        CRYPTO_memcmp(mac, given, 32) != 0) {
        return -1;
    }
    ssize_t n =
        b64url_decode(state + prefix, (size_t)(dot - state - prefix), payload, sizeof(payload) - 1);
    if (n < 0) {
        return -1;
    }
    payload[n] = '\0';
    char name[128];
    int round;
    long long expiry;
    int used = 0;
    if (sscanf((char *)payload, "%127[^\n]\n%d\n%lld\n%n", name, &round, &expiry, &used) != 3 ||
        used == 0 || strcmp(name, target) != 0 || expiry < (long long)time(NULL)) {
        return -1;
    }
    snprintf(carried, MAX_CARRIED, "%s", (char *)payload + used);
    return round;
}

/* ---- answers ---- */

static int invalid_state(cf_rpc_t *r)
{
    return cf_send_error_data(r->req, 200, "OK", &r->id, -32602, "Invalid or expired requestState",
                              "{\"reason\":\"invalid_request_state\"}");
}

/* An input_required result asking asks[i] for each bit i of which, with state unless NULL. */
static int answer_input_required(cf_rpc_t *r, const cf_ask_t *const *asks, size_t n, unsigned which,
                                 const char *state)
{
    yajl_gen g = cf_response_begin(&r->id);

    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    cf_gen_kv(g, "resultType", "input_required"); /* first: cf_modern_result leaves it be */
    json_gen_str(g, "inputRequests");
    yajl_gen_map_open(g);
    for (size_t i = 0; i != n; ++i) {
        if (which & (1u << i)) {
            json_gen_str(g, asks[i]->key);
            yajl_gen_map_open(g);
            cf_gen_kv(g, "method", asks[i]->method);
            json_gen_str(g, "params");
            json_gen_raw(g, h2o_iovec_init(asks[i]->params, strlen(asks[i]->params)));
            yajl_gen_map_close(g);
        }
    }
    yajl_gen_map_close(g);
    if (state != NULL) {
        cf_gen_kv(g, "requestState", state);
    }
    yajl_gen_map_close(g);
    return cf_rpc_answer(r, g);
}

static int answer_text(cf_rpc_t *r, const char *text)
{
    yajl_gen g = cf_response_begin(&r->id);

    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    cf_gen_text_result(g, text != NULL ? text : "out of memory", text == NULL);
    return cf_rpc_answer(r, g);
}

/* The bits of asks whose answer is missing from inputResponses or is not an object. */
static unsigned unanswered(yajl_val responses, const cf_ask_t *const *asks, size_t n)
{
    unsigned missing = 0;

    for (size_t i = 0; i != n; ++i) {
        if (!YAJL_IS_OBJECT(json_member(responses, asks[i]->key))) {
            missing |= 1u << i;
        }
    }
    return missing;
}

/* content.<field> of an accepted elicitation answer, as text. */
static const char *elicited(yajl_val responses, const char *key, const char *field)
{
    yajl_val answer = json_member(responses, key);
    const char *action = cf_member_string(answer, "action");
    yajl_val value = json_member(json_member(answer, "content"), field);

    if (action == NULL || strcmp(action, "accept") != 0) {
        return "(declined)";
    }
    if (YAJL_IS_STRING(value)) {
        return YAJL_GET_STRING(value);
    }
    return YAJL_IS_TRUE(value) ? "true" : YAJL_IS_FALSE(value) ? "false" : "(not given)";
}

static const char *sampled(yajl_val responses, const char *key)
{
    const char *text =
        cf_member_string(json_member(json_member(responses, key), "content"), "text");

    return text != NULL ? text : "(no text)";
}

static size_t roots_count(yajl_val responses, const char *key)
{
    yajl_val roots = json_member(json_member(responses, key), "roots");

    return YAJL_IS_ARRAY(roots) ? roots->u.array.len : 0;
}

/* What every input-required tool checks first: the capabilities its asks need, the shape of
 * inputResponses and an echoed requestState (round into *round, -1 when none came). 1 to go on. */
static int retry_checks(cf_rpc_t *r, const char *target, const cf_ask_t *const *asks, size_t n,
                        int *round, char carried[MAX_CARRIED])
{
    yajl_val responses = json_member(r->params, "inputResponses");
    yajl_val state = json_member(r->params, "requestState");
    unsigned needed = 0;

    for (size_t i = 0; i != n; ++i) {
        needed |= asks[i]->cap;
    }
    if ((needed & ~r->caps) != 0) {
        return cf_missing_capability(r, needed & ~r->caps), 0;
    }
    if (responses != NULL && !YAJL_IS_OBJECT(responses)) {
        return cf_send_error(r->req, 200, "OK", &r->id, -32602,
                             "Invalid params: inputResponses must be an object"),
               0;
    }
    *round = -1;
    carried[0] = '\0';
    if (state != NULL) {
        if (!YAJL_IS_STRING(state) ||
            (*round = state_open(r->srv, YAJL_GET_STRING(state), target, carried)) < 0) {
            return invalid_state(r), 0;
        }
    }
    return 1;
}

/* A tool asking asks[] in one round, completed by done() once all are answered; with_state
 * issues (and then requires) a requestState. */
static int one_round(cf_rpc_t *r, const char *target, const cf_ask_t *const *asks, size_t n,
                     int with_state, char *(*done)(yajl_val responses))
{
    yajl_val responses = json_member(r->params, "inputResponses");
    char carried[MAX_CARRIED];
    int round;

    if (!retry_checks(r, target, asks, n, &round, carried)) {
        return 0;
    }
    if (with_state && responses != NULL && round < 0) {
        return invalid_state(r); /* the answers without the state they belong to */
    }
    unsigned missing = responses == NULL ? (1u << n) - 1 : unanswered(responses, asks, n);
    if (missing != 0) {
        /* round 1, or a retry that lacks answers: ask (again) for what is missing */
        char *state = with_state ? state_seal(r->srv, target, 1, NULL) : NULL;
        int rc = with_state && state == NULL ? cf_rpc_no_memory(r)
                                             : answer_input_required(r, asks, n, missing, state);
        free(state);
        return rc;
    }
    char *text = done(responses);
    answer_text(r, text);
    free(text);
    return 0;
}

static char *done_elicitation(yajl_val responses)
{
    return cf_format("Hello, %s!", elicited(responses, "user_name", "name"));
}

static char *done_sampling(yajl_val responses)
{
    return cf_format("The model answered: %s", sampled(responses, "capital_question"));
}

static char *done_roots(yajl_val responses)
{
    yajl_val roots = json_member(json_member(responses, "client_roots"), "roots");
    const char *first = YAJL_IS_ARRAY(roots) && roots->u.array.len != 0
                            ? cf_member_string(roots->u.array.values[0], "uri")
                            : NULL;
    return cf_format("The client has %zu root(s); the first is %s",
                     roots_count(responses, "client_roots"), first != NULL ? first : "(none)");
}

static char *done_confirm(yajl_val responses)
{
    return cf_format("state-ok: confirmed=%s", elicited(responses, "confirm", "ok"));
}

static char *done_multiple(yajl_val responses)
{
    return cf_format("Hello, %s! Greeting: %s; %zu root(s)",
                     elicited(responses, "user_name", "name"), sampled(responses, "greeting"),
                     roots_count(responses, "client_roots"));
}

/* Two rounds of elicitation; the name of round 1 travels in the state of round 2. */
static int multi_round(cf_rpc_t *r, const char *target)
{
    static const cf_ask_t *const asks[] = {&ask_step1, &ask_step2};
    yajl_val responses = json_member(r->params, "inputResponses");
    char carried[MAX_CARRIED];
    int round;

    if (!retry_checks(r, target, asks, 2, &round, carried)) {
        return 0;
    }
    if (round < 0 && responses != NULL) {
        return invalid_state(r);
    }
    if (round < 0 || (round == 1 && !YAJL_IS_OBJECT(json_member(responses, "step1")))) {
        char *state = state_seal(r->srv, target, 1, NULL);
        int rc = state != NULL ? answer_input_required(r, asks, 2, 1u, state) : cf_rpc_no_memory(r);
        free(state);
        return rc;
    }
    if (round == 1 || !YAJL_IS_OBJECT(json_member(responses, "step2"))) {
        /* round 2: a new state, which carries the name (no newline in it: the state's format) */
        char name[MAX_CARRIED];
        snprintf(name, sizeof(name), "%s",
                 round == 1 ? elicited(responses, "step1", "name") : carried);
        name[strcspn(name, "\n")] = '\0';
        char *state = state_seal(r->srv, target, 2, name);
        int rc = state != NULL ? answer_input_required(r, asks, 2, 2u, state) : cf_rpc_no_memory(r);
        free(state);
        return rc;
    }
    char *text = cf_format("%s likes %s", carried, elicited(responses, "step2", "color"));
    answer_text(r, text);
    free(text);
    return 0;
}

/* Asks only what the client declared it can answer. */
static int capabilities_tool(cf_rpc_t *r, const char *target)
{
    static const cf_ask_t *const all[] = {&ask_user_name, &ask_capital, &ask_roots};
    const cf_ask_t *asks[3];
    size_t n = 0;

    for (size_t i = 0; i != 3; ++i) {
        if (r->caps & all[i]->cap) {
            asks[n++] = all[i];
        }
    }
    if (n == 0) {
        return answer_text(r, "The client declared no capability to ask it with");
    }
    yajl_val responses = json_member(r->params, "inputResponses");
    char carried[MAX_CARRIED];
    int round;
    if (!retry_checks(r, target, asks, n, &round, carried)) {
        return 0;
    }
    unsigned missing = responses == NULL ? (1u << n) - 1 : unanswered(responses, asks, n);
    if (missing != 0) {
        return answer_input_required(r, asks, n, missing, NULL);
    }
    return answer_text(r, "Answered every input request the client's capabilities allow");
}

int cf_tool_input_required(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    static const cf_ask_t *const elicitation[] = {&ask_user_name};
    static const cf_ask_t *const sampling[] = {&ask_capital};
    static const cf_ask_t *const roots[] = {&ask_roots};
    static const cf_ask_t *const confirm[] = {&ask_confirm};
    static const cf_ask_t *const multiple[] = {&ask_user_name, &ask_greeting, &ask_roots};
    const char *name = tool->name;

    if (!r->modern) {
        return cf_rpc_error(r, -32602, "This tool needs a 2026-07-28 request");
    }
    if (strcmp(name, "test_input_required_result_elicitation") == 0) {
        return one_round(r, name, elicitation, 1, 0, done_elicitation);
    }
    if (strcmp(name, "test_input_required_result_sampling") == 0) {
        return one_round(r, name, sampling, 1, 0, done_sampling);
    }
    if (strcmp(name, "test_input_required_result_list_roots") == 0) {
        return one_round(r, name, roots, 1, 0, done_roots);
    }
    if (strcmp(name, "test_input_required_result_request_state") == 0 ||
        strcmp(name, "test_input_required_result_tampered_state") == 0) {
        return one_round(r, name, confirm, 1, 1, done_confirm);
    }
    if (strcmp(name, "test_input_required_result_multiple_inputs") == 0) {
        return one_round(r, name, multiple, 3, 1, done_multiple);
    }
    if (strcmp(name, "test_input_required_result_multi_round") == 0) {
        return multi_round(r, name);
    }
    return capabilities_tool(r, name);
}

int cf_prompt_input_required(cf_rpc_t *r)
{
    static const cf_ask_t *const asks[] = {&ask_context};
    const char *target = "test_input_required_result_prompt";
    yajl_val responses = json_member(r->params, "inputResponses");
    char carried[MAX_CARRIED];
    int round;

    if (!retry_checks(r, target, asks, 1, &round, carried)) {
        return 0;
    }
    if (responses == NULL || unanswered(responses, asks, 1) != 0) {
        return answer_input_required(r, asks, 1, 1u, NULL);
    }
    char *text = cf_format("Use this context: %s", elicited(responses, "user_context", "context"));
    yajl_gen g = text != NULL ? cf_response_begin(&r->id) : NULL;
    if (g == NULL) {
        free(text);
        return cf_rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    cf_gen_kv(g, "description", "A prompt built from what the user was asked");
    json_gen_str(g, "messages");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    cf_gen_kv(g, "role", "user");
    json_gen_str(g, "content");
    cf_gen_text_content(g, text);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    free(text);
    return cf_rpc_answer(r, g);
}

/* ---- server-stateless diagnostics ---- */

/* Needs sampling: without it declared, 400 -32021 (the server must not rely on it). */
int cf_tool_missing_capability(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    static const cf_ask_t *const asks[] = {&ask_capital};

    if (!(r->caps & CF_CAP_SAMPLING)) {
        return cf_missing_capability(r, CF_CAP_SAMPLING);
    }
    return one_round(r, tool->name, asks, 1, 0, done_sampling);
}

/* Asks for elicitation the 2026-07-28 way: an input_required result on the response stream,
 * never a JSON-RPC request of its own. */
int cf_tool_streaming_elicitation(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    static const cf_ask_t *const asks[] = {&ask_user_name};

    return one_round(r, tool->name, asks, 1, 0, done_elicitation);
}
