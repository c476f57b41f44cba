// JSON-RPC batches: accepted in 2025-03-26 sessions only (later revisions removed them). Each
// message is handled as if it came alone (routed to its backend, answered by the gateway, or
// refused); the answers come back as one JSON array, 202 when the batch had no requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, rawPost, toolJson, useStack } from '../lib/index.mjs';

const stack = useStack();

const call = (id, name, args = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

test('a 2025-03-26 batch is routed message by message and answered as one JSON array', async () => {
    const s = await initializeSession(stack.gw.url, { protocolVersion: '2025-03-26' });
    const r = await s.post([
        call(1, 'alpha_whoami'),
        call('two', 'beta_echo', { text: 'through an SSE backend' }), // beta answers with an event stream
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } },
        { jsonrpc: '2.0', id: 3, method: 'ping' },
        { jsonrpc: '2.0', id: 4, method: 'no/such/method' },
        call(5, 'nobody_tool'),
        { jsonrpc: '2.0', id: 6, method: 'tools/list' },
        { jsonrpc: '2.0', id: 7 }, // neither request nor response
    ]);
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.ok(Array.isArray(r.json), r.text);
    const byId = new Map(r.json.map((m) => [m.id, m]));
    assert.equal(r.json.length, 7, 'one answer per request, none for the notification');
    assert.equal(toolJson(byId.get(1).result).backend, 'alpha');
    assert.match(JSON.stringify(byId.get('two').result), /through an SSE backend/);
    assert.deepEqual(byId.get(3).result, {});
    assert.equal(byId.get(4).error.code, -32601);
    assert.equal(byId.get(5).error.code, -32602);
    assert.ok(byId.get(6).result.tools.some((t) => t.name === 'alpha_whoami'));
    assert.equal(byId.get(7).error.code, -32600);
});

test('a batch of notifications only is 202; an empty batch and initialize inside a batch are refused', async () => {
    const s = await initializeSession(stack.gw.url, { protocolVersion: '2025-03-26' });
    let r = await s.post([{ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }]);
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
    r = await s.post([]);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32600);
    r = await s.post([{ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }, { jsonrpc: '2.0', id: 2, method: 'ping' }]);
    assert.equal(r.status, 200);
    assert.equal(r.json.find((m) => m.id === 1).error.code, -32600);
    assert.deepEqual(r.json.find((m) => m.id === 2).result, {});
});

test('batches are refused in 2025-06-18 and 2025-11-25 sessions', async () => {
    for (const protocolVersion of ['2025-06-18', '2025-11-25']) {
        const s = await initializeSession(stack.gw.url, { protocolVersion });
        const r = await s.post([{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
        assert.equal(r.status, 400, protocolVersion);
        assert.equal(r.json.error.code, -32600);
        assert.match(r.json.error.message, /batches/);
    }
});

test('a large batch of calls to both backends comes back whole and matched by id; each message counts against the session limit', async () => {
    const s = await initializeSession(stack.gw.url, { protocolVersion: '2025-03-26' });
    const batch = (n) => Array.from({ length: n }, (_, i) => call(i, i % 2 ? 'beta_echo' : 'alpha_echo', { text: `m${i}` }));
    const r = await s.post(batch(60));
    assert.equal(r.status, 200);
    assert.equal(r.json.length, 60);
    for (const m of r.json) {
        assert.match(JSON.stringify(m.result), new RegExp(`m${m.id}\\b`), JSON.stringify(m));
    }
    // limits.max_concurrent_requests_per_session (64 by default): the messages past it are refused
    const big = await s.post(batch(100));
    assert.equal(big.status, 200);
    assert.equal(big.json.length, 100);
    const refused = big.json.filter((m) => m.error);
    assert.equal(refused.length, 36, JSON.stringify(refused[0]));
    assert.match(refused[0].error.message, /max_concurrent_requests_per_session/);
    const tooMany = await s.post(Array.from({ length: 257 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
    assert.equal(tooMany.status, 400);
});

test('a client that leaves during a batch costs nothing: the gateway keeps serving', async () => {
    const s = await initializeSession(stack.gw.url, { protocolVersion: '2025-03-26' });
    for (let i = 0; i < 5; i++) {
        const ac = new AbortController();
        const p = rawPost(stack.gw.url, [call(1, 'alpha_slow', { ms: 400 }), call(2, 'beta_slow', { ms: 400, steps: 2 }), { jsonrpc: '2.0', id: 3, method: 'ping' }], s.headers(), { signal: ac.signal });
        setTimeout(() => ac.abort(), 100);
        await assert.rejects(p);
    }
    await new Promise((resolve) => setTimeout(resolve, 600));
    const r = await s.post([call(1, 'alpha_whoami')]);
    assert.equal(r.status, 200);
    assert.equal(toolJson(r.json[0].result).backend, 'alpha');
});

test('the gateway stops cleanly with no sanitizer report (leaks show at exit)', async () => {
    const r = await stack.gw.proc.stop({ signal: 'SIGTERM', graceMs: 10000 });
    assert.equal(r.code, 0, stack.gw.logs().split('\n').slice(-15).join('\n'));
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
