#!/usr/bin/env bash
# Daily retraining at the users' scale: 781,163 generated rows (hourly, seed 42) as the history,
# plus one day of new rows. The generator samples hourly (step_seconds = 3600), so one day is 24
# rows. Trains the champion with a full retrain on the history (bootstrap), ingests the day, then
# times a warm-start retrain and a full retrain from the same champion and reports both as JSON:
# wall seconds, training seconds, the held-out MSE of champion and challenger, the decision.
#
#   bench/retrain_bench.sh [--bin PATH] [--device cpu|cuda] [--rows N] [--day-rows N]
#                          [--epochs N] [--budget S] [--members LIST] [--out DIR]
#                          [--extra "flags for retrain"]
# Defaults: --bin build/apps/spikecast/spikecast, --device cpu, --rows 781163, --day-rows 24,
# --epochs 3, no budget, every member. --budget S passes --time-budget S to each of the three
# retrains (bootstrap, warm, full): the run then takes at most about 2 S plus the warm start, data
# generation, ingest and evaluation. The GPU run of docs/benchmarks.md ("Retraining"):
#   bench/retrain_bench.sh --device cuda --budget 120     (about 5 minutes on an H100)
set -euo pipefail
BIN=build/apps/spikecast/spikecast
DEVICE=cpu
ROWS=781163
DAY=24
EPOCHS=3
BUDGET=0
MEMBERS=""
OUT=retrain-bench
EXTRA=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --day-rows) DAY=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --budget) BUDGET=$2; shift 2 ;;
    --members) MEMBERS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --extra) EXTRA=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=$(realpath "$BIN")
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
TOTAL=$((ROWS + DAY))
"$BIN" data generate --rows "$TOTAL" -o all.csv >/dev/null
head -n $((ROWS + 1)) all.csv > history.csv
{ head -n 1 all.csv; tail -n "$DAY" all.csv; } > day.csv

now() { date +%s.%N; }
common=(--device "$DEVICE" --epochs "$EPOCHS" --progress json)
[[ "$BUDGET" != 0 ]] && common+=(--time-budget "$BUDGET")
[[ -n "$MEMBERS" ]] && common+=(--members "$MEMBERS")
# shellcheck disable=SC2206  # --extra is split on spaces on purpose
common+=($EXTRA)
"$BIN" ingest history.csv --store store >/dev/null
t0=$(now)
"$BIN" retrain --store store --registry reg --full "${common[@]}" > bootstrap.log 2> bootstrap.err
t1=$(now)
champion=$("$BIN" models current --registry reg)
"$BIN" ingest day.csv --store store >/dev/null
# Both from the same champion: the registry is copied so the first promotion does not change the second's start.
cp -r reg reg-full
t2=$(now)
"$BIN" retrain --store store --registry reg --reports reports-warm "${common[@]}" > warm.log 2> warm.err || true
t3=$(now)
"$BIN" retrain --store store --registry reg-full --reports reports-full --full "${common[@]}" > full.log 2> full.err || true
t4=$(now)
python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$champion" "$ROWS" "$DAY" "$DEVICE" "$EPOCHS" "$BUDGET" "$MEMBERS" "$EXTRA" <<'PY' | tee result.json
import glob, json, sys
t0, t1, t2, t3, t4 = map(float, sys.argv[1:6])
champion, rows, day, device = sys.argv[6], int(sys.argv[7]), int(sys.argv[8]), sys.argv[9]
settings = {"epochs": int(sys.argv[10]), "time_budget_s": float(sys.argv[11]), "members": sys.argv[12] or "all",
            "extra": sys.argv[13]}
def report(d):
    r = json.load(open(sorted(glob.glob(d + "/retrain-*.json"))[-1]))
    m = r.get("metrics", {})
    return {"decision": r["decision"]["action"], "reason": r["decision"]["reason"],
            "training_seconds": r.get("training", {}).get("seconds"),
            "report_seconds": r.get("seconds"),
            "champion_mse": m.get("champion", {}).get("mse_original"),
            "challenger_mse": m.get("challenger", {}).get("mse_original"),
            "challenger_mae": m.get("challenger", {}).get("mae_original"),
            "windows": r.get("training")}
print(json.dumps({"rows": rows, "day_rows": day, "device": device, "settings": settings, "champion": champion,
                  "bootstrap_wall_s": round(t1 - t0, 2),
                  "warm": dict(report("reports-warm"), wall_s=round(t3 - t2, 2)),
                  "full": dict(report("reports-full"), wall_s=round(t4 - t3, 2))}, indent=2))
PY
