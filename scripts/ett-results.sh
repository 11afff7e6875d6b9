#!/usr/bin/env bash
# Reproduces docs/results.md on the GPU machine: ETTh1 and ETTh2 (all columns in, OT out, L = 100,
# H = 1, 24, 96, the ETT split 12/4/4 months, scaler on train, every test window), several seeds,
# spikecast's ensemble, members and baselines; with --peer, the peer's accuracy.py side by side in
# the same call. Usage (after scripts/build-gpu.sh):
#   scripts/ett-results.sh [--seeds N] [--jobs J] [--peer DIR] [--bin PATH] [--out DIR] [-- extra train flags]
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=2; JOBS=4; PEER=""; BIN=build-gpu/apps/spikecast/spikecast; OUTDIR=${OUT:-out}/ett; EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --peer) PEER=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --out) OUTDIR=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUTDIR/runs"
WORK=$(mktemp -d)
if [ -n "$PEER" ]; then
  (cd "$PEER" && OUT="$OUTDIR" PYTHONUNBUFFERED=1 python3 accuracy.py --data "$OLDPWD/data/ett/ETTh1.csv" \
     --data "$OLDPWD/data/ett/ETTh2.csv" --horizons 1,24,96 --seeds "$SEEDS" --bf16 \
     > "$OUTDIR/peer.md" 2> "$OUTDIR/peer.log") &
  PEER_PID=$!
fi
run_one() {  # dataset horizon seed
  local name="$1-H$2-s$3" t0 t1
  t0=$(date +%s.%N)
  "$BIN" train --data "data/ett/$1.csv" --time-column date --target OT --split ett -L 100 -H "$2" \
    --seed "$3" --progress json --out "$WORK/$name" "${EXTRA[@]}" > "$OUTDIR/runs/$name.txt" 2> "$OUTDIR/runs/$name.log"
  t1=$(date +%s.%N)
  python3 - "$WORK/$name/manifest.json" "$OUTDIR/runs/$name.json" "$1" "$2" "$3" "$t0" "$t1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
extra = m["extra"]
json.dump({"data": sys.argv[3], "H": int(sys.argv[4]), "seed": int(sys.argv[5]),
           "seconds": float(sys.argv[7]) - float(sys.argv[6]), "metrics": extra["metrics"],
           "gate": extra["history"]["gate"],
           "members": [{k: v for k, v in r.items() if k != "epochs"} for r in extra["history"]["members"]]},
          open(sys.argv[2], "w"))
PY
  rm -rf "$WORK/$name" "$WORK/$name.work"
}
export -f run_one; export BIN WORK OUTDIR
jobs_list=()
for data in ETTh1 ETTh2; do for h in 1 24 96; do for s in $(seq 1 "$SEEDS"); do jobs_list+=("$data $h $s"); done; done; done
printf '%s\n' "${jobs_list[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one {} "$@"' _ "${EXTRA[@]}"
python3 scripts/ett_table.py "$OUTDIR" > "$OUTDIR/results.md"
if [ -n "$PEER" ]; then
  # The peer runs concurrently on the same card; give it until PEER_WAIT seconds have passed.
  for _ in $(seq 1 "${PEER_WAIT:-300}"); do kill -0 "$PEER_PID" 2>/dev/null || break; sleep 1; done
  kill "$PEER_PID" 2>/dev/null || true
  python3 scripts/ett_table.py "$OUTDIR" > "$OUTDIR/results.md"
fi
cat "$OUTDIR/results.md"
