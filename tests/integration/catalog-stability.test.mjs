// One odd backend slows or disturbs nobody else's catalog: a backend with a huge capabilities
// object costs a client's initialize nothing (the capabilities are merged once per catalog
// change, not per initialize); a backend that stays down, or whose catalog is refused as too
// large, retries every 2 s without staling the cursors of a client paging tools/list; a backend
// that floods list_changed is refetched at most once a second.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, initializeBody, initializeSession, rawPost, startBackend, startGateway, useSetup, waitFor } from '../lib/index.mjs';

const HUGE_CAPABILITIES = 6.5 * 1024 * 1024; // the size the issue met in the wild
const SMALL_LIMIT = 64 * 1024; // limits.max_response_body of the paging gateway
// fat's initialize answer fits under SMALL_LIMIT, its catalog (capabilities + tools) does not
const FAT_CAPABILITIES = SMALL_LIMIT - 600;

const stack = useSetup(async () => {
    const [alpha, beta, huge, fat, closed] = await Promise.all([
        startBackend({ name: 'alpha' }),
        startBackend({ name: 'beta', sse: true }), // list_changed inside a call's answer
        startBackend({ name: 'huge', extraArgs: ['--capabilities-bytes', String(HUGE_CAPABILITIES)] }),
        startBackend({ name: 'fat', extraArgs: ['--capabilities-bytes', String(FAT_CAPABILITIES)] }),
        freePort(), // nobody listens there: gamma stays down
    ]);
    const alphaConf = { name: 'alpha', url: alpha.url, prefix: 'alpha_' };
    const [plain, withHuge, paging] = await Promise.all([
        startGateway({ servers: [alphaConf], routers: 1 }),
        startGateway({ servers: [alphaConf, { name: 'huge', url: huge.url, prefix: 'huge_' }], routers: 1 }),
        startGateway({
            servers: [
                alphaConf,
                { name: 'beta', url: beta.url, prefix: 'beta_' },
                { name: 'gamma', url: `http://127.0.0.1:${closed}/mcp`, prefix: 'gamma_' },
                { name: 'fat', url: fat.url, prefix: 'fat_' },
            ],
            routers: 1,
            // debug: the router logs each routing table it receives
            extra: { limits: { page_size: 1, max_response_body: '64KiB' }, log: { level: 'debug' } },
        }),
    ]);
    return { alpha, beta, huge, fat, plain, withHuge, paging };
});

const T = { timeout: 120000 };

/** One initialize through url, in ms. */
async function timedInitialize(url) {
    const t0 = process.hrtime.bigint();
    const r = await rawPost(url, initializeBody());
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.ok(r.json?.result?.capabilities?.tools, r.text.slice(0, 300));
    return ms;
}

/**
 * The p50 and p90 of n initializes through each of urls, taken in turns (so that the load of a
 * shared machine falls on all alike), after a few to warm up; in ms, one {p50, p90} per url.
 */
async function initializeLatencies(urls, n) {
    const ms = urls.map(() => []);
    for (let i = -5; i < n; i++) {
        for (const [k, url] of urls.entries()) {
            const t = await timedInitialize(url);
            if (i >= 0) {
                ms[k].push(t);
            }
        }
    }
    return ms.map((m) => {
        m.sort((a, b) => a - b);
        return { p50: m[Math.floor(n / 2)], p90: m[Math.floor(n * 0.9)] };
    });
}

test('a backend with a 6.5 MiB capabilities object does not slow initialize', T, async () => {
    // the huge backend is up and served beside alpha
    const s = await initializeSession(stack.withHuge.url);
    const names = (await s.call('tools/list')).tools.map((t) => t.name);
    assert.ok(names.includes('huge_whoami') && names.includes('alpha_whoami'), names.join(', '));
    assert.equal((await s.tool('huge_whoami')).backend, 'huge');
    // what the gateway answers with is the union of what it uses, not the padding
    const init = await rawPost(stack.withHuge.url, initializeBody());
    assert.ok(init.text.length < 1024, `initialize answer of ${init.text.length} bytes`);
    assert.equal(init.json.result.capabilities.experimental, undefined);

    const n = 60;
    const [without, withHuge] = await initializeLatencies([stack.plain.url, stack.withHuge.url], n);
    console.log(`# initialize through the gateway, ${n} each, in turns: without the huge backend p50 ${without.p50.toFixed(2)} ms p90 ${without.p90.toFixed(2)} ms; ` +
        `with it p50 ${withHuge.p50.toFixed(2)} ms p90 ${withHuge.p90.toFixed(2)} ms`);
    assert.ok(withHuge.p50 < 20, `p50 with the huge backend: ${withHuge.p50.toFixed(2)} ms (want < 20 ms)`);
    assert.ok(withHuge.p50 < 5 * Math.max(without.p50, 1),
        `p50 ${withHuge.p50.toFixed(2)} ms with the huge backend vs ${without.p50.toFixed(2)} ms without (want < 5x)`);
    assert.deepEqual(stack.withHuge.sanitizerReports(), []);
});

/**
 * How often gamma's and fat's workers have retried their catalog so far (one log line each), and
 * how many routing tables the router has received.
 */
function retries(gw) {
    const lines = gw.logLines();
    return {
        gamma: lines.filter((l) => /msg="catalog fetch failed" backend=gamma\b/.test(l)).length,
        fat: lines.filter((l) => /msg="catalog refused: larger than limits.max_response_body" backend=fat\b/.test(l)).length,
        tables: lines.filter((l) => /msg="routing table" generation=/.test(l)).length,
    };
}

test('cursors stay valid while a backend that is down retries every 2 s', T, async () => {
    const gw = stack.paging;
    const s = await initializeSession(gw.url);
    const before = retries(gw);
    const names = [];
    let cursor;
    let pages = 0;
    const t0 = Date.now();
    do {
        const r = await s.request('tools/list', cursor ? { cursor } : {});
        assert.ok(r.response, `page ${pages + 1}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
        assert.equal(r.response.error, undefined, `page ${pages + 1} after ${Date.now() - t0} ms: ${JSON.stringify(r.response.error)}`);
        const { tools, nextCursor } = r.response.result;
        assert.equal(tools.length, 1, 'limits.page_size is 1');
        names.push(tools[0].name);
        cursor = nextCursor;
        pages++;
        await new Promise((resolve) => setTimeout(resolve, 450));
    } while (cursor);
    const after = retries(gw);
    const took = Date.now() - t0;
    console.log(`# ${pages} pages in ${took} ms; meanwhile gamma retried ${after.gamma - before.gamma} times, fat ${after.fat - before.fat} times`);
    assert.ok(after.gamma - before.gamma >= 3, `gamma retried ${after.gamma - before.gamma} times while paging (want 3 or more)`);
    assert.ok(after.fat - before.fat >= 3, `fat was refused ${after.fat - before.fat} times while paging (want 3 or more)`);
    // nor did the routers get a routing table for any of those retries (only the first ones)
    assert.ok(before.tables >= 1, 'the router logs the routing tables it gets');
    assert.equal(after.tables - before.tables, 0, 'routing tables pushed while nothing changed');
    // every tool of alpha and beta once, none of gamma's or fat's
    assert.equal(new Set(names).size, names.length, names.join(', '));
    assert.ok(names.includes('alpha_whoami') && names.includes('beta_whoami'), names.join(', '));
    assert.ok(!names.some((x) => x.startsWith('gamma_') || x.startsWith('fat_')), names.join(', '));
    // gamma was reported down once, not on every retry
    const downLines = gw.logLines().filter((l) => /msg="backend down" backend=gamma\b/.test(l));
    assert.equal(downLines.length, 1, downLines.join('\n'));
});

test('a catalog past limits.max_response_body is refused in the worker, the backend marked down', T, async () => {
    const gw = stack.paging;
    await waitFor(async () => (await gw.status()).backends.find((b) => b.name === 'fat')?.state === 'down',
        { what: 'fat marked down', timeoutMs: 15000 });
    const fat = (await gw.status()).backends.find((b) => b.name === 'fat');
    assert.match(fat.error, /^backend fat sent a catalog of \d+ bytes or more, past limits\.max_response_body \(65536 bytes\)$/);
    assert.match(gw.logs(), /msg="catalog refused: larger than limits.max_response_body" backend=fat bytes=\d+ capabilities_bytes=\d+ limit=65536/);
    const metrics = await (await fetch(`${gw.adminOrigin}/metrics`)).text();
    const m = /mcpgw_catalog_refused_total\{process="worker\.fat",backend="fat",reason="too_large"\} (\d+)/.exec(metrics);
    assert.ok(m && Number(m[1]) >= 1, metrics.split('\n').filter((l) => l.includes('catalog_refused')).join('\n'));
    // the others keep answering
    const s = await initializeSession(gw.url);
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
    const r = await s.request('tools/call', { name: 'fat_whoami', arguments: {} });
    assert.equal(r.response?.error?.code, -32602, r.text.slice(0, 300));
    assert.deepEqual(gw.sanitizerReports(), []);
});

test('a backend flooding list_changed is refetched at most once a second, and ends up current', T, async () => {
    const gw = stack.paging;
    const s = await initializeSession(gw.url);
    const fetched = () => gw.logLines().filter((l) => /msg="catalog fetched" backend=beta\b/.test(l)).length;
    const before = fetched();
    const t0 = Date.now();
    const toggles = 21; // odd: "extra" is listed at the end
    for (let i = 0; i < toggles; i++) {
        const j = await s.tool('beta_toggle_tools');
        assert.equal(j.extra, i % 2 === 0);
    }
    const burst = Date.now() - t0;
    const names = async () => {
        const all = [];
        let cursor;
        do {
            const r = await s.call('tools/list', cursor ? { cursor } : {});
            all.push(...r.tools.map((t) => t.name));
            cursor = r.nextCursor;
        } while (cursor);
        return all;
    };
    await waitFor(async () => (await names()).includes('beta_extra'), { what: 'beta_extra listed', timeoutMs: 10000 });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // what is still coming has come
    const refetches = fetched() - before;
    const took = Date.now() - t0;
    console.log(`# ${toggles} list_changed in ${burst} ms: beta's catalog fetched ${refetches} times in ${took} ms`);
    assert.ok(refetches >= 1 && refetches <= 2 + Math.ceil(took / 1000),
        `${refetches} refetches in ${took} ms (want at most one a second, and a first one at once)`);
    assert.ok((await names()).includes('beta_extra'));
    assert.equal((await s.tool('beta_extra')).tool, 'extra');
    assert.deepEqual(gw.sanitizerReports(), []);
});
