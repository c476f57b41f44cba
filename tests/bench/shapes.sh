# tests/bench/shapes.sh: the load shapes tests/bench/run measures besides its 16 HTTP/1.1
# connections (issue 15 point 1): one connection (the added latency), h2c with many streams on a
# connection (h2load), and event-stream answers (a second C backend started with --sse, behind a
# gateway of its own); direct and through mcpgw in the same rounds, CPU per call per process, each
# figure beside its floor (the backend alone; the unix-socket and nng round trips of
# tests/bench/floors). Sourced by tests/bench/run, after its gateways are up: it uses run's
# build, work, here, duration, connections, rounds, bport/bsid, gport/gsid, grouter/gworker,
# bpid and its helpers (start_gateway, session_of, ticks, per_call, field, median, run_wrk).
# shellcheck shell=bash disable=SC2154,SC2034 # (run's variables; the s_* ones are read through ${!name})

h2c_connections=${h2c_connections:-1}
h2c_streams=${h2c_streams:-16}

# The SSE backend and its gateway (the first gateway's config with the other backend's port).
shapes_start() {
    "$build/mcpgw-testbackend" --name bench --port 0 --sse > "$work/backend-sse.out" &
    pids+=($!)
    spid=$!
    for _ in $(seq 50); do grep -q 'listening port=' "$work/backend-sse.out" 2>/dev/null && break; sleep 0.1; done
    sport=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$work/backend-sse.out")
    sed -e "s|$work/run|$work/run-sse|" -e "s|$work/session.key|$work/session-sse.key|" \
        -e "s|127.0.0.1:$bport/mcp|127.0.0.1:$sport/mcp|" "$work/mcpgw.yaml" > "$work/mcpgw-sse.yaml"
    start_gateway "$work/mcpgw-sse.yaml" "$work/broker-sse.log"
    sgport=$port
    local broker=${pids[-1]}
    srouter=$(pgrep -P "$broker" -x mcpgw-router | tr '\n' ' ')
    sworker=$(pgrep -P "$broker" -x mcpgw-worker | tr '\n' ' ')
    ssid=$(session_of "http://127.0.0.1:$sport/mcp")
    sgsid=$(session_of "http://127.0.0.1:$sgport/mcp")
    # both answer a tools/call as an event stream, or the SSE figures would measure JSON
    local url ct
    for url in "http://127.0.0.1:$sport/mcp $ssid echo" "http://127.0.0.1:$sgport/mcp $sgsid b_echo"; do
        # shellcheck disable=SC2086
        set -- $url
        ct=$(curl -s -o "$work/sse-check.out" -w '%{content_type}' -H 'content-type: application/json' \
            -H 'accept: application/json, text/event-stream' -H "mcp-session-id: $2" \
            -H 'mcp-protocol-version: 2025-11-25' \
            -d "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"$3\",\"arguments\":{\"text\":\"x\"}}}" "$1")
        case "$ct" in
        text/event-stream*) grep -q '^data: .*"result"' "$work/sse-check.out" || { echo "no SSE result from $1" >&2; exit 1; } ;;
        *) echo "$1 answered a tools/call as $ct, not text/event-stream" >&2; exit 1 ;;
        esac
    done
    command -v h2load >/dev/null || { echo "h2load (nghttp2-client) is missing" >&2; exit 1; }
    # warm the paths (the first call through a gateway creates its upstream session)
    BENCH_SESSION=$sgsid BENCH_TOOL=b_echo wrk -t1 -c2 -d1s -s "$here/tools_call.lua" "http://127.0.0.1:$sgport/mcp" >/dev/null
    BENCH_SESSION=$ssid BENCH_TOOL=echo wrk -t1 -c2 -d1s -s "$here/tools_call.lua" "http://127.0.0.1:$sport/mcp" >/dev/null
    duration=1 run_h2load "http://127.0.0.1:$gport/mcp" "$gsid" b_echo >/dev/null
    : > "$work/shapes.tsv"
    : > "$work/h2c-means.tsv"
}

# h2load over h2c (prior knowledge): h2c_connections connections of h2c_streams streams each, the
# same tools/call; prints what result.lua prints for wrk (p50 and p99 from its per-request log).
run_h2load() { # url session tool
    local body="$work/h2c-body.json" log="$work/h2c-requests.tsv" out total ok pct
    printf '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"%s","arguments":{"text":"hello from the benchmark"}}}' "$3" > "$body"
    rm -f "$log" # h2load appends to its log
    out=$(h2load -t1 -c"$h2c_connections" -m"$h2c_streams" -D "$duration" -d "$body" \
        -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
        -H "mcp-session-id: $2" -H 'mcp-protocol-version: 2025-11-25' --log-file="$log" "$1" 2>&1)
    total=$(echo "$out" | sed -n 's/^requests: \([0-9]*\) total.*/\1/p')
    ok=$(echo "$out" | sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p')
    pct=$(cut -f3 "$log" | sort -n | awk '{a[NR] = $1} END {i = int(NR * 0.99); if (i < 1) {i = 1}; if (NR == 0) {print "0 0"} else {print a[int((NR + 1) / 2)], a[i]}}')
    cut -f3 "$log" | awk -v u="$1" '{s += $1} END {printf "%s\t%.0f\n", u, (NR > 0 ? s / NR : 0)}' >> "$work/h2c-means.tsv"
    echo "rps=$(echo "$out" | sed -n 's/^finished in [0-9.]*m*s, \([0-9.]*\) req\/s.*/\1/p') p50_us=${pct% *} p99_us=${pct#* } errors=$((${total:-0} - ${ok:-0})) requests=${ok:-0}"
}
wrk_one() { # url session tool: wrk over one connection
    BENCH_SESSION=$2 BENCH_TOOL=$3 wrk -t1 -c1 -d"${duration}s" --latency -s "$here/tools_call.lua" "$1" |
        sed -n 's/^RESULT //p'
}
wrk_many() { # url session tool: wrk over $connections connections
    run_wrk "$1" "$2" "$3"
}

# One case of one round: the backend directly, then through its gateway, each with the CPU of
# the processes it went through. Appends a line to shapes.tsv: round case, direct rps p50 p99
# errors, gateway rps p50 p99 errors, CPU µs per call of the backend (direct), router, worker,
# backend (through the gateway).
shape_case() { # round case runner backend_url backend_sid gateway_url gateway_sid backend_pid "routers" "workers"
    local b0 b1 b2 r0 r1 w0 w1 d g
    b0=$(ticks "$8")
    d=$($3 "$4" "$5" echo)
    b1=$(ticks "$8")
    # shellcheck disable=SC2086
    r0=$(ticks $9) w0=$(ticks ${10})
    g=$($3 "$6" "$7" b_echo)
    # shellcheck disable=SC2086
    r1=$(ticks $9) w1=$(ticks ${10}) b2=$(ticks "$8")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" \
        "$(field "$d" rps)" "$(field "$d" p50_us)" "$(field "$d" p99_us)" "$(field "$d" errors)" \
        "$(field "$g" rps)" "$(field "$g" p50_us)" "$(field "$g" p99_us)" "$(field "$g" errors)" \
        "$(per_call $((b1 - b0)) "$(field "$d" requests)")" "$(per_call $((r1 - r0)) "$(field "$g" requests)")" \
        "$(per_call $((w1 - w0)) "$(field "$g" requests)")" "$(per_call $((b2 - b1)) "$(field "$g" requests)")" >> "$work/shapes.tsv"
    echo "round $1 $2: direct $d | gateway $g"
}

shapes_round() { # round
    shape_case "$1" h1-1 wrk_one "http://127.0.0.1:$bport/mcp" "$bsid" "http://127.0.0.1:$gport/mcp" "$gsid" \
        "$bpid" "$grouter" "$gworker"
    shape_case "$1" h2c run_h2load "http://127.0.0.1:$bport/mcp" "$bsid" "http://127.0.0.1:$gport/mcp" "$gsid" \
        "$bpid" "$grouter" "$gworker"
    shape_case "$1" sse wrk_many "http://127.0.0.1:$sport/mcp" "$ssid" "http://127.0.0.1:$sgport/mcp" "$sgsid" \
        "$spid" "$srouter" "$sworker"
}

# The floors (tests/bench/floors' output, FLOOR lines) and each shape's medians, as variables
# s_<case>_<figure>; then the table, the plot and the figures against their floors.
floor_of() { sed -n "s/^FLOOR mode=$1 .* $2=\([0-9.]*\).*/\1/p" "$work/floors.out" | head -1; }
# With --skip floors: the figures of the floors section the last tests/bench/floors run wrote.
floors_from_doc() { # doc
    [ -f "$1" ] || return 0
    awk -F'|' '/^<!-- floors: begin/ {on = 1} /^<!-- floors: end/ {on = 0}
        on && $2 ~ /^ unix stream socket/ {m = "unix"} on && $2 ~ /^ the same as mcpgw/ {m = "nng-poll"}
        on && m != "" {gsub(/ /, ""); printf "FLOOR mode=%s from=doc p50_us=%s p99_us=%s cpu_us=%s\n", m, $3, $4, $5; m = ""}' "$1"
}
shapes_medians() {
    local c i name
    local names=(x x d_rps d_p50 d_p99 d_err g_rps g_p50 g_p99 g_err cpu_direct cpu_router cpu_worker cpu_backend)
    for c in h1-1 h2c sse; do
        for i in 3 4 5 7 8 9 11 12 13 14; do
            name=${names[$((i - 1))]}
            printf -v "s_${c/-/_}_$name" '%s' "$(awk -F'\t' -v c="$c" -v i="$i" '$2 == c {print $i}' "$work/shapes.tsv" | median)"
        done
        printf -v "s_${c/-/_}_errs" '%s' "$(awk -F'\t' -v c="$c" '$2 == c {s += $6 + $10} END {print s + 0}' "$work/shapes.tsv")"
    done
    # the 16-connection JSON case is tests/bench/run's own (its rounds.tsv and cpu.tsv)
    s_h1_16_d_rps=$d_rps s_h1_16_d_p50=$d_p50 s_h1_16_d_p99=$d_p99
    s_h1_16_g_rps=$g_rps s_h1_16_g_p50=$g_p50 s_h1_16_g_p99=$g_p99
    s_h1_16_cpu_direct=$cpu_direct s_h1_16_cpu_router=$cpu_router s_h1_16_cpu_worker=$cpu_worker
    s_h1_16_cpu_backend=$cpu_backend
    [ -s "$work/floors.out" ] || floors_from_doc "$top/docs/BENCHMARKS.md" > "$work/floors.out"
    f_unix_p50=$(floor_of unix p50_us) f_unix_cpu=$(floor_of unix cpu_us)
    f_nng_p50=$(floor_of nng-poll p50_us) f_nng_cpu=$(floor_of nng-poll cpu_us)
    added_p50=$((s_h1_1_g_p50 - s_h1_1_d_p50))
    s_h2c_d_mean=$(awk -F'\t' -v u="http://127.0.0.1:$bport/mcp" '$1 == u {print $2}' "$work/h2c-means.tsv" | median)
    s_h2c_g_mean=$(awk -F'\t' -v u="http://127.0.0.1:$gport/mcp" '$1 == u {print $2}' "$work/h2c-means.tsv" | median)
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0 || a == "") print "-"; else printf "%.2f", a / b}'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a + b}'; }

shapes_plot() { # png
    {
        echo "\"HTTP/1.1 x1\" $s_h1_1_d_rps $s_h1_1_g_rps"
        echo "\"HTTP/1.1 x$connections\" $s_h1_16_d_rps $s_h1_16_g_rps"
        echo "\"h2c ${h2c_connections}x$h2c_streams\" $s_h2c_d_rps $s_h2c_g_rps"
        echo "\"SSE x$connections\" $s_sse_d_rps $s_sse_g_rps"
    } > "$work/shapes.dat"
    # two bars a cluster and a gap of one: the gateway's bar is a sixth right of the cluster's x
    gnuplot <<GP
set terminal png size 800,440
set output "$1"
set title "tools/call req/s by load shape (xN: N connections), median of ${rounds} x ${duration}s\\nlabels: gateway / direct"
set ylabel "requests/s (log scale)"
set logscale y
set yrange [100:1000000]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.7
set key top left
plot "$work/shapes.dat" using 2:xtic(1) title "direct to the backend (the floor)" linecolor rgb "#888a85", \
     "" using 3 title "through mcpgw" linecolor rgb "#3465a4", \
     "" using (\$0 + 0.17):(\$3 * 1.25):(sprintf("%.2f", \$3 / \$2)) with labels notitle
GP
}

shapes_section() {
    local r
    echo "## Load shapes: gateway against its floors"
    echo
    echo "The same \`tools/call\` of the \`echo\` tool in the same $rounds rounds of ${duration}s as above,"
    echo "straight to the C test backend (the HTTP hop's floor: an h2o server answering one request)"
    echo "and through mcpgw (1 router, 1 worker): one HTTP/1.1 connection (wrk -c1), $connections"
    echo "connections (the first section), h2c by prior knowledge with $h2c_connections connection(s) of"
    echo "$h2c_streams concurrent streams (h2load -m$h2c_streams, p50/p99 from its per-request log), and $connections"
    echo "HTTP/1.1 connections to a second backend started with \`--sse\`, whose every answer is"
    echo "\`text/event-stream\` (behind a gateway of its own, which passes it on as an event stream)."
    echo "Medians of the rounds; ratios are gateway / direct (the floor)."
    echo
    echo "| shape | direct req/s | gateway req/s | ratio | direct p50 | gateway p50 | ratio | direct p99 | gateway p99 |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for r in "HTTP/1.1, 1 connection, JSON:h1_1" "HTTP/1.1, $connections connections, JSON:h1_16" \
        "h2c, $h2c_connections x $h2c_streams streams, JSON:h2c" "HTTP/1.1, $connections connections, SSE:sse"; do
        local c=${r##*:} n=${r%:*}
        local dr=s_${c}_d_rps gr=s_${c}_g_rps dp=s_${c}_d_p50 gp=s_${c}_g_p50 d9=s_${c}_d_p99 g9=s_${c}_g_p99
        echo "| $n | ${!dr} | ${!gr} | $(ratio "${!gr}" "${!dr}") | ${!dp} µs | ${!gp} µs | $(ratio "${!gp}" "${!dp}") | ${!d9} µs | ${!g9} µs |"
    done
    echo
    echo "Errors in these runs: h2c $s_h2c_errs, SSE $s_sse_errs, one connection $s_h1_1_errs. The mean"
    echo "latency of h2load's per-request log on h2c: $s_h2c_d_mean µs direct, $s_h2c_g_mean µs through mcpgw."
    echo
    echo "**Added latency at one connection** (gateway p50 − direct p50): **$added_p50 µs** (goal,"
    echo "issue 15: at most 120 µs). What a gateway adds at the least is one more HTTP hop and one"
    echo "round trip between two processes: its floor is the direct p50 ($s_h1_1_d_p50 µs) + a unix-socket"
    echo "round trip ($f_unix_p50 µs) = $(sum "$s_h1_1_d_p50" "$f_unix_p50") µs, so the added latency is"
    echo "$(ratio "$added_p50" "$(sum "$s_h1_1_d_p50" "$f_unix_p50")") x its floor; with nng's round trip, which mcpgw used before issue 15,"
    echo "($f_nng_p50 µs) instead, the floor is $(sum "$s_h1_1_d_p50" "$f_nng_p50") µs and the ratio $(ratio "$added_p50" "$(sum "$s_h1_1_d_p50" "$f_nng_p50")")."
    echo
    echo "### CPU per call per process, by shape"
    echo
    echo "User + system time of every thread (\`/proc/<pid>/stat\`) over each run, over its requests;"
    echo "medians. The floor of the gateway's CPU per call is the backend's own per call when called"
    echo "directly (the server side of one HTTP hop) + one unix-socket round trip's (both processes,"
    echo "$f_unix_cpu µs, tests/bench/floors); the client side of the worker's HTTP hop is not in it, so"
    echo "the floor is low. With nng's round trip ($f_nng_cpu µs, one message alone each way) instead, the"
    echo "last column (mcpgw's transport before issue 15; it now writes a loop turn's frames to one peer"
    echo "in one write on a unix socket, docs/ipc.md)."
    echo
    echo "| shape | backend direct | router | worker | backend via mcpgw | router + worker | floor | ratio | ratio to the nng floor |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for r in "HTTP/1.1, 1 connection:h1_1" "HTTP/1.1, $connections connections:h1_16" \
        "h2c, $h2c_connections x $h2c_streams streams:h2c" "SSE, $connections connections:sse"; do
        local c=${r##*:} n=${r%:*}
        local cd=s_${c}_cpu_direct cr=s_${c}_cpu_router cw=s_${c}_cpu_worker cb=s_${c}_cpu_backend
        local gw floor nfloor
        gw=$(sum "${!cr}" "${!cw}") floor=$(sum "${!cd}" "$f_unix_cpu") nfloor=$(sum "${!cd}" "$f_nng_cpu")
        echo "| $n | ${!cd} | ${!cr} | ${!cw} | ${!cb} | **$gw** | $floor | $(ratio "$gw" "$floor") | $(ratio "$gw" "$nfloor") |"
    done
    echo
    echo "![tools/call by load shape](bench-shapes.png)"
    echo
    echo "Every round (req/s and p50 µs; direct / gateway):"
    echo
    echo "| round | shape | direct req/s | direct p50 | gateway req/s | gateway p50 | router CPU µs | worker CPU µs |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $7, $8, $12, $13}' "$work/shapes.tsv"
}

shapes_summary() {
    echo "added latency at 1 connection (gateway p50 - direct p50): $added_p50 µs (direct $s_h1_1_d_p50 µs, gateway $s_h1_1_g_p50 µs)"
    echo "h2c ${h2c_connections}x$h2c_streams: direct $s_h2c_d_rps req/s, gateway $s_h2c_g_rps req/s ($(ratio "$s_h2c_g_rps" "$s_h2c_d_rps"))"
    echo "SSE: direct $s_sse_d_rps req/s, gateway $s_sse_g_rps req/s ($(ratio "$s_sse_g_rps" "$s_sse_d_rps"))"
}
