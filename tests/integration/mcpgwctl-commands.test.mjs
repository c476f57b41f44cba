// mcpgwctl's commands against a running gateway: backends, tools, sessions, session show/kill,
// check-config, and their exit statuses.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_DIR, binPath, initializeSession, run, useStack } from '../lib/index.mjs';

const stack = useStack();

async function ctlJson(args) {
    const r = await stack.gw.ctl([...args, '--json']);
    assert.equal(r.code, 0, `mcpgwctl ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
}

test('backends: state, tools, upstream sessions, requests, errors and latency per backend', async () => {
    const s = await initializeSession(stack.gw.url);
    await s.call('tools/call', { name: 'alpha_whoami', arguments: {} });
    await s.call('tools/call', { name: 'alpha_whoami', arguments: {} });
    const b = await ctlJson(['backends']);
    const alpha = b.backends.find((x) => x.name === 'alpha');
    // As many tools as alpha lists when asked directly (the test backend gains tools now and then).
    const own = (await (await initializeSession(stack.alpha.url)).call('tools/list')).tools.length;
    assert.ok(own >= 6);
    assert.equal(alpha.state, 'up');
    assert.equal(alpha.tools, own);
    assert.ok(alpha.requests >= 2, JSON.stringify(alpha));
    assert.ok(alpha.upstream_sessions >= 1, JSON.stringify(alpha));
    assert.equal(alpha.errors, 0);
    assert.ok(alpha.latency_ms > 0);
    // the C test backend answers server/discover with a JSON-RPC error: the 2025 era
    assert.equal(alpha.era, 'legacy');
    assert.equal(alpha.probe, 'rpc_error');
    assert.equal(alpha.pooled_sessions, 0);
    const text = await stack.gw.ctl(['backends']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^BACKEND +STATE/m);
    assert.match(text.stdout, new RegExp(`^alpha +up +legacy +${own} `, 'm'));
});

test('tools, optionally for one backend; an unknown backend exits 1', async () => {
    const all = await ctlJson(['tools']);
    assert.ok(all.tools.some((t) => t.name === 'alpha_echo' && t.backend === 'alpha'));
    assert.ok(all.tools.some((t) => t.name === 'beta_echo' && t.backend === 'beta'));
    const beta = await ctlJson(['tools', '--backend', 'beta']);
    assert.ok(beta.tools.length > 0 && beta.tools.every((t) => t.backend === 'beta'));
    const bad = await stack.gw.ctl(['tools', '--backend', 'nope']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no backend named nope/);
});

test('sessions, session show and session kill (the client then gets 404)', async () => {
    const before = new Set((await ctlJson(['sessions'])).sessions.map((x) => x.id));
    const s = await initializeSession(stack.gw.url);
    const added = (await ctlJson(['sessions'])).sessions.filter((x) => !before.has(x.id));
    assert.equal(added.length, 1, 'the new session is listed');
    const id = added[0].id;
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const shown = await ctlJson(['session', 'show', id]);
    assert.equal(shown.id, id);
    assert.equal(shown.revoked, false);
    assert.equal((await s.request('ping')).status, 200);
    const killed = await stack.gw.ctl(['session', 'kill', id]);
    assert.equal(killed.code, 0, killed.stderr);
    assert.match(killed.stdout, new RegExp(`session ${id} ended`));
    assert.ok(!(await ctlJson(['sessions'])).sessions.some((x) => x.id === id));
    // the revocation reaches the routers asynchronously after a kill from the CLI
    let status;
    for (let i = 0; i < 50 && status !== 404; i++) {
        status = (await s.request('ping')).status;
        if (status !== 404) {
            await new Promise((r) => setTimeout(r, 20));
        }
    }
    assert.equal(status, 404);
    const missing = await stack.gw.ctl(['session', 'show', '00000000-0000-4000-8000-000000000000']);
    assert.equal(missing.code, 1);
});

test('log-level changes every process at once; a bad level exits 1', async () => {
    const set = await stack.gw.ctl(['log-level', 'debug']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /log level debug in 5 processes/);
    const s = await initializeSession(stack.gw.url);
    await s.tool('alpha_whoami');
    const { waitFor } = await import('../lib/index.mjs');
    await waitFor(() => /level=debug proc=worker\.alpha .*msg="call received"/.test(stack.gw.logs()),
        { what: 'a debug line from the worker' });
    const back = await stack.gw.ctl(['log-level', 'info']);
    assert.equal(back.code, 0, back.stderr);
    const bad = await stack.gw.ctl(['log-level', 'loud']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a log level: loud/);
});

test('check-config works without a broker; usage errors exit 2', async () => {
    const good = await run(binPath('mcpgwctl'), ['check-config', stack.gw.configFile]);
    assert.equal(good.code, 0);
    assert.match(good.stdout, /configuration is valid \(2 servers\)/);
    const badFile = path.join(stack.gw.dir, 'bad.yaml');
    fs.writeFileSync(badFile, 'servers:\n  - name: x\n    url: ftp://nope\n');
    const bad = await run(binPath('mcpgwctl'), ['check-config', badFile]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.yaml:3: servers\[0\]\.url: /);
    const usage = await stack.gw.ctl(['session', 'show']);
    assert.equal(usage.code, 2);
    const unknown = await stack.gw.ctl(['frobnicate']);
    assert.equal(unknown.code, 2);
});

test('version: mcpgwctl\'s and the running broker\'s, as text and as JSON', async () => {
    const own = await run(binPath('mcpgwctl'), ['--version']);
    assert.equal(own.code, 0);
    const m = /^mcpgwctl (\S+)\n$/.exec(own.stdout);
    assert.ok(m, own.stdout);
    const v = await stack.gw.ctl(['version']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `mcpgwctl ${m[1]}, broker ${m[1]}\n`);
    assert.equal((await ctlJson(['version'])).version, m[1]);
});

/** What the bash completion offers for the words typed so far (the last one being completed). */
async function complete(...typed) {
    const script = [
        // the two helpers of the bash-completion package it relies on, reduced to what it uses
        '_init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; }',
        '_filedir() { COMPREPLY=(FILES); }',
        `source ${JSON.stringify(path.join(REPO_DIR, 'etc/bash-completion/mcpgwctl'))}`,
        'COMP_WORDS=(mcpgwctl "$@"); COMP_CWORD=$#',
        '_mcpgwctl; printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const r = await run('bash', ['-c', script, 'complete', ...typed]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
}

test('bash completion offers every command of --help, their arguments and options', async () => {
    const help = await run(binPath('mcpgwctl'), ['--help']);
    const commands = [...new Set(help.stdout.split('commands:\n')[1].split('\n')
        .map((l) => /^ {2}(\S+)/.exec(l)?.[1]).filter(Boolean))].sort();
    assert.ok(commands.includes('drain') && commands.includes('version'), commands.join(' '));
    assert.deepEqual(await complete(''), commands);
    assert.deepEqual(await complete('session', ''), ['kill', 'show']);
    assert.deepEqual(await complete('log-level', ''), ['debug', 'err', 'info', 'notice', 'warning']);
    assert.deepEqual(await complete('drain', ''), ['--json']);
    assert.deepEqual(await complete('tools', ''), ['--backend', '--json']);
    assert.deepEqual(await complete('policy', ''), ['test']);
    assert.deepEqual(await complete('policy', 'test', '--s'), ['--scopes', '--subject']);
    assert.deepEqual(await complete('check-config', ''), ['FILES']);
    assert.deepEqual(await complete('-s', ''), ['FILES']);
    assert.ok((await complete('--')).includes('--socket'));
});
