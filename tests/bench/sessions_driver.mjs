// sessions_driver.mjs: the client side of tests/bench/sessions. Creates gateway sessions that
// each call a tool once (initialize, then tools/call), several at a time over keep-alive
// connections, and writes their ids one a line; or, serially, times the first call of new
// sessions against their second.
//   node sessions_driver.mjs create URL COUNT CONCURRENCY OUTFILE
//   node sessions_driver.mjs first-cost URL COUNT
// Prints one line "RESULT key=value ...". Every request has a timeout: a run is bounded.
import fs from 'node:fs';
import http from 'node:http';

const [mode, url, countArg, concArg, outFile] = process.argv.slice(2);
const count = Number(countArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concArg) || 1 });
const PROTO = '2025-11-25';
const TIMEOUT_MS = 30000;

function post(body, sid) {
    const data = JSON.stringify(body);
    const headers = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'content-length': Buffer.byteLength(data),
    };
    if (sid) {
        headers['mcp-session-id'] = sid;
        headers['mcp-protocol-version'] = PROTO;
    }
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers, timeout: TIMEOUT_MS }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
            res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
        req.end(data);
    });
}

const initialize = {
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: PROTO, capabilities: {}, clientInfo: { name: 'mcpgw-bench', version: '1' } },
};
const call = (n) => ({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'b_echo', arguments: { text: 'hello' } } });

async function newSession() {
    const r = await post(initialize);
    const sid = r.headers['mcp-session-id'];
    if (r.status !== 200 || !sid) {
        throw new Error(`initialize: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    }
    return sid;
}

async function callOk(sid, n) {
    const r = await post(call(n), sid);
    if (r.status !== 200 || !r.text.includes('"result"')) {
        throw new Error(`tools/call: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    }
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function create() {
    const ids = [];
    let next = 0;
    let errors = 0;
    const t0 = process.hrtime.bigint();
    const worker = async () => {
        while (next < count) {
            next++;
            try {
                const sid = await newSession();
                await callOk(sid, 2);
                ids.push(sid);
            } catch (err) {
                if (errors++ < 5) {
                    console.error(`session failed: ${err.message}`);
                }
            }
        }
    };
    await Promise.all(Array.from({ length: Number(concArg) }, worker));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    fs.appendFileSync(outFile, ids.map((x) => `${x}\n`).join(''));
    console.log(`RESULT sessions=${ids.length} errors=${errors} seconds=${s.toFixed(2)} per_s=${(ids.length / s).toFixed(1)}`);
}

async function firstCost() {
    const first = [];
    const normal = [];
    for (let i = 0; i < count; i++) {
        const sid = await newSession();
        let t = process.hrtime.bigint();
        await callOk(sid, 2);
        first.push(Number(process.hrtime.bigint() - t) / 1e3);
        t = process.hrtime.bigint();
        await callOk(sid, 3);
        normal.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    const f = median(first);
    const n = median(normal);
    console.log(`RESULT first_us=${f.toFixed(0)} normal_us=${n.toFixed(0)} ratio=${(f / n).toFixed(2)} samples=${count}`);
}

(mode === 'create' ? create() : firstCost()).then(() => agent.destroy(), (err) => {
    console.error(err.message);
    process.exit(1);
});
