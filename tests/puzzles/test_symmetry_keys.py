"""Symmetry keys (``Task.symmetry_key``) and ``benchmarks/check_overlap.py``: held-out data must be
disjoint from training up to the symmetries training applies."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from puzzles import maze, sudoku
from puzzles.datasets import Dataset, save_dataset
from puzzles.task import get_task

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import check_overlap  # noqa: E402


def test_maze_key_is_the_same_for_all_eight_rotations_and_reflections():
    task = get_task("maze")
    puzzles, _, _ = maze.generate_many(30, seed=4, h=4, workers=1, progress=False)
    keys = [task.symmetry_key(p) for p in puzzles]
    for p, k in zip(puzzles, keys, strict=True):
        assert {task.symmetry_key(maze.dihedral(p, t)) for t in range(8)} == {k}
    assert len(set(keys)) == len(keys)  # different mazes, different keys


@pytest.mark.parametrize("box", [2, 3])
def test_sudoku_key_is_invariant_under_every_training_symmetry(box):
    task = get_task("sudoku")
    rng = np.random.default_rng(box)
    puzzles, _, _ = sudoku.generate_many(12, seed=5, box=box, workers=1, progress=False)
    for p in puzzles:
        key = task.symmetry_key(p)
        for _ in range(6):
            (q,) = sudoku.random_symmetry(rng, p)
            assert task.symmetry_key(q) == key
    assert len({task.symmetry_key(p) for p in puzzles}) > 1


def _maps_onto(a: np.ndarray, b: np.ndarray) -> bool:
    """Is there a 4x4 Sudoku symmetry (line permutations keeping bands and stacks, transpose,
    digit renaming) taking board a to board b? Enumerated here independently of the package."""
    import itertools

    orders = [
        [2 * band + inner[i][k] for i, band in enumerate(bands) for k in (0, 1)]
        for bands in itertools.permutations((0, 1))
        for inner in itertools.product(itertools.permutations((0, 1)), repeat=2)
    ]
    for rows in orders:
        for cols in orders:
            for t in (a[np.ix_(rows, cols)], a[np.ix_(rows, cols)].T):
                mapping: dict[int, int] = {}
                ok = all(
                    (x == 0) == (y == 0) and mapping.setdefault(x, y) == y
                    for x, y in zip(t.ravel().tolist(), b.ravel().tolist(), strict=True)
                )
                if ok and len(set(mapping.values())) == len(mapping):
                    return True
    return False


def test_4x4_key_is_exact_same_key_means_a_symmetry_maps_one_onto_the_other():
    task = get_task("sudoku")
    puzzles, _, _ = sudoku.generate_many(120, seed=6, box=2, workers=1, progress=False)
    by_key: dict[bytes, list[np.ndarray]] = {}
    for p in puzzles:
        by_key.setdefault(task.symmetry_key(p), []).append(p)
    keys = list(by_key)
    for group in by_key.values():  # same key: related
        for b in group[1:3]:
            assert _maps_onto(group[0], b)
    for k1, k2 in zip(keys[:8], keys[1:9], strict=False):  # different keys: not related
        assert not _maps_onto(by_key[k1][0], by_key[k2][0])


def test_check_overlap_counts_exact_and_symmetric_copies(tmp_path, capsys):
    puzzles, solutions, _ = maze.generate_many(20, seed=8, h=3, workers=1, progress=False)
    held = Dataset("maze", puzzles[:5], solutions[:5])
    train = Dataset("maze", puzzles[5:], solutions[5:])
    save_dataset(tmp_path / "held.npz", held)
    save_dataset(tmp_path / "train.npz", train)
    found = check_overlap.overlap(held, train)
    # counted without symmetry keys: every rotation and reflection compared byte by byte
    train_bytes = {t.tobytes() for t in train.puzzles}
    same = sum(
        any(maze.dihedral(p, k).tobytes() in train_bytes for k in maze.dihedral_ks(*p.shape))
        for p in held.puzzles
    )
    assert found["symmetric"] == same
    # a rotated copy of a held-out maze in training is found up to symmetry, not exactly
    rotated = Dataset("maze", np.concatenate([train.puzzles, maze.dihedral(puzzles[:1], 1)]),
                      np.concatenate([train.solutions, maze.dihedral(solutions[:1], 1)]))  # fmt: skip
    save_dataset(tmp_path / "leak.npz", rotated)
    found = check_overlap.overlap(held, rotated)
    assert found["symmetric"] == same + 1 and found["puzzles"] == 0
    assert check_overlap.main([str(tmp_path / "held.npz"), str(tmp_path / "leak.npz")]) == 1
    out = capsys.readouterr().out
    assert "shared up to symmetry" in out
    clean = Dataset("maze", *maze.generate_many(10, seed=99, h=3, workers=1, progress=False)[:2])
    keep = [
        i for i, p in enumerate(clean.puzzles)
        if get_task("maze").symmetry_key(p) not in {get_task("maze").symmetry_key(q) for q in held.puzzles}
    ]  # fmt: skip
    save_dataset(tmp_path / "clean.npz", clean.subset(np.array(keep)))
    assert check_overlap.main([str(tmp_path / "held.npz"), str(tmp_path / "clean.npz")]) == 0
