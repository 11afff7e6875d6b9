#!/usr/bin/env bash
# Load benchmark of `spikecast serve`: p50/p99 latency of POST /v1/predict (one window) at low load
# (1 connection, closed loop) and under concurrency (N connections), with wrk.
#
#   bench/serve_bench.sh BUNDLE_DIR [--bin build/apps/spikecast/spikecast] [--port 18080]
#                        [--duration 15s] [--connections 32] [--threads 2] [-- extra serve flags]
#
# BUNDLE_DIR is a model bundle (weights.safetensors + manifest.json) or, with --registry, a registry.
# Prints one JSON object per phase and writes them to bench/results/serve-<date>.json.
# wrk (Debian's 4.x) is closed-loop: "fixed rate" is approximated by a fixed connection count;
# the achieved rate is reported with each phase.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="$root/build/apps/spikecast/spikecast"
port=18080
duration=15s
connections=32
threads=2
source_flag=--model
extra=()

[[ $# -ge 1 ]] || { sed -n '2,12p' "$0"; exit 2; }
target="$1"; shift
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --registry) source_flag=--registry; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 1; }
[[ -x "$bin" ]] || { echo "no spikecast binary at $bin (use --bin)" >&2; exit 1; }

work="$(mktemp -d)"
log="$work/serve.log"
"$bin" serve "$source_flag" "$target" --host 127.0.0.1 --port "$port" "${extra[@]}" >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

url="http://127.0.0.1:$port"
for _ in $(seq 1 600); do
  curl -fs "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "server exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
curl -fs "$url/readyz" >/dev/null || { echo "server not ready after 60 s" >&2; cat "$log" >&2; exit 1; }

# One window of the live model's shape: a smooth wave per channel.
curl -fs "$url/v1/models" | python3 -c '
import json, math, sys
m = json.load(sys.stdin)["live"]
rows = [{c: round(1 + 0.5 * math.sin(0.1 * (t + 7 * k)), 6) for k, c in enumerate(m["channels"])}
        for t in range(m["input_length"])]
print(json.dumps({"windows": [{"rows": rows}]}))' >"$work/body.json"
export BODY_FILE="$work/body.json"
version="$(curl -fs "$url/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["model_version"])')"

# Warm-up, then the two phases.
wrk -t1 -c1 -d3s -s "$here/serve_predict.lua" "$url/v1/predict" >/dev/null 2>&1 || true
phase() {  # name threads connections
  wrk -t"$2" -c"$3" -d"$duration" --latency -s "$here/serve_predict.lua" "$url/v1/predict" 2>"$work/$1.json" >/dev/null
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["phase"]=sys.argv[2]; d["connections"]=int(sys.argv[3]); print(json.dumps(d))' \
    "$work/$1.json" "$1" "$3"
}
low="$(phase low_load 1 1)"
high="$(phase concurrent "$threads" "$connections")"
batches="$(curl -fs "$url/metrics" | grep -E '^spikecast_batch_windows_(sum|count)' | awk '{print $2}' | paste -sd' ')"

mkdir -p "$here/results"
out="$here/results/serve-$(date -u +%Y%m%dT%H%M%SZ).json"
python3 - "$low" "$high" "$version" "$batches" >"$out" <<'PY'
import json, sys
low, high, version, batches = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4].split()
mean_batch = float(batches[0]) / float(batches[1]) if len(batches) == 2 and float(batches[1]) > 0 else None
print(json.dumps({"model_version": version, "phases": [low, high], "mean_batch_windows": mean_batch}, indent=2))
PY
cat "$out"
echo "wrote $out" >&2
