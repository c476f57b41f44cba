/* mcpgw-conformance: the prompts, prompts/list and prompts/get. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

struct cf_prompt {
    const char *name;
    const char *description;
    const char *const *arguments; /* all required; NULL-terminated, or NULL for none */
    void (*messages)(yajl_gen g, yajl_val args);
    unsigned eras; /* CF_SHOW_*: the eras whose prompts/list shows it; 0 for both */
    int dynamic;   /* listed only while srv->dynamic_prompt (test_trigger_prompt_change) */
};

/* Whether the era of the request (and the trigger tool) shows the prompt. */
static int prompt_shown(const cf_rpc_t *r, const cf_prompt_t *prompt)
{
    return (prompt->eras == 0 || (prompt->eras & (r->modern ? CF_SHOW_MODERN : CF_SHOW_LEGACY))) &&
           (!prompt->dynamic || r->srv->dynamic_prompt);
}

static void gen_user_message_begin(yajl_gen g)
{
    yajl_gen_map_open(g);
    cf_gen_kv(g, "role", "user");
    json_gen_str(g, "content");
}

static void messages_simple(yajl_gen g, yajl_val args)
{
    gen_user_message_begin(g);
    cf_gen_text_content(g, "This is a simple prompt for testing.");
    yajl_gen_map_close(g);
}

static void messages_with_arguments(yajl_gen g, yajl_val args)
{
    char *text = cf_format("Prompt with arguments: arg1='%s', arg2='%s'",
                           cf_member_string(args, "arg1"), cf_member_string(args, "arg2"));

    gen_user_message_begin(g);
    cf_gen_text_content(g, text != NULL ? text : "out of memory");
    yajl_gen_map_close(g);
    free(text);
}

static void messages_embedded_resource(yajl_gen g, yajl_val args)
{
    gen_user_message_begin(g);
    cf_gen_resource_content(g, cf_member_string(args, "resourceUri"), "text/plain",
                            "Embedded resource content for testing.");
    yajl_gen_map_close(g);
    gen_user_message_begin(g);
    cf_gen_text_content(g, "Please process the embedded resource above.");
    yajl_gen_map_close(g);
}

static void messages_image(yajl_gen g, yajl_val args)
{
    gen_user_message_begin(g);
    cf_gen_image_content(g);
    yajl_gen_map_close(g);
    gen_user_message_begin(g);
    cf_gen_text_content(g, "Please analyze the image above.");
    yajl_gen_map_close(g);
}

static const char *const two_arguments[] = {"arg1", "arg2", NULL};
static const char *const resource_argument[] = {"resourceUri", NULL};

static const cf_prompt_t prompts[] = {
    {.name = "test_simple_prompt",
     .description = "A simple prompt without arguments",
     .messages = messages_simple},
    {.name = "test_prompt_with_arguments",
     .description = "A prompt with two required arguments",
     .arguments = two_arguments,
     .messages = messages_with_arguments},
    {.name = "test_prompt_with_embedded_resource",
     .description = "A prompt that embeds the resource it names",
     .arguments = resource_argument,
     .messages = messages_embedded_resource},
    {.name = "test_prompt_with_image",
     .description = "A prompt with an image",
     .messages = messages_image},
    {.name = "test_dynamic_prompt",
     .description = "Listed after an odd number of test_trigger_prompt_change calls",
     .messages = messages_simple,
     .eras = CF_SHOW_MODERN,
     .dynamic = 1},
    {.name = "test_input_required_result_prompt",
     .description = "Asks the user for the context by an input_required result (2026-07-28)",
     .eras = CF_SHOW_MODERN}, /* answered by cf_prompt_input_required */
};

#define NPROMPTS (sizeof(prompts) / sizeof(prompts[0]))

const cf_prompt_t *cf_prompt_find(const char *name)
{
    for (size_t i = 0; name != NULL && i != NPROMPTS; ++i) {
        if (strcmp(prompts[i].name, name) == 0) {
            return &prompts[i];
        }
    }
    return NULL;
}

int cf_answer_prompts_list(cf_rpc_t *r)
{
    yajl_gen g = cf_result_array_begin(r, "prompts");

    if (g == NULL) {
        return 0;
    }
    for (size_t i = 0; i != NPROMPTS; ++i) {
        if (!prompt_shown(r, &prompts[i])) {
            continue;
        }
        yajl_gen_map_open(g);
        cf_gen_kv(g, "name", prompts[i].name);
        cf_gen_kv(g, "description", prompts[i].description);
        json_gen_str(g, "arguments");
        yajl_gen_array_open(g);
        for (const char *const *a = prompts[i].arguments; a != NULL && *a != NULL; ++a) {
            yajl_gen_map_open(g);
            cf_gen_kv(g, "name", *a);
            cf_gen_kv(g, "description", *a);
            json_gen_str(g, "required");
            yajl_gen_bool(g, 1);
            yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
    }
    return cf_result_array_answer(r, g);
}

int cf_answer_prompts_get(cf_rpc_t *r)
{
    const char *name = cf_member_string(r->params, "name");
    const cf_prompt_t *prompt = cf_prompt_find(name);
    yajl_val args = json_member(r->params, "arguments");

    if (name == NULL || (args != NULL && !YAJL_IS_OBJECT(args))) {
        return cf_rpc_error(r, -32602, "Invalid params");
    }
    if (prompt == NULL || !prompt_shown(r, prompt)) {
        return cf_rpc_error(r, -32602, "Unknown prompt");
    }
    if (prompt->messages == NULL) {
        return cf_prompt_input_required(r);
    }
    for (const char *const *a = prompt->arguments; a != NULL && *a != NULL; ++a) {
        if (cf_member_string(args, *a) == NULL) {
            return cf_rpc_error(r, -32602, "Missing required argument");
        }
    }
    yajl_gen g = cf_response_begin(&r->id);
    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    cf_gen_kv(g, "description", prompt->description);
    json_gen_str(g, "messages");
    yajl_gen_array_open(g);
    prompt->messages(g, args);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return cf_rpc_answer(r, g);
}
