// Interop: the official SDK client through the gateway to two server-everything backends (ev1_,
// ev2_): prompts, resources, resource templates, completion and gateway pagination.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startEverything, startGateway, stopAll } from '../lib/index.mjs';

let gw;
let paged;

before(async () => {
    const [ev1, ev2] = await Promise.all([
        startEverything({ label: 'everything-1' }),
        startEverything({ label: 'everything-2' }),
    ]);
    const servers = [
        { name: 'ev1', url: ev1.url, prefix: 'ev1_' },
        { name: 'ev2', url: ev2.url, prefix: 'ev2_' },
    ];
    [gw, paged] = await Promise.all([
        startGateway({ servers }),
        startGateway({ servers, extra: { limits: { page_size: 3 } } }),
    ]);
});

after(async () => {
    await stopAll();
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
    const c = await connect(gw);
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
    const c = await connect(gw);
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
    const c = await connect(gw);
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
    const c = await connect(gw);
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
    const full = await connect(gw);
    const small = await connect(paged);
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
