// The standard integration setup: two C test backends (alpha: JSON replies, beta: SSE replies)
// behind one gateway with the prefixes alpha_ and beta_.
import { startBackend, startEverything, startGateway } from './servers.mjs';

export const ALPHA_HEADER = { name: 'X-Backend-Secret', value: 'alpha-only-secret' };

/** The gateway's servers entries for alpha and beta, as startStack configures them. */
export function stackServers(alpha, beta) {
    return [
        { name: 'alpha', url: alpha.url, prefix: 'alpha_', headers: { [ALPHA_HEADER.name]: ALPHA_HEADER.value } },
        { name: 'beta', url: beta.url, prefix: 'beta_' },
    ];
}

/**
 * Starts alpha and beta and a gateway in front of them. `extra` is merged over the gateway
 * config. Returns {gw, alpha, beta, servers (the gateway's servers entries), stop()}.
 */
export async function startStack({ extra = {}, routers = 2, betaSse = true } = {}) {
    const [alpha, beta] = await Promise.all([
        startBackend({ name: 'alpha' }),
        startBackend({ name: 'beta', sse: betaSse }),
    ]);
    const servers = stackServers(alpha, beta);
    const gw = await startGateway({ routers, extra, servers });
    return {
        gw,
        alpha,
        beta,
        servers,
        async stop() {
            const r = await gw.stop();
            await Promise.all([alpha.stop(), beta.stop()]);
            return r;
        },
    };
}

/**
 * The interop setup: two @modelcontextprotocol/server-everything behind prefixes ev1_ and ev2_.
 * Starts them and returns {ev1, ev2, servers} (servers: the gateway config entries); the
 * caller starts the gateway(s) it wants in front of them.
 */
export async function startEverythingPair() {
    const [ev1, ev2] = await Promise.all([
        startEverything({ label: 'everything-1' }),
        startEverything({ label: 'everything-2' }),
    ]);
    const servers = [
        { name: 'ev1', url: ev1.url, prefix: 'ev1_' },
        { name: 'ev2', url: ev2.url, prefix: 'ev2_' },
    ];
    return { ev1, ev2, servers };
}
