// A 2026-07-28 backend's tools/list_changed, heard on the worker's catalog listen, makes the
// worker fetch every capability set's lists again. A refetch that brings the same lists moves
// nothing a client holds: the cursor of a client in the middle of a paginated tools/list stays
// valid, and no client hears list_changed (neither a 2025 session's GET stream nor a 2026-07-28
// listen). A refetch that brings a changed list stales the cursors of that list (-32602: a page
// of another list would skip or repeat items) and is announced once to each of them.
import assert from 'node:assert/strict';
import { test as nodeTest } from 'node:test';
import { initializeSession, sleep, startBackend, startGateway, startV2Server, useSetup, waitFor } from '../lib/index.mjs';

// The v2 server and client (@modelcontextprotocol/server and client 2.x) need node >= 20.
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const NEEDS_NODE = NODE_MAJOR < 20 ? `needs node >= 20 (the @modelcontextprotocol 2.x packages), this is ${process.version}` : undefined;
const { connectClient } = NEEDS_NODE ? {} : await import('../lib/era-clients.mjs');
function test(name, opts, fn) {
    return nodeTest(name, NEEDS_NODE ? { ...opts, skip: NEEDS_NODE } : opts, fn);
}

const stack = NEEDS_NODE ? {} : useSetup(async () => {
    const [v2, alpha] = await Promise.all([startV2Server({ name: 'v2' }), startBackend({ name: 'alpha' })]);
    const gw = await startGateway({
        servers: [{ name: 'v2', url: v2.url, prefix: 'v2_' }, { name: 'alpha', url: alpha.url, prefix: 'alpha_' }],
        extra: { limits: { page_size: 3 } }, // v2's tools come first: a refetch of them moves every later page
    });
    return { v2, alpha, gw };
}, {
    async ready(st) {
        const s = await initializeSession(st.gw.url);
        await waitFor(async () => {
            const names = await s.toolNames();
            return names.includes('v2_echo') && names.includes('alpha_echo');
        }, { what: 'both backends listed at the gateway', timeoutMs: 15000 });
    },
});

const isToolsChanged = (m) => m?.method === 'notifications/tools/list_changed';

/** How many catalog reports of v2 the broker took, per capability set ({caps: n}). */
function v2Reports() {
    const n = {};
    for (const l of stack.gw.logLines()) {
        const m = /msg="catalog reported" backend=v2 caps=(\d+)/.exec(l);
        if (m) {
            n[m[1]] = (n[m[1]] || 0) + 1;
        }
    }
    return n;
}

/** Resolves once the broker took one more report of v2 for every set it had reports of. */
async function v2Refetched(before, what) {
    await waitFor(() => {
        const now = v2Reports();
        return Object.keys(before).every((caps) => (now[caps] || 0) > before[caps]);
    }, { what, timeoutMs: 10000 });
}

/** The pages of tools/list from cursor (undefined: the first) to the end, as tool names. */
async function pagesFrom(s, cursor) {
    const names = [];
    do {
        const r = await s.request('tools/list', cursor !== undefined ? { cursor } : {});
        assert.equal(r.response?.error, undefined, `tools/list at cursor ${cursor}: ${JSON.stringify(r.response?.error)}`);
        names.push(...r.response.result.tools.map((t) => t.name));
        cursor = r.response.result.nextCursor;
    } while (cursor !== undefined);
    return names;
}

test('a refetch that brings the same lists keeps cursors valid and is not announced; a grown list is', { timeout: 60000 }, async () => {
    const s = await initializeSession(stack.gw.url); // a 2025 session: its GET stream
    const stream = await s.openStream();
    assert.equal(stream.status, 200);
    const modern = await connectClient('v2 pinned', stack.gw.url); // a 2026-07-28 listen
    const heard = [];
    modern.client.setNotificationHandler('notifications/tools/list_changed', (n) => heard.push(n));
    const sub = await modern.client.listen({ toolsListChanged: true });
    try {
        const all = await pagesFrom(s);
        const first = (await s.call('tools/list')).tools.map((t) => t.name);
        const cursor = (await s.call('tools/list')).nextCursor;
        assert.equal(typeof cursor, 'string', 'tools/list takes more than one page');

        // the backend announces list_changed with its list as it was: the worker refetches it
        const before = v2Reports();
        const fetches = (await stack.v2.stats()).requests['tools/list'] || 0;
        await s.call('tools/call', { name: 'v2_announce', arguments: {} });
        await v2Refetched(before, 'the catalog of v2 fetched again and reported after announce');
        assert.ok((await stack.v2.stats()).requests['tools/list'] > fetches, 'the worker listed v2 again');
        // the cursor handed out before the refetch goes on to the end, with every tool once
        assert.deepEqual([...first, ...(await pagesFrom(s, cursor))], all);
        await sleep(300); // an announcement sent with the report has reached the clients by now
        assert.deepEqual(stream.events.filter((e) => isToolsChanged(e.json)), [], 'list_changed for the same lists on the GET stream');
        assert.deepEqual(heard, [], 'list_changed for the same lists on the listen');

        // the list grows: clients hear it once each, and the old cursors are refused
        const cursor2 = (await s.call('tools/list')).nextCursor;
        const grown = await s.call('tools/call', { name: 'v2_grow', arguments: {} });
        assert.equal(grown.content[0].text, 'grown_1');
        await waitFor(() => stream.events.some((e) => isToolsChanged(e.json)), { what: 'list_changed on the GET stream' });
        await waitFor(() => heard.length > 0, { what: 'list_changed on the listen' });
        const stale = await s.request('tools/list', { cursor: cursor2 });
        assert.equal(stale.response?.error?.code, -32602, stale.text.slice(0, 300));
        assert.ok((await pagesFrom(s)).includes('v2_grown_1'));
        // and only the growth
        assert.equal(stream.events.filter((e) => isToolsChanged(e.json)).length, 1, JSON.stringify(stream.events.map((e) => e.data)));
        assert.equal(heard.length, 1, JSON.stringify(heard));
    } finally {
        stream.close();
        await sub.close();
        await modern.close();
    }
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
