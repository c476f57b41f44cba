-- sessions.lua: wrk script posting one MCP tools/call per request, each on the next session of
-- the file BENCH_SESSIONS_FILE (one id a line), round robin; the URL is wrk's argument.
local ids = {}
for line in io.lines(os.getenv("BENCH_SESSIONS_FILE")) do
    ids[#ids + 1] = line
end
local body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"b_echo",' ..
    '"arguments":{"text":"hello from the benchmark"}}}'
local i = 0

request = function()
    i = i % #ids + 1
    return wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["Accept"] = "application/json, text/event-stream",
        ["MCP-Protocol-Version"] = "2025-11-25",
        ["Mcp-Session-Id"] = ids[i],
    }, body)
end

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "result.lua")
