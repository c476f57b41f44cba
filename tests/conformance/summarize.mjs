// summarize.mjs: turns two conformance-suite runs (direct and through the gateway) into one
// per-scenario table, the gateway's failures in detail, and a last line "N passed, N failed[, N
// skipped]" counting the gateway's active scenarios. Exit status 1 if one of those failed.
//
//   node summarize.mjs DIRECT_DIR GATEWAY_DIR
//
// Each DIR holds, per suite ("active", "pending"): SUITE.log (the suite's stdout) and SUITE/
// (its --output-dir: one server-<scenario>-<time>/checks.json per scenario that finished).
import fs from 'node:fs';
import path from 'node:path';

const SUITES = ['active', 'pending'];

/** The scenarios a suite run announced, in order ("=== Running scenario: X ==="). */
function announcedScenarios(log) {
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    return [...text.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]);
}

/** checks.json of one scenario from an --output-dir, or null if it never finished. */
function readChecks(dir, scenario) {
    if (!fs.existsSync(dir)) {
        return null;
    }
    const prefix = `server-${scenario}-`;
    // The timestamp suffix starts with a digit; this keeps "ping" from matching "ping-foo-...".
    const match = fs
        .readdirSync(dir)
        .filter((d) => d.startsWith(prefix) && /^\d{4}-/.test(d.slice(prefix.length)))
        .sort()
        .pop();
    if (!match) {
        return null;
    }
    try {
        return JSON.parse(fs.readFileSync(path.join(dir, match, 'checks.json'), 'utf8'));
    } catch {
        return null;
    }
}

/** One scenario's verdict the way the suite's own summary counts it: no FAILURE check = pass. */
function verdict(checks) {
    if (checks === null) {
        return { ok: false, text: 'FAIL (no result: timed out or crashed)', failures: [] };
    }
    const count = (s) => checks.filter((c) => c.status === s).length;
    const failures = checks.filter((c) => c.status === 'FAILURE');
    const warnings = checks.filter((c) => c.status === 'WARNING');
    const ok = failures.length === 0;
    let text = ok ? `pass ${count('SUCCESS')}/${count('SUCCESS')}` : `FAIL ${count('SUCCESS')}/${count('SUCCESS') + failures.length}`;
    if (warnings.length) {
        text += ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''})`;
    }
    return { ok, text, failures, warnings };
}

function collect(dir) {
    const out = new Map();
    for (const suite of SUITES) {
        for (const scenario of announcedScenarios(path.join(dir, `${suite}.log`))) {
            out.set(scenario, { suite, ...verdict(readChecks(path.join(dir, suite), scenario)) });
        }
    }
    return out;
}

function describe(v) {
    const lines = [];
    for (const c of v.failures) {
        lines.push(`${c.name}: ${c.errorMessage || c.description}`);
    }
    for (const c of v.warnings || []) {
        lines.push(`(warning) ${c.name}: ${c.errorMessage || c.description}`);
    }
    return lines;
}

const [directDir, gatewayDir] = process.argv.slice(2);
if (!directDir || !gatewayDir) {
    console.error('usage: node summarize.mjs DIRECT_DIR GATEWAY_DIR');
    process.exit(2);
}
const direct = collect(directDir);
const gateway = collect(gatewayDir);
const scenarios = [...new Set([...direct.keys(), ...gateway.keys()])];
const width = Math.max(20, ...scenarios.map((s) => s.length + 10));

console.log(`${'scenario'.padEnd(width)}  ${'direct (baseline)'.padEnd(24)}  through the gateway`);
for (const s of scenarios) {
    const d = direct.get(s);
    const g = gateway.get(s);
    const suite = (g || d).suite;
    const name = suite === 'pending' ? `${s} (pending)` : s;
    console.log(`${name.padEnd(width)}  ${(d ? d.text : 'not run').padEnd(24)}  ${g ? g.text : 'not run'}`);
}

const detail = (title, results) => {
    const bad = [...results].filter(([, v]) => !v.ok || (v.warnings && v.warnings.length));
    if (!bad.length) {
        return;
    }
    console.log(`\n${title}`);
    for (const [s, v] of bad) {
        console.log(`  ${s}${v.suite === 'pending' ? ' (pending)' : ''}:`);
        for (const line of describe(v)) {
            console.log(`    ${line}`);
        }
        if (!v.failures.length && !v.ok) {
            console.log('    no checks.json: see the suite log');
        }
    }
};
detail('Direct (baseline) failures and warnings:', direct);
detail('Through the gateway, failures and warnings:', gateway);

const active = [...gateway.values()].filter((v) => v.suite === 'active');
const passed = active.filter((v) => v.ok).length;
const failed = active.length - passed;
const skipped = [...gateway.values()].filter((v) => v.suite !== 'active').length;
const directActive = [...direct.values()].filter((v) => v.suite === 'active');
const directFailed = directActive.filter((v) => !v.ok).length;

console.log('');
console.log(`direct (baseline): ${directActive.length - directFailed} passed, ${directFailed} failed of ${directActive.length} active`);
if (directFailed || directActive.length === 0) {
    console.log('warning: the baseline is not clean: the backend itself fails scenarios');
}
if (active.length === 0) {
    console.log('no active scenario ran through the gateway');
    console.log(`0 passed, 1 failed${skipped ? `, ${skipped} skipped` : ''}`);
    process.exit(1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
