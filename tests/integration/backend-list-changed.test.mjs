// A backend that changes its own tool list: the test backend's toggle_tools adds or removes the
// tool "extra" and sends notifications/tools/list_changed, on its GET streams (alpha, JSON
// answers) or inside the call's event stream (beta, --sse). The gateway must fetch the lists
// again and tell every client GET stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SANITIZER_RE, initializeSession, sleep, startBackend, useStack, waitFor } from '../lib/index.mjs';

const stack = useStack();

const toolsChanged = (e) => e.json && e.json.method === 'notifications/tools/list_changed';
const countChanged = (st) => st.events.filter(toolsChanged).length;

async function toolNames(s) {
    return (await s.call('tools/list')).tools.map((t) => t.name);
}

/**
 * Toggles `extra` on the backend behind `prefix` twice through the gateway; after each call both
 * clients' GET streams get one more tools/list_changed and tools/list has (then lacks) the tool.
 * Returns the messages of the two POST answers.
 */
async function toggleTwice(prefix) {
    const caller = await initializeSession(stack.gw.url);
    const watcher = await initializeSession(stack.gw.url);
    // The stream is open (its head is in) at once, not at the first heartbeat (15 s by default).
    const t0 = Date.now();
    const own = await caller.openStream();
    assert.ok(Date.now() - t0 < 3000, `the GET stream took ${Date.now() - t0} ms to open`);
    const other = await watcher.openStream();
    assert.equal(own.status, 200);
    assert.equal(other.status, 200);
    const extra = `${prefix}extra`;
    const posts = [];
    try {
        assert.ok(!(await toolNames(caller)).includes(extra), `${extra} is not listed before`);
        for (const listed of [true, false]) {
            const before = [countChanged(own), countChanged(other)];
            const r = await caller.request('tools/call', { name: `${prefix}toggle_tools`, arguments: {} });
            assert.equal(r.status, 200, r.text);
            assert.ok(r.response && r.response.result, r.text);
            assert.equal(JSON.parse(r.response.result.content[0].text).extra, listed);
            posts.push(r.messages);
            for (const [name, st] of [['caller', own], ['watcher', other]]) {
                await waitFor(() => countChanged(st) > before[[own, other].indexOf(st)], {
                    what: `tools/list_changed on the ${name}'s GET stream after toggle_tools (extra ${listed ? 'on' : 'off'})`,
                });
            }
            // The gateway announces a change once its aggregated list has it.
            assert.equal((await toolNames(caller)).includes(extra), listed, `${extra} listed: ${listed}`);
            assert.equal((await toolNames(watcher)).includes(extra), listed);
            if (listed) {
                const j = await caller.tool(extra);
                assert.equal(j.tool, 'extra');
            } else {
                const gone = await caller.request('tools/call', { name: extra, arguments: {} });
                assert.ok(gone.response && gone.response.error, `${extra} is not callable once removed: ${gone.text}`);
            }
        }
    } finally {
        own.close();
        other.close();
    }
    return posts;
}

test('a JSON backend signalling list_changed on its GET stream: clients hear it and tools/list follows', async () => {
    await toggleTwice('alpha_');
});

test('an SSE backend signalling list_changed inside a call\'s answer: clients hear it on their GET streams', async () => {
    const posts = await toggleTwice('beta_');
    for (const messages of posts) {
        assert.ok(messages.some((m) => m.result), 'the call was answered');
    }
});

test('list_changed from every upstream GET stream of a backend: one announcement per change at most', async () => {
    // alpha sends list_changed on each GET stream the worker holds (its catalog session's and
    // one per client session). Two toggles in a row: whatever the refetches see, the clients'
    // streams get at most one announcement per real change and the list ends as it began.
    const s = await initializeSession(stack.gw.url);
    const st = await s.openStream();
    try {
        const start = (await toolNames(s)).length;
        await s.tool('alpha_toggle_tools');
        await s.tool('alpha_toggle_tools');
        await waitFor(async () => (await toolNames(s)).length === start, { what: 'tools/list back to where it was' });
        // Nothing else may be announced from here on.
        const n = countChanged(st);
        await s.tool('alpha_whoami');
        await sleep(500);
        assert.equal(countChanged(st), n);
        assert.ok(n <= 2, `at most one announcement per change, got ${n}`);
    } finally {
        st.close();
    }
});

test('the test backend\'s GET streams: checks, several per session, dropped when the client goes, ended by DELETE', async () => {
    const b = await startBackend({ name: 'solo', extraArgs: ['--heartbeat', '1500'] });
    try {
        const s = await initializeSession(b.url);
        const get = (headers) => fetch(b.url, { method: 'GET', headers });
        let r = await get({ Accept: 'application/json', 'Mcp-Session-Id': s.sessionId });
        assert.equal(r.status, 406);
        await r.arrayBuffer();
        r = await get({ Accept: 'text/event-stream', 'Mcp-Session-Id': 'solo-unknown' });
        assert.equal(r.status, 404);
        assert.equal((await r.json()).error.code, -32001);
        r = await get({ Accept: 'text/event-stream' });
        assert.equal(r.status, 400);
        await r.arrayBuffer();

        const t0 = Date.now();
        const one = await s.openStream();
        assert.ok(Date.now() - t0 < 1000, `the head came at once, not with the first heartbeat (${Date.now() - t0} ms)`);
        const two = await s.openStream();
        const three = await s.openStream();
        assert.equal(one.status, 200);
        assert.match(one.headers.get('content-type'), /^text\/event-stream/);
        assert.equal((await b.stats()).streams, 3);
        await waitFor(() => /^: keepalive$/m.test(one.raw), { what: 'a heartbeat' });
        // JSON mode: toggle_tools tells every GET stream.
        const before = [one, two, three].map(countChanged);
        const t = await s.tool('toggle_tools');
        assert.equal(t.extra, true);
        await waitFor(() => [one, two, three].every((st, i) => countChanged(st) === before[i] + 1), { what: 'list_changed on all three streams' });
        assert.ok((await s.call('tools/list')).tools.some((x) => x.name === 'extra'));
        assert.equal((await s.tool('toggle_tools')).extra, false);

        three.close();
        await waitFor(async () => (await b.stats()).streams === 2, { what: 'the closed stream to be dropped' });
        assert.equal(await s.delete(), 200);
        await waitFor(() => one.ended && two.ended, { what: 'DELETE to end the streams' });
        await waitFor(async () => (await b.stats()).streams === 0, { what: 'no streams left' });

        // Shutting down ends the streams still open and exits 0.
        const last = await (await initializeSession(b.url)).openStream();
        assert.equal((await b.stats()).streams, 1);
        const res = await b.stop();
        assert.equal(res.code, 0, b.proc.output());
        await waitFor(() => last.ended, { what: 'shutdown to end the stream' });
        assert.deepEqual(b.proc.output().split('\n').filter((l) => SANITIZER_RE.test(l)), []);
    } finally {
        await b.stop();
    }
});

test('no sanitizer reports from the gateway or the backends so far', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
    for (const b of [stack.alpha, stack.beta]) {
        assert.deepEqual(b.proc.output().split('\n').filter((l) => SANITIZER_RE.test(l)), [], b.name);
    }
});
