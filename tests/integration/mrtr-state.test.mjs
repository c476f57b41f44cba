// MRTR through the gateway, new <-> new (docs/design-2026-07-28.md 5.2, rows 19-20): a modern
// backend's input_required reaches a 2026-07-28 client with the backend's requestState wrapped in
// one the gateway sealed ("mcpgw1.", bound to the caller, the request and a short expiry), and the
// retry gets the backend's own bytes back. A state that does not open for this caller and request
// (tampered, expired, another subject's, not the gateway's) is refused 400 -32602 with the id,
// logged and counted; any router opens a state another sealed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { DEFAULT_HEADERS, httpRequest, makeTempDir, rawPost, sleep, startConformance, startGateway, useSetup } from '../lib/index.mjs';

const T = { timeout: 60000 };
const MODERN = '2026-07-28';
const CAPS = { sampling: {}, elicitation: {}, roots: {} };
const META = {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'mrtr-state-test', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': CAPS,
};
const STATE_TOOL = 'cf_test_input_required_result_request_state';
const ISS = 'https://idp.mcpgw.test';
const RESOURCE = 'https://mcp.mcpgw.test/mcp';
const dir = makeTempDir('mcpgw-mrtr-');
let signingKey;
let nextId = 1;

const stack = useSetup(async () => {
    const kp = await generateKeyPair('ES256', { extractable: true });
    signingKey = kp.privateKey;
    const jwks = path.join(dir, 'idp.jwks');
    fs.writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(kp.publicKey)), kid: 'es1', alg: 'ES256', use: 'sig' }] }));
    const backend = await startConformance({ era: 'modern' });
    const servers = [{ name: 'cf', url: backend.url, prefix: 'cf_' }];
    const [anon, authed, short] = await Promise.all([
        startGateway({ routers: 2, servers }),
        startGateway({ routers: 1, servers, extra: { auth: { resource: RESOURCE, issuers: [{ issuer: ISS, jwks_file: jwks }], scopes_supported: ['mcp:use'] } } }),
        startGateway({ routers: 1, servers, extra: { limits: { input_wait: 1 } } }),
    ]);
    return { backend, anon, authed, short };
}, { cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) });

async function token(sub) {
    return new SignJWT({ scope: 'mcp:use' }).setProtectedHeader({ alg: 'ES256', kid: 'es1', typ: 'at+jwt' })
        .setSubject(sub).setIssuer(ISS).setAudience(RESOURCE).setIssuedAt().setExpirationTime('5m').sign(signingKey);
}

/** The body and headers of a 2026-07-28 request as a v2 client sends them. */
function modernRequest(method, params, { id = nextId++, bearer } = {}) {
    const name = method === 'resources/read' ? params.uri : params.name;
    const headers = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': method, 'Mcp-Name': name };
    if (bearer) {
        headers.Authorization = `Bearer ${bearer}`;
    }
    return { body: { jsonrpc: '2.0', id, method, params: { ...params, _meta: META } }, headers };
}

async function post(gw, method, params, opts) {
    const { body, headers } = modernRequest(method, params, opts);
    return rawPost(gw.url, body, headers);
}

/** The same over a connection of its own (a new TCP connection: the kernel picks the router). */
async function postFresh(gw, method, params, opts) {
    const { body, headers } = modernRequest(method, params, opts);
    const r = await httpRequest(gw.url, { headers: { ...DEFAULT_HEADERS, ...headers }, body: JSON.stringify(body) });
    return { ...r, router: String(r.headers['x-request-id']).slice(0, 8) };
}

function interim(r) {
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const res = r.json?.result;
    assert.equal(res?.resultType, 'input_required', r.text.slice(0, 300));
    return res;
}

function textOf(r) {
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const res = r.json?.result;
    assert.equal(res?.resultType, 'complete', r.text.slice(0, 300));
    return res.content.map((c) => c.text).join('');
}

function assertRefused(r, id) {
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.equal(r.json.id, id);
    assert.equal(r.json.error.code, -32602);
    assert.equal(r.json.error.message, 'invalid or expired requestState');
    assert.deepEqual(r.json.error.data, { reason: 'invalid_request_state' });
}

async function refusals(gw) {
    const text = await (await fetch(`${gw.adminOrigin}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(/^mcpgw_rejections_total\{[^}]*reason="request_state"\} (\d+)$/gm)) {
        n += Number(m[1]);
    }
    return n;
}

const CONFIRM = { confirm: { action: 'accept', content: { ok: true } } };

test('the client sees a state the gateway sealed, and the retry with it completes', T, async () => {
    const r1 = interim(await post(stack.anon, 'tools/call', { name: STATE_TOOL, arguments: {} }));
    assert.ok(r1.inputRequests.confirm, 'the backend\'s input request passes through');
    assert.match(r1.requestState, /^mcpgw1\.[A-Za-z0-9_-]+$/);
    assert.ok(!r1.requestState.includes('cf1.'), 'the backend\'s own state is not shown');
    // requestState before name: the body is scanned again after the backend's bytes go back in
    const params = { requestState: r1.requestState, inputResponses: CONFIRM, name: STATE_TOOL, arguments: {} };
    const id = 'retry-1';
    const r2 = await post(stack.anon, 'tools/call', params, { id });
    assert.equal(r2.json.id, id);
    assert.match(textOf(r2), /^state-ok: confirmed=/);
});

test('an input_required without requestState passes as it is; the retry needs none', T, async () => {
    const name = 'cf_test_input_required_result_elicitation';
    const r1 = interim(await post(stack.anon, 'tools/call', { name, arguments: {} }));
    assert.equal(r1.requestState, undefined);
    const r2 = await post(stack.anon, 'tools/call', { name, arguments: {}, inputResponses: { user_name: { action: 'accept', content: { name: 'Ada' } } } });
    assert.equal(textOf(r2), 'Hello, Ada!');
});

test('prompts/get: the state wraps and opens the same way', T, async () => {
    const name = 'cf_test_input_required_result_prompt';
    const r1 = interim(await post(stack.anon, 'prompts/get', { name }));
    const key = Object.keys(r1.inputRequests)[0];
    const params = { name, inputResponses: { [key]: { action: 'accept', content: { context: 'ctx' } } } };
    if (r1.requestState !== undefined) {
        assert.match(r1.requestState, /^mcpgw1\./);
        params.requestState = r1.requestState;
    }
    const r2 = await post(stack.anon, 'prompts/get', params);
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.json.result.resultType, 'complete');
    assert.ok(r2.json.result.messages.length > 0);
});

test('tampered, foreign and misapplied states: 400 -32602 with the id, counted', T, async () => {
    const before = await refusals(stack.anon);
    const r1 = interim(await post(stack.anon, 'tools/call', { name: STATE_TOOL, arguments: {} }));
    const s = r1.requestState;
    const flip = (i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const cases = [
        ['tampered (the suite\'s)', `${s}-TAMPERED`, STATE_TOOL],
        ['one character flipped', flip(20), STATE_TOOL],
        ['cut short', s.slice(0, -4), STATE_TOOL],
        ['the backend\'s own kind of state', 'cf1.dGFyZ2V0.bWFj', STATE_TOOL],
        ['any other string', 'v1.AAAA.BBBB', STATE_TOOL],
        ['for another tool', s, 'cf_test_input_required_result_multi_round'],
    ];
    for (const [what, state, name] of cases) {
        const id = `bad-${what}`;
        const r = await post(stack.anon, 'tools/call', { name, arguments: {}, inputResponses: CONFIRM, requestState: state }, { id });
        assertRefused(r, id);
    }
    // a state that is not a string
    const id = 'bad-number';
    assertRefused(await post(stack.anon, 'tools/call', { name: STATE_TOOL, arguments: {}, inputResponses: CONFIRM, requestState: 42 }, { id }), id);
    // and the capabilities: the retry must declare at least the ones the state was sealed with
    const { body, headers } = modernRequest('tools/call', { name: STATE_TOOL, arguments: {}, inputResponses: CONFIRM, requestState: s }, { id: 'bad-caps' });
    body.params._meta = { ...META, 'io.modelcontextprotocol/clientCapabilities': { sampling: {} } };
    assertRefused(await rawPost(stack.anon.url, body, headers), 'bad-caps');
    assert.equal(await refusals(stack.anon) - before, cases.length + 2);
    assert.match(stack.anon.logs(), /row=19 why="tampered"/);
    assert.match(stack.anon.logs(), /row=19 why="not sealed by this gateway"/);
    // the untouched state still works: none of the above used it up
    assert.match(textOf(await post(stack.anon, 'tools/call', { name: STATE_TOOL, arguments: {}, inputResponses: CONFIRM, requestState: s })), /^state-ok/);
});

test('an expired state (limits.input_wait: 1) is refused', T, async () => {
    const r1 = interim(await post(stack.short, 'tools/call', { name: STATE_TOOL, arguments: {} }));
    await sleep(2100);
    const id = 'late';
    assertRefused(await post(stack.short, 'tools/call', { name: STATE_TOOL, arguments: {}, inputResponses: CONFIRM, requestState: r1.requestState }, { id }), id);
    assert.match(stack.short.logs(), /row=19 why="expired"/);
});

test('a state is bound to the subject it was sealed for', T, async () => {
    const alice = await token('alice');
    const r1 = interim(await post(stack.authed, 'tools/call', { name: STATE_TOOL, arguments: {} }, { bearer: alice }));
    const retry = { name: STATE_TOOL, arguments: {}, inputResponses: CONFIRM, requestState: r1.requestState };
    const id = 'bob-1';
    assertRefused(await post(stack.authed, 'tools/call', retry, { id, bearer: await token('bob') }), id);
    assert.match(stack.authed.logs(), /row=19 why="another caller, request or capability set"/);
    // the anonymous gateway's state does not open for alice either (another binding)
    const anon = interim(await post(stack.anon, 'tools/call', { name: STATE_TOOL, arguments: {} }));
    assertRefused(await post(stack.authed, 'tools/call', { ...retry, requestState: anon.requestState }, { id: 'anon-1', bearer: alice }), 'anon-1');
    // alice, with a new token of hers, completes it
    assert.match(textOf(await post(stack.authed, 'tools/call', retry, { bearer: await token('alice') })), /^state-ok/);
});

test('the retry through the other router completes (a new connection per request)', T, async () => {
    const first = await postFresh(stack.anon, 'tools/call', { name: STATE_TOOL, arguments: {} });
    const r1 = interim(first);
    const retry = { name: STATE_TOOL, arguments: {}, inputResponses: CONFIRM, requestState: r1.requestState };
    let other = null;
    for (let i = 0; i < 60 && other === null; i++) {
        const r = await postFresh(stack.anon, 'tools/call', retry);
        if (r.router !== first.router) {
            other = r;
        }
    }
    assert.ok(other, 'a connection reached the other router');
    assert.match(textOf(other), /^state-ok/);
});
