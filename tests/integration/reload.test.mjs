// SIGHUP: a broken configuration is refused with its file:line error and the gateway keeps
// serving with the running one; a valid one is checked (applying it still needs a restart).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { initializeSession, startStack, stopAll, toolJson, waitFor } from '../lib/index.mjs';

let stack;

before(async () => {
    stack = await startStack();
});

after(async () => {
    await stopAll();
});

test('SIGHUP with a broken file: refused with file:line, the gateway keeps serving', async () => {
    const good = fs.readFileSync(stack.gw.configFile, 'utf8');
    try {
        fs.writeFileSync(stack.gw.configFile, `${good}\nbogus_key: 1\n`);
        process.kill(stack.gw.proc.pid, 'SIGHUP');
        const line = await waitFor(() => stack.gw.logs().split('\n').find((l) => l.includes('reload refused')), { what: 'the refusal' });
        assert.match(line, /mcpgw\.yaml:\d+: bogus_key: unknown key/);
        const s = await initializeSession(stack.gw.url);
        const r = await s.call('tools/call', { name: 'alpha_whoami', arguments: {} });
        assert.equal(toolJson(r).backend, 'alpha');
        const st = JSON.parse((await stack.gw.ctl(['status', '--json'])).stdout);
        assert.ok(st.processes.every((p) => p.restarts === 0), 'nothing was restarted');
    } finally {
        fs.writeFileSync(stack.gw.configFile, good);
    }
});

test('SIGHUP with a valid file: checked and reported, the broker stays up', async () => {
    process.kill(stack.gw.proc.pid, 'SIGHUP');
    await waitFor(() => stack.gw.logs().includes('the new configuration is valid'), { what: 'the check' });
    const s = await initializeSession(stack.gw.url);
    const r = await s.call('tools/call', { name: 'beta_whoami', arguments: {} });
    assert.equal(toolJson(r).backend, 'beta');
});
