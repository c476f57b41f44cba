// endpoints: virtual servers (docs/routing.md). Each endpoints[] path is its own MCP endpoint on
// the gateway's listeners: its tools/list holds only its servers' tools that pass its tools
// patterns (paged per endpoint), a call to anything else is answered exactly as an unknown tool,
// a path that is no endpoint is 404, and the policy still applies on top.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import {
    gatewayConfig,
    httpRequest,
    initializeBody,
    initializeSession,
    makeTempDir,
    startBackend,
    startGateway,
    startStack,
    toYaml,
    useSetup,
    waitFor,
} from '../lib/index.mjs';

const T = { timeout: 30000 };
const ISS = 'https://idp.mcpgw.test';
const RESOURCE = 'https://mcp.mcpgw.test/mcp';
const DEV_RESOURCE = 'https://dev.mcpgw.test/mcp';
const dir = makeTempDir('mcpgw-endpoints-');
let key;

const endpoints = [
    { path: '/mcp/alpha', servers: ['alpha'] },
    { path: '/mcp/dev', servers: ['alpha', 'beta'], tools: ['alpha/echo', 'beta/who*'] },
];

const env = useSetup(async () => {
    const stack = await startStack({ extra: { limits: { page_size: 2 }, endpoints } });
    // the policy on top: anonymous callers may use alpha's tools only
    const policed = await startGateway({
        servers: stack.servers,
        extra: { endpoints, policy: { default: 'deny', rules: [{ match: { anonymous: true }, allow: ['alpha/*'] }] } },
    });
    const plain = await startGateway({ servers: stack.servers }); // endpoints come by reload
    // gamma offers logging, alpha does not: each endpoint's initialize has its servers' union
    const gamma = await startBackend({ name: 'gamma', extraArgs: ['--caps-logging'] });
    const capped = await startGateway({
        servers: [stack.servers[0], { name: 'gamma', url: gamma.url, prefix: 'gamma_' }],
        extra: { endpoints: [{ path: '/mcp/alpha', servers: ['alpha'] }, { path: '/mcp/gamma', servers: ['gamma'] }] },
    });
    // with auth: /mcp/alpha's resource derived from auth.resource, /mcp/dev's written out
    key = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(dir, 'idp.jwks');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    const authed = await startGateway({
        servers: stack.servers,
        extra: {
            auth: { resource: RESOURCE, issuers: [{ issuer: ISS, jwks_file: jwksFile }] },
            endpoints: [{ path: '/mcp/alpha', servers: ['alpha'] }, { path: '/mcp/dev', servers: ['beta'], resource: DEV_RESOURCE }],
        },
    });
    return {
        stack,
        policed,
        plain,
        capped,
        authed,
        async stop() {
            await Promise.all([policed.stop(), plain.stop(), capped.stop(), authed.stop()]);
            await gamma.stop();
            return stack.stop();
        },
    };
}, { cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) });

const at = (gw, p) => `${gw.origin}${p}`;

async function token(aud) {
    return new SignJWT({ scope: 'tools' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
        .setSubject('alice')
        .setIssuer(ISS)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key.privateKey);
}

/** Every tool name of tools/list, page after page (the gateway pages by 2 here). */
test('each endpoint lists only its servers\' tools that pass its tools patterns, page by page', T, async () => {
    const gw = env.stack.gw;
    const all = await (await initializeSession(gw.url)).toolNames();
    assert.ok(all.some((n) => n.startsWith('alpha_')) && all.some((n) => n.startsWith('beta_')), all.join());
    const alpha = await (await initializeSession(at(gw, '/mcp/alpha'))).toolNames();
    assert.deepEqual(alpha, all.filter((n) => n.startsWith('alpha_')));
    assert.ok(alpha.length > 2, 'more than one page');
    assert.deepEqual(await (await initializeSession(at(gw, '/mcp/dev'))).toolNames(), ['alpha_echo', 'beta_whoami']);
});

test('a call to a tool outside the endpoint is an unknown tool; its own tools answer', T, async () => {
    const gw = env.stack.gw;
    const alpha = await initializeSession(at(gw, '/mcp/alpha'));
    assert.deepEqual(await alpha.callError('beta_echo'), { code: -32602, message: 'Unknown tool: beta_echo' });
    assert.equal((await alpha.tool('alpha_whoami')).backend, 'alpha');
    const dev = await initializeSession(at(gw, '/mcp/dev'));
    assert.deepEqual(await dev.callError('alpha_whoami'), { code: -32602, message: 'Unknown tool: alpha_whoami' });
    assert.deepEqual(await dev.callError('beta_echo'), { code: -32602, message: 'Unknown tool: beta_echo' });
    assert.equal((await dev.tool('beta_whoami')).backend, 'beta');
    assert.equal((await dev.call('tools/call', { name: 'alpha_echo', arguments: { text: 'hi' } })).isError, undefined);
    // the main path still has everything
    const main = await initializeSession(gw.url);
    assert.equal((await main.tool('beta_whoami')).backend, 'beta');
});

test('a session made on one endpoint is unknown (404) on another and on the main path, both ways', T, async () => {
    const gw = env.stack.gw;
    const sessions = {
        main: await initializeSession(gw.url),
        alpha: await initializeSession(at(gw, '/mcp/alpha')),
        dev: await initializeSession(at(gw, '/mcp/dev')),
    };
    const urls = { main: gw.url, alpha: at(gw, '/mcp/alpha'), dev: at(gw, '/mcp/dev') };
    for (const [made, s] of Object.entries(sessions)) {
        for (const [where, url] of Object.entries(urls)) {
            s.url = url;
            const r = await s.request('tools/call', { name: 'alpha_echo', arguments: { text: 'x' } });
            if (made === where) {
                assert.equal(r.status, 200, `${made} on ${where}: ${r.text}`);
            } else {
                assert.equal(r.status, 404, `${made} on ${where}: ${r.text}`);
                assert.equal(r.response.error.code, -32001, r.text);
                assert.equal(r.response.error.message, 'Session not found');
            }
        }
        s.url = urls[made];
    }
});

test('with auth, each endpoint has its own protected resource metadata and 401 challenge', T, async () => {
    const gw = env.authed;
    const doc = async (p) => {
        const r = await fetch(at(gw, `/.well-known/oauth-protected-resource${p}`));
        assert.equal(r.status, 200, p);
        return r.json();
    };
    assert.equal((await doc('/mcp')).resource, RESOURCE);
    assert.equal((await doc('')).resource, RESOURCE);
    assert.equal((await doc('/mcp/alpha')).resource, 'https://mcp.mcpgw.test/mcp/alpha');
    const dev = await doc('/mcp/dev');
    assert.equal(dev.resource, DEV_RESOURCE);
    assert.deepEqual(dev.authorization_servers, [ISS]);
    assert.equal((await fetch(at(gw, '/.well-known/oauth-protected-resource/mcp/nothing'))).status, 404);
    for (const p of ['/mcp', '/mcp/alpha', '/mcp/dev']) {
        const r = await initializeAt(at(gw, p));
        assert.equal(r.status, 401, p);
        assert.match(r.headers['www-authenticate'], new RegExp(`^Bearer resource_metadata="http://[^/]+/\\.well-known/oauth-protected-resource${p}"`), p);
    }
});

test('with auth, a token for one endpoint is refused (401) on another and on the main path', T, async () => {
    const gw = env.authed;
    const tokens = { '/mcp': await token(RESOURCE), '/mcp/alpha': await token('https://mcp.mcpgw.test/mcp/alpha'), '/mcp/dev': await token(DEV_RESOURCE) };
    for (const [made, tok] of Object.entries(tokens)) {
        // first where it belongs (so that the router caches it verified), then elsewhere
        const s = await initializeSession(at(gw, made), { bearer: tok });
        assert.ok((await s.toolNames()).length > 0, made);
        for (const where of Object.keys(tokens).filter((p) => p !== made)) {
            const r = await httpRequest(at(gw, where), {
                headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${tok}` },
                body: JSON.stringify(initializeBody()),
            });
            assert.equal(r.status, 401, `a token for ${made} on ${where}: ${r.text}`);
            assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
            assert.match(r.text, /bad_audience|audience/);
        }
    }
});

async function capabilitiesAt(url) {
    const s = await initializeSession(url);
    return s.initReply.messages.find((m) => m && m.result).result.capabilities;
}

test('initialize on an endpoint answers the union of its servers\' capabilities only', T, async () => {
    const gw = env.capped;
    await waitFor(async () => 'logging' in (await capabilitiesAt(gw.url)), { what: 'gamma up: logging offered', timeoutMs: 15000 });
    assert.deepEqual(await capabilitiesAt(at(gw, '/mcp/alpha')), { tools: { listChanged: true } });
    const gamma = await capabilitiesAt(at(gw, '/mcp/gamma'));
    assert.deepEqual(gamma.logging, {});
    assert.deepEqual(gamma.tools, { listChanged: true });
});

function initializeAt(url) {
    return httpRequest(url, {
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(initializeBody()),
    });
}

test('a path that is no endpoint is 404 (paths match whole)', T, async () => {
    for (const p of ['/mcp/nothing', '/mcp/alphabet', '/mcp/alpha/x']) {
        assert.equal((await initializeAt(at(env.stack.gw, p))).status, 404, p);
    }
});

test('a reload adding an endpoint restarts the routers, which then serve it; sessions survive', T, async () => {
    const gw = env.plain;
    const s = await initializeSession(gw.url);
    assert.equal((await initializeAt(at(gw, '/mcp/alpha'))).status, 404);
    const before = (await gw.status()).processes.filter((p) => p.role === 'router').map((p) => p.pid);
    const write = (extra) => fs.writeFileSync(gw.configFile, toYaml(gatewayConfig(gw.dir, { servers: env.stack.servers, extra })));
    write({ endpoints: [{ path: '/mcp/alpha', servers: ['alpha'] }] });
    const r = await gw.ctl(['reload']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /routers restarted/);
    await waitFor(async () => (await initializeAt(at(gw, '/mcp/alpha'))).status === 200, { what: 'the new endpoint', timeoutMs: 15000 });
    const after = (await gw.status()).processes.filter((p) => p.role === 'router').map((p) => p.pid);
    assert.ok(after.every((pid) => !before.includes(pid)), 'every router was restarted');
    const alpha = await initializeSession(at(gw, '/mcp/alpha'));
    assert.ok((await alpha.toolNames()).every((n) => n.startsWith('alpha_')));
    assert.equal((await s.tool('beta_whoami')).backend, 'beta'); // the main path's session goes on
});

test('the policy applies on top of the endpoint: both must allow', T, async () => {
    const gw = env.policed;
    assert.deepEqual(await (await initializeSession(at(gw, '/mcp/dev'))).toolNames(), ['alpha_echo']);
    const dev = await initializeSession(at(gw, '/mcp/dev'));
    assert.deepEqual(await dev.callError('beta_whoami'), { code: -32602, message: 'Unknown tool: beta_whoami' });
    const main = await initializeSession(gw.url);
    assert.ok((await main.toolNames()).includes('alpha_whoami'));
    assert.deepEqual(await main.callError('beta_whoami'), { code: -32602, message: 'Unknown tool: beta_whoami' });
});
