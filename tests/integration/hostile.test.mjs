// Hostile clients against the real gateway (two C test backends behind it): malformed and
// oversized bodies, wrong types, forged and stale session tokens, wrong headers, stalled and
// dropped connections, HTTP/2 streams reset in a tight loop. Every case asserts the answer the MCP
// transport spec and DESIGN.md ("Limits and errors") call for; at the end the gateway must still
// serve, no process may have crashed or been restarted, and the routers must not have grown.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import {
    DEFAULT_HEADERS,
    H2Client,
    httpRequest,
    initializeSession,
    messagesOf,
    rawPost,
    sleep,
    startGateway,
    toolJson,
    useStack,
} from '../lib/index.mjs';

// ASan keeps freed memory in a quarantine of 256 MiB by default, which would make the routers'
// RSS say nothing about leaks; a small one keeps use-after-free detection and makes RSS
// meaningful. Set before any gateway starts (children inherit the environment).
if (!/quarantine_size_mb/.test(process.env.ASAN_OPTIONS || '')) {
    process.env.ASAN_OPTIONS = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=16'].filter(Boolean).join(':');
}

const LIMIT = 256 * 1024; // limits.max_request_body of the gateway under test
const RSS_FACTOR = 2;
const RSS_SLACK_MIB = 16;

let s; // a session on stack.gw
let other; // a second gateway: another key file and sessions.ttl 1s
let otherToken; // a session token issued by it
let otherIssuedAt;
const rssWarm = new Map(); // router pid -> VmRSS (KiB) after warm-up

const T = { timeout: 30000 };

const stack = useStack({
    extra: { limits: { max_request_body: '256KiB' } },
    async ready(st) {
        other = await startGateway({ extra: { sessions: { ttl: '1s' } } });
        const os = await initializeSession(other.url);
        otherToken = os.sessionId;
        otherIssuedAt = Date.now();
        s = await initializeSession(st.gw.url);
        // Warm-up: both backends, both routers (connections spread over them), JSON and SSE replies.
        for (let i = 0; i < 20; i++) {
            await Promise.all([s.tool('alpha_whoami'), s.tool('beta_echo', { text: `warm ${i}` })]);
        }
        for (const p of await routers()) {
            rssWarm.set(p.pid, rssKiB(p.pid));
        }
    },
});

// ---- helpers ----

function sh(extra = {}) {
    return { 'Mcp-Session-Id': s.sessionId, 'MCP-Protocol-Version': s.protocolVersion, ...extra };
}

function post(body, headers = {}) {
    return rawPost(stack.gw.url, body, sh(headers));
}

/** The one JSON-RPC message of a reply of rawPost or httpRequest. */
function messageOf(r) {
    const ms = r.messages || messagesOf(r.headers['content-type'], r.text);
    return ms.length ? ms[ms.length - 1] : undefined;
}

/** Asserts the HTTP status and the JSON-RPC error code (and id, when given) of a reply. */
function expectError(r, status, code, { id, what = '' } = {}) {
    const m = messageOf(r);
    assert.equal(r.status, status, `${what} HTTP status (body: ${String(r.text).slice(0, 300)})`);
    assert.ok(m && m.error, `${what} a JSON-RPC error body: ${String(r.text).slice(0, 300)}`);
    assert.equal(m.jsonrpc, '2.0', `${what} jsonrpc member`);
    assert.equal(m.error.code, code, `${what} error code (message: ${m.error.message})`);
    assert.equal(typeof m.error.message, 'string');
    if (id !== undefined) {
        assert.deepEqual(m.id, id, `${what} id`);
    }
    return m;
}

function expectResult(r, id, what = '') {
    const m = messageOf(r);
    assert.equal(r.status, 200, `${what} HTTP status (body: ${String(r.text).slice(0, 300)})`);
    assert.ok(m && m.result !== undefined, `${what} a result: ${String(r.text).slice(0, 300)}`);
    if (id !== undefined) {
        assert.deepEqual(m.id, id, `${what} id`);
    }
    return m;
}

const call = (id, name, args = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

async function routers() {
    const st = await stack.gw.status();
    return st.processes.filter((p) => p.role === 'router');
}

function rssKiB(pid) {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
}

/** The gateway answers a normal call on a fresh connection within a few seconds. */
async function stillServes(what) {
    const r = await Promise.race([
        post(call(`alive-${what}`, 'alpha_whoami')),
        sleep(8000).then(() => ({ status: 0, text: 'no answer within 8 s', messages: [] })),
    ]);
    const m = expectResult(r, `alive-${what}`, `after ${what}:`);
    assert.equal(toolJson(m.result).backend, 'alpha');
}

function connectRaw() {
    return new Promise((resolve, reject) => {
        const sock = net.connect(stack.gw.port, '127.0.0.1');
        sock.once('connect', () => resolve(sock));
        sock.once('error', reject);
    });
}

function requestHead({ method = 'POST', headers = {} } = {}) {
    const h = { Host: `127.0.0.1:${stack.gw.port}`, ...DEFAULT_HEADERS, ...sh(), ...headers };
    let head = `${method} /mcp HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(h)) {
        if (v !== null) {
            head += `${k}: ${v}\r\n`;
        }
    }
    return `${head}\r\n`;
}

/**
 * Sends head then body on a new connection, reading all the while as any HTTP client does.
 * Resolves with {status, statusLine, text, err} once the first response is complete (or, with
 * untilClose, when the server closes), or after timeoutMs. A write error (the server closed
 * early) is recorded, not thrown.
 */
async function rawExchange(head, body, { timeoutMs = 5000, untilClose = false } = {}) {
    const sock = await connectRaw();
    return new Promise((resolve) => {
        const chunks = [];
        let err = null;
        let settled = false;
        const done = () => {
            if (settled) {
                return;
            }
            settled = true;
            clearTimeout(timer);
            sock.destroy();
            const text = Buffer.concat(chunks).toString('latin1');
            const statusLine = text.split('\r\n')[0];
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
            resolve({ status: m ? Number(m[1]) : 0, statusLine, text, err });
        };
        const complete = () => {
            const text = Buffer.concat(chunks).toString('latin1');
            const end = text.indexOf('\r\n\r\n');
            if (end < 0) {
                return false;
            }
            const cl = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
            if (cl) {
                return text.length - end - 4 >= Number(cl[1]);
            }
            return /\r\ntransfer-encoding: *chunked/i.test(text.slice(0, end)) && text.endsWith('\r\n0\r\n\r\n');
        };
        const timer = setTimeout(done, timeoutMs);
        sock.on('data', (d) => {
            chunks.push(d);
            if (!untilClose && complete()) {
                done();
            }
        });
        sock.on('error', (e) => (err = e.code || e.message));
        sock.on('close', done);
        sock.write(head);
        sock.write(body);
    });
}

/** Flips the character at i of a base64url token to another base64url character. */
function flip(tok, i) {
    const c = tok[i] === 'A' ? 'B' : 'A';
    return tok.slice(0, i) + c + tok.slice(i + 1);
}

// ---- malformed JSON: -32700 ----

test('not JSON at all is 400 -32700', T, async () => {
    for (const body of ['not json', '{jsonrpc: 2.0}', "{'jsonrpc':'2.0'}", '{"jsonrpc":"2.0",}']) {
        expectError(await post(body), 400, -32700, { id: null, what: JSON.stringify(body) });
    }
});

test('truncated JSON is 400 -32700 wherever it is cut', T, async () => {
    const whole = JSON.stringify(call(7, 'alpha_echo', { text: 'cut me' }));
    for (const n of [1, 10, 25, whole.length - 20, whole.length - 1]) {
        expectError(await post(whole.slice(0, n)), 400, -32700, { what: `first ${n} bytes` });
    }
});

test('an empty or blank body is 400 -32700', T, async () => {
    expectError(await post(''), 400, -32700, { what: 'empty' });
    expectError(await post(' \r\n\t '), 400, -32700, { what: 'blank' });
});

test('100k-deep array nesting is 400 -32700 and costs nothing', T, async () => {
    const depth = 100000;
    const t0 = Date.now();
    expectError(await post('['.repeat(depth) + ']'.repeat(depth)), 400, -32700, { what: 'arrays' });
    const objs = `{"jsonrpc":"2.0","id":1,"method":"ping","params":${'{"a":'.repeat(30000)}1${'}'.repeat(30000)}}`;
    expectError(await post(objs), 400, -32700, { what: 'objects in params' });
    assert.ok(Date.now() - t0 < 5000, `answered in ${Date.now() - t0} ms`);
});

test('nesting past the depth limit inside tool arguments is refused, not forwarded', T, async () => {
    const deep = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"alpha_echo","arguments":{"x":${'['.repeat(200)}${']'.repeat(200)}}}}`;
    expectError(await post(deep), 400, -32700);
});

test('invalid UTF-8 (raw bytes in a string and in a key) is 400 -32700', T, async () => {
    const pre = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_echo","arguments":{"text":"');
    const tail = Buffer.from('"}}}');
    for (const bad of [[0xc3, 0x28], [0x80], [0xe2, 0x82], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
        const r = await post(Buffer.concat([pre, Buffer.from(bad), tail]));
        expectError(r, 400, -32700, { what: Buffer.from(bad).toString('hex') });
    }
    const inKey = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping","'), Buffer.from([0xc3]), Buffer.from('":1}')]);
    expectError(await post(inKey), 400, -32700, { what: 'in a key' });
});

test('overlong forms, surrogates and code points past U+10FFFF are 400 -32700 (RFC 3629)', T, async () => {
    const pre = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"');
    const end = Buffer.from('"}}');
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80]]) {
        const r = await post(Buffer.concat([pre, Buffer.from(bad), end]));
        expectError(r, 400, -32700, { what: Buffer.from(bad).toString('hex') });
    }
});

test('an escaped lone surrogate in a tool name is an unknown tool, answered in valid UTF-8', T, async () => {
    const r = await post('{"jsonrpc":"2.0","id":"s1","method":"tools/call","params":{"name":"alpha_whoami\\udc00","arguments":{}}}');
    expectError(r, 200, -32602, { id: 's1' });
    assert.ok(!r.text.includes('\ufffd'), `the reply is valid UTF-8: ${r.text}`);
});

test('a NUL escape does not cut a method or tool name short', T, async () => {
    expectError(await post('{"jsonrpc":"2.0","id":1,"method":"ping\\u0000x"}'), 200, -32601, { id: 1, what: 'method' });
    expectError(await post('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"alpha_whoami\\u0000x","arguments":{}}}'), 200, -32602, { id: 2, what: 'tool name' });
});

test('an escaped method and tool name route exactly like their plain spellings', T, async () => {
    const r = await post('{"jsonrpc":"2.0","id":"e1","method":"tools\\u002fcall","params":{"name":"alpha_who\\u0061mi","arguments":{}}}');
    const m = expectResult(r, 'e1');
    assert.equal(toolJson(m.result).backend, 'alpha');
    assert.equal(toolJson(m.result).tool, 'whoami');
});

// ---- ids ----

test('a 100 KB string id is echoed exactly (ping, answered by the router)', T, async () => {
    const id = `big-${'x'.repeat(100 * 1024)}`;
    expectResult(await post({ jsonrpc: '2.0', id, method: 'ping' }), id);
});

test('a 100 KB string id is echoed exactly through a backend (JSON and SSE)', T, async () => {
    const id = `big-${'y'.repeat(100 * 1024)}`;
    const a = expectResult(await post(call(id, 'alpha_whoami')), id, 'alpha:');
    assert.equal(toolJson(a.result).backend, 'alpha');
    const b = expectResult(await post(call(id, 'beta_whoami')), id, 'beta:');
    assert.equal(toolJson(b.result).backend, 'beta');
});

test('a 400-digit number id is echoed byte for byte', T, async () => {
    const digits = '9'.repeat(400);
    for (const body of [`{"jsonrpc":"2.0","id":${digits},"method":"ping"}`,
        `{"jsonrpc":"2.0","id":${digits},"method":"tools/call","params":{"name":"alpha_whoami","arguments":{}}}`,
        `{"jsonrpc":"2.0","id":-${digits}.5e-3,"method":"tools/call","params":{"name":"beta_whoami","arguments":{}}}`]) {
        const r = await post(body);
        assert.equal(r.status, 200, r.text.slice(0, 200));
        const want = /"id":(-?[0-9.e-]+)/.exec(body)[1];
        assert.ok(r.text.includes(`"id":${want}`), `the id comes back as sent: ${r.text.slice(0, 300)}`);
        assert.ok(messageOf(r).result, 'a result');
    }
});

test('an object id is 400 -32600 with id null', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: { a: 1 }, method: 'ping' }), 400, -32600, { id: null });
});

test('an array id is 400 -32600 with id null', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: [1], method: 'ping' }), 400, -32600, { id: null });
});

test('a boolean id is 400 -32600 with id null', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: true, method: 'tools/list' }), 400, -32600, { id: null });
});

test('a null id on a request is 400 -32600', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: null, method: 'tools/call', params: { name: 'alpha_whoami', arguments: {} } }), 400, -32600, { id: null });
});

// ---- not a JSON-RPC request object: -32600 ----

for (const body of ['null', '1', '"s"', '[]']) {
    test(`the body ${body} is 400 -32600`, T, async () => {
        expectError(await post(body), 400, -32600, { id: null });
    });
}

test('jsonrpc missing, "1.0" or a number is 400 -32600', T, async () => {
    expectError(await post({ id: 1, method: 'ping' }), 400, -32600, { what: 'missing' });
    expectError(await post({ jsonrpc: '1.0', id: 1, method: 'ping' }), 400, -32600, { what: '"1.0"' });
    expectError(await post({ jsonrpc: 2.0, id: 1, method: 'ping' }), 400, -32600, { what: 'number' });
});

test('a method that is not a string is 400 -32600', T, async () => {
    for (const method of [1, null, true, { a: 1 }, ['ping']]) {
        expectError(await post({ jsonrpc: '2.0', id: 1, method }), 400, -32600, { what: JSON.stringify(method) });
    }
});

test('params that are a string or a number are 400 -32600', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: 'alpha_whoami' }), 400, -32600, { what: 'string' });
    expectError(await post({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: 5 }), 400, -32600, { what: 'number' });
});

test('duplicate "method" keys are 400 -32600 (no routing on a member the backend may read differently)', T, async () => {
    expectError(await post('{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"alpha_whoami"}}'), 400, -32600);
});

test('duplicate "id" and duplicate params.name are 400 -32600', T, async () => {
    expectError(await post('{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}'), 400, -32600, { what: 'id' });
    expectError(await post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_whoami","name":"beta_whoami","arguments":{}}}'), 400, -32600, { what: 'params.name' });
});

test('a request carrying result, and a response carrying both result and error, are 400 -32600', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: 1, method: 'ping', result: {} }), 400, -32600, { what: 'request with result' });
    expectError(await post({ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } }), 400, -32600, { what: 'result and error' });
});

test('a batch (JSON array) is 400 -32600', T, async () => {
    expectError(await post([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', method: 'notifications/initialized' }]), 400, -32600);
});

// ---- sessions ----

test('forged session tokens (random base64url) are 404 -32001', T, async () => {
    for (const n of [16, 63, 64, 90, 200]) {
        const tok = crypto.randomBytes(n).toString('base64url');
        expectError(await rawPost(stack.gw.url, call(1, 'alpha_whoami'), { 'Mcp-Session-Id': tok }), 404, -32001, { what: `${n} random bytes` });
    }
    expectError(await rawPost(stack.gw.url, call(1, 'alpha_whoami'), { 'Mcp-Session-Id': 'A'.repeat(10000) }), 404, -32001, { what: '10 KB' });
});

test('a real token with one character changed is 404 -32001', T, async () => {
    const tok = s.sessionId;
    for (const i of [0, 1, 5, Math.floor(tok.length / 2), tok.length - 2, tok.length - 1]) {
        const r = await rawPost(stack.gw.url, call(1, 'alpha_whoami'), { 'Mcp-Session-Id': flip(tok, i) });
        expectError(r, 404, -32001, { what: `character ${i}` });
    }
    expectError(await rawPost(stack.gw.url, call(1, 'alpha_whoami'), { 'Mcp-Session-Id': tok.slice(0, -1) }), 404, -32001, { what: 'cut short' });
    expectError(await rawPost(stack.gw.url, call(1, 'alpha_whoami'), { 'Mcp-Session-Id': `${tok}A` }), 404, -32001, { what: 'one more' });
});

test('a token sealed with another gateway\'s key is 404 -32001', T, async () => {
    expectError(await rawPost(stack.gw.url, call(1, 'alpha_whoami'), { 'Mcp-Session-Id': otherToken }), 404, -32001, { what: 'tools/call' });
    expectError(await rawPost(stack.gw.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'Mcp-Session-Id': otherToken }), 404, -32001, { what: 'tools/list' });
});

test('GET without a session is a 4xx', T, async () => {
    const r = await httpRequest(stack.gw.url, { method: 'GET', headers: { Accept: 'text/event-stream' } });
    assert.ok(r.status >= 400 && r.status < 500, `HTTP ${r.status}`);
});

test('DELETE with a garbage session is 404', T, async () => {
    for (const sid of ['garbage', crypto.randomBytes(80).toString('base64url'), flip(s.sessionId, 10)]) {
        const r = await httpRequest(stack.gw.url, { method: 'DELETE', headers: { 'Mcp-Session-Id': sid } });
        assert.equal(r.status, 404, `DELETE ${sid.slice(0, 20)}: ${r.text}`);
    }
});

// ---- HTTP-level rules ----

test('a POST without Accept is 406', T, async () => {
    // node:http, not fetch: fetch adds "Accept: */*" when there is none
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const r = await httpRequest(stack.gw.url, { headers: { 'Content-Type': 'application/json', ...sh(), 'Content-Length': Buffer.byteLength(body) }, body });
    expectError(r, 406, -32600);
});

test('Accept listing only application/json is 406', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { Accept: 'application/json' }), 406, -32600);
});

test('Accept listing only text/event-stream is 406', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { Accept: 'text/event-stream' }), 406, -32600);
});

test('Content-Type text/plain is 415', T, async () => {
    expectError(await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), { 'Content-Type': 'text/plain' }), 415, -32600);
});

test('a POST without Content-Type is 415', T, async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const r = await httpRequest(stack.gw.url, { headers: { Accept: DEFAULT_HEADERS.Accept, ...sh(), 'Content-Length': Buffer.byteLength(body) }, body });
    expectError(r, 415, -32600);
});

test('MCP-Protocol-Version 1999-01-01 is 400; an absent one is accepted', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'MCP-Protocol-Version': '1999-01-01' }), 400, -32600, { what: '1999-01-01' });
    expectError(await post(call(1, 'alpha_whoami'), { 'MCP-Protocol-Version': 'garbage' }), 400, -32600, { what: 'garbage' });
    const r = await rawPost(stack.gw.url, call('nv', 'alpha_whoami'), { 'Mcp-Session-Id': s.sessionId });
    expectResult(r, 'nv', 'absent:');
});

test('a foreign Origin or Host is 403', T, async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const base = { ...DEFAULT_HEADERS, ...sh() };
    expectError(await httpRequest(stack.gw.url, { headers: { ...base, Origin: 'http://evil.example.com' }, body }), 403, -32600, { what: 'Origin' });
    expectError(await httpRequest(stack.gw.url, { headers: { ...base, Host: 'evil.example.com', Origin: 'http://evil.example.com' }, body }), 403, -32600, { what: 'Host + Origin' });
    // loopback with the right port is fine
    expectResult(await httpRequest(stack.gw.url, { headers: { ...base, Origin: `http://127.0.0.1:${stack.gw.port}` }, body }), 1, 'own origin:');
});

test('an unsupported HTTP method is 405', T, async () => {
    for (const method of ['PUT', 'PATCH']) {
        const r = await httpRequest(stack.gw.url, { method, headers: { ...DEFAULT_HEADERS, ...sh() }, body: '{}' });
        assert.equal(r.status, 405, `${method}: ${r.text}`);
    }
});

// ---- methods ----

test('unknown methods are 200 -32601 with the request id', T, async () => {
    for (const [i, method] of ['frobnicate', 'tools/call2', 'rpc.discover', '', 'x'.repeat(300)].entries()) {
        expectError(await post({ jsonrpc: '2.0', id: `m${i}`, method }), 200, -32601, { id: `m${i}`, what: method.slice(0, 20) });
    }
});

test('a notification with an unknown method is 202 with no body', T, async () => {
    const r = await post({ jsonrpc: '2.0', method: 'notifications/frobnicated', params: { x: 1 } });
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
});

test('a client response to a server request id never issued is 400', T, async () => {
    for (const id of ['srv-does-not-exist', 12345, 'x'.repeat(5000)]) {
        const r = await post({ jsonrpc: '2.0', id, result: { roots: [] } });
        assert.equal(r.status, 400, `id ${String(id).slice(0, 20)}: ${r.text.slice(0, 200)}`);
    }
    const e = await post({ jsonrpc: '2.0', id: 'srv-1', error: { code: -1, message: 'no' } });
    assert.equal(e.status, 400, `error response: ${e.text.slice(0, 200)}`);
});

test('tools/call without a usable name is 200 -32602', T, async () => {
    expectError(await post({ jsonrpc: '2.0', id: 1, method: 'tools/call' }), 200, -32602, { what: 'no params' });
    expectError(await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 42 } }), 200, -32602, { what: 'number name' });
    expectError(await post(call(3, `alpha_${'w'.repeat(300)}`)), 200, -32602, { what: 'long name' });
});

// ---- sizes ----

test('a body just over limits.max_request_body is 413 with a JSON-RPC error', T, async () => {
    const body = JSON.stringify(call(1, 'alpha_echo', { text: 'o'.repeat(LIMIT) }));
    const r = await httpRequest(stack.gw.url, { headers: { ...DEFAULT_HEADERS, ...sh(), 'Content-Length': Buffer.byteLength(body) }, body });
    expectError(r, 413, -32600);
    // and one just under it is served whole
    const text = 'u'.repeat(LIMIT - 1024);
    assert.equal((await s.tool('alpha_echo', { text })).text.length, text.length);
});

test('a body far over the limit (8 MiB, Content-Length) is answered 413', T, async () => {
    const r = await rawExchange(requestHead({ headers: { 'Content-Length': 8 * 1024 * 1024 } }), Buffer.alloc(8 * 1024 * 1024, 0x20));
    await stillServes('an 8 MiB body');
    assert.equal(r.status, 413, `what the client received: ${JSON.stringify(r.statusLine)} (socket error: ${r.err})`);
});

test('a body far over the limit (8 MiB, chunked) is answered 413', T, async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x20);
    const r = await rawExchange(requestHead({ headers: { 'Transfer-Encoding': 'chunked' } }),
        Buffer.concat([Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')]));
    await stillServes('an 8 MiB chunked body');
    assert.equal(r.status, 413, `what the client received: ${JSON.stringify(r.statusLine)} (socket error: ${r.err})`);
});

test('over the limit on HTTP/2: just over is 413 -32600, 8 MiB is 413 or a reset stream; the connection keeps serving', T, async () => {
    const h2 = new H2Client(stack.gw.origin);
    const headers = { ...DEFAULT_HEADERS, ...sh() };
    try {
        const over = await h2.request('/mcp', { headers, body: call(1, 'alpha_echo', { text: 'o'.repeat(LIMIT) }) });
        expectError(over, 413, -32600, { what: 'just over:' });
        let far;
        try {
            far = await h2.request('/mcp', { headers, body: call(2, 'alpha_echo', { text: 'f'.repeat(8 * 1024 * 1024) }) });
        } catch (err) {
            far = { status: 0, err: err.code };
        }
        // DESIGN: "for HTTP/2 reject before buffering where possible": a 413 or a reset stream
        assert.ok(far.status === 413 || far.err === 'ERR_HTTP2_STREAM_ERROR', `8 MiB on h2: ${far.status} ${far.err || ''}`);
        const ok = await h2.request('/mcp', { headers, body: call('h2-after', 'beta_whoami') });
        expectResult(ok, 'h2-after', 'same h2 connection afterwards:');
    } finally {
        await h2.close();
    }
});

test('a 100 KB request header is refused with a 4xx and the gateway keeps serving', T, async () => {
    let status;
    try {
        const r = await httpRequest(stack.gw.url, { headers: { ...DEFAULT_HEADERS, ...sh(), 'X-Padding': 'p'.repeat(100 * 1024) }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
        status = r.status;
    } catch (err) {
        status = `no response (${err.code || err.message})`;
    }
    await stillServes('a 100 KB header');
    assert.ok(typeof status === 'number' && status >= 400 && status < 500, `answer to a 100 KB header: ${status}`);
});

// A request head past h2o's compile-time limit (H2O_MAX_REQLEN, about 408 KiB) is refused by
// h2o itself, which closes at once: the client sees its 400 or a reset, depending on whether it
// was still sending (documented with limits.max_header_size, which stays under 256 KiB). Under
// that size the gateway's own 431 is tested above.
test('a 1 MiB request header is refused (4xx, or a reset past the HTTP layer limit); 1000 headers get a 4xx', T, async () => {
    const ping = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    const big = await rawExchange(requestHead({ headers: { 'X-Big': 'b'.repeat(1 << 20), 'Content-Length': ping.length } }), ping);
    assert.ok((big.status >= 400 && big.status < 500) || (big.status === 0 && /ECONNRESET|EPIPE/.test(String(big.err))),
        `1 MiB header: ${JSON.stringify(big.statusLine)} (${big.err})`);
    assert.notEqual(big.status, 200);
    const many = {};
    for (let i = 0; i < 1000; i++) {
        many[`X-H${i}`] = 'v';
    }
    const lots = await rawExchange(requestHead({ headers: { ...many, 'Content-Length': ping.length } }), ping);
    assert.ok(lots.status >= 400 && lots.status < 500, `1000 headers: ${JSON.stringify(lots.statusLine)} (${lots.err})`);
    await stillServes('header floods');
});

test('a malformed Content-Length is 400', T, async () => {
    const ping = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    for (const cl of ['abc', '-5', '1e3', '12, 13']) {
        const r = await rawExchange(requestHead({ headers: { 'Content-Length': cl } }), ping);
        assert.equal(r.status, 400, `Content-Length: ${cl}: ${JSON.stringify(r.statusLine)}`);
    }
});

test('100 pipelined HTTP/1.1 calls on one connection are all answered, in order', T, async () => {
    let text = '';
    for (let i = 0; i < 100; i++) {
        const body = JSON.stringify(call(i, i % 2 ? 'alpha_whoami' : 'beta_whoami'));
        text += requestHead({ headers: { 'Content-Length': Buffer.byteLength(body), ...(i === 99 ? { Connection: 'close' } : {}) } }) + body;
    }
    const r = await rawExchange(text, '', { timeoutMs: 10000, untilClose: true });
    const statuses = [...r.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.equal(statuses.length, 100, `responses: ${statuses.length}`);
    assert.ok(statuses.every((x) => x === 200), `statuses: ${statuses.join(',')}`);
    const ids = [...r.text.matchAll(/"id":(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual(ids, Array.from({ length: 100 }, (_, i) => i));
});

// ---- slow, stalled and vanishing clients ----

test('chunked bodies that never end do not hold up other clients', T, async () => {
    const socks = [];
    try {
        for (let i = 0; i < 12; i++) {
            const sock = await connectRaw();
            sock.on('error', () => {});
            sock.write(requestHead({ headers: { 'Transfer-Encoding': 'chunked' } }));
            sock.write('10\r\n{"jsonrpc":"2.0"\r\n');
            socks.push(sock);
        }
        // half-sent headers too (slowloris)
        for (let i = 0; i < 6; i++) {
            const sock = await connectRaw();
            sock.on('error', () => {});
            sock.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${stack.gw.port}\r\nX-Slow: `);
            socks.push(sock);
        }
        await sleep(200);
        const t0 = Date.now();
        const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => post(call(`st${i}`, i % 2 ? 'alpha_whoami' : 'beta_whoami'))));
        rs.forEach((r, i) => expectResult(r, `st${i}`, `call ${i} while others stall:`));
        assert.ok(Date.now() - t0 < 3000, `served in ${Date.now() - t0} ms while ${socks.length} requests stall`);
    } finally {
        for (const sock of socks) {
            sock.destroy();
        }
    }
});

test('200 connections dropped mid-request (mid-body, mid-call, mid-stream) leave the gateway serving', T, async () => {
    const kinds = [
        // headers and part of a body
        async (sock) => {
            sock.write(requestHead({ headers: { 'Content-Length': 1000 } }));
            sock.write('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_');
        },
        // a whole call that is still running at a backend
        async (sock) => {
            const body = JSON.stringify(call('drop', 'alpha_slow', { ms: 200, steps: 1 }));
            sock.write(requestHead({ headers: { 'Content-Length': Buffer.byteLength(body) } }) + body);
            await sleep(20);
        },
        // an SSE reply that is streaming
        async (sock) => {
            const body = JSON.stringify(call('drop', 'beta_slow', { ms: 300, steps: 3 }));
            sock.write(requestHead({ headers: { 'Content-Length': Buffer.byteLength(body) } }) + body);
            await new Promise((resolve) => {
                sock.once('data', resolve);
                setTimeout(resolve, 1000);
            });
        },
        // half a request line
        async (sock) => {
            sock.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty');
        },
    ];
    for (let batch = 0; batch < 4; batch++) {
        await Promise.all(Array.from({ length: 50 }, async (_, i) => {
            const sock = await connectRaw();
            sock.on('error', () => {});
            await kinds[i % kinds.length](sock);
            sock.destroy();
        }));
    }
    await sleep(500); // let the slow calls finish at the backends and come back to nobody
    await stillServes('200 dropped connections');
});

test('a client that never reads a big answer does not hold up others', T, async () => {
    const sock = await connectRaw();
    sock.on('error', () => {});
    try {
        const body = JSON.stringify(call('big', 'alpha_big', { bytes: 4 * 1024 * 1024 }));
        sock.write(requestHead({ headers: { 'Content-Length': Buffer.byteLength(body) } }) + body);
        sock.pause();
        await sleep(300);
        await stillServes('a client that does not read');
    } finally {
        sock.destroy();
    }
});

test('2000 HTTP/2 streams opened and reset at once leave the gateway serving', T, async () => {
    const t0 = Date.now();
    let opened = 0;
    const base = { ':method': 'POST', ':path': '/mcp', 'content-type': 'application/json', accept: DEFAULT_HEADERS.Accept, 'mcp-session-id': s.sessionId, 'mcp-protocol-version': s.protocolVersion };
    for (let c = 0; c < 20 && Date.now() - t0 < 15000; c++) {
        const session = http2.connect(stack.gw.origin);
        session.on('error', () => {});
        const closed = [];
        for (let i = 0; i < 100; i++) {
            let stream;
            try {
                // even: headers only, reset before any body; odd: a whole call, reset at once
                stream = session.request(base, { endStream: false });
            } catch {
                break; // the gateway may refuse more on this connection (GOAWAY): fine
            }
            opened++;
            stream.on('error', () => {});
            closed.push(new Promise((resolve) => {
                stream.on('close', resolve);
                setTimeout(resolve, 3000);
            }));
            if (i % 2) {
                stream.end(JSON.stringify(call(`h2-${c}-${i}`, 'alpha_whoami')));
            }
            stream.close(http2.constants.NGHTTP2_CANCEL);
        }
        await Promise.all(closed);
        session.destroy();
    }
    assert.equal(opened, 2000, 'streams opened');
    assert.ok(Date.now() - t0 < 20000, `took ${Date.now() - t0} ms`);
    const h2 = new H2Client(stack.gw.origin);
    try {
        const r = await h2.request('/mcp', { headers: { ...DEFAULT_HEADERS, ...sh() }, body: call('h2ok', 'beta_whoami') });
        const m = expectResult(r, 'h2ok', 'h2 after the resets:');
        assert.equal(toolJson(m.result).backend, 'beta');
    } finally {
        await h2.close();
    }
    await stillServes('2000 reset h2 streams');
});

// ---- stale sessions (placed late: the ttl of the other gateway must have run out) ----

test('an expired token (sessions.ttl 1s, 2 s later) is 404 -32001', T, async () => {
    const wait = otherIssuedAt + 2000 - Date.now();
    if (wait > 0) {
        await sleep(wait);
    }
    expectError(await rawPost(other.url, call(1, 'alpha_whoami'), { 'Mcp-Session-Id': otherToken }), 404, -32001, { what: 'tools/call' });
    expectError(await rawPost(other.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'Mcp-Session-Id': otherToken }), 404, -32001, { what: 'tools/list' });
    // a new session on that gateway works
    const fresh = await initializeSession(other.url);
    assert.ok(fresh.sessionId);
});

// ---- afterwards ----

test('after all that: initialize + tools/call on both backends work', T, async () => {
    const n = await initializeSession(stack.gw.url);
    assert.equal((await n.tool('alpha_whoami')).backend, 'alpha');
    assert.equal((await n.tool('beta_echo', { text: 'still here' })).text, 'still here');
    assert.equal((await s.tool('alpha_add', { a: 2, b: 3 })).sum, 5);
    assert.equal(await n.delete(), 200);
});

test('after all that: no process crashed (mcpgwctl status --json: every restarts is 0)', T, async () => {
    for (const g of [stack.gw, other]) {
        const st = await g.status();
        assert.ok(st.processes.length >= 3, 'processes listed');
        for (const p of st.processes) {
            assert.equal(p.restarts, 0, `${p.name} (pid ${p.pid}) restarts`);
            assert.equal(p.state, 'running', `${p.name} state`);
        }
    }
    assert.ok(stack.gw.proc.running, 'the broker is alive');
});

test(`after all that: each router's VmRSS < ${RSS_FACTOR} x its warm-up RSS + ${RSS_SLACK_MIB} MiB`, T, async (t) => {
    const rs = await routers();
    assert.equal(rs.length, rssWarm.size, 'the same routers as at warm-up');
    for (const p of rs) {
        assert.ok(rssWarm.has(p.pid), `router ${p.name} has the pid it had at warm-up`);
        const warm = rssWarm.get(p.pid);
        const now = rssKiB(p.pid);
        const bound = warm * RSS_FACTOR + RSS_SLACK_MIB * 1024;
        t.diagnostic(`${p.name}: VmRSS ${warm} KiB after warm-up, ${now} KiB after the suite (bound ${bound} KiB)`);
        assert.ok(now < bound, `${p.name}: VmRSS ${now} KiB after the suite, warm-up ${warm} KiB, bound ${bound} KiB`);
    }
});

test('no sanitizer reports in the gateways\' logs', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
    assert.deepEqual(other.sanitizerReports(), []);
});
