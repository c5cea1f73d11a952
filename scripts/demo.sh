#!/usr/bin/env bash
# The main job on the shipped models, on a CPU in a few minutes: fresh puzzles, solve them with the
# EB-Sampler, check every answer with the exact validator, compare samplers on accuracy against
# forward passes (NFE), and animate the order in which a model fills one maze.
#
# Usage: bash scripts/demo.sh [OUTDIR]      (default OUTDIR: demo/; needs `unmask` on PATH)
# Seeds 7001-7002 are used by nothing else (training data: 101, 201-205; held-out sets: 9001+).
set -euo pipefail
OUT=${1:-demo}
mkdir -p "$OUT"
say() { printf '\n== %s\n' "$*"; }

say "200 fresh minimal 9x9 Sudoku puzzles (seed 7001)"
unmask generate sudoku --size 9 --count 200 --seed 7001 --out "$OUT/sudoku.txt"

say "solve them with the shipped model and the EB-Sampler (gamma 0.01 nats)"
unmask solve sudoku --input "$OUT/sudoku.txt" --sampler eb --gamma 0.01 \
  --output "$OUT/sudoku.answers.txt" --stats "$OUT/sudoku.stats.json"

say "check the answers with the exact validator"
unmask validate sudoku --input "$OUT/sudoku.txt" --solutions "$OUT/sudoku.answers.txt" | tail -n 1

say "top-1 against top-4 and EB: accuracy against forward passes"
unmask bench sudoku --input "$OUT/sudoku.txt" --quiet \
  --samplers "topk:k=1,topk:k=4,eb:gamma=0.001,eb:gamma=0.01,eb:gamma=0.1" --out "$OUT/sudoku.bench"
unmask plot bench "$OUT/sudoku.bench.json" --out "$OUT/sudoku.bench.png"

say "40 fresh 10x10 mazes (Wilson, seed 7002): solve with EB, validate"
unmask generate maze --cells 10 --algorithm wilson --count 40 --seed 7002 --out "$OUT/maze.txt"
unmask solve maze --input "$OUT/maze.txt" --sampler eb --gamma 0.01 \
  --output "$OUT/maze.answers.txt" --stats "$OUT/maze.stats.json"
unmask validate maze --input "$OUT/maze.txt" --solutions "$OUT/maze.answers.txt" | tail -n 1

say "the order of unmasking: top-1 against EB on the first maze, side by side"
unmask animate maze --input "$OUT/maze.txt" --index 0 --compare "topk:k=1" "eb:gamma=0.01" \
  --fps 12 --out "$OUT/maze.compare.gif" --quiet
unmask plot order sudoku --input "$OUT/sudoku.txt" --index 0 --sampler eb --gamma 0.01 \
  --out "$OUT/sudoku.order.png"

say "done: figures and answers are in $OUT/"
ls "$OUT"
