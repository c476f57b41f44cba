// The MCP session lifecycle through the real gateway (broker + 2 routers + 2 workers) in front of
// two C test backends, alpha (JSON replies) and beta (SSE replies): initialize and version
// negotiation, initialized, ping, tools/list, tools/call routing and byte-exact arguments, the
// headers a backend gets, and DELETE.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    ALPHA_HEADER,
    LATEST_PROTOCOL,
    PROTOCOLS,
    headersOf,
    initializeBody,
    initializeSession,
    isVisibleAscii,
    onlyMessage,
    rawPost,
    toolJson,
    useStack,
    waitFor,
} from '../lib/index.mjs';

const stack = useStack();

const T = { timeout: 30000 };

test('initialize returns a sealed, visible-ASCII session id that is not a backend session id', T, async () => {
    const s1 = await initializeSession(stack.gw.url);
    const s2 = await initializeSession(stack.gw.url);
    for (const s of [s1, s2]) {
        assert.ok(isVisibleAscii(s.sessionId), `session id must be visible ASCII: ${JSON.stringify(s.sessionId)}`);
        assert.ok(s.sessionId.length >= 22, `session id too short to be a sealed token: ${s.sessionId}`);
        assert.equal(s.initReply.status, 200);
        assert.equal(s.initResult.protocolVersion, LATEST_PROTOCOL);
        assert.equal(typeof s.initResult.serverInfo?.name, 'string', 'serverInfo.name');
        assert.equal(typeof s.initResult.serverInfo?.version, 'string', 'serverInfo.version');
    }
    assert.notEqual(s1.sessionId, s2.sessionId, 'two initializes must get two sessions');

    const a = await s1.tool('alpha_whoami');
    const b = await s1.tool('beta_whoami');
    for (const upstream of [a.session, b.session]) {
        assert.ok(upstream, 'backend reported its upstream session id');
        assert.notEqual(s1.sessionId, upstream, 'gateway session id must not be the backend session id');
        assert.ok(!s1.sessionId.includes(upstream), 'gateway session id must not contain the backend session id');
    }
    // The backends' ids never reach the client in a header either.
    assert.ok(!JSON.stringify(s1.initReply.headers).includes(a.session));
});

test('initialize advertises the union of the backends\' capabilities', T, async () => {
    const direct = await Promise.all([stack.alpha, stack.beta].map((b) => initializeSession(b.url)));
    const s = await initializeSession(stack.gw.url);
    const caps = s.initResult.capabilities;
    assert.ok(caps && typeof caps === 'object', 'capabilities object');
    assert.ok(caps.tools, 'tools capability');
    for (const d of direct) {
        for (const key of Object.keys(d.initResult.capabilities || {})) {
            assert.ok(key in caps, `capability ${key} of a backend missing from the gateway's initialize result`);
        }
        await d.delete();
    }
});

for (const version of PROTOCOLS) {
    test(`protocol version ${version} is negotiated and accepted on later requests`, T, async () => {
        const s = await initializeSession(stack.gw.url, { protocolVersion: version });
        assert.equal(s.initResult.protocolVersion, version);
        const r = await s.request('ping', undefined, { headers: { 'MCP-Protocol-Version': version } });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.response?.result, {});
        const who = await s.tool('alpha_whoami');
        assert.equal(who.backend, 'alpha');
    });
}

test('an unsupported protocol version gets the latest one', T, async () => {
    const s = await initializeSession(stack.gw.url, { protocolVersion: '1999-12-31' });
    assert.equal(s.initResult.protocolVersion, LATEST_PROTOCOL);
});

test('notifications/initialized is answered 202 with no body', T, async () => {
    const s = await initializeSession(stack.gw.url, { skipInitialized: true });
    const r = await s.notify('notifications/initialized');
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
});

test('ping answers an empty result with the same id', T, async () => {
    const s = await initializeSession(stack.gw.url);
    for (const id of [7, 'ping-é-1', 0]) {
        const r = await s.request('ping', undefined, { id });
        assert.equal(r.status, 200);
        const m = onlyMessage(r);
        assert.equal(m.jsonrpc, '2.0');
        assert.equal(m.id, id);
        assert.deepEqual(m.result, {});
    }
});

test('tools/list shows every backend tool under its prefix, otherwise unchanged', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const listed = await s.call('tools/list');
    assert.ok(Array.isArray(listed.tools));
    const byName = new Map(listed.tools.map((t) => [t.name, t]));
    assert.equal(byName.size, listed.tools.length, 'tool names are unique');
    for (const t of listed.tools) {
        assert.match(t.name, /^(alpha_|beta_)/, `tool without a backend prefix: ${t.name}`);
        assert.match(t.name, /^[A-Za-z0-9_.-]{1,128}$/);
    }
    for (const [b, prefix] of [[stack.alpha, 'alpha_'], [stack.beta, 'beta_']]) {
        const direct = await initializeSession(b.url);
        const own = await direct.call('tools/list');
        assert.ok(own.tools.length >= 6, `${b.name} lists its tools`);
        for (const t of own.tools) {
            const seen = byName.get(prefix + t.name);
            assert.ok(seen, `${prefix}${t.name} missing from the gateway's tools/list`);
            assert.deepEqual({ ...seen, name: t.name }, t, `${prefix}${t.name} differs from the backend's own description`);
        }
        assert.equal(listed.tools.filter((t) => t.name.startsWith(prefix)).length, own.tools.length);
        await direct.delete();
    }
    for (const name of ['alpha_whoami', 'beta_whoami', 'alpha_echo', 'beta_slow']) {
        assert.ok(byName.has(name), `${name} listed`);
    }
});

test('tools/call reaches the right backend on one stable upstream session per backend', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const a1 = await s.tool('alpha_whoami');
    const b1 = await s.tool('beta_whoami');
    assert.equal(a1.backend, 'alpha');
    assert.equal(b1.backend, 'beta');
    for (let i = 0; i < 5; i++) {
        assert.deepEqual(await s.tool('alpha_whoami'), a1);
        assert.deepEqual(await s.tool('beta_whoami'), b1);
    }
    const other = await initializeSession(stack.gw.url);
    const a2 = await other.tool('alpha_whoami');
    assert.equal(a2.backend, 'alpha');
    assert.notEqual(a2.session, a1.session, 'two gateway sessions must not share an upstream session');
});

test('tools/call arguments arrive untouched, prefix removed byte-exactly', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const tricky = [
        'alpha_echo alpha_ beta_ "quoted" \\back\\slash/ \u00e9\u00e8 \u4e2d\u6587 \ud83d\ude80 \u2028 tab\tnl\n',
        'alpha_',
        'alpha_alpha_echo',
        '',
        '{"jsonrpc":"2.0","method":"tools/call"}',
    ];
    for (const text of tricky) {
        const j = await s.tool('alpha_echo', { text });
        assert.equal(j.backend, 'alpha');
        assert.equal(j.text, text, `echo of ${JSON.stringify(text)}`);
    }
    // A hand-written body: keys in an unusual order (jsonrpc last, as the SDK sends), extra
    // whitespace, and \u escapes in the argument; the backend must see the same value.
    const raw = '{ "params" : { "arguments" : { "text" : "alpha_\\u00e9\\ud83d\\ude80\\"x\\"" } , "name" : "alpha_echo" } ,\n "id" : "raw-1", "method" : "tools/call", "jsonrpc" : "2.0" }';
    const r = await s.post(raw);
    assert.equal(r.status, 200, r.text);
    const m = onlyMessage(r);
    assert.equal(m.id, 'raw-1');
    assert.equal(toolJson(m.result).text, 'alpha_\u00e9\ud83d\ude80"x"');
    // The same through the SSE backend.
    const jb = await s.tool('beta_echo', { text: tricky[0] });
    assert.equal(jb.backend, 'beta');
    assert.equal(jb.text, tricky[0]);
});

test('a tool call carries numbers and nested arguments unchanged (add)', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const j = await s.tool('beta_add', { a: 40, b: 2 });
    assert.equal(j.backend, 'beta');
    assert.equal(j.sum ?? j.result, 42);
});

test('backends get their configured header, never the client\'s credentials or session id', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const r = await s.request('tools/call', { name: 'alpha_headers', arguments: {} }, {
        headers: { Authorization: 'Bearer client-token-must-not-pass', 'X-Client-Thing': 'x' },
    });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.response?.result, `alpha_headers result: ${r.text.slice(0, 300)}`);
    const got = headersOf(toolJson(r.response.result));
    assert.equal(got[ALPHA_HEADER.name.toLowerCase()], ALPHA_HEADER.value, 'configured server header reaches alpha');
    assert.equal(got.authorization, undefined, 'client Authorization must not reach the backend');
    assert.notEqual(got['mcp-session-id'], s.sessionId, 'the gateway session id must not reach the backend');
    assert.ok(!Object.values(got).some((v) => String(v).includes(s.sessionId)), 'gateway session id in no backend header');

    const rb = await s.request('tools/call', { name: 'beta_headers', arguments: {} }, {
        headers: { Authorization: 'Bearer client-token-must-not-pass' },
    });
    assert.ok(rb.response?.result, `beta_headers result: ${rb.text.slice(0, 300)}`);
    const gotB = headersOf(toolJson(rb.response.result));
    assert.equal(gotB[ALPHA_HEADER.name.toLowerCase()], undefined, 'alpha\'s header must not reach beta');
    assert.equal(gotB.authorization, undefined);
});

test('DELETE ends the session and its upstream sessions', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const a = await s.tool('alpha_whoami');
    const b = await s.tool('beta_whoami');
    const before = await Promise.all([stack.alpha.stats(), stack.beta.stats()]);

    const status = await s.delete();
    assert.equal(status, 200);

    const r = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
    assert.equal(r.status, 404, 'a call on a deleted session is 404');
    const r2 = await s.request('tools/list');
    assert.equal(r2.status, 404);
    const r3 = await s.request('ping');
    assert.equal(r3.status, 404, 'even ping on a deleted session is 404');

    // Each backend saw its upstream session deleted.
    for (const [i, backend] of [[0, stack.alpha], [1, stack.beta]]) {
        await waitFor(async () => (await backend.stats()).deletes >= before[i].deletes + 1, {
            timeoutMs: 5000,
            what: `${backend.name} to see the upstream DELETE`,
        });
    }
    assert.ok(a.session && b.session);
});

test('once DELETE has answered, every router rejects the session at once', T, async () => {
    // Concurrent requests open several connections, which SO_REUSEPORT spreads over both routers.
    let accepted = 0;
    for (let i = 0; i < 10; i++) {
        const s = await initializeSession(stack.gw.url);
        await s.tool(i % 2 ? 'alpha_whoami' : 'beta_whoami');
        assert.equal(await s.delete(), 200);
        const rs = await Promise.all(Array.from({ length: 6 }, (_, k) =>
            s.request('tools/call', { name: k % 2 ? 'alpha_whoami' : 'beta_whoami', arguments: {} })));
        accepted += rs.filter((r) => r.status !== 404).length;
    }
    assert.equal(accepted, 0, `${accepted} of 60 calls on just-deleted sessions were not 404`);
});

test('DELETE of a session that never used a backend, and a second DELETE', T, async () => {
    const s = await initializeSession(stack.gw.url);
    assert.equal(await s.delete(), 200);
    const again = await s.delete();
    assert.equal(again, 404, 'deleting a deleted session is 404');
    const fresh = await initializeSession(stack.gw.url);
    assert.equal((await fresh.tool('alpha_whoami')).backend, 'alpha', 'the gateway still serves');
});

test('initialize with a JSON body sent as the SDK orders keys', T, async () => {
    const body = initializeBody('2025-06-18', { id: 'init-x' });
    const raw = `{"method":"initialize","params":${JSON.stringify(body.params)},"id":"init-x","jsonrpc":"2.0"}`;
    const r = await rawPost(stack.gw.url, raw);
    assert.equal(r.status, 200, r.text);
    assert.ok(isVisibleAscii(r.headers['mcp-session-id']));
    const m = onlyMessage(r);
    assert.equal(m.id, 'init-x');
    assert.equal(m.result.protocolVersion, '2025-06-18');
});

test('no sanitizer reports in the gateway log so far', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
