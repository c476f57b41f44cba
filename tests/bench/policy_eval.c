/* policy_eval.c: what the policy (common/policy.h) costs with 100 rules, in microseconds: the
 * per-call decision (the view from the token's rules and the client address, then the target
 * against the matched rule's patterns) and the per-token match (once per verified token, then
 * cached by routers); a benchmark, not a test.
 *
 *   tests/bench/policy_run [--rounds N] [--ms N]   (builds this with -O2 and runs it)
 *
 * The policy: 100 rules, each with a claim, a scope and an address list, three allow patterns
 * and one deny; the caller matches only the last rule (the worst case for first match wins). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/policy.h"
#include "tests/bench/rounds.h"

#define RULES 100

static volatile unsigned sink;

/* Microseconds per evaluation over one round of ms milliseconds; per_token adds the token's
 * match to each evaluation. */
static double round_us(const gw_policy_t *p, const gw_policy_caller_t *who,
                       const gw_policy_address_t *addr, int per_token, int ms)
{
    static const char *const targets[] = {"alpha/run_tests", "beta/read_logs", "beta/read_secrets",
                                          "gamma/deploy"};
    gw_policy_rules_t rules;
    gw_policy_token_rules(p, who, &rules);
    long n = 0;
    double start = now_us(), end = start + ms * 1000.0, t = start;
    while (t < end) {
        for (int i = 0; i < 64; i++, n++) {
            if (per_token) {
                gw_policy_token_rules(p, who, &rules);
            }
            unsigned v = gw_policy_view(p, &rules, addr);
            const char *tg = targets[n & 3];
            size_t sl = strchr(tg, '/') - tg;
            char server[16];
            memcpy(server, tg, sl);
            server[sl] = '\0';
            sink +=
                v + (unsigned)gw_policy_allows_name(p, v, server, tg + sl + 1, strlen(tg + sl + 1));
        }
        t = now_us();
    }
    return (t - start) / (double)n;
}

int main(int argc, char **argv)
{
    int rounds = 5, ms = 300;
    if (rounds_options(argc, argv, "policy_eval", &rounds, &ms) != 0) {
        return 2;
    }
    gw_buf_t y;
    gw_buf_init(&y);
    gw_buf_appends(&y, "policy:\n  default: deny\n  rules:\n");
    for (int i = 0; i < RULES; i++) {
        gw_buf_appendf(&y,
                       "    - match: {scopes: [scope%d], claims: {groups: team%d}, "
                       "addresses: [10.%d.0.0/16, \"fd00:%x::/32\"]}\n"
                       "      allow: [\"alpha/run_*\", \"beta/read_*\", \"team%d/*\"]\n"
                       "      deny: [\"beta/read_secrets\"]\n",
                       i, i, i, i + 1, i);
    }
    char err[512];
    gw_config_t *cfg = NULL;
    gw_policy_t *p = NULL;
    if (gw_buf_status(&y) != GW_OK ||
        gw_config_parse("bench.yaml", y.data, y.len, &cfg, err, sizeof(err)) != GW_OK ||
        gw_policy_create(cfg, &p) != GW_OK) {
        fprintf(stderr, "policy_eval: %s\n", err);
        return 1;
    }
    char json[128];
    snprintf(json, sizeof(json), "{\"sub\":\"alice\",\"groups\":[\"dev\",\"team%d\"]}", RULES - 1);
    yajl_val claims = yajl_tree_parse(json, err, sizeof(err));
    char scope[64];
    snprintf(scope, sizeof(scope), "openid scope%d", RULES - 1);
    gw_policy_caller_t who = {.subject = "alice", .scope = scope, .claims = claims};
    gw_policy_address_t addr;
    char a[32];
    snprintf(a, sizeof(a), "10.%d.3.4", RULES - 1);
    gw_policy_address_parse(a, &addr);
    gw_policy_rules_t rules;
    gw_policy_token_rules(p, &who, &rules);
    printf("rules=%d matched view=%u (rule %d)\n", RULES, gw_policy_view(p, &rules, &addr),
           RULES - 1);
    static const char *const what[] = {"per call (view + target)", "per token + call"};
    for (int k = 0; k < 2; k++) {
        double us[ROUNDS_MAX];
        for (int r = 0; r < rounds; r++) {
            us[r] = round_us(p, &who, &addr, k, ms);
        }
        qsort(us, (size_t)rounds, sizeof(us[0]), cmp_double);
        printf("%-26s median %.3f us  fastest %.3f us  (%d rounds of %d ms)\n", what[k],
               us[rounds / 2], us[0], rounds, ms);
    }
    yajl_tree_free(claims);
    gw_policy_destroy(p);
    gw_config_destroy(cfg);
    gw_buf_fini(&y);
    return 0;
}
