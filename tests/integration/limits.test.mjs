// Limits from the config, each answered with the right status and JSON-RPC error: sessions in all
// and per client address, a backend answer's size, and slow clients.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { initializeBody, initializeSession, rawPost, startStack, stopAll } from '../lib/index.mjs';

after(async () => {
    await stopAll();
});

test('limits.max_sessions: the next initialize is 503 until a session ends', async () => {
    const stack = await startStack({ extra: { limits: { max_sessions: 3, max_sessions_per_client: 0 } } });
    const held = [];
    for (let i = 0; i < 3; i++) {
        held.push(await initializeSession(stack.gw.url));
    }
    const refused = await rawPost(stack.gw.url, initializeBody());
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error.code, -32603);
    assert.match(refused.json.error.message, /max_sessions/);
    assert.equal(await held[0].delete(), 200);
    const again = await initializeSession(stack.gw.url);
    assert.ok(again.sessionId);
    await stack.stop();
});

test('limits.max_sessions_per_client: 429 for one address, others unaffected', async () => {
    const stack = await startStack({ extra: { limits: { max_sessions_per_client: 2 } } });
    await initializeSession(stack.gw.url);
    await initializeSession(stack.gw.url);
    const refused = await rawPost(stack.gw.url, initializeBody());
    assert.equal(refused.status, 429);
    assert.match(refused.json.error.message, /max_sessions_per_client/);
    const metrics = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
    assert.match(metrics, /mcpgw_rejections_total\{process="router\.\d",reason="session_limit"\} 1/);
    await stack.stop();
});

test('limits.max_response_body: a larger backend answer is a clear JSON-RPC error', async () => {
    const stack = await startStack({ extra: { limits: { max_response_body: '64KiB' } } });
    const s = await initializeSession(stack.gw.url);
    const small = await s.tool('alpha_big', { bytes: 1000 });
    assert.equal(small.data.length, 1000);
    const r = await s.request('tools/call', { name: 'alpha_big', arguments: { bytes: 200000 } });
    assert.ok(r.response?.error, JSON.stringify(r.response));
    assert.match(r.response.error.message, /max_response_body/);
    await stack.stop();
});

test('limits.client_timeout: a client that never finishes its request is cut off', async () => {
    const stack = await startStack({ extra: { limits: { client_timeout: '500ms' } } });
    const sock = net.connect(stack.gw.port, '127.0.0.1');
    await new Promise((resolve) => sock.on('connect', resolve));
    sock.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the rest
    const t0 = Date.now();
    await new Promise((resolve) => {
        sock.on('close', resolve);
        sock.on('error', resolve);
        setTimeout(resolve, 5000);
    });
    const took = Date.now() - t0;
    assert.ok(sock.destroyed || sock.readableEnded, 'the gateway closed the connection');
    assert.ok(took < 3000, `closed after ${took} ms`);
    sock.destroy();
    await stack.stop();
});
