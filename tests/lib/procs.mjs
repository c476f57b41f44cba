// Child-process bookkeeping for the tests: where the built binaries are, spawning with captured
// output, waiting for a line, free loopback ports, and killing everything a test file started.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TESTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(TESTS_DIR, '..');
export const BUILD_DIR = path.resolve(process.env.MCPGW_BUILD_DIR || path.join(REPO_DIR, 'build'));

export function binPath(name) {
    return path.join(BUILD_DIR, name);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every child still alive, so that a test file can kill them all in after(). */
const live = new Set();

/**
 * A spawned process with its output collected line by line.
 * Each child leads its own process group (detached), so kill() reaches whatever it spawned
 * (the broker's routers and workers) too.
 */
export class Proc {
    constructor(file, args, { env, cwd, label } = {}) {
        this.label = label || path.basename(file);
        this.child = spawn(file, args, {
            cwd,
            env: { ...process.env, ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true,
        });
        this.pid = this.child.pid;
        this.lines = { stdout: [], stderr: [] };
        this.waiters = [];
        this.exitCode = undefined;
        this.exitSignal = undefined;
        this.spawnError = null;
        this.exited = new Promise((resolve) => {
            this.child.on('error', (err) => {
                this.spawnError = err;
                this.exitCode = null;
                live.delete(this);
                this.failWaiters(err);
                resolve({ code: null, signal: null, error: err });
            });
            this.child.on('exit', (code, signal) => {
                this.exitCode = code;
                this.exitSignal = signal;
                live.delete(this);
                this.failWaiters(new Error(`${this.label} exited (code ${code}, signal ${signal})`));
                resolve({ code, signal });
            });
        });
        live.add(this);
        for (const stream of ['stdout', 'stderr']) {
            let partial = '';
            this.child[stream].setEncoding('utf8');
            this.child[stream].on('data', (chunk) => {
                partial += chunk;
                let nl;
                while ((nl = partial.indexOf('\n')) >= 0) {
                    this.addLine(stream, partial.slice(0, nl));
                    partial = partial.slice(nl + 1);
                }
            });
            this.child[stream].on('end', () => {
                if (partial) {
                    this.addLine(stream, partial);
                    partial = '';
                }
            });
        }
    }

    get running() {
        return this.exitCode === undefined;
    }

    addLine(stream, line) {
        this.lines[stream].push(line);
        for (const w of [...this.waiters]) {
            if ((w.stream === stream || w.stream === 'any') && w.test(line)) {
                this.waiters.splice(this.waiters.indexOf(w), 1);
                clearTimeout(w.timer);
                w.resolve(line);
            }
        }
    }

    failWaiters(err) {
        for (const w of this.waiters.splice(0)) {
            clearTimeout(w.timer);
            w.reject(err);
        }
    }

    /** Resolves with the first line (already seen or future) of `stream` that matches `re`. */
    waitForLine(re, { stream = 'any', timeoutMs = 20000 } = {}) {
        const test = (line) => re.test(line);
        const seen = stream === 'any' ? [...this.lines.stdout, ...this.lines.stderr] : this.lines[stream];
        const hit = seen.find(test);
        if (hit !== undefined) {
            return Promise.resolve(hit);
        }
        if (!this.running) {
            return Promise.reject(new Error(`${this.label} is not running (code ${this.exitCode}, signal ${this.exitSignal})`));
        }
        return new Promise((resolve, reject) => {
            const w = { stream, test, resolve, reject, timer: null };
            w.timer = setTimeout(() => {
                this.waiters.splice(this.waiters.indexOf(w), 1);
                reject(new Error(`${this.label}: no line matching ${re} within ${timeoutMs} ms`));
            }, timeoutMs);
            this.waiters.push(w);
        });
    }

    output(stream = 'any') {
        if (stream === 'any') {
            return [...this.lines.stdout, ...this.lines.stderr].join('\n');
        }
        return this.lines[stream].join('\n');
    }

    /** Sends `signal` to the process alone (not its group). */
    signal(signal) {
        if (this.running) {
            try {
                process.kill(this.pid, signal);
            } catch {
                /* already gone */
            }
        }
    }

    /** Sends `signal` to the whole process group. */
    signalGroup(signal) {
        try {
            process.kill(-this.pid, signal);
        } catch {
            /* group gone */
        }
    }

    /**
     * Stops the process: `signal` to it, then after graceMs SIGKILL to its whole group.
     * Resolves with {code, signal}. Always leaves the group dead.
     */
    async stop({ signal = 'SIGTERM', graceMs = 5000 } = {}) {
        if (this.running) {
            this.signal(signal);
            const timer = sleep(graceMs).then(() => 'timeout');
            if ((await Promise.race([this.exited, timer])) === 'timeout') {
                this.signalGroup('SIGKILL');
            }
        }
        const result = await this.exited;
        this.signalGroup('SIGKILL');
        return result;
    }
}

export function spawnProc(file, args, opts) {
    return new Proc(file, args, opts);
}

/** Kills every process started through this module that is still alive (their groups too). */
export async function stopAll() {
    await Promise.all([...live].map((p) => p.stop({ signal: 'SIGTERM', graceMs: 3000 })));
}

process.on('exit', () => {
    for (const p of live) {
        try {
            process.kill(-p.pid, 'SIGKILL');
        } catch {
            /* gone */
        }
    }
});

/** A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). */
export async function freePort() {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const { port } = srv.address();
    srv.close();
    await once(srv, 'close');
    return port;
}

/** Runs a command to completion: {code, signal, stdout, stderr}. Killed after timeoutMs. */
export function run(file, args, { env, timeoutMs = 20000, input } = {}) {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, {
            env: { ...process.env, ...env },
            stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
        });
        if (input !== undefined) {
            child.stdin.end(input);
        }
    });
}

/** Polls `fn` until it returns a truthy value; throws the last error/`what` after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 100, what = 'condition' } = {}) {
    const deadline = Date.now() + timeoutMs;
    let lastErr = null;
    for (;;) {
        try {
            const v = await fn();
            if (v) {
                return v;
            }
        } catch (err) {
            lastErr = err;
        }
        if (Date.now() >= deadline) {
            const why = lastErr ? `: ${lastErr.message}` : '';
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
        }
        await sleep(intervalMs);
    }
}
