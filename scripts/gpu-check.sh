#!/usr/bin/env bash
# On the GPU machine (device tool, carry [".deps", "report/node_modules"]): builds the tree against
# PyTorch's LibTorch, runs the model and training suites with CUDA present (every model test also
# runs on CUDA with the CPU result as oracle), trains a bundle on the GPU for the cross-version
# check (its weights read by Python's safetensors; it is copied to $OUT/xv_bundle.tgz so the CPU
# build with LibTorch 1.13 can load it: scripts/check-gpu-bundle.sh), and times batch scoring.
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${OUT:-out}
mkdir -p "$OUTDIR"
export BUILD_DIR=build-gpu
scripts/build-gpu.sh spikecast models_tests train_tests 2>&1 | grep -E "error|LibTorch" | head -20
for t in models train; do
  ./build-gpu/tests/$t/${t}_tests > "$OUTDIR/${t}_tests.log" 2>&1
  echo "${t}_tests: exit $? $(grep -E '^\[  (PASSED|FAILED)' "$OUTDIR/${t}_tests.log" | tr '\n' ' ')"
done
B=build-gpu/apps/spikecast/spikecast
rm -rf /tmp/xv /tmp/xv.work
$B train --data data/ett/ETTh1.csv --time-column date --target OT --split ett -H 24 \
  --members lstm,gru,cnn_lstm,spike,rule,linear,repeat_last --epochs 3 --progress quiet --out /tmp/xv | tail -3
$B evaluate -m /tmp/xv --device cuda --json "$OUTDIR/xv_cuda.json" > /dev/null
$B evaluate -m /tmp/xv --device cpu --json "$OUTDIR/xv_cpu_libtorch2.json" > /dev/null
python3 -c "
from safetensors.torch import load_file; import json
t = load_file('/tmp/xv/weights.safetensors'); m = json.load(open('/tmp/xv/manifest.json'))
print(len(t), 'tensors,', sum(v.numel() for v in t.values()), 'values read by Python safetensors; manifest sha256', m['weights_sha256'][:16])"
tar czf "$OUTDIR/xv_bundle.tgz" -C /tmp xv
if $B score --help > /dev/null 2>&1; then
  for d in cuda cpu; do
    /usr/bin/time -f "score on $d: %e s wall" $B score -m /tmp/xv data/ett/ETTh1.csv -o /tmp/f_$d.csv --device $d 2>&1 | tail -2
  done
fi
