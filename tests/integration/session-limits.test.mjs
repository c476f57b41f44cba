// Limits on one session: requests in flight at once (limits.max_concurrent_requests_per_session,
// 429 past it, per router process) and idle expiry (sessions.idle_timeout: the session ends as if
// DELETEd, its next request gets 404).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, sleep, startStack, stopAllAfter } from '../lib/index.mjs';

stopAllAfter();

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

test('sessions.idle_timeout: an idle session ends like a DELETE; busy ones and long calls keep theirs', T, async () => {
    const stack = await startStack({ extra: { sessions: { idle_timeout: '2s' } } });
    const { gw } = stack;
    const ctlSessions = async () => {
        const r = await gw.ctl(['sessions', '--json']);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout).sessions.map((x) => x.id);
    };
    // which uuid is which client session: each is created alone and picked out of the list
    const make = async () => {
        const before = new Set(await ctlSessions());
        const s = await initializeSession(gw.url);
        const added = (await ctlSessions()).filter((id) => !before.has(id));
        assert.equal(added.length, 1);
        s.uuid = added[0];
        return s;
    };
    const listening = await make(); // no request at all, but its GET stream is open
    const stream = await listening.openStream();
    assert.equal(stream.status, 200);
    const idle = await make();
    const busy = await make();
    const long = await make();
    assert.equal((await idle.tool('alpha_whoami')).tool, 'whoami'); // an upstream session at alpha
    const alphaDeletes = (await stack.alpha.stats()).deletes;

    const t0 = Date.now();
    // long: one call longer than the idle timeout (and its slack), then a request right after it
    const longCall = long.request('tools/call', { name: 'alpha_slow', arguments: { ms: 5000, steps: 0 } });
    // busy: a call every 500 ms, on new connections (so across both routers), until the end
    let stop = false;
    const busyLoop = (async () => {
        const statuses = [];
        while (!stop) {
            const r = await busy.request('tools/call', { name: 'beta_whoami', arguments: {} }, { headers: { connection: 'close' } });
            statuses.push(r.status);
            await sleep(500);
        }
        return statuses;
    })();
    // idle: gone from mcpgwctl sessions (which does not touch it) after the idle timeout
    let gone = 0;
    while (!gone && Date.now() - t0 < 12000) {
        await sleep(200);
        gone = (await ctlSessions()).includes(idle.uuid) ? 0 : Date.now();
    }
    assert.ok(gone, 'the idle session ended');
    assert.ok(gone - t0 >= 2000, `not before sessions.idle_timeout: after ${gone - t0} ms`);
    const longDone = await longCall;
    assert.ok(longDone.response?.result, `the long call: ${longDone.text.slice(0, 200)}`);
    const afterLong = await long.request('tools/call', { name: 'alpha_whoami', arguments: {} });
    assert.equal(afterLong.status, 200, `right after a call longer than the idle timeout: ${afterLong.text}`);
    stop = true;
    const statuses = await busyLoop;
    assert.ok(statuses.length >= 6 && statuses.every((x) => x === 200), `busy session: ${statuses.join(',')}`);

    // the idle one is gone as after a DELETE
    const r = await idle.request('tools/call', { name: 'alpha_whoami', arguments: {} });
    assert.equal(r.status, 404, r.text);
    assert.equal(r.response?.error?.code, -32001);
    assert.equal((await idle.request('tools/list')).status, 404);
    const listed = await ctlSessions();
    assert.ok(!listed.includes(idle.uuid), 'the expired session is no longer listed');
    assert.ok(listed.includes(busy.uuid) && listed.includes(long.uuid), 'the used ones still are');
    assert.ok(listed.includes(listening.uuid), 'a session with an open GET stream is in use');
    assert.equal(stream.ended, false);
    assert.equal((await listening.request('ping')).status, 200);
    stream.close();
    assert.match(gw.logs(), new RegExp(`msg="session expired" session=${idle.uuid} reason=idle idle_ms=\\d+`));
    assert.doesNotMatch(gw.logs(), new RegExp(`msg="session expired" session=(${busy.uuid}|${long.uuid})`));
    const metrics = await metricsText(gw);
    assert.match(metrics, /mcpgw_sessions_expired_total\{reason="idle"\} 1\n/);
    // the backend's upstream session was closed too
    assert.equal((await stack.alpha.stats()).deletes, alphaDeletes + 1);
    // the client starts over
    const again = await initializeSession(gw.url);
    assert.equal((await again.tool('alpha_whoami')).tool, 'whoami');
    assert.equal((await busy.request('ping')).status, 200);
    assert.deepEqual(gw.sanitizerReports(), []);
    await stack.stop();
});
