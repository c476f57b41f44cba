// Limits from the config, each answered with the right status and JSON-RPC error: sessions in all
// and per client address, a backend answer's size, and slow clients.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import {
    DEFAULT_HEADERS, H2Client, initializeBody, initializeSession, rawPost, startStack, stopAllAfter,
} from '../lib/index.mjs';

stopAllAfter();

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
    const first = await initializeSession(stack.gw.url);
    await initializeSession(stack.gw.url);
    const refused = await rawPost(stack.gw.url, initializeBody());
    assert.equal(refused.status, 429);
    assert.match(refused.json.error.message, /max_sessions_per_client/);
    const metrics = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
    assert.match(metrics, /mcpgw_rejections_total\{process="router\.\d",reason="session_limit"\} 1/);
    // a session that ends no longer counts for its address: the next initialize is admitted
    assert.equal(await first.delete(), 200);
    const again = await rawPost(stack.gw.url, initializeBody());
    assert.equal(again.status, 200, again.text);
    assert.equal((await rawPost(stack.gw.url, initializeBody())).status, 429);
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

// How long until the gateway closes a connection on which fn(socket) sends a request too slowly.
async function cutOffAfter(port, fn) {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise((resolve) => sock.on('connect', resolve));
    let data = '';
    sock.on('data', (d) => (data += d));
    const t0 = Date.now();
    const stop = fn(sock);
    const how = await new Promise((resolve) => {
        sock.on('close', () => resolve('closed'));
        setTimeout(() => resolve('still open'), 5000);
    });
    if (stop) {
        stop();
    }
    sock.destroy();
    return { how, took: Date.now() - t0, data };
}

function drip(write, everyMs) {
    const t = setInterval(() => {
        try {
            write();
        } catch {
            /* closed */
        }
    }, everyMs);
    return () => clearInterval(t);
}

test('limits.client_timeout: requests that do not arrive in time are cut off, HTTP/1.1 and HTTP/2', async () => {
    const stack = await startStack({ extra: { limits: { client_timeout: '500ms' } } });
    const { port } = stack.gw;
    const head = (extra = '') => `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\n${extra}`;
    const cases = {
        'HTTP/1.1 headers never finished': (sock) => {
            sock.write(head());
        },
        'HTTP/1.1 headers a line every 200 ms': (sock) => {
            sock.write(head());
            return drip(() => sock.write('X-Slow: 1\r\n'), 200);
        },
        'HTTP/1.1 body never finished': (sock) => {
            sock.write(`${head('Content-Length: 100\r\n')}\r\n{"jsonrpc":`);
        },
        'HTTP/1.1 body a byte every 100 ms': (sock) => {
            sock.write(`${head('Content-Length: 1000\r\n')}\r\n`);
            return drip(() => sock.write(' '), 100);
        },
        'HTTP/1.1 chunked body a chunk every 100 ms': (sock) => {
            sock.write(`${head('Transfer-Encoding: chunked\r\n')}\r\n`);
            return drip(() => sock.write('1\r\n \r\n'), 100);
        },
    };
    for (const [name, fn] of Object.entries(cases)) {
        const r = await cutOffAfter(port, fn);
        assert.equal(r.how, 'closed', name);
        assert.ok(r.took >= 400 && r.took < 2000, `${name}: closed after ${r.took} ms`);
    }

    // HTTP/2: frames keep a connection from being idle, so a trickling body must be cut off too
    for (const [name, every] of [['HTTP/2 body never finished', 0], ['HTTP/2 body a byte every 100 ms', 100]]) {
        const t0 = Date.now();
        const session = http2.connect(stack.gw.origin);
        session.on('error', () => {});
        const stream = session.request({ ':method': 'POST', ':path': '/mcp', 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, { endStream: false });
        stream.on('error', () => {});
        stream.write('{"jsonrpc":');
        const stop = every ? drip(() => stream.write(' '), every) : null;
        const how = await new Promise((resolve) => {
            stream.on('response', (h) => resolve(`answered ${h[':status']}`));
            stream.on('close', () => resolve('closed'));
            setTimeout(() => resolve('still open'), 5000);
        });
        if (stop) {
            stop();
        }
        const took = Date.now() - t0;
        session.destroy();
        assert.equal(how, 'closed', name);
        assert.ok(took >= 400 && took < 2000, `${name}: closed after ${took} ms`);
    }
    const metrics = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
    const cut = [...metrics.matchAll(/mcpgw_rejections_total\{process="router\.\d",reason="client_timeout"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(cut >= 1, 'the HTTP/2 cut-off is counted');
    assert.match(stack.gw.logs(), /client too slow: request not received within limits\.client_timeout; connection closed" client=127\.0\.0\.1 protocol=HTTP\/2/);

    // the limit is on the request arriving, not on the answer: a call slower than it is served
    const s = await initializeSession(stack.gw.url);
    const slow = await s.request('tools/call', { name: 'beta_slow', arguments: { ms: 1200, steps: 2 } });
    assert.ok(slow.response?.result, `HTTP/1.1: ${slow.text.slice(0, 200)}`);
    const h2 = new H2Client(stack.gw.origin);
    const r = await h2.request('/mcp', {
        headers: { ...DEFAULT_HEADERS, ...s.headers() },
        body: { jsonrpc: '2.0', id: 'h2-slow', method: 'tools/call', params: { name: 'alpha_slow', arguments: { ms: 1200 } } },
    });
    assert.equal(r.status, 200);
    assert.ok(r.messages.find((m) => m.id === 'h2-slow')?.result, `HTTP/2: ${r.text.slice(0, 200)}`);
    await h2.close();
    assert.deepEqual(stack.gw.sanitizerReports(), []);
    await stack.stop();
});
