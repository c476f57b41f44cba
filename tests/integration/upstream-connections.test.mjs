// What an upstream session costs the backend: the worker opens an upstream GET stream only while
// the session's client holds its own GET stream (the test backend's /stats `streams`), and all
// upstream sessions share at most servers[].max_connections TCP connections for their requests
// (more calls queue in the worker and are all answered); calls one after another reuse a kept-alive
// connection rather than connecting again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { initializeSession, sleep, startBackend, startGateway, useSetup, waitFor } from '../lib/index.mjs';

const stack = useSetup(async () => {
    // the backend, too, sees a closed stream when it writes: a heartbeat comment every 200 ms
    const alpha = await startBackend({ name: 'alpha', extraArgs: ['--heartbeat', '200'] });
    const gw = await startGateway({
        servers: [{ name: 'alpha', url: alpha.url, prefix: 'alpha_', max_connections: 2 }],
        // the router finds a client gone when a write fails: heartbeats make that soon
        extra: { http: { sse_heartbeat: '200ms' } },
    });
    return { gw, alpha };
});

const T = { timeout: 60000 };

async function call(s, text) {
    const r = await s.request('tools/call', { name: 'alpha_echo', arguments: { text } });
    assert.equal(r.status, 200, r.text);
    assert.match(JSON.stringify(r.response?.result), new RegExp(text), r.text);
}

const streams = async () => (await stack.alpha.stats()).streams;

/** The local ports of the worker's established TCP connections to the backend (this test's own
 * /stats fetches have connections too: not counted). */
function backendPorts() {
    const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${stack.alpha.port} )`], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.includes('"mcpgw-worker"'))
        .map((l) => l.trim().split(/\s+/)[2].split(':').pop());
}
const backendConnections = () => backendPorts().length;

test('a session whose client holds no GET stream has no upstream GET stream; one opens with the client\'s and closes with it', T, async () => {
    // the worker's catalog session listens for list_changed: that stream is always there
    await waitFor(async () => (await streams()) === 1, { what: 'the catalog session\'s GET stream' });
    const s = await initializeSession(stack.gw.url);
    await call(s, 'hi');
    await sleep(300); // a stream opened with the session would be in by now
    assert.equal(await streams(), 1, 'no upstream GET stream for a session nobody listens on');

    const st = await s.openStream();
    assert.equal(st.status, 200);
    await waitFor(async () => (await streams()) === 2, { what: 'the upstream GET stream once the client listens' });
    // a second call on the session is not disturbed by its stream
    await call(s, 'again');

    st.close();
    await waitFor(async () => (await streams()) === 1, { what: 'the upstream GET stream closed with the client\'s' });
});

test('a client that listens before its first call gets the upstream GET stream with the session', T, async () => {
    await waitFor(async () => (await streams()) === 1, { what: 'only the catalog session\'s GET stream' });
    const s = await initializeSession(stack.gw.url);
    const st = await s.openStream();
    await sleep(200);
    assert.equal(await streams(), 1, 'no upstream session yet: nothing to listen on');
    await call(s, 'first');
    await waitFor(async () => (await streams()) === 2, { what: 'the new upstream session\'s GET stream' });
    st.close();
    await waitFor(async () => (await streams()) === 1, { what: 'the GET stream closed with the client\'s' });
});

test('with max_connections 2, 20 concurrent calls of 20 sessions use at most 2 connections (plus open GET streams) and are all answered', T, async () => {
    const sessions = await Promise.all(Array.from({ length: 20 }, () => initializeSession(stack.gw.url)));
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
        while (sampling) {
            peak = Math.max(peak, backendConnections() - (await streams()));
            await sleep(20);
        }
    })();
    const t0 = Date.now();
    const answers = await Promise.all(sessions.map((s, i) =>
        s.request('tools/call', { name: 'alpha_sleep', arguments: { ms: 300, steps: 0, n: i } })));
    const took = Date.now() - t0;
    sampling = false;
    await sampler;
    for (const r of answers) {
        assert.equal(r.status, 200, r.text);
        assert.ok(r.response?.result, `a result: ${r.text.slice(0, 300)}`);
    }
    assert.ok(peak >= 1 && peak <= 2, `request connections to the backend: at most 2, saw ${peak}`);
    // 20 calls of 300 ms over 2 connections queue: about ten rounds, not one
    assert.ok(took >= 2000, `the calls queued for the 2 connections (took ${took} ms)`);
    assert.ok(backendConnections() - (await streams()) <= 2, 'connections kept alive stay within the bound');
});

test('calls one after another reuse a kept-alive connection: none connects again', T, async () => {
    await waitFor(async () => (await streams()) === 1, { what: 'only the catalog session\'s GET stream' });
    const s = await initializeSession(stack.gw.url);
    await call(s, 'warm');
    const before = new Set(backendPorts());
    for (let i = 0; i < 20; i++) {
        await call(s, `again ${i}`);
    }
    const after = backendPorts();
    // the catalog's GET stream and at least the request connection the calls went over, still open
    assert.ok(after.length - (await streams()) >= 1, `a request connection kept alive: ${after.join(', ')}`);
    const fresh = after.filter((p) => !before.has(p));
    assert.deepEqual(fresh, [], `connections opened by 20 calls one after another (before: ${[...before].join(', ')})`);
});

test('a worker that restarts opens the GET stream again for a client still listening', T, async () => {
    await waitFor(async () => (await streams()) === 1, { what: 'only the catalog session\'s GET stream' });
    const s = await initializeSession(stack.gw.url);
    const st = await s.openStream();
    await call(s, 'before');
    await waitFor(async () => (await streams()) === 2, { what: 'the listening session\'s GET stream' });
    const worker = (await stack.gw.status()).processes.find((p) => p.role === 'worker');
    process.kill(worker.pid, 'SIGKILL');
    await waitFor(async () => {
        const w = (await stack.gw.status()).processes.find((p) => p.role === 'worker');
        return w && w.pid !== worker.pid && w.state === 'running';
    }, { what: 'the worker restarted', timeoutMs: 20000 });
    // the new worker knows nothing of the session: its next call creates a new upstream session,
    // which listens because the broker told the new worker who listens
    await waitFor(async () => {
        const r = await s.request('tools/call', { name: 'alpha_echo', arguments: { text: 'after' } });
        return r.status === 200 && r.response?.result;
    }, { what: 'a call through the new worker', timeoutMs: 20000 });
    await waitFor(async () => (await streams()) === 2, { what: 'the GET stream opened again by the new worker' });
    st.close();
    await waitFor(async () => (await streams()) === 1, { what: 'the GET stream closed with the client\'s' });
});
