-- tools_list.lua: wrk script posting one MCP tools/list per request; the URL is wrk's argument,
-- the session id comes from the environment (set by tests/bench/policy_list).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = os.getenv("BENCH_SESSION")
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.body = '{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}'

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "result.lua")
