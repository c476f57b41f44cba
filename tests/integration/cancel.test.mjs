// notifications/cancelled (and other client notifications) reach each backend the session uses,
// on that session's own upstream session, with the request id the backend saw (the client's own:
// each client session has its own upstream sessions, so two clients' ids never collide).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, useStack, waitFor } from '../lib/index.mjs';

const stack = useStack();

test('a cancellation reaches the backend on the canceller\'s upstream session, unchanged', async () => {
    const a = await initializeSession(stack.gw.url);
    const b = await initializeSession(stack.gw.url);
    const upA = (await a.tool('alpha_whoami')).session;
    const upB = (await b.tool('alpha_whoami')).session;
    assert.notEqual(upA, upB);
    for (const [s, up] of [[a, upA], [b, upB]]) {
        const before = (await stack.alpha.stats()).notifications;
        const note = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'r-7', reason: 'user' } };
        assert.equal((await s.post(note)).status, 202);
        await waitFor(async () => (await stack.alpha.stats()).notifications > before, { what: 'the notification at alpha' });
        const st = await stack.alpha.stats();
        assert.deepEqual(st.last_notification, note);
        assert.equal(st.last_notification_session, up);
    }
});

test('a session that never used a backend sends it nothing', async () => {
    const c = await initializeSession(stack.gw.url);
    await c.tool('beta_whoami');
    const before = (await stack.alpha.stats()).notifications;
    const betaBefore = (await stack.beta.stats()).notifications;
    await c.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } });
    await waitFor(async () => (await stack.beta.stats()).notifications > betaBefore, { what: 'the notification at beta' });
    assert.equal((await stack.alpha.stats()).notifications, before);
});
