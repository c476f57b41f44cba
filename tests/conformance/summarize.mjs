// summarize.mjs: turns conformance-suite runs (each once directly and once through the gateway)
// into per-scenario tables, the failures in detail, and a last line "N passed, N failed[, N
// skipped]" summing the scored scenarios of every run through the gateway. Exit status 1 if one
// of those failed.
//
//   node summarize.mjs [--expected FILE] SUITE REQUIREMENTS DIRECT_DIR GATEWAY_DIR [SUITE …]
//
// SUITE is the suite's version (0.1.16, 0.2.0-alpha.12), REQUIREMENTS the revision it ran with
// (--requirements; "-" for the 0.1.16 run, which has none), optionally with a label after a slash
// naming the setup (2026-07-28/legacy-backend). A DIR holds either
//   - per suite ("active", "pending"): SUITE.log (the suite's stdout) and SUITE/ (its
//     --output-dir: one server-<scenario>-<time>/checks.json per scenario that finished): the
//     0.1.16 layout, where pending scenarios count as skipped; or
//   - requirements.log and requirements/ (a --requirements run): the scenarios the suite lists
//     under "Not scored for …" count as skipped.
// FILE (expected-failures.txt) lists "SUITE REQUIREMENTS SCENARIO REASON" per line (# comments):
// such a scenario failing through the gateway counts as skipped with its reason; passing, it
// counts as passed with a note to remove the line.
import fs from 'node:fs';
import path from 'node:path';

/** The scenarios a suite run announced, in order ("=== Running scenario: X ==="). */
function announcedScenarios(text) {
    return [...text.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]);
}

/** The scenarios of a --requirements run that do not count ("Not scored for R: …" list). */
function unscoredScenarios(text) {
    const at = text.search(/^Not scored for /m);
    if (at < 0) {
        return new Set();
    }
    return new Set([...text.slice(at).matchAll(/^ {2}\S+ (\S+) \(/gm)].map((m) => m[1]));
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

const read = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

/** scenario -> {scored, ok, text, failures, warnings}; tag says why an unscored one is. */
function collect(dir) {
    const out = new Map();
    const requirements = read(path.join(dir, 'requirements.log'));
    if (requirements) {
        const unscored = unscoredScenarios(requirements);
        for (const s of announcedScenarios(requirements)) {
            const scored = !unscored.has(s);
            out.set(s, { scored, tag: scored ? '' : 'not scored', ...verdict(readChecks(path.join(dir, 'requirements'), s)) });
        }
        return out;
    }
    for (const suite of ['active', 'pending']) {
        for (const s of announcedScenarios(read(path.join(dir, `${suite}.log`)))) {
            const scored = suite === 'active';
            out.set(s, { scored, tag: scored ? '' : 'pending', ...verdict(readChecks(path.join(dir, suite), s)) });
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

/** "SUITE REQUIREMENTS SCENARIO" -> reason, from expected-failures.txt. */
function readExpected(file) {
    const out = new Map();
    for (const [i, raw] of read(file).split('\n').entries()) {
        const line = raw.trim();
        if (!line || line.startsWith('#')) {
            continue;
        }
        const m = line.match(/^(\S+)\s+(\S+)\s+(\S+)\s+(.+)$/);
        if (!m) {
            console.log(`warning: ${file}:${i + 1}: not "suite requirements scenario reason": ${line}`);
            continue;
        }
        out.set(`${m[1]} ${m[2]} ${m[3]}`, m[4]);
    }
    return out;
}

const args = process.argv.slice(2);
let expected = new Map();
if (args[0] === '--expected') {
    expected = readExpected(args[1]);
    args.splice(0, 2);
}
if (args.length === 0 || args.length % 4 !== 0) {
    console.error('usage: node summarize.mjs [--expected FILE] SUITE REQUIREMENTS DIRECT_DIR GATEWAY_DIR [...]');
    process.exit(2);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const notes = [];
const baselines = [];
const used = new Set();
for (let i = 0; i < args.length; i += 4) {
    const [suite, requirements, directDir, gatewayDir] = args.slice(i, i + 4);
    // REQUIREMENTS may carry a label after a slash (2026-07-28/legacy-backend): the same
    // revision through another gateway, with expected failures of its own
    const [revision, label] = requirements.split('/');
    const title = requirements === '-' ? `suite ${suite}` : `suite ${suite}, --requirements ${revision}${label ? ` (${label})` : ''}`;
    const direct = collect(directDir);
    const gateway = collect(gatewayDir);
    const scenarios = [...new Set([...direct.keys(), ...gateway.keys()])];
    const width = Math.max(20, ...scenarios.map((s) => s.length + 14));

    console.log(`\n== ${title}`);
    console.log(`${'scenario'.padEnd(width)}  ${'direct (baseline)'.padEnd(24)}  through the gateway`);
    for (const s of scenarios) {
        const d = direct.get(s);
        const g = gateway.get(s);
        const key = `${suite} ${requirements} ${s}`;
        const reason = expected.get(key);
        let gtext = g ? g.text : 'not run';
        if (g && g.scored) {
            if (reason !== undefined) {
                used.add(key);
            }
            if (g.ok) {
                totals.passed++;
                if (reason !== undefined) {
                    notes.push(`expected-failures.txt lists "${key}" but it passes now: remove the line`);
                }
            } else if (reason !== undefined) {
                totals.skipped++;
                gtext = `skipped (${reason}) [${g.text}]`;
            } else {
                totals.failed++;
            }
        } else if (g) {
            totals.skipped++;
        }
        const tag = (g || d).tag;
        const name = tag ? `${s} (${tag})` : s;
        console.log(`${name.padEnd(width)}  ${(d ? d.text : 'not run').padEnd(24)}  ${gtext}`);
    }

    const detail = (where, results, skipExpected) => {
        const bad = [...results].filter(
            ([s, v]) =>
                (!v.ok || (v.warnings && v.warnings.length)) &&
                v.tag !== 'not scored' && // the table says enough of the suite's unscored extras
                !(skipExpected && expected.has(`${suite} ${requirements} ${s}`)),
        );
        if (!bad.length) {
            return;
        }
        console.log(`\n${title}: ${where} failures and warnings:`);
        for (const [s, v] of bad) {
            console.log(`  ${s}${v.tag ? ` (${v.tag})` : ''}:`);
            for (const line of describe(v)) {
                console.log(`    ${line}`);
            }
            if (!v.failures.length && !v.ok) {
                console.log('    no checks.json: see the suite log');
            }
        }
    };
    detail('direct (baseline)', direct, false);
    detail('through the gateway', gateway, true);

    const directScored = [...direct.values()].filter((v) => v.scored);
    const directFailed = directScored.filter((v) => !v.ok).length;
    baselines.push(`direct (baseline), ${title}: ${directScored.length - directFailed} passed, ${directFailed} failed of ${directScored.length} scored`);
    if (directFailed || directScored.length === 0) {
        baselines.push(`warning: the baseline of ${title} is not clean: the backend itself fails scenarios`);
    }
    if (![...gateway.values()].some((v) => v.scored)) {
        console.log(`no scored scenario of ${title} ran through the gateway`);
        totals.failed++;
    }
}
for (const key of expected.keys()) {
    if (!used.has(key)) {
        notes.push(`expected-failures.txt lists "${key}", which no run scored: remove or fix the line`);
    }
}

console.log('');
for (const line of [...baselines, ...notes]) {
    console.log(line);
}
const { passed, failed, skipped } = totals;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
