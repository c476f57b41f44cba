// tests/conformance/summarize.mjs, the part of the conformance run that decides its summary line:
// on suite output laid out as the 0.1.16 and 0.2 runs leave it, what counts as passed, failed and
// skipped (pending, unscored, and expected-failures.txt with its reason), and the notes that
// tell the integrator to trim expected-failures.txt.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { TESTS_DIR } from '../lib/index.mjs';

const SUMMARIZE = path.join(TESTS_DIR, 'conformance', 'summarize.mjs');
const run = promisify(execFile);

/** Writes one scenario's checks.json under dir the way the suite names it. */
function scenario(dir, name, statuses) {
    const d = path.join(dir, `server-${name}-2026-12-02T06-00-00-000Z`);
    fs.mkdirSync(d, { recursive: true });
    const checks = statuses.map((status, i) => ({ id: `${name}-${i}`, name: `Check${i}`, status, errorMessage: status === 'SUCCESS' ? undefined : `${name} check ${i} broke` }));
    fs.writeFileSync(path.join(d, 'checks.json'), JSON.stringify(checks));
}

/** A --requirements run: scored and unscored scenarios with their check statuses. */
function requirementsRun(dir, revision, scored, unscored) {
    fs.mkdirSync(dir, { recursive: true });
    const all = { ...scored, ...unscored };
    let log = '';
    for (const [name, statuses] of Object.entries(all)) {
        log += `\n=== Running scenario: ${name} ===\n`;
        if (statuses) {
            scenario(path.join(dir, 'requirements'), name, statuses);
        }
    }
    log += `\nNot scored for ${revision}: ${Object.keys(unscored).length} scenario(s) run.\n`;
    for (const name of Object.keys(unscored)) {
        log += `  ✗ ${name} (extension)\n`;
    }
    fs.writeFileSync(path.join(dir, 'requirements.log'), log);
}

/** A 0.1.16 run: active and pending suites. */
function suiteRun(dir, active, pending) {
    for (const [suite, scenarios] of [['active', active], ['pending', pending]]) {
        let log = '';
        for (const [name, statuses] of Object.entries(scenarios)) {
            log += `=== Running scenario: ${name} ===\n`;
            scenario(path.join(dir, suite), name, statuses);
        }
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `${suite}.log`), log);
    }
}

async function summarize(args) {
    try {
        const { stdout } = await run(process.execPath, [SUMMARIZE, ...args]);
        return { code: 0, out: stdout };
    } catch (err) {
        return { code: err.code, out: err.stdout };
    }
}

test('the summary sums the gateway runs: pending, unscored and expected failures are skipped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-summary-'));
    const ok = ['SUCCESS'];
    suiteRun(path.join(dir, 'old-direct'), { ping: ok, 'tools-list': ok }, { polling: ok });
    suiteRun(path.join(dir, 'old-gw'), { ping: ok, 'tools-list': ok }, { polling: ['WARNING'] });
    requirementsRun(path.join(dir, 'new-direct'), '2026-07-28', { caching: ok, 'server-stateless': ok, 'tools-list': ok }, { 'tasks-lifecycle': ['FAILURE'] });
    // through the gateway: caching fails (listed), server-stateless passes (listed: a note),
    // tools-list left no checks.json (not listed: a failure)
    requirementsRun(path.join(dir, 'new-gw'), '2026-07-28', { caching: ['SUCCESS', 'FAILURE'], 'server-stateless': ok, 'tools-list': null }, { 'tasks-lifecycle': ['FAILURE'] });
    const expected = path.join(dir, 'expected-failures.txt');
    fs.writeFileSync(expected, [
        '# comment',
        '0.2.0-alpha.12 2026-07-28 caching gateway: front not merged yet',
        '0.2.0-alpha.12 2026-07-28 server-stateless gateway: front not merged yet',
        '0.2.0-alpha.12 2025-11-25 ping no such run',
        '',
    ].join('\n'));
    const args = ['--expected', expected,
        '0.1.16', '-', path.join(dir, 'old-direct'), path.join(dir, 'old-gw'),
        '0.2.0-alpha.12', '2026-07-28', path.join(dir, 'new-direct'), path.join(dir, 'new-gw')];
    const r = await summarize(args);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.at(-1), '3 passed, 1 failed, 3 skipped', r.out);
    assert.equal(r.code, 1, 'a scored failure through the gateway fails the run');
    assert.match(r.out, /^caching +pass 1\/1 +skipped \(gateway: front not merged yet\) \[FAIL 1\/2\]$/m);
    assert.match(r.out, /tools-list +pass 1\/1 +FAIL \(no result: timed out or crashed\)/);
    assert.match(r.out, /lists "0\.2\.0-alpha\.12 2026-07-28 server-stateless" but it passes now: remove the line/);
    assert.match(r.out, /lists "0\.2\.0-alpha\.12 2025-11-25 ping", which no run scored/);
    assert.match(r.out, /direct \(baseline\), suite 0\.2\.0-alpha\.12, --requirements 2026-07-28: 3 passed, 0 failed of 3 scored/);
    assert.doesNotMatch(r.out, /tasks-lifecycle \(not scored\):/, 'no details for the suite\'s unscored extras');

    // listing the one real failure too makes the run pass
    fs.appendFileSync(expected, '0.2.0-alpha.12 2026-07-28 tools-list gateway: front not merged yet\n');
    const again = await summarize(args);
    assert.equal(again.out.trim().split('\n').at(-1), '3 passed, 0 failed, 4 skipped', again.out);
    assert.equal(again.code, 0);
    fs.rmSync(dir, { recursive: true, force: true });
});
