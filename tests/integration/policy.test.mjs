// policy: what each caller may see and call (docs/policy.md). Tokens signed by a test issuer (a
// jwks_file, as auth.test.mjs does) with scopes and a groups claim: two callers of different
// groups see different tools/list pages and get "Unknown tool" for each other's tools, exactly
// as for a tool that does not exist; deny overrides allow within a rule; default deny; the audit
// line names the decision and the rule; and, on a gateway without auth, anonymous callers are
// placed by their address.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import {
    gatewayConfig,
    initializeSession,
    makeTempDir,
    startGateway,
    startStack,
    toYaml,
    useSetup,
    waitFor,
} from '../lib/index.mjs';

const T = { timeout: 30000 };
const ISS = 'https://idp.mcpgw.test';
const RESOURCE = 'https://mcp.mcpgw.test/mcp';
const dir = makeTempDir('mcpgw-policy-');
let key;
let stackExtra;

const policy = {
    default: 'deny',
    rules: [
        { match: { scopes: ['admin'] }, allow: ['*'] }, // rule 0
        { match: { claims: { groups: 'ops' } }, allow: ['alpha/*'], deny: ['alpha/add'] }, // rule 1
        { match: { claims: { groups: 'dev' } }, allow: ['beta/echo', 'beta/whoami'] }, // rule 2
    ],
};

// Without auth every caller is anonymous: 10/8 gets everything, loopback only alpha's echo.
const anonymousPolicy = {
    default: 'deny',
    rules: [
        { match: { anonymous: true, addresses: ['10.0.0.0/8'] }, allow: ['*'] },
        { match: { anonymous: true, addresses: ['127.0.0.0/8', '::1'] }, allow: ['alpha/echo'] },
    ],
};

const env = useSetup(async () => {
    key = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(dir, 'idp.jwks');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    stackExtra = {
        auth: { resource: RESOURCE, issuers: [{ issuer: ISS, jwks_file: jwksFile }] },
        limits: { page_size: 2 },
        policy,
    };
    const stack = await startStack({ extra: stackExtra });
    const anon = await startGateway({ servers: stack.servers, extra: { policy: anonymousPolicy } });
    // beta's echo renamed (servers[].tools): the policy names it by the backend's own name
    const renamed = await startGateway({
        servers: [stack.servers[0], { ...stack.servers[1], tools: { rename: { echo: 'say' } } }],
        extra: { policy: { default: 'deny', rules: [{ match: { anonymous: true }, allow: ['beta/echo'], deny: ['beta/say'] }] } },
    });
    return {
        stack,
        anon,
        renamed,
        async stop() {
            await Promise.all([anon.stop(), renamed.stop()]);
            return stack.stop();
        },
    };
}, { cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) });

async function token(sub, claims = {}) {
    return new SignJWT({ scope: 'tools', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
        .setSubject(sub)
        .setIssuer(ISS)
        .setAudience(RESOURCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key.privateKey);
}

async function sessionOf(sub, claims) {
    return initializeSession(env.stack.gw.url, { bearer: await token(sub, claims) });
}

/** Every tool name of tools/list, page after page (the gateway pages by 2 here). */
function deniedCount(text, kind) {
    let n = 0;
    for (const m of text.matchAll(new RegExp(`^mcpgw_policy_denied_total\\{[^}]*kind="${kind}"\\} (\\d+)$`, 'gm'))) {
        n += Number(m[1]);
    }
    return n;
}

test('two callers of different groups see different tools and get Unknown tool for the other\'s', T, async () => {
    const ops = await sessionOf('alice', { groups: ['staff', 'ops'] });
    const dev = await sessionOf('bob', { groups: 'dev' });
    const opsTools = await ops.toolNames();
    const devTools = await dev.toolNames();
    assert.ok(opsTools.includes('alpha_echo') && opsTools.includes('alpha_whoami'), opsTools.join());
    assert.ok(!opsTools.some((n) => n.startsWith('beta_')), opsTools.join());
    assert.deepEqual(devTools, ['beta_echo', 'beta_whoami']);
    // what the other sees is, for each, a tool that does not exist: the same code and message
    const missing = await ops.callError('alpha_no_such_tool');
    assert.deepEqual(missing, { code: -32602, message: 'Unknown tool: alpha_no_such_tool' });
    assert.deepEqual(await ops.callError('beta_echo'), { code: -32602, message: 'Unknown tool: beta_echo' });
    assert.deepEqual(await dev.callError('alpha_echo'), { code: -32602, message: 'Unknown tool: alpha_echo' });
    // and each calls its own
    assert.equal((await ops.tool('alpha_whoami')).backend, 'alpha');
    assert.equal((await dev.tool('beta_whoami')).backend, 'beta');
});

test('deny overrides allow within a rule; the audit line names the decision and the rule', T, async () => {
    const ops = await sessionOf('alice', { groups: 'ops' });
    assert.ok(!(await ops.toolNames()).includes('alpha_add'), 'alpha_add is denied to ops');
    assert.deepEqual(await ops.callError('alpha_add'), { code: -32602, message: 'Unknown tool: alpha_add' });
    const admin = await sessionOf('root', { scope: 'tools admin', groups: 'ops' }); // rule 0 first
    assert.ok((await admin.toolNames()).includes('alpha_add'));
    assert.equal((await admin.call('tools/call', { name: 'alpha_add', arguments: { a: 2, b: 3 } })).isError, undefined);
    const logs = await waitFor(() => {
        const l = env.stack.gw.logs();
        return /subject="root" tool=alpha_add .*decision=allowed rule=0/.test(l) ? l : null;
    }, { what: 'the audit line of the allowed call' });
    assert.match(logs, /msg=audit request_id=\S+ session=\S+ subject="alice" tool=alpha_add backend=alpha status=200 outcome=unknown_tool decision=denied rule=1/);
    const m = await (await fetch(`${env.stack.gw.adminOrigin}/metrics`)).text();
    assert.ok(deniedCount(m, 'tool') >= 1, 'mcpgw_policy_denied_total{kind="tool"}');
});

test('a caller no rule matches gets the default: deny, an empty list', T, async () => {
    const nobody = await sessionOf('carol', { groups: ['sales'] });
    assert.deepEqual(await nobody.toolNames(), []);
    assert.deepEqual(await nobody.callError('alpha_echo'), { code: -32602, message: 'Unknown tool: alpha_echo' });
    assert.match(env.stack.gw.logs(), /subject="carol" tool=alpha_echo backend=alpha status=200 outcome=unknown_tool decision=denied rule=default/);
});

test('without auth, anonymous callers are placed by their address', T, async () => {
    const s = await initializeSession(env.anon.url);
    assert.deepEqual(await s.toolNames(), ['alpha_echo']); // 127.0.0.1: the second rule, not the 10/8 one
    assert.equal((await s.call('tools/call', { name: 'alpha_echo', arguments: { text: 'hi' } })).isError, undefined);
    assert.deepEqual(await s.callError('alpha_whoami'), { code: -32602, message: 'Unknown tool: alpha_whoami' });
});

test('a tool renamed by servers[].tools is allowed and denied by the backend\'s own name', T, async () => {
    const s = await initializeSession(env.renamed.url);
    assert.deepEqual(await s.toolNames(), ['beta_say']); // beta/say, its new name, denies nothing
    assert.equal((await s.call('tools/call', { name: 'beta_say', arguments: { text: 'hi' } })).isError, undefined);
    assert.deepEqual(await s.callError('beta_whoami'), { code: -32602, message: 'Unknown tool: beta_whoami' });
});

test('mcpgwctl policy test shows the rule a caller matches and the decision for a target', T, async () => {
    const ctl = async (gw, args) => {
        const r = await gw.ctl(['policy', 'test', ...args]);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout;
    };
    const gw = env.stack.gw;
    let out = await ctl(gw, ['--subject', 'alice', '--claim', 'groups=staff', '--claim', 'groups=ops', 'alpha/echo']);
    assert.match(out, /^target +alpha\/echo$/m);
    assert.match(out, /^rule +1 \(policy\.rules\[1\], line \d+\)$/m);
    assert.match(out, /^decision +allowed$/m);
    assert.match(await ctl(gw, ['--subject', 'alice', '--claim', 'groups=ops', 'alpha/add']), /^decision +denied$/m);
    out = await ctl(gw, ['--subject', 'root', '--scopes', 'tools,admin', '--claim', 'groups=ops', 'alpha/add']);
    assert.match(out, /^rule +0 /m);
    assert.match(out, /^decision +allowed$/m);
    out = await ctl(gw, ['--subject', 'carol', 'beta/echo']);
    assert.match(out, /^rule +none matched: policy\.default is deny$/m);
    assert.match(out, /^decision +denied$/m);
    const j = await gw.ctl(['--json', 'policy', 'test', '--subject', 'bob', '--claim', 'groups=dev', 'beta/whoami']);
    assert.deepEqual({ ...JSON.parse(j.stdout), line: 0 }, { target: 'beta/whoami', rule: '2', line: 0, decision: 'allowed' });
    // by address, anonymous
    assert.match(await ctl(env.anon, ['--anonymous', '--address', '10.1.2.3', 'beta/echo']), /^rule +0 [^]*^decision +allowed$/m);
    assert.match(await ctl(env.anon, ['--anonymous', '--address', '127.0.0.1', 'beta/echo']), /^rule +1 [^]*^decision +denied$/m);
    assert.match(await ctl(env.anon, ['--anonymous', '--address', '::1', 'alpha/echo']), /^decision +allowed$/m);
    // what it refuses
    const bad = await gw.ctl(['policy', 'test', '--subject', 'a', '--address', 'nowhere', 'alpha/echo']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not an IPv4 or IPv6 address: nowhere/);
    assert.equal((await gw.ctl(['policy', 'test', '--subject', 'a'])).code, 2);
});

test('a reload that changes what a rule lets through tells the sessions of that rule, not the others', T, async () => {
    const ops = await sessionOf('alice', { groups: 'ops' }); // rule 1, unchanged
    const dev = await sessionOf('bob', { groups: 'dev' }); // rule 2, which lets beta/add through now
    assert.deepEqual(await dev.toolNames(), ['beta_echo', 'beta_whoami']);
    await ops.toolNames(); // the broker learns each session's view from its requests
    const streams = [await ops.openStream(), await dev.openStream()];
    const changed = (e) => e.json && e.json.method === 'notifications/tools/list_changed';
    try {
        const gw = env.stack.gw;
        const next = structuredClone(policy);
        next.rules[2].allow.push('beta/add');
        const cfg = gatewayConfig(gw.dir, { servers: env.stack.servers, extra: { ...stackExtra, policy: next } });
        fs.writeFileSync(gw.configFile, toYaml(cfg));
        const r = await gw.ctl(['reload']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /routers restarted for limits\/http\/auth\/policy/);
        assert.match(gw.logs(), /msg="policy reloaded" sessions_told=1 /);
        // the routers restart (they match tokens to the new rules), ending the GET streams: the
        // clients open them again, and the dev caller's new stream says its tools changed
        await waitFor(() => streams.every((st) => st.ended), { what: 'the GET streams ended by the routers\' restart' });
        const again = [];
        for (const s of [ops, dev]) {
            again.push(await waitFor(async () => {
                const st = await s.openStream();
                return st.status === 200 ? st : null;
            }, { what: 'a GET stream on the new routers' }));
        }
        streams.push(...again);
        await again[1].next(changed, 10000);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.equal(again[0].events.filter(changed).length, 0, 'rule 1 lets the same through: no list_changed');
        assert.deepEqual(await dev.toolNames(), ['beta_add', 'beta_echo', 'beta_whoami']);
        assert.ok(!(await ops.toolNames()).includes('beta_add'));
    } finally {
        streams.forEach((st) => st.close());
    }
});
