#!/usr/bin/env bash
# Issue 16 on one GPU, in about 10 minutes: the CUDA tests (strict), batched-solving throughput of
# the eager and the compiled path, the compiled path's answers against the eager ones, and every
# README benchmark table (bench_shipped.sh and bench_search.sh) on this one device. Writes
# gpu_tests.txt, throughput.json, compile.json and results.tar.gz (the bench tables) to OUT.
#
# Usage (repository root): bash scripts/gpu_bench.sh OUT
set -uo pipefail
OUT=${1:?usage: bash scripts/gpu_bench.sh OUT}
U=${UNMASK:-python3 -m unmask_cli}
D=benchmarks/data
export PYTHONUNBUFFERED=1
mkdir -p "$OUT/tables"
t0=$(date +%s)
say() { echo "== $(( $(date +%s) - t0 )) s: $*"; }

say "CUDA tests"
python3 -m pytest -q -m gpu tests/sampling/test_gpu.py -p no:cacheprovider 2>&1 | tee "$OUT/gpu_tests.txt"
say "throughput: eager and compiled, batch 2048, 17-clue puzzles"
python3 benchmarks/bench_solve_throughput.py --checkpoint models/shipped/sudoku9.pt \
  --input $D/sudoku17_2000.txt --n 8192 --batch-size 2048 --json "$OUT/throughput.json"
python3 benchmarks/bench_solve_compile.py --input $D/sudoku9_heldout.npz --n 2000 \
  --batches 256,2048 --json "$OUT/compile.json"
say "README tables"
UNMASK="$U" bash scripts/bench_shipped.sh "$OUT/tables"
DEVICE=cuda UNMASK="$U" MAZE_LIMIT=500 bash scripts/bench_search.sh "$OUT/tables"
say "done"
tar -czf "$OUT/results.tar.gz" -C "$OUT" tables && rm -rf "$OUT/tables"
