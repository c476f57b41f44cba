// TLS on client listeners (listen[].tls): a test CA made by openssl here signs the gateway's
// certificate; clients (node https and http2, curl, the official SDK client) that trust the CA
// speak MCP over https with ALPN h2 and http/1.1; an expired certificate and a too-old TLS version
// are refused by the client; a reload loads renewed files for new connections while open ones go
// on, and refuses files that do not load, naming them; the broker refuses to start on them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import {
    DEFAULT_HEADERS,
    TESTS_DIR,
    initializeBody,
    makeTempDir,
    runBroker,
    startBackend,
    startGateway,
    useSetup,
} from '../lib/index.mjs';

const exec = promisify(execFile);
const T = { timeout: 60000 };

async function openssl(dir, args) {
    await exec('openssl', args, { cwd: dir });
}

/** A CA and, signed by it, a certificate for localhost/127.0.0.1 valid for `days` (negative:
 * already expired); returns the file paths. */
async function makeCa(dir) {
    await openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=mcpgw test CA', '-days', '2']);
    fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    return { ca: path.join(dir, 'ca.pem') };
}

async function makeCert(dir, name, days) {
    await openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost']);
    await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key',
        '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days), '-extfile', 'san.ext']);
    return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

function tlsListen(cert, extra = {}) {
    return [{ address: '127.0.0.1', port: 0, tls: { certificate: cert.cert, key: cert.key, ...extra } }];
}

/** One POST over https (HTTP/1.1) with node:https; {status, headers, text, json, socket}. */
function httpsPost(url, body, { ca, headers = {}, agent } = {}) {
    return new Promise((resolve, reject) => {
        const req = https.request(url, { method: 'POST', ca, agent: agent ?? false, headers: { ...DEFAULT_HEADERS, ...headers } }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => {
                let json;
                try {
                    json = JSON.parse(text);
                } catch {
                    json = undefined;
                }
                resolve({ status: res.statusCode, headers: res.headers, text, json, reused: req.reusedSocket, alpn: res.socket?.alpnProtocol });
            });
        });
        req.on('error', reject);
        req.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
}

/** The serial number of the certificate a fresh TLS connection to port is shown. */
function peerSerial(port, ca) {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
            const serial = s.getPeerCertificate().serialNumber;
            s.end();
            resolve(serial);
        });
        s.on('error', reject);
    });
}

let dir;
const stack = useSetup(async () => {
    dir = makeTempDir('mcpgw-tls-');
    const { ca } = await makeCa(dir);
    const good = await makeCert(dir, 'server', 2);
    const expired = await makeCert(dir, 'expired', -1);
    const alpha = await startBackend({ name: 'alpha' });
    const servers = [{ name: 'alpha', url: alpha.url, prefix: 'alpha_' }];
    const gw = await startGateway({ servers, extra: { listen: tlsListen(good) } });
    return { ca: fs.readFileSync(ca), caFile: ca, good, expired, alpha, servers, gw, url: `https://localhost:${gw.port}/mcp` };
}, { cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) });

test('MCP over https with HTTP/1.1: initialize and a tools/call', T, async () => {
    const init = await httpsPost(stack.url, initializeBody(), { ca: stack.ca });
    assert.equal(init.status, 200, init.text);
    const sid = init.headers['mcp-session-id'];
    assert.ok(sid, 'a session id');
    const call = await httpsPost(stack.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'alpha_echo', arguments: { text: 'over tls' } } },
        { ca: stack.ca, headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } });
    assert.equal(call.status, 200, call.text);
    assert.match(call.text, /over tls/);
});

test('ALPN offers h2: an HTTP/2 client over TLS initializes', T, async () => {
    const session = http2.connect(`https://localhost:${stack.gw.port}`, { ca: stack.ca });
    try {
        const r = await new Promise((resolve, reject) => {
            const s = session.request({ ':method': 'POST', ':path': '/mcp', ...DEFAULT_HEADERS });
            let text = '';
            let status = 0;
            s.setEncoding('utf8');
            s.on('response', (h) => (status = h[':status']));
            s.on('data', (d) => (text += d));
            s.on('end', () => resolve({ status, text }));
            s.on('error', reject);
            s.end(JSON.stringify(initializeBody()));
        });
        assert.equal(session.alpnProtocol, 'h2');
        assert.equal(r.status, 200, r.text);
        assert.match(r.text, /"protocolVersion":"2025-11-25"/);
    } finally {
        session.close();
    }
});

test('curl over https trusts the test CA and gets an answer (HTTP/1.1 and h2)', T, async () => {
    for (const v of ['--http1.1', '--http2']) {
        const { stdout } = await exec('curl', ['-sS', v, '--cacert', stack.caFile, '-o', '/dev/null', '-w', '%{http_code} %{http_version}',
            '-H', 'content-type: application/json', '-H', 'accept: application/json, text/event-stream',
            '-d', JSON.stringify(initializeBody()), stack.url]);
        assert.equal(stdout, v === '--http2' ? '200 2' : '200 1.1');
    }
    // without the CA, curl refuses the certificate (exit 60)
    await assert.rejects(exec('curl', ['-sS', '-o', '/dev/null', '-d', '{}', stack.url]), (err) => err.code === 60);
});

test('the official SDK client over https lists and calls tools', T, async () => {
    const script = `
        import { Client } from '@modelcontextprotocol/sdk/client/index.js';
        import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
        const client = new Client({ name: 'tls-test', version: '1' });
        await client.connect(new StreamableHTTPClientTransport(new URL(process.argv[1])));
        const tools = await client.listTools();
        const r = await client.callTool({ name: 'alpha_echo', arguments: { text: 'sdk over tls' } });
        console.log(JSON.stringify({ tools: tools.tools.map((t) => t.name), text: r.content[0].text }));
        await client.close();
    `;
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script, stack.url],
        { cwd: TESTS_DIR, env: { ...process.env, NODE_EXTRA_CA_CERTS: stack.caFile }, timeout: 30000 });
    const out = JSON.parse(stdout.trim().split('\n').pop());
    assert.ok(out.tools.includes('alpha_echo'), out.tools.join(','));
    assert.match(out.text, /sdk over tls/);
});

test('a client refuses an expired certificate; min_version TLSv1.3 refuses a TLS 1.2 client', T, async () => {
    const gw = await startGateway({ servers: stack.servers, extra: { listen: tlsListen(stack.expired, { min_version: 'TLSv1.3' }) } });
    try {
        await assert.rejects(httpsPost(`https://localhost:${gw.port}/mcp`, initializeBody(), { ca: stack.ca }),
            (err) => err.code === 'CERT_HAS_EXPIRED');
        await assert.rejects(new Promise((resolve, reject) => {
            const s = tls.connect({ host: '127.0.0.1', port: gw.port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, resolve);
            s.on('error', reject);
        }), /version|alert|disconnected before secure TLS connection/i);
        // TLS 1.3 is served
        const serial = await new Promise((resolve, reject) => {
            const s = tls.connect({ host: '127.0.0.1', port: gw.port, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, () => {
                resolve(s.getProtocol());
                s.end();
            });
            s.on('error', reject);
        });
        assert.equal(serial, 'TLSv1.3');
    } finally {
        await gw.stop();
    }
});

test('reload: renewed files under the same paths serve new connections; open ones go on; broken files are refused by path', T, async () => {
    const d = makeTempDir('mcpgw-tls-reload-');
    try {
        for (const f of ['ca.pem', 'ca.key', 'san.ext']) {
            fs.copyFileSync(path.join(dir, f), path.join(d, f));
        }
        const first = await makeCert(d, 'live', 2);
        const gw = await startGateway({ servers: stack.servers, extra: { listen: tlsListen(first) } });
        try {
            const url = `https://localhost:${gw.port}/mcp`;
            const before = await peerSerial(gw.port, stack.ca);
            const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: stack.ca });
            const a = await httpsPost(url, initializeBody(), { ca: stack.ca, agent });
            assert.equal(a.status, 200, a.text);

            // renew: a new certificate (new serial) written over the same two files
            const renewed = await makeCert(d, 'renewed', 2);
            fs.copyFileSync(renewed.cert, first.cert);
            fs.copyFileSync(renewed.key, first.key);
            const r = await gw.ctl(['reload']);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            let after = before;
            for (let i = 0; i < 50 && after === before; i++) {
                await new Promise((res) => setTimeout(res, 100));
                after = await peerSerial(gw.port, stack.ca);
            }
            assert.notEqual(after, before, 'new connections see the renewed certificate');
            // the keep-alive connection opened before the reload still serves requests
            const b = await httpsPost(url, initializeBody(), { ca: stack.ca, agent });
            assert.equal(b.status, 200, b.text);
            assert.equal(b.reused, true, 'the same connection as before the reload');
            agent.destroy();

            // a broken certificate file: the reload is refused naming it, the running one stays
            fs.writeFileSync(first.cert, 'not a certificate\n');
            const bad = await gw.ctl(['reload']);
            assert.equal(bad.code, 1, bad.stdout + bad.stderr);
            assert.ok((bad.stdout + bad.stderr).includes(first.cert), bad.stdout + bad.stderr);
            assert.equal(await peerSerial(gw.port, stack.ca), after, 'still the last good certificate');
            const c = await httpsPost(url, initializeBody(), { ca: stack.ca });
            assert.equal(c.status, 200, c.text);
        } finally {
            await gw.stop();
        }
    } finally {
        fs.rmSync(d, { recursive: true, force: true });
    }
});

test('mcpgw-broker -t refuses a missing key naming it, and warns of a listener reachable in clear text', T, async () => {
    const d = makeTempDir('mcpgw-tls-check-');
    try {
        const file = path.join(d, 'mcpgw.yaml');
        const missing = path.join(d, 'nope.key');
        fs.writeFileSync(file, `listen:\n  - address: 127.0.0.1\n    port: 0\n    tls:\n      certificate: ${stack.good.cert}\n      key: ${missing}\nruntime_dir: ${d}\nservers: []\n`);
        const r = await runBroker(['-t', '-c', file]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, new RegExp(`listen\\[0\\]\\.tls\\.key: ${missing.replace(/[.]/g, '\\.')}: `));

        fs.writeFileSync(file, `listen:\n  - address: 0.0.0.0\n    port: 0\nruntime_dir: ${d}\nservers: []\n`);
        const w = await runBroker(['-t', '-c', file]);
        assert.equal(w.code, 0, w.stdout + w.stderr);
        assert.match(w.stderr, /level=warning.*no TLS.*listen=0\.0\.0\.0/);

        // the same check for a loopback listener: no warning
        fs.writeFileSync(file, `listen:\n  - address: 127.0.0.1\n    port: 0\nruntime_dir: ${d}\nservers: []\n`);
        const quiet = await runBroker(['-t', '-c', file]);
        assert.equal(quiet.code, 0);
        assert.doesNotMatch(quiet.stderr, /no TLS/);
    } finally {
        fs.rmSync(d, { recursive: true, force: true });
    }
});
