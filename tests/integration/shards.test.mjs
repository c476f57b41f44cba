// servers[].workers: N (issue 15 point 4): N worker processes serve one backend, each gateway session
// lives in one of them (its upstream session, its server-to-client requests and their answers), and
// a crash of one worker loses nothing of the sessions the others hold: they keep their upstream
// sessions (the backend sees no new initialize for them) and the crashed worker's sessions get new
// ones on their next call. A 2026-07-28 caller's calls and their resumes stay on one worker too.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test as nodeTest } from 'node:test';
import { gatewayConfig, initializeSession, startBackend, startConformance, startGateway, toYaml, useSetup, waitFor } from '../lib/index.mjs';

// The v2 client (@modelcontextprotocol/client 2.x) needs node >= 20.
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const NEEDS_NODE = NODE_MAJOR < 20 ? `needs node >= 20 (the @modelcontextprotocol 2.x packages), this is ${process.version}` : undefined;
const { connectClient, ELICITED_NAME } = NEEDS_NODE ? {} : await import('../lib/era-clients.mjs');
const test = nodeTest;

const SHARDS = 3;
const SESSIONS = 36; // a shard left without a session: 3 x (2/3)^36, about 1 in 700,000

const servers = (alpha, conf, n) => [
    { name: 'alpha', url: alpha.url, prefix: 'alpha_', workers: n },
    { name: 'conf', url: conf.url, prefix: 'conf_', workers: SHARDS },
];

const stack = useSetup(async () => {
    const [alpha, conf] = await Promise.all([startBackend({ name: 'alpha' }), startConformance({ era: 'legacy' })]);
    const gw = await startGateway({ servers: servers(alpha, conf, SHARDS) });
    return { alpha, conf, gw };
});

const T = { timeout: 90000 };

/** The alpha workers of `mcpgwctl status --json`, by process name. */
async function alphaWorkers() {
    const st = await stack.gw.status();
    return Object.fromEntries(st.processes.filter((p) => p.role === 'worker' && /^worker\.alpha(\.\d+)?$/.test(p.name))
        .map((p) => [p.name, p]));
}

/** mcpgw_upstream_sessions of each alpha worker, by process name. */
async function upstreamSessions() {
    const text = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
    const out = {};
    for (const m of text.matchAll(/^mcpgw_upstream_sessions\{process="(worker\.alpha(?:\.\d+)?)"[^}]*\} (\d+)$/gm)) {
        out[m[1]] = Number(m[2]);
    }
    return out;
}

/** The upstream session alpha saw for this gateway session (its whoami names it). */
async function upstreamOf(s) {
    const j = await s.tool('alpha_whoami');
    assert.equal(j.backend, 'alpha');
    return j.session;
}

let sessions;
let before; // gateway session index -> upstream session id

test(`workers: ${SHARDS} runs ${SHARDS} worker processes for the backend, each with its catalog session`, T, async () => {
    const w = await alphaWorkers();
    assert.deepEqual(Object.keys(w).sort(), ['worker.alpha', 'worker.alpha.1', 'worker.alpha.2']);
    for (const p of Object.values(w)) {
        assert.equal(p.state, 'running', JSON.stringify(p));
    }
    const b = await stack.gw.ctl(['backends', '--json']);
    assert.equal(b.code, 0, b.stderr);
    const alpha = JSON.parse(b.stdout).backends.find((x) => x.name === 'alpha');
    assert.equal(alpha.workers, SHARDS, b.stdout);
    // every worker fetches the catalog over its own session; nothing else has initialized yet
    await waitFor(async () => (await stack.alpha.stats()).initializes === SHARDS, { what: `${SHARDS} catalog sessions` });
});

test('sessions spread over the workers: one upstream session per gateway session, kept call after call', T, async () => {
    const base = (await stack.alpha.stats()).initializes;
    sessions = await Promise.all(Array.from({ length: SESSIONS }, () => initializeSession(stack.gw.url)));
    before = await Promise.all(sessions.map(upstreamOf));
    const again = await Promise.all(sessions.map(upstreamOf));
    assert.deepEqual(again, before, 'each gateway session keeps its upstream session');
    assert.equal(new Set(before).size, SESSIONS, 'no two gateway sessions share an upstream session');
    assert.equal((await stack.alpha.stats()).initializes - base, SESSIONS, 'one initialize per gateway session');
    const per = await upstreamSessions();
    assert.deepEqual(Object.keys(per).sort(), ['worker.alpha', 'worker.alpha.1', 'worker.alpha.2']);
    const total = Object.values(per).reduce((a, b) => a + b, 0);
    // (the gauge counts the sessions of gateway sessions, not a worker's catalog session)
    assert.equal(total, SESSIONS, `upstream sessions over the workers: ${JSON.stringify(per)}`);
    for (const [name, n] of Object.entries(per)) {
        assert.ok(n >= 1, `${name} holds gateway sessions: ${JSON.stringify(per)}`);
    }
});

test('SIGKILL of one worker: the other workers\' sessions keep their upstream sessions; the killed one\'s get new ones', T, async () => {
    const victim = 'worker.alpha.1';
    const lost = (await upstreamSessions())[victim]; // its gateway sessions
    const w = await alphaWorkers();
    const base = (await stack.alpha.stats()).initializes;
    process.kill(w[victim].pid, 'SIGKILL');
    await waitFor(async () => {
        const p = (await alphaWorkers())[victim];
        return p && p.pid !== w[victim].pid && p.state === 'running';
    }, { what: `${victim} restarted`, timeoutMs: 20000 });
    for (const name of ['worker.alpha', 'worker.alpha.2']) {
        assert.equal((await alphaWorkers())[name].pid, w[name].pid, `${name} was not restarted`);
    }
    const after = [];
    for (const s of sessions) {
        after.push(await waitFor(async () => {
            const r = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
            return r.status === 200 && r.response?.result ? JSON.parse(r.response.result.content[0].text).session : false;
        }, { what: 'a call after the restart', timeoutMs: 20000 }));
    }
    const changed = after.filter((id, i) => id !== before[i]).length;
    assert.equal(changed, lost, `exactly the killed worker's ${lost} sessions got new upstream sessions`);
    // the new worker's catalog session and one session for each of its gateway sessions: no other
    assert.equal((await stack.alpha.stats()).initializes - base, lost + 1, 'initializes after the kill');
    assert.equal(new Set(after).size, SESSIONS);
});

test('server-to-client requests reach the right client and its answer the right worker, on every worker', T, async () => {
    if (NEEDS_NODE) {
        return;
    }
    const clients = await Promise.all(Array.from({ length: 9 }, (_, i) => connectClient('1.32.2', stack.gw.url, { name: `c${i}` })));
    try {
        const results = await Promise.all(clients.map((c) => c.client.callTool({ name: 'conf_test_elicitation', arguments: { message: 'Who?' } })));
        for (const [i, r] of results.entries()) {
            assert.ok(!r.isError, JSON.stringify(r));
            assert.match(JSON.stringify(r.content), new RegExp(ELICITED_NAME), JSON.stringify(r));
            assert.equal(clients[i].elicitations.length, 1, `client ${i} was asked once`);
        }
    } finally {
        await Promise.all(clients.map((c) => c.close()));
    }
});

test('2026-07-28 callers: a call that asks for input resumes on the worker that asked', T, async () => {
    if (NEEDS_NODE) {
        return;
    }
    const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => connectClient('v2 pinned', stack.gw.url, { name: `m${i}` })));
    try {
        for (const c of clients) {
            const r = await c.client.callTool({ name: 'conf_test_elicitation', arguments: { message: 'Who?' } });
            assert.ok(!r.isError, JSON.stringify(r));
            assert.match(JSON.stringify(r.content), new RegExp(ELICITED_NAME), JSON.stringify(r));
            assert.equal(c.elicitations.length, 1);
        }
    } finally {
        await Promise.all(clients.map((c) => c.close()));
    }
});

test('a reload to workers: 2 retires the third worker; every session is answered, one upstream session each', T, async () => {
    fs.writeFileSync(stack.gw.configFile, toYaml(gatewayConfig(stack.gw.dir, { servers: servers(stack.alpha, stack.conf, 2) })));
    const r = await stack.gw.ctl(['reload']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => {
        const w = await alphaWorkers();
        return Object.keys(w).sort().join() === 'worker.alpha,worker.alpha.1' && Object.values(w).every((p) => p.state === 'running');
    }, { what: 'two alpha workers running', timeoutMs: 20000 });
    const ids = [];
    for (const s of sessions) {
        ids.push(await waitFor(async () => {
            const a = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
            return a.status === 200 && a.response?.result ? JSON.parse(a.response.result.content[0].text).session : false;
        }, { what: 'a call after the reload', timeoutMs: 20000 }));
    }
    assert.deepEqual(await Promise.all(sessions.map(upstreamOf)), ids, 'each session keeps its new upstream session');
    assert.equal(new Set(ids).size, SESSIONS);
    const per = await upstreamSessions();
    // a retired worker's series stay (as a removed server's do), at 0
    assert.equal(per['worker.alpha.2'] ?? 0, 0, JSON.stringify(per));
    assert.equal(per['worker.alpha'] + per['worker.alpha.1'], SESSIONS, JSON.stringify(per));
});

test('no sanitizer reports', T, async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
