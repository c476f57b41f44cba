// Interop: server-initiated traffic through the gateway with the official SDK client and two
// server-everything backends: sampling, elicitation and roots requests reach the client with
// gateway ids and the client's answers reach the right backend; progress and logging
// notifications reach the client; a client without a capability never sees such requests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
    CreateMessageRequestSchema,
    ElicitRequestSchema,
    ListRootsRequestSchema,
    LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { useEverythingGateway, waitFor } from '../lib/index.mjs';

const stack = useEverythingGateway();

async function capableClient(seen) {
    const client = new Client(
        { name: 'mcpgw-interop', version: '0.1.0' },
        { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } },
    );
    client.setRequestHandler(CreateMessageRequestSchema, async (req, extra) => {
        seen.sampling.push(req);
        return {
            model: 'test-model',
            role: 'assistant',
            content: { type: 'text', text: `sampled: ${req.params.messages[0]?.content?.text ?? ''}` },
        };
    });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
        seen.elicitation.push(req);
        return { action: 'decline' };
    });
    client.setRequestHandler(ListRootsRequestSchema, async (req) => {
        seen.roots.push(req);
        return { roots: [{ uri: 'file:///tmp/mcpgw-root', name: 'mcpgw-root' }] };
    });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => seen.logs.push(n));
    await client.connect(new StreamableHTTPClientTransport(new URL(stack.gw.url)));
    return client;
}

function newSeen() {
    return { sampling: [], elicitation: [], roots: [], logs: [] };
}

test('sampling: the backend asks, the client answers, the tool sees the answer', { timeout: 60000 }, async () => {
    const seen = newSeen();
    const c = await capableClient(seen);
    try {
        const r = await c.callTool({ name: 'ev2_trigger-sampling-request', arguments: { prompt: 'hello gateway', maxTokens: 10 } });
        assert.equal(seen.sampling.length, 1, 'one sampling request reached the client');
        assert.ok(!r.isError, JSON.stringify(r));
        assert.match(JSON.stringify(r.content), /sampled: [^"]*hello gateway/, JSON.stringify(r.content));
    } finally {
        await c.close();
    }
});

test('elicitation requests reach the client and its answer the backend', { timeout: 60000 }, async () => {
    const seen = newSeen();
    const c = await capableClient(seen);
    try {
        const e = await c.callTool({ name: 'ev1_trigger-elicitation-request', arguments: {} });
        assert.equal(seen.elicitation.length, 1, 'elicitation reached the client');
        assert.match(JSON.stringify(e.content), /decline/i, JSON.stringify(e.content));
    } finally {
        await c.close();
    }
});

test('roots/list on the backend GET stream reaches the client; roots/list_changed goes back', { timeout: 60000 }, async () => {
    const seen = newSeen();
    const c = await capableClient(seen);
    try {
        const r = await c.callTool({ name: 'ev1_get-roots-list', arguments: {} });
        assert.match(JSON.stringify(r.content), /mcpgw-root/, JSON.stringify(r.content));
        assert.ok(seen.roots.length >= 1, 'the client was asked for its roots');
        const before = seen.roots.length;
        await c.sendRootsListChanged();
        await waitFor(() => seen.roots.length > before, { what: 'the backend to ask again after roots/list_changed', timeoutMs: 10000 });
    } finally {
        await c.close();
    }
});

test('log messages a backend sends on its GET stream reach the client', { timeout: 60000 }, async () => {
    const seen = newSeen();
    const c = await capableClient(seen);
    try {
        await c.setLoggingLevel('debug');
        await c.callTool({ name: 'ev2_toggle-simulated-logging', arguments: {} });
        const n = seen.logs.length;
        await waitFor(() => seen.logs.length > n, { what: 'a simulated log message on the GET stream', timeoutMs: 15000 });
        await c.callTool({ name: 'ev2_toggle-simulated-logging', arguments: {} });
    } finally {
        await c.close();
    }
});

test('a client without the sampling capability is never asked: the sampling tool is not listed to it, and calling it is Unknown tool', { timeout: 60000 }, async () => {
    // server-everything registers trigger-sampling-request only for clients that declared
    // sampling; the gateway lists per capability set (docs/routing.md), so such a client sees
    // what it would see talking to the backend directly.
    const c = new Client({ name: 'mcpgw-interop', version: '0.1.0' });
    let asked = 0;
    c.fallbackRequestHandler = async () => {
        asked++;
        return {};
    };
    await c.connect(new StreamableHTTPClientTransport(new URL(stack.gw.url)));
    try {
        const { tools } = await c.listTools();
        assert.ok(tools.some((t) => t.name === 'ev1_echo'), 'its other tools are listed');
        assert.ok(!tools.some((t) => t.name === 'ev1_trigger-sampling-request'), 'not listed without sampling');
        await assert.rejects(
            c.callTool({ name: 'ev1_trigger-sampling-request', arguments: { prompt: 'x', maxTokens: 5 } }),
            (e) => e.code === -32602 && /Unknown tool: ev1_trigger-sampling-request/.test(e.message),
        );
        assert.equal(asked, 0, 'no sampling request reached a client that did not declare sampling');
    } finally {
        await c.close();
    }
});

test('progress notifications of a long call reach the client with its own token', { timeout: 60000 }, async () => {
    const c = new Client({ name: 'mcpgw-interop', version: '0.1.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(stack.gw.url)));
    try {
        const progress = [];
        const r = await c.callTool(
            { name: 'ev1_trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
            undefined,
            { onprogress: (p) => progress.push(p) },
        );
        assert.ok(!r.isError, JSON.stringify(r));
        assert.ok(progress.length >= 2, `progress events: ${JSON.stringify(progress)}`);
        assert.ok(progress.every((p) => typeof p.progress === 'number'));
    } finally {
        await c.close();
    }
});

test('logging/setLevel is accepted and answered', { timeout: 60000 }, async () => {
    const seen = newSeen();
    const c = await capableClient(seen);
    try {
        await c.setLoggingLevel('debug');
        // the backends get it once the session uses them
        const r = await c.callTool({ name: 'ev1_echo', arguments: { message: 'after setLevel' } });
        assert.equal(r.content[0].text, 'Echo: after setLevel');
    } finally {
        await c.close();
    }
});

test('a client answer with an id the gateway never issued is 400', async () => {
    const c = new Client({ name: 'mcpgw-interop', version: '0.1.0' });
    const t = new StreamableHTTPClientTransport(new URL(stack.gw.url));
    await c.connect(t);
    try {
        const res = await fetch(stack.gw.url, {
            method: 'POST',
            headers: {
                'content-type': 'application/json',
                accept: 'application/json, text/event-stream',
                'mcp-session-id': t.sessionId,
                'mcp-protocol-version': '2025-11-25',
            },
            body: JSON.stringify({ jsonrpc: '2.0', id: 'mcpgw:ev1:999999', result: {} }),
        });
        assert.equal(res.status, 400);
        const body = await res.json();
        assert.equal(body.error.code, -32600);
        const other = await fetch(stack.gw.url, {
            method: 'POST',
            headers: {
                'content-type': 'application/json',
                accept: 'application/json, text/event-stream',
                'mcp-session-id': t.sessionId,
            },
            body: JSON.stringify({ jsonrpc: '2.0', id: 42, result: {} }),
        });
        assert.equal(other.status, 400);
    } finally {
        await c.close();
    }
});
