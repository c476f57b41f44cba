// A throwaway CA and a certificate it signs for localhost/127.0.0.1, made with openssl, for
// tests and benchmarks of TLS listeners; and a small PKI for the tests of TLS to backends.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Makes them in dir; returns {caFile, ca (its PEM), cert, key} (file paths but ca). */
export function makeTestCertificate(dir) {
    const o = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    o(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=mcpgw test CA', '-days', '2']);
    fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    o(['req', ...ec, '-keyout', 'gw.key', '-out', 'gw.csr', '-subj', '/CN=localhost']);
    o(['x509', '-req', '-in', 'gw.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'gw.pem', '-days', '2', '-extfile', 'san.ext']);
    const caFile = path.join(dir, 'ca.pem');
    return { caFile, ca: fs.readFileSync(caFile), cert: path.join(dir, 'gw.pem'), key: path.join(dir, 'gw.key') };
}

/**
 * A small PKI for upstream TLS tests, made in dir: a CA and, signed by it, a server certificate
 * for localhost/127.0.0.1, an expired one, one for another name only (`backend.test`), a client
 * certificate (CN mcpgw-gateway, clientAuth); and a second, unrelated CA with a server
 * certificate for localhost of its own. Returns {caFile, ca, otherCaFile, otherCa, server,
 * expired, otherName, client, untrusted}: each certificate {cert, key} (file paths; keys 0600).
 */
export function makeTestPki(dir) {
    const o = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    const ca = (name, cn) => o(['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${cn}`, '-days', '2']);
    const issue = (name, { by = 'ca', cn, ext, days = 2 }) => {
        fs.writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
        o(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
        o(['x509', '-req', '-in', `${name}.csr`, '-CA', `${by}.pem`, '-CAkey', `${by}.key`, '-CAcreateserial', '-out', `${name}.pem`,
            '-days', String(days), '-extfile', `${name}.ext`]);
        fs.chmodSync(path.join(dir, `${name}.key`), 0o600);
        return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
    };
    ca('ca', 'mcpgw test CA');
    ca('other-ca', 'mcpgw other test CA');
    const local = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth';
    const pki = {
        caFile: path.join(dir, 'ca.pem'),
        otherCaFile: path.join(dir, 'other-ca.pem'),
        server: issue('server', { cn: 'localhost', ext: local }),
        expired: issue('expired', { cn: 'localhost', ext: local, days: -1 }),
        otherName: issue('other-name', { cn: 'backend.test', ext: 'subjectAltName=DNS:backend.test\nextendedKeyUsage=serverAuth' }),
        client: issue('client', { cn: 'mcpgw-gateway', ext: 'extendedKeyUsage=clientAuth' }),
        untrusted: issue('untrusted', { by: 'other-ca', cn: 'localhost', ext: local }),
    };
    pki.ca = fs.readFileSync(pki.caFile);
    pki.otherCa = fs.readFileSync(pki.otherCaFile);
    return pki;
}
