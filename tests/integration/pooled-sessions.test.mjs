// 2026-07-28 callers of 2025 backends (issue 14 point 6, docs/design-2026-07-28.md 7.1 and 6):
// the worker's pooled upstream sessions, keyed by caller, capability set and log level; reused,
// closed when idle (sessions.upstream_idle) or past limits.max_pooled_sessions (least recently
// used first, with DELETE); initialize declaring the key's capabilities; logging/setLevel when the
// key has a level; no GET stream; the MRTR fields not sent up; log messages relayed at the
// request's level only; a server request parks the call (input_required) or, undeclared, gets 400 -32021; the caller's
// cancel sent as notifications/cancelled.
//
// The requests are raw 2026-07-28 POSTs (headers and _meta as the v2 client sends them), which
// the router dispatches as GW_ENV_F_MODERN calls without a session. The C test backend is real; the 2025 fake is written here (node:http)
// because it must show what the worker sent it (initialize's capabilities, setLevel, DELETE,
// cancel) and send log messages and a server request inside a call, which no backend in
// tests/node_modules does on demand.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import http2 from 'node:http2';
import fs from 'node:fs';
import { rawPost, startBackend, startGateway, toYaml, useSetup, waitFor, sleep, listenHttp as listen, readBody } from '../lib/index.mjs';

const MODERN = '2026-07-28';
const NS = 'io.modelcontextprotocol/';
let nextId = 1;

/** A 2025-11-25 backend with sessions, logging, and tools that log, ask and wait. */
async function startLegacyFake() {
    const seen = [];
    const sessions = new Map(); // sid -> {caps, level}
    const waiting = new Map(); // sampling request id -> resolve
    const fake = await listen(async (req, res) => {
        const text = await readBody(req);
        const msg = text ? JSON.parse(text) : undefined;
        const sid = req.headers['mcp-session-id'];
        seen.push({ method: req.method, sid, headers: req.headers, body: msg });
        if (req.method === 'DELETE') {
            sessions.delete(sid);
            res.writeHead(200).end();
            return;
        }
        if (req.method === 'GET') {
            res.writeHead(405).end();
            return;
        }
        if (msg.method === 'initialize') {
            const id = crypto.randomUUID();
            sessions.set(id, { caps: msg.params.capabilities, level: undefined });
            res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': id });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: '2025-11-25', capabilities: { tools: {}, logging: {} }, serverInfo: { name: 'legacy-fake', version: '1' } } }));
            return;
        }
        if (msg.method === 'server/discover') {
            res.writeHead(400, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: Server not initialized' } }));
            return;
        }
        const s = sessions.get(sid);
        if (!s) {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
            return;
        }
        if (msg.id === undefined) { // notifications
            res.writeHead(202).end();
            return;
        }
        if (!msg.method) { // a response to our sampling request
            const w = waiting.get(msg.id);
            if (w) {
                waiting.delete(msg.id);
                w(msg);
            }
            res.writeHead(202).end();
            return;
        }
        const json = (result) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
        };
        if (msg.method === 'logging/setLevel') {
            s.level = msg.params.level;
            return json({});
        }
        if (msg.method === 'tools/list') {
            return json({ tools: ['whoami', 'logs', 'ask', 'slow'].map((name) => ({ name, inputSchema: { type: 'object' } })) });
        }
        if (msg.method !== 'tools/call') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } }));
            return;
        }
        const name = msg.params.name;
        const result = { content: [{ type: 'text', text: JSON.stringify({ sid, caps: s.caps, level: s.level, params: msg.params }) }] };
        if (name === 'whoami') {
            return json(result);
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const event = (m) => res.write(`data: ${JSON.stringify(m)}\n\n`);
        if (name === 'logs') {
            // every level, whatever the session's level: the worker filters for its caller
            for (const level of ['debug', 'info', 'warning', 'error', 'critical']) {
                event({ jsonrpc: '2.0', method: 'notifications/message', params: { level, data: level } });
            }
            event({ jsonrpc: '2.0', id: msg.id, result });
            res.end();
            return;
        }
        if (name === 'ask') {
            const rid = `ask-${nextId++}`;
            const answered = new Promise((resolve) => waiting.set(rid, resolve));
            event({ jsonrpc: '2.0', id: rid, method: 'sampling/createMessage', params: { messages: [], maxTokens: 5 } });
            const reply = await answered;
            event({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: JSON.stringify({ reply }) }] } });
            res.end();
            return;
        }
        if (name === 'slow') {
            res.write(': waiting\n\n'); // the head goes out; the answer never comes
            return;
        }
        event({ jsonrpc: '2.0', id: msg.id, error: { code: -32602, message: 'Unknown tool' } });
        res.end();
    });
    return { ...fake, seen, sessions };
}

const stack = useSetup(async () => {
    const [alpha, legacy] = await Promise.all([startBackend({ name: 'alpha' }), startLegacyFake()]);
    const gw = await startGateway({
        servers: [
            { name: 'alpha', url: alpha.url, prefix: 'alpha_' },
            { name: 'legacy', url: legacy.url, prefix: 'l_' },
        ],
        extra: { sessions: { upstream_idle: '3s' }, limits: { max_pooled_sessions: 3, input_wait: '1s' } }, // a parked call holds its session
    });
    return { gw, alpha, legacy };
}, {
    async cleanup() {
        if (stack.legacy) {
            await stack.legacy.close();
        }
    },
});

const T = { timeout: 60000 };

/** A 2026-07-28 request as the v2 client sends it: _meta in params, the standard headers. */
function modern(method, params, { caps = {}, level, id = `m-${nextId++}`, signal } = {}) {
    const meta = { [`${NS}protocolVersion`]: MODERN, [`${NS}clientCapabilities`]: caps, [`${NS}clientInfo`]: { name: 'test', version: '1' } };
    if (level) {
        meta[`${NS}logLevel`] = level;
    }
    const body = { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...(params._meta || {}), ...meta } } };
    const headers = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': method };
    if (params.name) {
        headers['Mcp-Name'] = params.name;
    }
    return rawPost(stack.gw.url, body, headers, { signal });
}

async function callJson(name, args = {}, opts = {}) {
    const r = await modern('tools/call', { name, arguments: args }, opts);
    const resp = r.messages.find((m) => m && m.id !== undefined && ('result' in m || 'error' in m));
    assert.ok(resp && resp.result, `${name}: ${r.status} ${r.text.slice(0, 300)}`);
    return { json: JSON.parse(resp.result.content[0].text), messages: r.messages };
}

async function pooled(name) {
    const r = await stack.gw.ctl(['backends', '--json']);
    return JSON.parse(r.stdout).backends.find((b) => b.name === name).pooled_sessions;
}

test('a 2026-07-28 caller of a 2025 backend gets a pooled session: reused, one per capability set', T, async () => {
    const a = await callJson('alpha_whoami');
    const b = await callJson('alpha_whoami');
    assert.ok(a.json.session, JSON.stringify(a.json));
    assert.equal(a.json.session, b.json.session, 'the second call reuses the session');
    const c = await callJson('alpha_whoami', {}, { caps: { sampling: {} } });
    assert.notEqual(c.json.session, a.json.session, 'another capability set, another session');
    assert.equal(await pooled('alpha'), 2);
    // initialize declared the key's capabilities (the fake keeps them)
    const l = await callJson('l_whoami', {}, { caps: { sampling: { tools: {} }, elicitation: { url: {} }, roots: {} } });
    assert.deepEqual(l.json.caps, { sampling: { tools: {} }, elicitation: { form: {}, url: {} }, roots: { listChanged: true } });
    // (the catalog's own session has one: list_changed)
    assert.ok(!stack.legacy.seen.some((x) => x.method === 'GET' && x.sid === l.json.sid), 'no GET stream on a pooled session');
});

test('the body sent up keeps _meta, drops inputResponses; a requestState the gateway did not seal goes nowhere', T, async () => {
    const { json } = await callJson('l_whoami', {}, {});
    assert.equal(json.params._meta[`${NS}protocolVersion`], MODERN);
    const r = await modern('tools/call', { name: 'l_whoami', arguments: {}, inputResponses: { k: {} } });
    const resp = r.messages.find((m) => m && m.result);
    const got = JSON.parse(resp.result.content[0].text);
    assert.equal(got.params.inputResponses, undefined);
    assert.equal(got.params.requestState, undefined);
    assert.equal(got.params.name, 'whoami');
    // a state that is not the gateway's is refused by the router (design row 19), never sent up
    const before = stack.legacy.seen.length;
    const bad = await modern('tools/call', { name: 'l_whoami', arguments: {}, inputResponses: { k: {} }, requestState: 'abc' });
    assert.equal(bad.status, 400, bad.text.slice(0, 300));
    assert.equal(bad.json.error.code, -32602);
    assert.equal(bad.json.error.message, 'invalid or expired requestState');
    assert.equal(stack.legacy.seen.length, before, 'nothing reached the backend');
});

test('log level: logging/setLevel after initialize, messages relayed at the level only, none without one', T, async () => {
    const withLevel = await callJson('l_logs', {}, { level: 'error' });
    assert.equal(withLevel.json.level, 'error', 'the pooled session got logging/setLevel first');
    const levels = withLevel.messages.filter((m) => m.method === 'notifications/message').map((m) => m.params.level);
    assert.deepEqual(levels, ['error', 'critical']);
    const without = await callJson('l_logs');
    assert.equal(without.json.level, undefined);
    assert.ok(!without.messages.some((m) => m.method === 'notifications/message'), 'no logLevel: no notifications/message');
    assert.notEqual(without.json.sid, withLevel.json.sid, 'the level is part of the key');
});

test('a server request inside a 2026-07-28 call parks it: an input_required result keyed by a gateway id, no request on the stream', T, async () => {
    const r = await modern('tools/call', { name: 'l_ask', arguments: {} }, { caps: { sampling: {} } });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.ok(!r.messages.some((m) => m.method === 'sampling/createMessage'), 'no JSON-RPC request to a 2026-07-28 client');
    const resp = r.messages.find((m) => m && m.result);
    assert.equal(resp.result.resultType, 'input_required', r.text.slice(0, 300));
    const keys = Object.keys(resp.result.inputRequests);
    assert.equal(keys.length, 1);
    assert.match(keys[0], /^mcpgw:legacy:\d+$/);
    assert.deepEqual(resp.result.inputRequests[keys[0]], { method: 'sampling/createMessage', params: { messages: [], maxTokens: 5 } });
    assert.equal(typeof resp.result.requestState, 'string');
    // the backend was not refused: its request waits for the client's answer
    assert.ok(!stack.legacy.seen.some((x) => x.body && !x.body.method && String(x.body.id).startsWith('ask-') && x.body.error), 'no error sent to the backend');
});

test('a server request the 2026-07-28 caller did not declare: 400 -32021 with requiredCapabilities, an error to the backend', T, async () => {
    const r = await modern('tools/call', { name: 'l_ask', arguments: {} }, { caps: {}, id: 'nocaps-1' });
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.equal(r.json.id, 'nocaps-1');
    assert.equal(r.json.error.code, -32021);
    assert.match(r.json.error.message, /sampling/);
    assert.deepEqual(r.json.error.data, { requiredCapabilities: { sampling: {} } });
    await waitFor(() => stack.legacy.seen.some((x) => x.body && !x.body.method && /did not declare the sampling capability/.test(x.body.error?.message)), { what: 'the backend got an error for its request' });
    await waitFor(() => stack.legacy.seen.some((x) => x.body?.method === 'notifications/cancelled'), { what: 'the upstream call cancelled' });
});

test('a 2026-07-28 caller closing its HTTP/1.1 connection: that alone cancels the call on the 2025 backend\'s pooled session', T, async () => {
    const id = 'slow-cancel-1';
    const ac = new AbortController();
    const pending = modern('tools/call', { name: 'l_slow', arguments: {} }, { id, signal: ac.signal }).catch((e) => e);
    await waitFor(() => stack.legacy.seen.some((x) => x.body?.id === id), { what: 'the call reached the backend' });
    // The client closes its connection (design 6: that is the 2026-07-28 cancel); h2o reads
    // nothing from it while the answer is pending, the router looks (router/h1_gone.c).
    ac.abort();
    await pending;
    await waitFor(() => stack.legacy.seen.some((x) => x.body?.method === 'notifications/cancelled' && x.body.params.requestId === id), { what: 'notifications/cancelled at the backend' });
    const cancelled = stack.legacy.seen.find((x) => x.body?.method === 'notifications/cancelled' && x.body.params.requestId === id);
    const call = stack.legacy.seen.find((x) => x.body?.id === id);
    assert.equal(cancelled.sid, call.sid, 'on the call\'s own pooled session');
    assert.ok(stack.gw.logLines().some((l) => /msg="client closed its HTTP\/1.1 connection during a 2026-07-28 call"/.test(l)));
    await waitFor(() => stack.gw.logLines().some((l) => /msg="call cancelled" request_id=\S+ backend=legacy method=tools\/call/.test(l)), { what: 'the worker ended the call' });
});

test('a 2026-07-28 notifications/cancelled naming a pending call, its connection kept open: the call ends', T, async () => {
    const id = 'slow-cancel-note';
    const pending = modern('tools/call', { name: 'l_slow', arguments: {} }, { id });
    await waitFor(() => stack.legacy.seen.some((x) => x.body?.id === id), { what: 'the call reached the backend' });
    const n = await rawPost(stack.gw.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, _meta: { [`${NS}protocolVersion`]: MODERN, [`${NS}clientCapabilities`]: {} } } }, { 'MCP-Protocol-Version': MODERN });
    assert.equal(n.status, 202);
    await waitFor(() => stack.legacy.seen.some((x) => x.body?.method === 'notifications/cancelled' && x.body.params.requestId === id), { what: 'notifications/cancelled at the backend' });
    const r = await pending;
    assert.ok(!r.messages.some((m) => m && m.result), `no result after the cancel: ${r.text.slice(0, 300)}`);
});

test('a 2026-07-28 caller closing its HTTP/2 stream: that alone cancels the call on the pooled session', T, async () => {
    const id = 'slow-cancel-h2';
    const meta = { [`${NS}protocolVersion`]: MODERN, [`${NS}clientCapabilities`]: {} };
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'l_slow', arguments: {}, _meta: meta } });
    const conn = http2.connect(new URL(stack.gw.url).origin);
    try {
        const stream = conn.request({
            ':method': 'POST', ':path': new URL(stack.gw.url).pathname, 'content-type': 'application/json',
            accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN,
            'mcp-method': 'tools/call', 'mcp-name': 'l_slow',
        });
        stream.on('error', () => {});
        stream.end(body);
        await waitFor(() => stack.legacy.seen.some((x) => x.body?.id === id), { what: 'the call reached the backend' });
        stream.close(http2.constants.NGHTTP2_CANCEL); // RST_STREAM, and nothing else
        await waitFor(() => stack.legacy.seen.some((x) => x.body?.method === 'notifications/cancelled' && x.body.params.requestId === id), { what: 'notifications/cancelled at the backend' });
        const cancelled = stack.legacy.seen.find((x) => x.body?.method === 'notifications/cancelled' && x.body.params.requestId === id);
        assert.equal(cancelled.sid, stack.legacy.seen.find((x) => x.body?.id === id).sid, 'on the call\'s own pooled session');
        await waitFor(() => stack.gw.logLines().some((l) => /msg="call cancelled" peer=worker-legacy by=client/.test(l)), { what: 'the router ended the call' });
    } finally {
        conn.close();
    }
});

test('pooled sessions past limits.max_pooled_sessions close the least recently used; idle ones close after sessions.upstream_idle, with DELETE', T, async () => {
    const deletes = () => stack.legacy.seen.filter((x) => x.method === 'DELETE').length;
    await sleep(3500); // what earlier tests left idles out
    await waitFor(async () => (await pooled('legacy')) === 0, { timeoutMs: 10000, what: 'idle sessions closed' });
    const before = deletes();
    assert.ok(before >= 1, 'the idle ones were deleted');
    const sids = [];
    for (const caps of [{}, { sampling: {} }, { roots: {} }, { elicitation: {} }]) {
        sids.push((await callJson('l_whoami', {}, { caps })).json.sid);
    }
    assert.equal(new Set(sids).size, 4);
    assert.equal(await pooled('legacy'), 3, 'bounded by limits.max_pooled_sessions');
    await waitFor(() => stack.legacy.seen.some((x) => x.method === 'DELETE' && x.sid === sids[0]), { what: 'the least recently used deleted' });
    // the first key again: a new session (its old one is gone)
    const again = (await callJson('l_whoami')).json.sid;
    assert.notEqual(again, sids[0]);
    assert.ok(stack.gw.logLines().some((l) => /pooled upstream session closed.*reason=max_pooled_sessions/.test(l)));
    assert.ok(stack.gw.logLines().some((l) => /pooled upstream session closed.*reason=idle/.test(l)));
});

test('a pooled session the backend forgot (404) is initialized again and the call retried once', T, async () => {
    const first = (await callJson('l_whoami')).json.sid;
    stack.legacy.sessions.delete(first);
    const second = (await callJson('l_whoami')).json.sid;
    assert.notEqual(second, first);
});

test('a reload applies limits.max_pooled_sessions to the worker it keeps', T, async () => {
    const write = (max) => fs.writeFileSync(stack.gw.configFile, toYaml({ ...stack.gw.config, limits: { ...stack.gw.config.limits, max_pooled_sessions: max } }));
    try {
        write(1);
        const r = await stack.gw.ctl(['reload']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /0 changed/, 'the worker was kept, not restarted');
        await waitFor(() => stack.gw.logLines().some((l) => /msg="reload: worker settings applied" backend=legacy changed=1/.test(l)), { what: 'the worker took the new value' });
        for (const caps of [{ sampling: {} }, { roots: {} }, { elicitation: {} }]) {
            await callJson('l_whoami', {}, { caps });
        }
        assert.equal(await pooled('legacy'), 1, 'bounded by the reloaded limits.max_pooled_sessions');
    } finally {
        write(3);
        assert.equal((await stack.gw.ctl(['reload'])).code, 0);
    }
});
