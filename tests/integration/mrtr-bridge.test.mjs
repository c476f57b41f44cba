// A 2025 client (the official 1.32.2 SDK, with a gateway session) calling a 2026-07-28 backend
// that answers input_required (issue 14 point 7, docs/design-2026-07-28.md 5.4): the worker sends
// each input request to the client as a real request on the call's event stream, and calls the
// backend again with inputResponses and its requestState, at most limits.max_input_rounds times.
//
// Backends: the conformance fixture in modern mode (its test_input_required_result_* tools check
// an HMAC requestState, so a pass shows the state came back intact), and a fake written here
// (node:http) for what a well-behaved backend never does: ask for ever, ask for a capability the
// client did not declare, send a malformed input_required, hang on the retry.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startConformance, startGateway, useSetup, waitFor } from '../lib/index.mjs';

const MODERN = '2026-07-28';
const NS = 'io.modelcontextprotocol/';
// a state with escapes and characters past ASCII: it must reach the backend as the same string
const STATE = 'st\u00e9/\\"1';
// how the fake writes it on the wire: escapes JSON.stringify would not choose, which a state
// handed back as a re-encoded string value would lose (the spec asks for the bytes)
const STATE_WIRE = '"st\\u00e9\\/\\\\\\"1"';

const ASK_NAME = { method: 'elicitation/create', params: { mode: 'form', message: 'Name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } } };
const ASK_MODEL = { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 10 } };

const TOOLS = ['forever', 'ask', 'sample', 'undeclared', 'bad_empty', 'bad_request', 'bad_method', 'hang'].map((name) => ({ name, description: name, inputSchema: { type: 'object' } }));

function startFake() {
    const seen = [];
    const raw = []; // each request's text as it came
    const aborted = [];
    return new Promise((resolve) => {
        const server = http.createServer((req, res) => {
            let text = '';
            req.setEncoding('utf8');
            req.on('data', (d) => (text += d));
            req.on('end', () => {
                const msg = JSON.parse(text);
                seen.push(msg);
                raw.push(text);
                const send = (result) => {
                    res.writeHead(200, { 'content-type': 'application/json' });
                    res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }).replace(JSON.stringify(STATE), STATE_WIRE));
                };
                const inputRequired = (inputRequests, extra = {}) => send({ resultType: 'input_required', inputRequests, requestState: STATE, ...extra });
                const p = msg.params || {};
                if (msg.id === undefined) {
                    res.writeHead(202).end();
                    return;
                }
                switch (msg.method) {
                case 'server/discover':
                    return send({ resultType: 'complete', supportedVersions: [MODERN], capabilities: { tools: {} }, _meta: { [`${NS}serverInfo`]: { name: 'mrtr-fake', version: '1' } } });
                case 'tools/list':
                    return send({ resultType: 'complete', tools: TOOLS, ttlMs: 0, cacheScope: 'private' });
                case 'tools/call':
                    break;
                default:
                    res.writeHead(404, { 'content-type': 'application/json' });
                    res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } }));
                    return;
                }
                const done = (t) => send({ resultType: 'complete', content: [{ type: 'text', text: t }] });
                const retried = p.inputResponses !== undefined;
                switch (p.name) {
                case 'forever':
                    return inputRequired({ again: ASK_NAME });
                case 'ask':
                case 'sample':
                    return retried ? done(JSON.stringify({ inputResponses: p.inputResponses, requestState: p.requestState, id: msg.id })) : inputRequired(p.name === 'ask' ? { who: ASK_NAME } : { model: ASK_MODEL });
                case 'undeclared':
                    return inputRequired({ model: ASK_MODEL });
                case 'bad_empty':
                    return send({ resultType: 'input_required' });
                case 'bad_request':
                    return send({ resultType: 'input_required', inputRequests: { a: 'not an object' } });
                case 'bad_method':
                    return send({ resultType: 'input_required', inputRequests: { a: { method: 'tools/call', params: {} } } });
                case 'hang':
                    if (!retried) {
                        return inputRequired({ who: ASK_NAME });
                    }
                    res.on('close', () => {
                        if (!res.writableEnded) {
                            aborted.push(msg.id);
                        }
                    });
                    return undefined; // never answers: the cancel must close this stream
                default:
                    return done('?');
                }
            });
        });
        server.listen(0, '127.0.0.1', () => {
            resolve({ server, seen, raw, aborted, url: `http://127.0.0.1:${server.address().port}/mcp`, close: () => new Promise((r) => server.close(r)) });
        });
    });
}

const stack = useSetup(async () => {
    const [cf, fake] = await Promise.all([startConformance({ era: 'modern' }), startFake()]);
    const gw = await startGateway({
        servers: [
            { name: 'cf', url: cf.url, prefix: 'cf_' },
            { name: 'fake', url: fake.url, prefix: 'f_' },
        ],
    });
    // both backends probed modern and listed
    await waitFor(async () => {
        const c = await connect({ url: gw.url });
        try {
            const names = (await c.client.listTools()).tools.map((t) => t.name);
            return names.includes('f_hang') && names.includes('cf_test_input_required_result_multi_round');
        } finally {
            await c.close();
        }
    }, { timeoutMs: 20000, what: 'both backends listed' });
    return { cf, fake, gw };
}, {
    async cleanup() {
        await stack.fake?.close();
    },
});

/** A 1.32.2 client; elicit/sample: handlers (absent: the capability is not declared). */
async function connect({ url, elicit = () => ({ action: 'accept', content: { name: 'Ada', color: 'green' } }), sample } = {}) {
    const capabilities = {};
    if (elicit) {
        capabilities.elicitation = { form: {} };
    }
    if (sample) {
        capabilities.sampling = {};
    }
    const seen = { elicitations: [], samplings: [], texts: [] };
    const client = new Client({ name: 'mrtr-bridge-test', version: '1.32.2' }, { capabilities });
    if (elicit) {
        client.setRequestHandler(ElicitRequestSchema, async (r) => {
            seen.elicitations.push(r.params);
            return elicit(r.params);
        });
    }
    if (sample) {
        client.setRequestHandler(CreateMessageRequestSchema, async (r) => {
            seen.samplings.push(r.params);
            return sample(r.params);
        });
    }
    // every answer the client received, to show the state never reaches it
    const recording = async (url, init) => {
        const res = await fetch(url, init);
        if (init?.method === 'POST') { // not the GET stream, which stays open
            seen.texts.push(res.clone().text().catch(() => ''));
        }
        return res;
    };
    const transport = new StreamableHTTPClientTransport(new URL(url ?? stack.gw.url), { fetch: recording });
    await client.connect(transport);
    return { client, transport, seen, close: async () => { await transport.terminateSession().catch(() => {}); await client.close(); } };
}

const T = { timeout: 60000 };
const text = (r) => r.content[0].text;

test('two rounds of elicitation through the gateway to the conformance fixture (its HMAC requestState checked)', T, async () => {
    const c = await connect();
    try {
        const r = await c.client.callTool({ name: 'cf_test_input_required_result_multi_round', arguments: {} });
        assert.equal(text(r), 'Ada likes green');
        assert.deepEqual(c.seen.elicitations.map((e) => e.message), ['Step 1: What is your name?', 'Step 2: What is your favorite color?']);
        const all = (await Promise.all(c.seen.texts)).join('\n');
        assert.ok(!all.includes('cf1.'), 'the backend\'s requestState never reaches the client');
        assert.ok(!all.includes('input_required'));
    } finally {
        await c.close();
    }
});

test('the retry carries a new id, the inputResponses and the requestState as the backend sent it; the client gets its own id', T, async () => {
    const c = await connect();
    try {
        const r = await c.client.callTool({ name: 'f_ask', arguments: {} });
        const got = JSON.parse(text(r));
        assert.deepEqual(got.inputResponses, { who: { action: 'accept', content: { name: 'Ada', color: 'green' } } });
        assert.equal(got.requestState, STATE);
        assert.ok(stack.fake.raw.some((t) => t.includes(`"requestState":${STATE_WIRE}`)), 'the state went back byte for byte');
        const calls = stack.fake.seen.filter((m) => m.method === 'tools/call' && m.params.name === 'ask');
        assert.equal(calls.length, 2);
        assert.notEqual(calls[1].id, calls[0].id, 'a new upstream id');
        assert.equal(calls[1].params.arguments && typeof calls[1].params.arguments, 'object', 'the same params');
        assert.equal(c.seen.elicitations.length, 1);
        const all = (await Promise.all(c.seen.texts)).join('\n');
        // the fake echoes the state in its final text; before that nothing of the interim result
        assert.ok(!all.includes('input_required') && !all.includes('inputRequests'), 'no interim result reaches the client');
    } finally {
        await c.close();
    }
});

test('past limits.max_input_rounds (8) the call ends with -32603', T, async () => {
    const c = await connect();
    try {
        const before = stack.fake.seen.filter((m) => m.params?.name === 'forever').length;
        await assert.rejects(c.client.callTool({ name: 'f_forever', arguments: {} }), (e) => e.code === -32603 && /max_input_rounds/.test(e.message));
        assert.equal(c.seen.elicitations.length, 8);
        assert.equal(stack.fake.seen.filter((m) => m.params?.name === 'forever').length - before, 9, 'the call and 8 retries');
    } finally {
        await c.close();
    }
});

test('a declined elicitation (the client answers an error) reaches the backend as {"action":"cancel"}', T, async () => {
    const c = await connect({ elicit: () => { throw new Error('no thanks'); } });
    try {
        const r = await c.client.callTool({ name: 'f_ask', arguments: {} });
        assert.deepEqual(JSON.parse(text(r)).inputResponses, { who: { action: 'cancel' } });
    } finally {
        await c.close();
    }
});

test('sampling: answered, it goes to the backend; refused by the client, the call ends with the client\'s error', T, async () => {
    const ok = await connect({ sample: () => ({ role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'm' }) });
    try {
        const r = await ok.client.callTool({ name: 'f_sample', arguments: {} });
        assert.equal(JSON.parse(text(r)).inputResponses.model.content.text, 'Paris');
    } finally {
        await ok.close();
    }
    const no = await connect({ sample: () => { throw new Error('sampling refused by the user'); } });
    try {
        await assert.rejects(no.client.callTool({ name: 'f_sample', arguments: {} }), (e) => /sampling refused by the user/.test(e.message));
        assert.equal(stack.fake.seen.filter((m) => m.params?.name === 'sample' && m.params.inputResponses).length, 1, 'no retry after the refusal');
    } finally {
        await no.close();
    }
});

test('a backend asking for a capability the session did not declare: -32012, nothing sent to the client', T, async () => {
    const c = await connect(); // elicitation only
    try {
        await assert.rejects(c.client.callTool({ name: 'f_undeclared', arguments: {} }), (e) => e.code === -32012 && /sampling/.test(e.message));
        assert.equal(c.seen.samplings.length, 0);
    } finally {
        await c.close();
    }
});

test('a malformed input_required (no requests nor state, a request not an object, an unknown method): -32603, counted', T, async () => {
    const c = await connect();
    try {
        for (const name of ['f_bad_empty', 'f_bad_request', 'f_bad_method']) {
            await assert.rejects(c.client.callTool({ name, arguments: {} }), (e) => e.code === -32603 && /bad input_required/.test(e.message), name);
        }
        assert.equal(c.seen.elicitations.length, 0);
    } finally {
        await c.close();
    }
    const re = /mcpgw_backend_bad_answers_total\{[^}]*reason="bad_input_required"[^}]*\} 3/;
    await waitFor(async () => re.test(await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text()), { what: 'the bad input_required counted' });
});

test('the client cancelling mid-round ends the rounds and closes the backend\'s stream of the retry', T, async () => {
    const c = await connect();
    try {
        const ac = new AbortController();
        const call = c.client.callTool({ name: 'f_hang', arguments: {} }, undefined, { signal: ac.signal });
        await waitFor(() => stack.fake.seen.some((m) => m.params?.name === 'hang' && m.params.inputResponses), { what: 'the retry reached the backend' });
        const retry = stack.fake.seen.find((m) => m.params?.name === 'hang' && m.params.inputResponses);
        ac.abort('the user gave up');
        await assert.rejects(call);
        await waitFor(() => stack.fake.aborted.includes(retry.id), { what: 'the backend saw its stream closed' });
    } finally {
        await c.close();
    }
});
