// Both eras on one endpoint (issue 14, docs/design-2026-07-28.md §1-§3): raw POSTs of 2026-07-28
// requests, one case per wire rule the router enforces, each asserting the status, the JSON-RPC
// code, the id echoed and the data; server/discover per endpoint and with a backend down; and the
// old era's rules unchanged beside them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import {
    makeTempDir,
    initializeSession,
    onlyMessage,
    rawPost,
    startBackend,
    startEverything,
    startGateway,
    toYaml,
    useSetup,
    waitFor,
} from '../lib/index.mjs';

const V = '2026-07-28';
const NS = 'io.modelcontextprotocol/';
const META = {
    [`${NS}protocolVersion`]: V,
    [`${NS}clientCapabilities`]: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
    [`${NS}clientInfo`]: { name: 'era-test', version: '1.0.0' },
};

/** A port nothing listens on: a backend that is down from the start. */
async function closedPort() {
    const srv = net.createServer();
    await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address();
    await new Promise((resolve) => srv.close(resolve));
    return port;
}

// the top-level instructions (quotes and a newline: sent as JSON text) and the /mcp/alpha
// endpoint's own
const INSTRUCTIONS = 'Search with ev_ tools.\nSay "done" at the end.';

const ISS = 'https://idp.era.test';
const RESOURCE = 'https://mcp.era.test/mcp';
const authDir = makeTempDir('mcpgw-era-auth-');
let authKey;

/** A gateway with auth (one ES256 key in a jwks_file) in front of alpha. */
async function startAuthGateway(alpha) {
    authKey = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(authKey.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(authDir, 'idp.jwks');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    return startGateway({
        servers: [{ name: 'alpha', url: alpha.url, prefix: 'alpha_' }],
        extra: { auth: { resource: RESOURCE, issuers: [{ issuer: ISS, jwks_file: jwksFile }] } },
    });
}

async function bearer(sub) {
    const t = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
        .setSubject(sub)
        .setIssuer(ISS)
        .setAudience(RESOURCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(authKey.privateKey);
    return { Authorization: `Bearer ${t}` };
}

const stack = useSetup(async () => {
    const [alpha, ev, ev2] = await Promise.all([
        startBackend({ name: 'alpha' }),
        startEverything(),
        startEverything({ label: 'everything-2' }),
    ]);
    const servers = [
        { name: 'alpha', url: alpha.url, prefix: 'alpha_' },
        { name: 'ev', url: ev.url, prefix: 'ev_' },
        { name: 'ev2', url: ev2.url, prefix: 'ev2_' }, // two resource servers: URIs need an owner
    ];
    const gw = await startGateway({
        servers,
        extra: {
            instructions: INSTRUCTIONS,
            endpoints: [{ path: '/mcp/alpha', servers: ['alpha'], instructions: 'Alpha only.' }],
        },
    });
    const down = await startGateway({
        servers: [
            { name: 'alpha', url: alpha.url, prefix: 'alpha_' },
            { name: 'gone', url: `http://127.0.0.1:${await closedPort()}/mcp`, prefix: 'gone_' },
        ],
        // a low rate: its tests make four requests in all
        extra: { limits: { rate: { requests: '2/m', burst: 2 } } },
    });
    const authed = await startAuthGateway(alpha);
    return { alpha, ev, gw, down, authed };
}, { cleanup: () => fs.rmSync(authDir, { recursive: true, force: true }) });

const T = { timeout: 30000 };

/** The standard headers of a modern request for method (name: Mcp-Name; null leaves one out). */
function headers(method, extra = {}) {
    return { 'MCP-Protocol-Version': V, 'Mcp-Method': method, ...extra };
}

function request(id, method, params = {}, meta = META) {
    return { jsonrpc: '2.0', id, method, params: meta === null ? params : { ...params, _meta: meta } };
}

async function post(body, hdrs, url = stack.gw.url) {
    return rawPost(url, body, hdrs);
}

function expectError(r, status, code, id) {
    assert.equal(r.status, status, `HTTP status (body: ${r.text.slice(0, 300)})`);
    const m = onlyMessage(r);
    assert.ok(m && m.error, `a JSON-RPC error: ${r.text.slice(0, 300)}`);
    assert.equal(m.error.code, code, `code (message: ${m.error.message})`);
    assert.deepEqual(m.id, id, 'the id echoed');
    assert.equal(typeof m.error.message, 'string');
    return m.error;
}

/** The merged discover result on url, checked for the parts every one must have. */
async function discover(url, id = 'd1') {
    const r = await post(request(id, 'server/discover'), headers('server/discover'), url);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const m = onlyMessage(r);
    assert.equal(m.id, id);
    assert.ok(m.result, r.text.slice(0, 300));
    assert.equal(m.result.resultType, 'complete');
    assert.deepEqual(m.result.supportedVersions, [V]);
    assert.equal(m.result.ttlMs, 0);
    assert.equal(m.result.cacheScope, 'public'); // no auth configured
    assert.equal(m.result._meta[`${NS}serverInfo`].name, 'mcpgw');
    assert.equal(typeof m.result._meta[`${NS}serverInfo`].version, 'string');
    assert.deepEqual(m.result.capabilities.tools, { listChanged: true });
    assert.equal(m.result.capabilities.tasks, undefined, 'tasks is an extension, not offered');
    return m.result;
}

test('server/discover: the merged capabilities of the endpoint, in 2026 form', T, async () => {
    const main = await discover(stack.gw.url);
    assert.ok(main.capabilities.prompts, 'server-everything offers prompts');
    assert.ok(main.capabilities.resources);
    assert.equal(main.capabilities.resources.listChanged, true);
    const alpha = await discover(`${stack.gw.origin}/mcp/alpha`);
    assert.deepEqual(Object.keys(alpha.capabilities).sort().filter((k) => k !== 'logging'), ['tools']);
    // the id is echoed whatever its type, and clientInfo is optional
    const { [`${NS}clientInfo`]: _, ...noInfo } = META;
    const r = await post(request(42, 'server/discover', {}, noInfo), headers('server/discover'));
    assert.equal(r.status, 200);
    assert.equal(onlyMessage(r).id, 42);
});

test('instructions: the config value in discover and in initialize, per endpoint, changed by a reload', T, async () => {
    const alphaUrl = `${stack.gw.origin}/mcp/alpha`;
    assert.equal((await discover(stack.gw.url)).instructions, INSTRUCTIONS);
    assert.equal((await discover(alphaUrl)).instructions, 'Alpha only.');
    assert.equal((await initializeSession(stack.gw.url)).initResult.instructions, INSTRUCTIONS);
    assert.equal((await initializeSession(alphaUrl)).initResult.instructions, 'Alpha only.');
    const none = await initializeSession(stack.authed.url, { bearer: (await bearer('era-bob')).Authorization.slice('Bearer '.length) });
    assert.equal(none.initResult.instructions, undefined, 'none configured: no key');
    const write = (instructions) => fs.writeFileSync(stack.gw.configFile, toYaml({ ...stack.gw.config, instructions }));
    try {
        write('Changed.');
        const r = await stack.gw.ctl(['reload']);
        assert.equal(r.code, 0, r.stderr);
        await waitFor(async () => (await discover(stack.gw.url)).instructions === 'Changed.', { what: 'discover with the new instructions', timeoutMs: 15000 });
        assert.equal((await initializeSession(stack.gw.url)).initResult.instructions, 'Changed.');
        assert.equal((await discover(alphaUrl)).instructions, 'Alpha only.', 'the endpoint keeps its own');
    } finally {
        write(INSTRUCTIONS);
        assert.equal((await stack.gw.ctl(['reload'])).code, 0);
    }
});

test('server/discover with a backend down is still 200 (never a 5xx)', T, async () => {
    const d = await discover(stack.down.url, 'down-1');
    assert.deepEqual(d.capabilities.tools, { listChanged: true });
});

test('limits.rate counts modern requests, discover included: 429 -32029 with the id', T, async () => {
    let last;
    for (let i = 0; i < 3; i++) {
        last = await post(request(`r${i}`, 'server/discover'), headers('server/discover'), stack.down.url);
    }
    expectError(last, 429, -32029, 'r2');
});

test('row 1: a body that is not JSON is 400 -32700', T, async () => {
    expectError(await post('{"jsonrpc":', headers('tools/list')), 400, -32700, null);
});

test('row 2: JSON that is not JSON-RPC is 400 -32600', T, async () => {
    expectError(await post({ hello: 'world' }, headers('tools/list')), 400, -32600, null);
});

test('row 3: a batch with a modern element is 400 -32600', T, async () => {
    const e = expectError(await post([request(1, 'tools/list'), request(2, 'tools/list')], headers('tools/list')), 400, -32600, null);
    assert.match(e.message, /batch/);
});

test('row 4: an envelope key missing or invalid is 400 -32602, naming it', T, async () => {
    const { [`${NS}clientCapabilities`]: _, ...noCaps } = META;
    let e = expectError(await post(request(104, 'server/discover', {}, noCaps), headers('server/discover')), 400, -32602, 104);
    assert.deepEqual(e.data, { envelope: { key: `${NS}clientCapabilities`, problem: 'missing' } });
    e = expectError(await post(request('x', 'tools/list', {}, { ...META, [`${NS}logLevel`]: 'loud' }), headers('tools/list')), 400, -32602, 'x');
    assert.deepEqual(e.data, { envelope: { key: `${NS}logLevel`, problem: 'invalid' } });
    e = expectError(await post(request(3, 'tools/list', {}, { ...META, [`${NS}clientInfo`]: { name: 'x' } }), headers('tools/list')), 400, -32602, 3);
    assert.equal(e.data.envelope.key, `${NS}clientInfo`);
});

test('row 5: a 2026 header over a body without the claim is 400 -32602', T, async () => {
    let e = expectError(await post(request(101, 'server/discover', {}, null), headers('server/discover')), 400, -32602, 101);
    assert.deepEqual(e.data, { envelope: { missing: ['_meta'] } });
    const { [`${NS}protocolVersion`]: _, ...noVersion } = META;
    e = expectError(await post(request(102, 'server/discover', {}, noVersion), headers('server/discover')), 400, -32602, 102);
    assert.deepEqual(e.data.envelope.missing, [`${NS}protocolVersion`]);
});

test('row 6: initialize with a 2026 header is 400 -32020', T, async () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    expectError(await post(body, { 'MCP-Protocol-Version': V }), 400, -32020, 1);
});

test('row 7: MCP-Protocol-Version different from the claim is 400 -32020 (before row 9)', T, async () => {
    let e = expectError(await post(request(5, 'tools/list'), headers('tools/list', { 'MCP-Protocol-Version': '2025-11-25' })), 400, -32020, 5);
    assert.deepEqual(e.data.mismatch, { header: 'MCP-Protocol-Version', value: '2025-11-25', body: V });
    e = expectError(await post(request(6, 'tools/list', {}, { ...META, [`${NS}protocolVersion`]: 'v999.0.0' }), headers('tools/list')), 400, -32020, 6);
});

test('row 8: Mcp-Method different from method is 400 -32020 (case-sensitive; whitespace stripped)', T, async () => {
    expectError(await post(request(7, 'tools/list'), headers('tools/call')), 400, -32020, 7);
    expectError(await post(request(8, 'tools/list'), headers('Tools/list')), 400, -32020, 8);
    const r = await post(request(9, 'server/discover'), headers(' \tserver/discover '));
    assert.equal(r.status, 200);
});

test('row 9: an unsupported version is 400 -32022 with supported and requested', T, async () => {
    const { supportedVersions } = await discover(stack.gw.url);
    for (const v of ['v999.0.0', '2025-11-25']) {
        const e = expectError(await post(request('u', 'server/discover', {}, { ...META, [`${NS}protocolVersion`]: v }), headers('server/discover', { 'MCP-Protocol-Version': v })), 400, -32022, 'u');
        assert.equal(e.data.requested, v);
        assert.ok(e.data.supported.length > 0 && e.data.supported.every((s) => supportedVersions.includes(s)));
    }
});

test('rows 10 and 11: a modern request without MCP-Protocol-Version or Mcp-Method is 400 -32020', T, async () => {
    let e = expectError(await post(request(10, 'tools/list'), { 'Mcp-Method': 'tools/list' }), 400, -32020, 10);
    assert.deepEqual(e.data.mismatch, { header: 'MCP-Protocol-Version', value: '(missing)' });
    e = expectError(await post(request(11, 'tools/list'), { 'MCP-Protocol-Version': V }), 400, -32020, 11);
    assert.equal(e.data.mismatch.header, 'Mcp-Method');
});

test('rows 12-14: Mcp-Name of tools/call required, valid and equal to params.name', T, async () => {
    const call = (id) => request(id, 'tools/call', { name: 'alpha_echo', arguments: { text: 'hi' } });
    let e = expectError(await post(call(12), headers('tools/call')), 400, -32020, 12);
    assert.equal(e.data.mismatch.header, 'Mcp-Name');
    expectError(await post(call(13), headers('tools/call', { 'Mcp-Name': '=?base64?YWxwaGFfZWNobw?=' })), 400, -32020, 13);
    e = expectError(await post(call(14), headers('tools/call', { 'Mcp-Name': 'alpha_whoami' })), 400, -32020, 14);
    assert.deepEqual(e.data.mismatch, { header: 'Mcp-Name', value: 'alpha_whoami', body: 'alpha_echo' });
    // resources/read names its URI
    e = expectError(await post(request(15, 'resources/read', { uri: 'demo://resource/static/document/architecture.md' }), headers('resources/read', { 'Mcp-Name': 'demo://other' })), 400, -32020, 15);
    assert.match(e.message, /params\.uri/);
});

test('a modern tools/call with a base64 Mcp-Name reaches the backend (no session needed)', T, async () => {
    const name = Buffer.from('alpha_echo').toString('base64');
    const r = await post(request('c1', 'tools/call', { name: 'alpha_echo', arguments: { text: 'hi' } }), headers('tools/call', { 'Mcp-Name': `=?base64?${name}?=` }));
    assert.ok(r.status < 400, `not refused by the router: ${r.status} ${r.text.slice(0, 300)}`);
    const m = onlyMessage(r);
    assert.equal(m.id, 'c1');
    if (m.error) {
        assert.ok(![-32020, -32601, -32602, -32001].includes(m.error.code), `not a router refusal: ${JSON.stringify(m.error)}`);
    }
    // its audit line has no session
    await waitFor(() => stack.gw.logs().split('\n').some((l) => l.includes('msg=audit') && l.includes('tool=alpha_echo') && l.includes('session=-')), { what: 'the audit line with session=-' });
});

test('a modern tools/list reaches the broker; a session header is ignored (row 23)', T, async () => {
    for (const extra of [{}, { 'Mcp-Session-Id': 'not-a-session' }]) {
        const r = await post(request('l1', 'tools/list'), headers('tools/list', extra));
        assert.ok(r.status < 400, `not refused by the router: ${r.status} ${r.text.slice(0, 300)}`);
        assert.equal(onlyMessage(r).id, 'l1');
    }
});

test('a resource URI no backend owns is 200 -32602 with data.uri (no -32002 in 2026-07-28)', T, async () => {
    const uri = 'nope://missing/thing';
    const e = expectError(await post(request('r1', 'resources/read', { uri }), headers('resources/read', { 'Mcp-Name': uri })), 200, -32602, 'r1');
    assert.deepEqual(e.data, { uri });
    // the old era keeps -32002
    const s = await initializeSession(stack.gw.url);
    const r = await s.post({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri } });
    expectError(r, 200, -32002, 2);
});

test('row 15: methods 2026-07-28 removed, and unknown ones, are 404 -32601', T, async () => {
    const cases = [
        ['initialize', { protocolVersion: V, capabilities: {}, clientInfo: { name: 'x', version: '1' } }],
        ['ping', {}],
        ['logging/setLevel', { level: 'info' }],
        ['resources/subscribe', { uri: 'demo://x' }],
        ['resources/unsubscribe', { uri: 'demo://x' }],
        ['tasks/list', {}],
        ['unknown/method', {}],
    ];
    for (const [method, params] of cases) {
        expectError(await post(request(`m-${method}`, method, params), headers(method)), 404, -32601, `m-${method}`);
    }
});

test('row 16: a capability-gated method the endpoint does not advertise is 404 -32601', T, async () => {
    const alpha = `${stack.gw.origin}/mcp/alpha`;
    for (const method of ['prompts/list', 'resources/list', 'resources/templates/list']) {
        expectError(await post(request(16, method), headers(method), alpha), 404, -32601, 16);
    }
    // the main endpoint advertises prompts (server-everything): not gated there
    const r = await post(request(17, 'prompts/list'), headers('prompts/list'));
    assert.notEqual(r.status, 404, r.text.slice(0, 300));
});

test('row 22: a modern notification is 202 without standard headers; a mismatching one is 400', T, async () => {
    const note = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'listen:0', _meta: META } };
    let r = await post(note, {});
    assert.equal(r.status, 202);
    r = await post(note, { 'MCP-Protocol-Version': V });
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
    expectError(await post(note, { 'MCP-Protocol-Version': '2025-06-18' }), 400, -32020, null); // a notification has no id
});

test('the old era beside it: initialize, sessions and today\'s version check unchanged', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const names = await s.toolNames();
    assert.ok(names.includes('alpha_echo'));
    // no claim and no session: today's 400
    let r = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, {});
    expectError(r, 400, -32600, 1);
    // an unknown version header on an old-era request: today's 400
    r = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'MCP-Protocol-Version': 'garbage', 'Mcp-Session-Id': s.sessionId });
    assert.equal(r.status, 400);
    assert.match(onlyMessage(r).error.message, /Unsupported MCP-Protocol-Version/);
    // a legacy request of a session with _meta but no claim is the old era's
    r = await s.post({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: { progressToken: 1 } } });
    assert.equal(r.status, 200);
    assert.ok(onlyMessage(r).result.tools.length > 0);
    assert.equal(onlyMessage(r).result.resultType, undefined);
});

test('with auth: a modern request needs a token; discover is private; the audit names the subject', T, async () => {
    const url = stack.authed.url;
    let r = await post(request('a1', 'server/discover'), headers('server/discover'), url);
    assert.equal(r.status, 401, 'a protected resource: the v2 client reports an auth error');
    const auth = await bearer('era-alice');
    r = await post(request('a2', 'server/discover'), headers('server/discover', auth), url);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.equal(onlyMessage(r).result.cacheScope, 'private');
    r = await post(request('a3', 'tools/call', { name: 'alpha_echo', arguments: { text: 'x' } }), headers('tools/call', { ...auth, 'Mcp-Name': 'alpha_echo' }), url);
    assert.ok(r.status < 400, `${r.status} ${r.text.slice(0, 300)}`);
    await waitFor(() => stack.authed.logs().split('\n').some((l) => l.includes('msg=audit') && l.includes('subject="era-alice"') && l.includes('session=-')), { what: 'the audit line of era-alice' });
});
