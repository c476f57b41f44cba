// Routing under concurrency: 8 clients x 500 tools/call spread over two backends, while sessions
// are created and deleted all along. Every answer must come from the backend named by the tool's
// prefix, on the one upstream session that backend holds for that gateway session; no two gateway
// sessions may share an upstream session; no call may fail, be lost or be executed twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, toolJson, useStack } from '../lib/index.mjs';

const CLIENTS = 8;
const CALLS_PER_CLIENT = 500;
const SESSION_LIFETIME = [40, 90]; // calls before a client deletes its session and starts anew
const FIRST_BURST = 4; // concurrent first calls on a fresh session (lazy upstream creation)

const stack = useStack();

/** A small deterministic PRNG so a failing run can be replayed (seed in the message). */
function prng(seed) {
    let x = seed >>> 0 || 1;
    return () => {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        return x / 4294967296;
    };
}

class Ledger {
    constructor() {
        this.upstreamOf = new Map(); // gateway session -> {alpha: id, beta: id}
        this.ownerOf = new Map(); // "backend/upstream id" -> gateway session
        this.violations = [];
        this.errors = [];
        this.ok = 0;
        this.sent = { alpha: 0, beta: 0 };
        this.sessions = 0;
        this.deletes = 0;
    }

    error(what) {
        this.errors.push(what);
    }

    record(gatewaySid, backend, answer) {
        if (answer.backend !== backend) {
            this.violations.push(`asked ${backend}, answered by ${answer.backend}`);
            return;
        }
        let ups = this.upstreamOf.get(gatewaySid);
        if (!ups) {
            ups = {};
            this.upstreamOf.set(gatewaySid, ups);
        }
        if (ups[backend] === undefined) {
            ups[backend] = answer.session;
        } else if (ups[backend] !== answer.session) {
            this.violations.push(`gateway session …${gatewaySid.slice(-8)} moved on ${backend} from ${ups[backend]} to ${answer.session}`);
            return;
        }
        const key = `${backend}/${answer.session}`;
        const owner = this.ownerOf.get(key);
        if (owner === undefined) {
            this.ownerOf.set(key, gatewaySid);
        } else if (owner !== gatewaySid) {
            this.violations.push(`upstream ${key} shared by gateway sessions …${owner.slice(-8)} and …${gatewaySid.slice(-8)}`);
            return;
        }
        this.ok++;
    }
}

/** An error with its cause (fetch hides the socket error there). */
function describe(err) {
    const c = err.cause;
    return c ? `${err.message} (${c.code || ''} ${c.message || c})` : err.message;
}

async function callWhoami(ledger, s, backend) {
    ledger.sent[backend]++;
    try {
        const r = await s.request('tools/call', { name: `${backend}_whoami`, arguments: {} });
        if (r.status !== 200 || !r.response) {
            ledger.error(`${backend}_whoami: HTTP ${r.status} ${r.text.slice(0, 200)}`);
            return;
        }
        if (r.response.error) {
            ledger.error(`${backend}_whoami: JSON-RPC ${r.response.error.code} ${r.response.error.message}`);
            return;
        }
        if (r.response.result.isError) {
            ledger.error(`${backend}_whoami: isError ${JSON.stringify(r.response.result).slice(0, 200)}`);
            return;
        }
        ledger.record(s.sessionId, backend, toolJson(r.response.result));
    } catch (err) {
        ledger.error(`${backend}_whoami: ${describe(err)}`);
    }
}

async function newSession(ledger) {
    const s = await initializeSession(stack.gw.url);
    ledger.sessions++;
    return s;
}

async function endSession(ledger, s) {
    const status = await s.delete();
    ledger.deletes++;
    if (status !== 200) {
        ledger.error(`DELETE: HTTP ${status}`);
        return;
    }
    const r = await s.request('tools/call', { name: 'alpha_whoami', arguments: {} });
    if (r.status !== 404) {
        let which = '';
        try {
            const j = toolJson(r.response.result);
            const before = ledger.upstreamOf.get(s.sessionId)?.alpha;
            which = j.session === before ? ' on its old upstream session' : ` on upstream ${j.session} (before: ${before})`;
        } catch {
            which = `: ${r.text.slice(0, 160)}`;
        }
        ledger.error(`call on a deleted session: HTTP ${r.status} (want 404)${which}`);
    }
}

async function client(ledger, seed) {
    const rand = prng(seed);
    const pick = () => (rand() < 0.5 ? 'alpha' : 'beta');
    const lifetime = () => SESSION_LIFETIME[0] + Math.floor(rand() * (SESSION_LIFETIME[1] - SESSION_LIFETIME[0]));
    let done = 0;
    while (done < CALLS_PER_CLIENT) {
        let s;
        try {
            s = await newSession(ledger);
        } catch (err) {
            ledger.error(`initialize: ${describe(err)}`);
            done++;
            continue;
        }
        const n = Math.min(lifetime(), CALLS_PER_CLIENT - done);
        // The first calls of a session go out together: whichever arrives first creates the
        // upstream session and the others must join it.
        const burst = Math.min(FIRST_BURST, n);
        await Promise.all(Array.from({ length: burst }, (_, i) => callWhoami(ledger, s, i % 2 ? 'beta' : 'alpha')));
        for (let i = burst; i < n; i++) {
            await callWhoami(ledger, s, pick());
        }
        done += n;
        try {
            await endSession(ledger, s);
        } catch (err) {
            ledger.error(`DELETE: ${describe(err)}`);
        }
    }
}

/** Churn: short sessions (initialize, one call, DELETE) for as long as the clients run. */
async function churn(ledger, isDone) {
    let i = 0;
    while (!isDone()) {
        try {
            const s = await newSession(ledger);
            await callWhoami(ledger, s, i++ % 2 ? 'beta' : 'alpha');
            await endSession(ledger, s);
        } catch (err) {
            ledger.error(`churn: ${describe(err)}`);
        }
    }
}

test(`${CLIENTS} clients x ${CALLS_PER_CLIENT} tools/call with sessions created and deleted throughout`, { timeout: 180000 }, async () => {
    const statsBefore = await Promise.all([stack.alpha.stats(), stack.beta.stats()]);
    const ledger = new Ledger();
    const seed = Number(process.env.MCPGW_TEST_SEED) || (Date.now() & 0xffff);
    const t0 = Date.now();
    let finished = false;
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(ledger, seed * 31 + i));
    const churner = churn(ledger, () => finished);
    await Promise.all(clients);
    finished = true;
    await churner;
    const secs = (Date.now() - t0) / 1000;
    const total = ledger.sent.alpha + ledger.sent.beta;
    console.log(`# seed ${seed}: ${total} calls, ${ledger.sessions} sessions, ${ledger.deletes} deletes in ${secs.toFixed(1)} s (${(total / secs).toFixed(0)} calls/s)`);

    assert.deepEqual(ledger.violations.slice(0, 10), [], `${ledger.violations.length} routing violations (seed ${seed})`);
    assert.deepEqual(ledger.errors.slice(0, 10), [], `${ledger.errors.length} errors (seed ${seed})`);
    assert.ok(total >= CLIENTS * CALLS_PER_CLIENT);
    assert.equal(ledger.ok, total, 'every call answered correctly');

    // Each backend executed each call exactly once (none lost, none re-sent).
    const statsAfter = await Promise.all([stack.alpha.stats(), stack.beta.stats()]);
    assert.equal(statsAfter[0].calls - statsBefore[0].calls, ledger.sent.alpha, 'alpha executed every call once');
    assert.equal(statsAfter[1].calls - statsBefore[1].calls, ledger.sent.beta, 'beta executed every call once');
    // Every upstream session the backends saw created belongs to exactly one gateway session.
    const distinct = { alpha: 0, beta: 0 };
    for (const key of ledger.ownerOf.keys()) {
        distinct[key.split('/')[0]]++;
    }
    for (const [i, name] of [[0, 'alpha'], [1, 'beta']]) {
        const created = statsAfter[i].initializes - statsBefore[i].initializes;
        assert.ok(created >= distinct[name], `${name}: ${created} upstream initializes for ${distinct[name]} upstream sessions`);
        // Single-flight: concurrent first calls create one upstream session, not one each.
        assert.ok(created <= distinct[name] + 2, `${name}: ${created} upstream initializes for ${distinct[name]} sessions: duplicates`);
    }
});

test('no sanitizer reports in the gateway log', async () => {
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
