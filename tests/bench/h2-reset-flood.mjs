#!/usr/bin/env node
// tests/bench/h2-reset-flood.mjs: what an HTTP/2 rapid-reset flood (CVE-2023-44487) does to the
// other clients of one router: a well-behaved h2 client times its tools/call alone, then while
// attackers open tools/call streams and reset them at once (reconnecting whenever the gateway
// closes them); the router's and the worker's CPU from /proc/<pid>/stat over each phase.
//   MCPGW_BUILD_DIR=build node tests/bench/h2-reset-flood.mjs [--seconds S] [--attackers N] [--tls]
//       [--from ADDRESS] [--pin]
// One router, so attackers and the measured client share its loop (the worst case). The attackers
// come from --from (default 127.0.0.2), the measured client from 127.0.0.1. --pin keeps the
// attackers off the gateway's CPU, as attackers on other machines would be: this process (the
// measured client), the gateway and the backend on CPU 0, the attackers on the others. Loopback
// only; every phase is bounded in time.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { makeTestCertificate } from '../lib/certs.mjs';
import { initializeOverH2, quantile, spawnAttacker, timedCalls } from '../lib/h2flood.mjs';
import { initializeSession, makeTempDir, sleep, startBackend, startGateway, stopAll } from '../lib/index.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
};
const seconds = Number(opt('--seconds', '10'));
const attackers = Number(opt('--attackers', '4'));
const useTls = args.includes('--tls');
const from = opt('--from', '127.0.0.2');
const pin = args.includes('--pin');

const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** pid → {comm, ppid, cpu ticks} of every process. */
function processes() {
    const out = new Map();
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) {
            continue;
        }
        try {
            const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
            const close = s.lastIndexOf(')');
            const comm = s.slice(s.indexOf('(') + 1, close);
            const f = s.slice(close + 2).split(' ');
            out.set(Number(d), { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
        } catch {
            /* gone */
        }
    }
    return out;
}

function cpuOf(brokerPid, comm) {
    let t = 0;
    for (const p of processes().values()) {
        if (p.ppid === brokerPid && p.comm.startsWith(comm)) {
            t += p.ticks;
        }
    }
    return t;
}

/** The sum of the metric lines matching re. */
async function metric(gw, re) {
    const text = await (await fetch(`${gw.adminOrigin}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(re)) {
        n += Number(m[1]);
    }
    return n;
}
const ROUTED = /mcpgw_requests_total\{process="router[^}]*method="tools\/call"\} (\d+)/g;
const BACKEND = /mcpgw_backend_requests_total\{[^}]*method="tools\/call"[^}]*\} (\d+)/g;

async function phase(gw, s, origin, cert, withFlood) {
    const ca = cert?.ca;
    const m0 = { routed: await metric(gw, ROUTED), backend: await metric(gw, BACKEND) };
    const brokerPid = gw.proc.pid;
    const c0 = { router: cpuOf(brokerPid, 'mcpgw-router'), worker: cpuOf(brokerPid, 'mcpgw-worker') };
    const t0 = Date.now();
    const end = t0 + seconds * 1000;
    const floods = withFlood ? Array.from({ length: attackers }, () => spawnAttacker(origin, gw.url, seconds * 1000, { caFile: cert?.caFile, localAddress: from, cpus: attackerCpus })) : [];
    const calls = await timedCalls(origin, s, { tool: 'alpha_whoami', until: () => Date.now() >= end, ca });
    const done = await Promise.all(floods);
    const reset = done.reduce((a, d) => a + d.sent, 0);
    const cut = done.reduce((a, d) => a + d.cut, 0);
    const wall = (Date.now() - t0) / 1000;
    const c1 = { router: cpuOf(brokerPid, 'mcpgw-router'), worker: cpuOf(brokerPid, 'mcpgw-worker') };
    await sleep(1000); // the calls the attackers reset have ended by now
    const m1 = { routed: await metric(gw, ROUTED), backend: await metric(gw, BACKEND) };
    return {
        routed: m1.routed - m0.routed - calls.n,
        backend: m1.backend - m0.backend - calls.n,
        calls: calls.n,
        errors: calls.errors,
        p50: quantile(calls.latencies, 0.5),
        p99: quantile(calls.latencies, 0.99),
        routerCpu: (100 * (c1.router - c0.router)) / TICKS / wall,
        workerCpu: (100 * (c1.worker - c0.worker)) / TICKS / wall,
        resetsPerSec: reset / wall,
        cut,
    };
}

let attackerCpus;

async function main() {
    if (pin) {
        // every thread of this process, and so every process it starts from now on, on CPU 0
        execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
        const n = Number(execFileSync('nproc', ['--all']).toString().trim());
        attackerCpus = n > 1 ? `1-${n - 1}` : '0';
    }
    const dir = makeTempDir('mcpgw-h2flood-');
    const cert = useTls ? makeTestCertificate(dir) : null;
    const alpha = await startBackend({ name: 'alpha' });
    const listen = [{ address: '127.0.0.1', port: 0, ...(cert ? { tls: { certificate: cert.cert, key: cert.key } } : {}) }];
    const gw = await startGateway({ routers: 1, servers: [{ name: 'alpha', url: alpha.url, prefix: 'alpha_' }], extra: { listen } });
    const origin = cert ? `https://localhost:${gw.port}` : gw.origin;
    // initialize over HTTP/1.1 (fetch) on h2c; the session is then used over h2
    const s = cert ? await initializeOverH2(origin, gw.url, cert.ca) : await initializeSession(gw.url);
    await timedCalls(origin, s, { tool: 'alpha_whoami', max: 200, until: () => false, ca: cert?.ca }); // warm-up
    const quiet = await phase(gw, s, origin, cert, false);
    await sleep(500);
    const flood = await phase(gw, s, origin, cert, true);
    const fmt = (x) => x.toFixed(2);
    const label = `${useTls ? 'h2 over TLS' : 'h2c'}${pin ? ', pinned' : ''}`;
    console.log(`| ${label} | alone | ${quiet.calls} | ${fmt(quiet.p50)} | ${fmt(quiet.p99)} | ${fmt(quiet.routerCpu)} | ${fmt(quiet.workerCpu)} | 0 | 0 | 0 | 0 |`);
    console.log(`| ${label} | ${attackers} attackers | ${flood.calls} (${flood.errors} failed) | ${fmt(flood.p50)} | ${fmt(flood.p99)} | ${fmt(flood.routerCpu)} | ${fmt(flood.workerCpu)} | ${Math.round(flood.resetsPerSec)} | ${flood.routed} | ${flood.backend} | ${flood.cut} |`);
    console.log(`p99 ratio ${fmt(flood.p99 / quiet.p99)}`);
    console.log(`mcpgw_rejections_total{reason="h2_reset_flood"} ${await metric(gw, /mcpgw_rejections_total\{[^}]*reason="h2_reset_flood"\} (\d+)/g)}`);
    await stopAll();
}

main().catch(async (err) => {
    console.error(err);
    await stopAll();
    process.exit(1);
});
