// auth with an issuer's jwks_uri: the broker fetches the key set (here over http from a loopback
// server the test runs) and pushes it to the routers. The gateway starts while the issuer is
// unreachable (401 until keys arrive), a new kid is fetched again at most once per 30 s however
// many unknown kids arrive, and the keys it had stay through an outage.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { freePort, initializeBody, initializeSession, rawPost, startStack, useSetup, waitFor } from '../lib/index.mjs';

const ISS = 'https://idp.jwks-uri.test';
const RESOURCE = 'https://mcp.jwks-uri.test/mcp';
const keys = {};
const idp = { served: { keys: [] }, fetches: 0, status: 200, server: null, port: 0 };

function startJwksServer() {
    idp.server = http.createServer((req, res) => {
        idp.fetches++;
        if (idp.status !== 200) {
            res.writeHead(idp.status).end('down');
            return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
        res.end(JSON.stringify(idp.served));
    });
    return new Promise((resolve) => idp.server.listen(idp.port, '127.0.0.1', resolve));
}

const stack = useSetup(async () => {
    keys.a = await generateKeyPair('ES256', { extractable: true });
    keys.b = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    keys.pubA = { ...(await exportJWK(keys.a.publicKey)), kid: 'a', alg: 'ES256', use: 'sig' };
    keys.pubB = { ...(await exportJWK(keys.b.publicKey)), kid: 'b', alg: 'RS256', use: 'sig' };
    keys.c = await generateKeyPair('ES256', { extractable: true });
    keys.pubC = { ...(await exportJWK(keys.c.publicKey)), kid: 'c', alg: 'ES256', use: 'sig' };
    idp.port = await freePort(); // nothing listens there yet: the issuer is unreachable
    return startStack({
        routers: 1, // one token cache: the rotation test knows which router verified a token
        extra: { auth: { resource: RESOURCE, issuers: [{ issuer: ISS, jwks_uri: `http://127.0.0.1:${idp.port}/jwks` }] } },
    });
}, { cleanup: () => new Promise((resolve) => (idp.server ? idp.server.close(resolve) : resolve())) });

function token(kid, { sub = 'carol' } = {}) {
    const alg = kid === 'b' ? 'RS256' : 'ES256';
    const key = (keys[kid] ?? keys.a).privateKey;
    return new SignJWT({ scope: 'tools' }).setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .setIssuer(ISS).setAudience(RESOURCE).setSubject(sub).setIssuedAt().setExpirationTime('5m').sign(key);
}

async function status(t) {
    return (await rawPost(stack.gw.url, initializeBody(), { Authorization: `Bearer ${t}` })).status;
}

test('started with the issuer unreachable: 401 until its keys arrive, then tokens work', { timeout: 40000 }, async () => {
    const t = await token('a');
    assert.equal(await status(t), 401);
    assert.match(stack.gw.logs(), /msg="jwks fetch failed: keeping the last good keys" issuer="https:\/\/idp\.jwks-uri\.test"/);
    idp.served = { keys: [keys.pubA] };
    await startJwksServer();
    await waitFor(async () => (await status(t)) === 200, { what: 'keys fetched and pushed', timeoutMs: 30000, intervalMs: 250 });
    const s = await initializeSession(stack.gw.url, { bearer: t });
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
    const m = await (await fetch(`${stack.gw.adminOrigin}/metrics`)).text();
    assert.match(m, /^mcpgw_jwks_fetches_total\{result="ok"\} [1-9]/m);
    assert.match(m, /^mcpgw_jwks_fetches_total\{result="error"\} [1-9]/m);
});

test('a new kid: fetched again (at most once per 30 s), a kid flood fetches nothing more, an outage keeps the keys', { timeout: 60000 }, async () => {
    idp.served = { keys: [keys.pubA, keys.pubB] };
    const tb = await token('b');
    assert.equal(await status(tb), 401, 'kid b is unknown until the set is fetched again');
    await waitFor(async () => (await status(tb)) === 200, { what: 'kid b after a refetch', timeoutMs: 45000, intervalMs: 250 });
    const after = idp.fetches;
    // a flood of unknown kids: every one refused, no fetch for them
    const flood = await Promise.all(Array.from({ length: 60 }, (_, i) => token(`nobody-${i}`).then(status)));
    assert.ok(flood.every((x) => x === 401), `flood statuses: ${[...new Set(flood)]}`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(idp.fetches, after, 'no refetch storm');
    // the issuer goes down: the keys the gateway has stay in use
    idp.status = 503;
    assert.equal(await status(await token('a', { sub: 'dave' })), 200);
    assert.equal(await status(await token('b', { sub: 'erin' })), 200);
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});

test('key rotation: once the issuer drops kid a and adds c, a token of a is refused (cached before or not) and c works', { timeout: 60000 }, async () => {
    idp.status = 200;
    const ta = await token('a', { sub: 'rotation' });
    assert.equal(await status(ta), 200, 'kid a works (and is now cached)');
    idp.served = { keys: [keys.pubB, keys.pubC] };
    const tc = await token('c');
    await waitFor(async () => (await status(tc)) === 200, { what: 'kid c after a refetch', timeoutMs: 45000, intervalMs: 250 });
    assert.equal(await status(ta), 401, 'the token of the removed key');
    assert.equal(await status(await token('a', { sub: 'fresh' })), 401, 'a new token of the removed key');
    assert.equal(await status(await token('b', { sub: 'kept' })), 200, 'a key that stayed');
});
