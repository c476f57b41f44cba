// Limits on one session: requests in flight at once (limits.max_concurrent_requests_per_session,
// 429 past it, per router process) and idle expiry (sessions.idle_timeout: the session ends as if
// DELETEd, its next request gets 404).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { initializeSession, startStack, stopAll } from '../lib/index.mjs';

after(async () => {
    await stopAll();
});

const T = { timeout: 60000 };

async function metricsText(gw) {
    return (await fetch(`${gw.adminOrigin}/metrics`)).text();
}

test('limits.max_concurrent_requests_per_session: the extra request gets 429, other sessions do not', T, async () => {
    // one router: the limit holds per router process
    const stack = await startStack({ routers: 1, extra: { limits: { max_concurrent_requests_per_session: 3 } } });
    const s = await initializeSession(stack.gw.url);
    const other = await initializeSession(stack.gw.url);
    const slow = (i) => s.request('tools/call', { name: i % 2 ? 'alpha_slow' : 'beta_slow', arguments: { ms: 1500, steps: 0 } }, { id: `slow-${i}` });

    const t0 = Date.now();
    const calls = Array.from({ length: 4 }, (_, i) => slow(i));
    // while they run: the other session is served, and so is ping (answered by the router itself)
    await new Promise((resolve) => setTimeout(resolve, 300));
    const mine = await other.tool('alpha_whoami');
    assert.equal(mine.tool, 'whoami');
    const ping = await s.request('ping');
    assert.ok(ping.response?.result, `ping while busy: ${ping.text}`);
    const rs = await Promise.all(calls);

    const refused = rs.filter((r) => r.status === 429);
    const served = rs.filter((r) => r.status === 200 && r.response?.result);
    assert.equal(refused.length, 1, `statuses: ${rs.map((r) => r.status).join(',')}`);
    assert.equal(served.length, 3, rs.map((r) => r.text.slice(0, 120)).join('\n'));
    const e = refused[0].response?.error;
    assert.ok(e, `a JSON-RPC error body: ${refused[0].text}`);
    assert.equal(e.code, -32603);
    assert.match(e.message, /limits\.max_concurrent_requests_per_session/);
    assert.match(refused[0].response.id, /^slow-\d$/);
    assert.ok(Date.now() - t0 >= 1400, 'the three others ran to the end');

    // the places are given back: the session takes three at once again
    const again = await Promise.all(Array.from({ length: 3 }, (_, i) => slow(10 + i)));
    assert.deepEqual(again.map((r) => r.status), [200, 200, 200]);
    assert.ok(again.every((r) => r.response?.result), again.map((r) => r.text.slice(0, 120)).join('\n'));

    assert.match(await metricsText(stack.gw), /mcpgw_rejections_total\{process="router\.0",reason="concurrent_requests"\} 1\n/);
    assert.match(stack.gw.logs(), new RegExp(`request refused: limits.max_concurrent_requests_per_session reached" session=[0-9a-f-]{36} limit=3`));
    assert.deepEqual(stack.gw.sanitizerReports(), []);
    await stack.stop();
});
