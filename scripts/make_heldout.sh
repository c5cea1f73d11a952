#!/usr/bin/env bash
# Held-out benchmark sets (seeds 9001+, never used for training), written under benchmarks/data/.
set -euo pipefail
U=${UNMASK:-unmask}
D=benchmarks/data
$U generate sudoku --size 9 --count 2000 --seed 9001 --out $D/sudoku9_heldout.npz
i=9101
for alg in dfs wilson kruskal prim; do
  $U generate maze --cells 10 --algorithm $alg --count 500 --seed $i --out $D/maze10_${alg}_heldout.npz; i=$((i+1))
done
$U generate maze --cells 10 --algorithm dfs --extra-openings 0.1 --count 500 --seed 9105 --out $D/maze10_open_heldout.npz
# Other sizes, for the any-size maze model (issue 15): 15x15, and 20x20, a size it never trains on.
$U generate maze --cells 15 --algorithm dfs --count 200 --seed 9201 --out $D/maze15_dfs_heldout.npz
$U generate maze --cells 20 --algorithm dfs --count 200 --seed 9202 --out $D/maze20_dfs_heldout.npz
