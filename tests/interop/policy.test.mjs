// The policy (docs/policy.md) on what the C test backend does not have: prompts, resources,
// resource templates, completion and subscriptions of two server-everything backends. A denied
// prompt, resource or template is absent from its list and answered exactly as one that does
// not exist, and counted in mcpgw_policy_denied_total{kind}.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, startEverythingPair, startGateway, useSetup } from '../lib/index.mjs';

const T = { timeout: 60000 };
const DYNAMIC = 'demo://resource/dynamic/text';

const env = useSetup(async () => {
    const pair = await startEverythingPair();
    const gw = await startGateway({
        servers: pair.servers,
        extra: {
            policy: {
                default: 'deny',
                rules: [{
                    match: { anonymous: true },
                    allow: ['ev1/*'], // ev2: nothing
                    deny: ['ev1/args-prompt', 'ev1/completable-prompt', `ev1/${DYNAMIC}/*`],
                }],
            },
        },
    });
    return { ...pair, gw };
});

async function all(s, method, key) {
    const items = [];
    let cursor;
    for (let i = 0; i < 100; i++) {
        const r = await s.call(method, cursor !== undefined ? { cursor } : {});
        items.push(...r[key]);
        cursor = r.nextCursor;
        if (cursor === undefined) {
            return items;
        }
    }
    throw new Error(`${method} never ended`);
}

async function errorOf(s, method, params) {
    const r = await s.request(method, params);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.response && r.response.error, r.text);
    return r.response.error;
}

test('denied prompts are absent and answered as unknown ones; completion refuses them the same way', T, async () => {
    const s = await initializeSession(env.gw.url);
    const names = (await all(s, 'prompts/list', 'prompts')).map((p) => p.name);
    assert.ok(names.includes('ev1_simple-prompt'), names.join());
    assert.ok(!names.includes('ev1_args-prompt') && !names.some((n) => n.startsWith('ev2_')), names.join());
    const unknown = await errorOf(s, 'prompts/get', { name: 'ev1_no-such-prompt' });
    assert.deepEqual(await errorOf(s, 'prompts/get', { name: 'ev1_args-prompt', arguments: { city: 'Paris' } }),
        { ...unknown, message: 'Unknown prompt: ev1_args-prompt' });
    assert.deepEqual(await errorOf(s, 'prompts/get', { name: 'ev2_simple-prompt' }),
        { ...unknown, message: 'Unknown prompt: ev2_simple-prompt' });
    assert.equal((await s.call('prompts/get', { name: 'ev1_simple-prompt' })).messages.length > 0, true);
    const complete = await errorOf(s, 'completion/complete', {
        ref: { type: 'ref/prompt', name: 'ev1_completable-prompt' },
        argument: { name: 'department', value: 'E' },
    });
    assert.deepEqual(complete, { ...unknown, message: 'Unknown prompt: ev1_completable-prompt' });
});

test('denied resources and templates are absent; reading or subscribing answers as for none', T, async () => {
    const s = await initializeSession(env.gw.url);
    const templates = (await all(s, 'resources/templates/list', 'resourceTemplates')).map((t) => t.uriTemplate);
    assert.ok(!templates.includes(`${DYNAMIC}/{resourceId}`), templates.join());
    const uris = (await all(s, 'resources/list', 'resources')).map((r) => r.uri);
    assert.ok(uris.length > 0 && !uris.some((u) => u.startsWith(DYNAMIC)), uris.join());
    assert.equal((await s.call('resources/read', { uri: uris[0] })).contents[0].uri, uris[0]);
    const none = await errorOf(s, 'resources/read', { uri: 'nowhere://nothing/here' });
    assert.deepEqual(none, { code: -32002, message: 'Resource not found' });
    assert.deepEqual(await errorOf(s, 'resources/read', { uri: `${DYNAMIC}/7` }), none);
    assert.deepEqual(await errorOf(s, 'resources/subscribe', { uri: `${DYNAMIC}/7` }), none);
    const m = await (await fetch(`${env.gw.adminOrigin}/metrics`)).text();
    for (const kind of ['prompt', 'resource']) {
        const n = [...m.matchAll(new RegExp(`^mcpgw_policy_denied_total\\{[^}]*kind="${kind}"\\} (\\d+)$`, 'gm'))]
            .reduce((a, x) => a + Number(x[1]), 0);
        assert.ok(n >= 1, `mcpgw_policy_denied_total{kind="${kind}"}`);
    }
});
