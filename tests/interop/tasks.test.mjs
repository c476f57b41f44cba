// Interop: tasks (2025-11-25) through the gateway to two server-everything backends. Task ids
// reach the client as "mcpgw:<server>:<the backend's id>", so tasks/get, tasks/result and
// tasks/cancel find their backend and two backends' ids never collide; tasks/list walks every
// backend that offers tasks with gateway cursors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initializeSession, sleep, toolText, useEverythingGateway } from '../lib/index.mjs';

const stack = useEverythingGateway();

async function startTask(s, server, topic) {
    const r = await s.call('tools/call', { name: `${server}_simulate-research-query`, arguments: { topic }, task: { ttl: 120000 } });
    assert.ok(r.task, JSON.stringify(r));
    return r.task;
}

async function waitDone(s, taskId) {
    for (let i = 0; i < 100; i++) {
        const t = await s.call('tasks/get', { taskId });
        assert.equal(t.taskId, taskId, 'tasks/get answers with the gateway id');
        if (t.status !== 'working') {
            return t;
        }
        await sleep(250);
    }
    throw new Error(`task ${taskId} never finished`);
}

test('the gateway advertises the backends\' tasks capability', async () => {
    const s = await initializeSession(stack.gw.url);
    assert.ok(s.initResult.capabilities.tasks, JSON.stringify(s.initResult.capabilities));
    assert.ok(s.initResult.capabilities.tasks.requests?.tools?.call, JSON.stringify(s.initResult.capabilities.tasks));
});

test('task-augmented calls on two backends: gateway ids, tasks/get and tasks/result reach the owner', { timeout: 60000 }, async () => {
    const s = await initializeSession(stack.gw.url);
    const [t1, t2] = await Promise.all([startTask(s, 'ev1', 'gateways'), startTask(s, 'ev2', 'routers')]);
    assert.match(t1.taskId, /^mcpgw:ev1:./);
    assert.match(t2.taskId, /^mcpgw:ev2:./);
    const [d1, d2] = await Promise.all([waitDone(s, t1.taskId), waitDone(s, t2.taskId)]);
    assert.equal(d1.status, 'completed');
    assert.equal(d2.status, 'completed');
    const r1 = await s.call('tasks/result', { taskId: t1.taskId });
    const r2 = await s.call('tasks/result', { taskId: t2.taskId });
    assert.match(toolText(r1), /Research Report: gateways/);
    assert.match(toolText(r2), /Research Report: routers/);
});

test('tasks/list walks both backends with gateway cursors', { timeout: 60000 }, async () => {
    const s = await initializeSession(stack.gw.url);
    const made = await Promise.all([startTask(s, 'ev1', 'a'), startTask(s, 'ev2', 'b')]);
    const seen = [];
    let cursor;
    let pages = 0;
    do {
        const page = await s.call('tasks/list', cursor ? { cursor } : {});
        seen.push(...page.tasks.map((t) => t.taskId));
        cursor = page.nextCursor;
        pages++;
    } while (cursor && pages < 20);
    for (const t of made) {
        assert.ok(seen.includes(t.taskId), `${t.taskId} listed in ${seen.join(', ')}`);
    }
    assert.ok(seen.every((id) => /^mcpgw:ev[12]:/.test(id)), seen.join(', '));
    assert.ok(pages >= 2, 'one page per backend at least');
    await Promise.all(made.map((t) => waitDone(s, t.taskId)));
});

test('tasks/cancel reaches the owner; unknown, foreign and missing task ids are -32602', { timeout: 60000 }, async () => {
    const s = await initializeSession(stack.gw.url);
    const t = await startTask(s, 'ev2', 'cancel me');
    const c = await s.request('tasks/cancel', { taskId: t.taskId });
    assert.ok(c.response.result, JSON.stringify(c.response));
    assert.equal(c.response.result.taskId, t.taskId);
    assert.equal(c.response.result.status, 'cancelled');
    assert.equal((await s.call('tasks/get', { taskId: t.taskId })).status, 'cancelled');
    for (const taskId of ['mcpgw:nobody:1', 'plain-id', t.taskId.replace('mcpgw:ev2:', 'mcpgw:ev1:')]) {
        const r = await s.request('tasks/get', { taskId });
        assert.ok(r.response.error, `${taskId}: ${JSON.stringify(r.response)}`);
        assert.equal(r.response.error.code, -32602, taskId);
    }
    const r = await s.request('tasks/get', {});
    assert.equal(r.response.error.code, -32602);
    const bad = await s.request('tasks/list', { cursor: 'forged' });
    assert.equal(bad.response.error.code, -32602);
});
