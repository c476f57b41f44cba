// Backend deadlines per server and per tool (servers[].timeout, servers[].tool_timeouts): a call
// past its tool's deadline gets the worker's -32011 naming the backend, not a gateway-side timeout;
// other tools of the same server keep the server's deadline, which may be shorter or longer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, startBackend, startGateway, useSetup } from '../lib/index.mjs';

let s;
const stack = useSetup(async () => {
    const [alpha, beta] = await Promise.all([startBackend({ name: 'alpha' }), startBackend({ name: 'beta', sse: true })]);
    const gw = await startGateway({
        servers: [
            // a tool with a shorter deadline than its server's
            { name: 'alpha', url: alpha.url, prefix: 'alpha_', timeout: '3s', tool_timeouts: { slow: '400ms' } },
            // a tool with a longer deadline than its server's (past the server's deadline plus the
            // router's own grace of 1 s: the router must wait for it too)
            { name: 'beta', url: beta.url, prefix: 'beta_', timeout: '500ms', tool_timeouts: { sleep: '6s', unknown_tool: '1s' } },
        ],
    });
    return { gw, alpha, beta };
}, {
    async ready(st) {
        s = await initializeSession(st.gw.url);
    },
});

const T = { timeout: 30000 };

async function timedCall(name, ms) {
    const t0 = Date.now();
    const r = await s.request('tools/call', { name, arguments: { ms, steps: 0 } });
    return { ...r, took: Date.now() - t0 };
}

function assertBackendTimeout(r, backend, { min, max }) {
    assert.equal(r.status, 200, r.text);
    assert.ok(r.response?.error, `a JSON-RPC error: ${r.text.slice(0, 300)}`);
    assert.equal(r.response.error.code, -32011, r.response.error.message);
    // the worker's answer, not the router's "gateway timed out waiting for worker-…"
    assert.match(r.response.error.message, new RegExp(`^backend ${backend} timed out after \\d+ ms$`));
    assert.ok(r.took >= min && r.took < max, `answered after ${r.took} ms (want ${min}..${max})`);
}

test('a tool past its tool_timeouts deadline gets -32011 from the worker at that deadline', T, async () => {
    const r = await timedCall('alpha_slow', 2500);
    assertBackendTimeout(r, 'alpha', { min: 350, max: 1500 });
});

test('another tool of the same server keeps the server timeout', T, async () => {
    const r = await timedCall('alpha_sleep', 1200);
    assert.ok(r.response?.result, `a result: ${r.text.slice(0, 300)}`);
    assert.ok(r.took >= 1150, `took ${r.took} ms`);
});

test('a tool_timeouts deadline longer than the server timeout is waited for by every hop', T, async () => {
    const r = await timedCall('beta_sleep', 2600);
    assert.ok(r.response?.result, `a result after ${r.took} ms: ${r.text.slice(0, 300)}`);
    assert.ok(r.took >= 2550, `took ${r.took} ms`);
    const other = await timedCall('beta_slow', 2600);
    assertBackendTimeout(other, 'beta', { min: 450, max: 1400 });
});

test('after the timeouts the session and both backends still answer', T, async () => {
    for (const name of ['alpha_whoami', 'beta_whoami']) {
        const j = await s.tool(name);
        assert.equal(j.tool, 'whoami');
    }
    const metrics = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
    for (const b of ['alpha', 'beta']) {
        const m = new RegExp(`mcpgw_backend_requests_total\\{process="worker\\.${b}",backend="${b}",method="tools/call",status="timeout"\\} (\\d+)`).exec(metrics);
        assert.ok(m && Number(m[1]) >= 1, `${b} counts its timeout:\n${metrics.split('\n').filter((l) => l.includes('backend_requests')).join('\n')}`);
    }
    const logs = stack.gw.logs();
    assert.doesNotMatch(logs, /gateway timed out waiting for/);
    assert.match(logs, /msg=audit [^\n]*tool=alpha_slow backend=alpha [^\n]*/);
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
