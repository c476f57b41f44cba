// Starting the new-era backend: tests/lib/v2-server-process.mjs (@modelcontextprotocol/server 2.4.0,
// createMcpHandler with legacy: 'reject') on a free loopback port, as a child like the others.
import fs from 'node:fs';
import path from 'node:path';
import { TESTS_DIR } from './procs.mjs';
import { spawnListening, statsBackend } from './servers.mjs';

const V2_SERVER_MAIN = path.join(TESTS_DIR, 'lib', 'v2-server-process.mjs');
const V2_SERVER_PKG = path.join(TESTS_DIR, 'node_modules', '@modelcontextprotocol', 'server', 'package.json');

/**
 * Starts the v2 server named `name` and waits for its "listening port=N" line.
 * Its tools: echo, region (x-mcp-header Region), ask (elicitation), sample (sampling), touch
 * (resources/updated of v2://notes/today), grow (tools/list_changed), announce (tools/list_changed
 * with the list unchanged); the resource v2://notes/today, the template v2://notes/{day}, the
 * prompt greet.
 * Returns {name, port, origin, url, proc, stats(), stop()}; stats() is what reached it per
 * Mcp-Method: {requests: {METHOD: n}, lastHeaders: {METHOD: {header: value}}}.
 */
export async function startV2Server({ name = 'v2' } = {}) {
    if (!fs.existsSync(V2_SERVER_PKG)) {
        throw new Error(`${V2_SERVER_PKG} missing: run npm ci in ${TESTS_DIR}`);
    }
    const { proc, port } = await spawnListening(process.execPath, [V2_SERVER_MAIN, '--name', name, '--port', '0'], {
        label: `v2-server ${name}`,
        what: `v2 server ${name}`,
        timeoutMs: 15000,
    });
    return statsBackend(name, proc, port);
}
