#!/usr/bin/env bash
# The shipped models' results in README.md: every sampler on the held-out sets, solve with retries,
# and batched throughput. Run from the repository root on a GPU machine (the README's figures came
# from an H100); on a CPU it works too, but top-1 on 2,000 puzzles takes a long time.
# Usage: bash scripts/bench_shipped.sh [RESULTS_DIR]      (default docs/results)
# Knobs: DATA (folder of the sets, default benchmarks/data; the toy mode of gpu_bench.sh points it
# at a few puzzles per set), SUDOKU_SETS (default "sudoku9_heldout.npz sudoku17_2000.txt"),
# MAZE_SETS (default "dfs wilson kruskal prim open"), MAZE_SAMPLERS
# (default the nine below), THROUGHPUT and OVERHEAD (extra flags for the two benchmark scripts).
set -euo pipefail
R=${1:-docs/results}
U=${UNMASK:-unmask}
D=${DATA:-benchmarks/data}
mkdir -p "$R"

SUDOKU="topk:k=1,proxy=confidence,topk:k=1,proxy=margin,topk:k=1,proxy=entropy,topk:k=2,topk:k=4"
SUDOKU+=",eb:gamma=0.001,eb:gamma=0.01,eb:gamma=0.1,eb:gamma=1"
SUDOKU+=",eb:gamma=0.001,proxy=confidence,eb:gamma=0.01,proxy=confidence"
SUDOKU+=",eb:gamma=0.1,proxy=confidence,eb:gamma=1,proxy=confidence"
SUDOKU+=",threshold:tau=0.9,random:k=1,dus,dus:two_d=true"
for set in ${SUDOKU_SETS:-sudoku9_heldout.npz sudoku17_2000.txt}; do
  name=${set%%.*}
  $U bench sudoku --input "$D/$set" --batch-size 1024 --samplers "$SUDOKU" \
    --out "$R/bench_${name/sudoku17_2000/sudoku17}"
done

for g in 0.01 0.1; do
  $U solve sudoku --input $D/sudoku9_heldout.npz --batch-size 1024 --sampler eb --gamma $g \
    --retries 4 --output "$R/answers_retries_$g.tmp" --stats "$R/solve_retries_$g.json"
  rm -f "$R/answers_retries_$g.tmp"
done

MAZE="topk:k=1,topk:k=2,topk:k=4,eb:gamma=0.001,eb:gamma=0.01,eb:gamma=0.1,eb:gamma=1"
MAZE+=",threshold:tau=0.9,dus:two_d=true"
MAZE=${MAZE_SAMPLERS:-$MAZE}
for set in ${MAZE_SETS:-dfs wilson kruskal prim open}; do
  $U bench maze --input $D/maze10_${set}_heldout.npz --batch-size 500 --samplers "$MAZE" \
    --out "$R/bench_maze_$set"
done

python3 benchmarks/bench_solve_throughput.py --checkpoint models/shipped/sudoku9.pt \
  --input $D/sudoku17_2000.txt --n 2000 --batch-size 2048 ${THROUGHPUT:-} --json "$R/throughput.json"
python3 benchmarks/bench_sampler_overhead.py ${OVERHEAD:-} --json "$R/overhead.json"
