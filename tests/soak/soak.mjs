// tests/soak/soak.mjs: the soak run behind tests/soak/run (which builds and sets MCPGW_BUILD_DIR).
// Mixed MCP traffic through a gateway for --duration seconds while a worker is SIGKILLed every
// --kill-every seconds, then checks: every request ended with a result or a JSON-RPC error and
// only requests in flight at a kill failed, every session still answers tools/call, the gateway's
// memory is flat, nothing else crashed. Prints a summary; exit 0 all held, 1 a property failed,
// 2 usage, 3 the stack could not be set up.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import {
    BUILD_DIR, REPO_DIR, TESTS_DIR, initializeBody, initializeSession, rawPost, run, sleep, startBackend,
    startEverything, startGateway, stopAll,
} from '../lib/index.mjs';

const USAGE = `usage: tests/soak/run [options]
  --duration S        seconds of traffic (default 300)
  --kill-every S      SIGKILL one worker every S seconds, backends in turn (default 30; 0: none)
  --clients N         client sessions sending one request at a time (default 8)
  --rate R            requests/s over all clients, at most (default 200; 0: as fast as they go)
  --sample-every S    RSS sample period (default 10)
  --grace-ms MS       a request failed by a kill must end within MS of it (default 2000)
  --rss-bound-pct P   memory: last third's mean may exceed the middle third's by P % ...
  --rss-bound-mib M   ... or by M MiB, whichever is larger (defaults 1 and 0.25)
  --no-everything     leave out the server-everything backend
  --no-churn          no initialize/DELETE churn (to tell its memory cost from the rest)
  --seed N            seed of the request mix (default 1)
  --out DIR           results directory (default $MCPGW_BUILD_DIR/soak)
  --record            also write docs/SOAK.md and docs/soak.png
`;

function parseArgs(argv) {
    const o = {
        duration: 300, killEvery: 30, clients: 8, rate: 200, sampleEvery: 10, graceMs: 2000,
        rssBoundPct: 1, rssBoundMiB: 0.25, everything: true, churn: true, seed: 1, out: path.join(BUILD_DIR, 'soak'),
        record: false,
    };
    const num = { '--duration': 'duration', '--kill-every': 'killEvery', '--clients': 'clients', '--rate': 'rate',
        '--sample-every': 'sampleEvery', '--grace-ms': 'graceMs', '--rss-bound-pct': 'rssBoundPct',
        '--rss-bound-mib': 'rssBoundMiB', '--seed': 'seed' };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '-h' || a === '--help') {
            process.stdout.write(USAGE);
            process.exit(0);
        } else if (a === '--no-everything') {
            o.everything = false;
        } else if (a === '--no-churn') {
            o.churn = false;
        } else if (a === '--record') {
            o.record = true;
        } else if (a === '--out' && i + 1 < argv.length) {
            o.out = path.resolve(argv[++i]);
        } else if (num[a] && i + 1 < argv.length && /^\d+(\.\d+)?$/.test(argv[i + 1])) {
            o[num[a]] = Number(argv[++i]);
        } else {
            process.stderr.write(`soak: bad argument ${a}\n${USAGE}`);
            process.exit(2);
        }
    }
    if (o.duration < 10 || o.clients < 1 || o.sampleEvery <= 0 || (o.killEvery > 0 && o.killEvery < 2)) {
        process.stderr.write(`soak: need --duration >= 10, --clients >= 1, --sample-every > 0, --kill-every 0 or >= 2\n`);
        process.exit(2);
    }
    return o;
}

const opts = parseArgs(process.argv.slice(2));
const REQUEST_TIMEOUT_MS = 15000; // backends get timeout 10s in the config: nothing may take longer
const MiB = 1024 * 1024;

// ---- small helpers ----

function mulberry32(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const mean = (xs) => {
    const v = xs.filter(Number.isFinite);
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
};
function quantile(xs, q) {
    if (!xs.length) {
        return NaN;
    }
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
/** Least-squares slope of [x, y] points. */
function slope(pts) {
    const mx = mean(pts.map((p) => p[0]));
    const my = mean(pts.map((p) => p[1]));
    const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
    return sxx ? pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / sxx : NaN;
}
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const tsvNum = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'NaN'); // gnuplot skips NaN points
const mib = (kb) => kb / 1024;

function rssKiB(pid) {
    try {
        const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) : null;
    } catch {
        return null;
    }
}

function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

// ---- the stack ----

const BACKENDS = [
    // name, prefix, a cheap call whose answer proves the backend answered through its worker
    { name: 'alpha', kind: 'C test backend, JSON answers', probe: { name: 'alpha_whoami', arguments: {} } },
    { name: 'beta', kind: 'C test backend, SSE answers', probe: { name: 'beta_whoami', arguments: {} } },
    { name: 'ev', kind: '@modelcontextprotocol/server-everything', probe: { name: 'ev_echo', arguments: { message: 'probe' } } },
];

let T0 = 0; // performance.now() at traffic start; times below are ms since then
const now = () => performance.now() - T0;

async function setup() {
    const evMain = path.join(TESTS_DIR, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
    if (opts.everything && !fs.existsSync(evMain)) {
        console.log(`note: ${evMain} missing (npm ci in tests/): running without server-everything`);
        opts.everything = false;
    }
    const backends = BACKENDS.filter((b) => opts.everything || b.name !== 'ev');
    const started = await Promise.all(backends.map((b) => {
        if (b.name === 'alpha') {
            return startBackend({ name: 'alpha' });
        }
        if (b.name === 'beta') {
            return startBackend({ name: 'beta', sse: true });
        }
        return startEverything({ label: 'server-everything' });
    }));
    const gw = await startGateway({
        routers: 2,
        servers: backends.map((b, i) => ({ name: b.name, url: started[i].url, prefix: `${b.name}_`, timeout: '10s' })),
    });
    return { gw, backends, procs: started };
}

// ---- one request, timed and judged ----

/** Every request of the run: {op, backend, t0, t1, outcome, detail}. */
const records = [];

async function post(url, body, headers) {
    return rawPost(url, body, headers, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

function sessionHeaders(s) {
    return { 'Mcp-Session-Id': s.sessionId, 'MCP-Protocol-Version': s.protocolVersion };
}

let nextId = 1;

/**
 * Sends one JSON-RPC request on session `s` and records it. `check(result)` returns null when the
 * result is right, else why not. `backend` is the worker the request goes through ('gateway' when
 * no worker is involved). Resolves with the record.
 */
async function rpc(list, s, op, backend, method, params, check) {
    const id = nextId++;
    const msg = { jsonrpc: '2.0', id, method };
    if (params !== undefined) {
        msg.params = params;
    }
    const rec = { op, backend, t0: now(), t1: 0, outcome: 'ok', detail: '' };
    try {
        const r = await post(s.url, msg, sessionHeaders(s));
        const resp = r.messages.find((m) => m && m.id === id && ('result' in m || 'error' in m));
        if (!resp) {
            rec.outcome = 'http-error';
            rec.detail = `HTTP ${r.status}: ${r.text.slice(0, 200)}`;
        } else if (resp.error) {
            rec.outcome = 'rpc-error';
            rec.detail = `HTTP ${r.status} ${resp.error.code} ${resp.error.message}`;
        } else {
            const why = check ? check(resp.result, r) : null;
            if (why) {
                rec.outcome = 'wrong';
                rec.detail = why;
            }
        }
    } catch (err) {
        rec.outcome = err.name === 'TimeoutError' ? 'timeout' : 'exception';
        rec.detail = String(err.cause ? `${err.message}: ${err.cause.message || err.cause}` : err.message);
    }
    rec.t1 = now();
    list.push(rec);
    return rec;
}

function toolJsonOf(result) {
    const c = result && Array.isArray(result.content) ? result.content.find((x) => x && x.type === 'text') : null;
    if (!c) {
        return null;
    }
    try {
        return JSON.parse(c.text);
    } catch {
        return c.text;
    }
}

function checkTool(backend, tool, extra = () => null) {
    return (result) => {
        const j = toolJsonOf(result);
        if (!j || typeof j !== 'object') {
            return `not a test-backend tool result: ${JSON.stringify(result).slice(0, 200)}`;
        }
        if (j.backend !== backend || j.tool !== tool) {
            return `answered by ${j.backend}/${j.tool}, want ${backend}/${tool}`;
        }
        return extra(j);
    };
}

function checkEvText(want) {
    return (result) => {
        const c = result && Array.isArray(result.content) ? result.content.find((x) => x && x.type === 'text') : null;
        return c && c.text.includes(want) ? null : `want text containing ${JSON.stringify(want)}: ${JSON.stringify(result).slice(0, 200)}`;
    };
}

// ---- the traffic mix ----

function buildMix(hasEv) {
    const mix = [
        // [weight, name, fn(client, rand)]
        [18, 'call alpha echo (JSON)', (c, rnd) => {
            const text = `a${Math.floor(rnd() * 1e9)} "q" é`;
            return rpc(records, c.s, 'tools/call alpha_echo', 'alpha', 'tools/call', { name: 'alpha_echo', arguments: { text } },
                checkTool('alpha', 'echo', (j) => (j.text === text ? null : `echo gave ${JSON.stringify(j.text)}`)));
        }],
        [18, 'call beta echo (SSE)', (c, rnd) => {
            const text = `b${Math.floor(rnd() * 1e9)}`;
            return rpc(records, c.s, 'tools/call beta_echo', 'beta', 'tools/call', { name: 'beta_echo', arguments: { text } },
                checkTool('beta', 'echo', (j) => (j.text === text ? null : `echo gave ${JSON.stringify(j.text)}`)));
        }],
        [5, 'call alpha slow', (c, rnd) => {
            const ms = 50 + Math.floor(rnd() * 350);
            return rpc(records, c.s, 'tools/call alpha_slow', 'alpha', 'tools/call', { name: 'alpha_slow', arguments: { ms } },
                checkTool('alpha', 'slow', (j) => (j.ms === ms ? null : `slow gave ms=${j.ms}`)));
        }],
        [5, 'call beta slow with progress', (c, rnd) => {
            const ms = 50 + Math.floor(rnd() * 350);
            const token = `p${nextId}`;
            return rpc(records, c.s, 'tools/call beta_slow+progress', 'beta', 'tools/call',
                { name: 'beta_slow', arguments: { ms, steps: 3 }, _meta: { progressToken: token } },
                (result, r) => {
                    const why = checkTool('beta', 'slow')(result);
                    if (why) {
                        return why;
                    }
                    const progress = r.messages.filter((m) => m && m.method === 'notifications/progress' && m.params && m.params.progressToken === token);
                    return progress.length === 3 ? null : `${progress.length} progress notifications, want 3`;
                });
        }],
        [6, 'call alpha/beta add', (c, rnd) => {
            const b = rnd() < 0.5 ? 'alpha' : 'beta';
            const x = Math.floor(rnd() * 1e6);
            const y = Math.floor(rnd() * 1e6);
            return rpc(records, c.s, `tools/call ${b}_add`, b, 'tools/call', { name: `${b}_add`, arguments: { a: x, b: y } },
                checkTool(b, 'add', (j) => (j.sum === x + y ? null : `sum ${j.sum}, want ${x + y}`)));
        }],
        [8, 'tools/list', (c) => rpc(records, c.s, 'tools/list', 'gateway', 'tools/list', undefined, (result) => {
            const names = new Set((result.tools || []).map((t) => t.name));
            const want = ['alpha_echo', 'beta_echo', ...(hasEv ? ['ev_echo'] : [])];
            const missing = want.filter((n) => !names.has(n));
            return missing.length ? `tools/list lacks ${missing.join(', ')} (${names.size} tools)` : null;
        })],
        [6, 'ping', (c) => rpc(records, c.s, 'ping', 'gateway', 'ping', undefined,
            (result) => (result && typeof result === 'object' && Object.keys(result).length === 0 ? null : `ping gave ${JSON.stringify(result)}`))],
    ];
    if (opts.churn) {
        mix.push([3, 'session churn', (c, rnd) => churn(c, rnd, hasEv)]);
    }
    if (hasEv) {
        mix.push(
            [8, 'call ev echo', (c, rnd) => {
                const message = `e${Math.floor(rnd() * 1e9)}`;
                return rpc(records, c.s, 'tools/call ev_echo', 'ev', 'tools/call', { name: 'ev_echo', arguments: { message } }, checkEvText(message));
            }],
            [3, 'call ev get-sum', (c, rnd) => {
                const x = Math.floor(rnd() * 1000);
                const y = Math.floor(rnd() * 1000);
                return rpc(records, c.s, 'tools/call ev_get-sum', 'ev', 'tools/call', { name: 'ev_get-sum', arguments: { a: x, b: y } }, checkEvText(String(x + y)));
            }],
            [4, 'prompts/list', (c) => rpc(records, c.s, 'prompts/list', 'gateway', 'prompts/list', undefined, (result) => {
                const names = (result.prompts || []).map((p) => p.name);
                return names.includes('ev_simple-prompt') ? null : `prompts/list lacks ev_simple-prompt: ${names.join(', ')}`;
            })],
            [4, 'resources/read', (c, rnd) => {
                const uri = c.resourceUris[Math.floor(rnd() * c.resourceUris.length)];
                return rpc(records, c.s, 'resources/read', 'ev', 'resources/read', { uri }, (result) => {
                    const got = result && Array.isArray(result.contents) && result.contents[0] ? result.contents[0].uri : undefined;
                    return got === uri ? null : `read ${uri} gave ${JSON.stringify(result).slice(0, 200)}`;
                });
            }],
        );
    }
    const total = mix.reduce((s, m) => s + m[0], 0);
    return {
        entries: mix,
        pick(rnd) {
            let x = rnd() * total;
            for (const m of mix) {
                x -= m[0];
                if (x < 0) {
                    return m;
                }
            }
            return mix[mix.length - 1];
        },
    };
}

/** A short-lived session: initialize, initialized, one call, DELETE, then the id must be gone (404). */
async function churn(c, rnd, hasEv) {
    const url = c.s.url;
    const rec = { op: 'initialize (churn)', backend: 'gateway', t0: now(), t1: 0, outcome: 'ok', detail: '' };
    let s = null;
    try {
        const body = initializeBody();
        const r = await post(url, body, {});
        const resp = r.messages.find((m) => m && m.id === body.id);
        if (resp && resp.error) {
            rec.outcome = 'rpc-error';
            rec.detail = `HTTP ${r.status} ${resp.error.code} ${resp.error.message}`;
        } else if (r.status !== 200 || !resp || !resp.result || !r.headers['mcp-session-id']) {
            rec.outcome = 'http-error';
            rec.detail = `HTTP ${r.status}: ${r.text.slice(0, 200)}`;
        } else {
            s = { url, sessionId: r.headers['mcp-session-id'], protocolVersion: resp.result.protocolVersion };
        }
    } catch (err) {
        rec.outcome = err.name === 'TimeoutError' ? 'timeout' : 'exception';
        rec.detail = err.message;
    }
    rec.t1 = now();
    records.push(rec);
    if (!s) {
        return;
    }
    await expectStatus(s, 'notifications/initialized (churn)', () => post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionHeaders(s)), 202);
    const choices = hasEv ? ['alpha', 'beta', 'ev'] : ['alpha', 'beta'];
    const b = choices[Math.floor(rnd() * choices.length)];
    if (b === 'ev') {
        await rpc(records, s, 'tools/call ev_echo (churn)', 'ev', 'tools/call', { name: 'ev_echo', arguments: { message: 'churn' } }, checkEvText('churn'));
    } else {
        await rpc(records, s, `tools/call ${b}_whoami (churn)`, b, 'tools/call', { name: `${b}_whoami`, arguments: {} }, checkTool(b, 'whoami'));
    }
    await expectStatus(s, 'DELETE (churn)', async () => {
        const res = await fetch(url, { method: 'DELETE', headers: sessionHeaders(s), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        return { status: res.status, text: await res.text() };
    }, 200);
    await expectStatus(s, 'ping after DELETE (churn, want 404)', () => post(url, { jsonrpc: '2.0', id: nextId++, method: 'ping' }, sessionHeaders(s)), 404);
}

/** Records one exchange whose right answer is the HTTP status `want` (notifications, DELETE). */
async function expectStatus(s, op, fn, want) {
    const rec = { op, backend: 'gateway', t0: now(), t1: 0, outcome: 'ok', detail: '' };
    try {
        const r = await fn();
        if (r.status !== want) {
            rec.outcome = 'wrong';
            rec.detail = `HTTP ${r.status}, want ${want}: ${String(r.text).slice(0, 200)}`;
        }
    } catch (err) {
        rec.outcome = err.name === 'TimeoutError' ? 'timeout' : 'exception';
        rec.detail = err.message;
    }
    rec.t1 = now();
    records.push(rec);
}

// ---- kills, restarts, memory ----

async function statusOf(gw) {
    const r = await gw.ctl(['status', '--json'], { timeoutMs: 5000 });
    if (r.code !== 0) {
        throw new Error(`mcpgwctl status --json exited ${r.code}: ${r.stderr}`);
    }
    return JSON.parse(r.stdout);
}

/** Wall-clock ms of a gateway log line (logfmt ts=… or json "ts":"…"). */
function lineTime(line) {
    const m = /\bts"?[=:]"?(\d{4}-\d\d-\d\dT[0-9:.]+Z)/.exec(line);
    return m ? Date.parse(m[1]) : NaN;
}

/**
 * Kills the worker of `backend` and measures: when the gateway noticed (the last router's "peer
 * went away" line, else the broker's "child died"), when a new worker process was running, and
 * when a call through it answered again.
 */
async function killWorker(gw, backend, probeSession) {
    const st = await statusOf(gw);
    const w = st.processes.find((p) => p.role === 'worker' && p.name === `worker.${backend.name}`);
    if (!w) {
        throw new Error(`no worker.${backend.name} in mcpgwctl status`);
    }
    const k = { backend: backend.name, pid: w.pid, t: now(), wall: Date.now(), noticed: NaN, procBack: NaN, answers: NaN, newPid: null, probeFailures: 0 };
    process.kill(w.pid, 'SIGKILL');
    const deadline = k.t + 10000;
    const procBack = (async () => {
        while (now() < deadline) {
            try {
                const s = await statusOf(gw);
                const again = s.processes.find((p) => p.name === w.name);
                if (again && again.pid !== w.pid && again.state === 'running') {
                    k.procBack = now() - k.t;
                    k.newPid = again.pid;
                    return;
                }
            } catch {
                /* the control socket is busy or the broker is restarting it: poll again */
            }
            await sleep(25);
        }
    })();
    const answers = (async () => {
        const probes = [];
        while (now() < deadline) {
            const r = await rpc(probes, probeSession, 'probe', backend.name, 'tools/call', backend.probe, null);
            if (r.outcome === 'ok') {
                k.answers = r.t1 - k.t;
                break;
            }
            k.probeFailures++;
            await sleep(10);
        }
    })();
    await Promise.all([procBack, answers]);
    k.gone = !alive(w.pid);
    return k;
}

/** After the run: when each kill was noticed, from the gateway log. */
function fillNoticed(gw, kills) {
    const lines = gw.logLines();
    for (const k of kills) {
        const peer = new RegExp(`peer"?[=:]"?worker-${k.backend}\\b`);
        let last = NaN;
        for (const l of lines) {
            if (!/went away/.test(l) || !peer.test(l) || !/\bproc"?[=:]"?router/.test(l)) {
                continue;
            }
            const t = lineTime(l);
            if (t >= k.wall - 5 && t <= k.wall + 5000 && !(t <= last)) {
                last = t;
            }
        }
        if (Number.isNaN(last)) {
            for (const l of lines) {
                if (/child died/.test(l) && new RegExp(`child"?[=:]"?worker\\.${k.backend}\\b`).test(l)) {
                    const t = lineTime(l);
                    if (t >= k.wall - 5 && t <= k.wall + 5000) {
                        last = t;
                        break;
                    }
                }
            }
        }
        // The log has millisecond timestamps: +1 ms so that a request sent in the same ms counts.
        k.noticed = Number.isNaN(last) ? 0 : Math.max(0, last - k.wall + 1);
        // The broker's "spawned child=worker.X" after the kill: the supervisor's restart time.
        k.respawned = NaN;
        for (const l of lines) {
            if (/msg"?[=:]"?spawned\b/.test(l) && new RegExp(`child"?[=:]"?worker\\.${k.backend}\\b`).test(l)) {
                const t = lineTime(l);
                if (t >= k.wall - 5 && t <= k.wall + 10000) {
                    k.respawned = Math.max(0, t - k.wall);
                    break;
                }
            }
        }
    }
}

/**
 * RSS (KiB) summed over the processes of `role` in a sample; NaN when one of them could not be
 * read (it had just died), so that a half-restarted role does not count as a dip.
 */
function roleSum(smp, role) {
    const ps = smp.procs.filter((p) => p.role === role);
    return ps.some((p) => p.kib == null) ? NaN : ps.reduce((s, p) => s + p.kib, 0);
}

function sampleMemory(st, t) {
    const procs = st.processes.map((p) => ({ name: p.name, role: p.role, pid: p.pid, kib: rssKiB(p.pid) }));
    return { t, sessions: st.sessions, procs };
}

// ---- the run ----

async function main() {
    fs.mkdirSync(opts.out, { recursive: true });
    let stack;
    try {
        stack = await setup();
    } catch (err) {
        console.error(`soak: could not start the gateway and backends: ${err.message}`);
        await stopAll();
        process.exit(3);
    }
    const { gw, backends } = stack;
    const hasEv = backends.some((b) => b.name === 'ev');
    const brokerPid = gw.proc.pid;
    const mix = buildMix(hasEv);

    const setupFailures = [];
    const clients = [];
    for (let i = 0; i < opts.clients; i++) {
        clients.push({ i, s: await initializeSession(gw.url), rnd: mulberry32(opts.seed * 1000 + i), resourceUris: [] });
    }
    const probeSession = await initializeSession(gw.url);
    if (hasEv) {
        const r = await post(gw.url, { jsonrpc: '2.0', id: nextId++, method: 'resources/list' }, sessionHeaders(clients[0].s));
        const result = r.messages[0] && r.messages[0].result;
        const uris = ((result && result.resources) || []).map((x) => x.uri).filter((u) => u.startsWith('demo://resource/static/'));
        if (!uris.length) {
            setupFailures.push(`resources/list gave no demo://resource/static/ URIs: HTTP ${r.status} ${r.text.slice(0, 200)}`);
        }
        for (const c of clients) {
            c.resourceUris = uris.length ? uris : ['demo://resource/static/document/architecture.md'];
        }
    }
    // Warm-up: every client's upstream sessions exist before the clock starts.
    for (const c of clients) {
        for (const b of backends) {
            const r = await rpc([], c.s, 'warm-up', b.name, 'tools/call', b.probe, null);
            if (r.outcome !== 'ok') {
                setupFailures.push(`warm-up ${b.name}: ${r.outcome} ${r.detail}`);
            }
        }
    }
    if (setupFailures.length) {
        console.error(`soak: the stack does not work before any kill:\n  ${setupFailures.join('\n  ')}`);
        await stopAll();
        process.exit(3);
    }

    const durationMs = opts.duration * 1000;
    T0 = performance.now();
    console.log(`soak: ${opts.duration}s, ${opts.clients} clients, rate ${opts.rate || 'unlimited'} req/s, ` +
        `kill every ${opts.killEvery || '–'}s, backends ${backends.map((b) => b.name).join(', ')}; gateway ${gw.url}`);

    // clients
    const interval = opts.rate > 0 ? (opts.clients * 1000) / opts.rate : 0;
    const clientLoops = clients.map(async (c) => {
        let next = now() + c.rnd() * interval;
        while (now() < durationMs) {
            if (interval) {
                const wait = next - now();
                if (wait > 0) {
                    await sleep(wait);
                }
                next = Math.max(next + interval, now());
                if (now() >= durationMs) {
                    break;
                }
            }
            const m = mix.pick(c.rnd);
            await m[2](c, c.rnd);
        }
    });

    // memory samples
    const samples = [];
    const sampler = (async () => {
        // At 0, then half a period off the kill schedule, so that no sample lands on a kill.
        for (let k = 0; (k ? k - 0.5 : 0) * opts.sampleEvery * 1000 <= durationMs; k++) {
            const at = (k ? k - 0.5 : 0) * opts.sampleEvery * 1000;
            if (at > now()) {
                await sleep(at - now());
            }
            try {
                samples.push(sampleMemory(await statusOf(gw), now()));
            } catch (err) {
                console.log(`note: memory sample at ${fmt(at / 1000, 0)}s failed: ${err.message}`);
            }
        }
    })();

    // kills
    const kills = [];
    const killer = (async () => {
        if (!opts.killEvery) {
            return;
        }
        for (let k = 1; k * opts.killEvery * 1000 <= durationMs - 5000; k++) {
            const at = k * opts.killEvery * 1000;
            await sleep(Math.max(0, at - now()));
            const b = backends[(k - 1) % backends.length];
            try {
                const kr = await killWorker(gw, b, probeSession);
                kills.push(kr);
                console.log(`  ${fmt(kr.t / 1000, 1)}s: killed worker.${b.name} pid ${kr.pid}: new pid ${kr.newPid ?? 'none'} ` +
                    `running after ${fmt(kr.procBack, 0)} ms, ${b.name} answering after ${fmt(kr.answers, 0)} ms`);
            } catch (err) {
                kills.push({ backend: b.name, t: now(), wall: Date.now(), error: err.message, procBack: NaN, answers: NaN });
                console.log(`  kill of worker.${b.name} failed: ${err.message}`);
            }
        }
    })();

    // progress line every 30 s
    const progress = setInterval(() => {
        const done = records.length;
        const bad = records.filter((r) => r.outcome !== 'ok').length;
        console.log(`  ${fmt(now() / 1000, 0)}s: ${done} requests, ${bad} not ok`);
    }, 30000);
    await Promise.all([...clientLoops, sampler, killer]);
    clearInterval(progress);
    const trafficEnd = now();

    // ---- after the run ----
    fillNoticed(gw, kills);
    const failures = [];

    // 1. Every request accounted for.
    const killable = new Set(backends.map((b) => b.name));
    for (const r of records) {
        if (r.outcome === 'ok') {
            r.class = 'ok';
            continue;
        }
        if (r.outcome === 'wrong') {
            r.class = 'wrong';
            continue;
        }
        const k = r.outcome === 'rpc-error' && killable.has(r.backend)
            ? kills.find((x) => x.backend === r.backend && r.t0 < x.t + x.noticed && r.t1 >= x.t && r.t1 <= x.t + opts.graceMs)
            : undefined;
        r.class = k ? 'in-flight' : 'lost';
        if (k) {
            k.inFlightErrors = (k.inFlightErrors || 0) + 1;
        }
    }
    const count = (cls) => records.filter((r) => r.class === cls).length;
    const lost = records.filter((r) => r.class === 'lost');
    const wrong = records.filter((r) => r.class === 'wrong');
    if (lost.length) {
        failures.push(`${lost.length} requests lost (failed without being in flight at a kill)`);
    }
    if (wrong.length) {
        failures.push(`${wrong.length} wrong answers`);
    }
    const slowest = Math.max(0, ...records.map((r) => r.t1 - r.t0));

    // 2. Kills: each worker back, its backend answering.
    for (const k of kills) {
        if (k.error) {
            failures.push(`kill of worker.${k.backend} at ${fmt(k.t / 1000)}s: ${k.error}`);
        } else if (!Number.isFinite(k.procBack) || !Number.isFinite(k.answers) || !k.gone) {
            failures.push(`worker.${k.backend} killed at ${fmt(k.t / 1000)}s: ${k.gone ? '' : 'old pid still alive; '}` +
                `${Number.isFinite(k.procBack) ? '' : 'no new worker within 10 s; '}${Number.isFinite(k.answers) ? '' : 'backend not answering within 10 s'}`);
        }
    }

    // 3. Every session still usable.
    const sessionChecks = [];
    for (const [i, s] of [...clients.map((c) => c.s), probeSession].entries()) {
        for (const b of backends) {
            const r = await rpc([], s, 'final', b.name, 'tools/call', b.probe, null);
            sessionChecks.push(r.outcome === 'ok');
            if (r.outcome !== 'ok') {
                failures.push(`session ${i} (${s.sessionId.slice(0, 16)}…) no longer answers ${b.probe.name}: ${r.outcome} ${r.detail}`);
            }
        }
    }

    // 4. Nothing but the killed workers restarted; the broker is the one we started.
    const final = await statusOf(gw);
    const finalSample = sampleMemory(final, now());
    const restarts = {};
    for (const p of final.processes) {
        const want = p.role === 'worker' ? kills.filter((k) => `worker.${k.backend}` === p.name && !k.error).length : 0;
        restarts[p.name] = { restarts: p.restarts ?? 0, want };
        if ((p.restarts ?? 0) !== want) {
            failures.push(`${p.name} restarted ${p.restarts} times, ${want} expected (a crash?)`);
        }
        if (p.role === 'broker' && p.pid !== brokerPid) {
            failures.push(`the broker is pid ${p.pid}, started as ${brokerPid}`);
        }
    }
    for (const b of final.backends || []) {
        if (b.state !== 'up') {
            failures.push(`backend ${b.name} is ${b.state} at the end`);
        }
    }

    // 5. Memory flat per role.
    const roles = ['broker', 'router', 'worker'];
    const third = (lo, hi) => samples.filter((s) => s.t >= lo * durationMs && s.t < hi * durationMs + 1);
    const mid = third(1 / 3, 2 / 3 - 1e-9);
    const last = third(2 / 3, 1);
    const memory = roles.map((role) => {
        const m = mean(mid.map((s) => roleSum(s, role)));
        const l = mean(last.map((s) => roleSum(s, role)));
        const bound = Math.max((m * opts.rssBoundPct) / 100, opts.rssBoundMiB * 1024);
        const first = samples.length ? roleSum(samples[0], role) : NaN;
        const ok = Number.isFinite(m) && Number.isFinite(l) && l - m <= bound;
        const trend = slope([...mid, ...last].map((smp) => [smp.t / 60000, roleSum(smp, role)]).filter((p) => Number.isFinite(p[1])));
        if (!ok) {
            failures.push(`memory of the ${role}${role === 'broker' ? '' : 's'} not flat: last third ${fmt(mib(l), 2)} MiB vs middle third ${fmt(mib(m), 2)} MiB (growth ${fmt(mib(l - m), 2)}, bound +${fmt(mib(bound), 2)} MiB)`);
        }
        return { role, count: final.processes.filter((p) => p.role === role).length, first, mid: m, last: l, bound, trend, ok };
    });
    if (mid.length < 2 || last.length < 2) {
        failures.push(`too few memory samples (${mid.length} in the middle third, ${last.length} in the last): run longer or sample more often`);
    }

    // 6. Sanitizers (when the build has them) and a clean stop.
    const san = gw.sanitizerReports();
    if (san.length) {
        failures.push(`sanitizer reports in the gateway log: ${san[0]}`);
    }
    const logLines = gw.logLines();
    const stopResult = await gw.stop();
    if (stopResult.code !== 0 || stopResult.signal) {
        failures.push(`the broker did not exit 0 on SIGTERM (code ${stopResult.code}, signal ${stopResult.signal})`);
    }
    await stopAll();

    // ---- figures ----
    const byOp = {};
    for (const r of records) {
        const o = (byOp[r.op] ||= { n: 0, ok: 0, inFlight: 0, lost: 0, wrong: 0, lat: [] });
        o.n++;
        o[r.class === 'in-flight' ? 'inFlight' : r.class]++;
        if (r.class === 'ok') {
            o.lat.push(r.t1 - r.t0);
        }
    }
    const okLat = records.filter((r) => r.class === 'ok').map((r) => r.t1 - r.t0);
    const bins = Math.ceil(trafficEnd / 1000);
    const perSecond = Array.from({ length: bins }, () => ({ n: 0, bad: 0 }));
    for (const r of records) {
        const b = Math.min(bins - 1, Math.floor(r.t1 / 1000));
        if (b >= 0) {
            perSecond[b].n++;
            if (r.class !== 'ok') {
                perSecond[b].bad++;
            }
        }
    }
    const fig = {
        date: new Date().toISOString(),
        command: ['tests/soak/run', ...process.argv.slice(2)].join(' '),
        machine: `${os.cpus().length} cores (${os.cpus()[0] ? os.cpus()[0].model.trim() : '?'}), ${fmt(os.totalmem() / 1024 ** 3, 1)} GiB, ${os.type()} ${os.release()} ${os.arch()}, node ${process.version}`,
        build: buildNote(),
        opts,
        backends: backends.map((b) => `${b.name} (${b.kind})`),
        requests: records.length,
        seconds: trafficEnd / 1000,
        rps: records.length / (trafficEnd / 1000),
        ok: count('ok'),
        inFlight: count('in-flight'),
        lost: lost.length,
        wrong: wrong.length,
        latency: { p50: quantile(okLat, 0.5), p99: quantile(okLat, 0.99), max: Math.max(0, ...okLat), slowestAny: slowest },
        kills,
        memory,
        sessionsUsable: `${sessionChecks.filter(Boolean).length}/${sessionChecks.length}`,
        restarts,
        failures,
    };
    await writeResults(fig, byOp, samples, finalSample, perSecond, logLines, records);
    printSummary(fig, byOp);
    if (opts.record) {
        for (const f of ['SOAK.md', 'soak.png']) {
            if (fs.existsSync(path.join(opts.out, f))) {
                fs.copyFileSync(path.join(opts.out, f), path.join(REPO_DIR, 'docs', f));
            }
        }
        console.log('wrote docs/SOAK.md and docs/soak.png');
    }
    process.exit(failures.length ? 1 : 0);
}

function buildNote() {
    try {
        const cfg = fs.readFileSync(path.join(BUILD_DIR, 'config.status'), 'utf8');
        const m = /^ac_cs_config=(.*)$/m.exec(cfg);
        const args = m ? m[1].replace(/^'|'$/g, '').replace(/'\\''/g, "'") : '';
        return `configure ${args || '(no options)'}${/sanitizers/.test(args) ? ' (sanitizer build: RSS figures include ASan shadow and quarantine)' : ''}`;
    } catch {
        return `prebuilt binaries in ${BUILD_DIR}`;
    }
}

// ---- output ----

function printSummary(fig, byOp) {
    const lines = [];
    lines.push('');
    lines.push(`requests: ${fig.requests} in ${fmt(fig.seconds, 0)} s (${fmt(fig.rps, 0)}/s); ok ${fig.ok}, failed in flight at a kill ${fig.inFlight}, lost ${fig.lost}, wrong ${fig.wrong}`);
    lines.push(`latency of ok requests: p50 ${fmt(fig.latency.p50)} ms, p99 ${fmt(fig.latency.p99)} ms, max ${fmt(fig.latency.max)} ms`);
    for (const [op, o] of Object.entries(byOp).sort()) {
        lines.push(`  ${op.padEnd(42)} ${String(o.n).padStart(7)}  ok ${String(o.ok).padStart(7)}  in-flight ${o.inFlight}  lost ${o.lost}  wrong ${o.wrong}`);
    }
    const ks = fig.kills.filter((k) => !k.error);
    lines.push(`kills: ${fig.kills.length}; gateway noticed after median ${fmt(quantile(ks.map((k) => k.noticed), 0.5), 0)} ms; ` +
        `respawned after median ${fmt(quantile(ks.map((k) => k.respawned), 0.5), 0)} ms; ` +
        `listed running after median ${fmt(quantile(ks.map((k) => k.procBack), 0.5), 0)} ms (max ${fmt(Math.max(...ks.map((k) => k.procBack)), 0)}); ` +
        `backend answering after median ${fmt(quantile(ks.map((k) => k.answers), 0.5), 0)} ms (max ${fmt(Math.max(...ks.map((k) => k.answers)), 0)})`);
    lines.push('memory (RSS, MiB; sum over the role\'s processes):');
    for (const m of fig.memory) {
        lines.push(`  ${m.role.padEnd(7)} x${m.count}  start ${fmt(mib(m.first)).padStart(6)}  middle third ${fmt(mib(m.mid)).padStart(6)}  last third ${fmt(mib(m.last)).padStart(6)}  ` +
            `growth ${fmt(mib(m.last - m.mid), 2).padStart(6)} (bound +${fmt(mib(m.bound), 2)}, trend ${fmt(m.trend, 0)} KiB/min)  ${m.ok ? 'flat' : 'NOT FLAT'}`);
    }
    lines.push(`sessions answering tools/call on every backend after the run: ${fig.sessionsUsable}`);
    lines.push(`results in ${opts.out}`);
    if (fig.failures.length) {
        lines.push(`SOAK FAILED (${fig.failures.length}):`);
        for (const f of fig.failures) {
            lines.push(`  - ${f}`);
        }
    } else {
        lines.push('SOAK PASSED: nothing lost but requests in flight at a kill, every session usable, memory flat');
    }
    console.log(lines.join('\n'));
}

async function writeResults(fig, byOp, samples, finalSample, perSecond, logLines, recs) {
    const out = opts.out;
    const base = samples.length ? samples[0] : null;
    const delta = (smp, role) => (base ? mib(roleSum(smp, role) - roleSum(base, role)) : NaN);
    fs.writeFileSync(path.join(out, 'rss.tsv'), '# t_s\tbroker_MiB\trouters_MiB\tworkers_MiB\tsessions\tbroker_delta\trouters_delta\tworkers_delta\n' +
        samples.map((s) => [fmt(s.t / 1000, 1), tsvNum(mib(roleSum(s, 'broker'))), tsvNum(mib(roleSum(s, 'router'))),
            tsvNum(mib(roleSum(s, 'worker'))), s.sessions, tsvNum(delta(s, 'broker')), tsvNum(delta(s, 'router')),
            tsvNum(delta(s, 'worker'))].join('\t')).join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'rss-by-process.tsv'), '# t_s\tname\tpid\tRSS_KiB\n' +
        [...samples, finalSample].flatMap((s) => s.procs.map((p) => [fmt(s.t / 1000, 1), p.name, p.pid, p.kib].join('\t'))).join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'rate.tsv'), '# t_s\trequests\tnot_ok\n' +
        perSecond.map((b, i) => `${i + 0.5}\t${b.n}\t${b.bad}`).join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'kills.tsv'), '# t_s\tbackend\tpid\tnoticed_ms\trespawned_ms\tlisted_running_ms\tanswers_ms\tin_flight_errors\n' +
        fig.kills.map((k) => [fmt(k.t / 1000, 2), k.backend, k.pid, fmt(k.noticed, 0), fmt(k.respawned, 0), fmt(k.procBack, 0), fmt(k.answers, 0), k.inFlightErrors || 0].join('\t')).join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'not-ok.jsonl'), recs.filter((r) => r.class !== 'ok').map((r) => JSON.stringify(r)).join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'gateway.log'), logLines.join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify({ ...fig, byOp: Object.fromEntries(Object.entries(byOp).map(([k, v]) => [k, { ...v, lat: undefined, p50: quantile(v.lat, 0.5), p99: quantile(v.lat, 0.99) }])) }, null, 1) + '\n');
    const plotted = await plot(out, fig);
    fs.writeFileSync(path.join(out, 'SOAK.md'), markdown(fig, byOp, plotted));
}

function plot(out, fig) {
    const killLines = fig.kills.filter((k) => !k.error).map((k, i) =>
        `set arrow ${i + 1} from ${fmt(k.t / 1000, 2)}, graph 0 to ${fmt(k.t / 1000, 2)}, graph 1 nohead linecolor rgb "#cc0000"`).join('\n');
    const script = `set terminal png size 900,900
set output "${path.join(out, 'soak.png')}"
set multiplot layout 3,1 title "mcpgw soak: ${fig.opts.duration}s, ${fig.opts.clients} clients, a worker SIGKILLed every ${fig.opts.killEvery}s (red lines)"
set grid
set key outside right
set lmargin at screen 0.08
set rmargin at screen 0.72
set xrange [0:${fig.opts.duration}]
${killLines}
set ylabel "RSS (MiB)"
set yrange [0:*]
plot "${path.join(out, 'rss.tsv')}" using 1:2 with linespoints title "broker", \\
     "" using 1:3 with linespoints title "routers (sum)", \\
     "" using 1:4 with linespoints title "workers (sum)"
set ylabel "RSS change since start (MiB)"
set yrange [*:*]
plot "${path.join(out, 'rss.tsv')}" using 1:6 with linespoints title "broker", \\
     "" using 1:7 with linespoints title "routers (sum)", \\
     "" using 1:8 with linespoints title "workers (sum)"
set ylabel "requests/s"
set yrange [0:*]
set xlabel "seconds"
set y2label "requests not ok"
set y2range [0:*]
set y2tics
plot "${path.join(out, 'rate.tsv')}" using 1:2 with lines title "completed", \\
     "" using 1:3 axes x1y2 with impulses linewidth 3 title "not ok (right axis)"
unset multiplot
`;
    fs.writeFileSync(path.join(out, 'soak.gp'), script);
    return run('gnuplot', [path.join(out, 'soak.gp')], { timeoutMs: 30000 }).then((r) => {
        if (r.code !== 0) {
            console.log(`note: gnuplot failed (${r.code}): ${r.stderr.slice(0, 300)}`);
        }
        return r.code === 0;
    }, (err) => {
        console.log(`note: no plot (${err.message}); tests/soak/run installs gnuplot-nox when run as root`);
        return false;
    });
}

/** The hand-written "## Notes" section of docs/SOAK.md (to the end of the file), kept across runs. */
function keptNotes() {
    try {
        const text = fs.readFileSync(path.join(REPO_DIR, 'docs', 'SOAK.md'), 'utf8');
        const at = text.search(/^## Notes$/m);
        return at >= 0 ? `\n${text.slice(at).trimEnd()}\n` : '';
    } catch {
        return '';
    }
}

function markdown(fig, byOp, plotted) {
    const ks = fig.kills.filter((k) => !k.error);
    const med = (xs) => fmt(quantile(xs, 0.5), 0);
    const max = (xs) => fmt(Math.max(...xs), 0);
    const L = [];
    L.push('# Soak');
    L.push('');
    L.push('Issue 4, item 8: mixed traffic through the gateway for minutes while a worker is killed with');
    L.push('SIGKILL at a fixed period; nothing may be lost but the requests in flight at a kill, every');
    L.push('session must still work afterwards and the memory of every process role must stay flat.');
    L.push('Generated by `tests/soak/run --record`; re-run it to refresh this page (the Notes section at');
    L.push('the end is written by hand and kept).');
    L.push('');
    L.push(`- Date: ${fig.date.slice(0, 10)} (${fig.date})`);
    L.push(`- Command: \`${fig.command}\``);
    L.push(`- Machine: ${fig.machine}.`);
    L.push('  A **shared** box: other engineers\' builds and tests ran on the same cores, so throughput and');
    L.push('  latency are only indicative; the properties are what counts.');
    L.push(`- Build: ${fig.build}`);
    L.push(`- Gateway: 2 routers, one worker per backend; backends ${fig.backends.join(', ')}; backend timeout 10s.`);
    L.push(`- Traffic: ${fig.opts.clients} client sessions, each one request at a time, at most ${fig.opts.rate || 'unlimited'} requests/s in all (seed ${fig.opts.seed}): tools/call`);
    L.push('  (JSON and SSE backends, slow calls, progress notifications), tools/list, prompts/list,');
    L.push('  resources/read, ping, and session churn (initialize, initialized, a call, DELETE, then a');
    L.push('  request on the deleted id must get 404).');
    L.push(`- Kills: every ${fig.opts.killEvery}s one worker (backends in turn) gets SIGKILL; a probe session calls that backend`);
    L.push('  until it answers again.');
    L.push('');
    L.push('## Properties');
    L.push('');
    L.push('| property | rule | result |');
    L.push('| --- | --- | --- |');
    L.push(`| nothing lost | every request ends with a result or a JSON-RPC error; a failed one must be a call through the killed worker that started before the gateway noticed the kill and ended within ${fig.opts.graceMs} ms of it | ${fig.lost === 0 ? 'held' : `**FAILED**: ${fig.lost} lost`} |`);
    L.push(`| right answers | every result checked against what was sent (echo text, sums, URIs, tool lists, progress count, 404 after DELETE) | ${fig.wrong === 0 ? 'held' : `**FAILED**: ${fig.wrong} wrong`} |`);
    L.push(`| sessions usable | after the run every client session (and the probe's) answers tools/call on every backend | ${fig.sessionsUsable} |`);
    L.push(`| memory flat | per role, mean RSS of the last third ≤ mean of the middle third + max(${fig.opts.rssBoundPct} %, ${fig.opts.rssBoundMiB} MiB) | ${fig.memory.every((m) => m.ok) ? 'held' : '**FAILED**'} |`);
    L.push(`| no other crash | only the killed workers restarted, once per kill; the broker exits 0 on SIGTERM at the end | ${fig.failures.some((f) => /restarted|broker/.test(f)) ? '**FAILED**' : 'held'} |`);
    L.push('');
    L.push(fig.failures.length ? `**Soak failed:**\n\n${fig.failures.map((f) => `- ${f}`).join('\n')}\n` : '**All properties held.**\n');
    L.push('## Figures');
    L.push('');
    L.push('| figure | value |');
    L.push('| --- | ---: |');
    L.push(`| traffic | ${fmt(fig.seconds, 0)} s |`);
    L.push(`| requests | ${fig.requests} |`);
    L.push(`| throughput | ${fmt(fig.rps, 0)} requests/s |`);
    L.push(`| ok | ${fig.ok} |`);
    L.push(`| failed while in flight at a kill (JSON-RPC error) | ${fig.inFlight} |`);
    L.push(`| lost | ${fig.lost} |`);
    L.push(`| wrong answers | ${fig.wrong} |`);
    L.push(`| latency of ok requests p50 / p99 / max | ${fmt(fig.latency.p50)} / ${fmt(fig.latency.p99)} / ${fmt(fig.latency.max)} ms |`);
    L.push(`| workers killed | ${fig.kills.length} |`);
    L.push(`| kill → gateway noticed (median / max) | ${med(ks.map((k) => k.noticed))} / ${max(ks.map((k) => k.noticed))} ms |`);
    L.push(`| kill → broker spawned a new worker (log; median / max) | ${med(ks.map((k) => k.respawned))} / ${max(ks.map((k) => k.respawned))} ms |`);
    L.push(`| kill → new worker listed running by \`mcpgwctl status\` (polled; median / max) | ${med(ks.map((k) => k.procBack))} / ${max(ks.map((k) => k.procBack))} ms |`);
    L.push(`| kill → backend answers again (median / max) | ${med(ks.map((k) => k.answers))} / ${max(ks.map((k) => k.answers))} ms |`);
    L.push(`| sessions usable after the run | ${fig.sessionsUsable} |`);
    L.push('');
    L.push('### Memory (RSS from /proc/PID/status, MiB, summed over the processes of a role)');
    L.push('');
    L.push('| role | processes | at start | middle third (mean) | last third (mean) | growth | bound | trend (last two thirds) | |');
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const m of fig.memory) {
        L.push(`| ${m.role} | ${m.count} | ${fmt(mib(m.first))} | ${fmt(mib(m.mid))} | ${fmt(mib(m.last))} | ${fmt(mib(m.last - m.mid), 2)} | +${fmt(mib(m.bound), 2)} | ${fmt(m.trend, 0)} KiB/min | ${m.ok ? 'flat' : '**grew**'} |`);
    }
    L.push('');
    L.push(`Sampled every ${fig.opts.sampleEvery}s, half a period off the kills, by role: a restarted worker counts as the same`);
    L.push('worker. The bound is tight on purpose: a process that does not leak settles within the first');
    L.push('third and then moves by well under 0.1 MiB per third (compare a run with `--no-churn`), while');
    L.push('a leak of a few hundred bytes per request or per session shows up as a steady climb.');
    L.push('`rss-by-process.tsv` in the results directory has every process on its own.');
    L.push('');
    L.push('### Kills');
    L.push('');
    L.push('| at | worker | noticed | respawned | listed running | backend answers | requests failed in flight |');
    L.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const k of fig.kills) {
        L.push(k.error ? `| ${fmt(k.t / 1000)} s | ${k.backend} | kill failed: ${k.error} | | | |`
            : `| ${fmt(k.t / 1000)} s | worker.${k.backend} | ${fmt(k.noticed, 0)} ms | ${fmt(k.respawned, 0)} ms | ${fmt(k.procBack, 0)} ms | ${fmt(k.answers, 0)} ms | ${k.inFlightErrors || 0} |`);
    }
    L.push('');
    L.push('### Requests by kind');
    L.push('');
    L.push('| request | count | ok | failed in flight | lost | wrong | p50 ms | p99 ms |');
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [op, o] of Object.entries(byOp).sort()) {
        L.push(`| ${op} | ${o.n} | ${o.ok} | ${o.inFlight} | ${o.lost} | ${o.wrong} | ${fmt(quantile(o.lat, 0.5))} | ${fmt(quantile(o.lat, 0.99))} |`);
    }
    L.push('');
    L.push(plotted ? '![RSS per role and requests/s over the soak](soak.png)' : '(no plot: gnuplot was not available)');
    L.push('');
    return `${L.join('\n')}\n${keptNotes()}`;
}

main().catch(async (err) => {
    console.error(`soak: ${err.stack || err}`);
    await stopAll();
    process.exit(3);
});
