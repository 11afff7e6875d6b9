#!/usr/bin/env bash
# Throughput of `spikecast score` on CPU: windows/s over a generated file of ROWS rows (default
# 100000, the generator's 14 columns), scored by a bundle trained briefly on 3000 generated rows
# (L=48, H=4, members linear,repeat_last,gru,spike,rule by default; 1 epoch: the numbers measure
# the engine, not the forecasts). Runs RUNS times (default 3) after WARMUP warm-up runs (default
# 1); prints one JSON line: windows/s (median and each run, wall clock), CPU seconds (user + sys)
# and peak RSS of each run. On a shared machine the CPU time is the figure that reflects the code.
#
#   bench/score_bench.sh [--bin build/apps/spikecast/spikecast] [--rows 100000] [--runs 3]
#                        [--warmup 1] [--batch 4096] [--members linear,repeat_last,gru,spike,rule]
#                        [--work /tmp/spikecast-score-bench] [--keep]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="$root/build/apps/spikecast/spikecast"
rows=100000
runs=3
warmup=1
batch=4096
members=linear,repeat_last,gru,spike,rule
work="${TMPDIR:-/tmp}/spikecast-score-bench"
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --rows) rows="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --members) members="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "unknown argument: $1" >&2; sed -n '2,12p' "$0"; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "no spikecast binary at $bin (use --bin)" >&2; exit 1; }
mkdir -p "$work"

model="$work/model-${members//,/-}"
if [[ ! -f "$model/manifest.json" ]]; then
  "$bin" data generate --rows 3000 -o "$work/train.csv" >/dev/null
  "$bin" train --data "$work/train.csv" -L 48 -H 4 --members "$members" \
    --epochs 1 --device cpu --out "$model" >/dev/null 2>&1
fi
[[ -f "$work/input.csv" ]] || "$bin" data generate --rows "$rows" -o "$work/input.csv" >/dev/null

run_once() {  # prints "windows_per_s max_rss_kb cpu_seconds"
  rm -f "$work/out.csv" "$work/out.csv.progress"
  local log="$work/run.log"
  /usr/bin/time -f "RSS %M CPU %U %S" "$bin" score --model "$model" "$work/input.csv" -o "$work/out.csv" \
    --device cpu --batch "$batch" >"$log" 2>&1
  awk '/^windows\/s:/ {w = $2} /^RSS/ {r = $2; c = $4 + $6} END {print w, r, c}' "$log"
}

for ((i = 0; i < warmup; ++i)); do run_once >/dev/null; done  # page cache, allocator, kernels
results=()
rss_list=()
cpu_list=()
for ((i = 0; i < runs; ++i)); do
  read -r wps rss cpu < <(run_once)
  results+=("$wps")
  rss_list+=("$rss")
  cpu_list+=("$cpu")
done
sorted=($(printf '%s\n' "${results[@]}" | sort -n))
median="${sorted[$((runs / 2))]}"
windows=$(($(wc -l <"$work/out.csv") - 1))
input_mb=$(awk -v b="$(stat -c %s "$work/input.csv")" 'BEGIN {printf "%.1f", b / 1e6}')
printf '{"benchmark": "score_cpu", "members": "%s", "rows": %s, "input_mb": %s, "windows": %s, "batch": %s, "runs": %s, "windows_per_s_median": %s, "windows_per_s": [%s], "cpu_seconds": [%s], "max_rss_kb": [%s]}\n' \
  "$members" "$rows" "$input_mb" "$windows" "$batch" "$runs" "$median" "$(IFS=,; echo "${results[*]}")" \
  "$(IFS=,; echo "${cpu_list[*]}")" "$(IFS=,; echo "${rss_list[*]}")"
[[ $keep == 1 ]] || rm -f "$work/out.csv"
