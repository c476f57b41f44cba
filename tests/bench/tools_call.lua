-- tools_call.lua: wrk script posting one MCP tools/call per request; the URL is wrk's argument,
-- the session id, the tool name and a bearer token (BENCH_BEARER, for a gateway with auth) come
-- from the environment (set by tests/bench/run). With BENCH_MODERN=1 the call is a 2026-07-28
-- one instead (issue 14 point 12): no session, the _meta envelope in the body and the
-- MCP-Protocol-Version, Mcp-Method and Mcp-Name headers that must match it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
local tool = os.getenv("BENCH_TOOL")
local meta = ""
if os.getenv("BENCH_MODERN") == "1" then
    wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
    wrk.headers["Mcp-Method"] = "tools/call"
    wrk.headers["Mcp-Name"] = tool
    meta = ',"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
        '"io.modelcontextprotocol/clientCapabilities":{},' ..
        '"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}'
else
    wrk.headers["Mcp-Session-Id"] = os.getenv("BENCH_SESSION")
    wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
end
if os.getenv("BENCH_BEARER") ~= nil and os.getenv("BENCH_BEARER") ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER")
end
wrk.body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"' ..
    tool .. '","arguments":{"text":"hello from the benchmark"}' .. meta .. '}}'

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "result.lua")
