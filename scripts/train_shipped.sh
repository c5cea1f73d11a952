#!/usr/bin/env bash
# Recipe for the shipped models (models/shipped/sudoku9.pt, maze10.pt): one GPU, both runs at once.
# Usage: bash scripts/train_shipped.sh OUTDIR      (run from the repository root; ~10 minutes on an H100)
# Seeds: training data 101 (Sudoku) and 201-205 (mazes); held-out sets use 9001+ (never for training).
set -euo pipefail
OUT=${1:-runs/shipped}
U=${UNMASK:-unmask}
mkdir -p "$OUT/data"
export PYTHONUNBUFFERED=1

# Mazes: 25k of each generator plus 25k DFS mazes with 10% of inner walls opened (several shortest paths).
i=201
for alg in dfs wilson kruskal prim; do
  $U generate maze --cells 10 --algorithm $alg --count 25000 --seed $i --out "$OUT/data/maze_$alg.npz"; i=$((i+1))
done
$U generate maze --cells 10 --algorithm dfs --extra-openings 0.1 --count 25000 --seed 205 --out "$OUT/data/maze_open.npz"
MAZE_DATA=$(ls "$OUT"/data/maze_*.npz | paste -sd, -)
$U train maze --cells 10 --preset small --batch-size 256 --steps ${MAZE_STEPS:-6000} --lr 7e-4 --compile \
  --data "$MAZE_DATA" --val-every 2000 --seed 0 --max-minutes ${MAZE_MINUTES:-9} --no-progress \
  --out "$OUT/maze10" > "$OUT/maze10.log" 2>&1 &
maze_pid=$!

# Sudoku: 40k minimal 9x9 puzzles; training sees their solutions under random symmetries, masked at
# random (half the rows) or inside the puzzle's own blanks (the other half).
$U generate sudoku --size 9 --count 40000 --seed 101 --out "$OUT/data/sudoku9_train.npz"
$U train sudoku --size 9 --preset small --batch-size 512 --steps ${SUDOKU_STEPS:-12000} --lr 7e-4 --compile \
  --data "$OUT/data/sudoku9_train.npz" --val-every 2000 --seed 0 --max-minutes ${SUDOKU_MINUTES:-8} \
  --no-progress --out "$OUT/sudoku9" > "$OUT/sudoku9.log" 2>&1 &
sudoku_pid=$!

wait $maze_pid; echo "maze exit $?"
wait $sudoku_pid; echo "sudoku exit $?"
tail -5 "$OUT/maze10.log" "$OUT/sudoku9.log"
