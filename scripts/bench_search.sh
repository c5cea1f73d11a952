#!/usr/bin/env bash
# Search with the validator in the loop against the model alone, on the shipped models and the
# held-out sets: the EB-Sampler (gamma 0.01) alone, with --constrain, with --propagate, with
# --search backtrack and with --search remask; a few other samplers with and without
# backtracking. Every table of one run comes from one machine; the JSON rows say which device
# ran them.
#
# Usage: bash scripts/bench_search.sh [RESULTS_DIR]      (default docs/results)
# Knobs: MAZE_LIMIT (mazes per set for the rows without --constrain, default 200), REMASK_LIMIT
# (puzzles per set for the remask rows, default 500 Sudoku / 100 mazes), DEVICE (default auto),
# DATA (folder of the sets, default benchmarks/data), SUDOKU_SETS and MAZE_SETS (which sets, default
# all: "sudoku9_heldout.npz sudoku17_2000.txt" and "dfs wilson kruskal prim open").
# On 2 CPU cores the whole script takes about 3 hours; on a GPU a few minutes.
set -euo pipefail
R=${1:-docs/results}
U=${UNMASK:-unmask}
D=${DATA:-benchmarks/data}
DEV=${DEVICE:-auto}
mkdir -p "$R"
SUDOKU_SETS=${SUDOKU_SETS:-sudoku9_heldout.npz sudoku17_2000.txt}
MAZE_SETS=${MAZE_SETS:-dfs wilson kruskal prim open}
B="$U bench --device $DEV --quiet --samplers eb:gamma=0.01"

for set in $SUDOKU_SETS; do
  name=${set%%.*}
  $B sudoku --input $D/$set --search none backtrack --out "$R/search_$name"
  $B sudoku --input $D/$set --search none backtrack --constrain --out "$R/search_${name}_constrain"
  $B sudoku --input $D/$set --search none backtrack --propagate --out "$R/search_${name}_propagate"
done
for set in $MAZE_SETS; do
  for rules in constrain propagate; do
    $B maze --input $D/maze10_${set}_heldout.npz --search none backtrack --$rules \
      --out "$R/search_maze10_${set}_$rules"
  done
done
for set in $MAZE_SETS; do
  $B maze --input $D/maze10_${set}_heldout.npz --limit "${MAZE_LIMIT:-200}" --search none backtrack \
    --out "$R/search_maze10_${set}"
done
for set in $SUDOKU_SETS; do
  $B sudoku --input $D/$set --limit "${REMASK_LIMIT:-500}" --search backtrack remask \
    --out "$R/search_${set%%.*}_remask"
done
for set in $MAZE_SETS; do
  case $set in dfs|open) ;; *) continue ;; esac
  $B maze --input $D/maze10_${set}_heldout.npz --limit "${REMASK_LIMIT:-100}" --search backtrack remask \
    --out "$R/search_maze10_${set}_remask"
done
$B maze --input $D/maze10_open_heldout.npz --limit 200 --constrain --search backtrack remask \
  --out "$R/search_maze10_open_constrain_remask"
$U bench sudoku --device "$DEV" --quiet --input $D/sudoku9_heldout.npz --limit 500 \
  --samplers "topk:k=4,threshold:tau=0.9,dus:two_d=true" --search none backtrack \
  --out "$R/search_sudoku9_heldout_samplers"
