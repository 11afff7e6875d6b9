-- wrk script: POST one window to /v1/predict. The body is prepared by serve_bench.sh from the
-- live model's channels and input length (GET /v1/models) and passed in the BODY_FILE env var.
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"

-- One JSON line on stderr with the latency percentiles (µs), merged by serve_bench.sh.
done = function(summary, latency, requests)
  io.stderr:write(string.format(
    '{"requests": %d, "errors": %d, "non2xx": %d, "duration_s": %.3f, "rps": %.1f, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
