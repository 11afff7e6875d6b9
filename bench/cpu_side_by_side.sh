#!/usr/bin/env bash
# Issue 7's CPU comparison on this machine: `spikecast bench --device cpu` and the PyTorch peer's
# bench.py on the CPU (Debian's python3-torch, PyTorch 1.13 with OpenBLAS), one after the other in
# one run, then one table (bench/side_by_side.py --cpu). On the 2-core VM both runtimes run each
# operator on one thread (at::get_num_threads() == 1 in Debian's LibTorch 1.13 and python3-torch
# 1.13); only OpenBLAS starts a thread per core (spikecast's latency phase sets it to one, as serve does).
# Usage: bench/cpu_side_by_side.sh [--bin PATH] [--peer DIR] [--out DIR] [--peer-default-malloc]
#   --peer: a folder with the peer's bench.py and models.py (default ../shared/bench/peer)
#   The peer runs under glibc's MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647, the host
#   malloc settings spikecast sets for itself (core/host_allocator.h), so that the comparison is of
#   the two runtimes, not of their allocators; --peer-default-malloc runs it as its users would.
# Needs: apt-get install python3-torch (scripts/setup.sh does not install it: only this benchmark
# uses it). Writes ours_cpu.json, peer_cpu.json and side_by_side.txt into --out.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/apps/spikecast/spikecast; PEER=../shared/bench/peer
PEER_MALLOC=(env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647)
OUTDIR=bench/results/cpu-$(date -u +%Y%m%dT%H%M%SZ)
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --peer) PEER=$2; shift 2 ;;
    --out) OUTDIR=$2; shift 2 ;;
    --peer-default-malloc) PEER_MALLOC=(env); shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
PY=/usr/bin/python3
"$PY" -c 'import torch' 2>/dev/null || { echo "the peer needs Debian's python3-torch: apt-get install python3-torch" >&2; exit 3; }
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
{ echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"; echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)";
  echo "peer run as: ${PEER_MALLOC[*]} python3 bench.py"
  git log -1 --format='commit %H %cI' 2>/dev/null || true; } > "$OUTDIR/machine.txt"
# The peer's settings on a CPU: batch 32 and 256, fp32, 8 timed steps after 10 warm-up steps;
# latency over 100 runs (20 at batch 1000). Ours: the same batches and latency batches; the users'
# scale of windows is only used for the epoch projection, so --rows stays small.
"$BIN" bench --device cpu --precision fp32 --rows 20000 --batch 32,256 --steps 8 --phases train,latency \
  --latency-runs 100 --throughput-batch 1000 --out "$OUTDIR/ours_cpu.json" > "$OUTDIR/ours_cpu.log" 2>&1
(cd "$PEER" && OUT="$OUTDIR" PYTHONUNBUFFERED=1 "${PEER_MALLOC[@]}" "$PY" bench.py) > "$OUTDIR/peer_cpu.log" 2>&1
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUTDIR/machine.txt"
{ cat "$OUTDIR/machine.txt"; python3 bench/side_by_side.py "$OUTDIR" --cpu --markdown; } | tee "$OUTDIR/side_by_side.txt"
