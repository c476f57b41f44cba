// A throwaway CA and a certificate it signs for localhost/127.0.0.1, made with openssl, for
// tests and benchmarks of TLS listeners.
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
