// Request ids and the audit trail: an incoming x-request-id (or one the router makes) is answered
// back, sent to the backend, and is on the audit line each tools/call leaves in the log.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { initializeSession, rawPost, sleep, startStack, stopAll, toolJson, waitFor } from '../lib/index.mjs';

let stack;

before(async () => {
    stack = await startStack();
});

after(async () => {
    await stopAll();
});

test('an incoming x-request-id reaches the backend, comes back, and is on the audit line', async () => {
    const s = await initializeSession(stack.gw.url);
    const rid = `trace-${Date.now()}`;
    const r = await rawPost(stack.gw.url, JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'alpha_headers', arguments: {} } }), {
        'mcp-session-id': s.sessionId,
        'x-request-id': rid,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-request-id'], rid);
    const seen = toolJson(r.json.result);
    assert.equal(seen.headers['x-request-id'], rid, 'the backend got the same request id');
    const line = await waitFor(() => stack.gw.logs().split('\n').find((l) => l.includes('msg=audit') && l.includes(`request_id=${rid}`)), { what: 'the audit line' });
    assert.match(line, /tool=alpha_headers/);
    assert.match(line, /backend=alpha/);
    assert.match(line, new RegExp(`session=[0-9a-f-]{36}`));
    assert.match(line, /status=200 outcome=answered duration_ms=[0-9.]+/);
});

test('without x-request-id the router makes one, answers it and sends it on', async () => {
    const s = await initializeSession(stack.gw.url);
    const r = await rawPost(stack.gw.url, JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'beta_headers', arguments: {} } }), {
        'mcp-session-id': s.sessionId,
    });
    assert.equal(r.status, 200);
    const rid = r.headers['x-request-id'];
    assert.match(rid, /^[0-9a-f]{16}$/);
    const msgs = r.json ? [r.json] : r.messages;
    const result = (msgs || []).find((m) => m && m.id === 6)?.result;
    assert.ok(result, `a result in ${r.text}`);
    assert.equal(toolJson(result).headers['x-request-id'], rid);
    await sleep(50);
});

test('a hostile x-request-id is replaced, not passed on', async () => {
    const s = await initializeSession(stack.gw.url);
    const r = await rawPost(stack.gw.url, JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'alpha_headers', arguments: {} } }), {
        'mcp-session-id': s.sessionId,
        'x-request-id': 'a b"c\\d',
    });
    const rid = r.headers['x-request-id'];
    assert.match(rid, /^[0-9a-f]{16}$/);
    assert.equal(toolJson(r.json.result).headers['x-request-id'], rid);
});

test('log.format: json writes every line of every process as one JSON object', async () => {
    const { startStack: start } = await import('../lib/index.mjs');
    const js = await start({ extra: { log: { level: 'info', format: 'json' } } });
    const s = await initializeSession(js.gw.url);
    const r = await rawPost(js.gw.url, JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'alpha_whoami', arguments: {} } }), {
        'mcp-session-id': s.sessionId,
        'x-request-id': 'json-log-1',
    });
    assert.equal(r.status, 200);
    const audit = await waitFor(() => js.gw.logs().split('\n').find((l) => l.includes('"msg":"audit"')), { what: 'the JSON audit line' });
    const lines = js.gw.logs().split('\n').filter((l) => l.trim() !== '');
    const procs = new Set();
    for (const line of lines) {
        const o = JSON.parse(line); // throws on anything that is not one JSON object
        assert.ok(o.ts && o.level && o.proc && o.pid, line);
        procs.add(o.proc.split('.')[0]);
    }
    assert.ok(procs.has('broker') && procs.has('router') && procs.has('worker'), [...procs].join(','));
    const a = JSON.parse(audit);
    assert.equal(a.request_id, 'json-log-1');
    assert.equal(a.tool, 'alpha_whoami');
    assert.equal(a.backend, 'alpha');
    await js.stop();
});
