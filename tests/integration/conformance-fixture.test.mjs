// The conformance fixture's eras (mcpgw-conformance --era modern|dual), on what the official
// suite does not pin down but the gateway's tests rely on: the era decided per POST in dual mode,
// the lists of each era, the cache fields it sends (for pass-through checks), subscriptions/listen
// with resource updates and its graceful end, the requestState bound to its tool, and the 2025
// tools that ask the client turned into input_required results. The suite itself runs against
// the fixture in tests/conformance/run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, rawPost, readSse, startConformance, useSetup } from '../lib/index.mjs';

const MODERN = '2026-07-28';
const META = {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'fixture-test', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': { sampling: {}, elicitation: {}, roots: {} },
};
let nextId = 1;

/** A 2026-07-28 request with the headers a v2 client sends; resolves with rawPost's answer. */
function modern(url, method, params = {}, { headers = {}, caps } = {}) {
    const meta = caps ? { ...META, 'io.modelcontextprotocol/clientCapabilities': caps } : META;
    const name = method === 'resources/read' ? params.uri : params.name;
    const h = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': method, ...(name ? { 'Mcp-Name': name } : {}), ...headers };
    return rawPost(url, { jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: meta } }, h);
}

/** The result of the answer's one JSON-RPC response. */
function resultOf(r) {
    const msg = r.messages.find((m) => 'result' in m || 'error' in m);
    assert.ok(msg && msg.result, `a result, not ${r.status} ${r.text.slice(0, 300)}`);
    return msg.result;
}

const stack = useSetup(async () => {
    const [mod, dual] = await Promise.all([startConformance({ era: 'modern' }), startConformance({ era: 'dual' })]);
    return { mod, dual };
});

test('modern mode: no initialize, no GET or DELETE, discover lists only 2026-07-28', async () => {
    const init = await rawPost(stack.mod.url, {
        jsonrpc: '2.0', id: 7, method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    assert.equal(init.status, 400);
    assert.equal(init.json.id, 7);
    assert.equal(init.json.error.code, -32022);
    assert.deepEqual(init.json.error.data, { supported: [MODERN], requested: '2025-11-25' });
    for (const method of ['GET', 'DELETE']) {
        const r = await rawPost(stack.mod.url, undefined, { Accept: 'text/event-stream' }, { method });
        assert.equal(r.status, 405, method);
    }
    const d = resultOf(await modern(stack.mod.url, 'server/discover'));
    assert.deepEqual(d.supportedVersions, [MODERN]);
    assert.equal(d.resultType, 'complete');
    assert.equal(d._meta['io.modelcontextprotocol/serverInfo'].name, 'mcpgw-conformance');
});

test('dual mode: a 2025 session and 2026-07-28 requests on one endpoint, each with its own tools', async () => {
    const s = await initializeSession(stack.dual.url, { capabilities: { sampling: {} } });
    const legacy = (await s.call('tools/list')).tools.map((t) => t.name);
    assert.ok(legacy.includes('test_reconnection'));
    assert.ok(!legacy.includes('test_input_required_result_elicitation'), 'no 2026 tools in a 2025 session');
    const list = resultOf(await modern(stack.dual.url, 'tools/list'));
    const names = list.tools.map((t) => t.name);
    assert.ok(names.includes('test_input_required_result_elicitation'));
    assert.ok(names.includes('test_custom_header'));
    assert.ok(!names.includes('test_reconnection'), 'no GET resumption in 2026-07-28');
    // the values a gateway must pass on (or lower): distinct from the SDK's defaults
    assert.equal(list.resultType, 'complete');
    assert.equal(list.ttlMs, 60000);
    assert.equal(list.cacheScope, 'public');
    const read = resultOf(await modern(stack.dual.url, 'resources/read', { uri: 'test://static-text' }));
    assert.equal(read.ttlMs, 5000);
    assert.equal(read.contents[0].text, 'This is the content of the static text resource.');
    // a 2025 session's result has none of the 2026 fields
    const legacyRead = await s.call('resources/read', { uri: 'test://static-text' });
    assert.equal(legacyRead.resultType, undefined);
    assert.equal(legacyRead.ttlMs, undefined);
});

test('a listen gets its ack, tagged updates and list_changed, and ends with a result on cancel', async () => {
    const id = 'listen:fixture';
    const ctl = new AbortController();
    const res = await fetch(stack.mod.url, {
        method: 'POST',
        signal: ctl.signal,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'subscriptions/listen' },
        body: JSON.stringify({
            jsonrpc: '2.0', id, method: 'subscriptions/listen',
            params: { _meta: META, notifications: { toolsListChanged: true, resourcesListChanged: true, resourceSubscriptions: ['test://watched-resource', 'file:///elsewhere'] } },
        }),
    });
    assert.equal(res.status, 200);
    const events = readSse(res.body);
    const next = async () => JSON.parse((await events.next()).value.data);
    const ack = await next();
    assert.equal(ack.method, 'notifications/subscriptions/acknowledged');
    assert.deepEqual(ack.params.notifications, { toolsListChanged: true, resourceSubscriptions: ['test://watched-resource'] },
        'honoured: the tools, and the one URI of this server (its resources never change)');
    assert.equal(ack.params._meta['io.modelcontextprotocol/subscriptionId'], id);
    const update = await next();
    assert.equal(update.method, 'notifications/resources/updated');
    assert.equal(update.params.uri, 'test://watched-resource');
    assert.equal(update.params._meta['io.modelcontextprotocol/subscriptionId'], id);
    const toolNames = async () => resultOf(await modern(stack.mod.url, 'tools/list')).tools.map((t) => t.name);
    const before = await toolNames();
    resultOf(await modern(stack.mod.url, 'tools/call', { name: 'test_trigger_prompt_change', arguments: {} }));
    resultOf(await modern(stack.mod.url, 'tools/call', { name: 'test_trigger_tool_change', arguments: {} }));
    const changed = await next();
    assert.equal(changed.method, 'notifications/tools/list_changed', 'prompts were not asked for');
    assert.equal(changed.params._meta['io.modelcontextprotocol/subscriptionId'], id);
    const after = await toolNames();
    assert.notEqual(after.includes('test_dynamic_tool'), before.includes('test_dynamic_tool'), 'the list really changed');
    resultOf(await modern(stack.mod.url, 'tools/call', { name: 'test_trigger_prompt_change', arguments: {} }));
    // a 2026-07-28 notification needs no Mcp-Method (the v2 client sends none on this cancel)
    const cancel = await rawPost(stack.mod.url, {
        jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, _meta: META },
    }, { 'MCP-Protocol-Version': MODERN });
    assert.equal(cancel.status, 202);
    const end = await next();
    assert.equal(end.id, id);
    assert.deepEqual(end.result, { resultType: 'complete', _meta: { 'io.modelcontextprotocol/subscriptionId': id } });
    assert.equal((await events.next()).done, true, 'the stream ends after the result');
    ctl.abort();
});

test('requestState is bound to its tool, carries round data, and tampering is refused', async () => {
    const url = stack.mod.url;
    const first = resultOf(await modern(url, 'tools/call', { name: 'test_input_required_result_request_state', arguments: {} }));
    assert.equal(first.resultType, 'input_required');
    assert.equal(first.inputRequests.confirm.method, 'elicitation/create');
    const answers = { confirm: { action: 'accept', content: { ok: true } } };
    const other = await modern(url, 'tools/call', { name: 'test_input_required_result_tampered_state', arguments: {}, inputResponses: answers, requestState: first.requestState });
    assert.equal(other.json.error.code, -32602, "another tool's state does not open");
    assert.deepEqual(other.json.error.data, { reason: 'invalid_request_state' });
    const done = resultOf(await modern(url, 'tools/call', { name: 'test_input_required_result_request_state', arguments: {}, inputResponses: answers, requestState: first.requestState }));
    assert.equal(done.resultType, 'complete');
    assert.equal(done.content[0].text, 'state-ok: confirmed=true');

    const r1 = resultOf(await modern(url, 'tools/call', { name: 'test_input_required_result_multi_round', arguments: {} }));
    const r2 = resultOf(await modern(url, 'tools/call', { name: 'test_input_required_result_multi_round', arguments: {}, inputResponses: { step1: { action: 'accept', content: { name: 'Ada' } } }, requestState: r1.requestState }));
    assert.ok(r2.inputRequests.step2);
    const r3 = resultOf(await modern(url, 'tools/call', { name: 'test_input_required_result_multi_round', arguments: {}, inputResponses: { step2: { action: 'accept', content: { color: 'green' } } }, requestState: r2.requestState }));
    assert.equal(r3.content[0].text, 'Ada likes green', 'round 1 travelled in the state of round 2');
});

test('a 2025 tool that asks the client becomes an input_required result and completes on retry', async () => {
    const url = stack.mod.url;
    const call = { name: 'test_sampling', arguments: { prompt: 'Say hi' } };
    const ask = resultOf(await modern(url, 'tools/call', call));
    assert.equal(ask.resultType, 'input_required');
    assert.equal(ask.inputRequests.sampling.method, 'sampling/createMessage');
    assert.equal(ask.inputRequests.sampling.params.messages[0].content.text, 'Say hi');
    const answer = { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm', stopReason: 'endTurn' };
    const done = resultOf(await modern(url, 'tools/call', { ...call, inputResponses: { sampling: answer } }));
    assert.equal(done.resultType, 'complete');
    assert.equal(done.content[0].text, 'LLM response: hi');
    const refused = await modern(url, 'tools/call', call, { caps: {} });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.code, -32021);
    assert.deepEqual(refused.json.error.data, { requiredCapabilities: { sampling: {} } });
});

test('the x-mcp-header tool checks Mcp-Param-Region as a 2026-07-28 server must', async () => {
    const call = { name: 'test_custom_header', arguments: { region: 'us west' } };
    const ok = resultOf(await modern(stack.mod.url, 'tools/call', call, { headers: { 'Mcp-Param-Region': 'us west' } }));
    assert.equal(ok.content[0].text, 'Region: us west');
    const b64 = resultOf(await modern(stack.mod.url, 'tools/call', call, { headers: { 'Mcp-Param-Region': `=?base64?${Buffer.from('us west').toString('base64')}?=` } }));
    assert.equal(b64.content[0].text, 'Region: us west');
    for (const value of [undefined, 'eu', '=?base64?dXM?=x?=']) {
        const r = await modern(stack.mod.url, 'tools/call', call, { headers: value === undefined ? {} : { 'Mcp-Param-Region': value } });
        assert.equal(r.status, 400, `header ${value}`);
        assert.equal(r.json.error.code, -32020);
    }
});
