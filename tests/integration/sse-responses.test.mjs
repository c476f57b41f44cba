// Responses streamed through the gateway: progress notifications from an SSE backend must reach
// the client event by event while the tool runs (not buffered until the result), large results
// pass whole, and HTTP/2 cleartext clients are served like HTTP/1.1 ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    DEFAULT_HEADERS,
    H2Client,
    initializeBody,
    initializeSession,
    isVisibleAscii,
    readSse,
    toolJson,
    useStack,
} from '../lib/index.mjs';

const stack = useStack();

const T = { timeout: 30000 };

test('SSE backend: progress events stream one by one before the result', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const steps = 5;
    const ms = 2000;
    const token = 'progress-tok-\u00e9-1';
    const t0 = performance.now();
    const res = await fetch(stack.gw.url, {
        method: 'POST',
        headers: { ...DEFAULT_HEADERS, ...s.headers() },
        body: JSON.stringify({
            jsonrpc: '2.0',
            id: 'slow-1',
            method: 'tools/call',
            params: { name: 'beta_slow', arguments: { ms, steps }, _meta: { progressToken: token } },
        }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /^text\/event-stream/, 'a streamed tool call is answered as SSE');

    const progress = [];
    let result = null;
    for await (const ev of readSse(res.body)) {
        const m = ev.json;
        if (!m) {
            continue; // priming event or keep-alive
        }
        if (m.method === 'notifications/progress') {
            assert.equal(result, null, 'no progress after the result');
            progress.push({ t: ev.t - t0, params: m.params });
        } else if (m.id === 'slow-1') {
            result = { t: ev.t - t0, msg: m };
        }
    }
    assert.ok(result, 'the result arrived');
    assert.ok(result.msg.result, `a result, not an error: ${JSON.stringify(result.msg).slice(0, 300)}`);
    assert.equal(toolJson(result.msg.result).backend, 'beta');

    assert.ok(progress.length >= steps - 1, `at least ${steps - 1} progress events (got ${progress.length})`);
    for (const p of progress) {
        assert.equal(p.params.progressToken, token, 'the client\'s own progress token comes back');
    }
    for (let i = 1; i < progress.length; i++) {
        assert.ok(progress[i].params.progress > progress[i - 1].params.progress, 'progress increases');
    }

    const elapsed = result.t;
    assert.ok(elapsed >= ms * 0.8, `the slow tool ran about ${ms} ms (took ${elapsed.toFixed(0)} ms)`);
    const first = progress[0].t;
    const last = progress[progress.length - 1].t;
    // Buffered-until-the-end streams would deliver every event within a few ms of the result.
    assert.ok(result.t - first >= elapsed * 0.4,
        `first progress at ${first.toFixed(0)} ms, result at ${result.t.toFixed(0)} ms: events were held back`);
    assert.ok(last - first >= (ms / steps) * (progress.length - 2) * 0.5,
        `progress events arrived spread over time (${progress.map((p) => p.t.toFixed(0)).join(', ')} ms)`);
});

test('a large tool result passes whole', T, async () => {
    const s = await initializeSession(stack.gw.url);
    for (const name of ['alpha_big', 'beta_big']) {
        const bytes = 3 * 1024 * 1024;
        const result = await s.call('tools/call', { name, arguments: { bytes } });
        const text = JSON.stringify(result);
        assert.ok(text.length >= bytes, `${name}: ${text.length} bytes of result, want >= ${bytes}`);
    }
});

test('HTTP/2 cleartext: initialize, initialized, tools/call and DELETE', T, async () => {
    const h2 = new H2Client(stack.gw.origin);
    try {
        const init = await h2.request('/mcp', {
            headers: { ...DEFAULT_HEADERS },
            body: initializeBody('2025-11-25', { id: 1 }),
        });
        assert.equal(init.status, 200, init.text);
        const sid = init.headers['mcp-session-id'];
        assert.ok(isVisibleAscii(sid), 'session id over h2');
        const m = init.messages.find((x) => x.id === 1);
        assert.equal(m.result.protocolVersion, '2025-11-25');

        const hdrs = { ...DEFAULT_HEADERS, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' };
        const n = await h2.request('/mcp', { headers: hdrs, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
        assert.equal(n.status, 202);

        // Several calls multiplexed on the one connection at once.
        const calls = await Promise.all(['alpha_whoami', 'beta_whoami', 'alpha_whoami', 'beta_whoami'].map((name, i) =>
            h2.request('/mcp', { headers: hdrs, body: { jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name, arguments: {} } } })));
        const seen = {};
        calls.forEach((c, i) => {
            assert.equal(c.status, 200, c.text);
            const msg = c.messages.find((x) => x.id === 10 + i);
            const j = toolJson(msg.result);
            const want = i % 2 === 0 ? 'alpha' : 'beta';
            assert.equal(j.backend, want);
            seen[want] ??= j.session;
            assert.equal(j.session, seen[want], 'one upstream session per backend');
        });
        const echo = await h2.request('/mcp', { headers: hdrs, body: { jsonrpc: '2.0', id: 20, method: 'tools/call', params: { name: 'beta_echo', arguments: { text: 'h2 \u00fc' } } } });
        assert.equal(toolJson(echo.messages.find((x) => x.id === 20).result).text, 'h2 \u00fc');

        const del = await h2.request('/mcp', { method: 'DELETE', headers: { 'mcp-session-id': sid } });
        assert.equal(del.status, 200);
        const after = await h2.request('/mcp', { headers: hdrs, body: { jsonrpc: '2.0', id: 30, method: 'tools/list' } });
        assert.equal(after.status, 404);
    } finally {
        await h2.close();
    }
});

test('no sanitizer reports in the gateway log so far', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
