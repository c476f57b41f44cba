// tests/bench/token.mjs DIR RESOURCE ISSUER: an ES256 key made with jose, its public JWK Set
// written to DIR/bench.jwks, and a bearer token for RESOURCE (1 hour) printed on stdout, for
// tests/bench/run's gateway with auth.
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const [dir, resource, issuer] = process.argv.slice(2);
const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
fs.writeFileSync(path.join(dir, 'bench.jwks'), JSON.stringify({ keys: [jwk] }));
const token = await new SignJWT({ scope: 'tools' })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'at+jwt' })
    .setIssuer(issuer).setAudience(resource).setSubject('bench').setIssuedAt().setExpirationTime('1h')
    .sign(privateKey);
process.stdout.write(`${token}\n`);
