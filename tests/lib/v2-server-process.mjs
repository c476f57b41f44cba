// A 2026-07-28-only MCP server built on @modelcontextprotocol/server 2.4.0 and node 2.1.2
// (createMcpHandler with legacy: 'reject', as design-2026-07-28 §8.2 ran it): the new-era backend
// of the interop tests and the bench. Run by tests/lib/v2-server.mjs, not by hand:
//
//   node tests/lib/v2-server-process.mjs [--name NAME] [--port 0]
//
// Prints one line, "listening port=N", once it listens on 127.0.0.1. GET /stats answers
// {requests: {METHOD: n}, lastHeaders: {METHOD: {mcp-*: value}}}: what reached it, so a test can
// tell that the gateway called it in the new era (and with which headers) and not only that an
// answer came back.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { McpServer, ResourceTemplate, createMcpHandler, fromJsonSchema, inputRequired, inputResponse } from '@modelcontextprotocol/server';

const { values: opts } = parseArgs({
    options: {
        name: { type: 'string', default: 'v2' },
        port: { type: 'string', default: '0' },
    },
});
const NAME = opts.name;

/** The URI `touch` announces as updated, and the one the resource serves. */
const NOTE_URI = 'v2://notes/today';
const NOTE_TEXT = `the note of ${NAME}`;

const stats = { requests: {}, lastHeaders: {} };

/** The Mcp-* and MCP-Protocol-Version headers of a request (lower-case names). */
function mcpHeaders(req) {
    const out = {};
    for (const [k, v] of Object.entries(req.headers)) {
        if (k.startsWith('mcp-')) {
            out[k] = v;
        }
    }
    return out;
}

function text(t, structured) {
    const r = { content: [{ type: 'text', text: t }] };
    if (structured) {
        r.structuredContent = structured;
    }
    return r;
}

// `handler` is filled in below; tools that publish change events (touch, grow) reach it through
// this holder, since the factory runs per request and createMcpHandler needs the factory first.
const holder = { handler: null, extraTools: 0 };

function buildServer(ctx) {
    const server = new McpServer({ name: NAME, version: '2.4.0-test' }, {
        capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, prompts: {} },
    });
    const req = ctx && ctx.requestInfo;

    server.registerTool('echo', {
        description: 'Echoes its message back',
        inputSchema: fromJsonSchema({ type: 'object', properties: { message: { type: 'string' } }, required: ['message'] }),
    }, async ({ message }) => text(`Echo: ${message}`));

    // SEP-2243: `region` is mirrored into the Mcp-Param-Region header by conforming clients; the
    // SDK rejects (400 -32020) a call whose header is missing or differs. The answer says which
    // header value reached this server, so a test sees what the gateway's worker sent.
    server.registerTool('region', {
        description: 'Answers with the region argument and the Mcp-Param-Region header it saw',
        inputSchema: fromJsonSchema({
            type: 'object',
            properties: { region: { type: 'string', 'x-mcp-header': 'Region' } },
            required: ['region'],
        }),
    }, async ({ region }, c) => {
        const h = c.http?.req?.headers ?? req?.headers;
        const header = h ? h.get('mcp-param-region') : null;
        return text(`region=${region} header=${header}`, { argument: region, header });
    });

    // Elicitation the 2026-07-28 way: an input_required result, then the retry's inputResponses.
    server.registerTool('ask', {
        description: 'Asks the user for a name (elicitation) and greets it',
        inputSchema: fromJsonSchema({ type: 'object', properties: {} }),
    }, async (_args, c) => {
        const r = inputResponse(c.mcpReq.inputResponses, 'name');
        if (r.kind === 'elicit') {
            return text(r.action === 'accept' ? `Hello, ${r.content?.name}` : `elicitation ${r.action}`);
        }
        return inputRequired({
            inputRequests: {
                name: inputRequired.elicit({
                    message: 'What is your name?',
                    requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
                }),
            },
        });
    });

    server.registerTool('sample', {
        description: 'Asks the client model a question (sampling) and answers with its reply',
        inputSchema: fromJsonSchema({ type: 'object', properties: { question: { type: 'string' } }, required: ['question'] }),
    }, async ({ question }, c) => {
        const r = inputResponse(c.mcpReq.inputResponses, 'answer');
        if (r.kind === 'sampling') {
            const content = Array.isArray(r.result.content) ? r.result.content[0] : r.result.content;
            return text(`model said: ${content?.text}`);
        }
        return inputRequired({
            inputRequests: {
                answer: inputRequired.createMessage({
                    messages: [{ role: 'user', content: { type: 'text', text: question } }],
                    maxTokens: 50,
                }),
            },
        });
    });

    // Publishes notifications/resources/updated for NOTE_URI to every listen that asked for it.
    server.registerTool('touch', {
        description: `Marks ${NOTE_URI} as updated`,
        inputSchema: fromJsonSchema({ type: 'object', properties: {} }),
    }, async () => {
        holder.handler.notify.resourceUpdated(NOTE_URI);
        return text(`updated ${NOTE_URI}`);
    });

    // Adds a tool (grown_N) and publishes notifications/tools/list_changed.
    server.registerTool('grow', {
        description: 'Adds a tool and announces tools/list_changed',
        inputSchema: fromJsonSchema({ type: 'object', properties: {} }),
    }, async () => {
        holder.extraTools++;
        holder.handler.notify.toolsChanged();
        return text(`grown_${holder.extraTools}`);
    });
    // Publishes notifications/tools/list_changed and changes nothing: what a refetch then gets is
    // the list it had.
    server.registerTool('announce', {
        description: 'Announces tools/list_changed with the tool list unchanged',
        inputSchema: fromJsonSchema({ type: 'object', properties: {} }),
    }, async () => {
        holder.handler.notify.toolsChanged();
        return text('announced');
    });
    for (let i = 1; i <= holder.extraTools; i++) {
        server.registerTool(`grown_${i}`, { description: 'A tool grow added', inputSchema: fromJsonSchema({ type: 'object', properties: {} }) },
            async () => text(`grown_${i}`));
    }

    server.registerResource('today', NOTE_URI, { mimeType: 'text/plain', description: "Today's note" },
        async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: NOTE_TEXT }] }));
    server.registerResource('day', new ResourceTemplate('v2://notes/{day}', { list: undefined }),
        { mimeType: 'text/plain', description: 'The note of a day' },
        async (uri, { day }) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: `the note of ${day}` }] }));

    server.registerPrompt('greet', {
        description: 'A greeting for someone',
        argsSchema: fromJsonSchema({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }),
    }, async ({ name }) => ({
        messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${name} from ${NAME}` } }],
    }));
    return server;
}

holder.handler = createMcpHandler(buildServer, { legacy: 'reject' });
const nodeHandler = toNodeHandler(holder.handler);

const httpServer = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(stats));
        return;
    }
    const method = req.headers['mcp-method'] || `(${req.method} without Mcp-Method)`;
    stats.requests[method] = (stats.requests[method] || 0) + 1;
    stats.lastHeaders[method] = mcpHeaders(req);
    nodeHandler(req, res);
});
httpServer.listen(Number(opts.port), '127.0.0.1', () => {
    process.stdout.write(`listening port=${httpServer.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
        holder.handler.close().finally(() => process.exit(0));
        httpServer.closeAllConnections();
    });
}
