#!/usr/bin/env bash
# Builds the same CMake tree on the GPU machine against the LibTorch inside its PyTorch (2.x, CUDA).
# The Debian packages it needs travel in .deps/debs (scripts/fetch-gpu-deps.sh) and are unpacked
# into .deps/prefix. Usage: scripts/build-gpu.sh [cmake targets...]; prints `spikecast --version`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PREFIX=$ROOT/.deps/prefix
if [ ! -d "$PREFIX/usr/include" ]; then
  mkdir -p "$PREFIX"
  for f in .deps/debs/*.deb; do dpkg -x "$f" "$PREFIX"; done
fi
TORCH_PREFIX=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
BUILD_DIR=${BUILD_DIR:-build-gpu}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PREFIX/usr" \
  -DSPIKECAST_EXTRA_INCLUDE="$PREFIX/usr/include" \
  -DTORCH_CUDA_ARCH_LIST=9.0 >"$BUILD_DIR.configure.log" 2>&1 \
  || { tail -40 "$BUILD_DIR.configure.log"; exit 1; }
if [ $# -gt 0 ]; then
  targets=(); for t in "$@"; do targets+=(--target "$t"); done
  cmake --build "$BUILD_DIR" -j "$(nproc)" "${targets[@]}"
else
  cmake --build "$BUILD_DIR" -j "$(nproc)"
fi
"$BUILD_DIR/apps/spikecast/spikecast" --version
