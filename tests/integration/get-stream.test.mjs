// The GET stream: one per session, list_changed when the catalog changes (reload, a backend
// going down), event ids and Last-Event-ID replay, heartbeats, and the HTTP rules around it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import {
    gatewayConfig, httpRequest, initializeSession, sleep, startBackend, toYaml, useStack, waitFor,
} from '../lib/index.mjs';

let gamma;
const stack = useStack({
    extra: { http: { sse_heartbeat: '300ms' } },
    async ready() {
        gamma = await startBackend({ name: 'gamma' });
    },
});

async function setServers(list) {
    const cfg = gatewayConfig(stack.gw.dir, { servers: list, extra: { http: { sse_heartbeat: '300ms' } } });
    fs.writeFileSync(stack.gw.configFile, toYaml(cfg));
    const r = await stack.gw.ctl(['reload']);
    assert.equal(r.code, 0, r.stderr);
}

const toolsChanged = (e) => e.json && e.json.method === 'notifications/tools/list_changed';

test('GET without text/event-stream in Accept is 406, without a session 400, unknown session 404', async () => {
    const s = await initializeSession(stack.gw.url);
    let r = await httpRequest(stack.gw.url, { method: 'GET', headers: { Accept: 'application/json', 'Mcp-Session-Id': s.sessionId } });
    assert.equal(r.status, 406);
    r = await httpRequest(stack.gw.url, { method: 'GET', headers: { Accept: 'text/event-stream' } });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.text).error.message, /Mcp-Session-Id/);
    r = await httpRequest(stack.gw.url, { method: 'GET', headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': 'forged' } });
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.text).error.code, -32001);
});

test('an idle stream gets heartbeat comments', async () => {
    const s = await initializeSession(stack.gw.url);
    const st = await s.openStream();
    assert.equal(st.status, 200);
    assert.match(st.headers.get('content-type'), /^text\/event-stream/);
    await waitFor(() => (st.raw.match(/^: keepalive$/mg) || []).length >= 2, { what: 'two heartbeats', timeoutMs: 5000 });
    assert.equal(st.events.length, 0, 'comments are not events');
    st.close();
});

test('a reload that adds and removes a backend sends tools/list_changed with ids; Last-Event-ID replays what was missed', async () => {
    const s = await initializeSession(stack.gw.url);
    const st = await s.openStream();
    await setServers([...stack.servers, { name: 'gamma', url: gamma.url, prefix: 'gamma_' }]);
    const first = await st.next(toolsChanged);
    assert.match(first.id, /^[0-9a-z]+-\d+$/, 'events carry ids');
    await waitFor(async () => (await s.call('tools/list')).tools.some((t) => t.name === 'gamma_whoami'), { what: 'gamma in tools/list' });
    // The stream ends; the catalog changes while no stream is open; the client resumes.
    st.close();
    await sleep(200);
    await setServers(stack.servers);
    await waitFor(async () => !(await s.call('tools/list')).tools.some((t) => t.name === 'gamma_whoami'), { what: 'gamma gone' });
    const lastSeen = st.events[st.events.length - 1].id;
    const resumed = await s.openStream({ lastEventId: lastSeen });
    const missed = await resumed.next(toolsChanged);
    assert.notEqual(missed.id, lastSeen);
    assert.ok(Number(missed.id.split('-')[1]) > Number(lastSeen.split('-')[1]), 'ids increase');
    resumed.close();
    // A new stream without Last-Event-ID is not a resumption: nothing old comes back.
    const fresh = await s.openStream();
    await sleep(700);
    assert.equal(fresh.events.length, 0, JSON.stringify(fresh.events));
    fresh.close();
});

test('only the newest stream of a session is served; DELETE ends the stream', async () => {
    const s = await initializeSession(stack.gw.url);
    const one = await s.openStream();
    const two = await s.openStream();
    await waitFor(() => one.ended, { what: 'the older stream to end' });
    assert.equal(two.ended, false);
    assert.equal(await s.delete(), 200);
    await waitFor(() => two.ended, { what: 'DELETE to end the stream' });
    const again = await s.openStream();
    assert.equal(again.status, 404);
});

test('a backend going down and coming back sends tools/list_changed', async () => {
    await setServers([...stack.servers, { name: 'gamma', url: gamma.url, prefix: 'gamma_', health_interval: '300ms' }]);
    const s = await initializeSession(stack.gw.url);
    await waitFor(async () => (await s.call('tools/list')).tools.some((t) => t.name === 'gamma_whoami'), { what: 'gamma up' });
    const st = await s.openStream();
    await sleep(100);
    gamma.proc.signal('SIGSTOP');
    try {
        await st.next(toolsChanged, 15000);
        assert.ok(!(await s.call('tools/list')).tools.some((t) => t.name === 'gamma_whoami'), 'gamma left tools/list');
        const n = st.events.filter(toolsChanged).length;
        gamma.proc.signal('SIGCONT');
        await waitFor(() => st.events.filter(toolsChanged).length > n, { what: 'a second list_changed when gamma returns', timeoutMs: 15000 });
        assert.ok((await s.call('tools/list')).tools.some((t) => t.name === 'gamma_whoami'), 'gamma is back');
    } finally {
        gamma.proc.signal('SIGCONT');
        st.close();
    }
});

test('an open stream does not hold up a stop; the gateway stops cleanly with no sanitizer report', async () => {
    const s = await initializeSession(stack.gw.url);
    const st = await s.openStream();
    const t0 = Date.now();
    const r = await stack.gw.proc.stop({ signal: 'SIGTERM', graceMs: 10000 });
    assert.ok(Date.now() - t0 < 4000, `stopped in ${Date.now() - t0} ms`);
    await waitFor(() => st.ended, { what: 'the stream to end' });
    assert.equal(r.code, 0, stack.gw.logs().split('\n').slice(-15).join('\n'));
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
