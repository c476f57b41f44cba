// An MCP backend over https for the tests of TLS to backends: the official SDK server
// (McpServer, streamable HTTP, one session per initialize) behind https.createServer, which asks
// every client for a certificate and refuses one the given CA did not sign. Its tools: echo, and
// whoami (the backend's name, the client certificate's CN and the Host header it was sent).
// setCertificate() serves another certificate to new connections and closes the open ones.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function secureOptions({ cert, key }, clientCaFile) {
    return {
        cert: fs.readFileSync(cert),
        key: fs.readFileSync(key),
        ca: fs.readFileSync(clientCaFile),
        // no resumption: a client that comes back after setCertificate() sees the new certificate
        secureOptions: crypto.constants.SSL_OP_NO_TICKET,
    };
}

function mcpServer(name, seen) {
    const server = new McpServer({ name: `https-${name}`, version: '1.0.0' });
    server.registerTool('echo', { description: 'Echoes text', inputSchema: { text: z.string() } }, async ({ text }) => ({
        content: [{ type: 'text', text }],
    }));
    server.registerTool('whoami', { description: 'Who called, over what' }, async (extra) => ({
        content: [{ type: 'text', text: JSON.stringify({ backend: name, ...seen.get(extra.sessionId) }) }],
    }));
    return server;
}

/**
 * Starts it on 127.0.0.1 (ephemeral port) with certificate {cert, key}; client certificates must
 * chain to clientCaFile. Returns {name, port, url, hostUrl(host), requests, setCertificate(c,
 * clientCaFile?), stop()}; `requests` counts the HTTP requests that got through TLS.
 */
export async function startHttpsBackend({ name, certificate, clientCaFile }) {
    const transports = new Map();
    const seen = new Map(); // session id -> {client, host} of its last request
    const sockets = new Set();
    const backend = { name, requests: 0 };
    const httpsServer = https.createServer({ ...secureOptions(certificate, clientCaFile), requestCert: true, rejectUnauthorized: true }, async (req, res) => {
        backend.requests++;
        const info = { client: req.socket.getPeerCertificate()?.subject?.CN ?? null, host: req.headers.host };
        if (req.method === 'GET') {
            res.writeHead(405).end(); // no standalone stream: the tests' calls are all there is
            return;
        }
        let sid = req.headers['mcp-session-id'];
        let transport = sid ? transports.get(sid) : undefined;
        if (sid && !transport) {
            res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
            return;
        }
        if (!transport) {
            transport = new StreamableHTTPServerTransport({
                sessionIdGenerator: () => crypto.randomUUID(),
                onsessioninitialized: (id) => {
                    transports.set(id, transport);
                    seen.set(id, info);
                },
            });
            transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
            await mcpServer(name, seen).connect(transport);
        } else {
            seen.set(sid, info);
        }
        await transport.handleRequest(req, res);
    });
    httpsServer.on('secureConnection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    httpsServer.on('tlsClientError', () => {}); // a refused client is what some tests are about
    await new Promise((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
    backend.port = httpsServer.address().port;
    backend.url = `https://127.0.0.1:${backend.port}/mcp`;
    backend.hostUrl = (host) => `https://${host}:${backend.port}/mcp`;
    backend.setCertificate = (c, caFile = clientCaFile) => {
        httpsServer.setSecureContext(secureOptions(c, caFile));
        for (const s of sockets) {
            s.destroy();
        }
    };
    backend.stop = async () => {
        for (const t of transports.values()) {
            await t.close().catch(() => {});
        }
        httpsServer.closeAllConnections();
        await new Promise((resolve) => httpsServer.close(resolve));
    };
    return backend;
}
