#!/usr/bin/env bash
# Issue 14 on one GPU, in about 11 minutes of wall time: training data on every core, the
# throughput and MFU check, MINUTES of training (default 7) with the recipe the CPU ablations
# chose (docs/results/ablation_sudoku9.md), a last validation, and the held-out benches. Writes
# everything a commit needs under OUT (at most 8 files come back from a device run, so the
# results are bundled): sudoku9.pt, results.tar.gz (logs, bench tables, config) and summary.txt.
#
# Usage (repository root): bash scripts/gpu_sudoku.sh OUT
#   TOY=1 bash scripts/gpu_sudoku.sh OUT    a seconds-long run of every step, for a CPU check
#   INIT=models/shipped/sudoku9.pt ...      continue from the shipped weights (lineage kept)
# Seeds: training data 111 (held-out sets use 9001+; checked disjoint up to symmetry below).
set -euo pipefail
OUT=${1:?usage: bash scripts/gpu_sudoku.sh OUT}
U=${UNMASK:-python3 -m unmask_cli}
D=benchmarks/data
mkdir -p "$OUT/work"
W="$OUT/work"
export PYTHONUNBUFFERED=1
if [ "${TOY:-0}" = 1 ]; then
  COUNT=400 MINUTES=0.2 PRESET=tiny BATCH=32 LIMIT=24 PROBE=40 VAL=64 SEARCH=(--max-nfe 12)
else
  COUNT=${COUNT:-60000} MINUTES=${MINUTES:-7} PRESET=${PRESET:-small} BATCH=${BATCH:-2048}
  LIMIT=${LIMIT:-2000} PROBE=150 VAL=1000 SEARCH=()
fi
# The recipe (ablations): learning rate, masks, box embedding, weight-tied loops.
LR=${LR:-1e-3} CLUE=${CLUE:-0.5} BLOCK=${BLOCK:-3} LOOPS=${LOOPS:-1}
source "$(dirname "$0")/gpu_common.sh"

say "data: $COUNT minimal 9x9 puzzles on $(nproc) cores"
$U generate sudoku --size 9 --count "$COUNT" --seed 111 --out "$W/train.npz"
python3 benchmarks/check_overlap.py $D/sudoku9_heldout.npz "$W/train.npz" | tee "$W/overlap.txt"

say "throughput: $PROBE compiled steps at batch $BATCH (MFU against the measured matmul rate)"
python3 benchmarks/bench_train.py --task sudoku --size 9 --preset "$PRESET" --steps "$PROBE" \
  --batch-size "$BATCH" --compile on --json "$W/bench_train.json" | tee "$W/bench_train.txt"
STEPS=$(python3 -c "import json; r = json.load(open('$W/bench_train.json'))['rows'][0]; \
print(max(50, int(r['steps_per_s'] * 60 * $MINUTES * 0.92)))")

say "train: $STEPS steps (about $MINUTES minutes at the measured rate)"
INIT_FLAG=()
if [ -n "${INIT:-}" ]; then INIT_FLAG=(--init "$INIT"); fi
$U train sudoku --size 9 --preset "$PRESET" --block "$BLOCK" --n-loops "$LOOPS" \
  --batch-size "$BATCH" --steps "$STEPS" --lr "$LR" --clue-mask-prob "$CLUE" --compile \
  --data "$W/train.npz" --val-size "$VAL" --val-every $((STEPS / 4 + 1)) --seed 0 \
  --max-minutes "$(python3 -c "print($MINUTES + 1)")" "${INIT_FLAG[@]}" --no-progress \
  --out "$W/run" 2>&1 | tee "$W/train.log"
cp "$W/run/model.pt" "$OUT/sudoku9.pt"

say "held-out benches: the model alone and with backtracking"
for set in sudoku9_heldout.npz sudoku17_2000.txt; do
  $U bench sudoku --input "$D/$set" --limit "$LIMIT" --checkpoint "$OUT/sudoku9.pt" --quiet \
    --batch-size 2048 --samplers "topk:k=1,eb:gamma=0.001,eb:gamma=0.01,eb:gamma=0.1" \
    --search none backtrack "${SEARCH[@]}" --out "$W/bench_${set%%.*}" | tee -a "$W/bench.txt"
done
say "done"
bundle "$OUT" "$W"
