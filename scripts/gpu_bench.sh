#!/usr/bin/env bash
# Issue 16 on one GPU, in about 10 minutes: the CUDA tests (strict), batched-solving throughput of
# the eager and the compiled path, the compiled path's answers against the eager ones, and every
# README benchmark table (bench_shipped.sh, bench_search.sh and bench_hard.sh without its CPU-only
# solver comparison) on this one device. Writes
# gpu_tests.txt, throughput.json, compile.json and results.tar.gz (the bench tables) to OUT.
# A step that fails is named and the rest still run (one GPU run is rare); the exit status is
# then 1.
#
# Usage (repository root): bash scripts/gpu_bench.sh OUT
#   TOY=1 bash scripts/gpu_bench.sh OUT    every command on 2 puzzles of one set per family, for a
#                                          CPU check
set -uo pipefail
OUT=${1:?usage: bash scripts/gpu_bench.sh OUT}
U=${UNMASK:-python3 -m unmask_cli}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT/tables"
t0=$(date +%s)
status=0
say() { echo "== $(( $(date +%s) - t0 )) s: $*"; }
failed() { say "FAILED: $*"; status=1; }
# The tables so far, bundled after every stage: a run cut off by its time limit still brings
# back one file with everything done until then (a device run returns a few files, not folders).
pack() { tar -czf "$OUT/results.tar.gz.tmp" -C "$OUT" tables && mv "$OUT/results.tar.gz.tmp" "$OUT/results.tar.gz"; }
if [ "${TOY:-0}" = 1 ]; then
  D="$OUT/toy_data"
  python3 scripts/subset_sets.py benchmarks/data "$D" 2 || failed "toy sets"
  N=8 BATCH=4 CMP_N=4 CMP_BATCHES=4 MAZE_LIMIT=1 DEVICE=auto GUESS=2
  export DATA="$D" THROUGHPUT="--n 8 --batch-size 4 --rounds 1 --forward-repeats 1"
  export OVERHEAD="--repeats 2 --k 2 --cpu-batch 8" REMASK_LIMIT=1
  export SUDOKU_SETS=sudoku17_2000.txt MAZE_SETS=open MAZE_SAMPLERS=eb:gamma=0.01,dus:two_d=true
else
  D=benchmarks/data N=8192 BATCH=2048 CMP_N=2000 CMP_BATCHES=256,2048 MAZE_LIMIT=500 DEVICE=cuda
  GUESS=0  # bench_hard.sh's solver comparison runs on the CPU: not on a GPU's time
fi

say "CUDA tests"
python3 -m pytest -q -m gpu tests/sampling/test_gpu.py -p no:cacheprovider 2>&1 \
  | tee "$OUT/gpu_tests.txt" || failed "CUDA tests"
say "throughput: eager and compiled, batch $BATCH, 17-clue puzzles"
python3 benchmarks/bench_solve_throughput.py --checkpoint models/shipped/sudoku9.pt \
  --input "$D/sudoku17_2000.txt" --n "$N" --batch-size "$BATCH" ${THROUGHPUT:-} \
  --json "$OUT/throughput.json" || failed "throughput"
python3 benchmarks/bench_solve_compile.py --input "$D/sudoku9_heldout.npz" --n "$CMP_N" \
  --batches "$CMP_BATCHES" --json "$OUT/compile.json" || failed "compiled against eager"
say "README tables"
UNMASK="$U" bash scripts/bench_shipped.sh "$OUT/tables" || failed "bench_shipped.sh"
pack
DEVICE=$DEVICE UNMASK="$U" MAZE_LIMIT=$MAZE_LIMIT bash scripts/bench_search.sh "$OUT/tables" || failed "bench_search.sh"
pack
DEVICE=$DEVICE UNMASK="$U" MAZE_LIMIT=$MAZE_LIMIT GUESS_N=$GUESS bash scripts/bench_hard.sh "$OUT/tables" \
  || failed "bench_hard.sh"
say "done"
pack && rm -rf "$OUT/tables" "$OUT/toy_data"
exit $status
