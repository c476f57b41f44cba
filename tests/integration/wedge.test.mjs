// nng 1.5.2 stopped handing a listener's new pipes to its socket once a peer hung up in the middle
// of the handshake (nng issue 1518). Inboxes are plain unix sockets now (common/mailbox.h): a peer
// that connects and hangs up at once is a connection that ends, and a router restarted after it
// reaches the worker at once. (The control socket is still nng's and still guarded.)
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { binPath, initializeSession, run, useStack, waitFor } from '../lib/index.mjs';

const stack = useStack({ routers: 1 });

/* Connects to a unix socket and hangs up at once (the test backend does it in C). */
async function hangUpMidHandshake(file) {
    const r = await run(binPath('mcpgw-testbackend'), ['--hang-up', file]);
    assert.equal(r.code, 0, r.stderr);
}

test('a worker inbox wedged by a peer that hung up mid-handshake recovers, and a restarted router reaches it', { timeout: 60000 }, async () => {
    const { gw } = stack;
    const s = await initializeSession(gw.url);
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
    // The worker is stopped while a peer connects and hangs up, so that nng meets the closed
    // connection when it accepts it: what wedges nng 1.5.2 every time (when nng greets first, it
    // does not).
    const st0 = JSON.parse((await gw.ctl(['status', '--json'])).stdout);
    const worker = st0.processes.find((p) => p.name === 'worker.alpha');
    process.kill(worker.pid, 'SIGSTOP');
    try {
        await hangUpMidHandshake(path.join(gw.dir, 'run', 'worker-alpha.ipc'));
    } finally {
        process.kill(worker.pid, 'SIGCONT');
    }
    // a router started now dials worker-alpha: its pipe is greeted but never read until the guard acts
    const st = JSON.parse((await gw.ctl(['status', '--json'])).stdout);
    const router = st.processes.find((p) => p.role === 'router');
    process.kill(router.pid, 'SIGKILL');
    const t0 = Date.now();
    await waitFor(async () => {
        try {
            const r = await Promise.race([
                (async () => {
                    const fresh = await initializeSession(gw.url);
                    return fresh.request('tools/call', { name: 'alpha_whoami', arguments: {} }, { headers: { connection: 'close' } });
                })(),
                new Promise((resolve) => { setTimeout(() => resolve({}), 3000); }),
            ]);
            return r.response?.result !== undefined;
        } catch {
            return false;
        }
    }, { what: 'a call to alpha through the restarted router', timeoutMs: 40000, intervalMs: 500 }).catch((err) => {
        throw new Error(`${err.message}\n${gw.logs().split('\n').slice(-40).join('\n')}`);
    });
    const took = Date.now() - t0;
    // inboxes are plain unix sockets now (common/mailbox.h): nothing wedges, nothing relistens
    assert.doesNotMatch(gw.logs(), /msg="listener stopped accepting; listening afresh" path=[^ ]*worker-alpha\.ipc/);
    assert.ok(took < 30000, `recovered in ${took} ms`);
    // the old session still works, on both backends
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
    assert.equal((await s.tool('beta_whoami')).backend, 'beta');
});
