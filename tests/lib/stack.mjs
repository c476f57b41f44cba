// The standard integration setup: two C test backends (alpha: JSON replies, beta: SSE replies)
// behind one gateway with the prefixes alpha_ and beta_.
import { startBackend, startGateway } from './servers.mjs';

export const ALPHA_HEADER = { name: 'X-Backend-Secret', value: 'alpha-only-secret' };

/**
 * Starts alpha and beta and a gateway in front of them. `extra` is merged over the gateway
 * config. Returns {gw, alpha, beta, stop()}.
 */
export async function startStack({ extra = {}, routers = 2, betaSse = true } = {}) {
    const [alpha, beta] = await Promise.all([
        startBackend({ name: 'alpha' }),
        startBackend({ name: 'beta', sse: betaSse }),
    ]);
    const gw = await startGateway({
        routers,
        extra,
        servers: [
            { name: 'alpha', url: alpha.url, prefix: 'alpha_', headers: { [ALPHA_HEADER.name]: ALPHA_HEADER.value } },
            { name: 'beta', url: beta.url, prefix: 'beta_' },
        ],
    });
    return {
        gw,
        alpha,
        beta,
        async stop() {
            const r = await gw.stop();
            await Promise.all([alpha.stop(), beta.stop()]);
            return r;
        },
    };
}
