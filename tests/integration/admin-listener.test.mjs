// The admin listener: /metrics moves when requests are made, /healthz and /readyz answer, and it
// is apart from client traffic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, rawPost, startBackend, startGateway, useStack } from '../lib/index.mjs';

const stack = useStack();

async function metrics() {
    const r = await fetch(`${stack.gw.adminOrigin}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    return r.text();
}

/* Sums every sample of name whose labels include all of want. */
function sum(text, name, want = {}) {
    let total = 0;
    for (const line of text.split('\n')) {
        const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) {
            continue;
        }
        const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(want).every(([k, v]) => labels[k] === v)) {
            total += Number(m[3]);
        }
    }
    return total;
}

test('the admin listener is on its own port and answers /healthz and /readyz', async () => {
    assert.ok(stack.gw.adminOrigin, `ready line names the admin listener: ${stack.gw.readyLine}`);
    assert.notEqual(stack.gw.adminOrigin, stack.gw.origin);
    const h = await fetch(`${stack.gw.adminOrigin}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(await h.text(), 'ok\n');
    const r = await fetch(`${stack.gw.adminOrigin}/readyz`);
    assert.equal(r.status, 200);
    const nf = await fetch(`${stack.gw.adminOrigin}/nothing`);
    assert.equal(nf.status, 404);
    // the client listener does not serve them
    const c = await fetch(`${stack.gw.origin}/metrics`);
    assert.equal(c.status, 404);
});

test('request, rejection, backend and session metrics move when requests are made', async () => {
    const before = await metrics();
    const s = await initializeSession(stack.gw.url);
    await s.call('tools/call', { name: 'alpha_whoami', arguments: {} });
    await s.call('tools/call', { name: 'alpha_whoami', arguments: {} });
    const bad = await rawPost(stack.gw.url, '{"jsonrpc":', { 'mcp-session-id': s.sessionId });
    assert.equal(bad.status, 400);
    const after = await metrics();
    assert.equal(sum(after, 'mcpgw_requests_total', { method: 'tools/call' }) -
        sum(before, 'mcpgw_requests_total', { method: 'tools/call' }), 2);
    assert.equal(sum(after, 'mcpgw_requests_total', { method: 'initialize' }) -
        sum(before, 'mcpgw_requests_total', { method: 'initialize' }), 1);
    assert.equal(sum(after, 'mcpgw_rejections_total', { reason: 'parse_error' }) -
        sum(before, 'mcpgw_rejections_total', { reason: 'parse_error' }), 1);
    assert.equal(sum(after, 'mcpgw_backend_requests_total', { backend: 'alpha', method: 'tools/call', status: 'ok' }) -
        sum(before, 'mcpgw_backend_requests_total', { backend: 'alpha', method: 'tools/call', status: 'ok' }), 2);
    assert.equal(sum(after, 'mcpgw_backend_requests_total', { backend: 'beta' }) -
        sum(before, 'mcpgw_backend_requests_total', { backend: 'beta' }), 0);
    assert.ok(sum(after, 'mcpgw_upstream_sessions', { backend: 'alpha' }) >= 1);
    assert.ok(sum(after, 'mcpgw_request_duration_seconds_count') >= sum(before, 'mcpgw_request_duration_seconds_count') + 3);
    assert.ok(sum(after, 'mcpgw_sessions') >= 1);
    assert.equal(sum(after, 'mcpgw_backend_up', { backend: 'alpha' }), 1);
    assert.equal(sum(after, 'mcpgw_ready'), 1);
});

test('/readyz is 503 while no backend is up', async () => {
    const dead = await startBackend({ name: 'dead' });
    const url = dead.url;
    await dead.stop();
    const gw = await startGateway({ servers: [{ name: 'dead', url, prefix: 'd_' }] });
    const r = await fetch(`${gw.adminOrigin}/readyz`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /backends up/);
    const text = await (await fetch(`${gw.adminOrigin}/metrics`)).text();
    assert.equal(sum(text, 'mcpgw_backend_up', { backend: 'dead' }), 0);
});
