// The start/stop hooks a test file registers once: node:test before() starts what the file's tests
// talk to, after() stops every process the file started. Each returns a handle that before() fills.
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
 * Registers before(), which awaits `start()` and copies the members of what it resolves to onto
 * the returned handle (empty until then), and stopAllAfter(cleanup).
 */
export function useSetup(start, { cleanup } = {}) {
    const handle = {};
    before(async () => {
        Object.assign(handle, await start());
    });
    stopAllAfter(cleanup);
    return handle;
}

/** useSetup of the standard stack: the handle gets startStack(opts)'s {gw, alpha, beta, stop()}. */
export function useStack(opts) {
    return useSetup(() => startStack(opts));
}

/**
 * useSetup of the interop setup: two server-everything backends and one gateway
 * (startGateway({servers, ...gatewayOpts})) in front; the handle gets {gw, ev1, ev2, servers}.
 */
export function useEverythingGateway(gatewayOpts = {}) {
    return useSetup(async () => {
        const pair = await startEverythingPair();
        const gw = await startGateway({ servers: pair.servers, ...gatewayOpts });
        return { ...pair, gw };
    });
}
