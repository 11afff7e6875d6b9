#!/usr/bin/env bash
# Run HERE (Debian 12, with network to Debian's archive): downloads the Debian packages that the GPU
# build needs beyond CUDA and LibTorch into .deps/debs (git-ignored), to travel with a device call
# (`carry: [".deps"]`). They are header-only libraries plus fmt, GoogleTest and Google Benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps/debs
cd .deps/debs
apt-get download libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev libfmt9 \
  libfast-float-dev libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian \
  libboost1.74-dev 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
ls -1
