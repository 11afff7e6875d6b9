#!/usr/bin/env bash
# Installs what spikecast needs on Debian 12 (as root, or with sudo), only what is missing.
# Everything comes from Debian's archive; the report's chart library comes from npm (report/).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread          # LibTorch 1.13 for the CPU, with a fast BLAS
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev libfast-float-dev
  libgtest-dev libgmock-dev libbenchmark-dev # tests and benchmark programs
  libboost-dev                               # Boost.Beast/Asio for the HTTP server (header-only)
  nodejs npm                                 # builds the report's embedded chart library
  chromium                                   # headless check that the report's charts draw
  wrk                                        # load generator for the serving benchmark
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine that already has node/npm from elsewhere (not Debian's packages) keeps them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's reference BLAS makes LibTorch ~10x slower: make sure OpenBLAS is the one selected.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
case "$blas" in
  *openblas*) ;;
  *) $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu \
       /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 || true ;;
esac

# The report's chart library, pinned by report/package-lock.json.
if [ -f report/package-lock.json ] && [ ! -d report/node_modules ]; then
  (cd report && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: ok"
