// auth against a real authorization server: npm oidc-provider (tests/lib/idp.mjs) issues the
// tokens by the client credentials grant with resource indicators; the gateway takes them, and
// the official SDK client (1.32.2) with its ClientCredentialsProvider goes 401 -> metadata ->
// authorization server metadata -> token -> retry through the gateway on its own.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { IDP_CLIENT, startIdp } from '../lib/idp.mjs';
import { freePort, initializeBody, initializeSession, makeTempDir, rawPost, startStack, useSetup } from '../lib/index.mjs';

const T = { timeout: 30000 };
const SCOPE = 'mcp:use';
const dir = makeTempDir('mcpgw-idp-');
let idp;

const stack = useSetup(async () => {
    // the SDK wants the metadata's resource to be the URL it talks to: the port is chosen first
    const port = await freePort();
    const resource = `http://127.0.0.1:${port}/mcp`;
    idp = await startIdp({ dir, resource, scope: `${SCOPE} tools` });
    const st = await startStack({
        extra: {
            listen: [{ address: '127.0.0.1', port }],
            auth: {
                resource,
                issuers: [{ issuer: idp.issuer, jwks_file: idp.jwksFile }],
                scopes_supported: [SCOPE, 'tools'],
                required_scopes: [SCOPE],
            },
        },
    });
    return { ...st, resource };
}, {
    cleanup: async () => {
        await idp?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    },
});

test('a token from the provider initializes a session and calls a tool', T, async () => {
    const t = await idp.token();
    const [h] = t.split('.');
    assert.equal(JSON.parse(Buffer.from(h, 'base64url')).alg, 'ES256');
    const s = await initializeSession(stack.gw.url, { bearer: t });
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
    assert.match(stack.gw.logs(), new RegExp(`msg=audit request_id=\\S+ session=\\S+ subject="${IDP_CLIENT.id}" tool=alpha_whoami`));
});

test('a provider token without the required scope: 403 insufficient_scope', T, async () => {
    const r = await rawPost(stack.gw.url, initializeBody(), { Authorization: `Bearer ${await idp.token({ scope: 'tools' })}` });
    assert.equal(r.status, 403, r.text);
    assert.match(r.headers['www-authenticate'], /error="insufficient_scope"/);
});

test('the SDK client with a client credentials provider: 401 -> metadata -> token -> retry', T, async () => {
    const authProvider = new ClientCredentialsProvider({
        clientId: IDP_CLIENT.id,
        clientSecret: IDP_CLIENT.secret,
        scope: `${SCOPE} tools`,
        expectedIssuer: idp.issuer,
    });
    const client = new Client({ name: 'mcpgw-auth-test', version: '0.1.0' });
    const transport = new StreamableHTTPClientTransport(new URL(stack.gw.url), { authProvider });
    await client.connect(transport);
    try {
        assert.ok(authProvider.tokens()?.access_token, 'the SDK got a token from the provider');
        const tools = await client.listTools();
        assert.ok(tools.tools.some((x) => x.name === 'alpha_whoami'));
        const r = await client.callTool({ name: 'alpha_whoami', arguments: {} });
        assert.equal(JSON.parse(r.content[0].text).backend, 'alpha');
    } finally {
        await client.close();
    }
    // the first attempt was refused with the challenge, then retried with the token
    const logs = stack.gw.logs();
    assert.match(logs, /status=401 code=-32600 reason="Unauthorized: this gateway needs an Authorization: Bearer token"/);
});
