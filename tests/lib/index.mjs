// The test harness in one import: processes, servers, HTTP/MCP helpers, start/stop hooks.
export * from './procs.mjs';
export * from './servers.mjs';
export * from './v2-server.mjs';
export * from './http.mjs';
export * from './stack.mjs';
export * from './hooks.mjs';
