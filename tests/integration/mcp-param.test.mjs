// The Mcp-Param-* check of a 2026-07-28 tools/call (design docs/design-2026-07-28.md §1 row 17;
// spec basic/transports/streamable-http, "Server Behavior for Custom Headers"): a tool whose
// inputSchema declares x-mcp-header needs the header whenever the argument is present and not
// null, equal to it after decoding (numbers numerically, booleans as true/false), valid base64,
// no byte past ASCII in a plain value; else HTTP 400 -32020 with data.mismatch, and nothing goes
// to the backend. The real v2 client depends on it: it calls first without the header (it has no
// tool list yet) and retries with it after that 400.
//
// Backends: the conformance fixture in 2026-07-28 mode (its test_custom_header declares Region
// and itself refuses a call without a right Mcp-Param-Region, so a pass shows the worker built
// the header), and a 2025-era fake written here whose tool declares an integer and a boolean and
// which records what reaches it (no 2025 backend we run declares x-mcp-header).
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { initializeSession, newId, rawPost, startConformance, startGateway, useSetup } from '../lib/index.mjs';

const MODERN = '2026-07-28';
const T = { timeout: 60000 };

const KNOBS = {
    name: 'knobs',
    description: 'echoes what it was sent',
    inputSchema: {
        type: 'object',
        properties: {
            count: { type: 'integer', 'x-mcp-header': 'Count' },
            dry: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
            where: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } },
        },
    },
};

/** A 2025-11-25 backend (stateless streamable HTTP, JSON answers) recording its tools/calls. */
function startLegacyFake() {
    const calls = [];
    const server = http.createServer((req, res) => {
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (d) => (text += d));
        req.on('end', () => {
            if (req.method !== 'POST') {
                res.writeHead(405).end();
                return;
            }
            const msg = JSON.parse(text);
            const reply = (body) => {
                res.writeHead(200, { 'content-type': 'application/json' });
                res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...body }));
            };
            if (msg.id === undefined) {
                res.writeHead(202).end();
            } else if (msg.method === 'initialize') {
                reply({ result: { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'legacy-fake', version: '1.0.0' } } });
            } else if (msg.method === 'ping') {
                reply({ result: {} });
            } else if (msg.method === 'tools/list') {
                reply({ result: { tools: [KNOBS] } });
            } else if (msg.method === 'tools/call') {
                calls.push({ headers: req.headers, params: msg.params });
                reply({ result: { content: [{ type: 'text', text: JSON.stringify(msg.params.arguments) }] } });
            } else {
                reply({ error: { code: -32601, message: 'Method not found' } });
            }
        });
    });
    return new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => {
            server.unref(); // the gateway's processes are stopped after the tests; this goes with the test process
            const { port } = server.address();
            resolve({ calls, url: `http://127.0.0.1:${port}/mcp`, stop: () => new Promise((r) => server.close(r)) });
        });
    });
}

const stack = useSetup(async () => {
    const conf = await startConformance({ era: 'modern' });
    const legacy = await startLegacyFake();
    const gw = await startGateway({
        servers: [
            { name: 'conf', url: conf.url, prefix: 'conf_' },
            { name: 'old', url: legacy.url, prefix: 'old_' },
        ],
    });
    return { conf, legacy, gw };
});

/** A 2026-07-28 tools/call with the standard headers and the given extra ones. */
async function call(name, args, headers = {}) {
    const id = newId();
    const body = {
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: {
            name,
            arguments: args,
            _meta: {
                'io.modelcontextprotocol/protocolVersion': MODERN,
                'io.modelcontextprotocol/clientCapabilities': {},
                'io.modelcontextprotocol/clientInfo': { name: 'mcp-param-test', version: '1.0.0' },
            },
        },
    };
    const r = await rawPost(stack.gw.url, body, { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': name, ...headers });
    return { ...r, id, response: r.messages.find((m) => m.id === id) };
}

/** The call was refused with 400 -32020, its id echoed; returns the error. */
function refused(r) {
    assert.equal(r.status, 400, r.text);
    assert.ok(r.response, r.text);
    assert.equal(r.response.error?.code, -32020, r.text);
    return r.response.error;
}

/** The call went through; returns its result's text. */
function passed(r) {
    assert.equal(r.status, 200, r.text);
    assert.ok(r.response?.result, r.text);
    return r.response.result.content[0].text;
}

test('the right Mcp-Param-Region passes, and the 2026-07-28 backend gets it from the worker', T, async () => {
    assert.equal(passed(await call('conf_test_custom_header', { region: 'us-west1' }, { 'Mcp-Param-Region': 'us-west1' })), 'Region: us-west1');
    // surrounding whitespace is no part of the value; the name is matched ignoring case
    assert.equal(passed(await call('conf_test_custom_header', { region: 'us-west1' }, { 'MCP-PARAM-REGION': '  us-west1 ' })), 'Region: us-west1');
    assert.equal(passed(await call('conf_test_custom_header', { region: 'us-west1' }, { 'mcp-param-region': 'us-west1' })), 'Region: us-west1');
    // base64 decoded before the compare; without both markers a value is literal
    assert.equal(passed(await call('conf_test_custom_header', { region: 'Hello' }, { 'Mcp-Param-Region': '=?base64?SGVsbG8=?=' })), 'Region: Hello');
    assert.equal(passed(await call('conf_test_custom_header', { region: 'SGVsbG8=' }, { 'Mcp-Param-Region': 'SGVsbG8=' })), 'Region: SGVsbG8=');
    assert.equal(passed(await call('conf_test_custom_header', { region: '=?base64?SGVsbG8=' }, { 'Mcp-Param-Region': '=?base64?SGVsbG8=' })), 'Region: =?base64?SGVsbG8=');
    const accented = 'r\u00e9gion';
    assert.equal(passed(await call('conf_test_custom_header', { region: accented }, { 'Mcp-Param-Region': `=?base64?${Buffer.from(accented).toString('base64')}?=` })), `Region: ${accented}`);
});

test('a missing Mcp-Param-Region is 400 -32020, as the v2 client expects before its retry', T, async () => {
    const r = await call('conf_test_custom_header', { region: 'us-west1' });
    const e = refused(r);
    assert.equal(e.message, 'Header mismatch: Mcp-Param-Region header is required');
    assert.deepEqual(e.data, { mismatch: { header: 'Mcp-Param-Region', value: '(missing)' } });
    assert.ok(r.headers['mcp-session-id'] === undefined);
});

test('a different value is 400 -32020 naming both', T, async () => {
    const e = refused(await call('conf_test_custom_header', { region: 'us-west1' }, { 'Mcp-Param-Region': 'eu-west1' }));
    assert.equal(e.message, "Header mismatch: Mcp-Param-Region 'eu-west1' does not match arguments.region 'us-west1'");
    assert.deepEqual(e.data, { mismatch: { header: 'Mcp-Param-Region', value: 'eu-west1', body: 'us-west1' } });
    refused(await call('conf_test_custom_header', { region: 'us-west1' }, { 'Mcp-Param-Region': 'US-WEST1' })); // values are case-sensitive
});

test('bad base64 and invalid characters are 400 -32020', T, async () => {
    for (const v of ['=?base64?SGVsbG8?=', '=?base64?SGVs!!!bG8=?=', '=?base64?SGVsbG8=x?=']) {
        const e = refused(await call('conf_test_custom_header', { region: 'Hello' }, { 'Mcp-Param-Region': v }));
        assert.equal(e.message, 'Header mismatch: Mcp-Param-Region carries an invalid value', v);
        assert.deepEqual(e.data, { mismatch: { header: 'Mcp-Param-Region' } });
    }
    // a plain value with a byte past ASCII (fetch sends U+00E9 as the byte 0xe9)
    refused(await call('conf_test_custom_header', { region: 'caf\u00e9' }, { 'Mcp-Param-Region': 'caf\u00e9' }));
});

test('integers compare numerically, booleans as true/false, nested properties by their path; nothing refused reaches the backend', T, async () => {
    const before = stack.legacy.calls.length;
    assert.deepEqual(JSON.parse(passed(await call('old_knobs', { count: 42, dry: true }, { 'Mcp-Param-Count': '42', 'Mcp-Param-Dry-Run': 'true' }))), { count: 42, dry: true });
    passed(await call('old_knobs', { count: 42 }, { 'Mcp-Param-Count': '42.0' }));
    passed(await call('old_knobs', { count: 42.0 }, { 'Mcp-Param-Count': '42' }));
    passed(await call('old_knobs', { count: -3, dry: false }, { 'Mcp-Param-Count': '-3', 'Mcp-Param-Dry-Run': 'false' }));
    passed(await call('old_knobs', { where: { zone: 'b' } }, { 'Mcp-Param-Zone': 'b' }));
    assert.equal(stack.legacy.calls.length, before + 5);

    let e = refused(await call('old_knobs', { count: 42 }, { 'Mcp-Param-Count': '43' }));
    assert.deepEqual(e.data, { mismatch: { header: 'Mcp-Param-Count', value: '43', body: '42' } });
    refused(await call('old_knobs', { count: 42 }, { 'Mcp-Param-Count': '0x2a' }));
    refused(await call('old_knobs', { count: 42 }));
    e = refused(await call('old_knobs', { dry: true }, { 'Mcp-Param-Dry-Run': 'false' }));
    assert.deepEqual(e.data, { mismatch: { header: 'Mcp-Param-Dry-Run', value: 'false', body: 'true' } });
    refused(await call('old_knobs', { dry: true }, { 'Mcp-Param-Dry-Run': '1' }));
    e = refused(await call('old_knobs', { where: { zone: 'a' } }, { 'Mcp-Param-Zone': 'b' }));
    assert.equal(e.message, "Header mismatch: Mcp-Param-Zone 'b' does not match arguments.where.zone 'a'");
    assert.equal(stack.legacy.calls.length, before + 5, 'a refused call went upstream');
});

test('an absent or null argument expects no header, and one sent is ignored', T, async () => {
    passed(await call('old_knobs', {}));
    passed(await call('old_knobs', { count: null, dry: null }));
    passed(await call('old_knobs', { count: null }, { 'Mcp-Param-Count': '7' }));
    passed(await call('old_knobs', { where: 'not an object' }));
});

test('too many Mcp-Param headers for the envelope: 400 -32020', T, async () => {
    const headers = {};
    for (let i = 0; i < 20; i++) { // more than the envelope's 16 headers
        headers[`Mcp-Param-X${i}`] = 'v';
    }
    const e = refused(await call('old_knobs', {}, headers));
    assert.equal(e.message, 'Header mismatch: too many Mcp-Param headers');
});

test('a 2025 session is not held to the 2026-07-28 headers', T, async () => {
    const s = await initializeSession(stack.gw.url);
    const res = await s.call('tools/call', { name: 'old_knobs', arguments: { count: 1, dry: true } });
    assert.deepEqual(JSON.parse(res.content[0].text), { count: 1, dry: true });
});
