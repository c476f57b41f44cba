// The MCP clients of both eras the interop tests drive: @modelcontextprotocol/client 2.4.0 (auto or
// pinned to 2026-07-28) and the 1.32.2 SDK client, each with elicitation and sampling handlers and a
// fetch that records every POST and its answer, so a test can check the wire, not only the SDK's
// parsed view (the 1.32.2 client lets unknown result fields through to the caller unchecked).
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** What the clients' handlers answer: a form elicitation is accepted with {name: ELICITED_NAME}. */
export const ELICITED_NAME = 'Ada';
/** ...and a sampling request with this text. */
export const SAMPLED_TEXT = 'Paris';

export const CLIENT_CAPABILITIES = { elicitation: { form: {} }, sampling: {} };

/** The client kinds, by the label the tests use: {sdk: 'v2'|'v1', mode?}. */
export const CLIENT_KINDS = {
    'v2 auto': { sdk: 'v2', mode: 'auto' },
    'v2 pinned': { sdk: 'v2', mode: { pin: '2026-07-28' } },
    '1.32.2': { sdk: 'v1' },
};

/**
 * A fetch that records each POST: {method (the JSON-RPC method, or '(response)'), headers (lower-case
 * names), body, status, contentType, text (the whole answer; a promise, since an event stream ends
 * later)}. GETs and DELETEs pass through unrecorded.
 */
function recordingFetch(exchanges) {
    return async (url, init = {}) => {
        const res = await fetch(url, init);
        if ((init.method || 'GET') !== 'POST') {
            return res;
        }
        let body;
        try {
            body = JSON.parse(typeof init.body === 'string' ? init.body : Buffer.from(init.body).toString());
        } catch {
            body = undefined;
        }
        const headers = {};
        for (const [k, v] of new Headers(init.headers).entries()) {
            headers[k.toLowerCase()] = v;
        }
        exchanges.push({
            method: body && body.method ? body.method : '(response)',
            headers,
            body,
            status: res.status,
            contentType: res.headers.get('content-type') || '',
            text: res.clone().text().catch(() => ''),
        });
        return res;
    };
}

/**
 * Connects a client of `kind` (a CLIENT_KINDS label) to `url`.
 * Returns {kind, client, transport, exchanges, elicitations, samplings, close()}: `elicitations`
 * and `samplings` are the params of the server-to-client requests its handlers answered (however
 * they came: a real request on a stream, or an input_required the v2 client fulfilled itself).
 * Rejects as the SDK's connect does (a pinned client in front of a server without 2026-07-28).
 */
export async function connectClient(kind, url, { name = 'mcpgw-era-test' } = {}) {
    const spec = CLIENT_KINDS[kind];
    if (!spec) {
        throw new Error(`unknown client kind ${kind}`);
    }
    const exchanges = [];
    const elicitations = [];
    const samplings = [];
    const onElicit = (params) => {
        elicitations.push(params);
        return { action: 'accept', content: { name: ELICITED_NAME } };
    };
    const onSample = (params) => {
        samplings.push(params);
        return { role: 'assistant', content: { type: 'text', text: SAMPLED_TEXT }, model: 'era-test-model' };
    };
    let client;
    let transport;
    if (spec.sdk === 'v2') {
        client = new V2Client({ name, version: '2.4.0' }, { capabilities: CLIENT_CAPABILITIES, versionNegotiation: { mode: spec.mode } });
        client.setRequestHandler('elicitation/create', async (r) => onElicit(r.params));
        client.setRequestHandler('sampling/createMessage', async (r) => onSample(r.params));
        transport = new V2Transport(new URL(url), { fetch: recordingFetch(exchanges) });
    } else {
        client = new V1Client({ name, version: '1.32.2' }, { capabilities: CLIENT_CAPABILITIES });
        client.setRequestHandler(ElicitRequestSchema, async (r) => onElicit(r.params));
        client.setRequestHandler(CreateMessageRequestSchema, async (r) => onSample(r.params));
        transport = new V1Transport(new URL(url), { fetch: recordingFetch(exchanges) });
    }
    await client.connect(transport);
    return {
        kind,
        client,
        transport,
        exchanges,
        elicitations,
        samplings,
        async close() {
            if (spec.sdk === 'v1' && transport.sessionId) {
                await transport.terminateSession().catch(() => {});
            }
            await client.close();
        },
    };
}

/**
 * Every page of a list method, through a client connectClient() made: {items, pages}. `pages` is
 * the number of POSTs of `method` on the wire, since the v2 client walks the cursors itself when
 * called without one (and the 1.32.2 client leaves that to the caller).
 */
export async function listAll(c, method) {
    const call = {
        'tools/list': [(p) => c.client.listTools(p), 'tools'],
        'prompts/list': [(p) => c.client.listPrompts(p), 'prompts'],
        'resources/list': [(p) => c.client.listResources(p), 'resources'],
        'resources/templates/list': [(p) => c.client.listResourceTemplates(p), 'resourceTemplates'],
    }[method];
    const before = c.exchanges.filter((x) => x.method === method).length;
    const items = [];
    let cursor;
    for (let n = 0; ; n++) {
        if (n >= 1000) {
            throw new Error(`${method}: more than 1000 pages`);
        }
        const page = await call[0](cursor ? { cursor } : {});
        items.push(...page[call[1]]);
        cursor = page.nextCursor;
        if (!cursor) {
            break;
        }
    }
    return { items, pages: c.exchanges.filter((x) => x.method === method).length - before };
}
