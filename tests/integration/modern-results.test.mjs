// What a 2026-07-28 client (no session; _meta carries the protocol version and its capabilities)
// receives through the gateway from backends of the 2025 era (issue 14 point 4, design
// docs/design-2026-07-28.md §4): lists paged by the broker with resultType, ttlMs, cacheScope and
// _meta serverInfo, the same scope on every page, cursors across pages; tools/call and
// resources/read results relayed with resultType (and, for a read, ttlMs and cacheScope) spliced
// in, from JSON and from event-stream answers; a backend's -32002 mapped to -32602 with data.uri.
// Sessions of the 2025 revisions on the same gateway see none of it. Raw POSTs, with the standard
// headers a modern client sends (MCP-Protocol-Version, Mcp-Method, Mcp-Name), which the router's
// 2026-07-28 front checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binPath, initializeSession, newId, rawPost, spawnProc, startBackend, startGateway, useSetup } from '../lib/index.mjs';

const PAGE_SIZE = 4;
const T = { timeout: 60000 };
const MODERN = '2026-07-28';

const stack = useSetup(async () => {
    const conf = spawnProc(binPath('mcpgw-conformance'), ['--port', '0'], { label: 'conformance backend' });
    const line = await conf.waitForLine(/^listening port=\d+/, { stream: 'stdout', timeoutMs: 10000 });
    const confPort = Number(/port=(\d+)/.exec(line)[1]);
    const [alpha, beta] = await Promise.all([
        startBackend({ name: 'alpha', extraArgs: ['--caps-tools'] }),
        startBackend({ name: 'beta', sse: true }),
    ]);
    const gw = await startGateway({
        servers: [
            { name: 'alpha', url: alpha.url, prefix: 'alpha_' },
            { name: 'beta', url: beta.url, prefix: 'beta_' },
            { name: 'conf', url: `http://127.0.0.1:${confPort}/mcp`, prefix: 'conf_' },
        ],
        extra: { limits: { page_size: PAGE_SIZE } },
    });
    // the same alpha behind a gateway with a policy: every list is filtered per caller
    const policed = await startGateway({
        servers: [{ name: 'alpha', url: alpha.url, prefix: 'alpha_' }],
        extra: { policy: { default: 'deny', rules: [{ match: { anonymous: true }, allow: ['alpha/*'] }] } },
    });
    return { gw, policed, alpha, beta, conf };
});

/** A modern request: _meta claims 2026-07-28 with capabilities caps; the mirrored headers. */
async function modern(method, params = {}, { caps = {}, name, url = stack.gw.url } = {}) {
    const body = {
        jsonrpc: '2.0',
        id: newId(),
        method,
        params: {
            ...params,
            _meta: {
                'io.modelcontextprotocol/protocolVersion': MODERN,
                'io.modelcontextprotocol/clientCapabilities': caps,
                'io.modelcontextprotocol/clientInfo': { name: 'modern-results-test', version: '1.0.0' },
            },
        },
    };
    const headers = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': method };
    if (name !== undefined) {
        headers['Mcp-Name'] = name;
    }
    const r = await rawPost(url, body, headers);
    assert.equal(r.headers['mcp-session-id'], undefined, 'no session is minted for a modern call');
    const response = r.messages.find((m) => m.id === body.id && (m.result || m.error));
    return { ...r, id: body.id, response };
}

/** Every page of a modern list: the items' keys, and each page's result. */
async function modernPages(method, key, itemKey, opts) {
    const pages = [];
    const keys = [];
    let cursor;
    do {
        const r = await modern(method, cursor ? { cursor } : {}, opts);
        assert.equal(r.status, 200, r.text);
        assert.ok(r.response?.result, r.text);
        const res = r.response.result;
        pages.push(res);
        keys.push(...res[key].map((it) => it[itemKey]));
        cursor = res.nextCursor;
    } while (cursor && pages.length < 50);
    return { pages, keys };
}

function assertModernList(pages, key) {
    const scopes = new Set();
    for (const p of pages) {
        assert.equal(p.resultType, 'complete', JSON.stringify(p));
        assert.equal(p.ttlMs, 0);
        assert.ok(p.cacheScope === 'public' || p.cacheScope === 'private', p.cacheScope);
        scopes.add(p.cacheScope);
        assert.ok(Array.isArray(p[key]));
        assert.equal(p._meta?.['io.modelcontextprotocol/serverInfo']?.name, 'mcpgw');
        assert.equal(typeof p._meta['io.modelcontextprotocol/serverInfo'].version, 'string');
    }
    assert.equal(scopes.size, 1, `one scope on every page: ${[...scopes]}`);
    return [...scopes][0];
}

function assertNoModernFields(result) {
    for (const k of ['resultType', 'ttlMs', 'cacheScope']) {
        assert.ok(!(k in result), `a 2025 session gets no ${k}: ${JSON.stringify(result)}`);
    }
}

let publicCursor; // a tools/list cursor of the public pages, refused once the scope changed

test('tools/list for a modern caller: resultType, ttlMs 0, one public scope, cursors across pages', T, async () => {
    const { pages, keys } = await modernPages('tools/list', 'tools', 'name');
    assert.ok(pages.length > 1, `several pages of ${PAGE_SIZE}: ${pages.length}`);
    assert.ok(keys.includes('alpha_echo') && keys.includes('beta_echo') && keys.includes('conf_test_simple_text'), `${keys}`);
    assert.ok(!keys.includes('alpha_sample_me'), 'no sampling declared: not listed');
    // no auth, no policy, and no capability set seen yet lists otherwise
    assert.equal(assertModernList(pages, 'tools'), 'public');
    publicCursor = pages[0].nextCursor;
    // the same tools, in the same order, as a 2025 session's pages, which stay as they were
    const s = await initializeSession(stack.gw.url);
    assert.deepEqual(await s.toolNames(), [...keys].sort());
    const first = await s.call('tools/list');
    assertNoModernFields(first);
    assert.equal(first._meta, undefined);
    // a cursor belongs to its era's pages: each is refused by the other (-32602, in-band)
    const crossed = await modern('tools/list', { cursor: first.nextCursor });
    assert.equal(crossed.status, 200, crossed.text);
    assert.equal(crossed.response?.error?.code, -32602, crossed.text);
    const back = await s.request('tools/list', { cursor: publicCursor });
    assert.equal(back.response?.error?.code, -32602, back.text);
});

test('a list that capability sets see differently is private on every page, and the old cursor is refused in-band', T, async () => {
    const sampling = await modernPages('tools/list', 'tools', 'name', { caps: { sampling: {} } });
    assert.ok(sampling.keys.includes('alpha_sample_me'), `sampling declared: listed: ${sampling.keys}`);
    assert.equal(assertModernList(sampling.pages, 'tools'), 'private');
    const plain = await modernPages('tools/list', 'tools', 'name');
    assert.equal(assertModernList(plain.pages, 'tools'), 'private', 'a caller without sampling too');
    assert.ok(!plain.keys.includes('alpha_sample_me'));
    // the page the cursor named had another scope: start over (-32602, HTTP 200, the id echoed)
    const r = await modern('tools/list', { cursor: publicCursor });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.response?.error?.code, -32602, r.text);
    assert.equal(r.json.id, r.id);
});

test('prompts, resources and templates lists carry the same fields; an unknown cursor is in-band -32602', T, async () => {
    const prompts = await modernPages('prompts/list', 'prompts', 'name');
    assert.ok(prompts.keys.length > 0);
    assert.equal(assertModernList(prompts.pages, 'prompts'), 'public');
    const resources = await modernPages('resources/list', 'resources', 'uri');
    assert.ok(resources.keys.includes('test://static-text'), `${resources.keys}`);
    assertModernList(resources.pages, 'resources');
    const templates = await modernPages('resources/templates/list', 'resourceTemplates', 'uriTemplate');
    assert.ok(templates.keys.length > 0);
    assertModernList(templates.pages, 'resourceTemplates');
    for (const cursor of ['nope', '0.0', 42]) {
        const r = await modern('tools/list', { cursor });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.response?.error?.code, -32602, r.text);
        assert.equal(r.json.id, r.id, 'the id echoed');
    }
});

test('tools/call results from old-era backends get resultType, from JSON and event-stream answers', T, async () => {
    const json = await modern('tools/call', { name: 'alpha_echo', arguments: { text: 'hi' } }, { name: 'alpha_echo' });
    assert.equal(json.status, 200, json.text);
    assert.equal(json.response?.result?.resultType, 'complete', json.text);
    assert.ok(json.text.includes('"result":{"resultType":"complete",'), `spliced after the brace: ${json.text}`);
    assert.equal(JSON.parse(json.response.result.content[0].text).text, 'hi');
    assert.ok(!('ttlMs' in json.response.result), 'tools/call is not cacheable');
    const sse = await modern('tools/call', { name: 'beta_echo', arguments: { text: 'ho' } }, { name: 'beta_echo' });
    assert.equal(sse.status, 200, sse.text);
    assert.match(sse.headers['content-type'], /^text\/event-stream/);
    assert.equal(sse.response?.result?.resultType, 'complete', sse.text);
    assert.equal(JSON.parse(sse.response.result.content[0].text).text, 'ho');
    // a tool error is a result too
    const conf = await modern('tools/call', { name: 'conf_test_error_handling', arguments: {} }, { name: 'conf_test_error_handling' });
    assert.equal(conf.status, 200, conf.text);
    assert.equal(conf.response?.result?.resultType, 'complete', conf.text);
    assert.equal(conf.response.result.isError, true, conf.text);
});

test('resources/read: ttlMs 0 and cacheScope private; a missing resource is -32602 with data.uri', T, async () => {
    const uri = 'test://static-text';
    const r = await modern('resources/read', { uri }, { name: uri });
    assert.equal(r.status, 200, r.text);
    const res = r.response?.result;
    assert.ok(res, r.text);
    assert.equal(res.resultType, 'complete');
    assert.equal(res.ttlMs, 0);
    assert.equal(res.cacheScope, 'private');
    assert.equal(res.contents[0].uri, uri);
    const missing = 'test://no-such-resource';
    const nf = await modern('resources/read', { uri: missing }, { name: missing });
    assert.equal(nf.status, 200, nf.text);
    assert.equal(nf.response?.error?.code, -32602, nf.text);
    assert.equal(nf.response.error.data?.uri, missing, nf.text);
});

test('2025 sessions on the same gateway get the backends\' answers unchanged', T, async () => {
    const s = await initializeSession(stack.gw.url);
    assertNoModernFields(await s.call('tools/call', { name: 'alpha_echo', arguments: { text: 'x' } }));
    assertNoModernFields(await s.call('tools/call', { name: 'beta_echo', arguments: { text: 'x' } }));
    assertNoModernFields(await s.call('resources/read', { uri: 'test://static-text' }));
    const nf = await s.request('resources/read', { uri: 'test://no-such-resource' });
    assert.equal(nf.response?.error?.code, -32002, nf.text);
    assertNoModernFields(await s.call('prompts/list'));
});

test('with a policy every list is private; a list or read no backend offers is 404 -32601', T, async () => {
    const url = stack.policed.url;
    const { pages, keys } = await modernPages('tools/list', 'tools', 'name', { url });
    assert.ok(keys.includes('alpha_echo'), `${keys}`);
    assert.equal(assertModernList(pages, 'tools'), 'private');
    const p = await modern('prompts/list', {}, { url });
    assert.equal(p.status, 404, p.text);
    assert.equal(p.response?.error?.code, -32601, p.text);
    assert.equal(p.json.id, p.id);
    // no backend offers resources: resources/* is a method this gateway does not have for a
    // 2026-07-28 caller (design §1 row 16; era.test.mjs covers an unknown URI among resources)
    const missing = 'test://nowhere';
    const nf = await modern('resources/read', { uri: missing }, { url, name: missing });
    assert.equal(nf.status, 404, nf.text);
    assert.equal(nf.response?.error?.code, -32601, nf.text);
    assert.equal(nf.json.id, nf.id);
    // a 2025 session of the same gateway keeps -32002
    const s = await initializeSession(url);
    const old = await s.request('resources/read', { uri: missing });
    assert.equal(old.response?.error?.code, -32002, old.text);
});
