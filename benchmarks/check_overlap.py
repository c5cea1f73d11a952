"""Count the held-out puzzles that also occur in training data, exactly and up to symmetry.

    python benchmarks/check_overlap.py HELD_OUT TRAIN [TRAIN ...]

Prints one line per training file and exits 1 if any held-out puzzle is shared. Three checks:
the same puzzle, the same solution grid (same grid, other clues), and the same puzzle up to the
task's training symmetries (``Task.symmetry_key``: a canonical form for mazes and 4x4 Sudoku,
an invariant for 9x9 Sudoku, where a shared key counts as an overlap, so the check can only err
on the side of reporting one). Training applies those symmetries to its data, so a held-out
puzzle that is a rotated or relabelled training puzzle is not held out.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from puzzles.datasets import Dataset, load_dataset


def _keys(boards: np.ndarray) -> set[bytes]:
    return {b.astype(np.int8).tobytes() for b in boards}


def overlap(held_out: Dataset, train: Dataset) -> dict[str, int]:
    """{"puzzles", "solutions", "symmetric"}: held-out puzzles found in ``train`` by each check
    (the solution check only when both carry solutions)."""
    family = held_out.family
    shared = sum(p.astype(np.int8).tobytes() in _keys(train.puzzles) for p in held_out.puzzles)
    grids = 0
    if held_out.solutions is not None and train.solutions is not None:
        train_grids = _keys(train.solutions)
        grids = sum(s.astype(np.int8).tobytes() in train_grids for s in held_out.solutions)
    train_sym = {family.symmetry_key(p) for p in train.puzzles}
    symmetric = sum(family.symmetry_key(p) in train_sym for p in held_out.puzzles)
    return {"puzzles": int(shared), "solutions": int(grids), "symmetric": int(symmetric)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("held_out")
    ap.add_argument("train", nargs="+")
    args = ap.parse_args(argv)
    test = load_dataset(args.held_out)
    total = 0
    for path in args.train:
        found = overlap(test, load_dataset(path, task=test.task))
        total += found["puzzles"] + found["symmetric"]
        print(
            f"{args.held_out} vs {path}: {len(test)} held-out puzzles, {found['puzzles']} shared "
            f"puzzles, {found['solutions']} shared solution grids, {found['symmetric']} shared "
            "up to symmetry"
        )
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
