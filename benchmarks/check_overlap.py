"""Count puzzles that occur in both of two dataset files (held-out vs training).

    python benchmarks/check_overlap.py HELD_OUT TRAIN [TRAIN ...]

Prints one line per training file and exits 1 if any puzzle is shared, so a held-out set
generated with fresh seeds can be shown to be disjoint from the data a model was trained on.
Sudoku puzzles are also compared under their complete solution grid: a held-out puzzle whose
solution grid appears in training is reported separately (same grid, other clues).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from puzzles.datasets import load_dataset


def _keys(boards: np.ndarray) -> set[bytes]:
    return {b.astype(np.int8).tobytes() for b in boards}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("held_out")
    ap.add_argument("train", nargs="+")
    args = ap.parse_args(argv)
    test = load_dataset(args.held_out)
    test_p = _keys(test.puzzles)
    test_s = _keys(test.solutions) if test.solutions is not None else set()
    shared_total = 0
    for path in args.train:
        tr = load_dataset(path, task=test.task)
        shared = len(test_p & _keys(tr.puzzles))
        grids = len(test_s & _keys(tr.solutions)) if tr.solutions is not None and test_s else 0
        shared_total += shared
        print(
            f"{args.held_out} vs {path}: {len(test.puzzles)} x {len(tr.puzzles)} puzzles, "
            f"{shared} shared puzzles, {grids} shared solution grids"
        )
    return 1 if shared_total else 0


if __name__ == "__main__":
    sys.exit(main())
