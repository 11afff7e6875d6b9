#!/usr/bin/env bash
# Builds the CSV fuzzer (clang, libFuzzer + ASan + UBSan) in build-fuzz/ and runs it for a bounded
# time. Usage: scripts/fuzz-csv.sh [seconds=120] [jobs=1]
# Findings (crash-*, leak-*, timeout-*) are written to build-fuzz/findings/.
set -euo pipefail
seconds="${1:-120}"
jobs="${2:-1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
CXX="${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSPIKECAST_BUILD_FUZZ=ON -DSPIKECAST_BUILD_TESTS=OFF -DSPIKECAST_BUILD_BENCH=OFF \
  -DSPIKECAST_USE_PCH=OFF >/dev/null
cmake --build "$build" --target csv_fuzz -j2

# A small seed corpus: one file per interesting shape, the first byte picking the fuzzer's path.
corpus="$build/corpus"
mkdir -p "$corpus" "$build/findings"
seed() { printf "$2" > "$corpus/$1"; }
seed reader   '\x00a,b\n"x,""y""",2\r\n\n"multi\nline",3'
seed loader   '\x01t,y,a\n2024-01-01 00:00,1,NA\n2024-01-01 01:00,2,3\n2024-01-01 05:00,,4\n'
seed panel    '\x05t,s,y\n1,a,1\n1,b,2\n2,a,3\n2,b,\n3,a,1\n'
seed reject   '\x09t,y\n1,1\n2,N/A\n'
seed bom      '\x01\xef\xbb\xbft,y\r\n1,1\r\n2,2'
seed inspect  '\x02id,date,v,flag\n1,2024-01-01,1.5,0\n2,2024-01-02,2.5,1\n'
seed constant '\x41t,y,c\n1,1,5\n2,2,5\n'

cd "$build/findings"
"$build/fuzz/csv_fuzz" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" -max_len=4096 \
  -timeout=10 -rss_limit_mb=2048 "$corpus"
