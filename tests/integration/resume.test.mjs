// A backend that closes a response's event stream before the response (2025-11-25 polling: a
// priming event with an id and a retry, then the close) is resumed by the worker with GET and
// Last-Event-ID on the same upstream session, after the retry it advised; the client sees one
// ordinary answer. The backend is the project's conformance backend (its test_reconnection).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binPath, initializeSession, spawnProc, startGateway, useSetup } from '../lib/index.mjs';

const stack = useSetup(async () => {
    const proc = spawnProc(binPath('mcpgw-conformance'), ['--port', '0'], { label: 'conformance backend' });
    const line = await proc.waitForLine(/^listening port=\d+/, { stream: 'stdout', timeoutMs: 10000 });
    const port = Number(/port=(\d+)/.exec(line)[1]);
    const gw = await startGateway({ servers: [{ name: 'conf', url: `http://127.0.0.1:${port}/mcp`, prefix: 'conf_' }] });
    return { gw, conformance: proc };
});

test('a response stream the backend closes early is resumed and answered', async () => {
    const s = await initializeSession(stack.gw.url);
    const t0 = Date.now();
    const r = await s.request('tools/call', { name: 'conf_test_reconnection', arguments: {} });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.response?.result, r.text);
    assert.match(JSON.stringify(r.response.result), /Reconnection test completed/);
    assert.ok(Date.now() - t0 >= 450, 'the backend\'s retry (500 ms) was respected');
    // the session goes on
    const again = await s.request('tools/call', { name: 'conf_test_simple_text', arguments: {} });
    assert.ok(again.response?.result, again.text);
});
