// TLS to backends (servers[].tls): a Node https backend running the official SDK server asks for
// a client certificate signed by the test CA (tests/lib/https-backend.mjs). With the right client
// certificate a tools/call works through the gateway; a backend certificate that expired, a
// ca_file that does not hold the backend's CA, a client key that does not load, no client
// certificate and a certificate for another name each give a JSON-RPC error (or, for the catalog, a down backend in
// mcpgwctl backends) naming the backend and what failed, a log line and a metric reason;
// server_name makes the other name work; verify: false works against an untrusted certificate
// and is warned about; a tls block on http:// and a client key others can read are refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { makeTestPki } from '../lib/certs.mjs';
import { startHttpsBackend } from '../lib/https-backend.mjs';
import {
    gatewayConfig,
    initializeSession,
    makeTempDir,
    runBroker,
    startGateway,
    toYaml,
    toolJson,
    useSetup,
    waitFor,
} from '../lib/index.mjs';

const T = { timeout: 60000 };

let dir;
const stack = useSetup(async () => {
    dir = makeTempDir('mcpgw-upstream-tls-');
    const pki = makeTestPki(dir);
    // the gateway's own copy of the CA, which a test swaps for the wrong one and back
    const caFile = path.join(dir, 'gateway-ca.pem');
    fs.copyFileSync(pki.caFile, caFile);
    const alpha = await startHttpsBackend({ name: 'alpha', certificate: pki.server, clientCaFile: pki.caFile });
    const mtls = { ca_file: caFile, client_certificate: pki.client.cert, client_key: pki.client.key };
    // health_interval 0: a failure the tests cause must not take alpha's tools out meanwhile
    const servers = [{ name: 'alpha', url: alpha.hostUrl('localhost'), prefix: 'alpha_', health_interval: 0, tls: mtls }];
    const gw = await startGateway({ servers });
    return { pki, caFile, alpha, mtls, servers, gw };
}, {
    cleanup: async () => {
        await stack.alpha?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    },
});

async function metrics(gw) {
    return (await fetch(`${gw.adminOrigin}/metrics`)).text();
}

function tlsFailures(text, reason) {
    const re = new RegExp(`^mcpgw_backend_tls_failures_total\\{process="worker\\.alpha",backend="alpha",reason="${reason}"\\} (\\d+)$`, 'm');
    const m = re.exec(text);
    return m ? Number(m[1]) : 0;
}

/** A tools/call of alpha_whoami that must fail: its JSON-RPC error. */
async function failedCall(s) {
    const r = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
    assert.ok(r.response, `a JSON-RPC response (HTTP ${r.status}): ${r.text.slice(0, 300)}`);
    assert.ok(r.response.error, `an error, not ${JSON.stringify(r.response)}`);
    assert.equal(r.response.error.code, -32010, 'backend unavailable');
    return r.response.error;
}

/** Waits for mcpgwctl backends to show alpha down; returns its text line. */
async function downLine(gw) {
    let line = '';
    await waitFor(async () => {
        const r = await gw.ctl(['backends']);
        line = r.stdout.split('\n').find((l) => l.startsWith('alpha ')) ?? '';
        return /^alpha +down /.test(line);
    }, { what: 'alpha down in mcpgwctl backends', timeoutMs: 15000 });
    return line;
}

/** Runs fn with alpha serving certificate c (new connections; open ones are closed), then back. */
async function withBackendCertificate(c, fn, clientCaFile) {
    stack.alpha.setCertificate(c, clientCaFile);
    try {
        await fn();
    } finally {
        stack.alpha.setCertificate(stack.pki.server);
    }
}

test('mTLS with the right client certificate: tools/call works through the gateway', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const r = await s.call('tools/call', { name: 'alpha_echo', arguments: { text: 'over mtls' } });
    assert.equal(r.content[0].text, 'over mtls');
    const who = await s.tool('alpha_whoami');
    assert.equal(who.backend, 'alpha');
    assert.equal(who.client, 'mcpgw-gateway', 'the backend saw the configured client certificate');
    assert.match(stack.gw.logs(), /msg="backend TLS" backend=alpha verify=true ca_file=\S+ client_certificate=\S+client\.pem/);
});

test('an expired backend certificate: a JSON-RPC error naming the backend, a log line, a metric', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const before = tlsFailures(await metrics(stack.gw), 'verify');
    await withBackendCertificate(stack.pki.expired, async () => {
        const e = await failedCall(s);
        assert.match(e.message, /^backend alpha: TLS certificate verify failed: .*certificate has expired/, e.message);
    });
    assert.equal(tlsFailures(await metrics(stack.gw), 'verify'), before + 1);
    assert.match(stack.gw.logs(), /level=warning .*msg="TLS certificate verify failed" backend=alpha reason=verify request_id=\S+ error="[^"]*expired/);
    // the good certificate again: calls work on new connections
    assert.equal((await s.tool('alpha_whoami')).client, 'mcpgw-gateway');
});

test('a certificate that expires while the backend is up: health checks show it down with the reason, up again once renewed', T, async () => {
    const gw = await startGateway({ servers: [{ ...stack.servers[0], health_interval: '300ms' }] });
    try {
        const s = await initializeSession(gw.url);
        assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
        await withBackendCertificate(stack.pki.expired, async () => {
            const line = await downLine(gw);
            assert.match(line, /\(health check failed: backend alpha: TLS certificate verify failed: .*certificate has expired\)/, line);
        });
        await waitFor(async () => (await gw.status()).backends[0].state === 'up', { what: 'alpha up again', timeoutMs: 15000 });
    } finally {
        await gw.stop();
    }
});

test('a ca_file without the backend\'s CA: verify fails naming the backend (the file is read again by each new connection)', T, async () => {
    const s = await initializeSession(stack.gw.url);
    fs.copyFileSync(stack.pki.otherCaFile, stack.caFile);
    try {
        await withBackendCertificate(stack.pki.server, async () => {
            const e = await failedCall(s);
            // Node sends the CA in its chain: libcurl says which way the chain did not verify
            assert.match(e.message, /^backend alpha: TLS certificate verify failed: SSL certificate problem: (unable to get local issuer certificate|self-signed certificate in certificate chain)/, e.message);
        });
    } finally {
        fs.copyFileSync(stack.pki.caFile, stack.caFile);
    }
    stack.alpha.setCertificate(stack.pki.server); // new connections read the right CA again
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
});

test('a client key that no longer loads: the error names the backend and the key (read again by each new connection)', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const before = tlsFailures(await metrics(stack.gw), 'client_certificate');
    const key = fs.readFileSync(stack.pki.client.key);
    fs.writeFileSync(stack.pki.client.key, 'not a key\n');
    try {
        await withBackendCertificate(stack.pki.server, async () => {
            const e = await failedCall(s);
            assert.match(e.message, /^backend alpha: TLS client certificate or key unusable: .*private key/, e.message);
        });
    } finally {
        fs.writeFileSync(stack.pki.client.key, key);
    }
    assert.equal(tlsFailures(await metrics(stack.gw), 'client_certificate'), before + 1);
    stack.alpha.setCertificate(stack.pki.server);
    assert.equal((await s.tool('alpha_whoami')).client, 'mcpgw-gateway');
});

test('no client certificate for a backend that requires one: down in mcpgwctl backends with the reason, logged, counted', T, async () => {
    const gw = await startGateway({ servers: [{ ...stack.servers[0], tls: { ca_file: stack.pki.caFile } }] });
    try {
        const line = await downLine(gw);
        assert.match(line, /\(backend alpha: TLS client certificate required by the backend: .*alert certificate required/, line);
        const status = await gw.status();
        assert.match(status.backends[0].error, /TLS client certificate required by the backend/);
        assert.ok(tlsFailures(await metrics(gw), 'client_certificate_refused') >= 1);
        assert.match(gw.logs(), /level=warning .*msg="TLS client certificate required by the backend" backend=alpha reason=client_certificate_refused/);
        const s = await initializeSession(gw.url);
        const tools = (await s.call('tools/list')).tools.map((t) => t.name);
        assert.deepEqual(tools, [], 'no tool of a backend never reached');
    } finally {
        await gw.stop();
    }
});

test('a certificate for another name is refused; with tls.server_name (after a reload) it works, Host is that name', T, async () => {
    const other = await startHttpsBackend({ name: 'other', certificate: stack.pki.otherName, clientCaFile: stack.pki.caFile });
    try {
        const server = { name: 'alpha', url: other.url, prefix: 'alpha_', health_interval: 0, tls: { ...stack.mtls, ca_file: stack.pki.caFile } };
        const gw = await startGateway({ servers: [server] });
        try {
            const line = await downLine(gw);
            assert.match(line, /\(backend alpha: TLS certificate verify failed: .*no alternative certificate subject name matches target host name '127\.0\.0\.1'/, line);
            assert.ok(tlsFailures(await metrics(gw), 'verify') >= 1);

            // the same url, verified against backend.test: a reload restarts alpha's worker
            const cfg = gatewayConfig(gw.dir, { servers: [{ ...server, tls: { ...server.tls, server_name: 'backend.test' } }] });
            fs.writeFileSync(gw.configFile, toYaml(cfg));
            const r = await gw.ctl(['reload']);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            const s = await initializeSession(gw.url);
            const who = await waitFor(async () => {
                const x = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
                return x.response?.result ? toolJson(x.response.result) : null;
            }, { what: 'alpha served through server_name', timeoutMs: 15000 });
            assert.equal(who.backend, 'other');
            assert.equal(who.host, `backend.test:${other.port}`);
            assert.equal(who.client, 'mcpgw-gateway');
        } finally {
            await gw.stop();
        }
    } finally {
        await other.stop();
    }
});

test('verify: false against an untrusted certificate works, and is warned about at load', T, async () => {
    const untrusted = await startHttpsBackend({ name: 'untrusted', certificate: stack.pki.untrusted, clientCaFile: stack.pki.caFile });
    try {
        const tls = { client_certificate: stack.pki.client.cert, client_key: stack.pki.client.key, verify: false };
        const gw = await startGateway({ servers: [{ name: 'alpha', url: untrusted.hostUrl('localhost'), prefix: 'alpha_', tls }] });
        try {
            assert.match(gw.logs(), /level=warning .*msg="servers\[0\]\.tls\.verify is false: the backend's certificate and name are not checked[^"]*" backend=alpha/);
            const s = await waitFor(async () => {
                const x = await initializeSession(gw.url);
                return (await x.call('tools/list')).tools.length > 0 ? x : null;
            }, { what: "alpha's tools", timeoutMs: 15000 });
            assert.equal((await s.tool('alpha_whoami')).backend, 'untrusted');
        } finally {
            await gw.stop();
        }
    } finally {
        await untrusted.stop();
    }
});

/** Writes a config of one server and runs the broker on it (not -t: it must refuse to start). */
async function brokerRefuses(server) {
    const d = makeTempDir('mcpgw-upstream-tls-check-');
    try {
        const cfg = gatewayConfig(d, { servers: [server] });
        const file = path.join(d, 'mcpgw.yaml');
        fs.writeFileSync(file, toYaml(cfg));
        const r = await runBroker(['-c', file]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        return r.stderr;
    } finally {
        fs.rmSync(d, { recursive: true, force: true });
    }
}

test('the broker refuses to start on a tls block with an http:// url, naming the key', T, async () => {
    const err = await brokerRefuses({ name: 'alpha', url: 'http://127.0.0.1:1/mcp', prefix: 'alpha_', tls: { ca_file: stack.pki.caFile } });
    assert.match(err, /mcpgw\.yaml:\d+: servers\[0\]\.tls: needs an https:\/\/ url \(url is http:\/\/127\.0\.0\.1:1\/mcp\)/, err);
});

test('the broker refuses a client key others can read, and a CA file that does not load, naming them', T, async () => {
    const open = path.join(dir, 'open-client.key');
    fs.copyFileSync(stack.pki.client.key, open);
    fs.chmodSync(open, 0o644);
    const tls = { client_certificate: stack.pki.client.cert, client_key: open };
    let err = await brokerRefuses({ name: 'alpha', url: 'https://127.0.0.1:1/mcp', prefix: 'alpha_', tls });
    assert.ok(err.includes(`servers[0].tls.client_key: ${open}: readable by others (mode 0644)`), err);

    const bad = path.join(dir, 'not-a-ca.pem');
    fs.writeFileSync(bad, 'not a certificate\n');
    err = await brokerRefuses({ name: 'alpha', url: 'https://127.0.0.1:1/mcp', prefix: 'alpha_', tls: { ca_file: bad } });
    assert.ok(err.includes(`servers[0].tls.ca_file: ${bad}: `), err);
    const r = await runBroker(['-t', '-c', stack.gw.configFile]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
});
