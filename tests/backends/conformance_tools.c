/* mcpgw-conformance: the tools, tools/list and tools/call. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

#define LOG_LEVEL_INFO 1

/* 16 samples of 8 kHz 8-bit silence as WAV, base64. */
static const char silence_wav[] =
    "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YRAAAACAgICAgI"
    "CAgICAgICAgICA";

static int answer_tool_text(cf_rpc_t *r, const char *text, int is_error)
{
    yajl_gen g = cf_response_begin(&r->id);

    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    cf_gen_text_result(g, text, is_error);
    return cf_rpc_answer(r, g);
}

static int tool_simple_text(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    return answer_tool_text(r, "This is a simple text response for testing.", 0);
}

static int tool_error(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    return answer_tool_text(r, "This tool intentionally returns an error for testing", 1);
}

static int tool_image(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    yajl_gen g = cf_result_array_begin(r, "content");

    if (g == NULL) {
        return 0;
    }
    cf_gen_image_content(g);
    return cf_result_array_answer(r, g);
}

static int tool_audio(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    yajl_gen g = cf_result_array_begin(r, "content");

    if (g == NULL) {
        return 0;
    }
    yajl_gen_map_open(g);
    cf_gen_kv(g, "type", "audio");
    cf_gen_kv(g, "data", silence_wav);
    cf_gen_kv(g, "mimeType", "audio/wav");
    yajl_gen_map_close(g);
    return cf_result_array_answer(r, g);
}

static int tool_embedded_resource(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    yajl_gen g = cf_result_array_begin(r, "content");

    if (g == NULL) {
        return 0;
    }
    cf_gen_resource_content(g, "test://embedded-resource", "text/plain",
                            "This is an embedded resource content.");
    return cf_result_array_answer(r, g);
}

static int tool_mixed_content(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    yajl_gen g = cf_result_array_begin(r, "content");

    if (g == NULL) {
        return 0;
    }
    cf_gen_text_content(g, "Multiple content types test:");
    cf_gen_image_content(g);
    cf_gen_resource_content(g, "test://mixed-content-resource", "application/json",
                            "{\"test\":\"data\",\"value\":123}");
    return cf_result_array_answer(r, g);
}

/* json_schema_2020_12_tool: reports the arguments it got. */
static int tool_echo_arguments(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    char *json = cf_json_text(args);
    char *text = json != NULL ? cf_format("Received arguments: %s", json) : NULL;
    int rc = text != NULL ? answer_tool_text(r, text, 0) : cf_rpc_no_memory(r);

    free(json);
    free(text);
    return rc;
}

/* A tool that answers on its stream in timer steps: the first step now, the others STEP_MS apart.
 */
static int tool_in_steps(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    cf_call_t *call = cf_call_start(r, tool);

    if (call == NULL) {
        return cf_rpc_no_memory(r);
    }
    tool->step(call);
    return 0;
}

static const char *const logging_steps[] = {"Tool execution started", "Tool processing data",
                                            "Tool execution completed"};

static void step_logging(cf_call_t *call)
{
    cf_call_log(call, LOG_LEVEL_INFO, logging_steps[call->step]);
    if (call->step + 1 < sizeof(logging_steps) / sizeof(logging_steps[0])) {
        cf_call_schedule_step(call);
        return;
    }
    cf_call_finish_text(call, "Tool with logging completed: sent 3 log messages", 0);
}

static void step_progress(cf_call_t *call)
{
    cf_call_progress(call, 50 * (int)call->step, 100);
    if (call->step < 2) {
        cf_call_schedule_step(call);
        return;
    }
    cf_call_finish_text(call, "Tool with progress completed", 0);
}

/* The text of a CreateMessageResult's content (one block or the first of several). */
static const char *sampled_text(yajl_val result)
{
    yajl_val content = json_member(result, "content");

    if (YAJL_IS_ARRAY(content) && content->u.array.len != 0) {
        content = content->u.array.values[0];
    }
    const char *text = cf_member_string(content, "text");
    return text != NULL ? text : "(no text content)";
}

/* An error answer from the client becomes a tool result with isError. */
static int answered_with_error(cf_call_t *call, yajl_val msg, const char *method)
{
    yajl_val error = json_member(msg, "error");

    if (error == NULL) {
        return 0;
    }
    const char *message = cf_member_string(error, "message");
    char *text = cf_format("%s failed: %s", method, message != NULL ? message : "(no message)");
    cf_call_finish_text(call, text, 1);
    free(text);
    return 1;
}

static void answered_sampling(cf_call_t *call, yajl_val msg)
{
    if (answered_with_error(call, msg, "sampling/createMessage")) {
        return;
    }
    char *text = cf_format("LLM response: %s", sampled_text(json_member(msg, "result")));
    cf_call_finish_text(call, text, 0);
    free(text);
}

static int tool_sampling(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    const char *prompt = cf_member_string(args, "prompt");

    if (prompt == NULL) {
        return answer_tool_text(r, "test_sampling: argument \"prompt\" (string) is required", 1);
    }
    if (!r->session->client_sampling) {
        if (r->modern) {
            return cf_missing_capability(r, CF_CAP_SAMPLING);
        }
        return answer_tool_text(r, "test_sampling: the client does not support sampling", 1);
    }
    cf_call_t *call = cf_call_start(r, tool);
    if (call == NULL) {
        return cf_rpc_no_memory(r);
    }
    yajl_gen g = cf_call_ask_begin(call, "sampling/createMessage");
    if (g == NULL) {
        cf_call_abort(call);
        return 0;
    }
    json_gen_str(g, "messages");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    cf_gen_kv(g, "role", "user");
    json_gen_str(g, "content");
    cf_gen_text_content(g, prompt);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    json_gen_str(g, "maxTokens");
    yajl_gen_integer(g, 100);
    cf_call_ask_send(call, g);
    return 0;
}

static void answered_elicitation(cf_call_t *call, yajl_val msg)
{
    if (answered_with_error(call, msg, "elicitation/create")) {
        return;
    }
    yajl_val result = json_member(msg, "result");
    const char *action = cf_member_string(result, "action");
    char *content = cf_json_text(json_member(result, "content"));
    char *text = content != NULL ? cf_format("%s: action=%s, content=%s", call->tool->summary,
                                             action != NULL ? action : "(none)", content)
                                 : NULL;
    cf_call_finish_text(call, text, 0);
    free(content);
    free(text);
}

static size_t tool_index(const cf_tool_t *tool);

static int tool_elicitation(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    const char *message = "Please provide your information";

    if (json_member(json_member(r->session->srv->tool_schemas[tool_index(tool)], "properties"),
                    "message") != NULL) {
        if ((message = cf_member_string(args, "message")) == NULL) {
            return answer_tool_text(r, "argument \"message\" (string) is required", 1);
        }
    }
    if (!r->session->client_elicitation) {
        if (r->modern) {
            return cf_missing_capability(r, CF_CAP_ELICITATION);
        }
        return answer_tool_text(r, "the client does not support elicitation", 1);
    }
    cf_call_t *call = cf_call_start(r, tool);
    if (call == NULL) {
        return cf_rpc_no_memory(r);
    }
    yajl_gen g = cf_call_ask_begin(call, "elicitation/create");
    if (g == NULL) {
        cf_call_abort(call);
        return 0;
    }
    cf_gen_kv(g, "message", message);
    json_gen_str(g, "requestedSchema");
    cf_gen_value(g, r->srv->tool_forms[tool_index(tool)]);
    cf_call_ask_send(call, g);
    return 0;
}

#define NO_ARGUMENTS "{\"type\":\"object\",\"properties\":{}}"

static const char user_form[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"username\":{\"type\":\"string\",\"description\":\"User's response\"},"
    "\"email\":{\"type\":\"string\",\"description\":\"User's email address\"}},"
    "\"required\":[\"username\",\"email\"]}";

static const char defaults_form[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"description\":\"Name\",\"default\":\"John Doe\"},"
    "\"age\":{\"type\":\"integer\",\"description\":\"Age\",\"default\":30},"
    "\"score\":{\"type\":\"number\",\"description\":\"Score\",\"default\":95.5},"
    "\"status\":{\"type\":\"string\",\"description\":\"Status\","
    "\"enum\":[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
    "\"verified\":{\"type\":\"boolean\",\"description\":\"Verified\",\"default\":true}}}";

static const char enums_form[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"untitledSingle\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]},"
    "\"titledSingle\":{\"type\":\"string\",\"oneOf\":["
    "{\"const\":\"value1\",\"title\":\"First Option\"},"
    "{\"const\":\"value2\",\"title\":\"Second Option\"},"
    "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
    "\"legacyEnum\":{\"type\":\"string\",\"enum\":[\"opt1\",\"opt2\",\"opt3\"],"
    "\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"
    "\"untitledMulti\":{\"type\":\"array\","
    "\"items\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
    "\"titledMulti\":{\"type\":\"array\",\"items\":{\"anyOf\":["
    "{\"const\":\"value1\",\"title\":\"First Choice\"},"
    "{\"const\":\"value2\",\"title\":\"Second Choice\"},"
    "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}}}";

/* The 0.2 suite's json-schema-2020-12 checks every keyword survives: composition, conditionals,
 * $anchor (the 0.1.16 one only $schema, $defs and additionalProperties). */
static const char schema_2020_12[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
    "\"$defs\":{\"address\":{\"$anchor\":\"addressDef\",\"type\":\"object\",\"properties\":{"
    "\"street\":{\"type\":\"string\"},\"city\":{\"type\":\"string\"}}}},"
    "\"properties\":{\"name\":{\"type\":\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"},"
    "\"contactMethod\":{\"type\":\"string\",\"enum\":[\"phone\",\"email\"]},"
    "\"phone\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"}},"
    "\"allOf\":[{\"anyOf\":[{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],"
    "\"if\":{\"properties\":{\"contactMethod\":{\"const\":\"phone\"}},\"required\":["
    "\"contactMethod\"]},"
    "\"then\":{\"required\":[\"phone\"]},\"else\":{\"required\":[\"email\"]},"
    "\"additionalProperties\":false}";

static const cf_tool_t tools[] = {
    {.name = "test_simple_text",
     .description = "Returns a simple text result",
     .input_schema = NO_ARGUMENTS,
     .call = tool_simple_text},
    {.name = "test_image_content",
     .description = "Returns a 1x1 red PNG image",
     .input_schema = NO_ARGUMENTS,
     .call = tool_image},
    {.name = "test_audio_content",
     .description = "Returns a short silent WAV clip",
     .input_schema = NO_ARGUMENTS,
     .call = tool_audio},
    {.name = "test_embedded_resource",
     .description = "Returns an embedded text resource",
     .input_schema = NO_ARGUMENTS,
     .call = tool_embedded_resource},
    {.name = "test_multiple_content_types",
     .description = "Returns text, image and embedded resource content",
     .input_schema = NO_ARGUMENTS,
     .call = tool_mixed_content},
    {.name = "test_tool_with_logging",
     .description = "Sends three info log messages 50 ms apart, then returns",
     .input_schema = NO_ARGUMENTS,
     .call = tool_in_steps,
     .step = step_logging},
    {.name = "test_tool_with_progress",
     .description = "Reports progress 0, 50 and 100 of 100, 50 ms apart, then returns",
     .input_schema = NO_ARGUMENTS,
     .call = tool_in_steps,
     .step = step_progress},
    {.name = "test_error_handling",
     .description = "Always returns a result with isError: true",
     .input_schema = NO_ARGUMENTS,
     .call = tool_error},
    {.name = "test_sampling",
     .description = "Asks the client to sample an LLM with the prompt",
     .input_schema =
         "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\","
         "\"description\":\"The prompt to send to the LLM\"}},\"required\":[\"prompt\"]}",
     .call = tool_sampling,
     .answered = answered_sampling},
    {.name = "test_elicitation",
     .description = "Asks the user for a username and an email address",
     .input_schema =
         "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\","
         "\"description\":\"The message to show the user\"}},\"required\":[\"message\"]}",
     .call = tool_elicitation,
     .answered = answered_elicitation,
     .form = user_form,
     .summary = "User response"},
    {.name = "test_elicitation_sep1034_defaults",
     .description = "Elicits a form whose fields all have defaults (SEP-1034)",
     .input_schema = NO_ARGUMENTS,
     .call = tool_elicitation,
     .answered = answered_elicitation,
     .form = defaults_form,
     .summary = "Elicitation completed"},
    {.name = "test_elicitation_sep1330_enums",
     .description = "Elicits a form with every kind of enum field (SEP-1330)",
     .input_schema = NO_ARGUMENTS,
     .call = tool_elicitation,
     .answered = answered_elicitation,
     .form = enums_form,
     .summary = "Elicitation completed"},
    {.name = "json_schema_2020_12_tool",
     .description = "Tool with JSON Schema 2020-12 features",
     .input_schema = schema_2020_12,
     .call = tool_echo_arguments},
    {.name = "test_reconnection",
     .description = "Closes its SSE stream before the result; resume with GET and Last-Event-ID",
     .input_schema = NO_ARGUMENTS,
     .call = cf_tool_reconnection,
     .step = cf_step_reconnection,
     .eras = CF_SHOW_LEGACY}, /* 2026-07-28 has neither GET streams nor resumption */

    /* 2026-07-28 only: what the 0.2 suite's server-stateless and MRTR scenarios call */
    {.name = "test_missing_capability",
     .description = "Needs sampling: without it declared, 400 -32021",
     .input_schema = NO_ARGUMENTS,
     .call = cf_tool_missing_capability,
     .eras = CF_SHOW_MODERN},
    {.name = "test_streaming_elicitation",
     .description = "Asks for a name by an input_required result, never by a request",
     .input_schema = NO_ARGUMENTS,
     .call = cf_tool_streaming_elicitation,
     .eras = CF_SHOW_MODERN},
    {.name = "test_logging_tool",
     .description = "Logs three info messages (only at a requested logLevel), then returns",
     .input_schema = NO_ARGUMENTS,
     .call = tool_in_steps,
     .step = step_logging,
     .eras = CF_SHOW_MODERN},
    {.name = "test_trigger_tool_change",
     .description = "Sends notifications/tools/list_changed to every listen that asked",
     .input_schema = NO_ARGUMENTS,
     .call = cf_tool_trigger_change,
     .eras = CF_SHOW_MODERN},
    {.name = "test_trigger_prompt_change",
     .description = "Sends notifications/prompts/list_changed to every listen that asked",
     .input_schema = NO_ARGUMENTS,
     .call = cf_tool_trigger_change,
     .eras = CF_SHOW_MODERN},
    {.name = "test_dynamic_tool",
     .description = "Listed after an odd number of test_trigger_tool_change calls",
     .input_schema = NO_ARGUMENTS,
     .call = tool_simple_text,
     .eras = CF_SHOW_MODERN,
     .dynamic = 1},
    {.name = "test_custom_header",
     .description = "Echoes its region, which the client also sends in Mcp-Param-Region",
     .input_schema = "{\"type\":\"object\",\"properties\":{\"region\":{\"type\":\"string\","
                     "\"x-mcp-header\":\"Region\"}},\"required\":[\"region\"]}",
     .call = cf_tool_custom_header,
     .eras = CF_SHOW_MODERN},
#define INPUT_REQUIRED_TOOL(suffix, text)                                                          \
    {                                                                                              \
        .name = "test_input_required_result_" suffix, .description = text,                         \
        .input_schema = NO_ARGUMENTS, .call = cf_tool_input_required, .eras = CF_SHOW_MODERN       \
    }
    INPUT_REQUIRED_TOOL("elicitation", "input_required: elicits user_name, then greets"),
    INPUT_REQUIRED_TOOL("sampling", "input_required: samples capital_question"),
    INPUT_REQUIRED_TOOL("list_roots", "input_required: lists client_roots"),
    INPUT_REQUIRED_TOOL("request_state", "input_required with a requestState checked on retry"),
    INPUT_REQUIRED_TOOL("multiple_inputs", "input_required: elicitation, sampling and roots"),
    INPUT_REQUIRED_TOOL("multi_round", "input_required twice, a new requestState each round"),
    INPUT_REQUIRED_TOOL("tampered_state", "input_required; a tampered requestState is refused"),
    INPUT_REQUIRED_TOOL("capabilities", "input_required only for the declared capabilities"),
#undef INPUT_REQUIRED_TOOL
};

#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

static size_t tool_index(const cf_tool_t *tool)
{
    return (size_t)(tool - tools);
}

/* Whether the era of the request shows the tool (and lets it be called). */
static int tool_shown(const cf_rpc_t *r, const cf_tool_t *tool)
{
    return (tool->eras == 0 || (tool->eras & (r->modern ? CF_SHOW_MODERN : CF_SHOW_LEGACY)) != 0) &&
           (!tool->dynamic || r->srv->dynamic_tool);
}

/* A 2026-07-28 retry of a tool that asked in the 2025 way (its request became an input_required
 * result, cf_call_ask_begin): the answer is in inputResponses under the key it was asked by. */
static int answer_by_input_response(cf_rpc_t *r, const cf_tool_t *tool)
{
    const char *key = tool->form != NULL ? "elicitation" : "sampling";
    yajl_val answer = json_member(json_member(r->params, "inputResponses"), key);

    if (!YAJL_IS_OBJECT(answer)) {
        return -1;
    }
    const char *keys[] = {"result"};
    yajl_val values[] = {answer};
    struct yajl_val_s msg = {.type = yajl_t_object};
    msg.u.object.keys = keys;
    msg.u.object.values = values;
    msg.u.object.len = 1;
    cf_call_t *call = cf_call_start(r, tool);
    if (call == NULL) {
        return cf_rpc_no_memory(r);
    }
    tool->answered(call, &msg); /* as if the client had answered our request */
    return 0;
}

int cf_answer_tools_list(cf_rpc_t *r)
{
    yajl_gen g = cf_result_array_begin(r, "tools");

    if (g == NULL) {
        return 0;
    }
    for (size_t i = 0; i != NTOOLS; ++i) {
        if (!tool_shown(r, &tools[i])) {
            continue;
        }
        yajl_gen_map_open(g);
        cf_gen_kv(g, "name", tools[i].name);
        cf_gen_kv(g, "description", tools[i].description);
        json_gen_str(g, "inputSchema");
        cf_gen_value(g, r->srv->tool_schemas[i]);
        yajl_gen_map_close(g);
    }
    return cf_result_array_answer(r, g);
}

int cf_answer_tools_call(cf_rpc_t *r)
{
    const char *name = cf_member_string(r->params, "name");
    yajl_val args = json_member(r->params, "arguments");

    if (name == NULL || (args != NULL && !YAJL_IS_OBJECT(args))) {
        return cf_rpc_error(r, -32602, "Invalid params");
    }
    for (size_t i = 0; i != NTOOLS; ++i) {
        if (strcmp(tools[i].name, name) == 0 && tool_shown(r, &tools[i])) {
            if (r->modern && tools[i].answered != NULL &&
                answer_by_input_response(r, &tools[i]) == 0) {
                return 0;
            }
            return tools[i].call(r, &tools[i], args);
        }
    }
    char *message = cf_format("Unknown tool: %s", name);
    int rc = message != NULL ? cf_rpc_error(r, -32602, message) : cf_rpc_no_memory(r);
    free(message);
    return rc;
}

/* Parses the constant JSON texts once; a failure is a bug in this file. */
int cf_tools_parse_constants(cf_server_t *srv)
{
    char err[128];

    srv->tool_schemas = calloc(NTOOLS, sizeof(yajl_val));
    srv->tool_forms = calloc(NTOOLS, sizeof(yajl_val));
    if (srv->tool_schemas == NULL || srv->tool_forms == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return -1;
    }
    for (size_t i = 0; i != NTOOLS; ++i) {
        if ((srv->tool_schemas[i] = yajl_tree_parse(tools[i].input_schema, err, sizeof(err))) ==
                NULL ||
            (tools[i].form != NULL &&
             (srv->tool_forms[i] = yajl_tree_parse(tools[i].form, err, sizeof(err))) == NULL)) {
            fprintf(stderr, PROGRAM ": tool %s: bad JSON: %s\n", tools[i].name, err);
            return -1;
        }
    }
    return 0;
}

void cf_tools_free_constants(cf_server_t *srv)
{
    for (size_t i = 0; i != NTOOLS; ++i) {
        yajl_tree_free(srv->tool_schemas[i]);
        yajl_tree_free(srv->tool_forms[i]);
    }
    free(srv->tool_schemas);
    free(srv->tool_forms);
}
