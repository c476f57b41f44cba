// limits.rate: one bucket per caller (here the client address) shared by both router processes.
// Driven for ~3 s over many connections (both routers get traffic), the accepted requests stay
// within 10 % of rate x time + burst; the refused get 429 with Retry-After and a JSON-RPC error
// naming the limit, counted in mcpgw_rejections_total{reason="rate"} and logged; another client
// address has a bucket of its own; a batch counts each request; a reload applies a new rate; with
// auth the caller is the token's subject, whatever its address; a policy rule's rate limits the
// callers of that rule, per tool when it says so, and the refusal is audited.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import {
    DEFAULT_HEADERS, gatewayConfig, httpRequest, initializeBody, makeTempDir, sleep, startStack, toYaml, useStack, waitFor,
} from '../lib/index.mjs';

const RATE = 40;
const BURST = 10;
const LIMIT_TEXT = `rate limit exceeded: limits.rate ${RATE}/s, burst ${BURST}`;
const limits = (requests, burst) => ({ limits: { rate: { requests, burst } } });

const stack = useStack({ routers: 2, extra: limits(`${RATE}/s`, BURST) });

const T = { timeout: 60000 };

/** One POST over agent (its own connection), from localAddress; {status, headers, text, json}. */
function post(url, body, { agent, localAddress = '127.0.0.1', headers = {} } = {}) {
    return httpRequest(url, { headers: { ...DEFAULT_HEADERS, ...headers }, body: JSON.stringify(body), agent, localAddress });
}

/** A session made from localAddress (its initialize is a request of that caller too). */
async function session(localAddress, protocolVersion) {
    const r = await post(stack.gw.url, initializeBody(protocolVersion), { localAddress });
    assert.equal(r.status, 200, r.text);
    const headers = { 'mcp-session-id': r.headers['mcp-session-id'], 'mcp-protocol-version': r.json.result.protocolVersion };
    await post(stack.gw.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { localAddress, headers });
    return headers;
}

const call = (id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'alpha_whoami', arguments: {} } });

async function metrics() {
    return (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
}

function counter(text, re) {
    let sum = 0;
    for (const m of text.matchAll(re)) {
        sum += Number(m[1]);
    }
    return sum;
}

test('a rate shared by two routers holds within 10 %; the refused get 429, Retry-After and the limit named', T, async (t) => {
    const headers = await session('127.0.0.1');
    await sleep(1000); // the bucket fills again after initialize
    const before = await metrics();
    const CONNS = 16;
    // Every connection is open before the clock starts, half of them on each router: the routers
    // share one listening socket, and which one accepts a connection is a race (a burst of
    // connections may all go to one). Each is opened with a notification, which does not count,
    // and its router told by the prefix of the x-request-id it answers with.
    const agents = [];
    const perRouter = new Map();
    for (let tries = 0; tries < 200 && agents.length < CONNS; tries++) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const o = await post(stack.gw.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { agent, headers });
        assert.equal(o.status, 202, o.text);
        const router = o.headers['x-request-id'].slice(0, 8);
        if ((perRouter.get(router) ?? 0) >= CONNS / 2) {
            agent.destroy();
            continue;
        }
        perRouter.set(router, (perRouter.get(router) ?? 0) + 1);
        agents.push(agent);
    }
    assert.deepEqual([...perRouter.values()], [CONNS / 2, CONNS / 2], 'connections on both routers');
    const results = [];
    const t0 = Date.now();
    let last = t0;
    let n = 0;
    let second;
    await Promise.all(agents.map(async (agent, i) => {
        while (Date.now() - t0 < 3000) {
            const id = `c${i}-${n++}`;
            last = Date.now();
            const r = await post(stack.gw.url, call(id), { agent, headers });
            results.push({ id, ...r });
            if (i === 0 && !second && Date.now() - t0 > 1500) {
                // halfway, while this caller is refused: another address has a bucket of its own
                second = Promise.all(Array.from({ length: BURST }, (_, k) => post(stack.gw.url, call(`other-${k}`), { localAddress: '127.0.0.2', headers })));
            }
            await sleep(10);
        }
    }));
    agents.forEach((a) => a.destroy());
    const secs = (last - t0) / 1000;
    const ok = results.filter((r) => r.status === 200 && r.json?.result);
    const refused = results.filter((r) => r.status === 429);
    assert.equal(ok.length + refused.length, results.length, `only 200 and 429: ${[...new Set(results.map((r) => r.status))]}`);
    const want = RATE * secs + BURST;
    t.diagnostic(`accepted ${ok.length} of ${results.length} in ${secs} s: want ${want.toFixed(1)}`);
    assert.ok(Math.abs(ok.length - want) <= want * 0.1, `accepted ${ok.length} of ${results.length} in ${secs} s (want ${want.toFixed(0)} +- 10 %)`);
    assert.ok(refused.length > ok.length, `the load was over the limit: ${refused.length} refused`);

    // the answer to a refused request
    const r = refused[0];
    assert.equal(r.headers['retry-after'], '1'); // 25 ms, in whole seconds rounded up
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.deepEqual(r.json, { jsonrpc: '2.0', id: r.id, error: { code: -32029, message: LIMIT_TEXT } });

    // the other caller's burst, in the middle of the flood
    const others = await second;
    assert.deepEqual(others.map((x) => x.status), Array(BURST).fill(200), others.map((x) => x.text.slice(0, 120)).join('\n'));

    // both routers took part, and counted every refusal
    const after = await metrics();
    for (const p of ['router.0', 'router.1']) {
        const re = new RegExp(`mcpgw_requests_total\\{process="${p}",method="tools/call"\\} (\\d+)`, 'g');
        assert.ok(counter(after, re) - counter(before, re) > 20, `${p} served part of the traffic`);
    }
    const rej = /mcpgw_rejections_total\{process="router\.\d+",reason="rate"\} (\d+)/g;
    assert.equal(counter(after, rej) - counter(before, rej), refused.length);
    assert.match(after, /mcpgw_rate_overflow_total\{process="router\.0"\} 0\n/);
    assert.match(stack.gw.logs(), new RegExp(`msg=rejected status=429 code=-32029 reason="${LIMIT_TEXT}" client=127\\.0\\.0\\.1 retry_after=1 request_id=`));
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});

test('a batch counts each request: those past the limit get the error in the array and Retry-After', T, async () => {
    const headers = await session('127.0.0.3', '2025-03-26'); // batches are of 2025-03-26 sessions
    await sleep(1000);
    const batch = Array.from({ length: 15 }, (_, k) => ({ jsonrpc: '2.0', id: k, method: 'ping' }));
    batch.push({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }); // not counted
    const r = await post(stack.gw.url, batch, { localAddress: '127.0.0.3', headers });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.json.length, 15);
    const ok = r.json.filter((m) => m.result);
    const limited = r.json.filter((m) => m.error?.code === -32029);
    assert.ok(ok.length >= BURST && ok.length <= BURST + 1, `answered ${ok.length}`);
    assert.equal(ok.length + limited.length, 15);
    assert.equal(limited[0].error.message, LIMIT_TEXT);
    // at once again: every request is refused, and so is the batch
    const again = await post(stack.gw.url, batch.slice(0, 12), { localAddress: '127.0.0.3', headers });
    assert.equal(again.status, 429, again.text);
    assert.ok(again.json.every((m) => m.error?.code === -32029), again.text);
});

test('a reload with another rate applies it; one with another limits.rate_callers is refused', T, async () => {
    const write = (extra) => fs.writeFileSync(stack.gw.configFile, toYaml(gatewayConfig(stack.gw.dir, { servers: stack.servers, extra })));
    write(limits('2/m', 1));
    const rl = await stack.gw.ctl(['reload']);
    assert.equal(rl.code, 0, rl.stderr);
    assert.match(rl.stdout, /routers restarted/);
    // a new caller: its first request goes through, the next is refused for 30 s
    let first;
    await waitFor(async () => {
        first = await post(stack.gw.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: initializeBody().params }, { localAddress: '127.0.0.4' });
        return first.status === 429 && first.json?.error?.message === 'rate limit exceeded: limits.rate 2/m, burst 1';
    }, { what: 'the new rate', timeoutMs: 15000 });
    const s = Number(first.headers['retry-after']);
    assert.ok(s >= 1 && s <= 30, `Retry-After ${s}`);
    // the table's size is fixed until a restart
    write({ limits: { rate: { requests: '2/m', burst: 1 }, rate_callers: 1024 } });
    const refused = await stack.gw.ctl(['reload']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /limits\.rate_callers changed: restart mcpgw to apply it/);
});

test('with auth the caller is the token\'s subject: two subjects from one address, one subject from two', T, async () => {
    const dir = makeTempDir('mcpgw-rate-auth-');
    const key = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    fs.writeFileSync(path.join(dir, 'idp.jwks'), JSON.stringify({ keys: [jwk] }));
    const iss = 'https://idp.mcpgw.test';
    const resource = 'https://mcp.mcpgw.test/mcp';
    const auth = { resource, issuers: [{ issuer: iss, jwks_file: path.join(dir, 'idp.jwks') }] };
    const gw = await startStack({ extra: { auth, ...limits('5/s', 3) } });
    try {
        const bearer = (sub) => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
            .setSubject(sub).setIssuer(iss).setAudience(resource).setIssuedAt().setExpirationTime('5m').sign(key.privateKey);
        const callers = {};
        for (const sub of ['alice', 'bob']) {
            const authorization = `Bearer ${await bearer(sub)}`;
            const r = await post(gw.gw.url, initializeBody(), { headers: { authorization } });
            assert.equal(r.status, 200, r.text);
            callers[sub] = { authorization, 'mcp-session-id': r.headers['mcp-session-id'], 'mcp-protocol-version': r.json.result.protocolVersion };
        }
        await sleep(1000);
        const ping = (sub, localAddress, id) => post(gw.gw.url, { jsonrpc: '2.0', id, method: 'ping' }, { localAddress, headers: callers[sub] });
        const alice = [];
        for (let i = 0; i < 4; i++) {
            alice.push((await ping('alice', '127.0.0.1', i)).status);
        }
        assert.deepEqual(alice, [200, 200, 200, 429]);
        // bob, from the same address, has his own bucket; alice from another address has not
        const bob = await Promise.all([0, 1, 2].map((i) => ping('bob', '127.0.0.1', i)));
        assert.deepEqual(bob.map((r) => r.status), [200, 200, 200]);
        const elsewhere = await ping('alice', '127.0.0.2', 9);
        assert.equal(elsewhere.status, 429, elsewhere.text);
        assert.equal(elsewhere.json.error.message, 'rate limit exceeded: limits.rate 5/s, burst 3');
        assert.match(gw.gw.logs(), /msg=rejected status=429 code=-32029 [^\n]* subject="alice" retry_after=1 /);
        assert.deepEqual(gw.gw.sanitizerReports(), []);
    } finally {
        await gw.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('a policy rule\'s rate (per: tool) holds for the callers of that rule only, each tool its own bucket, audited as rate_limited', T, async () => {
    const ruled = await startStack({
        routers: 1,
        extra: {
            policy: {
                default: 'allow',
                rules: [{ match: { addresses: ['127.0.0.2/32'] }, allow: ['*'], rate: { requests: '2/m', burst: 2, per: 'tool' } }],
            },
        },
    });
    try {
        const url = ruled.gw.url;
        const open = async (localAddress) => {
            const r = await post(url, initializeBody(), { localAddress });
            assert.equal(r.status, 200, r.text);
            return { 'mcp-session-id': r.headers['mcp-session-id'], 'mcp-protocol-version': r.json.result.protocolVersion };
        };
        const tool = (headers, localAddress, name, id) => post(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } }, { localAddress, headers });
        const ruledCaller = await open('127.0.0.2');
        const statuses = [];
        for (let i = 0; i < 3; i++) {
            statuses.push((await tool(ruledCaller, '127.0.0.2', 'alpha_whoami', i)).status);
        }
        assert.deepEqual(statuses, [200, 200, 429]);
        const refused = await tool(ruledCaller, '127.0.0.2', 'alpha_whoami', 'x');
        assert.equal(refused.json.error.code, -32029);
        assert.equal(refused.json.error.message, 'rate limit exceeded: policy.rules[0].rate 2/m, burst 2, per tool');
        assert.equal(refused.json.id, 'x');
        assert.ok(Number(refused.headers['retry-after']) >= 1);
        // another tool of the same caller has a bucket of its own
        const echo = await tool(ruledCaller, '127.0.0.2', 'alpha_echo', 9);
        assert.equal(echo.status, 200);
        assert.ok(echo.json.result, echo.text);
        // a caller of the default view is not limited by the rule
        const other = await open('127.0.0.1');
        for (let i = 0; i < 4; i++) {
            const r = await tool(other, '127.0.0.1', 'alpha_whoami', i);
            assert.ok(r.status === 200 && r.json.result, r.text);
        }
        assert.match(ruled.gw.logs(), /msg=audit request_id=[0-9a-f]+ subject="" tool="alpha_whoami" status=429 outcome=rate_limited decision=rate_limited rule=policy\.rules\[0\]\.rate/);
        assert.deepEqual(ruled.gw.sanitizerReports(), []);
    } finally {
        await ruled.stop();
    }
});
