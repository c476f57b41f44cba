// Health checks: a backend that stops answering pings is marked down and its tools leave the
// catalog; when it answers again it comes back, and the other backend is never affected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, startBackend, startGateway, useSetup, waitFor } from '../lib/index.mjs';

const stack = useSetup(async () => {
    const [alpha, beta] = await Promise.all([startBackend({ name: 'alpha' }), startBackend({ name: 'beta' })]);
    const gw = await startGateway({
        servers: [
            { name: 'alpha', url: alpha.url, prefix: 'alpha_', health_interval: '300ms' },
            { name: 'beta', url: beta.url, prefix: 'beta_', health_interval: '300ms' },
        ],
    });
    return { gw, alpha, beta };
});

async function toolNames(s) {
    return (await s.call('tools/list')).tools.map((t) => t.name);
}

test('a backend that stops answering leaves the catalog and comes back when it answers', { timeout: 60000 }, async () => {
    const s = await initializeSession(stack.gw.url);
    assert.ok((await toolNames(s)).includes('alpha_whoami'));
    const port = stack.alpha.port;
    await stack.alpha.stop();
    await waitFor(async () => (await stack.gw.status()).backends.find((b) => b.name === 'alpha').state === 'down',
        { what: 'alpha marked down', timeoutMs: 15000 });
    const down = await toolNames(s);
    assert.ok(!down.some((n) => n.startsWith('alpha_')), `alpha's tools are gone: ${down.join(', ')}`);
    assert.ok(down.includes('beta_whoami'), 'beta is unaffected');
    assert.equal((await s.tool('beta_whoami')).backend, 'beta');
    // the same backend comes back on the same address
    stack.alpha = await startBackend({ name: 'alpha', extraArgs: ['--port', String(port)] });
    await waitFor(async () => (await stack.gw.status()).backends.find((b) => b.name === 'alpha').state === 'up',
        { what: 'alpha up again', timeoutMs: 15000 });
    await waitFor(async () => (await toolNames(s)).includes('alpha_whoami'), { what: "alpha's tools back" });
    const r = await waitFor(async () => {
        const x = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
        return x.response?.result ?? null;
    }, { what: 'alpha served again' });
    assert.match(JSON.stringify(r), /alpha/);
});
