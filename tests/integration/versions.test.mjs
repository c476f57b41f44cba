// Backends of different protocol revisions behind one gateway: each upstream session speaks the
// revision its backend answered initialize with (and says so in MCP-Protocol-Version), whatever
// revision the client's gateway session speaks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROTOCOLS, initializeSession, startBackend, startGateway, useSetup } from '../lib/index.mjs';

const stack = useSetup(async () => {
    const [old, mid, cur] = await Promise.all([
        startBackend({ name: 'old', extraArgs: ['--protocol', '2025-03-26'] }),
        startBackend({ name: 'mid', sse: true, extraArgs: ['--protocol', '2025-06-18'] }),
        startBackend({ name: 'cur' }),
    ]);
    const gw = await startGateway({
        servers: [
            { name: 'old', url: old.url, prefix: 'old_' },
            { name: 'mid', url: mid.url, prefix: 'mid_' },
            { name: 'cur', url: cur.url, prefix: 'cur_' },
        ],
    });
    return { gw, old, mid, cur };
});

for (const client of PROTOCOLS) {
    test(`a ${client} client uses backends of three revisions in one session`, async () => {
        const s = await initializeSession(stack.gw.url, { protocolVersion: client });
        assert.equal(s.protocolVersion, client);
        const names = (await s.call('tools/list')).tools.map((t) => t.name);
        for (const n of ['old_headers', 'mid_headers', 'cur_headers']) {
            assert.ok(names.includes(n), n);
        }
        const seen = async (server) => (await s.tool(`${server}_headers`)).headers['mcp-protocol-version'];
        assert.equal(await seen('old'), '2025-03-26', 'the 2025-03-26 backend is spoken to in its revision');
        assert.equal(await seen('mid'), '2025-06-18');
        assert.equal(await seen('cur'), client, 'a backend that speaks every revision gets the client\'s');
        assert.equal((await s.tool('old_echo', { text: 'x' })).text, 'x');
        assert.equal((await s.tool('mid_echo', { text: 'y' })).text, 'y');
    });
}
