// Backend credentials kept out of mcpgw.yaml: servers[].headers values of the form {file: PATH}
// are read from files others cannot read; the backend gets the file's text; a reload reads the
// file again (a rotated credential reaches the backend); a file others can read is refused, at
// start and on reload, naming it; the client's own credentials never reach the backend.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { initializeSession, makeTempDir, runBroker, startBackend, startGateway, toolJson, useSetup } from '../lib/index.mjs';

const T = { timeout: 30000 };
let dir;
let secret;

function writeSecret(text, mode = 0o600) {
    fs.writeFileSync(secret, text);
    fs.chmodSync(secret, mode);
}

async function headersSeen(url) {
    const s = await initializeSession(url);
    const r = await s.request('tools/call', { name: 'alpha_headers', arguments: {} }, {
        headers: { Authorization: 'Bearer client-token-must-not-pass' },
    });
    assert.ok(r.response?.result, r.text.slice(0, 300));
    return toolJson(r.response.result).headers;
}

const stack = useSetup(async () => {
    dir = makeTempDir('mcpgw-secrets-');
    secret = path.join(dir, 'alpha.token');
    writeSecret('Bearer first-secret\n');
    const alpha = await startBackend({ name: 'alpha' });
    const servers = [{ name: 'alpha', url: alpha.url, prefix: 'alpha_', headers: { Authorization: { file: secret } } }];
    const gw = await startGateway({ servers });
    return { alpha, servers, gw };
}, { cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) });

test('the backend gets the header from the file, not the client\'s', T, async () => {
    const h = await headersSeen(stack.gw.url);
    assert.equal(h.authorization, 'Bearer first-secret');
});

test('a reload reads the file again: a rotated credential reaches the backend', T, async () => {
    writeSecret('Bearer rotated-secret\n');
    const r = await stack.gw.ctl(['reload']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    let h;
    for (let i = 0; i < 50; i++) {
        try {
            h = await headersSeen(stack.gw.url);
            if (h.authorization === 'Bearer rotated-secret') {
                break;
            }
        } catch {
            // the worker restarts with the new value: a call meanwhile may fail
        }
        await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(h?.authorization, 'Bearer rotated-secret');
});

test('a file others can read is refused naming it: on reload (the running value stays) and at start', T, async () => {
    writeSecret('Bearer leaked\n', 0o644);
    const r = await stack.gw.ctl(['reload']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok((r.stdout + r.stderr).includes(`${secret}: readable by others (mode 0644)`), r.stdout + r.stderr);
    assert.equal((await headersSeen(stack.gw.url)).authorization, 'Bearer rotated-secret');

    const t = await runBroker(['-t', '-c', stack.gw.configFile]);
    assert.equal(t.code, 1, t.stdout + t.stderr);
    assert.match(t.stderr, /servers\[0\]\.headers\.Authorization\.file: .*readable by others/);
    writeSecret('Bearer rotated-secret\n');
});
