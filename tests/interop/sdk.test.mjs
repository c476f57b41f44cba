// Interop with the official MCP TypeScript SDK client: through the gateway to two
// server-everything backends under the prefixes ev1_ and ev2_, the SDK connects, lists both
// backends' tools, calls a tool on each, and terminates its session.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { initializeSession, rawPost, useEverythingGateway, waitFor } from '../lib/index.mjs';

let directTools;
const stack = useEverythingGateway({
    async ready(st) {
        // What server-everything itself lists, to compare with what the gateway shows.
        const direct = await initializeSession(st.ev1.url);
        directTools = (await direct.call('tools/list')).tools.map((t) => t.name);
        await direct.delete();
    },
});

function newClient() {
    const client = new Client({ name: 'mcpgw-interop', version: '0.1.0' });
    const transport = new StreamableHTTPClientTransport(new URL(stack.gw.url));
    return { client, transport };
}

test('SDK client: connect, list both backends, call one tool on each, terminate', { timeout: 60000 }, async () => {
    const { client, transport } = newClient();
    await client.connect(transport);
    try {
        const sid = transport.sessionId;
        assert.ok(sid, 'the SDK got a session id');
        assert.match(sid, /^[\x21-\x7e]+$/);
        const version = client.getServerVersion();
        assert.ok(version && typeof version.name === 'string', 'serverInfo');
        const caps = client.getServerCapabilities();
        assert.ok(caps.tools, 'tools capability');
        // server-everything offers prompts and resources too: the union must show them.
        assert.ok(caps.prompts, 'prompts capability from the backends');
        assert.ok(caps.resources, 'resources capability from the backends');

        const listed = [];
        let cursor;
        do {
            const page = await client.listTools(cursor ? { cursor } : {});
            listed.push(...page.tools);
            cursor = page.nextCursor;
        } while (cursor);
        const names = new Set(listed.map((t) => t.name));
        for (const prefix of ['ev1_', 'ev2_']) {
            for (const base of ['echo', 'get-sum']) {
                assert.ok(names.has(prefix + base), `${prefix}${base} listed (got ${[...names].join(', ')})`);
            }
            for (const base of directTools) {
                assert.ok(names.has(prefix + base), `${prefix}${base} (listed by server-everything itself) missing`);
            }
        }
        assert.ok(listed.every((t) => /^ev[12]_/.test(t.name)), 'every tool is under a prefix');
        const echoTool = listed.find((t) => t.name === 'ev1_echo');
        assert.equal(echoTool.inputSchema.type, 'object');
        assert.ok(echoTool.inputSchema.properties?.message, 'the input schema passed through');

        const message = 'hello through mcpgw: ev2_ \u00e9 \ud83d\ude80 "q"';
        const echo = await client.callTool({ name: 'ev1_echo', arguments: { message } });
        assert.ok(!echo.isError, JSON.stringify(echo));
        assert.deepEqual(echo.content, [{ type: 'text', text: `Echo: ${message}` }]);

        const sum = await client.callTool({ name: 'ev2_get-sum', arguments: { a: 19, b: 23 } });
        assert.ok(!sum.isError, JSON.stringify(sum));
        assert.equal(sum.content[0].type, 'text');
        assert.match(sum.content[0].text, /\b42\b/);
        assert.equal(sum.content[0].text, 'The sum of 19 and 23 is 42.');

        // A second round on the same session, to each backend.
        const sum1 = await client.callTool({ name: 'ev1_get-sum', arguments: { a: 1.5, b: 2 } });
        assert.equal(sum1.content[0].text, 'The sum of 1.5 and 2 is 3.5.');
        const echo2 = await client.callTool({ name: 'ev2_echo', arguments: { message: 'two' } });
        assert.equal(echo2.content[0].text, 'Echo: two');

        await client.ping();

        // An unknown tool is an MCP error the SDK surfaces.
        await assert.rejects(client.callTool({ name: 'ev3_echo', arguments: { message: 'x' } }), /-32602|Unknown tool|not found/i);

        await transport.terminateSession();
        assert.equal(transport.sessionId, undefined, 'the SDK dropped its session id');

        // The old session is gone at the gateway.
        const r = await rawPost(stack.gw.url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ev1_echo', arguments: { message: 'x' } } }, {
            'Mcp-Session-Id': sid,
            'MCP-Protocol-Version': transport.protocolVersion ?? '2025-11-25',
        });
        assert.equal(r.status, 404, `call on the terminated session: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    } finally {
        await client.close();
    }
});

test('SDK client: two clients at once get separate sessions and both work', { timeout: 60000 }, async () => {
    const a = newClient();
    const b = newClient();
    await Promise.all([a.client.connect(a.transport), b.client.connect(b.transport)]);
    try {
        assert.notEqual(a.transport.sessionId, b.transport.sessionId);
        const [ra, rb] = await Promise.all([
            a.client.callTool({ name: 'ev2_echo', arguments: { message: 'from a' } }),
            b.client.callTool({ name: 'ev2_echo', arguments: { message: 'from b' } }),
        ]);
        assert.equal(ra.content[0].text, 'Echo: from a');
        assert.equal(rb.content[0].text, 'Echo: from b');
        await Promise.all([a.transport.terminateSession(), b.transport.terminateSession()]);
    } finally {
        await Promise.all([a.client.close(), b.client.close()]);
    }
});

test('SDK client: a call aborted with its AbortSignal is cancelled through the gateway', { timeout: 60000 }, async () => {
    const { client, transport } = newClient();
    await client.connect(transport);
    try {
        const ac = new AbortController();
        let progress = 0;
        let progressAtAbort = -1;
        const t0 = performance.now();
        const pending = client.callTool({ name: 'ev1_trigger-long-running-operation', arguments: { duration: 8, steps: 8 } }, undefined, {
            signal: ac.signal,
            onprogress: () => {
                progress++;
                if (progressAtAbort < 0) {
                    progressAtAbort = progress;
                    ac.abort('the user changed their mind');
                }
            },
        });
        await assert.rejects(pending, /abort|cancel|changed their mind/i);
        assert.equal(progressAtAbort, 1);
        // the gateway ends the call at once: nothing in flight on any router, long before the 8 s
        const metrics = async () => (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
        await waitFor(async () => {
            const m = await metrics();
            return /mcpgw_backend_requests_total\{process="worker\.ev1"[^}]*method="tools\/call",status="cancelled"\} 1\n/.test(m) &&
                !/mcpgw_in_flight_requests\{process="router\.\d+"\} [1-9]/.test(m);
        }, { timeoutMs: 3000, what: 'the call cancelled at the gateway' });
        assert.ok(performance.now() - t0 < 5000, 'cancelled well before the operation would end');
        // the metric is shared memory, the log line comes through the worker's stderr: later
        await waitFor(() => /msg="call cancelled" request_id=\S+ backend=ev1 method=tools\/call/.test(stack.gw.logs()),
            { timeoutMs: 3000, what: "the worker's log line of the cancel" });
        // the session goes on, and the aborted call's progress has stopped
        const echo = await client.callTool({ name: 'ev1_echo', arguments: { message: 'after the abort' } });
        assert.equal(echo.content[0].text, 'Echo: after the abort');
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal(progress, progressAtAbort, 'no progress after the cancel');
        await transport.terminateSession();
    } finally {
        await client.close();
    }
});

test('no sanitizer reports in the gateway log', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
