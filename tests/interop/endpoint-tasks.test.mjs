// Interop: tasks and virtual servers (endpoints[]). Through two server-everything backends, an
// endpoint that shows only ev1 knows nothing of ev2's tasks: a task id of ev2 is an unknown task
// there, tasks/list on it walks only ev1 and refuses a cursor into ev2, while the main path
// still reaches both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, startEverythingPair, startGateway, useSetup } from '../lib/index.mjs';

const T = { timeout: 60000 };

const stack = useSetup(async () => {
    const pair = await startEverythingPair();
    const gw = await startGateway({ servers: pair.servers, extra: { endpoints: [{ path: '/mcp/one', servers: ['ev1'] }] } });
    return { ...pair, gw };
});

const startTask = async (s, server) => {
    const r = await s.call('tools/call', { name: `${server}_simulate-research-query`, arguments: { topic: server }, task: { ttl: 120000 } });
    assert.ok(r.task, JSON.stringify(r));
    return r.task.taskId;
};

async function listAll(s) {
    const seen = [];
    let cursor;
    for (let pages = 0; pages < 20; pages++) {
        const page = await s.call('tasks/list', cursor ? { cursor } : {});
        seen.push(...page.tasks.map((t) => t.taskId));
        cursor = page.nextCursor;
        if (!cursor) {
            break;
        }
        assert.ok(!cursor.startsWith('mcpgw:ev2:'), `a cursor into ev2 on /mcp/one: ${cursor}`);
    }
    return seen;
}

test('an endpoint without ev2 knows nothing of ev2\'s tasks; the main path reaches both', T, async () => {
    const main = await initializeSession(stack.gw.url);
    const one = await initializeSession(`${stack.gw.origin}/mcp/one`);
    const t2 = await startTask(main, 'ev2');
    const t1 = await startTask(one, 'ev1');
    assert.match(t2, /^mcpgw:ev2:./);
    assert.match(t1, /^mcpgw:ev1:./);
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel']) {
        const r = await one.request(method, { taskId: t2 });
        assert.deepEqual(r.response?.error, { code: -32602, message: 'Unknown task' }, `${method}: ${r.text}`);
    }
    assert.equal((await one.call('tasks/get', { taskId: t1 })).taskId, t1);
    const onOne = await listAll(one);
    assert.ok(onOne.includes(t1), onOne.join(' '));
    assert.ok(onOne.every((id) => id.startsWith('mcpgw:ev1:')), onOne.join(' '));
    const bad = await one.request('tasks/list', { cursor: 'mcpgw:ev2:' });
    assert.equal(bad.response?.error?.code, -32602, bad.text);
    assert.equal((await main.call('tasks/get', { taskId: t2 })).taskId, t2);
    assert.deepEqual(stack.gw.sanitizerReports(), []);
});
