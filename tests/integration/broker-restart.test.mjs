// The broker killed with SIGKILL and started again (same session key, the same backends): clients
// keep their sessions. The next call with the old session id works with no new initialize; the
// session's GET stream opens, and DELETE ends it. (A gateway started again here listens on a new
// ephemeral port: the test harness cannot reuse the first one's; on a host the port is fixed.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
    McpSession, initializeSession, stackServers, startBackend, startGateway, stopAllAfter,
} from '../lib/index.mjs';

const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-key-'));

stopAllAfter(() => fs.rmSync(keyDir, { recursive: true, force: true }));

test('a broker killed and started again keeps its clients\' sessions', { timeout: 60000 }, async () => {
    const [alpha, beta] = await Promise.all([startBackend({ name: 'alpha' }), startBackend({ name: 'beta', sse: true })]);
    const config = {
        servers: stackServers(alpha, beta),
        extra: { sessions: { key_file: path.join(keyDir, 'session.key') } },
    };
    const first = await startGateway(config);
    const s = await initializeSession(first.url);
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
    const doomed = await initializeSession(first.url);
    const initializes = (await alpha.stats()).initializes;

    first.proc.signal('SIGKILL');
    await first.proc.exited;
    const second = await startGateway(config);
    const again = new McpSession(second.url, s.sessionId, s.protocolVersion, s.initResult);
    assert.equal((await again.tool('alpha_whoami')).backend, 'alpha', 'the old session id works');
    assert.equal((await again.tool('beta_whoami')).backend, 'beta');
    assert.ok((await alpha.stats()).initializes > initializes, 'the new worker made its own upstream session');
    const st = await again.openStream();
    assert.equal(st.status, 200, 'the GET stream of a session the new broker never saw');
    st.close();
    const gone = new McpSession(second.url, doomed.sessionId, doomed.protocolVersion, doomed.initResult);
    assert.equal(await gone.delete(), 200, 'DELETE of a session from before the restart');
    assert.equal((await gone.request('ping')).status, 404);
    assert.equal((await again.request('ping')).status, 200);
    assert.deepEqual(second.sanitizerReports(), []);
});
