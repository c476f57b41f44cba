// policy with tokens from a real authorization server (npm oidc-provider, tests/lib/idp.mjs): two
// clients of the provider, one whose tokens carry groups: [ops] and one with the scope beta,
// see different tools/list results and get "Unknown tool" for each other's tools, exactly as for
// a tool that does not exist; deny overrides allow within the ops rule; a client no rule
// matches sees nothing (default deny).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { IDP_CLIENT, startIdp } from '../lib/idp.mjs';
import { initializeSession, makeTempDir, startStack, useSetup } from '../lib/index.mjs';

const T = { timeout: 30000 };
const RESOURCE = 'https://mcp.mcpgw.test/mcp';
const OPS = { id: 'ops-agent', secret: 'ops-secret', scope: 'mcp', claims: { groups: ['ops', 'oncall'] } };
const BETA = { id: 'beta-agent', secret: 'beta-secret', scope: 'mcp beta' };
const dir = makeTempDir('mcpgw-policy-idp-');
let idp;

const stack = useSetup(async () => {
    idp = await startIdp({ dir, resource: RESOURCE, scope: 'mcp', clients: [OPS, BETA] });
    return startStack({
        extra: {
            auth: { resource: RESOURCE, issuers: [{ issuer: idp.issuer, jwks_file: idp.jwksFile }] },
            policy: {
                default: 'deny',
                rules: [
                    { match: { claims: { groups: 'ops' } }, allow: ['alpha/*'], deny: ['alpha/add'] },
                    { match: { scopes: ['beta'] }, allow: ['beta/*'] },
                ],
            },
        },
    });
}, {
    cleanup: async () => {
        await idp?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    },
});

async function sessionOf(client) {
    return initializeSession(stack.gw.url, { bearer: await idp.token({ client }) });
}

test('the provider\'s tokens carry what the rules match on', T, async () => {
    const [, payload] = (await idp.token({ client: OPS })).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url'));
    assert.deepEqual(claims.groups, ['ops', 'oncall']);
    assert.equal(claims.sub, OPS.id);
    assert.equal(claims.aud, RESOURCE);
});

test('two callers of different groups and scopes see different lists and get Unknown tool for each other\'s tools', T, async () => {
    const ops = await sessionOf(OPS);
    const beta = await sessionOf(BETA);
    const opsTools = await ops.toolNames();
    const betaTools = await beta.toolNames();
    assert.ok(opsTools.length > 0 && opsTools.every((n) => n.startsWith('alpha_')), opsTools.join(' '));
    assert.ok(!opsTools.includes('alpha_add'), 'deny overrides allow within the rule');
    assert.ok(opsTools.includes('alpha_whoami'));
    assert.ok(betaTools.length > 0 && betaTools.every((n) => n.startsWith('beta_')), betaTools.join(' '));
    assert.equal((await ops.tool('alpha_whoami')).backend, 'alpha');
    assert.equal((await beta.tool('beta_whoami')).backend, 'beta');
    // each other's tools, and the denied one, answered exactly as a tool that does not exist
    const missing = await ops.callError('alpha_no_such_tool');
    assert.deepEqual(await ops.callError('beta_whoami'), { ...missing, message: 'Unknown tool: beta_whoami' });
    assert.deepEqual(await ops.callError('alpha_add'), { ...missing, message: 'Unknown tool: alpha_add' });
    assert.deepEqual(await beta.callError('alpha_whoami'), { ...missing, message: 'Unknown tool: alpha_whoami' });
    assert.equal(missing.code, -32602);
    assert.match(stack.gw.logs(), new RegExp(`msg=audit [^\\n]*subject="${BETA.id}" tool=alpha_whoami [^\\n]*decision=denied rule=1`));
    assert.match(stack.gw.logs(), new RegExp(`msg=audit [^\\n]*subject="${OPS.id}" tool=alpha_whoami [^\\n]*decision=allowed rule=0`));
});

test('a client no rule matches sees nothing (default deny)', T, async () => {
    const plain = await sessionOf(IDP_CLIENT);
    assert.deepEqual(await plain.toolNames(), []);
    assert.equal((await plain.callError('alpha_whoami')).message, 'Unknown tool: alpha_whoami');
    assert.match(stack.gw.logs(), new RegExp(`msg=audit [^\\n]*subject="${IDP_CLIENT.id}" tool=alpha_whoami [^\\n]*decision=denied rule=default`));
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
