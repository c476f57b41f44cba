-- initialize.lua: wrk script posting one MCP initialize per request (no session: each answer
-- makes a new one); the URL is wrk's argument (tests/bench/hotpath).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":' ..
    '"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "result.lua")
