-- tools_call.lua: wrk script posting one MCP tools/call per request; the URL is wrk's argument,
-- the session id and the tool name come from the environment (set by tests/bench/run).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = os.getenv("BENCH_SESSION")
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"' ..
    os.getenv("BENCH_TOOL") .. '","arguments":{"text":"hello from the benchmark"}}}'

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "result.lua")
