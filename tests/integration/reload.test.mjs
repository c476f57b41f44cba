// Reload (SIGHUP and mcpgwctl reload): servers added, removed and changed while traffic runs;
// calls to unaffected backends see zero failures; sessions continue; a broken file is refused
// with its file:line error and the running configuration stays.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { gatewayConfig, initializeSession, startBackend, toolJson, toYaml, useStack, waitFor } from '../lib/index.mjs';

let gamma;
const stack = useStack({
    async ready() {
        gamma = await startBackend({ name: 'gamma' });
    },
});

/*
 * Rewrites the gateway's config file with these servers, keeping everything else. Lists built on
 * stack.servers have alpha exactly as startStack configured it, so that alpha counts as unchanged.
 */
function writeServers(list) {
    const cfg = gatewayConfig(stack.gw.dir, { servers: list });
    fs.writeFileSync(stack.gw.configFile, toYaml(cfg));
}

async function reload() {
    const r = await stack.gw.ctl(['reload']);
    return r;
}

test('a broken file is refused with file:line and the gateway keeps serving', async () => {
    const good = fs.readFileSync(stack.gw.configFile, 'utf8');
    try {
        fs.writeFileSync(stack.gw.configFile, `${good}\nbogus_key: 1\n`);
        const r = await reload();
        assert.equal(r.code, 1);
        assert.match(r.stderr, /mcpgw\.yaml:\d+: bogus_key: unknown key/);
        process.kill(stack.gw.proc.pid, 'SIGHUP');
        await waitFor(() => stack.gw.logs().includes('reload refused'), { what: 'the refusal in the log' });
        const s = await initializeSession(stack.gw.url);
        assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
    } finally {
        fs.writeFileSync(stack.gw.configFile, good);
    }
});

test('a change that needs a restart is refused and nothing changes', async () => {
    const good = fs.readFileSync(stack.gw.configFile, 'utf8');
    try {
        fs.writeFileSync(stack.gw.configFile, good.replace(/routers: \d+/, 'routers: 1'));
        const r = await reload();
        assert.equal(r.code, 1);
        assert.match(r.stderr, /routers changed: restart mcpgw/);
    } finally {
        fs.writeFileSync(stack.gw.configFile, good);
    }
});

test('servers added, changed and removed while calls to alpha never fail', { timeout: 60000 }, async () => {
    const s = await initializeSession(stack.gw.url);
    const alphaBefore = await s.tool('alpha_whoami');
    let stop = false;
    let calls = 0;
    const failures = [];
    const traffic = (async () => {
        while (!stop) {
            const r = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
            calls++;
            if (!r.response?.result) {
                failures.push(JSON.stringify(r.response ?? r.status));
            }
        }
    })();
    try {
        // add gamma
        writeServers([...stack.servers, { name: 'gamma', url: gamma.url, prefix: 'gamma_' }]);
        const add = await reload();
        assert.equal(add.code, 0, add.stderr);
        assert.match(add.stdout, /1 servers added, 0 removed, 0 changed/);
        const g = await waitFor(async () => {
            const r = await s.request('tools/call', { name: 'gamma_whoami', arguments: {} });
            return r.response?.result ? toolJson(r.response.result) : null;
        }, { what: 'gamma to be served' });
        assert.equal(g.backend, 'gamma');
        // change beta's prefix: its tools are renamed, the old names are unknown
        writeServers([stack.servers[0], { ...stack.servers[1], prefix: 'b2_' }, { name: 'gamma', url: gamma.url, prefix: 'gamma_' }]);
        const change = await reload();
        assert.equal(change.code, 0, change.stderr);
        assert.match(change.stdout, /0 servers added, 0 removed, 1 changed/);
        const b = await waitFor(async () => {
            const r = await s.request('tools/call', { name: 'b2_whoami', arguments: {} });
            return r.response?.result ? toolJson(r.response.result) : null;
        }, { what: 'beta under its new prefix' });
        assert.equal(b.backend, 'beta');
        const old = await s.request('tools/call', { name: 'beta_whoami', arguments: {} });
        assert.equal(old.response?.error?.code, -32602);
        // remove gamma (SIGHUP this time)
        writeServers([stack.servers[0], { ...stack.servers[1], prefix: 'b2_' }]);
        process.kill(stack.gw.proc.pid, 'SIGHUP');
        await waitFor(async () => {
            const r = await s.request('tools/call', { name: 'gamma_whoami', arguments: {} });
            return r.response?.error?.code === -32602;
        }, { what: 'gamma to be gone' });
        // the retired worker gets SIGTERM and up to 2 s to finish what it was doing
        await waitFor(async () => !(await stack.gw.status()).processes.some((p) => p.name === 'worker.gamma'),
            { what: "gamma's worker to leave", timeoutMs: 10000 });
        const st = await stack.gw.status();
        assert.ok(!st.backends.some((x) => x.name === 'gamma'));
    } finally {
        stop = true;
        await traffic;
    }
    assert.ok(calls > 10, `calls during the reloads: ${calls}`);
    assert.deepEqual(failures, [], 'calls to alpha never failed');
    // alpha kept its upstream session through all of it
    assert.deepEqual(await s.tool('alpha_whoami'), alphaBefore);
    const st = await stack.gw.status();
    const alphaWorker = st.processes.find((p) => p.name === 'worker.alpha');
    assert.equal(alphaWorker.restarts, 0);
});

test('a reload that changes limits restarts the routers so that they apply; log.level applies at once everywhere', async () => {
    const s = await initializeSession(stack.gw.url);
    const big = { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'alpha_echo', arguments: { text: 'x'.repeat(4096) } } };
    assert.equal((await s.post(big)).status, 200);
    const before = (await stack.gw.status()).processes.filter((p) => p.role === 'router').map((p) => p.pid);
    const write = (extra) => fs.writeFileSync(stack.gw.configFile, toYaml(gatewayConfig(stack.gw.dir, { servers: stack.servers, extra })));
    try {
        write({ limits: { max_request_body: '2KiB' }, log: { level: 'debug' } });
        const r = await reload();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /routers restarted/);
        await waitFor(async () => (await s.post(big)).status === 413, { what: 'the new body limit', timeoutMs: 15000 });
        const after = (await stack.gw.status()).processes.filter((p) => p.role === 'router').map((p) => p.pid);
        assert.equal(after.length, before.length);
        assert.ok(after.every((pid) => !before.includes(pid)), 'every router was restarted');
        // the session survives its router, small requests are served, and debug lines appear in a worker
        assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
        await waitFor(() => /level=debug proc=worker\.alpha/.test(stack.gw.logs()), { what: 'a worker debug line' });
    } finally {
        write({});
        assert.equal((await reload()).code, 0);
    }
    await waitFor(async () => (await s.post(big)).status === 200, { what: 'the default limit again', timeoutMs: 15000 });
});
