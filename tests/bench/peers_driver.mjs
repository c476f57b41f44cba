// peers_driver.mjs: the two Node sides of tests/bench/peers. `backend` is an MCP server on the
// official SDK (McpServer + StreamableHTTPServerTransport, one session per initialize, answers
// as the SDK sends them by default: an SSE stream per POST; `--json` for JSON answers) with one
// tool, echo. `load` drives a URL with the official SDK client: CALLERS callers, each its own
// Client + StreamableHTTPClientTransport (so its own session and GET stream), warmed, then
// tools/call in a loop for SECONDS (and at most MAX calls each); prints one line
// "RESULT key=value ...": calls, errors, rps, p50_us, p99_us over every caller's calls.
// TRANSPORT is `streamable` (StreamableHTTPClientTransport) or `sse` (SSEClientTransport, the
// 2024-11-05 HTTP+SSE transport: mcp-hub's /mcp serves only that one).
//   node peers_driver.mjs backend [--json]
//   node peers_driver.mjs load URL TOOL CALLERS SECONDS [TRANSPORT [MAX]]
import crypto from 'node:crypto';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const WARM_CALLS = 50;
const CALL_TIMEOUT_MS = 10000;

async function backend(json) {
    const transports = new Map();
    const server = http.createServer(async (req, res) => {
        const sid = req.headers['mcp-session-id'];
        let transport = sid ? transports.get(sid) : undefined;
        if (sid && !transport) {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
            return;
        }
        if (!transport) {
            if (req.method !== 'POST') {
                res.writeHead(400).end();
                return;
            }
            transport = new StreamableHTTPServerTransport({
                sessionIdGenerator: () => crypto.randomUUID(),
                enableJsonResponse: json,
                onsessioninitialized: (id) => transports.set(id, transport),
            });
            transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
            const mcp = new McpServer({ name: 'peers-backend', version: '1.0.0' });
            mcp.registerTool('echo', { description: 'Echoes text', inputSchema: { text: z.string() } }, async ({ text }) => ({
                content: [{ type: 'text', text }],
            }));
            await mcp.connect(transport);
        }
        await transport.handleRequest(req, res);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    console.log(`listening port=${server.address().port}`);
    process.on('SIGTERM', () => process.exit(0));
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function load(url, tool, callers, seconds, kind, max) {
    const clients = [];
    for (let i = 0; i < callers; i++) {
        const client = new Client({ name: `mcpgw-bench-peers-${i}`, version: '1' });
        const transport = kind === 'sse' ? new SSEClientTransport(new URL(url)) : new StreamableHTTPClientTransport(new URL(url));
        await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
        clients.push({ client, transport });
    }
    const call = (c, n) => c.client.callTool({ name: tool, arguments: { text: `hello ${n}` } }, undefined, { timeout: CALL_TIMEOUT_MS });
    // warm: the first calls create upstream sessions and connections behind a gateway
    await Promise.all(clients.map(async (c) => {
        for (let n = 0; n < WARM_CALLS; n++) {
            await call(c, n);
        }
    }));
    const lat = [];
    let errors = 0;
    let firstError;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(Math.round(seconds * 1e9));
    await Promise.all(clients.map(async (c) => {
        for (let n = 0; n < max && process.hrtime.bigint() < end; n++) {
            const t = process.hrtime.bigint();
            try {
                const r = await call(c, n);
                if (r.isError || r.content?.[0]?.text !== `hello ${n}`) {
                    throw new Error(`unexpected result ${JSON.stringify(r).slice(0, 200)}`);
                }
                lat.push(Number(process.hrtime.bigint() - t) / 1e3);
            } catch (err) {
                errors++;
                firstError ??= err.message;
            }
        }
    }));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    await Promise.all(clients.map(async (c) => {
        await c.transport.terminateSession?.().catch(() => {});
        await c.client.close().catch(() => {});
    }));
    if (firstError) {
        console.error(`first error: ${firstError}`);
    }
    lat.sort((a, b) => a - b);
    const f = (x) => (x === undefined ? 0 : x.toFixed(0));
    console.log(`RESULT calls=${lat.length} errors=${errors} seconds=${s.toFixed(2)} rps=${(lat.length / s).toFixed(1)} ` +
        `p50_us=${f(quantile(lat, 0.5))} p99_us=${f(quantile(lat, 0.99))}`);
}

const [mode, ...args] = process.argv.slice(2);
const main = mode === 'backend'
    ? backend(args.includes('--json'))
    : load(args[0], args[1], Number(args[2]), Number(args[3]), args[4] ?? 'streamable', Number(args[5] ?? 1e9)).then(() => process.exit(0));
main.catch((err) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
});
