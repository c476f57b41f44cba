// Interop: the official SDK client through the gateway to two server-everything backends (ev1_,
// ev2_): prompts, resources, resource templates, completion, gateway pagination, resource
// subscriptions (updates on the subscriber's GET stream only) and list_changed after a reload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import fs from 'node:fs';
import {
    McpError, PromptListChangedNotificationSchema, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { gatewayConfig, sleep, startEverythingPair, startGateway, toYaml, useSetup, waitFor } from '../lib/index.mjs';

// Two gateways in front of the pair: gw, and paged with limits.page_size 3.
const stack = useSetup(async () => {
    const pair = await startEverythingPair();
    const [gw, paged] = await Promise.all([
        startGateway({ servers: pair.servers }),
        startGateway({ servers: pair.servers, extra: { limits: { page_size: 3 } } }),
    ]);
    return { ...pair, gw, paged };
});

async function connect(g) {
    const client = new Client({ name: 'mcpgw-interop', version: '0.1.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(g.url)));
    return client;
}

async function all(listFn, key) {
    const items = [];
    let cursor;
    let pages = 0;
    do {
        const page = await listFn(cursor ? { cursor } : {});
        items.push(...page[key]);
        cursor = page.nextCursor;
        pages++;
    } while (cursor && pages < 100);
    return { items, pages };
}

test('prompts: listed under both prefixes, prompts/get reaches the owner with its arguments', async () => {
    const c = await connect(stack.gw);
    try {
        const { items } = await all((p) => c.listPrompts(p), 'prompts');
        const names = items.map((p) => p.name);
        for (const n of ['ev1_simple-prompt', 'ev2_simple-prompt', 'ev1_args-prompt', 'ev2_args-prompt']) {
            assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
        }
        const got = await c.getPrompt({ name: 'ev2_args-prompt', arguments: { city: 'Paris', state: 'IDF' } });
        const text = JSON.stringify(got.messages);
        assert.match(text, /Paris/, text);
        await assert.rejects(c.getPrompt({ name: 'ev3_args-prompt' }), (e) => e instanceof McpError && e.code === -32602);
    } finally {
        await c.close();
    }
});

test('resources: one owner per URI (the first backend in config order), read reaches it', async () => {
    const c = await connect(stack.gw);
    try {
        const { items } = await all((p) => c.listResources(p), 'resources');
        const uris = items.map((r) => r.uri);
        assert.ok(uris.length > 0, 'resources listed');
        assert.equal(new Set(uris).size, uris.length, 'no URI listed twice (both backends list the same ones)');
        const read = await c.readResource({ uri: uris[0] });
        assert.equal(read.contents[0].uri, uris[0]);
        await assert.rejects(
            c.readResource({ uri: 'nowhere://nothing/here' }),
            (e) => e instanceof McpError && e.code === -32002,
        );
    } finally {
        await c.close();
    }
});

test('resource templates: listed, and a URI matching one is routed to its owner', async () => {
    const c = await connect(stack.gw);
    try {
        const { items } = await all((p) => c.listResourceTemplates(p), 'resourceTemplates');
        const t = items.find((x) => x.uriTemplate === 'demo://resource/dynamic/text/{resourceId}');
        assert.ok(t, JSON.stringify(items));
        const read = await c.readResource({ uri: 'demo://resource/dynamic/text/7' });
        assert.equal(read.contents[0].uri, 'demo://resource/dynamic/text/7');
        assert.match(read.contents[0].text, /7/);
    } finally {
        await c.close();
    }
});

test('completion/complete is routed by its prompt reference, prefix removed', async () => {
    const c = await connect(stack.gw);
    try {
        const r = await c.complete({
            ref: { type: 'ref/prompt', name: 'ev2_completable-prompt' },
            argument: { name: 'department', value: 'E' },
        });
        assert.ok(Array.isArray(r.completion.values), JSON.stringify(r));
        assert.ok(r.completion.values.length > 0, JSON.stringify(r));
        assert.ok(r.completion.values.every((v) => v.startsWith('E')), JSON.stringify(r));
    } finally {
        await c.close();
    }
});

test('pagination: gateway cursors walk every list; a forged cursor gets -32602', async () => {
    const full = await connect(stack.gw);
    const small = await connect(stack.paged);
    try {
        const whole = (await full.listTools()).tools.map((t) => t.name);
        const { items, pages } = await all((p) => small.listTools(p), 'tools');
        assert.ok(pages > 2, `several pages (got ${pages})`);
        assert.deepEqual(items.map((t) => t.name), whole, 'the pages add up to the whole list, in order');
        const first = await small.listTools();
        assert.equal(first.tools.length, 3);
        await assert.rejects(small.listTools({ cursor: 'forged' }), (e) => e instanceof McpError && e.code === -32602);
        await assert.rejects(small.listTools({ cursor: '0.3' }), (e) => e instanceof McpError && e.code === -32602);
        const prompts = await all((p) => small.listPrompts(p), 'prompts');
        assert.equal(prompts.items.length, (await full.listPrompts()).prompts.length);
    } finally {
        await full.close();
        await small.close();
    }
});

test('resources/updated reaches the subscribing client only (on its GET stream)', { timeout: 60000 }, async () => {
    const a = await connect(stack.gw);
    const b = await connect(stack.gw);
    const got = { a: [], b: [] };
    a.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => got.a.push(n.params.uri));
    b.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => got.b.push(n.params.uri));
    try {
        const { items } = await all((p) => a.listResources(p), 'resources');
        const uri = items[0].uri;
        await a.subscribeResource({ uri });
        await a.callTool({ name: 'ev1_toggle-subscriber-updates', arguments: {} });
        await b.callTool({ name: 'ev1_toggle-subscriber-updates', arguments: {} });
        await waitFor(() => got.a.includes(uri), { what: `resources/updated for ${uri}`, timeoutMs: 15000 });
        await sleep(5500); // one more round of the backend's updates
        assert.deepEqual(got.b, [], 'the client that did not subscribe got nothing');
        await a.unsubscribeResource({ uri });
    } finally {
        await a.close();
        await b.close();
    }
});

test('list_changed: a reload that removes a backend reaches the SDK client, whose next list is right', { timeout: 60000 }, async () => {
    const c = await connect(stack.gw);
    const changes = [];
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => changes.push('tools'));
    c.setNotificationHandler(PromptListChangedNotificationSchema, () => changes.push('prompts'));
    const good = fs.readFileSync(stack.gw.configFile, 'utf8');
    try {
        await sleep(300); // the client opens its GET stream after initialization
        const cfg = gatewayConfig(stack.gw.dir, { servers: [stack.servers[0]] });
        fs.writeFileSync(stack.gw.configFile, toYaml(cfg));
        assert.equal((await stack.gw.ctl(['reload'])).code, 0);
        await waitFor(() => changes.includes('tools') && changes.includes('prompts'), { what: 'tools and prompts list_changed', timeoutMs: 15000 });
        const { items } = await all((p) => c.listTools(p), 'tools');
        assert.ok(items.length > 0 && items.every((t) => t.name.startsWith('ev1_')), items.map((t) => t.name).join(', '));
    } finally {
        fs.writeFileSync(stack.gw.configFile, good);
        await stack.gw.ctl(['reload']);
        await c.close();
    }
    const c2 = await connect(stack.gw);
    try {
        await waitFor(async () => (await all((p) => c2.listTools(p), 'tools')).items.some((t) => t.name.startsWith('ev2_')), { what: 'ev2 back' });
    } finally {
        await c2.close();
    }
});
