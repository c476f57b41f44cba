// subscriptions/listen for 2026-07-28 clients (issue 14 point 8, docs/design-2026-07-28.md §6),
// with raw POSTs: the acknowledgement first with the honoured subset of the filter, the listen id
// echoed as its raw token (string and number) on every event, list_changed from the gateway's own
// catalog change on a reload (only the lists asked for), resources/updated from a 2025 backend
// (subscribed on the caller's pooled session), the bound per caller, notifications/cancelled
// through the other router ending it with the complete result, the broker's stop ending it the
// same way, and the old era's GET streams as before.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { H2Client, gatewayConfig, initializeSession, rawPost, readSse, startBackend, startConformance, startGateway, toYaml, useSetup } from '../lib/index.mjs';

const MODERN = '2026-07-28';
const SUB = 'io.modelcontextprotocol/subscriptionId';
const META = {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'listen-test', version: '1.0.0' },
};
const T = { timeout: 60000 };

const stack = useSetup(async () => {
    const [alpha, conf] = await Promise.all([startBackend({ name: 'alpha' }), startConformance({ era: 'legacy' })]);
    const servers = [{ name: 'alpha', url: alpha.url, prefix: 'alpha_' }];
    // the main gateway keeps the default heartbeat (15 s): a client that leaves its listen over
    // HTTP/1.1 is seen by the router's poll of the connection (h1_gone.c), not by a write; the
    // other gateways here beat every 300 ms
    const gw = await startGateway({ servers });
    const extra = { http: { sse_heartbeat: '300ms' } };
    return { alpha, conf, gw, servers, extra };
});

/** Opens a listen on url; events() yields the parsed events, next() the next within ms. */
async function listen(url, id, notifications, caps) {
    const meta = caps === undefined ? META : { ...META, 'io.modelcontextprotocol/clientCapabilities': caps };
    const ctl = new AbortController();
    const res = await fetch(url, {
        method: 'POST',
        signal: ctl.signal,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'subscriptions/listen' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { _meta: meta, notifications } }),
    });
    const l = { res, ctl, router: String(res.headers.get('x-request-id')).slice(0, 8), got: [], ended: false };
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
        const it = readSse(res.body);
        l.pump = (async () => {
            try {
                for (;;) {
                    const { value, done } = await it.next();
                    if (done) {
                        break;
                    }
                    if (value.data) {
                        l.got.push(JSON.parse(value.data));
                    }
                }
            } catch {
                /* aborted */
            }
            l.ended = true;
        })();
    }
    l.close = () => ctl.abort();
    /** Ends it as the v2 client does: notifications/cancelled naming it, then the abort. */
    l.end = async () => {
        await rawPost(url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, _meta: meta } }, { 'MCP-Protocol-Version': MODERN });
        ctl.abort();
    };
    /** The first event (from index from) that pred accepts, within ms. */
    l.waitFor = async (pred, { ms = 8000, from = 0, what = 'an event' } = {}) => {
        const t0 = Date.now();
        for (;;) {
            const e = l.got.slice(from).find(pred);
            if (e) {
                return e;
            }
            if (Date.now() - t0 > ms || (l.ended && !l.got.slice(from).find(pred))) {
                throw new Error(`${what} not seen within ${ms} ms; got ${JSON.stringify(l.got)}`);
            }
            await new Promise((r) => setTimeout(r, 25));
        }
    };
    return l;
}

async function reloadWith(servers) {
    fs.writeFileSync(stack.gw.configFile, toYaml(gatewayConfig(stack.gw.dir, { servers })));
    const r = await stack.gw.ctl(['reload']);
    assert.equal(r.code, 0, r.stderr);
}

test('the acknowledgement comes first, with the honoured subset and the id as sent', T, async () => {
    const l = await listen(stack.gw.url, 'listen:0', { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true, resourceSubscriptions: ['test://nowhere'] });
    try {
        assert.equal(l.res.status, 200);
        assert.equal(l.res.headers.get('x-accel-buffering'), 'no');
        const ack = await l.waitFor(() => true, { what: 'the acknowledgement' });
        assert.equal(l.got.indexOf(ack), 0);
        assert.equal(ack.method, 'notifications/subscriptions/acknowledged');
        // alpha offers tools only, and no resource of that URI exists here
        assert.deepEqual(ack.params.notifications, { toolsListChanged: true });
        assert.equal(ack.params._meta[SUB], 'listen:0');
    } finally {
        await l.end();
    }
    const n = await listen(stack.gw.url, 7, { toolsListChanged: true });
    try {
        const ack = await n.waitFor(() => true, { what: 'the acknowledgement' });
        assert.equal(ack.params._meta[SUB], 7, 'a number stays a number');
    } finally {
        await n.end();
    }
});

test('a filter that is not one is refused with 400 -32602', T, async () => {
    const r = await rawPost(stack.gw.url, { jsonrpc: '2.0', id: 'bad', method: 'subscriptions/listen', params: { _meta: META, notifications: { toolsListChanged: 'yes' } } },
        { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'subscriptions/listen' });
    assert.equal(r.status, 400);
    assert.equal(r.messages[0].error.code, -32602);
    assert.equal(r.messages[0].id, 'bad');
});

test('a reload that changes the catalog: list_changed on the listens that asked, tagged; resources/updated from a 2025 backend', T, async () => {
    const tools = await listen(stack.gw.url, 'tools-only', { toolsListChanged: true });
    // the old era beside it: a session's GET stream
    const session = await initializeSession(stack.gw.url);
    const get = await session.openStream();
    try {
        assert.equal(get.status, 200);
        await tools.waitFor((e) => e.method === 'notifications/subscriptions/acknowledged', { what: 'the acknowledgement' });
        await reloadWith([...stack.servers, { name: 'conf', url: stack.conf.url, prefix: 'conf_' }]);
        const changed = await tools.waitFor((e) => e.method === 'notifications/tools/list_changed', { what: 'tools/list_changed' });
        assert.equal(changed.params._meta[SUB], 'tools-only');
        // the GET stream hears of it as before: an event id, no subscription id, no ack
        const old = await get.next((e) => e.json?.method === 'notifications/tools/list_changed');
        assert.ok(old.id, 'a resumable event');
        assert.equal(old.json.params, undefined);
        assert.ok(!get.events.some((e) => e.json?.method === 'notifications/subscriptions/acknowledged'));
        // now prompts and resources are offered: a listen asking for all of it gets it honoured
        const all = await listen(stack.gw.url, 'all', { promptsListChanged: true, resourcesListChanged: true, resourceSubscriptions: ['test://watched-resource', 'test://nowhere'] });
        try {
            const ack = await all.waitFor(() => true, { what: 'the acknowledgement' });
            assert.deepEqual(ack.params.notifications, { promptsListChanged: true, resourcesListChanged: true, resourceSubscriptions: ['test://watched-resource'] });
            const up = await all.waitFor((e) => e.method === 'notifications/resources/updated', { what: 'resources/updated from the 2025 backend' });
            assert.equal(up.params.uri, 'test://watched-resource');
            assert.equal(up.params._meta[SUB], 'all');
            // the backend going away changes every list: prompts and resources here, tools there
            const before = all.got.length;
            const beforeTools = tools.got.length;
            await reloadWith(stack.servers);
            await all.waitFor((e) => e.method === 'notifications/prompts/list_changed', { from: before, what: 'prompts/list_changed' });
            await all.waitFor((e) => e.method === 'notifications/resources/list_changed', { from: before, what: 'resources/list_changed' });
            await tools.waitFor((e) => e.method === 'notifications/tools/list_changed', { from: beforeTools, what: 'the second tools/list_changed' });
            await new Promise((r) => setTimeout(r, 300));
            assert.ok(!all.got.some((e) => e.method === 'notifications/tools/list_changed'), 'not asked for tools');
            assert.ok(all.got.every((e) => e.params._meta[SUB] === 'all'), JSON.stringify(all.got));
        } finally {
            await all.end();
        }
        assert.ok(tools.got.every((e) => !/prompts|resources/.test(e.method)), `a tools-only listen: ${JSON.stringify(tools.got)}`);
        assert.ok(tools.got.every((e) => e.params._meta[SUB] === 'tools-only'));
        assert.ok(!tools.got.some((e) => e.method === 'notifications/message' || e.method === 'notifications/progress'));
    } finally {
        get.close();
        await tools.end();
    }
});

test('a 2026-07-28 backend: resources/updated through an upstream listen, its list changes refetched and announced', T, async () => {
    const mod = await startConformance({ era: 'modern', label: 'conformance modern (listen)' });
    const gw = await startGateway({ servers: [{ name: 'mod', url: mod.url, prefix: 'mod_' }], extra: stack.extra });
    const l = await listen(gw.url, 'modern', { toolsListChanged: true, resourceSubscriptions: ['test://watched-resource'] });
    try {
        const ack = await l.waitFor(() => true, { what: 'the acknowledgement' });
        assert.deepEqual(ack.params.notifications, { toolsListChanged: true, resourceSubscriptions: ['test://watched-resource'] });
        const up = await l.waitFor((e) => e.method === 'notifications/resources/updated', { what: 'resources/updated from the 2026-07-28 backend' });
        assert.equal(up.params.uri, 'test://watched-resource');
        assert.equal(up.params._meta[SUB], 'modern');
        const call = await rawPost(gw.url, { jsonrpc: '2.0', id: 'trigger', method: 'tools/call', params: { name: 'mod_test_trigger_tool_change', arguments: {}, _meta: META } },
            { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'mod_test_trigger_tool_change' });
        assert.equal(call.status, 200, call.text);
        const changed = await l.waitFor((e) => e.method === 'notifications/tools/list_changed', { what: 'tools/list_changed after the backend\'s change' });
        assert.equal(changed.params._meta[SUB], 'modern');
    } finally {
        await l.end();
        await gw.stop();
        await mod.stop();
    }
    assert.deepEqual(gw.sanitizerReports(), []);
});

test('a 2025 backend\'s worker restarting: the broker tells it the listen\'s URIs again, and the updates resume', T, async () => {
    const gw = await startGateway({ servers: [{ name: 'conf', url: stack.conf.url, prefix: 'conf_' }], extra: stack.extra });
    // the caller's first request, with capabilities no one declared before (a set the broker has
    // not seen): its URIs are found all the same
    const l = await listen(gw.url, 'again', { resourceSubscriptions: ['test://watched-resource'] }, { sampling: {} });
    try {
        const ack = await l.waitFor(() => true, { what: 'the acknowledgement' });
        assert.deepEqual(ack.params.notifications, { resourceSubscriptions: ['test://watched-resource'] });
        await l.waitFor((e) => e.method === 'notifications/resources/updated', { what: 'the first update' });
        const seen = l.got.length;
        const worker = (await gw.status()).processes.find((p) => p.role === 'worker');
        process.kill(worker.pid, 'SIGKILL');
        // the fixture sends one update after each subscribe: a second one means a new subscribe
        const up = await l.waitFor((e) => e.method === 'notifications/resources/updated', { from: seen, ms: 20000, what: 'an update after the restart' });
        assert.equal(up.params._meta[SUB], 'again');
    } finally {
        await l.end();
        await gw.stop();
    }
});

test('16 listens per caller; the 17th is refused 429, and one more fits once one ends', T, async () => {
    const ls = [];
    try {
        for (let i = 0; i < 16; i++) {
            const l = await listen(stack.gw.url, `bound-${i}`, { toolsListChanged: true });
            assert.equal(l.res.status, 200);
            await l.waitFor(() => true, { what: `listen ${i} acknowledged` });
            ls.push(l);
        }
        const over = await listen(stack.gw.url, 'bound-16', { toolsListChanged: true });
        assert.equal(over.res.status, 429);
        const body = await over.res.json();
        assert.equal(body.id, 'bound-16');
        assert.ok(body.error, JSON.stringify(body));
        // a client going away frees its place too, once the router sees its connection close
        ls.pop().close();
        let again;
        for (let i = 0; i < 50; i++) {
            again = await listen(stack.gw.url, 'bound-16', { toolsListChanged: true });
            if (again.res.status === 200) {
                break;
            }
            await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(again.res.status, 200);
        ls.push(again);
    } finally {
        await Promise.all(ls.map((l) => l.end()));
    }
});

test('notifications/cancelled through the other router ends the listen with the complete result', T, async () => {
    const l = await listen(stack.gw.url, 'far', { toolsListChanged: true });
    const clients = [];
    try {
        await l.waitFor(() => true, { what: 'the acknowledgement' });
        let other;
        for (let i = 0; i < 40 && !other; i++) {
            const c = new H2Client(stack.gw.origin);
            clients.push(c);
            const r = await c.request('/mcp', {
                headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
                body: { jsonrpc: '2.0', id: 'which', method: 'tools/list', params: { _meta: META } },
            });
            if (String(r.headers['x-request-id']).slice(0, 8) !== l.router) {
                other = c;
            }
        }
        assert.ok(other, 'a connection on the other router');
        const c = await other.request('/mcp', {
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN },
            body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'far', _meta: META } },
        });
        assert.equal(c.status, 202);
        const end = await l.waitFor((e) => e.id === 'far', { what: 'the complete result' });
        assert.deepEqual(end.result, { resultType: 'complete', _meta: { [SUB]: 'far' } });
        await l.pump;
        assert.ok(l.ended, 'the stream ends after the result');
    } finally {
        l.close();
        clients.forEach((c) => c.close());
    }
});

test('a cancel naming an id that is no listen of this caller ends nothing', T, async () => {
    const l = await listen(stack.gw.url, 'mine', { toolsListChanged: true });
    try {
        await l.waitFor(() => true, { what: 'the acknowledgement' });
        const c = await rawPost(stack.gw.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'not-mine', _meta: META } }, { 'MCP-Protocol-Version': MODERN });
        assert.equal(c.status, 202);
        await new Promise((r) => setTimeout(r, 300));
        assert.ok(!l.ended);
        assert.equal(l.got.length, 1);
    } finally {
        await l.end();
    }
});

test('an idle listen gets a keepalive comment every http.sse_heartbeat', T, async () => {
    const gw = await startGateway({ servers: stack.servers, extra: stack.extra });
    const ctl = new AbortController();
    try {
        const res = await fetch(gw.url, {
            method: 'POST',
            signal: ctl.signal,
            headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'subscriptions/listen' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 'beat', method: 'subscriptions/listen', params: { _meta: META, notifications: { toolsListChanged: true } } }),
        });
        const reader = res.body.getReader();
        let text = '';
        const t0 = Date.now();
        while ((text.match(/^: keepalive$/gm) || []).length < 2 && Date.now() - t0 < 5000) {
            const { value, done } = await reader.read();
            if (done) {
                break;
            }
            text += new TextDecoder().decode(value);
        }
        assert.ok((text.match(/^: keepalive$/gm) || []).length >= 2, text);
        assert.ok(text.indexOf('notifications/subscriptions/acknowledged') < text.indexOf(': keepalive'), 'the acknowledgement first');
    } finally {
        ctl.abort();
        await gw.stop();
    }
});

test('the broker stopping ends a listen with the complete result', T, async () => {
    const gw = await startGateway({ servers: stack.servers, extra: stack.extra });
    const l = await listen(gw.url, 99, { toolsListChanged: true });
    try {
        await l.waitFor(() => true, { what: 'the acknowledgement' });
        const stopped = gw.stop();
        const end = await l.waitFor((e) => e.id === 99, { what: 'the complete result' });
        assert.deepEqual(end.result, { resultType: 'complete', _meta: { [SUB]: 99 } });
        assert.equal(l.got.filter((e) => e.id === 99).length, 1, 'one result');
        await stopped;
    } finally {
        l.close();
    }
    assert.deepEqual(gw.sanitizerReports(), []);
});

test('no sanitizer reports in the gateway log', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
