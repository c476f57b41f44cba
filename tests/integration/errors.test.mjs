// The gateway's error contract, checked as a client sees it: HTTP statuses for transport-level
// mistakes (400, 404, 406, 413, 415) and JSON-RPC error codes for message-level ones
// (-32700, -32601, -32602).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    DEFAULT_HEADERS,
    httpRequest,
    initializeSession,
    onlyMessage,
    rawPost,
    toolJson,
    useStack,
} from '../lib/index.mjs';

let s;
const stack = useStack({
    async ready(st) {
        s = await initializeSession(st.gw.url);
    },
});

const T = { timeout: 30000 };
const LIMIT = 1024 * 1024; // limits.max_request_body: 1MiB in the test config

function assertRpcError(r, code, id) {
    const m = onlyMessage(r);
    assert.ok(m, `a JSON-RPC error body (HTTP ${r.status}): ${r.text.slice(0, 300)}`);
    assert.equal(m.jsonrpc, '2.0');
    assert.ok(m.error, `error member: ${r.text.slice(0, 300)}`);
    assert.equal(m.error.code, code, `error code (message: ${m.error.message})`);
    assert.equal(typeof m.error.message, 'string');
    if (id !== undefined) {
        assert.equal(m.id, id);
    }
    return m;
}

test('missing session id on a non-initialize request is 400', T, async () => {
    for (const body of [
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'alpha_whoami', arguments: {} } },
        { jsonrpc: '2.0', id: 3, method: 'ping' },
    ]) {
        const r = await rawPost(stack.gw.url, body);
        assert.equal(r.status, 400, `${body.method} without a session: ${r.text}`);
    }
});

test('unknown, garbage and tampered session ids are 404', T, async () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'alpha_whoami', arguments: {} } };
    const mid = Math.floor(s.sessionId.length / 2);
    const flip = s.sessionId[mid] === 'A' ? 'B' : 'A';
    const tampered = s.sessionId.slice(0, mid) + flip + s.sessionId.slice(mid + 1);
    for (const sid of ['garbage', 'x'.repeat(200), tampered, s.sessionId.slice(0, -2), '00000000-0000-4000-8000-000000000000']) {
        const r = await rawPost(stack.gw.url, call, { 'Mcp-Session-Id': sid });
        assert.equal(r.status, 404, `session ${JSON.stringify(sid)}: ${r.text}`);
        const list = await rawPost(stack.gw.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'Mcp-Session-Id': sid });
        assert.equal(list.status, 404, `tools/list on ${JSON.stringify(sid)}`);
    }
    // The real session still works.
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
});

test('unknown tool is JSON-RPC -32602 naming the tool', T, async () => {
    for (const name of ['alpha_no_such_tool', 'gamma_whoami', 'whoami', 'alpha_', 'ALPHA_whoami']) {
        const r = await s.request('tools/call', { name, arguments: {} }, { id: 'u1' });
        const m = assertRpcError(r, -32602, 'u1');
        assert.ok(m.error.message.includes(name), `message names the tool: ${m.error.message}`);
    }
});

test('unknown method is JSON-RPC -32601', T, async () => {
    for (const method of ['foo/bar', 'tools/frobnicate', 'alpha_whoami']) {
        const r = await s.request(method, {}, { id: 41 });
        assertRpcError(r, -32601, 41);
    }
});

test('malformed JSON is JSON-RPC -32700', T, async () => {
    for (const body of ['{"jsonrpc":"2.0","id":1,"method":', 'not json at all', '{"jsonrpc":"2.0","id":1,"method":"ping"}}', '{"a":"\xff"']) {
        const r = await rawPost(stack.gw.url, body, { 'Mcp-Session-Id': s.sessionId });
        assert.ok(r.status === 200 || r.status === 400, `HTTP status ${r.status}`);
        assertRpcError(r, -32700);
    }
    // Invalid UTF-8 bytes in a string.
    const bad = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_echo","arguments":{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}}')]);
    const r = await rawPost(stack.gw.url, bad, { 'Mcp-Session-Id': s.sessionId });
    assertRpcError(r, -32700);
});

test('a body over limits.max_request_body is 413; one under it is served', T, async () => {
    const over = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'alpha_echo', arguments: { text: 'x'.repeat(LIMIT + 10) } } });
    const r = await httpRequest(stack.gw.url, {
        headers: { ...DEFAULT_HEADERS, 'Mcp-Session-Id': s.sessionId, 'Content-Length': Buffer.byteLength(over) },
        body: over,
    });
    assert.equal(r.status, 413, r.text.slice(0, 300));

    const text = 'y'.repeat(LIMIT - 4096);
    const j = await s.tool('alpha_echo', { text });
    assert.equal(j.text.length, text.length, 'a body just under the limit goes through whole');
    assert.equal(j.text, text);
});

test('a chunked body over the limit is 413 too', T, async () => {
    const chunk = 'z'.repeat(64 * 1024);
    const parts = Math.ceil((LIMIT + 1) / chunk.length) + 1;
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_echo","arguments":{"text":"${chunk.repeat(parts)}"}}}`;
    const r = await httpRequest(stack.gw.url, {
        headers: { ...DEFAULT_HEADERS, 'Mcp-Session-Id': s.sessionId, 'Transfer-Encoding': 'chunked' },
        body,
    });
    assert.equal(r.status, 413);
});

test('wrong Accept is 406', T, async () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    for (const accept of ['text/html', 'application/xml', 'text/plain']) {
        const r = await s.post(body, { Accept: accept });
        assert.equal(r.status, 406, `Accept: ${accept}`);
    }
    const init = await rawPost(stack.gw.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, { Accept: 'text/html' });
    assert.equal(init.status, 406, 'initialize with a wrong Accept');
});

test('wrong Content-Type is 415', T, async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const r = await s.post(body, { 'Content-Type': ct });
        assert.equal(r.status, 415, `Content-Type: ${ct}`);
    }
    const none = await httpRequest(stack.gw.url, {
        headers: { Accept: DEFAULT_HEADERS.Accept, 'Mcp-Session-Id': s.sessionId, 'Content-Length': Buffer.byteLength(body) },
        body,
    });
    assert.equal(none.status, 415, 'no Content-Type at all');
    // Parameters on the right type are fine.
    const ok = await s.post(body, { 'Content-Type': 'application/json; charset=utf-8' });
    assert.equal(ok.status, 200);
});

test('an unsupported MCP-Protocol-Version header is 400', T, async () => {
    const r = await s.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'MCP-Protocol-Version': '1999-12-31' });
    assert.equal(r.status, 400);
});

test('the gateway still serves correctly after all the rejected requests', T, async () => {
    const a = await s.tool('alpha_whoami');
    const b = await s.tool('beta_whoami');
    assert.equal(a.backend, 'alpha');
    assert.equal(b.backend, 'beta');
    const r = await s.call('tools/call', { name: 'alpha_echo', arguments: { text: 'still here' } });
    assert.equal(toolJson(r).text, 'still here');
});

test('no sanitizer reports in the gateway log so far', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
