// MRTR across eras, the worker's half (issue 14 part D, docs/design-2026-07-28.md 5.3): a
// 2026-07-28 caller of a 2025 backend that asks the client something mid-call. The worker parks
// the call (its upstream stream stays open), the caller gets input_required keyed by gateway ids
// with a sealed requestState, and the retry resumes the same upstream call: the answers reach the
// backend with its own ids, a missing one is asked again, a later request starts the next round,
// a used or expired state gets 400 -32602, an undeclared capability 400 -32021, and a wait past
// limits.input_wait is ended on the backend (elicitation cancelled, others -32603, the call
// cancelled); at most 16 calls of one caller wait at once.
//
// Raw 2026-07-28 POSTs as the v2 client sends them. The 2025 backend is a fake written here
// (node:http) because it must ask in rounds and several requests in one write, and show what the
// worker answered it, which no backend in tests/node_modules does on demand.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { rawPost, startGateway, useSetup, waitFor, sleep, listenHttp as listen, readBody } from '../lib/index.mjs';

const MODERN = '2026-07-28';
const NS = 'io.modelcontextprotocol/';
const INPUT_WAIT_S = 3;
let nextId = 1;

const SAMPLE = { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: 'capital?' } }], maxTokens: 5 } };
const ELICIT = { method: 'elicitation/create', params: { message: 'name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } } };
const ROOTS = { method: 'roots/list', params: {} };

/* Each tool is its rounds: the requests of a round go in one write, the next round after every
 * answer came; the result lists the answers the backend got. */
const TOOLS = {
    ask: [[SAMPLE]],
    elicit: [[ELICIT]],
    two: [[SAMPLE], [ELICIT]],
    both: [[SAMPLE, ROOTS]],
    late: [[SAMPLE], [ROOTS]], // the second asked 300 ms after the first, not after its answer
};

async function startLegacyFake() {
    const seen = [];
    const sessions = new Set();
    const waiting = new Map(); // our request id -> resolve
    const fake = await listen(async (req, res) => {
        const text = await readBody(req);
        const msg = text ? JSON.parse(text) : undefined;
        const sid = req.headers['mcp-session-id'];
        seen.push({ method: req.method, sid, body: msg });
        if (req.method !== 'POST') {
            res.writeHead(req.method === 'DELETE' ? 200 : 405).end();
            return;
        }
        if (msg.method === 'initialize') {
            const id = crypto.randomUUID();
            sessions.add(id);
            res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': id });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'mrtr-fake', version: '1' } } }));
            return;
        }
        if (!sessions.has(sid)) {
            res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: Server not initialized' } }));
            return;
        }
        if (msg.id === undefined) {
            res.writeHead(202).end();
            return;
        }
        if (!msg.method) { // an answer to one of our requests
            const w = waiting.get(msg.id);
            waiting.delete(msg.id);
            if (w) {
                w(msg);
            }
            res.writeHead(202).end();
            return;
        }
        if (msg.method === 'ping') { // the worker's health check
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: {} }));
            return;
        }
        if (msg.method === 'tools/list') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { tools: Object.keys(TOOLS).map((name) => ({ name, inputSchema: { type: 'object' } })) } }));
            return;
        }
        const rounds = TOOLS[msg.params?.name];
        if (msg.method !== 'tools/call' || !rounds) {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } }));
            return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const answers = [];
        const pending = [];
        for (const round of rounds) {
            const asked = round.map((r) => ({ ...r, id: `srv-${nextId++}` }));
            pending.push(...asked.map((r) => new Promise((resolve) => waiting.set(r.id, resolve))));
            res.write(asked.map((r) => `data: ${JSON.stringify({ jsonrpc: '2.0', ...r })}\n\n`).join(''));
            if (msg.params.name === 'late') {
                await sleep(300);
                continue;
            }
            answers.push(...(await Promise.all(pending.splice(0))));
        }
        answers.push(...(await Promise.all(pending)));
        res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: JSON.stringify(answers) }] } })}\n\n`);
        res.end();
    });
    return { ...fake, seen, waiting };
}

const stack = useSetup(async () => {
    const legacy = await startLegacyFake();
    const gw = await startGateway({
        servers: [{ name: 'legacy', url: legacy.url, prefix: 'l_' }],
        // pooled sessions idle for 1 s close: a parked call's must not
        extra: { limits: { input_wait: `${INPUT_WAIT_S}s` }, sessions: { upstream_idle: '1s' } },
    });
    return { gw, legacy };
}, {
    async cleanup() {
        if (stack.legacy) {
            await stack.legacy.close();
        }
    },
});

const T = { timeout: 60000 };
const ALL_CAPS = { sampling: {}, elicitation: {}, roots: {} };

/** A 2026-07-28 tools/call as the v2 client sends it; extra params (inputResponses,
 *  requestState) for a retry. */
function call(name, { caps = ALL_CAPS, id = `m-${nextId++}`, extra = {} } = {}) {
    const meta = { [`${NS}protocolVersion`]: MODERN, [`${NS}clientCapabilities`]: caps, [`${NS}clientInfo`]: { name: 'test', version: '1' } };
    const body = { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {}, ...extra, _meta: meta } };
    return rawPost(stack.gw.url, body, { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': name });
}

/** The one JSON-RPC response of a reply (JSON or an event stream). */
function responseOf(r) {
    const m = r.messages.filter((x) => x && (x.result || x.error) && !x.method);
    assert.equal(m.length, 1, `one response: ${r.status} ${r.text.slice(0, 400)}`);
    return m[0];
}

/** An interim result: its id, keys, requests and state. */
function interimOf(r, id) {
    assert.equal(r.status, 200, r.text.slice(0, 400));
    const m = responseOf(r);
    assert.equal(m.id, id);
    assert.ok(m.result, JSON.stringify(m));
    assert.equal(m.result.resultType, 'input_required', JSON.stringify(m));
    assert.match(m.result.requestState, /^mcpgw1\./, 'sealed by the router');
    for (const k of Object.keys(m.result.inputRequests)) {
        assert.match(k, /^mcpgw:legacy:\d+$/);
    }
    return { requests: m.result.inputRequests, state: m.result.requestState };
}

const SAMPLED = { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'm', stopReason: 'endTurn' };
const ELICITED = { action: 'accept', content: { name: 'Ada' } };
const ROOTS_ANSWER = { roots: [{ uri: 'file:///tmp', name: 'tmp' }] };

function answersOf(r, id) {
    assert.equal(r.status, 200, r.text.slice(0, 400));
    const m = responseOf(r);
    assert.equal(m.id, id, 'the final response carries the last retry\'s id');
    assert.equal(m.result.resultType, 'complete');
    return JSON.parse(m.result.content[0].text);
}

test('two rounds: sampling, then elicitation on the same upstream call; each state opens once', T, async () => {
    const first = call('l_two', { id: 'two-0' });
    const r0 = await first;
    const i1 = interimOf(r0, 'two-0');
    const [k1] = Object.keys(i1.requests);
    assert.deepEqual(i1.requests[k1], SAMPLE, 'the backend\'s request as it sent it, without jsonrpc or id');

    const r1 = await call('l_two', { id: 'two-1', extra: { inputResponses: { [k1]: SAMPLED }, requestState: i1.state } });
    const i2 = interimOf(r1, 'two-1');
    const [k2] = Object.keys(i2.requests);
    assert.notEqual(k2, k1);
    assert.deepEqual(i2.requests[k2], ELICIT);
    assert.notEqual(i2.state, i1.state);

    // round 1's state again, now that round 2 waits: refused, and round 2 still works
    const again = await call('l_two', { id: 'two-again', extra: { inputResponses: { [k1]: SAMPLED }, requestState: i1.state } });
    assert.equal(again.status, 400, again.text);
    assert.equal(again.json.id, 'two-again');
    assert.equal(again.json.error.code, -32602);

    const r2 = await call('l_two', { id: 'two-2', extra: { inputResponses: { [k2]: ELICITED }, requestState: i2.state } });
    const answers = answersOf(r2, 'two-2');
    assert.equal(answers.length, 2);
    assert.deepEqual(answers[0].result, SAMPLED, 'the backend got the sampling result');
    assert.match(answers[0].id, /^srv-/, 'with its own id');
    assert.deepEqual(answers[1].result, ELICITED);
    // one upstream tools/call for the three router calls
    assert.equal(stack.legacy.seen.filter((x) => x.body?.method === 'tools/call' && x.body.params.name === 'two').length, 1);

    // a state used up: 400 -32602 with the retry's id
    const used = await call('l_two', { id: 'two-used', extra: { inputResponses: { [k2]: ELICITED }, requestState: i2.state } });
    assert.equal(used.status, 400, used.text);
    assert.equal(used.json.id, 'two-used');
    assert.equal(used.json.error.code, -32602);
    assert.deepEqual(used.json.error.data, { reason: 'invalid_request_state' });
});

test('a missing answer is asked again in the next round; unknown keys are ignored', T, async () => {
    const i1 = interimOf(await call('l_both', { id: 'both-0' }), 'both-0');
    const keys = Object.keys(i1.requests);
    assert.equal(keys.length, 2, 'both requests of one write in one interim result');
    const ks = keys.find((k) => i1.requests[k].method === 'sampling/createMessage');
    const kr = keys.find((k) => i1.requests[k].method === 'roots/list');
    assert.ok(ks && kr);

    const r1 = await call('l_both', { id: 'both-1', extra: { inputResponses: { [ks]: SAMPLED, 'mcpgw:legacy:999999': { x: 1 }, nope: {} }, requestState: i1.state } });
    const i2 = interimOf(r1, 'both-1');
    assert.deepEqual(Object.keys(i2.requests), [kr], 'only the missing one, under the same key');
    assert.deepEqual(i2.requests[kr], ROOTS);

    // not an object: still missing
    const i3 = interimOf(await call('l_both', { id: 'both-2', extra: { inputResponses: { [kr]: 'garbage' }, requestState: i2.state } }), 'both-2');
    assert.deepEqual(Object.keys(i3.requests), [kr]);

    const answers = answersOf(await call('l_both', { id: 'both-3', extra: { inputResponses: { [kr]: ROOTS_ANSWER }, requestState: i3.state } }), 'both-3');
    assert.deepEqual(answers.map((a) => a.result), [SAMPLED, ROOTS_ANSWER]);
});

test('a request the backend sends while its call is parked is asked in the next round', T, async () => {
    const i1 = interimOf(await call('l_late', { id: 'late-0' }), 'late-0');
    const [ks] = Object.keys(i1.requests);
    assert.equal(i1.requests[ks].method, 'sampling/createMessage');
    await waitFor(() => stack.legacy.waiting.size >= 2, { what: 'the backend asked the second while parked' });
    await sleep(300); // written; the worker reads it while the call is parked
    const i2 = interimOf(await call('l_late', { id: 'late-1', extra: { inputResponses: { [ks]: SAMPLED }, requestState: i1.state } }), 'late-1');
    const [kr] = Object.keys(i2.requests);
    assert.notEqual(kr, ks);
    assert.deepEqual(i2.requests[kr], ROOTS);
    const answers = answersOf(await call('l_late', { id: 'late-2', extra: { inputResponses: { [kr]: ROOTS_ANSWER }, requestState: i2.state } }), 'late-2');
    assert.deepEqual(answers.map((a) => a.result), [SAMPLED, ROOTS_ANSWER]);
});

test('a request the caller did not declare: 400 -32021 with requiredCapabilities, an error to the backend, the upstream call cancelled', T, async () => {
    const r = await call('l_elicit', { id: 'nocap-1', caps: { sampling: {} } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.id, 'nocap-1');
    assert.equal(r.json.error.code, -32021);
    assert.deepEqual(r.json.error.data, { requiredCapabilities: { elicitation: { form: {} } } });
    const up = stack.legacy.seen.filter((x) => x.body?.method === 'tools/call' && x.body.params.name === 'elicit').at(-1);
    await waitFor(() => stack.legacy.seen.some((x) => x.body && !x.body.method && x.body.error?.code === -32601 && /elicitation/.test(x.body.error.message)), { what: 'the backend told' });
    await waitFor(() => stack.legacy.seen.some((x) => x.body?.method === 'notifications/cancelled' && x.body.params.requestId === up.body.id), { what: 'the upstream call cancelled' });
});

test('past limits.input_wait the wait ends on the backend (elicitation cancelled, sampling -32603, the call cancelled) and the retry gets 400 -32602', T, async () => {
    const expired = async () => Number((/mcpgw_input_waits_total\{process="worker\.legacy",backend="legacy",outcome="expired"\} (\d+)/.exec(await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text()) || [0, 0])[1]);
    assert.ok(stack.gw.adminOrigin, 'the admin listener serves /metrics');
    const expiredBefore = await expired();
    const ie = interimOf(await call('l_elicit', { id: 'exp-e' }), 'exp-e');
    const is = interimOf(await call('l_ask', { id: 'exp-s' }), 'exp-s');
    const before = stack.legacy.seen.length;
    const sid = stack.legacy.seen.find((x) => x.body?.id === 'exp-e').sid;
    await sleep(2000);
    assert.ok(!stack.legacy.seen.slice(before).some((x) => x.body?.method === 'notifications/cancelled'), 'not before input_wait');
    assert.ok(!stack.legacy.seen.some((x) => x.method === 'DELETE' && x.sid === sid), 'the parked call keeps its pooled session past sessions.upstream_idle');
    await waitFor(() => stack.legacy.seen.some((x) => x.body && !x.body.method && x.body.result?.action === 'cancel'), { what: 'the elicitation declined', timeoutMs: INPUT_WAIT_S * 1000 + 5000 });
    await waitFor(() => stack.legacy.seen.some((x) => x.body && !x.body.method && x.body.error?.code === -32603 && /did not answer/.test(x.body.error.message)), { what: 'the sampling request failed', timeoutMs: 5000 });
    const cancels = stack.legacy.seen.filter((x) => x.body?.method === 'notifications/cancelled' && ['exp-e', 'exp-s'].includes(x.body.params.requestId));
    assert.equal(cancels.length, 2, 'both upstream calls cancelled');
    assert.equal(await expired() - expiredBefore, 2, 'mcpgw_input_waits_total{outcome="expired"}');
    await waitFor(() => stack.legacy.seen.some((x) => x.method === 'DELETE' && x.sid === sid), { what: 'the session closed once idle' });
    const [ke] = Object.keys(ie.requests);
    const late = await call('l_elicit', { id: 'exp-late', extra: { inputResponses: { [ke]: ELICITED }, requestState: ie.state } });
    assert.equal(late.status, 400, late.text);
    assert.equal(late.json.id, 'exp-late');
    assert.equal(late.json.error.code, -32602);
    assert.ok(is.state);
});

test('16 parked calls per caller: the 17th gets -32603 "too many calls waiting for input", its backend request an error', T, async () => {
    const parked = await Promise.all(Array.from({ length: 16 }, (_, i) => call('l_ask', { id: `full-${i}` })));
    for (const [i, r] of parked.entries()) {
        interimOf(r, `full-${i}`);
    }
    const r = await call('l_ask', { id: 'full-16' });
    assert.equal(r.status, 200, r.text);
    const m = responseOf(r);
    assert.equal(m.id, 'full-16');
    assert.equal(m.error.code, -32603);
    assert.match(m.error.message, /too many calls waiting for input/);
    await waitFor(() => stack.legacy.seen.some((x) => x.body && !x.body.method && x.body.error?.code === -32603 && /too many calls waiting/.test(x.body.error.message)), { what: 'the backend told' });
    // they expire (limits.input_wait) and the caller can park again
    await waitFor(async () => {
        const again = await call('l_ask', { id: `full-again-${nextId++}` });
        return again.status === 200 && responseOf(again).result?.resultType === 'input_required';
    }, { what: 'parking again once the waits expired', timeoutMs: INPUT_WAIT_S * 1000 + 8000, intervalMs: 500 });
});
