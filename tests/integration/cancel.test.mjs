// notifications/cancelled (and other client notifications) reach each backend the session uses,
// on that session's own upstream session, with the request id the backend saw (the client's own:
// each client session has its own upstream sessions, so two clients' ids never collide). A call
// of that session in flight with that id ends at once without a response (2025-11-25
// basic/utilities/cancellation): its stream closes, its progress stops, its place under
// limits.max_concurrent_requests_per_session is free, and the backend's late answer reaches
// nobody, on whichever router the call and the cancel arrive.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    DEFAULT_HEADERS,
    H2Client,
    initializeSession,
    readSse,
    sleep,
    startGateway,
    toolJson,
    useStack,
    waitFor,
} from '../lib/index.mjs';

const limits = { max_concurrent_requests_per_session: 1 };
// stack.gw has two routers (a session's connections may reach either); stack.one has one, so
// that the per-router limit is known to see every call of a session.
const stack = useStack({
    extra: { limits },
    async ready(st) {
        st.one = await startGateway({ routers: 1, servers: st.servers, extra: { limits } });
    },
});

const T = { timeout: 30000 };

async function metricsText(gw) {
    return (await fetch(`${gw.adminOrigin}/metrics`)).text();
}

function cancelNote(requestId) {
    return { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'test' } };
}

// Waits for the backend to have received `note` (the notification passed on unchanged).
async function backendGot(backend, note, before) {
    await waitFor(async () => {
        const st = await backend.stats();
        return st.notifications > before && JSON.stringify(st.last_notification) === JSON.stringify(note);
    }, { what: 'the cancellation at the backend' });
}

/**
 * POSTs a slow tools/call and reads its reply as it comes: {res, events (each {t, json}),
 * done (resolves with the end time once the stream ends), progress()}.
 */
async function startSlowCall(s, { id, name, ms, steps = 0, token }) {
    const params = { name, arguments: { ms, steps } };
    if (token !== undefined) {
        params._meta = { progressToken: token };
    }
    const res = await fetch(s.url, {
        method: 'POST',
        headers: { ...DEFAULT_HEADERS, ...s.headers() },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params }),
    });
    const call = { res, events: [] };
    call.done = (async () => {
        for await (const ev of readSse(res.body)) {
            if (ev.json) {
                call.events.push({ t: ev.t, json: ev.json });
            }
        }
        return performance.now();
    })();
    call.progress = () => call.events.filter((e) => e.json.method === 'notifications/progress');
    return call;
}

test('a cancellation reaches the backend on the canceller\'s upstream session, unchanged', async () => {
    const a = await initializeSession(stack.gw.url);
    const b = await initializeSession(stack.gw.url);
    const upA = (await a.tool('alpha_whoami')).session;
    const upB = (await b.tool('alpha_whoami')).session;
    assert.notEqual(upA, upB);
    for (const [s, up] of [[a, upA], [b, upB]]) {
        const before = (await stack.alpha.stats()).notifications;
        const note = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'r-7', reason: 'user' } };
        assert.equal((await s.post(note)).status, 202);
        await waitFor(async () => (await stack.alpha.stats()).notifications > before, { what: 'the notification at alpha' });
        const st = await stack.alpha.stats();
        assert.deepEqual(st.last_notification, note);
        assert.equal(st.last_notification_session, up);
    }
});

test('a session that never used a backend sends it nothing', async () => {
    const c = await initializeSession(stack.gw.url);
    await c.tool('beta_whoami');
    const before = (await stack.alpha.stats()).notifications;
    const betaBefore = (await stack.beta.stats()).notifications;
    await c.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } });
    await waitFor(async () => (await stack.beta.stats()).notifications > betaBefore, { what: 'the notification at beta' });
    assert.equal((await stack.alpha.stats()).notifications, before);
});

test('a streamed call cancelled mid-way: the stream ends without a response, its place is free, the late answer reaches nobody', T, async () => {
    const { one } = stack;
    const s = await initializeSession(one.url);
    const get = await s.openStream(); // where a stray late answer could also turn up
    assert.equal(get.status, 200);
    const ms = 3000;
    const steps = 30;
    const t0 = performance.now();
    const call = await startSlowCall(s, { id: 'c-1', name: 'beta_slow', ms, steps, token: 'tok-c-1' });
    assert.equal(call.res.status, 200);
    assert.match(call.res.headers.get('content-type') || '', /^text\/event-stream/);
    await waitFor(() => call.progress().length >= 2, { what: 'two progress events', intervalMs: 20 });

    // the limit is 1 and this call holds it
    const refused = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
    assert.equal(refused.status, 429, `a second call while the first runs: ${refused.text.slice(0, 200)}`);

    const before = (await stack.beta.stats()).notifications;
    const tCancel = performance.now();
    assert.equal((await s.post(cancelNote('c-1'))).status, 202);
    // at once: the session's next request finds the place free
    const next = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
    assert.equal(next.status, 200, `the call right after the cancel: ${next.text.slice(0, 200)}`);
    assert.equal(toolJson(next.response.result).backend, 'alpha');

    const tEnd = await call.done;
    assert.ok(tEnd - tCancel < 1000, `the stream ended ${(tEnd - tCancel).toFixed(0)} ms after the cancel`);
    assert.ok(tEnd - t0 < ms * 0.7, `well before the backend would answer (${(tEnd - t0).toFixed(0)} ms of ${ms})`);
    assert.equal(call.events.filter((e) => e.json.id === 'c-1').length, 0,
        `no response on the cancelled stream: ${JSON.stringify(call.events.map((e) => e.json)).slice(0, 300)}`);
    const relayed = call.progress().length;
    assert.ok(relayed >= 2 && relayed < steps, `progress stopped (${relayed} of ${steps})`);
    assert.ok(call.progress().every((e) => e.t - tCancel < 200), 'no progress long after the cancel');
    await backendGot(stack.beta, cancelNote('c-1'), before);

    // the same id again, running past the moment the cancelled call would have ended: the answer
    // the client gets is its own (ms 3500), never the cancelled call's (ms 3000)
    const again = await s.request('tools/call', { name: 'beta_slow', arguments: { ms: 3500, steps: 0 } }, { id: 'c-1' });
    assert.ok(performance.now() - t0 > ms, 'the second call outlived the first one\'s schedule');
    assert.equal(again.status, 200);
    assert.equal(again.messages.filter((m) => m.id === 'c-1').length, 1, again.text.slice(0, 300));
    assert.equal(toolJson(again.response.result).ms, 3500);
    assert.deepEqual(get.events.filter((e) => e.json && e.json.id !== undefined), [], 'nothing answered on the GET stream');
    get.close();

    const logs = one.logs();
    assert.match(logs, /msg="call cancelled" peer=worker-beta by=client streaming=1 request_id=/);
    assert.match(logs, /msg="call cancelled" request_id=\S+ backend=beta method=tools\/call cancel_request_id=/);
    assert.match(logs, /msg=audit request_id=\S+ session=\S+ subject="" tool=beta_slow backend=beta status=200 outcome=cancelled/);
    const m = await metricsText(one);
    assert.match(m, /mcpgw_cancelled_requests_total\{process="router\.0"\} 1\n/);
    assert.match(m, /mcpgw_backend_requests_total\{process="worker\.beta"[^}]*method="tools\/call",status="cancelled"\} 1\n/);
});

test('a JSON call cancelled before its answer: an empty event stream, closed at once', T, async () => {
    const { one } = stack;
    const s = await initializeSession(one.url);
    const t0 = performance.now();
    const pending = s.request('tools/call', { name: 'alpha_slow', arguments: { ms: 3000, steps: 0 } }, { id: 'j-1' });
    await sleep(300); // the call is at the backend
    const before = (await stack.alpha.stats()).notifications;
    assert.equal((await s.post(cancelNote('j-1'))).status, 202);
    const r = await pending;
    assert.ok(performance.now() - t0 < 1500, `answered ${(performance.now() - t0).toFixed(0)} ms after it started`);
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] || '', /^text\/event-stream/);
    assert.equal(r.text, '', 'no event, no JSON-RPC response');
    await backendGot(stack.alpha, cancelNote('j-1'), before);
    assert.equal(toolJson(await s.call('tools/call', { name: 'alpha_slow', arguments: { ms: 10 } }, { id: 'j-1' })).ms, 10);
});

test('a cancel for another session\'s call, or for an unknown id, changes nothing (and is passed on)', T, async () => {
    const { one } = stack;
    const a = await initializeSession(one.url);
    const b = await initializeSession(one.url);
    await b.tool('beta_whoami'); // b has an upstream session at beta
    const call = await startSlowCall(a, { id: 'x-1', name: 'beta_slow', ms: 1200, steps: 4, token: 'tok-x-1' });
    await waitFor(() => call.progress().length >= 1, { what: 'a progress event', intervalMs: 20 });
    for (const [s, note] of [[b, cancelNote('x-1')], [a, cancelNote('no-such-call')], [a, cancelNote(1)]]) {
        const before = (await stack.beta.stats()).notifications;
        assert.equal((await s.post(note)).status, 202);
        await backendGot(stack.beta, note, before);
    }
    await call.done;
    const answer = call.events.find((e) => e.json.id === 'x-1');
    assert.ok(answer, `the call got its answer: ${JSON.stringify(call.events.map((e) => e.json)).slice(0, 300)}`);
    assert.equal(toolJson(answer.json.result).ms, 1200);
});

test('a cancelled message of a batch (2025-03-26) adds no answer; the others are answered', T, async () => {
    const { one } = stack;
    const s = await initializeSession(one.url, { protocolVersion: '2025-03-26' });
    const t0 = performance.now();
    const pending = s.post([
        { jsonrpc: '2.0', id: 'b-1', method: 'tools/call', params: { name: 'beta_slow', arguments: { ms: 3000, steps: 0 } } },
        { jsonrpc: '2.0', id: 'b-2', method: 'ping' },
    ]);
    await sleep(300);
    assert.equal((await s.post(cancelNote('b-1'))).status, 202);
    const r = await pending;
    assert.ok(performance.now() - t0 < 1500, `answered ${(performance.now() - t0).toFixed(0)} ms after it started`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, [{ jsonrpc: '2.0', id: 'b-2', result: {} }]);
});

// Which router answered a request: the first 8 hex digits of the request id it made up.
async function routerOf(client, s) {
    const r = await client.request('/mcp', { headers: { ...DEFAULT_HEADERS, ...s.headers() }, body: { jsonrpc: '2.0', id: 'p', method: 'ping' } });
    assert.equal(r.status, 200);
    return String(r.headers['x-request-id']).slice(0, 8);
}

test('two routers: the call on one, the cancel on the other; the worker ends the call', T, async () => {
    const s = await initializeSession(stack.gw.url);
    // HTTP/2 connections stay on the router that accepted them: find one on each router
    const clients = [];
    const byRouter = new Map();
    for (let i = 0; i < 40 && byRouter.size < 2; i++) {
        const c = new H2Client(stack.gw.origin);
        clients.push(c);
        const id = await routerOf(c, s);
        if (!byRouter.has(id)) {
            byRouter.set(id, c);
        }
    }
    try {
        assert.equal(byRouter.size, 2, 'connections reached both routers');
        const [callConn, cancelConn] = [...byRouter.values()];
        const ms = 3000;
        const t0 = performance.now();
        const events = [];
        let tEnd = 0;
        const callDone = new Promise((resolve, reject) => {
            const st = callConn.session.request({
                ':method': 'POST', ':path': '/mcp', 'content-type': 'application/json', accept: DEFAULT_HEADERS.Accept,
                'mcp-session-id': s.sessionId, 'mcp-protocol-version': s.protocolVersion,
            });
            let text = '';
            let status = 0;
            st.setEncoding('utf8');
            st.on('response', (h) => { status = h[':status']; });
            st.on('data', (d) => {
                text += d;
                for (const block of text.split('\n\n').slice(events.length, -1)) {
                    const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
                    events.push(data ? JSON.parse(data) : {});
                }
            });
            st.on('end', () => { tEnd = performance.now(); resolve({ status, text }); });
            st.on('error', reject);
            st.end(JSON.stringify({ jsonrpc: '2.0', id: 'far-1', method: 'tools/call', params: { name: 'beta_slow', arguments: { ms, steps: 30 }, _meta: { progressToken: 'far' } } }));
        });
        await waitFor(() => events.some((e) => e.method === 'notifications/progress'), { what: 'progress on the call\'s router', intervalMs: 20 });
        const before = (await stack.beta.stats()).notifications;
        const note = cancelNote('far-1');
        const c = await cancelConn.request('/mcp', { headers: { ...DEFAULT_HEADERS, ...s.headers() }, body: note });
        assert.equal(c.status, 202);
        const r = await callDone;
        assert.equal(r.status, 200);
        assert.ok(tEnd - t0 < ms * 0.7, `the stream ended after ${(tEnd - t0).toFixed(0)} ms, before the backend's ${ms}`);
        assert.equal(events.filter((e) => e.id === 'far-1').length, 0, `no response: ${r.text.slice(0, 300)}`);
        await backendGot(stack.beta, note, before);
        assert.match(stack.gw.logs(), /msg="call cancelled" peer=worker-beta by=worker-beta streaming=1 request_id=/);
        // the call's router gave its place back: the session's next call there is admitted
        const next = await callConn.request('/mcp', { headers: { ...DEFAULT_HEADERS, ...s.headers() }, body: { jsonrpc: '2.0', id: 'n-1', method: 'tools/call', params: { name: 'alpha_whoami', arguments: {} } } });
        assert.equal(next.status, 200, next.text.slice(0, 200));
        assert.equal(toolJson(next.messages.find((m) => m.id === 'n-1').result).backend, 'alpha');
    } finally {
        await Promise.all(clients.map((c) => c.close()));
    }
});

test('no sanitizer reports in the gateway logs', () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
    assert.deepEqual(stack.one.sanitizerReports(), []);
});
