// Name control per backend (servers[].tools): include and exclude over the backend's own names,
// rename to the names clients see (before the prefix). Clients list and call the exposed names
// only; a call reaches the backend under its own name; excluded tools and the old names of renamed
// ones are unknown exactly like a tool that does not exist (from the router, or from the worker
// while a capability set's lists are pending); a rename onto the backend's own tool
// loses to it (a warning, a count); tool_timeouts keep naming the backend's own tools; a reload
// that changes a rename sends list_changed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import { gatewayConfig, initializeSession, startBackend, startGateway, toYaml, useSetup, waitFor } from '../lib/index.mjs';

const alphaTools = (rename) => ({
    include: ['whoami', 'echo', 'add', 'slow', 'sleep', 'toggle_tools'],
    exclude: ['sleep'],
    rename,
});
// toggle_tools -> add lands on the backend's own add: add stays, toggle_tools is dropped
const FIRST = { whoami: 'who', echo: 'say', slow: 'wait', toggle_tools: 'add' };
const servers = (st, rename) => [
    // slow may take longer than the server's timeout (past the router's grace of 1 s too)
    { name: 'alpha', url: st.alpha.url, prefix: 'a_', timeout: '1s', tool_timeouts: { slow: '4s' }, tools: alphaTools(rename) },
    { name: 'beta', url: st.beta.url, prefix: 'b_' },
    { name: 'gamma', url: st.gamma.url, prefix: 'g_', timeout: '20s' },
];

/*
 * gamma: a backend with no tools that never answers an initialize declaring sampling, so that the
 * catalog of sessions with sampling stays pending (routers route their calls by prefix and the
 * worker decides) for its 20 s timeout.
 */
async function startSamplingHangingBackend() {
    const held = [];
    const server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => { body += c; });
        req.on('end', () => {
            let m;
            try {
                m = req.method === 'POST' ? JSON.parse(body) : undefined;
            } catch {
                m = undefined;
            }
            if (m === undefined || m.id === undefined) {
                res.writeHead(m === undefined ? 405 : 202).end();
                return;
            }
            if (m.method === 'initialize' && m.params?.capabilities?.sampling) {
                held.push(res);
                return;
            }
            const result = m.method === 'initialize'
                ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'gamma', version: '1' } }
                : m.method === 'tools/list' ? { tools: [] } : {};
            res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
        });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${server.address().port}/mcp`,
        close: () => new Promise((resolve) => {
            server.closeAllConnections();
            server.close(resolve);
        }),
    };
}

let s;
const stack = useSetup(async () => {
    const [alpha, beta, gamma] = await Promise.all([startBackend({ name: 'alpha' }), startBackend({ name: 'beta' }), startSamplingHangingBackend()]);
    const gw = await startGateway({ servers: servers({ alpha, beta, gamma }, FIRST) });
    return { gw, alpha, beta, gamma };
}, {
    async ready(st) {
        s = await initializeSession(st.gw.url);
    },
    cleanup: () => stack.gamma?.close(),
});

const T = { timeout: 30000 };

async function names(session, prefix) {
    return (await session.call('tools/list')).tools.map((t) => t.name).filter((n) => n.startsWith(prefix)).sort();
}

test('tools/list shows what include, exclude and rename expose, and no other tool of the backend', T, async () => {
    assert.deepEqual(await names(s, 'a_'), ['a_add', 'a_say', 'a_wait', 'a_who']);
    // the other backend, without servers[].tools, lists all its tools as they are
    const b = await names(s, 'b_');
    for (const n of ['b_whoami', 'b_echo', 'b_add', 'b_slow', 'b_sleep', 'b_headers', 'b_toggle_tools']) {
        assert.ok(b.includes(n), `${n} in ${b.join(' ')}`);
    }
    // the renamed tool keeps the rest of its description; a_add is the backend's own add
    const tools = (await s.call('tools/list')).tools;
    assert.deepEqual(tools.filter((t) => t.name === 'a_add').map((t) => t.description), ['Adds two numbers.']);
    const say = tools.find((t) => t.name === 'a_say');
    assert.equal(say.description, 'Returns the given text.');
    assert.deepEqual(say.inputSchema.required, ['text']);
});

test('a call to a renamed tool reaches the backend under its own name', T, async () => {
    const echo = await s.tool('a_say', { text: 'hello' });
    assert.equal(echo.tool, 'echo');
    assert.equal(echo.backend, 'alpha');
    assert.equal(echo.text, 'hello');
    assert.equal((await s.tool('a_who')).tool, 'whoami');
    // the backend's own add won over the rename of toggle_tools onto it
    const add = await s.tool('a_add', { a: 2, b: 3 });
    assert.equal(add.tool, 'add');
    assert.equal(add.sum, 5);
});

test('excluded, not included, shadowed and old names get -32602 "Unknown tool" like a tool that does not exist', T, async () => {
    const none = await s.request('tools/call', { name: 'a_no_such_tool', arguments: {} });
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(none.response.error, { code: -32602, message: 'Unknown tool: a_no_such_tool' });
    for (const name of ['a_sleep', 'a_headers', 'a_big', 'a_whoami', 'a_echo', 'a_slow', 'a_toggle_tools']) {
        const r = await s.request('tools/call', { name, arguments: { ms: 1, text: 'x' } });
        assert.equal(r.status, none.status, `${name}: ${r.text}`);
        assert.deepEqual(r.response.error, { code: -32602, message: `Unknown tool: ${name}` }, name);
        assert.equal(r.response.result, undefined, name);
    }
    // the backend never ran them: the calls above did not reach it
    const b = await s.tool('b_whoami');
    assert.equal(b.backend, 'beta');
});

test('while a capability set\'s lists are not known, the worker answers the unknown names the same way', T, async () => {
    const sampler = await initializeSession(stack.gw.url, { capabilities: { sampling: {} } });
    const workerAnswered = () => /msg="call failed" [^\n]*backend=alpha method=tools\/call code=-32602 error="Unknown tool: a_sleep"/.test(stack.gw.logs());
    assert.ok(!workerAnswered());
    // routers learn that the set is pending with the routing table the new session causes
    await waitFor(async () => {
        const r = await sampler.request('tools/call', { name: 'a_sleep', arguments: { ms: 1 } });
        assert.deepEqual(r.response.error, { code: -32602, message: 'Unknown tool: a_sleep' }, r.text);
        return workerAnswered();
    }, { what: 'the worker to answer a_sleep itself', timeoutMs: 8000 });
    for (const name of ['a_whoami', 'a_headers', 'a_toggle_tools']) {
        const r = await sampler.request('tools/call', { name, arguments: {} });
        assert.deepEqual(r.response.error, { code: -32602, message: `Unknown tool: ${name}` }, name);
    }
    assert.equal((await sampler.tool('a_say', { text: 'x' })).tool, 'echo');
    assert.equal((await sampler.tool('a_add', { a: 1, b: 1 })).tool, 'add');
});

test('tool_timeouts name the backend\'s own tool: the renamed tool keeps its deadline on every hop', T, async () => {
    const t0 = Date.now();
    const r = await s.request('tools/call', { name: 'a_wait', arguments: { ms: 2600, steps: 0 } });
    const took = Date.now() - t0;
    assert.ok(r.response?.result, `a result after ${took} ms: ${r.text.slice(0, 300)}`);
    assert.ok(took >= 2550, `took ${took} ms`);
});

test('the rename onto the backend\'s own tool is logged naming both and counted', T, async () => {
    await waitFor(() => /msg="renamed tool dropped: the backend has a tool of that name" backend=alpha caps=0 tool="toggle_tools" renamed="add"/.test(stack.gw.logs()),
        { what: 'the collision warning' });
    const metrics = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
    const m = /mcpgw_catalog_tools_dropped_total\{process="worker\.alpha"[^}]*reason="rename_collision"\} (\d+)/.exec(metrics);
    assert.ok(m && Number(m[1]) >= 1, metrics.split('\n').filter((l) => l.includes('tools_dropped')).join('\n'));
    assert.ok(!/tools_dropped_total\{process="worker\.beta"[^}]*\} [1-9]/.test(metrics), 'beta drops nothing');
});

test('a reload that changes a rename sends list_changed on the GET stream and the new names apply', T, async () => {
    const watcher = await initializeSession(stack.gw.url);
    const st = await watcher.openStream();
    assert.equal(st.status, 200);
    const changed = (e) => e.json?.method === 'notifications/tools/list_changed';
    try {
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(st.events.filter(changed).length, 0);
        const cfg = gatewayConfig(stack.gw.dir, { servers: servers(stack, { ...FIRST, echo: 'shout' }) });
        fs.writeFileSync(stack.gw.configFile, toYaml(cfg));
        const r = await stack.gw.ctl(['reload']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /0 servers added, 0 removed, 1 changed/);
        // the changed server's worker restarts: its tools come back under the new names
        const want = ['a_add', 'a_shout', 'a_wait', 'a_who'];
        await waitFor(async () => JSON.stringify(await names(watcher, 'a_')) === JSON.stringify(want),
            { what: 'the new names in tools/list', timeoutMs: 15000 });
        await st.next(changed, 5000);
        assert.equal((await watcher.tool('a_shout', { text: 'hi' })).tool, 'echo');
        const old = await watcher.request('tools/call', { name: 'a_say', arguments: { text: 'hi' } });
        assert.deepEqual(old.response.error, { code: -32602, message: 'Unknown tool: a_say' });
        // the session made before the reload sees the same
        assert.deepEqual(await names(s, 'a_'), want);
    } finally {
        st.close();
    }
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
