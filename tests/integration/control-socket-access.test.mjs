// The control socket as an operator meets it: the mode and group from control.mode and
// control.group, who may use mcpgwctl on it, reloads that would change them, and what mcpgwctl
// says (exit 2) when the socket is missing, left over from a dead broker, not a socket, or denied.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
    binPath,
    makeTempDir,
    run,
    runBroker,
    spawnProc,
    startGateway,
    toYaml,
    useSetup,
    waitFor,
} from '../lib/index.mjs';

const isRoot = process.getuid() === 0;
const NEEDS_ROOT = isRoot ? false : 'needs root (a socket given to another group, another user running mcpgwctl)';
const GID = 4242; // a gid no group needs to have: root may give a file to any gid
const dirs = [];

/** A temporary directory (removed after the file's tests). */
function tempDir(mode) {
    const d = makeTempDir('mcpgw-control-');
    if (mode !== undefined) {
        fs.chmodSync(d, mode);
    }
    dirs.push(d);
    return d;
}

/** mcpgwctl as user nobody, with only the given supplementary groups. */
function ctlAsNobody(args, groups = []) {
    const who = ['--reuid=nobody', '--regid=nogroup', groups.length ? `--groups=${groups.join(',')}` : '--clear-groups'];
    return run('setpriv', [...who, binPath('mcpgwctl'), ...args]);
}

/** Why mcpgwctl cannot be run as nobody here (a build directory nobody may enter), or false. */
async function nobodyCannotRun() {
    if (!isRoot) {
        return NEEDS_ROOT;
    }
    try {
        const r = await ctlAsNobody(['--version']);
        return r.code === 0 ? false : `nobody cannot run ${binPath('mcpgwctl')}: ${r.stderr.trim()}`;
    } catch (err) {
        return `setpriv is not available: ${err.message}`;
    }
}

// As root: a gateway with control.group GID, the default mode, the socket in a directory anyone may
// enter; the temporary directories go once the file's tests are done.
const stack = useSetup(async () => {
    if (!isRoot) {
        return {};
    }
    const ctlDir = tempDir(0o755);
    const gw = await startGateway({ routers: 1, extra: { control: { socket: path.join(ctlDir, 'control.ipc'), group: GID } } });
    return { gw };
}, {
    cleanup() {
        for (const d of dirs) {
            fs.rmSync(d, { recursive: true, force: true });
        }
    },
});

test('the socket has control.mode (default 0660) and control.group, owned by the broker\'s user', { skip: NEEDS_ROOT }, async () => {
    const st = fs.statSync(stack.gw.ctlSocket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o7777, 0o660);
    assert.equal(st.gid, GID);
    assert.equal(st.uid, process.getuid(), 'the owner is the user the broker runs as');
    const ok = await stack.gw.ctl(['status']);
    assert.equal(ok.code, 0, ok.stderr);
});

test('another mode, and a mode that lets everyone in is logged as a warning', async () => {
    const g = await startGateway({ routers: 1, extra: { control: { mode: '0606' } } });
    try {
        assert.equal(fs.statSync(g.ctlSocket).mode & 0o7777, 0o606);
        await g.proc.waitForLine(/level=warning .*msg="control\.mode lets every local user control the gateway" mode=0606/, { timeoutMs: 5000 });
    } finally {
        await g.stop();
    }
});

test('left out, control.group is mcpgw when that group exists, else the broker\'s own group', { skip: NEEDS_ROOT }, async () => {
    const g = await startGateway({ routers: 1 });
    try {
        const st = fs.statSync(g.ctlSocket);
        assert.equal(st.mode & 0o7777, 0o660);
        const ent = await run('getent', ['group', 'mcpgw']);
        if (ent.code === 0) {
            assert.equal(st.gid, Number(ent.stdout.split(':')[2]), 'the socket belongs to group mcpgw');
        } else {
            assert.equal(st.gid, process.getgid(), 'the broker\'s own group');
            assert.match(g.logs(), /level=info .*msg="control socket keeps the broker's group: group mcpgw does not exist"/);
        }
    } finally {
        await g.stop();
    }
});

test('a user outside the group gets "permission denied" and exit 2; a member may use it', async (t) => {
    const why = await nobodyCannotRun();
    if (why) {
        t.skip(why);
        return;
    }
    const denied = await ctlAsNobody(['-s', stack.gw.ctlSocket, 'status']);
    assert.equal(denied.code, 2, denied.stderr);
    assert.equal(denied.stdout, '');
    assert.equal(denied.stderr.trim(),
        `mcpgwctl: permission denied on ${stack.gw.ctlSocket} (mode 0660, gid ${GID}): run as root or as a member of that group`);
    const member = await ctlAsNobody(['-s', stack.gw.ctlSocket, 'status', '--json'], [GID]);
    assert.equal(member.code, 0, member.stderr);
    assert.equal(JSON.parse(member.stdout).ready, true);
});

test('a socket in a directory the user cannot enter: "permission denied", exit 2', async (t) => {
    const why = await nobodyCannotRun();
    if (why) {
        t.skip(why);
        return;
    }
    const closed = tempDir(0o700);
    const g = await startGateway({ routers: 1, extra: { control: { socket: path.join(closed, 'control.ipc'), group: GID } } });
    try {
        const r = await ctlAsNobody(['-s', g.ctlSocket, 'status'], [GID]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^mcpgwctl: permission denied: .*control\.ipc is in a directory this user cannot enter/);
    } finally {
        await g.stop();
    }
});

test('a reload that would change control.mode or control.group is refused; the socket stays as it was', { skip: NEEDS_ROOT }, async () => {
    const original = fs.readFileSync(stack.gw.configFile, 'utf8');
    try {
        for (const [key, control] of [['control.mode', { mode: '0600' }], ['control.group', { group: 'root' }]]) {
            const cfg = { ...stack.gw.config, control: { ...stack.gw.config.control, ...control } };
            fs.writeFileSync(stack.gw.configFile, toYaml(cfg));
            const r = await stack.gw.ctl(['reload']);
            assert.equal(r.code, 1, `${key}: ${r.stdout}${r.stderr}`);
            assert.match(r.stderr, new RegExp(`${key.replace('.', '\\.')} changed: restart mcpgw to apply it`));
            const st = fs.statSync(stack.gw.ctlSocket);
            assert.equal(st.mode & 0o7777, 0o660);
            assert.equal(st.gid, GID);
        }
    } finally {
        fs.writeFileSync(stack.gw.configFile, original);
    }
    assert.equal((await stack.gw.ctl(['reload'])).code, 0, 'the original file applies again');
});

test('a control.group that does not exist is a config error: -t and check-config say where', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'mcpgw.yaml');
    fs.writeFileSync(file, 'servers: []\ncontrol:\n  mode: 0660\n  group: no-such-group-mcpgw\n');
    const want = `${file}:4: control.group: no such group: no-such-group-mcpgw`;
    const t = await runBroker(['-t', '-c', file]);
    assert.equal(t.code, 1);
    assert.equal(t.stderr.trim(), want);
    const c = await run(binPath('mcpgwctl'), ['check-config', file]);
    assert.equal(c.code, 1);
    assert.equal(c.stderr.trim(), want);
    fs.writeFileSync(file, 'servers: []\ncontrol:\n  mode: 0668\n');
    const m = await runBroker(['-t', '-c', file]);
    assert.equal(m.code, 1);
    assert.equal(m.stderr.trim(), `${file}:3: control.mode: must be an octal mode from 0001 to 0777, such as 0660`);
});

test('no socket: "no control socket at PATH", exit 2, at once', async () => {
    const missing = path.join(tempDir(), 'control.ipc');
    const started = Date.now();
    const r = await run(binPath('mcpgwctl'), ['-s', missing, 'status']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(),
        `mcpgwctl: no control socket at ${missing}: mcpgw-broker is not running, or its control.socket is elsewhere (-s PATH)`);
    assert.ok(Date.now() - started < 2000, 'no waiting for an answer that cannot come');
    const inMissingDir = await run(binPath('mcpgwctl'), ['-s', path.join(missing, 'x', 'control.ipc'), 'backends']);
    assert.equal(inMissingDir.code, 2);
    assert.match(inMissingDir.stderr, /^mcpgwctl: no control socket at /);
});

test('a socket left by a dead broker: "nothing listens", exit 2; a file that is no socket says so', async () => {
    const dir = tempDir();
    const stale = path.join(dir, 'control.ipc');
    // A process that listens on the path and is killed: the file stays, nobody accepts.
    const holder = spawnProc(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`]);
    await holder.waitForLine(/^up$/, { timeoutMs: 5000 });
    holder.signal('SIGKILL');
    await holder.exited;
    assert.ok(fs.statSync(stale).isSocket());
    const started = Date.now();
    const r = await run(binPath('mcpgwctl'), ['-s', stale, 'status']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(),
        `mcpgwctl: nothing listens on ${stale}: mcpgw-broker is not running (the socket is left from an earlier run)`);
    assert.ok(Date.now() - started < 2000, 'no waiting for an answer that cannot come');

    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, '');
    const p = await run(binPath('mcpgwctl'), ['-s', plain, 'status']);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /is not a socket/);
});

test('none of these left a sanitizer report', { skip: NEEDS_ROOT }, async () => {
    await waitFor(() => stack.gw.proc.running, { what: 'the gateway still running' });
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
