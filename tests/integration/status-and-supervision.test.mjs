// Administration as an operator sees it: mcpgwctl status (text and JSON), mcpgw-broker -t config
// checks, supervision (a killed router or worker is restarted and the gateway serves again) and
// a graceful SIGTERM that leaves no child behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
    binPath,
    initializeSession,
    makeTempDir,
    run,
    runBroker,
    sleep,
    useStack,
    waitFor,
} from '../lib/index.mjs';

const stack = useStack();

const T = { timeout: 40000 };

/** True if pid is a live process (a zombie counts as gone). */
function alive(pid) {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
        return false;
    }
}

function parentOf(pid) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function toolCount(prefix) {
    const s = await initializeSession(stack.gw.url);
    const list = await s.call('tools/list');
    await s.delete();
    return list.tools.filter((t) => t.name.startsWith(prefix)).length;
}

test('mcpgwctl status --json lists the processes and the backends', T, async () => {
    const st = await stack.gw.status();
    assert.ok(Array.isArray(st.processes), 'processes array');
    assert.ok(Array.isArray(st.backends), 'backends array');
    const routers = st.processes.filter((p) => p.role === 'router');
    const workers = st.processes.filter((p) => p.role === 'worker');
    assert.equal(routers.length, 2, 'routers: 2 in the config');
    assert.equal(workers.length, 2, 'one worker per backend');
    for (const p of st.processes) {
        assert.ok(Number.isInteger(p.pid) && p.pid > 1, `pid ${p.pid}`);
        assert.ok(alive(p.pid), `process ${p.name} (${p.pid}) is alive`);
        assert.equal(p.state, 'running', `${p.name} state`);
        assert.equal(typeof p.name, 'string');
    }
    assert.equal(new Set(st.processes.map((p) => p.pid)).size, st.processes.length, 'distinct pids');
    for (const p of st.processes) {
        if (p.pid === stack.gw.proc.pid) {
            assert.equal(p.role, 'broker', 'the broker may list itself, as role broker');
        } else {
            assert.ok(['router', 'worker'].includes(p.role), `role ${p.role}`);
            assert.equal(parentOf(p.pid), stack.gw.proc.pid, `${p.name} is a child of the broker`);
        }
    }

    const byName = new Map(st.backends.map((b) => [b.name, b]));
    assert.deepEqual([...byName.keys()].sort(), ['alpha', 'beta']);
    assert.equal(byName.get('alpha').url, stack.alpha.url);
    assert.equal(byName.get('beta').url, stack.beta.url);
    assert.equal(byName.get('alpha').tools, await toolCount('alpha_'));
    assert.equal(byName.get('beta').tools, await toolCount('beta_'));
    assert.ok(byName.get('alpha').tools > 0);
    for (const b of st.backends) {
        assert.equal(b.state, 'up', `${b.name} state`);
    }
});

test('mcpgwctl status (text) shows pid, role and state of each process and each backend', T, async () => {
    const st = await stack.gw.status();
    const r = await stack.gw.ctl(['status']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    for (const p of st.processes) {
        const line = lines.find((l) => new RegExp(`\\b${p.pid}\\b`).test(l));
        assert.ok(line, `a line with pid ${p.pid}:\n${r.stdout}`);
        assert.ok(line.includes(p.role), `role on the line: ${line}`);
        assert.ok(line.includes(p.state), `state on the line: ${line}`);
    }
    for (const b of st.backends) {
        const line = lines.find((l) => l.includes(b.url));
        assert.ok(line, `a line with ${b.url}:\n${r.stdout}`);
        assert.ok(line.includes(b.name), `backend name on the line: ${line}`);
        assert.match(line, new RegExp(`\\b${b.tools}\\b`), `tool count on the line: ${line}`);
    }
});

test('mcpgwctl against a socket nobody listens on fails cleanly', T, async () => {
    const dir = makeTempDir();
    try {
        const bad = await run(binPath('mcpgwctl'), ['-s', path.join(dir, 'nothing.ipc'), 'status'], { timeoutMs: 15000 });
        assert.notEqual(bad.code, 0, 'non-zero exit');
        assert.equal(bad.signal, null, 'exits by itself (no hang, no crash)');
        assert.ok(bad.stderr.length > 0, 'says why on stderr');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('mcpgw-broker -t: a good config exits 0, a bad one exits 1 with file:line: key: message', T, async () => {
    const good = await runBroker(['-t', '-c', stack.gw.configFile]);
    assert.equal(good.code, 0, `good config: ${good.stderr}`);

    const dir = makeTempDir();
    try {
        const lines = fs.readFileSync(stack.gw.configFile, 'utf8').split('\n');
        // Break beta's url: find the line and replace its value.
        const idx = lines.findIndex((l) => l.includes(stack.beta.url));
        assert.ok(idx >= 0);
        lines[idx] = lines[idx].replace(stack.beta.url, 'ftp://not-an-http-url');
        const badFile = path.join(dir, 'bad.yaml');
        fs.writeFileSync(badFile, lines.join('\n'));
        const bad = await runBroker(['-t', '-c', badFile]);
        assert.equal(bad.code, 1, `bad url: exit ${bad.code}`);
        const out = bad.stderr + bad.stdout;
        const m = /bad\.yaml:(\d+): ([^:\s]+): \S.*/.exec(out);
        assert.ok(m, `an error of the form file:line: key: message, got:\n${out}`);
        assert.equal(Number(m[1]), idx + 1, `the line of the bad url (${out.trim()})`);
        assert.match(m[2], /url/, `the key names the url: ${m[2]}`);

        // A wrong type elsewhere.
        const lines2 = fs.readFileSync(stack.gw.configFile, 'utf8').split('\n');
        const ridx = lines2.findIndex((l) => /^routers:/.test(l));
        lines2[ridx] = 'routers: "many"';
        const bad2 = path.join(dir, 'bad2.yaml');
        fs.writeFileSync(bad2, lines2.join('\n'));
        const r2 = await runBroker(['-t', '-c', bad2]);
        assert.equal(r2.code, 1);
        assert.match(r2.stderr + r2.stdout, new RegExp(`bad2\\.yaml:${ridx + 1}: routers: \\S`));

        // Syntax error.
        const bad3 = path.join(dir, 'bad3.yaml');
        fs.writeFileSync(bad3, 'listen:\n  - address: "127.0.0.1\n    port: 0\n');
        const r3 = await runBroker(['-t', '-c', bad3]);
        assert.equal(r3.code, 1);
        assert.match(r3.stderr + r3.stdout, /bad3\.yaml:\d+:/);

        const missing = await runBroker(['-t', '-c', path.join(dir, 'does-not-exist.yaml')]);
        assert.equal(missing.code, 1);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('mcpgw-broker --version and --help', T, async () => {
    const v = await runBroker(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout + v.stderr, /\d+\.\d+\.\d+/);
    const h = await runBroker(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout + h.stderr, /-c/);
});

async function killAndAwaitRestart(role, pick) {
    const before = await stack.gw.status();
    const victim = pick(before.processes.filter((p) => p.role === role));
    assert.ok(victim, `a ${role} to kill`);
    process.kill(victim.pid, 'SIGKILL');
    const st = await waitFor(async () => {
        const now = await stack.gw.status();
        const again = now.processes.find((p) => p.name === victim.name);
        const allUp = now.processes.filter((p) => p.role === role).every((p) => p.state === 'running' && alive(p.pid));
        return again && again.pid !== victim.pid && again.state === 'running' && allUp ? now : null;
    }, { timeoutMs: 15000, intervalMs: 200, what: `${role} ${victim.name} to be restarted` });
    assert.ok(!alive(victim.pid), 'the killed process is gone (reaped)');
    const again = st.processes.find((p) => p.name === victim.name);
    assert.equal(parentOf(again.pid), stack.gw.proc.pid, 'restarted by the broker');
    if ('restarts' in victim) {
        assert.ok(again.restarts > victim.restarts, 'the restart is counted');
    }
    return { victim, st };
}

test('a killed router is restarted and the gateway serves again', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const before = await s.tool('alpha_whoami');
    const { st } = await killAndAwaitRestart('router', (rs) => rs[0]);
    assert.equal(st.processes.filter((p) => p.role === 'router').length, 2);
    // New connections land on either router (SO_REUSEPORT): try several.
    for (let i = 0; i < 10; i++) {
        const fresh = await initializeSession(stack.gw.url);
        assert.equal((await fresh.tool('beta_whoami')).backend, 'beta');
    }
    // The session from before the kill is still valid (tokens are checked by any router).
    assert.deepEqual(await s.tool('alpha_whoami'), before);
});

test('a second mcpgw-broker on the same runtime_dir refuses to start and leaves the running one whole', T, async () => {
    const s = await initializeSession(stack.gw.url);
    await s.tool('alpha_whoami');
    const calls = async () => {
        const text = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
        return text.split('\n').filter((l) => l.startsWith('mcpgw_requests_total{') && l.includes('method="tools/call"'))
            .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };
    const before = await calls();
    assert.ok(before >= 1);
    const second = await runBroker(['-c', stack.gw.configFile], { timeoutMs: 15000 });
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /msg="another mcpgw-broker runs with this runtime_dir; nothing was touched"/);
    assert.equal(await calls(), before, 'the running gateway\'s counters are untouched');
    // Its sockets still take new peers (nng 1.5.2 stops accepting on a listener when a peer hangs
    // up mid-handshake): a router started now reaches the broker, mcpgwctl reaches the broker.
    await killAndAwaitRestart('router', (rs) => rs[0]);
    for (let i = 0; i < 6; i++) {
        const fresh = await initializeSession(stack.gw.url);
        assert.equal((await fresh.tool('alpha_whoami')).backend, 'alpha');
    }
    assert.equal((await stack.gw.ctl(['status'])).code, 0);
});

test('a killed worker is restarted and its backend is served again', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const beforeAlpha = await s.tool('alpha_whoami');
    const beforeBeta = await s.tool('beta_whoami');
    await killAndAwaitRestart('worker', (ws) => ws.find((w) => w.name.includes('alpha')) ?? ws[0]);
    // The existing gateway session still works on both backends.
    const a = await waitFor(async () => {
        const r = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
        return r.response?.result ? r.response.result : null;
    }, { timeoutMs: 10000, what: 'alpha_whoami to succeed after the worker restart' });
    assert.equal(JSON.parse(a.content[0].text).backend, 'alpha');
    assert.deepEqual(await s.tool('beta_whoami'), beforeBeta, 'the other worker kept its upstream session');
    // A new session gets a new upstream session, distinct from the old one's.
    const fresh = await initializeSession(stack.gw.url);
    const fa = await fresh.tool('alpha_whoami');
    assert.equal(fa.backend, 'alpha');
    assert.notEqual(fa.session, JSON.parse(a.content[0].text).session);
    assert.ok(beforeAlpha.session);
    const st = await stack.gw.status();
    assert.ok(st.backends.every((b) => b.state === 'up'));
});

test('no sanitizer reports in the gateway log', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});

test('SIGTERM: the broker exits 0 and takes its routers and workers with it', T, async () => {
    const st = await stack.gw.status();
    const pids = st.processes.map((p) => p.pid);
    const t0 = Date.now();
    const r = await stack.gw.proc.stop({ signal: 'SIGTERM', graceMs: 10000 });
    assert.equal(r.signal, null, `exited by itself, not killed (${r.signal})`);
    assert.equal(r.code, 0, `exit code 0 on SIGTERM; log tail:\n${stack.gw.logs().split('\n').slice(-15).join('\n')}`);
    assert.ok(Date.now() - t0 < 10000);
    await sleep(200);
    for (const pid of pids) {
        assert.ok(!alive(pid), `child ${pid} is gone`);
    }
    assert.deepEqual(stack.gw.sanitizerReports(), [], 'no sanitizer report at shutdown');
    await stack.gw.stop();
});
