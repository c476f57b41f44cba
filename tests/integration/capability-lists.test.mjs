// Capability-aware lists (issue 11 item 8): a session sees the tools its backend lists for a
// client with that session's capabilities. alpha (mcpgw-testbackend --caps-tools) lists sample_me
// only to clients that declared sampling at initialize; beta lists the same for everyone. The
// worker fetches one catalog per capability set seen, the broker pages and announces per set, and
// a session whose set does not list a tool gets -32602 "Unknown tool" from the router.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, startBackend, startGateway, useSetup, waitFor } from '../lib/index.mjs';

const PAGE_SIZE = 4;
const T = { timeout: 60000 };

const stack = useSetup(async () => {
    const [alpha, beta] = await Promise.all([
        startBackend({ name: 'alpha', extraArgs: ['--caps-tools'] }),
        startBackend({ name: 'beta', sse: true }),
    ]);
    const gw = await startGateway({
        servers: [
            { name: 'alpha', url: alpha.url, prefix: 'alpha_' },
            { name: 'beta', url: beta.url, prefix: 'beta_' },
        ],
        extra: { limits: { page_size: PAGE_SIZE } },
    });
    return { gw, alpha, beta };
});

const SAMPLING = { sampling: {} };

/** Every page of tools/list: the names in order, and how many pages it took. */
async function allTools(s) {
    const names = [];
    let cursor;
    let pages = 0;
    do {
        const r = await s.call('tools/list', cursor ? { cursor } : undefined);
        assert.ok(r.tools.length <= PAGE_SIZE, `a page holds at most ${PAGE_SIZE} tools`);
        names.push(...r.tools.map((t) => t.name));
        cursor = r.nextCursor;
        pages++;
    } while (cursor);
    return { names, pages };
}

function catalogFetches(gw, backend, caps) {
    const re = new RegExp(`msg="catalog fetched" backend=${backend} caps=${caps} `);
    return gw.logLines().filter((l) => re.test(l)).length;
}

test('one catalog fetch serves sessions without capabilities; none for another set before one appears', T, async () => {
    const { gw } = stack;
    const plain = await initializeSession(gw.url);
    const { names } = await allTools(plain);
    assert.ok(names.includes('alpha_echo'));
    assert.ok(!names.includes('alpha_sample_me'), `a session without sampling is not listed sample_me: ${names}`);
    assert.equal(catalogFetches(gw, 'alpha', 0), 1);
    for (const caps of [1, 2, 3, 4, 5, 6, 7]) {
        assert.equal(catalogFetches(gw, 'alpha', caps), 0, `no catalog fetched for set ${caps}`);
    }
});

test('a session without sampling does not see sample_me and gets -32602 Unknown tool calling it', T, async () => {
    const plain = await initializeSession(stack.gw.url);
    // Once a session with sampling exists, the gateway knows both sets: the name is routed for
    // one and refused for the other.
    const sampler = await initializeSession(stack.gw.url, { capabilities: SAMPLING });
    assert.ok((await allTools(sampler)).names.includes('alpha_sample_me'));
    const { names } = await allTools(plain);
    assert.ok(!names.includes('alpha_sample_me'), `not listed: ${names}`);
    const r = await plain.request('tools/call', { name: 'alpha_sample_me', arguments: {} });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.response && r.response.error, `an error: ${r.text}`);
    assert.equal(r.response.error.code, -32602);
    assert.equal(r.response.error.message, 'Unknown tool: alpha_sample_me');
    // the session's other tools still work
    assert.equal((await plain.tool('alpha_echo', { text: 'hi' })).text, 'hi');
});

test('a session with sampling sees sample_me at its first tools/list and can call it', T, async () => {
    const sampler = await initializeSession(stack.gw.url, { capabilities: { sampling: {}, roots: {} } });
    const { names } = await allTools(sampler); // the first list waits for the set's first fetch
    assert.ok(names.includes('alpha_sample_me'), `listed: ${names}`);
    const j = await sampler.tool('alpha_sample_me');
    assert.equal(j.tool, 'sample_me');
    assert.equal(j.backend, 'alpha');
    // it waited for the set's first fetch if that was still under way, and never past it
    const m = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
    assert.match(m, /^mcpgw_list_waits_total\{outcome="fetched"\} \d+$/m);
    assert.match(m, /^mcpgw_list_waits_total\{outcome="timeout"\} 0$/m);
});

test('a session of a new set may call a tool before listing: its set being fetched, the backend decides', T, async () => {
    const s = await initializeSession(stack.gw.url, { capabilities: { sampling: {}, elicitation: {} } });
    const j = await s.tool('alpha_sample_me');
    assert.equal(j.tool, 'sample_me');
    assert.ok((await allTools(s)).names.includes('alpha_sample_me'));
});

test('the other backend\'s tools are the same for both sets; pages and cursors are per set', T, async () => {
    const plain = await initializeSession(stack.gw.url);
    const sampler = await initializeSession(stack.gw.url, { capabilities: SAMPLING });
    const a = await allTools(plain);
    const b = await allTools(sampler);
    const beta = (xs) => xs.filter((n) => n.startsWith('beta_'));
    assert.ok(beta(a.names).length > 0);
    assert.deepEqual(beta(a.names), beta(b.names));
    assert.deepEqual(b.names.filter((n) => n !== 'alpha_sample_me'), a.names);
    assert.ok(a.pages > 1, 'several pages');
    assert.equal(b.pages, Math.ceil(b.names.length / PAGE_SIZE));
    // a cursor of one set names no place in the other's list
    const first = await sampler.call('tools/list');
    const r = await plain.request('tools/list', { cursor: first.nextCursor });
    assert.ok(r.response && r.response.error, r.text);
    assert.equal(r.response.error.code, -32602);
});

test('list_changed reaches each set and each set\'s list follows', T, async () => {
    const { gw } = stack;
    const plain = await initializeSession(gw.url);
    const sampler = await initializeSession(gw.url, { capabilities: SAMPLING });
    await allTools(sampler);
    const changed = (st) => st.events.filter((e) => e.json && e.json.method === 'notifications/tools/list_changed').length;
    const ps = await plain.openStream();
    const ss = await sampler.openStream();
    try {
        for (const listed of [true, false]) {
            const before = [changed(ps), changed(ss)];
            await plain.tool('alpha_toggle_tools');
            await waitFor(() => changed(ps) > before[0] && changed(ss) > before[1], {
                what: 'tools/list_changed on both sessions\' GET streams',
            });
            await waitFor(async () => (await allTools(sampler)).names.includes('alpha_extra') === listed, {
                what: `alpha_extra ${listed ? 'in' : 'out of'} the sampling session's list`,
            });
            const p = (await allTools(plain)).names;
            const s = (await allTools(sampler)).names;
            assert.equal(p.includes('alpha_extra'), listed);
            assert.ok(!p.includes('alpha_sample_me'));
            assert.ok(s.includes('alpha_sample_me'));
        }
    } finally {
        ps.close();
        ss.close();
    }
    assert.equal(gw.sanitizerReports().length, 0, gw.sanitizerReports().join('\n'));
});
