-- result.lua: the done() of the wrk scripts here: one "RESULT key=value ..." line the bench
-- commands read (requests/s, p50 and p99 latency in µs, errors, requests).
function done(summary, latency, requests)
    io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d errors=%d requests=%d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50),
        latency:percentile(99), summary.errors.status + summary.errors.connect +
        summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
