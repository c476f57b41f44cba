// The start/stop hooks a test file registers once: node:test before() starts what the file's tests
// talk to, after() stops every process the file started. Each returns a handle that before() fills.
// A file has one before() only: node 20 runs a file's top-level before() hooks at the same time,
// not one after the other, so whatever a file sets up once its processes run goes in `ready`.
import { after, before } from 'node:test';
import { stopAll } from './procs.mjs';
import { startGateway } from './servers.mjs';
import { startEverythingPair, startStack } from './stack.mjs';

/** Registers after(): every process this file started is stopped, then `cleanup()` (if any) runs. */
export function stopAllAfter(cleanup) {
    after(async () => {
        await stopAll();
        if (cleanup) {
            await cleanup();
        }
    });
}

/**
 * Registers before(), which awaits `start()`, copies the members of what it resolves to onto the
 * returned handle (empty until then) and then awaits `ready(handle)` if given; and
 * stopAllAfter(cleanup).
 */
export function useSetup(start, { ready, cleanup } = {}) {
    const handle = {};
    before(async () => {
        Object.assign(handle, await start());
        if (ready) {
            await ready(handle);
        }
    });
    stopAllAfter(cleanup);
    return handle;
}

/**
 * useSetup of the standard stack: the handle gets startStack(opts)'s {gw, alpha, beta, servers,
 * stop()}; opts.ready and opts.cleanup are useSetup's.
 */
export function useStack({ ready, cleanup, ...opts } = {}) {
    return useSetup(() => startStack(opts), { ready, cleanup });
}

/**
 * useSetup of the interop setup: two server-everything backends and one gateway in front of them;
 * the handle gets {gw, ev1, ev2, servers}.
 */
export function useEverythingGateway({ ready, cleanup } = {}) {
    return useSetup(async () => {
        const pair = await startEverythingPair();
        const gw = await startGateway({ servers: pair.servers });
        return { ...pair, gw };
    }, { ready, cleanup });
}
