#!/usr/bin/env bash
# Run HERE (Debian 12, with network to Debian's archive): downloads the Debian packages that the GPU
# build needs beyond CUDA and LibTorch into .deps/debs (git-ignored), to travel with a device call
# (`carry: [".deps"]`). They are header-only libraries plus fmt, GoogleTest, Google Benchmark and
# wrk (the load generator of bench/serve_bench.sh) with its LuaJIT.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps/debs
cd .deps/debs
apt-get download libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev libfmt9 \
  libfast-float-dev libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian \
  libboost1.74-dev wrk libluajit-5.1-2 libluajit-5.1-common 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
ls -1
