// A real authorization server for the auth tests: npm oidc-provider on loopback, with the client
// credentials grant and resource indicators on, issuing access tokens as JWTs whose aud is the
// gateway's resource, signed with one ES256 and one RS256 key made here (jose).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export const IDP_CLIENT = { id: 'mcpgw-test-client', secret: 'mcpgw-test-secret' };

/**
 * Starts the provider. `resource`: the gateway's canonical URI (the tokens' aud); `scope`: what
 * the client may ask for; `alg`: the access tokens' algorithm (ES256 or RS256); `clients`: more
 * clients beside IDP_CLIENT, [{id, secret, scope, claims}] (claims: added to each of its access
 * tokens, e.g. {groups: ['ops']}). Writes the public key set to `<dir>/idp.jwks`. Returns
 * {issuer, jwksFile, token({scope, client}), stop()}.
 */
export async function startIdp({ dir, resource, scope = 'mcp:use tools', alg = 'ES256', clients = [] }) {
    const es = await generateKeyPair('ES256', { extractable: true });
    const rs = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const priv = [
        { ...(await exportJWK(es.privateKey)), kid: 'idp-es', alg: 'ES256', use: 'sig' },
        { ...(await exportJWK(rs.privateKey)), kid: 'idp-rs', alg: 'RS256', use: 'sig' },
    ];
    const pub = [
        { ...(await exportJWK(es.publicKey)), kid: 'idp-es', alg: 'ES256', use: 'sig' },
        { ...(await exportJWK(rs.publicKey)), kid: 'idp-rs', alg: 'RS256', use: 'sig' },
    ];
    const jwksFile = path.join(dir, 'idp.jwks');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: pub }));

    const server = http.createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${server.address().port}`;
    const provider = new Provider(issuer, {
        clients: [{ ...IDP_CLIENT, scope }, ...clients].map((c) => ({
            client_id: c.id,
            client_secret: c.secret,
            grant_types: ['client_credentials'],
            redirect_uris: [],
            response_types: [],
            token_endpoint_auth_method: 'client_secret_basic',
            scope: c.scope ?? scope,
        })),
        extraTokenClaims: (ctx, token) => clients.find((c) => c.id === token.clientId)?.claims,
        jwks: { keys: priv },
        scopes: [...new Set([scope, ...clients.map((c) => c.scope ?? '')].join(' ').split(' ').filter(Boolean))],
        features: {
            devInteractions: { enabled: false },
            clientCredentials: { enabled: true },
            resourceIndicators: {
                enabled: true,
                defaultResource: () => resource,
                useGrantedResource: () => true,
                getResourceServerInfo: (ctx, indicator) => {
                    if (indicator !== resource) {
                        throw new Error(`unknown resource ${indicator}`);
                    }
                    const all = [scope, ...clients.map((c) => c.scope ?? '')].join(' ');
                    return { scope: [...new Set(all.split(' ').filter(Boolean))].join(' '), audience: resource, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
                },
            },
        },
    });
    provider.on('server_error', (ctx, err) => process.stderr.write(`oidc-provider: ${err.stack}\n`));
    server.on('request', provider.callback());

    return {
        issuer,
        jwksFile,
        /** A token by the client credentials grant, as a client (default IDP_CLIENT) would ask for it. */
        async token({ scope: want, client = IDP_CLIENT } = {}) {
            want ??= client === IDP_CLIENT ? scope : client.scope ?? scope;
            const r = await fetch(`${issuer}/token`, {
                method: 'POST',
                headers: {
                    'content-type': 'application/x-www-form-urlencoded',
                    authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
                },
                body: new URLSearchParams({ grant_type: 'client_credentials', scope: want, resource }).toString(),
            });
            const j = await r.json();
            if (!r.ok || !j.access_token) {
                throw new Error(`token endpoint: HTTP ${r.status}: ${JSON.stringify(j)}`);
            }
            return j.access_token;
        },
        stop: () => new Promise((resolve) => {
            server.closeAllConnections?.();
            server.close(() => resolve());
        }),
    };
}
