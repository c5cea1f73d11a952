#!/usr/bin/env bash
# The main job on the shipped models, on a CPU in about a minute: fresh puzzles, solved with the
# EB-Sampler and backtracking, every answer checked by the exact validator, a small comparison of
# samplers (accuracy against forward passes, the model alone), one animation of the
# order in which cells are unmasked, one reveal-order plot and one HTML page that replays four
# solves pass by pass (OUTDIR/view.html; open it in a browser). The comparison table is written
# to OUTDIR/table.md.
#
# Usage: bash scripts/demo.sh [OUTDIR]      (default OUTDIR: demo/; needs `unmask` on PATH)
# Seeds 7001-7002 are used by nothing else (training data: 101, 111, 201-205, 301+; held-out
# sets: 9001+).
set -euo pipefail
OUT=${1:-demo}
U=${UNMASK:-unmask}
mkdir -p "$OUT"
t0=$(date +%s)
say() { printf '\n== %s s: %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

say "64 fresh minimal 9x9 Sudoku puzzles (seed 7001)"
$U generate sudoku --size 9 --count 64 --seed 7001 --out "$OUT/sudoku.txt"

say "solve them with the shipped model, the EB-Sampler (gamma 0.01 nats) and backtracking"
$U solve sudoku --input "$OUT/sudoku.txt" --sampler eb --gamma 0.01 --search backtrack --quiet \
  --output "$OUT/sudoku.answers.txt" --stats "$OUT/sudoku.stats.json"

say "check the answers with the exact validator"
$U validate sudoku --input "$OUT/sudoku.txt" --solutions "$OUT/sudoku.answers.txt" --quiet | tail -n 1

say "accuracy against forward passes on the first 16, the model alone: top-1, top-4, EB"
$U bench sudoku --input "$OUT/sudoku.txt" --limit 16 --quiet \
  --samplers "topk:k=1,topk:k=4,eb:gamma=0.01" --out "$OUT/sudoku.bench" | tee "$OUT/table.md"

say "8 fresh 10x10 mazes (Wilson, seed 7002): solve with EB, validate"
$U generate maze --cells 10 --algorithm wilson --count 8 --seed 7002 --out "$OUT/maze.txt"
$U solve maze --input "$OUT/maze.txt" --sampler eb --gamma 0.01 --quiet \
  --output "$OUT/maze.answers.txt" --stats "$OUT/maze.stats.json"
$U validate maze --input "$OUT/maze.txt" --solutions "$OUT/maze.answers.txt" --quiet | tail -n 1

say "the order of unmasking: top-1 against EB on the first Sudoku, side by side; and its plot"
$U animate sudoku --input "$OUT/sudoku.txt" --index 0 --compare "topk:k=1" "eb:gamma=0.01" \
  --fps 8 --out "$OUT/sudoku.compare.gif" --quiet
$U plot order sudoku --input "$OUT/sudoku.txt" --index 0 --sampler eb --gamma 0.01 \
  --out "$OUT/sudoku.order.png"

say "the first 4 Sudokus pass by pass in one HTML page (top-1, EB, threshold): open $OUT/view.html"
$U view sudoku --input "$OUT/sudoku.txt" --index 0 1 2 3 \
  --compare "topk:k=1" "eb:gamma=0.01" "threshold:tau=0.9" --out "$OUT/view.html" --quiet

say "done in $(( $(date +%s) - t0 )) s: tables, answers and figures are in $OUT/"
ls "$OUT"
