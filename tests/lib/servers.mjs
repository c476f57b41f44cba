// Starting the processes the tests talk to: the C test backend, server-everything and the
// gateway itself (mcpgw-broker with a generated config in a temp dir), plus mcpgwctl.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILD_DIR, TESTS_DIR, binPath, freePort, run, spawnProc, waitFor } from './procs.mjs';

const EVERYTHING_MAIN = path.join(TESTS_DIR, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const BIND_LOCALHOST = path.join(TESTS_DIR, 'lib', 'bind-localhost.cjs');

/** Matches what the sanitizers print when they find something. */
export const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)/;

function requireBinary(name) {
    const p = binPath(name);
    if (!fs.existsSync(p)) {
        throw new Error(`${p} not found: build first (make in ${BUILD_DIR}) or set MCPGW_BUILD_DIR`);
    }
    return p;
}

/**
 * Spawns file with args and waits (bounded) for its "listening port=N" line on stdout; a process
 * that does not get there is stopped and the error names `what` with its output. Returns
 * {proc, port}.
 */
export async function spawnListening(file, args, { label, what, timeoutMs = 10000 }) {
    const proc = spawnProc(file, args, { label });
    let line;
    try {
        line = await proc.waitForLine(/^listening port=\d+/, { stream: 'stdout', timeoutMs });
    } catch (err) {
        await proc.stop();
        throw new Error(`${what} did not start: ${err.message}\n${proc.output()}`);
    }
    return { proc, port: Number(/port=(\d+)/.exec(line)[1]) };
}

/** What a started backend with a GET /stats page is to a test: {name, port, origin, url, proc,
 * stats(), stop()}. */
export function statsBackend(name, proc, port) {
    const origin = `http://127.0.0.1:${port}`;
    return {
        name,
        port,
        origin,
        url: `${origin}/mcp`,
        proc,
        async stats() {
            const res = await fetch(`${origin}/stats`);
            if (res.status !== 200) {
                throw new Error(`${name} GET /stats: HTTP ${res.status}`);
            }
            return res.json();
        },
        stop: () => proc.stop(),
    };
}

/**
 * Starts `mcpgw-testbackend --name NAME --port 0 [--sse]` and waits for "listening port=N".
 * Returns {name, port, url, origin, proc, stats(), stop()}.
 */
export async function startBackend({ name, sse = false, extraArgs = [] }) {
    const args = ['--name', name, '--port', '0', ...(sse ? ['--sse'] : []), ...extraArgs];
    const { proc, port } = await spawnListening(requireBinary('mcpgw-testbackend'), args, {
        label: `testbackend ${name}`,
        what: `test backend ${name}`,
    });
    return statsBackend(name, proc, port);
}

/**
 * Starts `mcpgw-conformance --era ERA --port 0` (the conformance suite's fixture: legacy, modern
 * 2026-07-28 or dual; tests/backends/README.md) and waits for "listening port=N".
 * Returns {era, port, url, proc, stop()}.
 */
export async function startConformance({ era = 'legacy', label = `conformance ${era}` } = {}) {
    const { proc, port } = await spawnListening(requireBinary('mcpgw-conformance'), ['--port', '0', '--era', era], {
        label,
        what: `mcpgw-conformance --era ${era}`,
    });
    return { era, port, url: `http://127.0.0.1:${port}/mcp`, proc, stop: () => proc.stop() };
}

/**
 * Starts @modelcontextprotocol/server-everything (streamable HTTP) on a free loopback port,
 * bound to 127.0.0.1 by the bind-localhost preload, and waits until it answers HTTP.
 * Returns {port, url, proc, stop()}.
 */
export async function startEverything({ label = 'server-everything' } = {}) {
    if (!fs.existsSync(EVERYTHING_MAIN)) {
        throw new Error(`${EVERYTHING_MAIN} missing: run npm ci in ${TESTS_DIR}`);
    }
    let lastErr = null;
    for (let attempt = 0; attempt < 3; attempt++) {
        const port = await freePort();
        const nodeOptions = [process.env.NODE_OPTIONS, `-r ${BIND_LOCALHOST}`].filter(Boolean).join(' ');
        const proc = spawnProc(process.execPath, [EVERYTHING_MAIN, 'streamableHttp'], {
            env: { PORT: String(port), NODE_OPTIONS: nodeOptions },
            label,
        });
        const url = `http://127.0.0.1:${port}/mcp`;
        try {
            await waitFor(async () => {
                if (!proc.running) {
                    throw new Error(`exited: ${proc.output().slice(-500)}`);
                }
                const res = await fetch(url, { method: 'GET', headers: { Accept: 'text/event-stream' } });
                await res.arrayBuffer();
                return true;
            }, { timeoutMs: 15000, intervalMs: 100, what: `${label} on port ${port}` });
            return { port, url, proc, stop: () => proc.stop() };
        } catch (err) {
            lastErr = err;
            await proc.stop();
        }
    }
    throw lastErr;
}

/** A minimal YAML emitter (block style; strings double-quoted, which JSON escaping satisfies). */
export function toYaml(value, indent = '') {
    if (Array.isArray(value)) {
        if (value.length === 0) {
            return '[]\n';
        }
        let out = '';
        for (const item of value) {
            if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length) {
                const body = toYaml(item, `${indent}  `);
                out += `${indent}- ${body.slice(indent.length + 2)}`;
            } else {
                out += `${indent}- ${scalar(item)}\n`;
            }
        }
        return out;
    }
    if (value !== null && typeof value === 'object') {
        let out = '';
        for (const [k, v] of Object.entries(value)) {
            if (v === undefined) {
                continue;
            }
            if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length : Object.keys(v).length)) {
                out += `${indent}${k}:\n${toYaml(v, `${indent}  `)}`;
            } else {
                out += `${indent}${k}: ${scalar(v)}\n`;
            }
        }
        return out;
    }
    return `${indent}${scalar(value)}\n`;
}

function scalar(v) {
    if (v === null) {
        return 'null';
    }
    if (Array.isArray(v)) {
        return '[]';
    }
    if (typeof v === 'object') {
        return '{}';
    }
    if (typeof v === 'number' || typeof v === 'boolean') {
        return String(v);
    }
    return JSON.stringify(String(v));
}

function isPlainObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepMerge(base, extra) {
    const out = { ...base };
    for (const [k, v] of Object.entries(extra || {})) {
        out[k] = isPlainObject(v) && isPlainObject(base[k]) ? deepMerge(base[k], v) : v;
    }
    return out;
}

export function makeTempDir(prefix = 'mcpgw-test-') {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The config the tests run the gateway with; `extra` is deep-merged over it. */
/** The servers[] keys a test may give besides name, url and prefix. */
const SERVER_OPTIONS = ['headers', 'timeout', 'health_interval', 'tool_timeouts', 'max_connections', 'tools', 'tls', 'workers'];

export function gatewayConfig(dir, { servers = [], routers = 2, extra = {} } = {}) {
    const base = {
        listen: [{ address: '127.0.0.1', port: 0 }],
        mcp_path: '/mcp',
        runtime_dir: path.join(dir, 'run'),
        routers,
        limits: { max_request_body: '1MiB' },
        sessions: { key_file: path.join(dir, 'session.key') },
        log: { level: 'info' },
        // the admin listener on an ephemeral port: several gateways run at once in the tests
        admin: { port: 0 },
        servers: servers.map((s) => {
            const o = { name: s.name, url: s.url, prefix: s.prefix };
            for (const k of SERVER_OPTIONS) {
                if (s[k] !== undefined) {
                    o[k] = s[k];
                }
            }
            return o;
        }),
    };
    return deepMerge(base, extra);
}

let gatewayCount = 0;

/**
 * Writes <tmp>/mcpgw.yaml, spawns `mcpgw-broker -c` on it and waits (bounded) for its
 * "msg=ready ... listen=127.0.0.1:PORT" log line.
 * servers: [{name, url, prefix, and any of SERVER_OPTIONS}]; extra: object merged over the config.
 * Returns {url, origin, port, dir, configFile, ctlSocket, proc, logs(), logLines(), ctl(), status(),
 * sanitizerReports(), stop()}.
 */
export async function startGateway({ servers = [], extra = {}, routers = 2, readyTimeoutMs = 20000 } = {}) {
    const broker = requireBinary('mcpgw-broker');
    const dir = makeTempDir();
    fs.mkdirSync(path.join(dir, 'run'), { mode: 0o700 });
    const config = gatewayConfig(dir, { servers, routers, extra });
    const configFile = path.join(dir, 'mcpgw.yaml');
    fs.writeFileSync(configFile, toYaml(config));
    const ctlSocket = (config.control && config.control.socket) || path.join(config.runtime_dir, 'control.ipc');
    const n = ++gatewayCount;
    const proc = spawnProc(broker, ['-c', configFile], { label: `mcpgw-broker#${n}` });

    const gw = {
        dir,
        configFile,
        config,
        ctlSocket,
        proc,
        logs: () => proc.output(),
        logLines: () => [...proc.lines.stderr, ...proc.lines.stdout],
        sanitizerReports: () => proc.output().split('\n').filter((l) => SANITIZER_RE.test(l)),
        ctl: (args, opts) => run(requireBinary('mcpgwctl'), ['-s', ctlSocket, ...args], opts),
        async status() {
            const r = await gw.ctl(['status', '--json']);
            if (r.code !== 0) {
                throw new Error(`mcpgwctl status --json exited ${r.code}: ${r.stderr}`);
            }
            return JSON.parse(r.stdout);
        },
        stop: () => proc.stop({ signal: 'SIGTERM', graceMs: 5000 }),
    };
    // However the broker ends (stop(), stopAll(), a crash), keep its log and drop the temp dir.
    proc.exited.then(() => {
        saveLog(gw, n);
        if (!process.env.MCPGW_KEEP_TMP) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    let ready;
    try {
        // logfmt (msg=ready listen=…) or log.format: json ("msg":"ready","listen":"…")
        ready = await proc.waitForLine(/\bmsg"?[=:]"?ready\b/, { stream: 'stderr', timeoutMs: readyTimeoutMs });
    } catch (err) {
        await proc.stop({ graceMs: 2000 });
        throw new Error(`gateway did not become ready: ${err.message}\n--- config ---\n${toYaml(config)}--- broker log (tail) ---\n${proc.output().split('\n').slice(-40).join('\n')}`);
    }
    const m = /listen"?[=:]"?([0-9.]+):(\d+)/.exec(ready);
    if (!m) {
        await proc.stop({ graceMs: 2000 });
        throw new Error(`gateway ready line has no listen=127.0.0.1:PORT: ${ready}`);
    }
    gw.readyLine = ready;
    const a = /admin"?[=:]"?([0-9.]+):(\d+)/.exec(ready);
    if (a) {
        gw.adminOrigin = `http://127.0.0.1:${a[2]}`;
    }
    gw.port = Number(m[2]);
    gw.origin = `http://127.0.0.1:${gw.port}`;
    gw.url = `${gw.origin}${config.mcp_path}`;
    return gw;
}

function saveLog(gw, n) {
    const logDir = process.env.MCPGW_TEST_LOG_DIR;
    if (!logDir) {
        return;
    }
    try {
        fs.mkdirSync(logDir, { recursive: true });
        const base = path.basename(process.argv[1] || 'test', '.mjs');
        fs.writeFileSync(path.join(logDir, `${base}.gateway${n}.log`), `${gw.logs()}\n`);
    } catch {
        /* logs are a convenience */
    }
}

/** Runs `mcpgw-broker ARGS` to completion (config check, --version). */
export function runBroker(args, opts) {
    return run(requireBinary('mcpgw-broker'), args, opts);
}

export { BUILD_DIR };
