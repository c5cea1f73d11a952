#!/usr/bin/env bash
# Issue 23's tables: the hardest sets with the model placing every cell. On the shipped models,
# EB at gamma 0.01: first the guesses of the MRV solver, of the solver ordered by the model and of
# the sampler's search on the same hard puzzles (benchmarks/guess_compare.py; its seconds are the
# reason it goes first, on a machine not yet busy), then the model alone and with backtracking
# search (the rules only refuse), and with --propagate. One machine, one run.
#
# Usage: bash scripts/bench_hard.sh [RESULTS_DIR]      (default docs/results)
# Knobs: LIMIT (puzzles per Sudoku set, default all), MAZE_LIMIT (mazes per 10x10 set, default
# 200), GUESS_N (puzzles per hard set for the guess comparison, default 200; 0 skips it), MAX_NFE (the
# search's budget per puzzle, default 1000), DEVICE (default auto), DATA (default benchmarks/data),
# SUDOKU_SETS and MAZE_SETS (which sets, default all).
# On 2 CPU cores about 55 minutes, a third of it the maze rows.
set -euo pipefail
R=${1:-docs/results} D=${DATA:-benchmarks/data}
mkdir -p "$R"
LIM=()
if [ -n "${LIMIT:-}" ]; then LIM=(--limit "$LIMIT"); fi
B="${UNMASK:-unmask} bench --device ${DEVICE:-auto} --quiet --samplers eb:gamma=0.01 --max-nfe ${MAX_NFE:-1000}"

for set in sudoku9_hard20.npz sudoku9_hard100.npz; do
  if [ "${GUESS_N:-200}" = 0 ]; then break; fi  # the solvers run on the CPU: skipped on a GPU run
  python3 benchmarks/guess_compare.py --input "$D/$set" --n "${GUESS_N:-200}" \
    --json "$R/guess_compare_${set%%.*}.json" | tee "$R/guess_compare_${set%%.*}.md"
done
for set in ${SUDOKU_SETS:-sudoku9_heldout.npz sudoku17_2000.txt sudoku9_hard20.npz sudoku9_hard100.npz}; do
  name=${set%%.*}
  $B sudoku --input "$D/$set" "${LIM[@]}" --search none backtrack --out "$R/hard_$name"
  $B sudoku --input "$D/$set" "${LIM[@]}" --search backtrack --propagate --out "$R/hard_${name}_propagate"
done
for set in ${MAZE_SETS:-dfs open wilson kruskal prim}; do
  $B maze --input "$D/maze10_${set}_heldout.npz" --limit "${MAZE_LIMIT:-200}" --search none backtrack \
    --out "$R/hard_maze10_$set"
done
for set in ${MAZE_SETS:-dfs open wilson kruskal prim}; do  # all 500: the rules alone solve most
  $B maze --input "$D/maze10_${set}_heldout.npz" --search backtrack --propagate \
    --out "$R/hard_maze10_${set}_propagate"
done
