// The test harness in one import: processes, servers, HTTP/MCP helpers.
export * from './procs.mjs';
export * from './servers.mjs';
export * from './http.mjs';
export * from './stack.mjs';
