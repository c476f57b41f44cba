// mcpgw as an OAuth 2.1 resource server (auth): every MCP request needs a bearer token its
// issuer signed (keys from a jwks_file, one ES256 and one RS256 key made here with jose); the
// 401 and 403 challenges name the protected resource metadata, which is served; a session is
// bound to the subject that created it; hostile tokens are refused, each with its status and a
// reason in mcpgw_auth_failures_total.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import {
    DEFAULT_HEADERS,
    gatewayConfig,
    headersOf,
    runBroker,
    toYaml,
    waitFor,
    httpRequest,
    initializeBody,
    initializeSession,
    makeTempDir,
    onlyMessage,
    rawPost,
    toolJson,
    useSetup,
    startStack,
} from '../lib/index.mjs';

const T = { timeout: 30000 };
const ISS = 'https://idp.mcpgw.test';
const RESOURCE = 'https://mcp.mcpgw.test/mcp';
const SCOPE = 'mcp:use';

const keys = {};
const dir = makeTempDir('mcpgw-auth-');

async function makeKeys() {
    keys.es = await generateKeyPair('ES256', { extractable: true });
    keys.rs = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    keys.other = await generateKeyPair('ES256', { extractable: true }); // in no key set
    const es = { ...(await exportJWK(keys.es.publicKey)), kid: 'es1', alg: 'ES256', use: 'sig' };
    const rs = { ...(await exportJWK(keys.rs.publicKey)), kid: 'rs1', alg: 'RS256', use: 'sig' };
    keys.rsPem = await exportSPKI(keys.rs.publicKey);
    const file = path.join(dir, 'idp.jwks');
    fs.writeFileSync(file, JSON.stringify({ keys: [es, rs] }));
    return file;
}

let authConfig;
const stack = useSetup(async () => {
    const jwksFile = await makeKeys();
    authConfig = {
        resource: RESOURCE,
        issuers: [{ issuer: ISS, jwks_file: jwksFile }],
        scopes_supported: [SCOPE, 'tools'],
        required_scopes: [SCOPE],
    };
    return startStack({ extra: { auth: authConfig } });
}, { cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) });

/** A token the test issuer signs; opts change what a hostile one needs changed. */
async function token({ sub = 'alice', alg = 'ES256', kid, scope = `${SCOPE} tools`, iss = ISS, aud = RESOURCE,
    exp = '5m', nbf, header = {}, key } = {}) {
    const k = key ?? (alg === 'RS256' ? keys.rs.privateKey : keys.es.privateKey);
    let j = new SignJWT(scope === null ? {} : { scope })
        .setProtectedHeader({ alg, kid: kid ?? (alg === 'RS256' ? 'rs1' : 'es1'), typ: 'at+jwt', ...header })
        .setSubject(sub)
        .setIssuedAt();
    if (iss !== null) {
        j = j.setIssuer(iss);
    }
    if (aud !== null) {
        j = j.setAudience(aud);
    }
    if (exp !== null) {
        j = j.setExpirationTime(exp);
    }
    if (nbf !== undefined) {
        j = j.setNotBefore(nbf);
    }
    return j.sign(k);
}

const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

function bearer(t) {
    return { Authorization: `Bearer ${t}` };
}

async function metrics() {
    const r = await fetch(`${stack.gw.adminOrigin}/metrics`);
    return r.text();
}

/** mcpgw_auth_failures_total{reason} summed over the routers. */
function counter(text, reason) {
    const re = new RegExp(`^mcpgw_auth_failures_total\\{[^}]*reason="${reason}"\\} (\\d+)$`, 'gm');
    let n = 0;
    for (const m of text.matchAll(re)) {
        n += Number(m[1]);
    }
    return n;
}

function challengeOf(r) {
    const h = r.headers['www-authenticate'];
    assert.ok(h, `a WWW-Authenticate header (HTTP ${r.status}): ${r.text.slice(0, 200)}`);
    return h;
}

test('a valid ES256 or RS256 token initializes a session and calls tools; the token never reaches a backend', T, async () => {
    for (const alg of ['ES256', 'RS256']) {
        const t = await token({ alg, sub: `user-${alg}` });
        const s = await initializeSession(stack.gw.url, { bearer: t });
        assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
        const r = await s.request('tools/call', { name: 'alpha_headers', arguments: {} });
        assert.equal(r.status, 200, r.text);
        const got = headersOf(toolJson(r.response.result));
        assert.equal(got.authorization, undefined, 'the client\'s bearer token must not reach the backend');
        assert.ok(!Object.values(got).some((v) => String(v).includes(t.slice(-20))), 'no part of the token in a backend header');
    }
    const logs = stack.gw.logs();
    assert.match(logs, /msg=audit request_id=\S+ session=\S+ subject="user-ES256" tool=alpha_whoami backend=alpha/);
    assert.match(logs, /msg=audit request_id=\S+ session=\S+ subject="user-RS256" tool=alpha_whoami/);
    const ls = await stack.gw.ctl(['sessions']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout.split('\n')[0], /\bSUBJECT$/);
    assert.match(ls.stdout, /\buser-ES256\n/);
});

test('no token: 401 with a challenge naming the metadata, which is served as RFC 9728 says', T, async () => {
    const r = await rawPost(stack.gw.url, initializeBody());
    assert.equal(r.status, 401, r.text);
    const h = challengeOf(r);
    const url = `${stack.gw.origin}/.well-known/oauth-protected-resource/mcp`;
    assert.equal(h, `Bearer resource_metadata="${url}", scope="${SCOPE}"`);
    assert.ok(onlyMessage(r)?.error, `a JSON-RPC error body: ${r.text}`);
    for (const u of [url, `${stack.gw.origin}/.well-known/oauth-protected-resource`]) {
        const m = await fetch(u);
        assert.equal(m.status, 200, u);
        assert.match(m.headers.get('content-type'), /application\/json/);
        assert.deepEqual(await m.json(), {
            resource: RESOURCE,
            authorization_servers: [ISS],
            bearer_methods_supported: ['header'],
            scopes_supported: [SCOPE, 'tools'],
        });
    }
    // GET and DELETE need the token too; and a session id alone never authenticates
    const s = await initializeSession(stack.gw.url, { bearer: await token() });
    for (const method of ['GET', 'DELETE']) {
        const x = await httpRequest(stack.gw.url, { method, headers: { 'Mcp-Session-Id': s.sessionId, Accept: 'text/event-stream' } });
        assert.equal(x.status, 401, `${method} without a token: ${x.text}`);
    }
    const alone = await rawPost(stack.gw.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'Mcp-Session-Id': s.sessionId });
    assert.equal(alone.status, 401, alone.text);
    // a scheme other than Bearer is no token
    const basic = await rawPost(stack.gw.url, initializeBody(), { Authorization: 'Basic YWxpY2U6cHc=' });
    assert.equal(basic.status, 401);
    assert.doesNotMatch(challengeOf(basic), /error=/);
});

test('an expired token: 401 invalid_token, counted', T, async () => {
    const before = counter(await metrics(), 'expired');
    const t = await token({ exp: Math.floor(Date.now() / 1000) - 120 }); // past the 60 s leeway
    const r = await rawPost(stack.gw.url, initializeBody(), bearer(t));
    assert.equal(r.status, 401, r.text);
    assert.match(challengeOf(r), /, error="invalid_token"$/);
    assert.match(onlyMessage(r).error.message, /expired/);
    assert.equal(counter(await metrics(), 'expired'), before + 1);
});

test('a valid token without the required scope: 403 insufficient_scope naming it', T, async () => {
    const r = await rawPost(stack.gw.url, initializeBody(), bearer(await token({ scope: 'tools' })));
    assert.equal(r.status, 403, r.text);
    const h = challengeOf(r);
    assert.match(h, /error="insufficient_scope"/);
    assert.match(h, new RegExp(`scope="${SCOPE}"`));
    const none = await rawPost(stack.gw.url, initializeBody(), bearer(await token({ scope: null })));
    assert.equal(none.status, 403, none.text);
});

test('a session used with another subject\'s token is unknown (404); its own subject\'s new token works', T, async () => {
    const s = await initializeSession(stack.gw.url, { bearer: await token({ sub: 'alice' }) });
    const before = counter(await metrics(), 'subject_mismatch');
    const bob = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} }, { headers: bearer(await token({ sub: 'bob' })) });
    assert.equal(bob.status, 404, bob.text);
    // the same sub from a key of the same issuer: still alice
    const again = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} }, { headers: bearer(await token({ sub: 'alice', alg: 'RS256' })) });
    assert.equal(again.status, 200, again.text);
    const del = await httpRequest(stack.gw.url, { method: 'DELETE', headers: { 'Mcp-Session-Id': s.sessionId, ...bearer(await token({ sub: 'bob' })) } });
    assert.equal(del.status, 404, 'bob cannot end alice\'s session');
    assert.equal(counter(await metrics(), 'subject_mismatch'), before + 2);
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha', 'alice\'s session lives on');
});

test('hostile tokens are refused, each with its status and reason', T, async () => {
    const good = await token();
    const [h, p, sig] = good.split('.');
    const flip = (str, i) => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISS, aud: RESOURCE, sub: 'mallory', scope: SCOPE, iat: now, exp: now + 300 };
    const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'rs1' }).sign(new TextEncoder().encode(keys.rsPem));
    const es = Buffer.from(sig, 'base64url');
    const cases = [
        ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, 401, 'bad_alg'],
        ['alg none, kid of a key', `${b64({ alg: 'none', kid: 'es1' })}.${b64(claims)}.`, 401, 'bad_alg'],
        ['HS256 signed with the RSA public key', hmac, 401, 'bad_alg'],
        ['RS256 header on the ES256 key', await token({ alg: 'RS256', kid: 'es1' }).catch(() => null) ?? `${b64({ alg: 'RS256', kid: 'es1' })}.${p}.${sig}`, 401, 'bad_alg'],
        ['wrong iss', await token({ iss: 'https://evil.test' }), 401, 'bad_issuer'],
        ['missing iss', await token({ iss: null }), 401, 'bad_issuer'],
        ['wrong aud', await token({ aud: 'https://other.test/mcp' }), 401, 'bad_audience'],
        ['missing aud', await token({ aud: null }), 401, 'bad_audience'],
        ['nbf in the future', await token({ nbf: now + 600 }), 401, 'not_yet_valid'],
        ['no exp', await token({ exp: null }), 401, 'no_expiry'],
        ['unknown kid', await token({ kid: 'nobody' }), 401, 'unknown_kid'],
        ['a key in no set, with a known kid', await token({ key: keys.other.privateKey }), 401, 'bad_signature'],
        ['signature bit flip', `${h}.${p}.${flip(sig, 5)}`, 401, 'bad_signature'],
        ['payload bit flip', `${h}.${flip(p, 10)}.${sig}`, 401, null],
        ['ES256 signature of the wrong length', `${h}.${p}.${Buffer.concat([es, Buffer.from([0])]).toString('base64url')}`, 401, 'bad_signature'],
        ['truncated', good.slice(0, good.length - 10), 401, null],
        ['two parts', `${h}.${p}`, 401, 'malformed'],
        ['a JWE (five parts)', `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`, 401, 'jwe'],
        ['crit header', `${b64({ alg: 'ES256', kid: 'es1', crit: ['x'], x: 1 })}.${p}.${sig}`, 401, null],
        ['not base64url', 'a$b.c$d.e$f', 401, 'malformed'],
        ['oversized', `${h}.${b64({ ...claims, pad: 'x'.repeat(9000) })}.${sig}`, 401, 'too_big'],
        ['duplicate JSON keys', `${h}.${b64(`{"iss":"${ISS}","sub":"a","sub":"b","aud":"${RESOURCE}","exp":${now + 300}}`)}.${sig}`, 401, null],
        ['empty bearer', '', 401, null],
    ];
    assert.ok(cases.length >= 20);
    const seen = {};
    for (const [what, t, status, reason] of cases) {
        const before = reason ? counter(await metrics(), reason) : 0;
        const r = await rawPost(stack.gw.url, initializeBody(), bearer(t));
        assert.equal(r.status, status, `${what}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
        assert.ok(onlyMessage(r)?.error, `${what}: a JSON-RPC error body`);
        if (t !== '') {
            assert.match(challengeOf(r), /error="invalid_token"/, what);
        }
        if (reason) {
            assert.ok(counter(await metrics(), reason) > before, `${what}: counted as ${reason}`);
            seen[reason] = true;
        }
    }
    // two Authorization headers, a token in the query: 400 invalid_request (RFC 6750 3.1)
    const two = await httpRequest(stack.gw.url, {
        headers: [
            'Host', `127.0.0.1:${stack.gw.port}`, 'Content-Type', 'application/json', 'Accept', DEFAULT_HEADERS.Accept,
            'Authorization', `Bearer ${good}`, 'Authorization', `Bearer ${good}`,
        ],
        body: JSON.stringify(initializeBody()),
    });
    assert.equal(two.status, 400, two.text);
    assert.match(two.headers['www-authenticate'], /error="invalid_request"/);
    const q = await rawPost(`${stack.gw.url}?access_token=${good}`, initializeBody(), bearer(good));
    assert.equal(q.status, 400, q.text);
    const m = await metrics();
    assert.ok(counter(m, 'two_headers') >= 1 && counter(m, 'query_token') >= 1);
    // and the gateway still serves
    const s = await initializeSession(stack.gw.url, { bearer: good });
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});

test('a jwks_file that gives no key is refused with its path at -t', T, async () => {
    const file = path.join(dir, 'bad.yaml');
    const jwks = path.join(dir, 'missing.jwks');
    fs.writeFileSync(file, toYaml(gatewayConfig(dir, { extra: { auth: { resource: RESOURCE, issuers: [{ issuer: ISS, jwks_file: jwks }] } } })));
    const t = await runBroker(['-t', '-c', file]);
    assert.equal(t.code, 1);
    assert.match(t.stderr, new RegExp(`auth\\.issuers\\[0\\]\\.jwks_file: ${jwks}: No such file`));
    fs.writeFileSync(jwks, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }] }));
    const u = await runBroker(['-t', '-c', file]);
    assert.equal(u.code, 1, 'a set of symmetric keys only is no key set');
    assert.match(u.stderr, /jwks_file: /);
});

test('a reload that turns auth off or on applies it (routers restart)', T, async () => {
    const write = (extra) => fs.writeFileSync(stack.gw.configFile, toYaml(gatewayConfig(stack.gw.dir, { servers: stack.servers, extra })));
    const open = async () => (await rawPost(stack.gw.url, initializeBody())).status;
    try {
        write({});
        const r = await stack.gw.ctl(['reload']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /routers restarted/);
        await waitFor(async () => (await open()) === 200, { what: 'initialize without a token', timeoutMs: 15000 });
    } finally {
        write({ auth: authConfig });
        assert.equal((await stack.gw.ctl(['reload'])).code, 0);
    }
    await waitFor(async () => (await open()) === 401, { what: 'auth again', timeoutMs: 15000 });
    const s = await initializeSession(stack.gw.url, { bearer: await token() });
    assert.equal((await s.tool('alpha_whoami')).backend, 'alpha');
});


test('two issuers: a token naming one issuer with a kid of the other\'s set is refused; each issuer\'s own token works', T, async () => {
    const ISS2 = 'https://idp2.mcpgw.test';
    const file2 = path.join(dir, 'idp2.jwks');
    const other = { ...(await exportJWK(keys.other.publicKey)), kid: 'o1', alg: 'ES256', use: 'sig' };
    fs.writeFileSync(file2, JSON.stringify({ keys: [other] }));
    const two = await startStack({
        routers: 1,
        extra: { auth: { resource: RESOURCE, issuers: [{ issuer: ISS, jwks_file: path.join(dir, 'idp.jwks') }, { issuer: ISS2, jwks_file: file2 }] } },
    });
    try {
        const post = async (t) => (await rawPost(two.gw.url, initializeBody(), bearer(t))).status;
        assert.equal(await post(await token({ iss: ISS2, kid: 'o1', key: keys.other.privateKey })), 200, 'the second issuer\'s own token');
        assert.equal(await post(await token()), 200, 'the first issuer\'s own token');
        assert.equal(await post(await token({ iss: ISS, kid: 'o1', key: keys.other.privateKey })), 401, 'iss of the first, kid and key of the second');
        assert.equal(await post(await token({ iss: ISS2, kid: 'es1' })), 401, 'iss of the second, kid and key of the first');
        const m = await (await fetch(`${two.gw.adminOrigin}/metrics`)).text();
        assert.match(m, /mcpgw_auth_failures_total\{[^}]*reason="unknown_kid"\} 2/);
    } finally {
        await two.stop();
    }
});
