// Interop across the two MCP eras (issue 14 point 11, design-2026-07-28 §8): the v2 client
// (@modelcontextprotocol/client 2.4.0) in `auto` and pinned to 2026-07-28, and the 1.32.2 client,
// each through one gateway to three backends of both eras: a 2026-07-28-only server
// (@modelcontextprotocol/server 2.4.0, legacy: 'reject', prefix v2_), server-everything (2025 era,
// ev_) and the C test backend (2025 era, alpha_). Every assertion is first made client → backend
// with no gateway ("direct:" tests), so a failure through the gateway is the gateway's.
import assert from 'node:assert/strict';
import { test as nodeTest } from 'node:test';
import { messagesOf, startBackend, startEverything, startGateway, startV2Server, useSetup, waitFor } from '../lib/index.mjs';

// The v2 SDK packages require node >= 20 (their engines). On an older node every case is skipped
// with that reason rather than failing on an import: visible in the summary as skipped.
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const NEEDS_NODE = NODE_MAJOR < 20 ? `needs node >= 20 (the @modelcontextprotocol/client and server 2.x packages), this is ${process.version}` : undefined;
const { connectClient, listAll, ELICITED_NAME, SAMPLED_TEXT } = NEEDS_NODE ? {} : await import('../lib/era-clients.mjs');
/** node:test's test(), every case skipped when this node cannot run the v2 SDK. */
function test(name, opts, fn) {
    return nodeTest(name, NEEDS_NODE ? { ...opts, skip: NEEDS_NODE } : opts, fn);
}

const MODERN = '2026-07-28';
const EV_URI = 'demo://resource/static/document/architecture.md';
const V2_URI = 'v2://notes/today';
const PREFIXES = { v2: 'v2_', ev: 'ev_', alpha: 'alpha_' };

const stack = NEEDS_NODE ? {} : useSetup(async () => {
    // v2lone: a second v2 server, fronted by no gateway, for the direct case that grows its tool
    // list. Grown on the gateway's v2 backend, the gateway's list would really change when the
    // worker refetches, up to a second later (at most one refetch a second): in the middle of a
    // later case's pages, whose cursors then rightly go stale (-32602).
    const [v2, v2lone, ev, alpha] = await Promise.all([startV2Server({ name: 'v2' }), startV2Server({ name: 'v2' }),
        startEverything({ label: 'everything-era' }), startBackend({ name: 'alpha' })]);
    const gw = await startGateway({
        servers: [
            { name: 'v2', url: v2.url, prefix: PREFIXES.v2 },
            { name: 'ev', url: ev.url, prefix: PREFIXES.ev },
            { name: 'alpha', url: alpha.url, prefix: PREFIXES.alpha },
        ],
        // small pages, so that "every page" means several
        extra: { limits: { page_size: 7 } },
    });
    return { v2, v2lone, ev, alpha, gw };
}, {
    async ready(st) {
        // What each backend itself lists, to the same capabilities the test clients declare.
        st.direct = {};
        const v2c = await connectClient('v2 pinned', st.v2.url);
        st.direct.v2 = await listsOf(v2c, true);
        await v2c.close();
        const evc = await connectClient('1.32.2', st.ev.url);
        st.direct.ev = await listsOf(evc, true);
        st.direct.evRead = await evc.client.readResource({ uri: EV_URI });
        st.direct.evPrompt = await evc.client.getPrompt({ name: 'simple-prompt' });
        await evc.close();
        const ac = await connectClient('1.32.2', st.alpha.url);
        st.direct.alpha = await listsOf(ac, false);
        await ac.close();
        // The old-era backends come up at the gateway today; the v2 one only with part C. Waited
        // for once here (bounded), so that the cases needing it fail at once, with a reason.
        const probe = await connectClient('1.32.2', st.gw.url);
        try {
            await waitFor(async () => {
                const names = (await listAll(probe, 'tools/list')).items.map((t) => t.name);
                return names.includes('ev_echo') && names.includes('alpha_echo');
            }, { timeoutMs: 15000, what: 'the old-era backends listed at the gateway' });
            st.v2Up = await waitFor(async () => (await listAll(probe, 'tools/list')).items.some((t) => t.name === 'v2_echo'),
                { timeoutMs: 6000, what: 'v2_echo listed' }).catch(() => false);
        } finally {
            await probe.close();
        }
    },
});

/** tools, prompts, resources and templates of a connected client (all pages). */
async function listsOf(c, hasPromptsAndResources) {
    const out = { tools: (await listAll(c, 'tools/list')).items };
    if (hasPromptsAndResources) {
        out.prompts = (await listAll(c, 'prompts/list')).items;
        out.resources = (await listAll(c, 'resources/list')).items;
        out.templates = (await listAll(c, 'resources/templates/list')).items;
    } else {
        out.prompts = out.resources = out.templates = [];
    }
    return out;
}

/** What the gateway must list: each backend's tools and prompts under its prefix, URIs as they are. */
function expectedLists(backends) {
    const d = stack.direct;
    const names = (kind) => backends.flatMap((b) => d[b][kind].map((x) => PREFIXES[b] + x.name)).sort();
    return {
        tools: names('tools'),
        prompts: names('prompts'),
        resources: backends.flatMap((b) => d[b].resources.map((r) => r.uri)).sort(),
        templates: backends.flatMap((b) => d[b].templates.map((t) => t.uriTemplate)).sort(),
    };
}

function needV2() {
    assert.ok(stack.v2Up, 'the gateway never listed v2_echo: its v2 (2026-07-28) backend is down there');
}

function textOf(result) {
    return result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

/** Every JSON-RPC result the client received on its POSTs. */
async function resultsOf(exchanges) {
    const out = [];
    for (const x of exchanges) {
        for (const m of messagesOf(x.contentType, await x.text)) {
            if (m && m.result && typeof m.result === 'object') {
                out.push({ method: x.method, result: m.result });
            }
        }
    }
    return out;
}

/**
 * The v2 client's x-mcp-header behaviour on the wire, which the server side must force: with no
 * tools/list cached it calls without Mcp-Param-Region, a strict server answers 400 -32020 (design
 * §1 row 17), the client lists the tools and calls again with the header. So: the call that got
 * 200 carried Mcp-Param-Region and the Mcp-Name the client used, and any call without the header
 * got 400 -32020.
 */
function assertRegionHeaders(exchanges, name) {
    const calls = exchanges.filter((x) => x.method === 'tools/call' && x.body.params.name === name);
    const ok = calls.filter((x) => x.status === 200);
    assert.equal(ok.length, 1, `one tools/call of ${name} answered 200: ${calls.map((x) => x.status).join(', ')}`);
    assert.equal(ok[0].headers['mcp-param-region'], 'us west', 'the call that went through carried Mcp-Param-Region');
    assert.equal(ok[0].headers['mcp-name'], name);
    for (const x of calls.filter((y) => y.headers['mcp-param-region'] === undefined)) {
        assert.equal(x.status, 400, 'a call without Mcp-Param-Region is refused (row 17)');
    }
}

async function withClient(kind, url, fn) {
    const c = await connectClient(kind, url);
    try {
        return await fn(c);
    } finally {
        await c.close();
    }
}

// ---------------------------------------------------------------------------------------------
// direct: each client against each backend, no gateway (the assertions below are right)
// ---------------------------------------------------------------------------------------------

for (const kind of ['v2 auto', 'v2 pinned']) {
    test(`direct: ${kind} client ↔ v2 server: 2026-07-28, x-mcp-header, elicitation, sampling, listen`, { timeout: 30000 }, async () => {
        await withClient(kind, stack.v2lone.url, async (c) => {
            assert.equal(c.client.getProtocolEra(), 'modern');
            assert.equal(c.client.getNegotiatedProtocolVersion(), MODERN);
            assert.deepEqual(c.exchanges.map((x) => x.method).slice(0, 1), ['server/discover']);
            assert.ok(!c.exchanges.some((x) => x.method === 'initialize'), 'no initialize in the new era');

            const region = await c.client.callTool({ name: 'region', arguments: { region: 'us west' } });
            assert.deepEqual(region.structuredContent, { argument: 'us west', header: 'us west' });
            const seen = (await stack.v2lone.stats()).lastHeaders['tools/call'];
            assert.equal(seen['mcp-name'], 'region');
            assert.equal(seen['mcp-param-region'], 'us west');
            assert.equal(seen['mcp-protocol-version'], MODERN);
            assertRegionHeaders(c.exchanges, 'region');

            const ask = await c.client.callTool({ name: 'ask', arguments: {} });
            assert.equal(textOf(ask), `Hello, ${ELICITED_NAME}`);
            assert.equal(c.elicitations.length, 1);
            assert.equal(c.elicitations[0].message, 'What is your name?');

            const sample = await c.client.callTool({ name: 'sample', arguments: { question: 'The capital of France?' } });
            assert.equal(textOf(sample), `model said: ${SAMPLED_TEXT}`);
            assert.equal(c.samplings[0].messages[0].content.text, 'The capital of France?');

            const got = [];
            c.client.setNotificationHandler('notifications/resources/updated', (n) => got.push(n));
            c.client.setNotificationHandler('notifications/tools/list_changed', (n) => got.push(n));
            const sub = await c.client.listen({ toolsListChanged: true, resourceSubscriptions: [V2_URI] });
            assert.deepEqual(sub.honoredFilter, { toolsListChanged: true, resourceSubscriptions: [V2_URI] });
            await c.client.callTool({ name: 'touch', arguments: {} });
            await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'notifications/resources/updated' });
            assert.equal(got[0].method, 'notifications/resources/updated');
            assert.equal(got[0].params.uri, V2_URI);
            await c.client.callTool({ name: 'grow', arguments: {} });
            await waitFor(() => got.length === 2, { timeoutMs: 5000, what: 'notifications/tools/list_changed' });
            assert.equal(got[1].method, 'notifications/tools/list_changed');
            assert.ok(got.every((n) => n.params._meta['io.modelcontextprotocol/subscriptionId'] !== undefined), 'tagged with the subscription id');
            await sub.close();

            // the wire as the recorder saw it (what the gateway cases check): resultType on every
            // result, the two input_required rounds among them
            await c.client.readResource({ uri: V2_URI });
            const results = await resultsOf(c.exchanges);
            assert.ok(results.every((r) => ['complete', 'input_required'].includes(r.result.resultType)), JSON.stringify(results.map((r) => r.method)));
            assert.equal(results.filter((r) => r.result.resultType === 'input_required').length, 2);
            const read = results.find((r) => r.method === 'resources/read').result;
            assert.equal(read.ttlMs, 0);
            assert.equal(read.cacheScope, 'private');
        });
    });
}

test('direct: the v2 server refuses the 1.32.2 client (legacy: reject), so the gateway must bridge', { timeout: 20000 }, async () => {
    await assert.rejects(connectClient('1.32.2', stack.v2.url), /-32022|Unsupported protocol version|400/i);
});

test('direct: server-everything and the C backend are old era: pinned v2 refused, auto falls back to 2025-11-25', { timeout: 30000 }, async () => {
    for (const url of [stack.ev.url, stack.alpha.url]) {
        await assert.rejects(connectClient('v2 pinned', url), (err) => err.code === 'ERA_NEGOTIATION_FAILED');
        await withClient('v2 auto', url, async (c) => {
            assert.equal(c.client.getProtocolEra(), 'legacy');
            assert.equal(c.client.getNegotiatedProtocolVersion(), '2025-11-25');
        });
    }
});

test('direct: 1.32.2 client ↔ server-everything: elicitation and sampling round trips', { timeout: 30000 }, async () => {
    await withClient('1.32.2', stack.ev.url, async (c) => {
        const e = await c.client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
        assert.match(textOf(e), new RegExp(`Name: ${ELICITED_NAME}`));
        const s = await c.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'The capital of France?' } });
        assert.match(textOf(s), new RegExp(`"text": "${SAMPLED_TEXT}"`));
        assert.equal(c.elicitations.length, 1);
        assert.equal(c.samplings.length, 1);
        // the recorder sees the 2025 results (what the gateway case "no resultType" reads)
        const results = await resultsOf(c.exchanges);
        assert.equal(results.filter((r) => r.method === 'tools/call').length, 2);
        assert.ok(results.every((r) => !('resultType' in r.result)));
    });
});

// ---------------------------------------------------------------------------------------------
// through the gateway: each client kind, lists, calls, reads, prompts
// ---------------------------------------------------------------------------------------------

for (const kind of ['v2 auto', 'v2 pinned', '1.32.2']) {
    const modern = kind !== '1.32.2';

    test(`gateway: ${kind} client connects in the ${modern ? '2026-07-28' : '2025'} era`, { timeout: 20000 }, async () => {
        await withClient(kind, stack.gw.url, async (c) => {
            if (modern) {
                assert.equal(c.client.getProtocolEra(), 'modern');
                assert.equal(c.client.getNegotiatedProtocolVersion(), MODERN);
                assert.ok(!c.exchanges.some((x) => x.method === 'initialize'), 'no initialize');
                assert.ok(!c.exchanges.some((x) => x.headers['mcp-session-id']), 'no session header on any POST');
            } else {
                assert.equal(c.exchanges[0].method, 'initialize');
                assert.ok(c.transport.sessionId, 'a gateway session');
                assert.ok(!c.exchanges.some((x) => x.method === 'server/discover'), 'a 1.x client never probes');
            }
        });
    });

    test(`gateway: ${kind} client lists the old-era backends' items on every page`, { timeout: 30000 }, async () => {
        await withClient(kind, stack.gw.url, async (c) => {
            const want = expectedLists(['ev', 'alpha']);
            for (const [method, key, id] of [['tools/list', 'tools', (x) => x.name], ['prompts/list', 'prompts', (x) => x.name],
                ['resources/list', 'resources', (x) => x.uri], ['resources/templates/list', 'templates', (x) => x.uriTemplate]]) {
                const { items, pages } = await listAll(c, method);
                const got = items.map(id);
                assert.equal(new Set(got).size, got.length, `${method}: no item twice across pages`);
                if (want[key].length > 7) {
                    assert.ok(pages > 1, `${method}: ${got.length} items in ${pages} page(s) of at most 7`);
                }
                for (const w of want[key]) {
                    assert.ok(got.includes(w), `${method}: ${w} missing (got ${got.join(', ')})`);
                }
            }
        });
    });

    test(`gateway: ${kind} client lists exactly the three backends' items, v2 server's included`, { timeout: 30000 }, async () => {
        needV2();
        await withClient(kind, stack.gw.url, async (c) => {
            const want = expectedLists(['v2', 'ev', 'alpha']);
            const got = {
                tools: (await listAll(c, 'tools/list')).items.map((t) => t.name).sort(),
                prompts: (await listAll(c, 'prompts/list')).items.map((p) => p.name).sort(),
                resources: (await listAll(c, 'resources/list')).items.map((r) => r.uri).sort(),
                templates: (await listAll(c, 'resources/templates/list')).items.map((t) => t.uriTemplate).sort(),
            };
            assert.deepEqual(got, want);
            // the x-mcp-header annotation reaches the client, which needs it to send Mcp-Param-Region
            const region = (await listAll(c, 'tools/list')).items.find((t) => t.name === 'v2_region');
            assert.equal(region.inputSchema.properties.region['x-mcp-header'], 'Region');
        });
    });

    test(`gateway: ${kind} client calls a tool of each old-era backend, reads a resource, gets a prompt`, { timeout: 30000 }, async () => {
        await withClient(kind, stack.gw.url, async (c) => {
            const echo = await c.client.callTool({ name: 'ev_echo', arguments: { message: `from ${kind}` } });
            assert.equal(textOf(echo), `Echo: from ${kind}`);
            const alpha = JSON.parse(textOf(await c.client.callTool({ name: 'alpha_echo', arguments: { text: `from ${kind}` } })));
            assert.equal(alpha.backend, 'alpha');
            assert.equal(alpha.text, `from ${kind}`);
            const read = await c.client.readResource({ uri: EV_URI });
            assert.deepEqual(read.contents, stack.direct.evRead.contents);
            const prompt = await c.client.getPrompt({ name: 'ev_simple-prompt' });
            assert.deepEqual(prompt.messages, stack.direct.evPrompt.messages);
        });
    });

    test(`gateway: ${kind} client calls the v2 server's tool, reads its resource and template, gets its prompt`, { timeout: 30000 }, async () => {
        needV2();
        await withClient(kind, stack.gw.url, async (c) => {
            const echo = await c.client.callTool({ name: 'v2_echo', arguments: { message: `from ${kind}` } });
            assert.equal(textOf(echo), `Echo: from ${kind}`);
            const read = await c.client.readResource({ uri: V2_URI });
            assert.deepEqual(read.contents, [{ uri: V2_URI, mimeType: 'text/plain', text: 'the note of v2' }]);
            const day = await c.client.readResource({ uri: 'v2://notes/monday' });
            assert.equal(day.contents[0].text, 'the note of monday');
            const prompt = await c.client.getPrompt({ name: 'v2_greet', arguments: { name: 'Bo' } });
            assert.equal(prompt.messages[0].content.text, 'Say hello to Bo from v2');
        });
    });

    test(`gateway: ${kind} client's x-mcp-header call: the worker sends Mcp-Param-Region to the v2 server`, { timeout: 30000 }, async () => {
        needV2();
        await withClient(kind, stack.gw.url, async (c) => {
            const r = await c.client.callTool({ name: 'v2_region', arguments: { region: 'us west' } });
            assert.deepEqual(r.structuredContent, { argument: 'us west', header: 'us west' });
            const seen = (await stack.v2.stats()).lastHeaders['tools/call'];
            assert.equal(seen['mcp-name'], 'region', 'Mcp-Name is the backend\'s own, unprefixed name');
            assert.equal(seen['mcp-protocol-version'], MODERN);
        });
    });

    if (modern) {
        test(`gateway: ${kind} client's x-mcp-header call without Mcp-Param-Region is refused (row 17), the one with it goes through`, { timeout: 30000 }, async () => {
            needV2();
            await withClient(kind, stack.gw.url, async (c) => {
                const r = await c.client.callTool({ name: 'v2_region', arguments: { region: 'us west' } });
                assert.deepEqual(r.structuredContent, { argument: 'us west', header: 'us west' });
                assertRegionHeaders(c.exchanges, 'v2_region');
            });
        });
    }
}

test('gateway: the 1.32.2 client gets no resultType, ttlMs or cacheScope, from the v2 server either', { timeout: 30000 }, async () => {
    needV2();
    await withClient('1.32.2', stack.gw.url, async (c) => {
        await listAll(c, 'tools/list');
        await listAll(c, 'resources/list');
        await c.client.callTool({ name: 'v2_echo', arguments: { message: 'old' } });
        await c.client.readResource({ uri: V2_URI });
        await c.client.getPrompt({ name: 'v2_greet', arguments: { name: 'Bo' } });
        await c.client.callTool({ name: 'ev_echo', arguments: { message: 'old' } });
        const results = await resultsOf(c.exchanges);
        assert.ok(results.some((r) => r.method === 'resources/read'), 'the read came back');
        for (const { method, result } of results) {
            for (const key of ['resultType', 'ttlMs', 'cacheScope']) {
                assert.ok(!(key in result), `${method} result carries ${key}: ${JSON.stringify(result).slice(0, 200)}`);
            }
        }
    });
});

test('gateway: the pinned v2 client gets resultType on every result, ttlMs and cacheScope on lists and reads', { timeout: 30000 }, async () => {
    await withClient('v2 pinned', stack.gw.url, async (c) => {
        await listAll(c, 'tools/list');
        await listAll(c, 'prompts/list');
        await c.client.callTool({ name: 'alpha_echo', arguments: { text: 'new' } });
        await c.client.readResource({ uri: EV_URI });
        const results = await resultsOf(c.exchanges);
        assert.ok(results.length >= 4);
        for (const { method, result } of results) {
            assert.equal(result.resultType, 'complete', `${method}: resultType`);
            if (/\/list$|^resources\/read$|^server\/discover$/.test(method)) {
                assert.ok(Number.isInteger(result.ttlMs) && result.ttlMs >= 0, `${method}: ttlMs ${result.ttlMs}`);
                assert.ok(['public', 'private'].includes(result.cacheScope), `${method}: cacheScope ${result.cacheScope}`);
            }
        }
    });
});

test('gateway: pinned v2 client ↔ v2 server: input_required passes through, the retry completes', { timeout: 30000 }, async () => {
    needV2();
    await withClient('v2 pinned', stack.gw.url, async (c) => {
        const ask = await c.client.callTool({ name: 'v2_ask', arguments: {} });
        assert.equal(textOf(ask), `Hello, ${ELICITED_NAME}`);
        assert.equal(c.elicitations.length, 1);
        assert.equal(c.exchanges.filter((x) => x.method === 'tools/call').length, 2, 'the call and its retry');
    });
});

// ---------------------------------------------------------------------------------------------
// elicitation and sampling across eras, both directions (part D)
// ---------------------------------------------------------------------------------------------

test('gateway: pinned v2 client → server-everything elicitation: input_required, then the retry completes', { timeout: 30000 }, async () => {
    await withClient('v2 pinned', stack.gw.url, async (c) => {
        const r = await c.client.callTool({ name: 'ev_trigger-elicitation-request', arguments: {} });
        assert.match(textOf(r), new RegExp(`Name: ${ELICITED_NAME}`));
        assert.equal(c.elicitations.length, 1);
        const calls = c.exchanges.filter((x) => x.method === 'tools/call');
        assert.equal(calls.length, 2, 'the call and its retry');
        assert.equal(typeof calls[1].body.params.requestState, 'string', 'the retry carries the gateway-sealed requestState');
        assert.ok(calls[1].body.params.inputResponses, 'and the inputResponses');
    });
});

test('gateway: pinned v2 client → server-everything sampling round trip', { timeout: 30000 }, async () => {
    await withClient('v2 pinned', stack.gw.url, async (c) => {
        const r = await c.client.callTool({ name: 'ev_trigger-sampling-request', arguments: { prompt: 'The capital of France?' } });
        assert.match(textOf(r), new RegExp(`"text": "${SAMPLED_TEXT}"`));
        assert.equal(c.samplings.length, 1);
    });
});

test('gateway: 1.32.2 client → v2 server elicitation: a real elicitation/create on the stream', { timeout: 30000 }, async () => {
    needV2();
    await withClient('1.32.2', stack.gw.url, async (c) => {
        const r = await c.client.callTool({ name: 'v2_ask', arguments: {} });
        assert.equal(textOf(r), `Hello, ${ELICITED_NAME}`);
        assert.equal(c.elicitations.length, 1);
        assert.equal(c.elicitations[0].message, 'What is your name?');
        assert.equal(c.exchanges.filter((x) => x.method === 'tools/call').length, 1, 'an old client calls once');
    });
});

test('gateway: 1.32.2 client → v2 server sampling: a real sampling/createMessage on the stream', { timeout: 30000 }, async () => {
    needV2();
    await withClient('1.32.2', stack.gw.url, async (c) => {
        const r = await c.client.callTool({ name: 'v2_sample', arguments: { question: 'The capital of France?' } });
        assert.equal(textOf(r), `model said: ${SAMPLED_TEXT}`);
        assert.equal(c.samplings.length, 1);
        assert.equal(c.samplings[0].messages[0].content.text, 'The capital of France?');
    });
});

// ---------------------------------------------------------------------------------------------
// subscriptions/listen (part E); last, since it changes alpha's tool list and ev's updates
// ---------------------------------------------------------------------------------------------

test('gateway: pinned v2 client listen: ack, list_changed from the gateway, resources/updated from both eras', { timeout: 40000 }, async () => {
    needV2();
    await withClient('v2 pinned', stack.gw.url, async (c) => {
        const got = [];
        c.client.setNotificationHandler('notifications/resources/updated', (n) => got.push(n));
        c.client.setNotificationHandler('notifications/tools/list_changed', (n) => got.push(n));
        const sub = await c.client.listen({ toolsListChanged: true, resourceSubscriptions: [V2_URI, EV_URI] });
        try {
            assert.deepEqual(sub.honoredFilter, { toolsListChanged: true, resourceSubscriptions: [V2_URI, EV_URI] });
            const tagged = (n) => n.params._meta['io.modelcontextprotocol/subscriptionId'] !== undefined;

            await c.client.callTool({ name: 'v2_touch', arguments: {} });
            await waitFor(() => got.some((n) => n.method === 'notifications/resources/updated' && n.params.uri === V2_URI),
                { timeoutMs: 5000, what: `resources/updated ${V2_URI} (new-era backend)` });

            await c.client.callTool({ name: 'ev_toggle-subscriber-updates', arguments: {} });
            await waitFor(() => got.some((n) => n.method === 'notifications/resources/updated' && n.params.uri === EV_URI),
                { timeoutMs: 12000, what: `resources/updated ${EV_URI} (old-era backend)` });

            // a catalog change at the gateway (alpha adds its `extra` tool) is announced on the listen
            await c.client.callTool({ name: 'alpha_toggle_tools', arguments: {} });
            await waitFor(() => got.some((n) => n.method === 'notifications/tools/list_changed'),
                { timeoutMs: 8000, what: 'notifications/tools/list_changed' });
            assert.ok(got.every(tagged), 'every notification tagged with the subscription id');
        } finally {
            await sub.close();
            await c.client.callTool({ name: 'ev_toggle-subscriber-updates', arguments: {} }).catch(() => {});
            await c.client.callTool({ name: 'alpha_toggle_tools', arguments: {} }).catch(() => {});
        }
    });
});

test('no sanitizer reports in the gateway log', {}, async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
