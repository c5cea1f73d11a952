"""Datasets: save/load round trips, deterministic bytes, task inference, tensors, splits."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from puzzles.datasets import (
    Dataset,
    load_dataset,
    parse_split_spec,
    save_dataset,
    solutions_path,
    split_dataset,
)
from puzzles.errors import UnmaskError
from puzzles.maze_text import parse_maze_text
from puzzles.sudoku_text import format_sudoku_text
from puzzles.task import get_task
from puzzles.tokens import OPEN, PATH

MAZE = """\
#######
#S..#.#
#.#.#.#
#.#...#
#.###.#
#....G#
#######
"""


def pattern_grid(n: int) -> np.ndarray:
    b = int(round(n**0.5))
    r, c = np.indices((n, n))
    return ((b * (r % b) + r // b + c) % n + 1).astype(np.int8)


def sudoku_dataset(count: int = 6, n: int = 9, seed: int = 0) -> Dataset:
    """Relabelled pattern grids with random blanks; per-puzzle extras of several dtypes."""
    rng = np.random.default_rng(seed)
    grid = pattern_grid(n)
    solutions = np.stack([rng.permutation(n).astype(np.int8)[grid - 1] + 1 for _ in range(count)])
    puzzles = np.where(rng.random(solutions.shape) < 0.5, 0, solutions).astype(np.int8)
    extra = {
        "score": rng.random(count),
        "singles_only": rng.random(count) < 0.5,
        "label": np.array([f"p{i}" for i in range(count)]),
    }
    return Dataset("sudoku", puzzles, solutions, {"seed": seed, "generator": {"x": 1}}, extra)


def maze_dataset() -> Dataset:
    puzzle = parse_maze_text(MAZE)[0]
    solution = puzzle.copy()
    solution[1, 2:4] = PATH
    solution[2:5, 3] = PATH  # not a real shortest path: datasets do not judge
    return Dataset("maze", np.stack([puzzle, puzzle]), np.stack([solution, solution]), {})


# --- .npz -------------------------------------------------------------------------------------


def test_npz_round_trip_keeps_everything(tmp_path):
    ds = sudoku_dataset()
    path = tmp_path / "d.npz"
    assert save_dataset(path, ds) == [path]
    back = load_dataset(path)
    assert back.task == "sudoku" and len(back) == 6 and back.size == 9
    np.testing.assert_array_equal(back.puzzles, ds.puzzles)
    np.testing.assert_array_equal(back.solutions, ds.solutions)
    assert back.puzzles.dtype == back.solutions.dtype == np.int8
    assert back.meta["seed"] == 0 and back.meta["generator"] == {"x": 1}
    assert back.meta["task"] == "sudoku" and back.meta["size"] == 9 and back.meta["count"] == 6
    assert sorted(back.extra) == ["label", "score", "singles_only"]
    for key in ds.extra:
        np.testing.assert_array_equal(back.extra[key], ds.extra[key])
    with np.load(path, allow_pickle=False) as z:  # plain numpy reads it without pickle
        assert z["puzzles"].shape == (6, 9, 9)


def test_npz_bytes_are_deterministic(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    save_dataset(a, sudoku_dataset())
    save_dataset(b, sudoku_dataset())
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:  # no wall-clock timestamps inside (np.savez has them)
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    save_dataset(b, sudoku_dataset(seed=1))
    assert a.read_bytes() != b.read_bytes()


def test_npz_without_solutions_and_maze(tmp_path):
    ds = maze_dataset()
    ds.solutions = None
    save_dataset(tmp_path / "m.npz", ds)
    back = load_dataset(tmp_path / "m.npz", task="maze")
    assert back.solutions is None and back.size == 3
    np.testing.assert_array_equal(back.puzzles, ds.puzzles)


def test_npz_errors(tmp_path):
    save_dataset(tmp_path / "m.npz", maze_dataset())
    with pytest.raises(UnmaskError, match="holds maze puzzles, not sudoku"):
        load_dataset(tmp_path / "m.npz", task="sudoku")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(UnmaskError, match="junk.npz"):
        load_dataset(junk)
    good = (tmp_path / "m.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(UnmaskError, match="cut.npz"):
        load_dataset(cut)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.zeros(3))
    with pytest.raises(UnmaskError, match="not an unmask dataset"):
        load_dataset(plain)
    with pytest.raises(UnmaskError, match="no such file"):
        load_dataset(tmp_path / "missing.npz")


# --- .txt and .csv ------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [sudoku_dataset, maze_dataset])
def test_txt_round_trip_with_solutions_beside(tmp_path, make):
    ds = make()
    path = tmp_path / "d.txt"
    written = save_dataset(path, ds)
    assert written == [path, tmp_path / "d.solutions.txt"] == [path, solutions_path(path)]
    back = load_dataset(path)  # task inferred from the text
    assert back.task == ds.task
    np.testing.assert_array_equal(back.puzzles, ds.puzzles)
    np.testing.assert_array_equal(back.solutions, ds.solutions)
    first = path.read_bytes()
    save_dataset(path, ds)
    assert path.read_bytes() == first


def test_sudoku_text_with_comment_header_is_not_taken_for_a_maze(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("##########\n# provenance\n" + "." * 81 + "\n")
    assert load_dataset(path).task == "sudoku"


def test_txt_solutions_count_mismatch_names_the_solutions_file(tmp_path):
    ds = sudoku_dataset()
    save_dataset(tmp_path / "d.txt", ds)
    (tmp_path / "d.solutions.txt").write_text(format_sudoku_text(ds.solutions[:4]))
    with pytest.raises(UnmaskError, match=r"d\.solutions\.txt: 4 solutions .* 6 puzzles"):
        load_dataset(tmp_path / "d.txt")


def test_csv_dataset(tmp_path):
    ds = sudoku_dataset(count=3, n=4)
    rows = [
        f"{i},{''.join(map(str, p.ravel()))},{''.join(map(str, s.ravel()))}"
        for i, (p, s) in enumerate(zip(ds.puzzles, ds.solutions, strict=True))
    ]
    path = tmp_path / "d.csv"
    path.write_text("id,puzzle,solution\n" + "\n".join(rows) + "\n")
    back = load_dataset(path)
    assert back.task == "sudoku" and back.size == 4
    np.testing.assert_array_equal(back.puzzles, ds.puzzles)
    np.testing.assert_array_equal(back.solutions, ds.solutions)
    with pytest.raises(UnmaskError, match="maze puzzles are read from .txt, .npz files, not .csv"):
        load_dataset(path, task="maze")


def test_unknown_suffix(tmp_path):
    with pytest.raises(UnmaskError, match="unknown dataset suffix"):
        save_dataset(tmp_path / "d.json", sudoku_dataset())
    with pytest.raises(UnmaskError, match="unknown dataset suffix"):
        load_dataset(tmp_path / "d.json")


# --- tensors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sudoku", "maze"])
def test_token_encoding(kind):
    """Sudoku: digit d is token d-1, blanks masked. Mazes: codes are tokens, open cells masked."""
    ds = sudoku_dataset() if kind == "sudoku" else maze_dataset()
    spec = ds.spec
    assert spec == (get_task("sudoku").spec(9) if kind == "sudoku" else get_task("maze").spec(3))
    puzzle_tokens = spec.encode_puzzle(ds.puzzles)
    solution_tokens = spec.encode_solution(ds.solutions)
    assert puzzle_tokens.dtype == solution_tokens.dtype == np.int64
    assert puzzle_tokens.shape == solution_tokens.shape == (len(ds), spec.num_cells)
    flat_p = ds.puzzles.reshape(len(ds), -1).astype(np.int64)
    flat_s = ds.solutions.reshape(len(ds), -1).astype(np.int64)
    blank = 0 if kind == "sudoku" else OPEN
    assert np.array_equal(puzzle_tokens == spec.mask_id, flat_p == blank)
    offset = 1 if kind == "sudoku" else 0
    assert np.array_equal(solution_tokens, flat_s - offset)
    if kind == "sudoku":  # (the maze fixture's solution is not a real one)
        given = flat_p != blank
        assert np.array_equal(puzzle_tokens[given], solution_tokens[given])
    assert np.array_equal(spec.decode(solution_tokens), ds.solutions)
    assert np.array_equal(spec.decode(puzzle_tokens), ds.puzzles)
    if kind == "maze":
        assert int(solution_tokens.max()) <= 4 and (solution_tokens == PATH).any()


# --- splits -------------------------------------------------------------------------------------


def test_parse_split_spec():
    assert parse_split_spec("train=0.9, val=0.05,test=0.05") == {
        "train": 0.9,
        "val": 0.05,
        "test": 0.05,
    }
    assert parse_split_spec("all=1") == {"all": 1.0}


@pytest.mark.parametrize(
    "spec, needle",
    [
        ("train=0.9", "add up to 0.9"),
        ("train=0.5,train=0.5", "named twice"),
        ("train:0.5,val=0.5", "NAME=FRACTION"),
        ("=0.5,val=0.5", "NAME=FRACTION"),
        ("train=abc,val=0.5", "bad fraction"),
        ("train=-0.5,val=1.5", "must lie in"),
        ("train=nan,val=1", "must lie in"),
        ("a/b=0.5,val=0.5", "bad split name"),
        ("", "NAME=FRACTION"),
    ],
)
def test_parse_split_spec_errors(spec, needle):
    with pytest.raises(UnmaskError, match=needle):
        parse_split_spec(spec)


def test_split_is_disjoint_deduplicated_and_deterministic():
    base = sudoku_dataset(count=40)
    index = np.concatenate([np.arange(40), [3, 3, 7, 19, 0]])  # five duplicates
    ds = base.subset(index)
    fractions = {"train": 0.8, "val": 0.1, "test": 0.1}
    parts = split_dataset(ds, fractions, seed=5)
    assert [len(p) for p in parts.values()] == [32, 4, 4]
    keys = [{p.tobytes() for p in part.puzzles} for part in parts.values()]
    assert sum(len(k) for k in keys) == 40 == len(set().union(*keys))  # disjoint, all kept
    for part in parts.values():
        assert part.meta["split"]["duplicates_removed"] == 5 and part.meta["count"] == len(part)
        for label, puzzle, solution in zip(
            part.extra["label"], part.puzzles, part.solutions, strict=True
        ):
            i = int(str(label)[1:])  # rows stay together with their solutions and extras
            np.testing.assert_array_equal(puzzle, base.puzzles[i])
            np.testing.assert_array_equal(solution, base.solutions[i])
    again = split_dataset(ds, fractions, seed=5)
    other = split_dataset(ds, fractions, seed=6)
    assert all(np.array_equal(parts[k].puzzles, again[k].puzzles) for k in fractions)
    assert not np.array_equal(parts["train"].puzzles, other["train"].puzzles)


def test_split_counts_use_largest_remainder():
    parts = split_dataset(sudoku_dataset(count=7), {"a": 0.5, "b": 0.25, "c": 0.25}, seed=0)
    assert [len(p) for p in parts.values()] == [3, 2, 2]  # 3.5, 1.75, 1.75
    parts = split_dataset(sudoku_dataset(count=6), {"a": 0.25, "b": 0.25, "c": 0.5}, seed=0)
    assert [len(p) for p in parts.values()] == [2, 1, 3]  # 1.5, 1.5, 3: a tie goes to the earlier
