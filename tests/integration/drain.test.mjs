// mcpgwctl drain: no new sessions (503, /readyz 503), the call in flight finishes with its
// result, then the broker exits 0 and takes its children with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeBody, initializeSession, rawPost, startStack, stopAllAfter } from '../lib/index.mjs';

stopAllAfter();

test('drain: refuses new sessions, lets the call in flight finish, then exits 0', { timeout: 30000 }, async () => {
    const stack = await startStack({ betaSse: false });
    const s = await initializeSession(stack.gw.url);
    const slow = s.request('tools/call', { name: 'beta_slow', arguments: { ms: 1500 } });
    await new Promise((r) => setTimeout(r, 200)); // the call is in flight
    const d = await stack.gw.ctl(['drain']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /drain started/);
    const refused = await rawPost(stack.gw.url, initializeBody());
    assert.equal(refused.status, 503);
    assert.match(refused.json.error.message, /draining/);
    const ready = await fetch(`${stack.gw.adminOrigin}/readyz`);
    assert.equal(ready.status, 503);
    const r = await slow;
    assert.ok(r.response?.result, `the call in flight finished: ${JSON.stringify(r.response)}`);
    assert.match(JSON.stringify(r.response.result), /"tool\\":\\"slow/);
    await Promise.race([stack.gw.proc.exited, new Promise((r) => setTimeout(r, 10000))]);
    assert.equal(stack.gw.proc.exitCode, 0, 'the broker exited 0 by itself');
    assert.match(stack.gw.logs(), /msg="drained; stopping" in_flight=0/);
});
