#!/usr/bin/env bash
# Here (CPU build, LibTorch 1.13): loads the bundle that scripts/gpu-check.sh wrote with LibTorch 2.x
# on the GPU, evaluates it on the same data, and compares every score with the GPU machine's own
# CPU evaluation. Usage: scripts/check-gpu-bundle.sh DIR_WITH_xv_bundle.tgz_AND_xv_cpu_libtorch2.json
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$1
WORK=$(mktemp -d)
tar xzf "$SRC/xv_bundle.tgz" -C "$WORK"
${BIN:-build/apps/spikecast/spikecast} evaluate -m "$WORK/xv" --data data/ett/ETTh1.csv --device cpu --json "$WORK/here.json" > /dev/null
python3 - "$SRC/xv_cpu_libtorch2.json" "$WORK/here.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
worst = 0.0
for ra, rb in zip(a["rows"], b["rows"]):
    assert ra["model"] == rb["model"], (ra["model"], rb["model"])
    for k in ("mse", "mae"):
        rel = abs(ra[k] - rb[k]) / max(abs(ra[k]), 1e-12)
        worst = max(worst, rel)
        print(f'{ra["model"]:<16} {k} LibTorch 2.x {ra[k]:.8f}  LibTorch 1.13 {rb[k]:.8f}  rel diff {rel:.2e}')
print(f"worst relative difference {worst:.2e}")
sys.exit(0 if worst < 1e-5 else 1)
PY
