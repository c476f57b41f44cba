// HTTP helpers for talking MCP streamable HTTP by hand: raw POSTs, an SSE reader that timestamps
// every event, and a small session object (initialize, requests, notifications, DELETE).
import http from 'node:http';
import http2 from 'node:http2';

export const LATEST_PROTOCOL = '2025-11-25';
export const PROTOCOLS = ['2025-11-25', '2025-06-18', '2025-03-26'];

export const DEFAULT_HEADERS = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
};

function parseJson(text) {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

function headersToObject(h) {
    const out = {};
    for (const [k, v] of h.entries()) {
        out[k.toLowerCase()] = v;
    }
    return out;
}

/**
 * POSTs `body` (an object is JSON-encoded, a string or Buffer is sent as is) with fetch.
 * `headers` are merged over DEFAULT_HEADERS; a header set to null is left out.
 * Resolves with {status, headers (lower-case keys), text, json, messages}; `messages` are the
 * JSON-RPC messages of the reply whether it was JSON or an event stream.
 */
export async function rawPost(url, body, headers = {}, { method = 'POST', signal } = {}) {
    const h = {};
    for (const [k, v] of Object.entries({ ...DEFAULT_HEADERS, ...headers })) {
        if (v !== null && v !== undefined) {
            h[k] = v;
        }
    }
    let payload = body;
    if (body !== undefined && body !== null && typeof body === 'object' && !Buffer.isBuffer(body) &&
        !(body instanceof Uint8Array)) {
        payload = JSON.stringify(body);
    }
    const res = await fetch(url, { method, headers: h, body: payload, signal });
    const text = await res.text();
    const hdrs = headersToObject(res.headers);
    return { status: res.status, headers: hdrs, text, json: parseJson(text), messages: messagesOf(hdrs['content-type'], text) };
}

/** The JSON-RPC messages carried by a reply body of the given content type. */
export function messagesOf(contentType, text) {
    if (!text) {
        return [];
    }
    if ((contentType || '').startsWith('text/event-stream')) {
        return parseSseText(text).map((e) => parseJson(e.data)).filter((m) => m !== undefined);
    }
    const j = parseJson(text);
    if (j === undefined) {
        return [];
    }
    return Array.isArray(j) ? j : [j];
}

/**
 * Incremental parser for text/event-stream. feed() takes decoded text and returns the events it
 * completed: {event, data, id, retry}. Follows the WHATWG rules that matter here: lines end in
 * LF, CR or CRLF; "data" lines join with LF; a blank line dispatches; ':' starts a comment.
 */
export class SseParser {
    constructor() {
        this.buf = '';
        this.reset();
    }

    reset() {
        this.event = '';
        this.data = [];
        this.id = undefined;
        this.retry = undefined;
        this.hasField = false;
    }

    feed(text) {
        this.buf += text;
        const out = [];
        for (;;) {
            const m = /\r\n|\r|\n/.exec(this.buf);
            if (!m) {
                break;
            }
            // A lone CR at the very end may be the first half of CRLF: wait for more.
            if (m[0] === '\r' && m.index === this.buf.length - 1) {
                break;
            }
            const line = this.buf.slice(0, m.index);
            this.buf = this.buf.slice(m.index + m[0].length);
            if (line === '') {
                if (this.hasField) {
                    out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id, retry: this.retry });
                }
                this.reset();
                continue;
            }
            if (line.startsWith(':')) {
                continue;
            }
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let value = colon < 0 ? '' : line.slice(colon + 1);
            if (value.startsWith(' ')) {
                value = value.slice(1);
            }
            this.hasField = true;
            if (field === 'data') {
                this.data.push(value);
            } else if (field === 'event') {
                this.event = value;
            } else if (field === 'id') {
                this.id = value;
            } else if (field === 'retry') {
                this.retry = Number(value);
            }
        }
        return out;
    }
}

export function parseSseText(text) {
    const p = new SseParser();
    return p.feed(text.endsWith('\n') ? text : `${text}\n\n`);
}

/**
 * Reads an event stream from a fetch Response body (or any async iterable of bytes) and yields
 * each event as soon as it is complete, with `t` = performance.now() at arrival and `json` =
 * its data parsed (undefined if empty or not JSON).
 */
export async function* readSse(body) {
    const parser = new SseParser();
    const decoder = new TextDecoder();
    for await (const chunk of body) {
        const t = performance.now();
        for (const ev of parser.feed(decoder.decode(chunk, { stream: true }))) {
            yield { ...ev, t, json: ev.data ? parseJson(ev.data) : undefined };
        }
    }
    for (const ev of parser.feed(`${decoder.decode()}\n\n`)) {
        yield { ...ev, t: performance.now(), json: ev.data ? parseJson(ev.data) : undefined };
    }
}

let nextId = 1;
export function newId() {
    return nextId++;
}

/** A client-side gateway session: what initializeSession() returns. */
export class McpSession {
    constructor(url, sessionId, protocolVersion, initResult) {
        this.url = url;
        this.sessionId = sessionId;
        this.protocolVersion = protocolVersion;
        this.initResult = initResult;
        this.bearer = undefined; // with auth: the token every request of the session carries
    }

    headers(extra = {}) {
        const auth = this.bearer !== undefined ? { Authorization: `Bearer ${this.bearer}` } : {};
        return { 'Mcp-Session-Id': this.sessionId, 'MCP-Protocol-Version': this.protocolVersion, ...auth, ...extra };
    }

    /** POSTs a raw body under this session. */
    post(body, headers = {}) {
        return rawPost(this.url, body, this.headers(headers));
    }

    /**
     * Sends a request; resolves with {status, headers, response, messages}, where `response` is
     * the JSON-RPC response carrying our id (undefined if none came).
     */
    async request(method, params, { headers = {}, id = newId() } = {}) {
        const msg = { jsonrpc: '2.0', id, method };
        if (params !== undefined) {
            msg.params = params;
        }
        const r = await this.post(msg, headers);
        const response = r.messages.find((m) => m && m.id === id && ('result' in m || 'error' in m));
        return { ...r, response };
    }

    /** Like request() but throws unless a result came back; resolves with the result. */
    async call(method, params, opts) {
        const r = await this.request(method, params, opts);
        if (!r.response) {
            throw new Error(`${method}: HTTP ${r.status}, no JSON-RPC response: ${r.text.slice(0, 500)}`);
        }
        if (r.response.error) {
            const e = new Error(`${method}: JSON-RPC error ${r.response.error.code}: ${r.response.error.message}`);
            e.rpcError = r.response.error;
            throw e;
        }
        return r.response.result;
    }

    notify(method, params) {
        const msg = { jsonrpc: '2.0', method };
        if (params !== undefined) {
            msg.params = params;
        }
        return this.post(msg);
    }

    /** Calls a tool and returns the JSON object in its first text content (test backends). */
    async tool(name, args = {}) {
        const result = await this.call('tools/call', { name, arguments: args });
        return toolJson(result);
    }

    /** Every tool name tools/list gives this session, all pages followed, sorted. */
    async toolNames() {
        const names = [];
        let cursor;
        for (let pages = 0; pages < 50; pages++) {
            const r = await this.call('tools/list', cursor !== undefined ? { cursor } : {});
            names.push(...r.tools.map((t) => t.name));
            cursor = r.nextCursor;
            if (cursor === undefined) {
                return names.sort();
            }
        }
        throw new Error('tools/list never ended');
    }

    /** The JSON-RPC error a tools/call of name gets (with arguments any test tool takes), which
     * must come with HTTP 200; undefined when it succeeded. */
    async callError(name, args = { text: 'x', a: 1, b: 2 }) {
        const r = await this.request('tools/call', { name, arguments: args });
        if (r.status !== 200) {
            throw new Error(`tools/call ${name}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
        }
        return r.response?.error;
    }

    /**
     * Opens the session's GET stream. Resolves with {status, headers, events, raw, next(pred,
     * ms), close()} once the response headers are in; events accumulate as they arrive (each
     * {id, data, json}); raw is all text received (heartbeat comments included).
     */
    async openStream({ lastEventId, headers = {} } = {}) {
        const ac = new AbortController();
        const h = this.headers({ Accept: 'text/event-stream', ...headers });
        if (lastEventId !== undefined) {
            h['Last-Event-ID'] = lastEventId;
        }
        const res = await fetch(this.url, { method: 'GET', headers: h, signal: ac.signal });
        const s = {
            status: res.status,
            headers: res.headers,
            events: [],
            raw: '',
            ended: false,
            waiters: [],
            close() { ac.abort(); },
            /** Resolves with the first event (from the start) matching pred. */
            next(pred = () => true, ms = 10000) {
                const found = s.events.find(pred);
                if (found) {
                    return Promise.resolve(found);
                }
                return new Promise((resolve, reject) => {
                    const t = setTimeout(() => reject(new Error(`no matching event within ${ms} ms; got ${JSON.stringify(s.events.map((e) => e.data))}`)), ms);
                    s.waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e); } });
                });
            },
        };
        if (res.status !== 200) {
            s.text = await res.text();
            s.ended = true;
            return s;
        }
        (async () => {
            const parser = new SseParser();
            const decoder = new TextDecoder();
            try {
                for await (const chunk of res.body) {
                    const text = decoder.decode(chunk, { stream: true });
                    s.raw += text;
                    for (const ev of parser.feed(text)) {
                        const e = { ...ev, json: ev.data ? parseJson(ev.data) : undefined };
                        s.events.push(e);
                        s.waiters = s.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
                    }
                }
            } catch {
                // aborted by close()
            }
            s.ended = true;
        })();
        return s;
    }

    async delete() {
        const res = await fetch(this.url, { method: 'DELETE', headers: this.headers() });
        await res.arrayBuffer();
        return res.status;
    }
}

/** The parsed JSON of the first text content of a tools/call result. */
export function toolJson(result) {
    const text = toolText(result);
    const j = parseJson(text);
    if (j === undefined) {
        throw new Error(`tool result is not JSON text: ${text.slice(0, 300)}`);
    }
    return j;
}

export function toolText(result) {
    const c = (result && result.content) || [];
    const first = c.find((x) => x && x.type === 'text');
    if (!first) {
        throw new Error(`tool result has no text content: ${String(JSON.stringify(result)).slice(0, 300)}`);
    }
    return first.text;
}

export function initializeBody(protocolVersion = LATEST_PROTOCOL, { id = newId(), capabilities = {} } = {}) {
    return {
        jsonrpc: '2.0',
        id,
        method: 'initialize',
        params: { protocolVersion, capabilities, clientInfo: { name: 'mcpgw-tests', version: '0.1.0' } },
    };
}

/**
 * initialize + notifications/initialized. Throws with the reply text when anything is off.
 * Options: protocolVersion, capabilities, skipInitialized, headers, bearer (a token the session's
 * requests all carry as Authorization: Bearer).
 */
export async function initializeSession(url, { protocolVersion = LATEST_PROTOCOL, capabilities = {}, skipInitialized = false, headers = {}, bearer } = {}) {
    const body = initializeBody(protocolVersion, { capabilities });
    const r = await rawPost(url, body, bearer !== undefined ? { Authorization: `Bearer ${bearer}`, ...headers } : headers);
    const resp = r.messages.find((m) => m && m.id === body.id);
    if (r.status !== 200 || !resp || !resp.result) {
        throw new Error(`initialize failed: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
    }
    const sid = r.headers['mcp-session-id'];
    if (!sid) {
        throw new Error('initialize: no Mcp-Session-Id header in the reply');
    }
    const s = new McpSession(url, sid, resp.result.protocolVersion, resp.result);
    s.bearer = bearer;
    s.initReply = r;
    if (!skipInitialized) {
        const n = await s.notify('notifications/initialized');
        s.initializedStatus = n.status;
        if (n.status !== 202) {
            throw new Error(`notifications/initialized: HTTP ${n.status} (want 202): ${n.text.slice(0, 300)}`);
        }
    }
    return s;
}

/**
 * One request with node:http (for things fetch will not do: no Content-Type, a body the server
 * may refuse before reading it all, a connection of one's own (agent) or from another local
 * address). Resolves on the response even if writing the body failed afterwards.
 * {status, headers, text, json}.
 */
export function httpRequest(url, { method = 'POST', headers = {}, body, agent = false, localAddress } = {}) {
    return new Promise((resolve, reject) => {
        let settled = false;
        const req = http.request(url, { method, headers, agent, localAddress }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => {
                settled = true;
                resolve({ status: res.statusCode, headers: res.headers, text, json: parseJson(text) });
            });
            res.on('error', (err) => {
                if (!settled) {
                    settled = true;
                    resolve({ status: res.statusCode, headers: res.headers, text, json: parseJson(text), error: err });
                }
            });
        });
        req.on('error', (err) => {
            if (!settled) {
                settled = true;
                reject(err);
            }
        });
        if (body !== undefined) {
            req.write(body);
        }
        req.end();
    });
}

/**
 * HTTP/2 cleartext (prior knowledge) client for one origin. request() resolves with
 * {status, headers, text, json, messages}.
 */
export class H2Client {
    constructor(origin) {
        this.session = http2.connect(origin);
        this.session.on('error', () => {});
    }

    request(path, { method = 'POST', headers = {}, body } = {}) {
        return new Promise((resolve, reject) => {
            const h = { ':method': method, ':path': path };
            for (const [k, v] of Object.entries(headers)) {
                h[k.toLowerCase()] = v;
            }
            const stream = this.session.request(h, { endStream: body === undefined });
            let status = 0;
            let hdrs = {};
            let text = '';
            stream.setEncoding('utf8');
            stream.on('response', (rh) => {
                status = rh[':status'];
                hdrs = rh;
            });
            stream.on('data', (d) => (text += d));
            stream.on('end', () => resolve({ status, headers: hdrs, text, json: parseJson(text), messages: messagesOf(hdrs['content-type'], text), alpn: this.session.alpnProtocol }));
            stream.on('error', reject);
            if (body !== undefined) {
                stream.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
            }
        });
    }

    close() {
        return new Promise((resolve) => this.session.close(resolve));
    }
}

/** The header map from the test backends' headers tool's JSON, keys lower-cased. */
export function headersOf(j) {
    let h = j.headers ?? j;
    const out = {};
    if (Array.isArray(h)) {
        for (const e of h) {
            if (Array.isArray(e)) {
                out[String(e[0]).toLowerCase()] = e[1];
            } else if (e && typeof e === 'object') {
                out[String(e.name).toLowerCase()] = e.value;
            }
        }
        return out;
    }
    for (const [k, v] of Object.entries(h)) {
        out[k.toLowerCase()] = v;
    }
    return out;
}

/** The one JSON-RPC message of a reply (JSON or a one-event SSE stream), or undefined. */
export function onlyMessage(r) {
    return r.messages.length ? r.messages[r.messages.length - 1] : undefined;
}

/** True for a string of visible ASCII (0x21-0x7E) only, as MCP requires of session ids. */
export function isVisibleAscii(s) {
    return typeof s === 'string' && s.length > 0 && /^[\x21-\x7e]+$/.test(s);
}

/** A plain HTTP server on 127.0.0.1 and an ephemeral port, for fake backends written in a test:
 * {server, url (its /mcp), close()}. */
export function listenHttp(handler) {
    return new Promise((resolve) => {
        const server = http.createServer(handler);
        server.listen(0, '127.0.0.1', () => {
            resolve({ server, url: `http://127.0.0.1:${server.address().port}/mcp`, close: () => new Promise((r) => server.close(r)) });
        });
    });
}

/** The whole body of an incoming request, as text. */
export function readBody(req) {
    return new Promise((resolve) => {
        let b = '';
        req.setEncoding('utf8');
        req.on('data', (d) => (b += d));
        req.on('end', () => resolve(b));
    });
}
