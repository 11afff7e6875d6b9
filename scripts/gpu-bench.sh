#!/usr/bin/env bash
# The side-by-side measurement of issue 7, in one device call on the GPU machine:
#   builds spikecast (scripts/build-gpu.sh), runs `spikecast bench` (fp32 at the users' batch 32;
#   bf16 at 1024, 4096 and 16384, members in turn and side by side, with the time-budget run), `spikecast plan`, then the PyTorch peer
#   (.peer/bench.py, tuned.py, tuned_infer.py, and bench/peer_budget.py: the peer's members for the
#   budget run's time on its windows) on the same card, and prints one table
#   (bench/side_by_side.py); last, training memory like for like (ours_fp32_peer_shape.json and
#   peer_train_memory.json: the peer's windows and architecture, the peer a process per member).
# Device tool: carry [".deps", ".peer", "report/node_modules"]; .peer is a copy of
# ../shared/bench/peer/*.py (git-ignored through .git/info/exclude).
# Everything goes under $OUT: the JSON files, side_by_side.txt and logs/<phase>.log. Each phase has
# a time limit inside an overall budget (GPU_BENCH_BUDGET_S, default 510 s of wall time); a phase
# that fails or runs out of time is reported and the others still run.
# GPU_BENCH_TESTS=1 also builds and runs models_tests on the card first (every model against the
# CPU oracle, CUDA graphs, side streams); GPU_BENCH_PLAN=0 skips `spikecast plan`, GPU_BENCH_PEER=0
# the plain peer's bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${OUT:-out}
mkdir -p "$OUTDIR/logs"
OUTDIR=$(cd "$OUTDIR" && pwd)
BUDGET=${GPU_BENCH_BUDGET_S:-510}
# The budget run's series and windows (40 MB at the users' scale), for bench/peer_budget.py.
WINDOWS=${TMPDIR:-/tmp}/spikecast-budget-windows
rm -rf "$WINDOWS"  # never a stale copy from an earlier call on a warm machine
T0=$SECONDS
B=build-gpu/apps/spikecast/spikecast
STATUS=()

# phase NAME LIMIT_S CMD...: runs CMD with its output in logs/NAME.log, for at most LIMIT_S seconds
# and at most what is left of the budget; never stops the script.
phase() {
  local name=$1 limit=$2
  shift 2
  local left=$((BUDGET - (SECONDS - T0)))
  if [ "$left" -lt 15 ]; then
    STATUS+=("$name: skipped (budget spent)")
    echo "== $name: skipped, budget spent"
    return 0
  fi
  if [ "$limit" -gt "$left" ]; then limit=$left; fi
  echo "== $name (limit ${limit}s, $((SECONDS - T0))s elapsed)"
  local t=$SECONDS rc=0
  timeout --kill-after=10 "$limit" "$@" >"$OUTDIR/logs/$name.log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    STATUS+=("$name: ok in $((SECONDS - t))s")
  else
    STATUS+=("$name: FAILED rc=$rc after $((SECONDS - t))s (logs/$name.log)")
    tail -n 8 "$OUTDIR/logs/$name.log" | sed 's/^/   | /'
  fi
  return 0
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$OUTDIR/logs/gpu.txt" 2>&1 || true
# The tree's commit: a COMMIT file at the root when the tree is a `git archive` snapshot (inside a
# snapshot `git log` would read whatever repository encloses it), else git's HEAD.
if [ -f COMMIT ]; then cp COMMIT "$OUTDIR/logs/commit.txt"; else git log -1 --format='%H %cI' >"$OUTDIR/logs/commit.txt" 2>/dev/null || true; fi

if [ "${GPU_BENCH_TESTS:-0}" = 1 ]; then
  phase build 330 env BUILD_DIR=build-gpu scripts/build-gpu.sh spikecast models_tests
  phase models_tests 90 build-gpu/tests/models/models_tests --gtest_brief=1
else
  phase build 300 env BUILD_DIR=build-gpu scripts/build-gpu.sh spikecast
fi
# Phases in order of importance, so that a short budget keeps the comparison with the tuned peer.
if [ -x "$B" ]; then
  # Large batches in bf16, members in turn and side by side, the fixed-budget validation run (8 s
  # per member), latency, throughput.
  phase ours_bf16 200 "$B" bench --device cuda --precision bf16 --batch 1024,4096,16384 --steps 20 \
    --budget 8 --budget-batch 1024 --budget-export "$WINDOWS" --throughput-batch 8192,65536 \
    --out "$OUTDIR/ours_bf16.json"
  # The peer's members for the same time on the same windows (validation MSE after the budget): the
  # plain peer's eager step at our batch, then the tuned peer's captured step at 4096.
  if [ -f .peer/models.py ] && [ -f "$WINDOWS/meta.json" ]; then
    phase peer_budget 90 env OUT="$OUTDIR" PYTHONUNBUFFERED=1 python3 bench/peer_budget.py "$WINDOWS" .peer
    phase peer_budget_tuned 90 env OUT="$OUTDIR" PYTHONUNBUFFERED=1 python3 bench/peer_budget.py "$WINDOWS" .peer \
      --graph --batch 4096 --tag tuned
  else
    STATUS+=("peer_budget: no peer models or no budget windows from ours_bf16; skipped")
  fi
  # The ensemble's latency in fp32 (as the plain and tuned peers run it); the full fp32 phase
  # below replaces this file when the budget lets it run.
  phase ours_fp32_latency 60 "$B" bench --device cuda --precision fp32 --phases latency --throughput-batch 8192 \
    --out "$OUTDIR/ours_fp32.json"
else
  STATUS+=("spikecast: not built; our phases skipped")
fi
if [ -f .peer/bench.py ]; then
  phase tuned_infer 80 env OUT="$OUTDIR" PYTHONUNBUFFERED=1 bash -c 'cd .peer && exec python3 tuned_infer.py'
  phase tuned 150 env OUT="$OUTDIR" PYTHONUNBUFFERED=1 bash -c 'cd .peer && exec python3 tuned.py'
  cp "$OUTDIR/logs/tuned.log" "$OUTDIR/tuned.log" 2>/dev/null || true
else
  STATUS+=("peer: .peer/bench.py missing (copy ../shared/bench/peer/*.py to .peer and carry it)")
fi
if [ -x "$B" ]; then
  # The users' setting: batch 32, fp32; every member, the ensemble's latency in fp32.
  phase ours_fp32 100 "$B" bench --device cuda --precision fp32 --batch 32 --steps 30 \
    --phases matmul,train,latency --out "$OUTDIR/ours_fp32.json"
  [ "${GPU_BENCH_PLAN:-1}" = 0 ] || phase plan 90 "$B" plan --device cuda --precision bf16 --batch 32,1024 --rows 200000 \
    --json "$OUTDIR/plan.json"
fi
[ "${GPU_BENCH_PEER:-1}" = 0 ] || [ ! -f .peer/bench.py ] || \
  phase peer 150 env OUT="$OUTDIR" PYTHONUNBUFFERED=1 bash -c 'cd .peer && exec python3 bench.py'
# Training memory like for like (docs/performance.md, session 10): the same model on the same
# windows as the peer's (12 channels, no dropout), and the peer's step with a process per member.
if [ -x "$B" ]; then
  phase ours_fp32_peer_shape 60 "$B" bench --device cuda --precision fp32 --batch 32 --steps 30 --phases train \
    --features 11 --config bench/peer_architecture.toml --out "$OUTDIR/ours_fp32_peer_shape.json"
fi
[ "${GPU_BENCH_PEER:-1}" = 0 ] || [ ! -f .peer/models.py ] || \
  phase peer_memory 120 env OUT="$OUTDIR" python3 bench/peer_train_memory.py .peer

{
  echo "gpu-bench $(cat "$OUTDIR/logs/commit.txt" 2>/dev/null) on $(cat "$OUTDIR/logs/gpu.txt" 2>/dev/null)"
  echo "spikecast: full users' scale data (781,163 windows); training figures from --steps timed steps after as many warm-up steps"
  python3 bench/side_by_side.py "$OUTDIR" || echo "side_by_side.py failed"
  echo
  printf '%s\n' "${STATUS[@]}"
  echo "total $((SECONDS - T0))s"
} 2>&1 | tee "$OUTDIR/side_by_side.txt"
# The plan's table as the CLI printed it.
if [ -f "$OUTDIR/logs/plan.log" ]; then tail -n 120 "$OUTDIR/logs/plan.log"; fi
# At most a few files: the JSONs, the table, and the logs as one archive.
tar czf "$OUTDIR/logs.tgz" -C "$OUTDIR" logs && rm -r "$OUTDIR/logs"
exit 0
