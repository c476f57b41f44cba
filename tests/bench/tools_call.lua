-- tools_call.lua: wrk script posting one MCP tools/call per request; the URL is wrk's argument,
-- the session id, the tool name and a bearer token (BENCH_BEARER, for a gateway with auth) come
-- from the environment (set by tests/bench/run).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = os.getenv("BENCH_SESSION")
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
if os.getenv("BENCH_BEARER") ~= nil and os.getenv("BENCH_BEARER") ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER")
end
wrk.body = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"' ..
    os.getenv("BENCH_TOOL") .. '","arguments":{"text":"hello from the benchmark"}}}'

function done(summary, latency, requests)
    io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d errors=%d requests=%d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50),
        latency:percentile(99), summary.errors.status + summary.errors.connect +
        summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
