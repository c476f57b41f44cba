// Backends of either era (issue 14 point 5, docs/design-2026-07-28.md 7.2 and 7.3): the worker
// probes server/discover and classifies the answer as the v2 client does; what it sends a
// 2026-07-28 backend (stateless POSTs, _meta, MCP-Protocol-Version, Mcp-Method, Mcp-Name,
// Mcp-Param-*); tools with an invalid x-mcp-header left out; cancellation of a call to a
// 2026-07-28 backend; the probe again after a reload.
//
// The 2025 backends are real: the C test backend and server-everything. The 2026-07-28 backend
// is a fake written here (node:http), because @modelcontextprotocol/server 2.4.0 is not in
// tests/node_modules on this branch (part T adds it): it checks the headers and _meta the way
// the v2 server does (design 8.2: 400 -32020 for a header that disagrees with the body, 400
// -32602 for _meta without its keys, 400 -32022 to initialize), answers as it does, and records
// every request so the test can assert what the worker sent; the official 1.32.2 SDK client
// calls it through the gateway. Three more fakes answer the probe
// with 401, 500 and -32022. The dual backend (both eras on one endpoint) is the real conformance
// fixture, mcpgw-conformance --era dual.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DEFAULT_HEADERS, initializeSession, rawPost, readSse, startBackend, startConformance, startEverything, startGateway, useSetup, waitFor, sleep, listenHttp as listen, readBody } from '../lib/index.mjs';

const MODERN = '2026-07-28';
const NS = 'io.modelcontextprotocol/';

function answer(res, status, msg) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(msg));
}

function rpcError(res, status, id, code, message, data) {
    answer(res, status, { jsonrpc: '2.0', id: id ?? null, error: { code, message, ...(data ? { data } : {}) } });
}

/** Decodes an Mcp-* header value: plain, or =?base64?...?=. */
function headerValue(v) {
    if (v === undefined) {
        return undefined;
    }
    const m = /^=\?base64\?(.*)\?=$/.exec(v);
    return m ? Buffer.from(m[1], 'base64').toString('utf8') : v;
}

const TOOLS = [
    { name: 'echo', description: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
    {
        name: 'region',
        description: 'a tool whose region argument is mirrored in Mcp-Param-Region',
        inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, dry: { type: 'boolean', 'x-mcp-header': 'Dry' } } },
    },
    {
        name: 'badheader',
        description: 'declares x-mcp-header on a number: invalid, must be left out',
        inputSchema: { type: 'object', properties: { n: { type: 'number', 'x-mcp-header': 'N' } } },
    },
    { name: 'slow', description: 'never answers until the request goes away', inputSchema: { type: 'object' } },
];

const RESOURCES = [
    { uri: 'mem://plain/a', name: 'a' },
    { uri: 'mem://caf\u00e9', name: 'accented' }, // not visible ASCII: the base64 sentinel
];

/** A 2026-07-28 backend in the manner of the v2 server with legacy: 'reject'. */
async function startModernFake({ down = false, discover = true } = {}) {
    const seen = [];
    const aborted = [];
    const state = { down, discover };
    const fake = await listen(async (req, res) => {
        const text = await readBody(req);
        if (state.down) {
            return rpcError(res, 503, null, -32603, 'starting');
        }
        let msg;
        try {
            msg = JSON.parse(text);
        } catch {
            return rpcError(res, 400, null, -32700, 'Parse error');
        }
        const h = req.headers;
        seen.push({ method: req.method, headers: h, body: msg });
        if (req.method !== 'POST') {
            return rpcError(res, 405, null, -32000, 'Method not allowed.');
        }
        const meta = msg.params && msg.params._meta;
        if (msg.method === 'server/discover' && !state.discover) {
            return rpcError(res, 404, msg.id, -32601, 'Method not found'); // looks like 2025
        }
        if (msg.method === 'initialize' && !meta) {
            return rpcError(res, 400, msg.id, -32022, 'Unsupported protocol version', { supported: [MODERN], requested: msg.params?.protocolVersion });
        }
        if (!meta || typeof meta[`${NS}protocolVersion`] !== 'string') {
            return rpcError(res, 400, msg.id, -32602, 'Invalid params: _meta', { envelope: { missing: ['_meta'] } });
        }
        if (typeof meta[`${NS}clientCapabilities`] !== 'object') {
            return rpcError(res, 400, msg.id, -32602, 'Invalid params: clientCapabilities', { envelope: { key: `${NS}clientCapabilities`, problem: 'missing' } });
        }
        if (h['mcp-protocol-version'] !== meta[`${NS}protocolVersion`]) {
            return rpcError(res, 400, msg.id, -32020, 'Header mismatch: MCP-Protocol-Version');
        }
        if (msg.id !== undefined && h['mcp-method'] !== msg.method) {
            return rpcError(res, 400, msg.id, -32020, `Header mismatch: Mcp-Method '${h['mcp-method']}'`);
        }
        if (msg.id === undefined) {
            res.writeHead(202).end();
            return;
        }
        const name = msg.params?.name;
        if ((msg.method === 'tools/call' || msg.method === 'prompts/get') && headerValue(h['mcp-name']) !== name) {
            return rpcError(res, 400, msg.id, -32020, 'Header mismatch: Mcp-Name');
        }
        const ok = (result) => answer(res, 200, { jsonrpc: '2.0', id: msg.id, result: { resultType: 'complete', ...result } });
        switch (msg.method) {
        case 'server/discover':
            return ok({
                supportedVersions: [MODERN],
                capabilities: { tools: { listChanged: true }, logging: {}, resources: {} },
                ttlMs: 0,
                cacheScope: 'private',
                _meta: { [`${NS}serverInfo`]: { name: 'fake-v2', version: '2.4.0' } },
            });
        case 'tools/list':
            return ok({ tools: TOOLS, ttlMs: 0, cacheScope: 'private' });
        case 'resources/list':
            return ok({ resources: RESOURCES, ttlMs: 0, cacheScope: 'private' });
        case 'resources/templates/list':
            return ok({ resourceTemplates: [], ttlMs: 0, cacheScope: 'private' });
        case 'resources/read':
            if (headerValue(h['mcp-name']) !== msg.params.uri) {
                return rpcError(res, 400, msg.id, -32020, 'Header mismatch: Mcp-Name');
            }
            return ok({ contents: [{ uri: msg.params.uri, text: JSON.stringify({ headers: h }) }], ttlMs: 0, cacheScope: 'private' });
        case 'tools/call': {
            const args = msg.params.arguments || {};
            if (name === 'region') {
                if (args.region !== undefined && headerValue(h['mcp-param-region']) !== args.region) {
                    return rpcError(res, 400, msg.id, -32020, 'Header mismatch: Mcp-Param-Region');
                }
                if (args.dry !== undefined && h['mcp-param-dry'] !== String(args.dry)) {
                    return rpcError(res, 400, msg.id, -32020, 'Header mismatch: Mcp-Param-Dry');
                }
            }
            if (name === 'slow') {
                req.on('close', () => aborted.push(msg.id));
                res.on('close', () => {
                    if (!res.writableEnded) {
                        aborted.push(msg.id);
                    }
                });
                return undefined; /* no answer: the worker must stop the transfer */
            }
            return ok({ content: [{ type: 'text', text: JSON.stringify({ backend: 'modern', name, args, meta, headers: h }) }] });
        }
        default:
            return rpcError(res, 404, msg.id, -32601, 'Method not found');
        }
    });
    return { ...fake, seen, aborted, state };
}

/** A backend that answers every POST with the same HTTP status and body (the probe's fakes). */
async function startFixedFake(status, body) {
    const seen = [];
    const fake = await listen(async (req, res) => {
        const text = await readBody(req);
        seen.push({ headers: req.headers, body: text ? JSON.parse(text) : undefined });
        const msg = seen.at(-1).body;
        answer(res, status, typeof body === 'function' ? body(msg) : body);
    });
    return { ...fake, seen };
}

const stack = useSetup(async () => {
    const [alpha, everything, modern, late, upgraded, auth, broken, retry, dual] = await Promise.all([
        startBackend({ name: 'alpha' }),
        startEverything(),
        startModernFake(),
        startModernFake({ down: true }), // 503 until the test brings it up
        startModernFake({ discover: false }), // 404 -32601 to discover (2025-like), -32022 to initialize

        startFixedFake(401, { error: 'unauthorized' }),
        startFixedFake(500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'boom' } }),
        // -32022 naming 2026-07-28: probed again once, then taken as the 2025 era
        startFixedFake(400, (m) => ({ jsonrpc: '2.0', id: m?.id ?? null, error: { code: -32022, message: 'Unsupported protocol version', data: { supported: [MODERN], requested: MODERN } } })),
        startConformance({ era: 'dual' }),
    ]);
    const gw = await startGateway({
        servers: [
            { name: 'alpha', url: alpha.url, prefix: 'alpha_' },
            { name: 'everything', url: everything.url, prefix: 'ev_' },
            { name: 'modern', url: modern.url, prefix: 'm_', headers: { 'X-Backend-Key': 'modern-secret' }, health_interval: '1s' },
            { name: 'late', url: late.url, prefix: 'late_' },
            { name: 'upgraded', url: upgraded.url, prefix: 'up_' },
            { name: 'auth', url: auth.url, prefix: 'auth_', headers: { Authorization: 'Bearer wrong' } },
            { name: 'broken', url: broken.url, prefix: 'broken_' },
            { name: 'retry', url: retry.url, prefix: 'retry_' },
            { name: 'dual', url: dual.url, prefix: 'd_' },
        ],
    });
    return { gw, alpha, everything, modern, late, upgraded, auth, broken, retry, dual };
}, {
    async cleanup() {
        await Promise.all([stack.modern, stack.late, stack.upgraded, stack.auth, stack.broken, stack.retry].map((f) => f && f.close()));
    },
});

async function backends() {
    const r = await stack.gw.ctl(['backends', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return Object.fromEntries(JSON.parse(r.stdout).backends.map((b) => [b.name, b]));
}

const T = { timeout: 60000 };

test('the probe: the C backend and server-everything are legacy, the v2-like fake modern, 401/500 down, -32022 probed twice', T, async () => {
    const b = await waitFor(async () => {
        const x = await backends();
        return x.modern.state === 'up' && x.alpha.state === 'up' && x.everything.state === 'up' && x.auth.probe === 'auth' && x.broken.probe === 'down' && x.retry.probe === 'version_retry' ? x : null;
    }, { timeoutMs: 30000, what: 'every backend probed' });
    assert.equal(b.alpha.era, 'legacy');
    assert.equal(b.alpha.probe, 'rpc_error'); // 400 -32600 "Mcp-Session-Id required"
    assert.equal(b.everything.era, 'legacy');
    assert.equal(b.everything.probe, 'rpc_error'); // 400 -32000 "Server not initialized"
    assert.equal(b.modern.era, 'modern');
    assert.equal(b.modern.probe, 'discover');
    assert.equal(b.auth.era, 'unknown');
    assert.equal(b.auth.state, 'down');
    assert.match(b.auth.error, /answered HTTP 401 to server\/discover/);
    assert.equal(b.broken.era, 'unknown');
    assert.equal(b.broken.state, 'down');
    assert.equal(b.retry.era, 'legacy');
    // the retry fake saw the probe twice, then (legacy) an initialize
    const methods = stack.retry.seen.map((s) => s.body?.method);
    assert.deepEqual(methods.slice(0, 3), ['server/discover', 'server/discover', 'initialize']);
    // the probe as the design says: headers, _meta, the backend's configured headers
    const probe = stack.modern.seen.find((s) => s.body.method === 'server/discover');
    assert.equal(probe.headers['mcp-protocol-version'], MODERN);
    assert.equal(probe.headers['mcp-method'], 'server/discover');
    assert.equal(probe.headers['x-backend-key'], 'modern-secret');
    assert.equal(probe.headers['mcp-session-id'], undefined);
    const meta = probe.body.params._meta;
    assert.equal(meta[`${NS}protocolVersion`], MODERN);
    assert.deepEqual(meta[`${NS}clientCapabilities`], {});
    assert.equal(meta[`${NS}clientInfo`].name, 'mcpgw');
    assert.equal(stack.auth.seen[0].headers.authorization, 'Bearer wrong');
    // logged once per change, not once per probe
    const lines = stack.gw.logLines().filter((l) => /msg="backend era" backend=modern\b/.test(l));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], /era=modern probe=discover/);
});

test('a 2026-07-28 backend: one refused initialize (the era check), no session, lists and calls with _meta and the Mcp-* headers', T, async () => {
    const s = await initializeSession(stack.gw.url, { capabilities: { sampling: {}, elicitation: {} } });
    const names = await s.toolNames();
    assert.ok(names.includes('m_echo') && names.includes('m_region'), names.join(' '));
    assert.ok(!names.includes('m_badheader'), 'a tool with an invalid x-mcp-header is left out');
    assert.ok(stack.gw.logLines().some((l) => /tool left out: invalid x-mcp-header.*backend=modern.*tool="badheader"/.test(l)));
    // one initialize, the catalog session's, which tells a dual backend from a 2026-07-28 one
    // (worker/era.c): refused with -32022, and no session follows
    const inits = stack.modern.seen.filter((x) => x.body.method === 'initialize');
    assert.equal(inits.length, 1, 'one initialize: the era check');
    assert.ok(!stack.modern.seen.some((x) => x.body.method === 'notifications/initialized'), 'never initialized');
    assert.ok(!stack.modern.seen.some((x) => x.method !== 'POST'), 'no GET stream, no DELETE');
    assert.ok(stack.modern.seen.every((x) => x.headers['mcp-session-id'] === undefined));
    const list = stack.modern.seen.find((x) => x.body.method === 'tools/list');
    assert.equal(list.headers['mcp-method'], 'tools/list');

    const r = await s.call('tools/call', { name: 'm_echo', arguments: { text: 'hi' }, _meta: { progressToken: 'p1' } });
    const got = JSON.parse(r.content[0].text);
    assert.equal(got.name, 'echo'); // the backend's own name, unprefixed
    assert.equal(got.headers['mcp-name'], 'echo');
    assert.equal(got.headers['mcp-method'], 'tools/call');
    assert.equal(got.headers['mcp-protocol-version'], MODERN);
    assert.equal(got.meta.progressToken, 'p1'); // the client's own _meta keys kept
    assert.deepEqual(got.meta[`${NS}clientCapabilities`], { sampling: {}, elicitation: { form: {} } });
    assert.equal(got.meta[`${NS}clientInfo`].name, 'mcpgw');
    assert.equal(got.meta[`${NS}logLevel`], undefined);
});

test('x-mcp-header: Mcp-Param-* from the arguments (plain, sentinel-encoded, booleans)', T, async () => {
    const s = await initializeSession(stack.gw.url);
    let got = JSON.parse((await s.call('tools/call', { name: 'm_region', arguments: { region: 'us west', dry: true } })).content[0].text);
    assert.equal(got.headers['mcp-param-region'], 'us west');
    assert.equal(got.headers['mcp-param-dry'], 'true');
    got = JSON.parse((await s.call('tools/call', { name: 'm_region', arguments: { region: ' café' } })).content[0].text);
    assert.equal(got.headers['mcp-param-region'], `=?base64?${Buffer.from(' café').toString('base64')}?=`);
    assert.equal(got.headers['mcp-param-dry'], undefined);
});

test('a session\'s logging/setLevel goes in the next request\'s _meta of a 2026-07-28 backend', T, async () => {
    const s = await initializeSession(stack.gw.url);
    await s.call('tools/call', { name: 'm_echo', arguments: { text: 'warm' } }); // the upstream record exists
    await s.call('logging/setLevel', { level: 'warning' });
    const meta = await waitFor(async () => {
        const got = JSON.parse((await s.call('tools/call', { name: 'm_echo', arguments: { text: 'x' } })).content[0].text);
        return got.meta[`${NS}logLevel`] === 'warning' ? got.meta : null;
    }, { what: 'logLevel in _meta' });
    assert.equal(meta[`${NS}logLevel`], 'warning');
    assert.ok(!stack.modern.seen.some((x) => x.body.method === 'logging/setLevel'), 'no logging/setLevel to a 2026-07-28 backend');
});

test('an old-era notifications/cancelled stops the transfer to a 2026-07-28 backend (no notification posted)', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const id = 'slow-1';
    const call = s.request('tools/call', { name: 'm_slow', arguments: {} }, { id });
    await waitFor(() => stack.modern.seen.some((x) => x.body.id === id), { what: 'the slow call reached the backend' });
    const before = stack.modern.seen.length;
    const r = await s.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } });
    assert.equal(r.status, 202);
    await waitFor(() => stack.modern.aborted.includes(id), { what: 'the backend saw its request go away' });
    const after = await call;
    assert.equal(after.response, undefined); // a cancelled request gets no answer
    await sleep(200);
    assert.ok(!stack.modern.seen.slice(before).some((x) => x.body.method === 'notifications/cancelled'));
});

test('health checks of a 2026-07-28 backend are server/discover, never ping', T, async () => {
    const count = () => stack.modern.seen.filter((x) => x.body.method === 'server/discover').length;
    const n = count();
    await waitFor(() => count() >= n + 2, { timeoutMs: 10000, what: 'discover health checks' });
    assert.ok(!stack.modern.seen.some((x) => x.body.method === 'ping'));
});

test('a reload probes every kept backend again', T, async () => {
    const count = (f) => f.seen.filter((x) => x.body?.method === 'server/discover').length;
    // the health checks of the modern fake also probe: watch the C-backend-like retry fake and
    // the 401 one too (their probes do not repeat on their own within the backoff)
    await sleep(300);
    const before = count(stack.retry);
    const r = await stack.gw.ctl(['reload']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => count(stack.retry) >= before + 1, { timeoutMs: 10000, what: 'a probe after the reload' });
    const b = await backends();
    assert.equal(b.modern.era, 'modern');
    assert.equal(b.alpha.era, 'legacy');
});

test('a backend down at its probe is probed again (every 2 s, as the catalog of a down backend always was) and found modern once it answers', T, async () => {
    let b = await backends();
    assert.equal(b.late.state, 'down');
    assert.equal(b.late.era, 'unknown');
    assert.equal(b.late.probe, 'down');
    stack.late.state.down = false;
    b = await waitFor(async () => {
        const x = await backends();
        return x.late.state === 'up' ? x : null;
    }, { timeoutMs: 40000, what: 'late probed again and up' });
    assert.equal(b.late.era, 'modern');
    assert.equal(b.late.probe, 'discover');
    const s = await initializeSession(stack.gw.url);
    const got = JSON.parse((await s.call('tools/call', { name: 'late_echo', arguments: { text: 'now' } })).content[0].text);
    assert.equal(got.args.text, 'now');
});

test('a backend taken for 2025 whose initialize answers -32022 is probed again, and found modern once discover answers', T, async () => {
    const count = () => stack.upgraded.seen.filter((x) => x.body.method === 'server/discover').length;
    await waitFor(() => stack.upgraded.seen.some((x) => x.body.method === 'initialize'), { what: 'an initialize' });
    await waitFor(() => count() >= 2, { timeoutMs: 10000, what: 'the probe again after -32022' });
    stack.upgraded.state.discover = true;
    const b = await waitFor(async () => {
        const x = await backends();
        return x.upgraded.state === 'up' ? x : null;
    }, { timeoutMs: 20000, what: 'upgraded up' });
    assert.equal(b.upgraded.era, 'modern');
    // probed again, but never in a loop: at most one probe a second
    assert.ok(count() < 30, `probes: ${count()}`);
    assert.ok(stack.gw.logLines().some((l) => /msg="backend era" backend=upgraded era=legacy probe=rpc_error/.test(l)));
    assert.ok(stack.gw.logLines().some((l) => /msg="backend era" backend=upgraded era=modern probe=discover/.test(l)));
});

test('the official 1.x SDK client through the gateway to the 2026-07-28 backend: lists and calls, x-mcp-header built by the worker', T, async () => {
    const client = new Client({ name: 'mcpgw-eras', version: '0.1.0' });
    const transport = new StreamableHTTPClientTransport(new URL(stack.gw.url));
    await client.connect(transport);
    try {
        const { tools } = await client.listTools();
        const names = tools.map((t) => t.name);
        assert.ok(names.includes('m_region'), names.join(' '));
        assert.ok(!names.includes('m_badheader'));
        const r = await client.callTool({ name: 'm_region', arguments: { region: 'eu-central', dry: false } });
        const got = JSON.parse(r.content[0].text);
        assert.equal(got.headers['mcp-param-region'], 'eu-central');
        assert.equal(got.headers['mcp-param-dry'], 'false');
        assert.equal(got.headers['mcp-name'], 'region');
        assert.equal(got.meta[`${NS}clientInfo`].name, 'mcpgw');
    } finally {
        await transport.terminateSession().catch(() => {});
        await client.close();
    }
});

test('resources/read on a 2026-07-28 backend: Mcp-Name is the URI, sentinel-encoded when not visible ASCII', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const uris = (await s.call('resources/list')).resources.map((r) => r.uri);
    for (const r of RESOURCES) {
        assert.ok(uris.includes(r.uri), `${r.uri} listed: ${uris.join(' ')}`);
    }
    let got = JSON.parse((await s.call('resources/read', { uri: 'mem://plain/a' })).contents[0].text);
    assert.equal(got.headers['mcp-name'], 'mem://plain/a');
    assert.equal(got.headers['mcp-method'], 'resources/read');
    got = JSON.parse((await s.call('resources/read', { uri: 'mem://caf\u00e9' })).contents[0].text);
    assert.equal(got.headers['mcp-name'], `=?base64?${Buffer.from('mem://caf\u00e9').toString('base64')}?=`);
});

/** A 2026-07-28 request as the v2 client sends it (the router makes it a GW_ENV_F_MODERN call). */
function modernPost(method, params, { id, signal, caps = { elicitation: {} } } = {}) {
    const meta = { [`${NS}protocolVersion`]: MODERN, [`${NS}clientCapabilities`]: caps, [`${NS}clientInfo`]: { name: 'v2-caller', version: '9' } };
    const body = { jsonrpc: '2.0', method, params: { ...params, _meta: { ...meta, ...(params._meta || {}) } } };
    if (id !== undefined) {
        body.id = id;
    }
    const headers = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': method };
    if (params.name) {
        headers['Mcp-Name'] = params.name;
    }
    return rawPost(stack.gw.url, body, headers, { signal });
}

test('a 2026-07-28 caller of a 2026-07-28 backend: its own _meta goes up as it is, with the headers from the backend\'s own names', T, async () => {
    const r = await modernPost('tools/call', { name: 'm_echo', arguments: { text: 'own' }, _meta: { progressToken: 'pt' } }, { id: 'own-1' });
    const resp = r.messages.find((m) => m && m.id === 'own-1');
    assert.ok(resp && resp.result, r.text.slice(0, 300));
    const got = JSON.parse(resp.result.content[0].text);
    assert.equal(got.meta[`${NS}clientInfo`].name, 'v2-caller'); // not the gateway's
    assert.deepEqual(got.meta[`${NS}clientCapabilities`], { elicitation: {} });
    assert.equal(got.meta.progressToken, 'pt');
    assert.equal(got.headers['mcp-name'], 'echo');
    assert.equal(got.headers['mcp-session-id'], undefined);
});

test('a 2026-07-28 caller going away from a call to a 2026-07-28 backend: the transfer stops, no notification posted', T, async () => {
    const id = 'own-slow-1';
    const ac = new AbortController();
    const pending = modernPost('tools/call', { name: 'm_slow', arguments: {} }, { id, signal: ac.signal }).catch((e) => e);
    await waitFor(() => stack.modern.seen.some((x) => x.body.id === id), { what: 'the call reached the backend' });
    const before = stack.modern.seen.length;
    ac.abort();
    await pending;
    // over HTTP/1.1 the router cannot see the close while the answer is pending; the client's
    // notifications/cancelled is the cancel it honours (router/modern.c)
    await modernPost('notifications/cancelled', { requestId: id });
    await waitFor(() => stack.modern.aborted.includes(id), { what: 'the backend saw its request go away' });
    await sleep(200);
    assert.ok(!stack.modern.seen.slice(before).some((x) => x.body.method === 'notifications/cancelled'));
});

const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm', stopReason: 'endTurn' };

async function dualUp() {
    return waitFor(async () => {
        const b = (await backends()).dual;
        return b.state === 'up' ? b : null;
    }, { timeoutMs: 30000, what: 'the dual backend up' });
}

test('a dual backend (discover names 2026-07-28, initialize accepted) is shown dual, logged once', T, async () => {
    const b = await dualUp();
    assert.equal(b.era, 'dual');
    assert.equal(b.probe, 'discover');
    const r = await stack.gw.ctl(['backends']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dual\s+up\s+dual\b/m, r.stdout);
    const lines = stack.gw.logLines().filter((l) => /msg="backend era" backend=dual\b/.test(l));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], /era=dual probe=discover .*initialize was accepted/);
});

test('a 2025 session on a dual backend: its sampling tool asks on the call\'s stream and completes when answered', T, async () => {
    await dualUp();
    const s = await initializeSession(stack.gw.url, { capabilities: { sampling: {} } });
    const id = 'dual-sampling-1';
    const res = await fetch(stack.gw.url, {
        method: 'POST',
        headers: { ...DEFAULT_HEADERS, ...s.headers() },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'd_test_sampling', arguments: { prompt: 'Say hi' } } }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const events = readSse(res.body);
    let ask;
    let done;
    for await (const ev of events) {
        const m = ev.json;
        if (m?.method === 'sampling/createMessage') {
            ask = m;
            const a = await s.post({ jsonrpc: '2.0', id: m.id, result: SAMPLED });
            assert.ok(a.status === 202 || a.status === 200, `the answer: HTTP ${a.status} ${a.text}`);
        } else if (m?.id === id) {
            done = m;
            break;
        }
    }
    assert.ok(ask, 'a sampling/createMessage request on the stream');
    assert.equal(ask.params.messages[0].content.text, 'Say hi');
    assert.ok(done?.result, JSON.stringify(done));
    assert.equal(done.result.content[0].text, 'LLM response: hi');
    assert.equal(done.result.resultType, undefined, 'a 2025 answer');
    // resources/subscribe, which 2026-07-28 has not, works for the 2025 session
    await s.call('resources/subscribe', { uri: 'test://watched-resource' });
});

test('a 2026-07-28 caller of the same dual backend: its input_required comes untouched, its retry completes', T, async () => {
    await dualUp();
    const call = { name: 'd_test_sampling', arguments: { prompt: 'Say hi' } };
    const r = await modernPost('tools/call', call, { id: 'dual-m-1', caps: { sampling: {} } });
    const ask = r.messages.find((m) => m && m.id === 'dual-m-1')?.result;
    assert.ok(ask, r.text.slice(0, 300));
    assert.ok(!r.messages.some((m) => m.method === 'sampling/createMessage'), 'no server request on the stream');
    assert.equal(ask.resultType, 'input_required');
    // as the backend itself answers the same request
    const meta = { [`${NS}protocolVersion`]: MODERN, [`${NS}clientCapabilities`]: { sampling: {} }, [`${NS}clientInfo`]: { name: 'v2-caller', version: '9' } };
    const direct = await rawPost(stack.dual.url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'test_sampling', arguments: call.arguments, _meta: meta } },
        { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'test_sampling' });
    assert.deepEqual(ask.inputRequests, direct.messages.find((m) => m.id === 1).result.inputRequests);
    assert.equal(ask.inputRequests.sampling.method, 'sampling/createMessage');
    const retry = { ...call, inputResponses: { sampling: SAMPLED }, ...(ask.requestState !== undefined ? { requestState: ask.requestState } : {}) };
    const r2 = await modernPost('tools/call', retry, { id: 'dual-m-2', caps: { sampling: {} } });
    const done = r2.messages.find((m) => m && m.id === 'dual-m-2')?.result;
    assert.ok(done, r2.text.slice(0, 300));
    assert.equal(done.resultType, 'complete');
    assert.equal(done.content[0].text, 'LLM response: hi');
});
