#!/usr/bin/env bash
# Serving and batch scoring on the GPU machine, in one device call (carry [".deps",
# "report/node_modules"]): builds the tree against PyTorch's LibTorch, runs the model suite with
# CUDA (CUDA graphs and every model against the CPU oracle), trains a bundle of the users' shape
# (L = 100, H = 1, 13 channels, the default eight members) briefly on generated data, then
#   - bench/serve_bench.sh: one-window latency (1 connection) and under 32 connections, for
#     fp32 eager, fp32 with CUDA graphs and bf16 with CUDA graphs;
#   - spikecast score over ROWS generated rows: fp32 eager, fp32 graphs, bf16 graphs.
# Results and logs go to $OUT (summary.txt, serve-*.json, logs/). SKIP_TESTS=1 skips the model
# suite, SCORE=0 the scoring runs.
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${OUT:-out}
mkdir -p "$OUTDIR/logs"
ROWS=${ROWS:-300000}
B=build-gpu/apps/spikecast/spikecast
W=/tmp/spikecast-gpu-serve
rm -rf "$W" && mkdir -p "$W"
S="$OUTDIR/summary.txt"
: >"$S"
note() { echo "$*" | tee -a "$S"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$S"
note "commit $(git log -1 --format=%h 2>/dev/null) $(date -u +%FT%TZ)"
BUILD_DIR=build-gpu scripts/build-gpu.sh spikecast models_tests >"$OUTDIR/logs/build.log" 2>&1 || { note "build failed"; tail -30 "$OUTDIR/logs/build.log"; exit 1; }
[ "${SKIP_TESTS:-0}" = 1 ] || timeout 150 ./build-gpu/tests/models/models_tests >"$OUTDIR/logs/models_tests.log" 2>&1
note "models_tests: exit $? $(grep -E '^\[  (PASSED|FAILED)' "$OUTDIR/logs/models_tests.log" | tr '\n' ' ')"
grep -E "FAILED|Failure" "$OUTDIR/logs/models_tests.log" | head -10 | tee -a "$S"

# wrk travels in .deps/debs (scripts/fetch-gpu-deps.sh); the GPU machine has none.
for f in .deps/debs/wrk_*.deb .deps/debs/libluajit-5.1-*.deb; do dpkg -x "$f" .deps/wrk; done
export PATH="$PWD/.deps/wrk/usr/bin:$PATH" LD_LIBRARY_PATH="$PWD/.deps/wrk/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
note "wrk: $(wrk -v 2>&1 | head -1)"

$B data generate --rows 20000 -o "$W/train.csv" >/dev/null
timeout 200 $B train --data "$W/train.csv" -L 100 -H 1 --epochs 1 --device cuda --progress quiet --out "$W/model" \
  >"$OUTDIR/logs/train.log" 2>&1 || { note "train failed"; tail -20 "$OUTDIR/logs/train.log"; }
note "bundle: $(python3 -c "import json;m=json.load(open('$W/model/manifest.json'));print(m['architecture'],[x['name'] for x in m['options']['members']])")"

for cfg in "fp32-eager:--precision fp32 --no-cuda-graphs" "fp32-graphs:--precision fp32" "bf16-graphs:--precision bf16"; do
  name=${cfg%%:*}
  flags=${cfg#*:}
  # shellcheck disable=SC2086
  timeout 120 bench/serve_bench.sh "$W/model" --bin "$B" --duration 8s --connections 32 --threads 2 \
    -- --device cuda --max-wait-us 0 $flags >"$OUTDIR/serve-$name.json" 2>"$OUTDIR/logs/serve-$name.log"
  note "serve $name: $(python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))
print('; '.join(f\"{p['phase']}: p50 {p['p50_ms']:.3f} ms p99 {p['p99_ms']:.3f} ms {p['rps']:.0f} req/s errors {p['errors']}+{p['non2xx']}\" for p in d['phases']), '; mean batch', d['mean_batch_windows'])" "$OUTDIR/serve-$name.json" 2>&1)"
done

if [ "${SCORE:-1}" = 1 ]; then
$B data generate --rows "$ROWS" -o "$W/input.csv" >/dev/null
for cfg in "fp32-eager:--precision fp32 --no-cuda-graphs" "fp32-graphs:--precision fp32" "bf16-graphs:--precision bf16"; do
  name=${cfg%%:*}
  flags=${cfg#*:}
  for batch in 4096 16384; do
    rm -f "$W/out.csv" "$W/out.csv.progress"
    # shellcheck disable=SC2086
    timeout 120 $B score -m "$W/model" "$W/input.csv" -o "$W/out.csv" --device cuda --batch $batch $flags \
      >"$OUTDIR/logs/score-$name-$batch.log" 2>&1
    note "score $name batch $batch: $(grep -E '^windows/s' "$OUTDIR/logs/score-$name-$batch.log" || tail -3 "$OUTDIR/logs/score-$name-$batch.log")"
  done
done
note "score cpu (16 cores) batch 256: $(timeout 100 $B score -m "$W/model" "$W/train.csv" -o "$W/cpu.csv" --device cpu --batch 256 2>&1 | grep -E '^windows/s')"
fi
tar czf "$OUTDIR/logs.tgz" -C "$OUTDIR" logs && rm -rf "$OUTDIR/logs"
