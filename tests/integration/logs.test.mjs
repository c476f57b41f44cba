// Request ids and the audit trail: an incoming x-request-id (or one the router makes) is answered
// back, sent to the backend, is on the audit line each tools/call leaves in the log, and on every
// line any process writes about the request (refusals and failures included).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, rawPost, sleep, startStack, toolJson, useStack, waitFor } from '../lib/index.mjs';

let debug; // a second stack logging at debug
const stack = useStack({
    async ready() {
        debug = await startStack({ extra: { log: { level: 'debug' } } });
    },
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
    const bad = await rawPost(js.gw.url, '{"jsonrpc":', { 'mcp-session-id': s.sessionId, 'x-request-id': 'json-rejected-1' });
    assert.equal(bad.status, 400);
    const rejected = await waitFor(() => js.gw.logLines().map((l) => JSON.parse(l)).find((o) => o.request_id === 'json-rejected-1'),
        { what: 'the JSON line of the refused request' });
    assert.equal(rejected.msg, 'rejected');
    assert.equal(rejected.status, '400');
    await js.stop();
});

/** The fields of one logfmt line ("quoted values" with \" and \\ escapes), each key with all its values. */
function logfmt(line) {
    const fields = {};
    const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|\S*)/g;
    let m;
    while ((m = re.exec(line)) !== null) {
        const v = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2];
        (fields[m[1]] ||= []).push(v);
    }
    return fields;
}

/** The log lines of gw that carry request id rid, parsed; each must carry it exactly once. */
function linesWith(gw, rid) {
    return gw.logLines().filter((l) => l.includes(rid)).map((l) => {
        const f = logfmt(l);
        assert.deepEqual(f.request_id, [rid], `one request_id, the right one: ${l}`);
        return { line: l, proc: f.proc[0], msg: f.msg[0], f };
    });
}

test('at debug, one tools/call leaves lines from the router and from the worker, all with its id', async () => {
    const s = await initializeSession(debug.gw.url);
    const rid = `call-${Date.now()}`;
    const r = await rawPost(debug.gw.url, JSON.stringify({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'alpha_whoami', arguments: {} } }), {
        'mcp-session-id': s.sessionId,
        'x-request-id': rid,
    });
    assert.equal(r.status, 200);
    const lines = await waitFor(() => {
        const ls = linesWith(debug.gw, rid);
        return ls.some((l) => l.msg === 'audit') && ls.some((l) => l.msg === 'call') ? ls : null;
    }, { what: `the router's and the worker's lines for ${rid}` });
    const procs = new Set(lines.map((l) => l.proc.split('.')[0]));
    assert.deepEqual([...procs].sort(), ['router', 'worker'], lines.map((l) => l.line).join('\n'));
    assert.ok(lines.some((l) => l.proc === 'worker.alpha' && l.msg === 'call received'));
    // the first call of a session opens its upstream session, on behalf of this request
    assert.ok(lines.some((l) => l.proc === 'worker.alpha' && l.msg === 'upstream session ready'),
        lines.map((l) => l.line).join('\n'));
});

test('an initialize leaves a broker line with its id', async () => {
    const rid = `init-${Date.now()}`;
    const s = await initializeSession(debug.gw.url, { headers: { 'x-request-id': rid } });
    assert.equal(s.initReply.headers['x-request-id'], rid);
    const lines = await waitFor(() => {
        const ls = linesWith(debug.gw, rid);
        return ls.some((l) => l.msg === 'session created') ? ls : null;
    }, { what: `the broker's line for ${rid}` });
    const created = lines.find((l) => l.msg === 'session created');
    assert.equal(created.proc, 'broker');
    assert.match(created.f.session[0], /^[0-9a-f-]{36}$/);
    assert.ok(lines.some((l) => l.proc === 'broker' && l.msg === 'call received' && l.f.method[0] === 'initialize'));
});

test('refused requests are logged with their id: unknown session (404), bad JSON (400), unknown tool', async () => {
    const s = await initializeSession(debug.gw.url);
    const bogus = `nosession-${Date.now()}`;
    const r404 = await rawPost(debug.gw.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), {
        'mcp-session-id': 'not-a-session', 'x-request-id': bogus,
    });
    assert.equal(r404.status, 404);
    const badJson = `badjson-${Date.now()}`;
    const r400 = await rawPost(debug.gw.url, '{"jsonrpc": "2.0", "id": 1, "method": ', {
        'mcp-session-id': s.sessionId, 'x-request-id': badJson,
    });
    assert.equal(r400.status, 400);
    // A name the client chose ends up in the reason: it must not forge a field of the line.
    const forged = `forged-${Date.now()}`;
    const rid = `unknowntool-${Date.now()}`;
    const rTool = await rawPost(debug.gw.url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: `x" request_id=${forged} y="`, arguments: {} } }), {
        'mcp-session-id': s.sessionId, 'x-request-id': rid,
    });
    assert.equal(rTool.status, 200);
    assert.equal(rTool.json.error.code, -32602);

    const l404 = await waitFor(() => linesWith(debug.gw, bogus).find((l) => l.msg === 'rejected'), { what: 'the 404 line' });
    assert.equal(l404.f.status[0], '404');
    assert.match(l404.proc, /^router\.\d+$/);
    assert.ok(linesWith(debug.gw, bogus).some((l) => l.msg === 'session refused'), 'the debug line says why');
    const l400 = await waitFor(() => linesWith(debug.gw, badJson).find((l) => l.msg === 'rejected'), { what: 'the 400 line' });
    assert.equal(l400.f.status[0], '400');
    assert.equal(l400.f.code[0], '-32700');
    const lTool = await waitFor(() => linesWith(debug.gw, rid).find((l) => l.msg === 'rejected'), { what: 'the unknown-tool line' });
    assert.equal(lTool.f.reason[0], `Unknown tool: x" request_id=${forged} y="`);
    assert.ok(!debug.gw.logLines().some((l) => (logfmt(l).request_id || []).includes(forged)), 'no line has a forged request_id');
});

test('a refusal decided behind the router (a second DELETE) is logged with its id by the router', async () => {
    const s = await initializeSession(debug.gw.url);
    await s.tool('alpha_whoami');
    const first = `del1-${Date.now()}`;
    const second = `del2-${Date.now()}`;
    const d1 = await rawPost(debug.gw.url, undefined, { 'mcp-session-id': s.sessionId, 'x-request-id': first }, { method: 'DELETE' });
    assert.equal(d1.status, 200);
    const d2 = await rawPost(debug.gw.url, undefined, { 'mcp-session-id': s.sessionId, 'x-request-id': second }, { method: 'DELETE' });
    assert.equal(d2.status, 404);
    const byProc = await waitFor(() => {
        const ls = linesWith(debug.gw, first);
        return ls.some((l) => l.proc === 'broker') && ls.some((l) => l.proc === 'worker.alpha') ? ls : null;
    }, { what: `the broker's and the worker's lines for the DELETE ${first}` });
    assert.ok(byProc.some((l) => l.msg === 'session deleted'));
    assert.ok(byProc.some((l) => l.msg === 'upstream session closing'));
    await waitFor(() => linesWith(debug.gw, first).some((l) => l.msg === 'upstream session deleted'),
        { what: 'the upstream DELETE, sent on behalf of the same request' });
    // The token still opens (it is revoked, not broken): the router or the broker refuses it.
    const refused = await waitFor(() => linesWith(debug.gw, second).find((l) => l.msg === 'rejected' || l.msg === 'call ended with an error'),
        { what: 'the line for the second DELETE' });
    assert.equal(refused.f.status[0], '404');
    assert.match(refused.proc, /^router\.\d+$/);
});
