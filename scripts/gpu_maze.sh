#!/usr/bin/env bash
# Issue 15 on one GPU, in about 11 minutes of wall time: mazes of seven sizes (5 to 15 cells)
# from every generator, with extra openings (several shortest paths) and long paths, made on
# every core; one any-size model (--pos rope2d, --sizes, each step a batch of one size) trained
# for MINUTES (default 7); the held-out benches at 10x10 (five generators), 15x15 and at 20x20,
# a size it never saw. Writes maze.pt (the any-size model), results.tar.gz and summary.txt to OUT.
#
# Usage (repository root): bash scripts/gpu_maze.sh OUT
#   TOY=1 bash scripts/gpu_maze.sh OUT    seconds-long, for a CPU check (benches: DFS and DFS +
#                                         openings at 10x10, one 15x15 maze)
# Seeds: training 301-399 (held-out sets use 9101-9105 and 9201-9202; checked disjoint below).
set -euo pipefail
OUT=${1:?usage: bash scripts/gpu_maze.sh OUT}
U=${UNMASK:-python3 -m unmask_cli}
D=benchmarks/data
W="$OUT/work"
mkdir -p "$W/data"
export PYTHONUNBUFFERED=1
if [ "${TOY:-0}" = 1 ]; then
  SIZES=${SIZES:-3,4,5} BASE=4 N=120 MINUTES=0.2 PRESET=tiny BATCH=16 LIMIT=2 BIG_LIMIT=1 SETS='dfs open' BIG=15 PROBE=30 VAL=32 SEARCH=(--max-nfe 12)
else
  SIZES=${SIZES:-5,7,9,10,11,13,15} BASE=10 N=${N:-12000} MINUTES=${MINUTES:-7}
  PRESET=${PRESET:-small} BATCH=${BATCH:-512} LIMIT=${LIMIT:-500} BIG_LIMIT=${LIMIT:-500} SETS='dfs wilson kruskal prim open' BIG='15 20'
  PROBE=120 VAL=512 SEARCH=()
fi
LR=${LR:-7e-4}
source "$(dirname "$0")/gpu_common.sh"

say "data: sizes $SIZES, $N mazes per size and kind"
seed=301
FILES=()
for cells in ${SIZES//,/ }; do
  $U generate maze --cells "$cells" --algorithm mix --count "$N" --seed $((seed++)) \
    --out "$W/data/mix_$cells.npz"
  $U generate maze --cells "$cells" --algorithm dfs --extra-openings 0.1 --count $((N / 3)) \
    --seed $((seed++)) --out "$W/data/open_$cells.npz"
  $U generate maze --cells "$cells" --algorithm dfs --min-path "$cells" --count $((N / 3)) \
    --seed $((seed++)) --out "$W/data/long_$cells.npz"
  FILES+=("$W/data/mix_$cells.npz" "$W/data/open_$cells.npz" "$W/data/long_$cells.npz")
done
DATA=$(IFS=,; echo "${FILES[*]}")
for set in dfs wilson kruskal prim open; do
  python3 benchmarks/check_overlap.py $D/maze10_${set}_heldout.npz "${FILES[@]}" \
    | tee -a "$W/overlap.txt" || true
done

say "throughput: $PROBE compiled steps at batch $BATCH (base size $BASE)"
python3 benchmarks/bench_train.py --task maze --size "$BASE" --preset "$PRESET" --steps "$PROBE" \
  --batch-size "$BATCH" --compile on --json "$W/bench_train.json" | tee "$W/bench_train.txt"
STEPS=$(python3 -c "import json; r = json.load(open('$W/bench_train.json'))['rows'][0]; \
print(max(50, int(r['steps_per_s'] * 60 * $MINUTES * 0.85)))")

say "train: $STEPS steps over sizes $SIZES"
$U train maze --cells "$BASE" --sizes "$SIZES" --pos rope2d --preset "$PRESET" \
  --batch-size "$BATCH" --steps "$STEPS" --lr "$LR" --compile --data "$DATA" --val-size "$VAL" \
  --val-every $((STEPS / 4 + 1)) --seed 0 --max-minutes "$(python3 -c "print($MINUTES + 1)")" \
  --no-progress --out "$W/run" 2>&1 | tee "$W/train.log"
cp "$W/run/model.pt" "$OUT/maze.pt"

say "held-out benches"
for set in $SETS; do
  $U bench maze --input $D/maze10_${set}_heldout.npz --limit "$LIMIT" --checkpoint "$OUT/maze.pt" \
    --quiet --batch-size 512 --samplers "topk:k=1,eb:gamma=0.01" --search none backtrack "${SEARCH[@]}" \
    --out "$W/bench_maze10_$set" | tee -a "$W/bench.txt"
done
for cells in $BIG; do
  $U bench maze --input $D/maze${cells}_dfs_heldout.npz --limit "$BIG_LIMIT" \
    --checkpoint "$OUT/maze.pt" --quiet --batch-size 256 --samplers "eb:gamma=0.01" \
    --search none backtrack "${SEARCH[@]}" --out "$W/bench_maze${cells}_dfs" | tee -a "$W/bench.txt"
done
say "done"
bundle "$OUT" "$W"
