"""Tests for puzzles.sudoku: the exact solver against a SAT oracle, the generator's uniqueness,
minimality and reproducibility, the answer checker, and the symmetries."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import puzzles
from puzzles import sudoku
from puzzles.sudoku import (
    check_answer,
    generate,
    generate_many,
    is_unique,
    random_grid,
    random_symmetry,
    solve,
    symmetry_permutation,
)

SAMPLE_17 = Path(puzzles.__file__).parent / "data" / "sudoku17_sample.txt"


def _read_sample() -> list[np.ndarray]:
    boards = []
    for line in SAMPLE_17.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            boards.append(np.array([0 if ch == "." else int(ch) for ch in line]).reshape(9, 9))
    return boards


def _valid_grid(grid: np.ndarray) -> bool:
    n = grid.shape[0]
    box = int(round(n**0.5))
    want = set(range(1, n + 1))
    boxes = grid.reshape(box, box, box, box).transpose(0, 2, 1, 3).reshape(n, n)
    return all(set(line.tolist()) == want for lines in (grid, grid.T, boxes) for line in lines)


# --- independent oracle: SAT via pycosat -------------------------------------------------------


@cache
def _sat_base(n: int) -> tuple[tuple[int, ...], ...]:
    """CNF for an empty n x n Sudoku; variable (r*n + c)*n + d means digit d at (r, c)."""
    box = int(round(n**0.5))

    def var(r, c, d):
        return (r * n + c) * n + d

    units = [[(r, c) for c in range(n)] for r in range(n)]
    units += [[(r, c) for r in range(n)] for c in range(n)]
    units += [
        [(br * box + i, bc * box + j) for i in range(box) for j in range(box)]
        for br in range(box)
        for bc in range(box)
    ]
    clauses = []
    for r, c in itertools.product(range(n), range(n)):
        clauses.append(tuple(var(r, c, d) for d in range(1, n + 1)))
        for d1, d2 in itertools.combinations(range(1, n + 1), 2):
            clauses.append((-var(r, c, d1), -var(r, c, d2)))
    for unit in units:
        for d in range(1, n + 1):
            clauses.append(tuple(var(r, c, d) for r, c in unit))
            for (r1, c1), (r2, c2) in itertools.combinations(unit, 2):
                clauses.append((-var(r1, c1, d), -var(r2, c2, d)))
    return tuple(clauses)


def _sat_solutions(board: np.ndarray, limit: int = 2) -> list[np.ndarray]:
    pycosat = pytest.importorskip("pycosat")
    n = board.shape[0]
    clauses = list(_sat_base(n))
    for r, c in zip(*np.nonzero(board), strict=True):
        clauses.append(((int(r) * n + int(c)) * n + int(board[r, c]),))
    out = []
    for model in itertools.islice(pycosat.itersolve(clauses), limit):
        true = np.array([v for v in model if v > 0]) - 1  # (n*n,) one true literal per cell
        out.append((true % n + 1).reshape(n, n))
    return out


def _check_against_oracle(board: np.ndarray) -> int:
    res = solve(board, limit=2)
    sat = _sat_solutions(board, limit=2)
    assert res.count == len(sat), board
    if res.count:
        assert _valid_grid(res.solution)
        assert np.array_equal(res.solution[board != 0], board[board != 0])
        if res.count == 1:
            assert np.array_equal(res.solution, sat[0])
    else:
        assert res.solution is None
    return res.count


@pytest.fixture(scope="module")
def seventeen() -> list[np.ndarray]:
    return _read_sample()


def test_sample_file_has_300_seventeen_clue_puzzles(seventeen):
    assert len(seventeen) == 300
    assert all(np.count_nonzero(b) == 17 for b in seventeen)
    assert "tdoku" in SAMPLE_17.read_text().split("\n.", 1)[0]  # provenance header kept


def test_solver_matches_sat_oracle_on_17_clue_puzzles(seventeen):
    pytest.importorskip("pycosat")
    for board in seventeen:
        assert _check_against_oracle(board) == 1


def test_solver_unique_on_all_sample_17_clue_puzzles(seventeen):
    for board in seventeen:
        res = solve(board)
        assert res.count == 1 and _valid_grid(res.solution)
        assert check_answer(board, res.solution) is None


def _oracle_mix(rng: np.random.Generator, box: int, count: int) -> list[np.ndarray]:
    """Boards with 0, 1 and 2+ solutions: generated puzzles, one clue removed, one clue wrong,
    random clue subsets of a grid."""
    n = box * box
    boards = []
    for _ in range(count):
        gen = generate(rng, box)
        boards.append(gen.puzzle)
        fewer = gen.puzzle.copy()
        fewer.flat[rng.choice(np.flatnonzero(fewer))] = 0
        boards.append(fewer)
        wrong = gen.puzzle.copy()
        k = rng.choice(np.flatnonzero(wrong == 0))
        wrong.flat[k] = rng.choice([d for d in range(1, n + 1) if d != gen.solution.flat[k]])
        boards.append(wrong)
        subset = np.where(rng.random((n, n)) < 0.35, gen.solution, 0).astype(np.int8)
        boards.append(subset)
    return boards


@pytest.mark.parametrize("box,count", [(2, 25), (3, 20)])
def test_solver_matches_sat_oracle_on_mixed_boards(box, count):
    pytest.importorskip("pycosat")
    rng = np.random.default_rng(100 + box)
    counts = [_check_against_oracle(b) for b in _oracle_mix(rng, box, count)]
    assert {0, 1, 2} <= set(counts)  # the mix really covers all three outcomes


def test_solver_limits_and_edge_cases():
    empty = np.zeros((9, 9), dtype=np.int8)
    assert solve(empty, limit=1).count == 1
    assert solve(empty, limit=2).count == 2
    assert solve(empty, limit=5).count == 5
    clash = empty.copy()
    clash[0, 0] = clash[0, 8] = 4  # same digit twice in row 1
    assert solve(clash).count == 0 and solve(clash).solution is None
    grid = random_grid(np.random.default_rng(0))
    res = solve(grid)
    assert res.count == 1 and res.guesses == 0 and res.nodes == 1
    assert np.array_equal(res.solution, grid)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((8, 8), dtype=np.int8),  # not 4, 9 or 16
        np.zeros((9, 8), dtype=np.int8),  # not square
        np.full((4, 4), 5, dtype=np.int8),  # digit out of range
        np.full((4, 4), -1, dtype=np.int8),
        np.zeros((4, 4), dtype=np.float32),  # not integers
        np.zeros((81,), dtype=np.int8),  # flat
    ],
)
def test_solver_rejects_malformed_boards(bad):
    with pytest.raises(ValueError):
        solve(bad)
    with pytest.raises(ValueError):
        solve(np.zeros((4, 4), dtype=np.int8), limit=0)


def test_hard_puzzle_needs_guesses_and_difficulty_reports_them(seventeen):
    res = [solve(b) for b in seventeen[:50]]
    assert any(r.guesses > 0 for r in res)  # propagation alone does not solve them all
    assert all(r.nodes >= 1 + r.guesses for r in res)


# --- generator ---------------------------------------------------------------------------------


@pytest.mark.parametrize("box,count", [(2, 30), (3, 6)])
def test_generated_puzzles_are_unique_and_minimal(box, count):
    rng = np.random.default_rng(7 + box)
    for _ in range(count):
        gen = generate(rng, box)
        puzzle, solution = gen.puzzle, gen.solution
        assert puzzle.dtype == np.int8 and solution.dtype == np.int8
        assert _valid_grid(solution)
        assert np.array_equal(puzzle[puzzle != 0], solution[puzzle != 0])
        res = solve(puzzle)
        assert res.count == 1 and np.array_equal(res.solution, solution)
        for k in np.flatnonzero(puzzle):  # every clue is needed
            fewer = puzzle.copy()
            fewer.flat[k] = 0
            assert solve(fewer).count == 2
        d = gen.difficulty
        assert d.clues == np.count_nonzero(puzzle)
        assert (d.nodes, d.guesses) == (res.nodes, res.guesses)
        assert d.singles_only == (d.guesses == 0)
        assert d.score == pytest.approx(d.guesses + (puzzle.size - d.clues) / puzzle.size)


def test_generated_minimal_9x9_agrees_with_sat_oracle():
    pytest.importorskip("pycosat")
    gen = generate(np.random.default_rng(3), 3)
    assert len(_sat_solutions(gen.puzzle)) == 1
    for k in np.flatnonzero(gen.puzzle)[:8]:
        fewer = gen.puzzle.copy()
        fewer.flat[k] = 0
        assert len(_sat_solutions(fewer)) == 2


@pytest.mark.parametrize("box,clues", [(2, 8), (3, 40), (3, 30), (4, 150)])
def test_clue_target_is_respected(box, clues):
    rng = np.random.default_rng(clues)
    for _ in range(3 if box < 4 else 1):
        gen = generate(rng, box, clues=clues)
        assert np.count_nonzero(gen.puzzle) == clues == gen.difficulty.clues
        assert is_unique(gen.puzzle)


def test_clue_target_below_any_minimal_gives_a_minimal_puzzle():
    gen = generate(np.random.default_rng(1), 3, clues=0)
    assert gen.difficulty.clues >= 17  # no 9x9 puzzle with fewer clues is unique
    assert is_unique(gen.puzzle)


def test_generate_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        generate(rng, 5)
    with pytest.raises(ValueError):
        generate(rng, 3, clues=82)
    with pytest.raises(ValueError):
        generate_many(2, 0, box=3, workers=0, progress=False)


def test_same_seed_same_puzzles_and_different_seeds_differ():
    a = generate(np.random.default_rng(11), 3)
    b = generate(np.random.default_rng(11), 3)
    c = generate(np.random.default_rng(12), 3)
    assert np.array_equal(a.puzzle, b.puzzle) and np.array_equal(a.solution, b.solution)
    assert a.difficulty == b.difficulty
    assert not np.array_equal(a.solution, c.solution)


def _relabel_first_row(grid: np.ndarray) -> np.ndarray:
    """Relabel digits so the first row reads 1..n: equal results mean one grid relabeled."""
    perm = np.zeros(grid.shape[0] + 1, dtype=np.int64)
    perm[grid[0]] = np.arange(1, grid.shape[0] + 1)
    return perm[grid]


@pytest.mark.parametrize("box", [2, 3, 4])
def test_random_grids_are_valid_and_not_one_grid_relabeled(box):
    rng = np.random.default_rng(box)
    grids = [random_grid(rng, box) for _ in range(6 if box < 4 else 3)]
    assert all(g.dtype == np.int8 and _valid_grid(g) for g in grids)
    shapes = {_relabel_first_row(g).tobytes() for g in grids}
    assert len(shapes) > 1


def test_generate_many_reproducible_and_independent_of_workers():
    one = generate_many(6, seed=5, box=3, workers=1, progress=False)
    two = generate_many(6, seed=5, box=3, workers=2, progress=False)
    again = generate_many(6, seed=5, box=3, workers=1, progress=False)
    for x, y in ((one, two), (one, again)):
        assert np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])
        assert x[2] == y[2]
    puzzles_, solutions, diffs = one
    assert puzzles_.shape == solutions.shape == (6, 9, 9)
    assert puzzles_.dtype == solutions.dtype == np.int8
    assert len(diffs) == 6
    assert len({p.tobytes() for p in puzzles_}) == 6
    # Puzzle k is generate() on the k-th child of SeedSequence(seed).
    last = generate(np.random.default_rng(np.random.SeedSequence(5).spawn(6)[5]), 3)
    assert np.array_equal(last.puzzle, puzzles_[5]) and last.difficulty == diffs[5]


def test_generate_many_progress_bar_goes_to_stderr(capsys):
    puzzles_, _, _ = generate_many(3, seed=1, box=2, workers=1, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "sudoku 4x4" in err
    assert puzzles_.shape == (3, 4, 4)
    empty = generate_many(0, seed=1, box=2, progress=False)
    assert empty[0].shape == (0, 4, 4) and empty[2] == []


# --- answer checker ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair():
    gen = generate(np.random.default_rng(21), 3)
    return gen.puzzle, gen.solution


def test_check_answer_accepts_the_solution(pair):
    puzzle, solution = pair
    assert check_answer(puzzle, solution) is None
    assert check_answer(solution, solution) is None  # a full grid as its own puzzle


def test_check_answer_names_a_changed_given(pair):
    puzzle, solution = pair
    r, c = np.argwhere(puzzle != 0)[0]
    answer = solution.copy()
    answer[r, c] = answer[r, c] % 9 + 1
    assert check_answer(puzzle, answer) == f"r{r + 1}c{c + 1} changes given {puzzle[r, c]}"


def test_check_answer_names_a_blank(pair):
    puzzle, solution = pair
    r, c = np.argwhere(puzzle == 0)[-1]
    answer = solution.copy()
    answer[r, c] = 0
    assert check_answer(puzzle, answer) == f"r{r + 1}c{c + 1} is blank"


def _pattern_grid() -> np.ndarray:
    """A fixed valid 9x9 grid: row r is 1..9 shifted by 3*(r % 3) + r // 3."""
    return np.array(
        [[(3 * (r % 3) + r // 3 + c) % 9 + 1 for c in range(9)] for r in range(9)], dtype=np.int8
    )


def test_check_answer_names_row_column_and_box_repeats():
    grid = _pattern_grid()
    assert _valid_grid(grid)
    blank = np.zeros_like(grid)
    # Swap two cells of row 1: the row stays a permutation, column 1 gets a repeat.
    answer = grid.copy()
    answer[0, 0], answer[0, 3] = answer[0, 3], answer[0, 0]
    assert check_answer(blank, answer) == f"column 1 repeats {answer[0, 0]}"
    # Copy a digit from row 2: row 1 repeats it (rows are checked before columns).
    answer = grid.copy()
    answer[0, 0] = answer[1, 0]
    assert check_answer(blank, answer) == f"row 1 repeats {answer[1, 0]}"
    # A Latin square: rows and columns are permutations, box 1 holds 1,2,3 / 2,3,4 / 3,4,5.
    latin = np.array([[(r + c) % 9 + 1 for c in range(9)] for r in range(9)], dtype=np.int8)
    assert check_answer(blank, latin) == "box 1 repeats 2"


def test_check_answer_box_numbering_is_row_major():
    # Swap whole columns 4 and 8 (different stacks): rows and columns stay permutations, box 1
    # is untouched and box 2 (top-middle) gets 8, 2, 5 twice.
    bad = _pattern_grid()
    bad[:, [3, 7]] = bad[:, [7, 3]]
    assert check_answer(np.zeros_like(bad), bad) == "box 2 repeats 2"


def test_check_answer_out_of_range_and_shape():
    puzzle = np.zeros((4, 4), dtype=np.int8)
    answer = random_grid(np.random.default_rng(0), 2)
    answer[2, 1] = 7
    assert check_answer(puzzle, answer) == "r3c2 holds 7, not a digit 1..4"
    with pytest.raises(ValueError):
        check_answer(puzzle, np.zeros((9, 9), dtype=np.int8))


# --- symmetries --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated_pairs():
    rng = np.random.default_rng(33)
    return {box: [generate(rng, box) for _ in range(3)] for box in (2, 3)}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), box=st.sampled_from([2, 3, 4]))
def test_symmetry_keeps_grids_valid(seed, box):
    grid = random_grid(np.random.default_rng(box), box)
    (new,) = random_symmetry(np.random.default_rng(seed), grid)
    assert new.dtype == np.int8 and _valid_grid(new)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, 5))
def test_symmetry_keeps_puzzles_unique_with_transformed_solution(seed, which, generated_pairs):
    gen = generated_pairs[2 + which // 3][which % 3]
    puzzle, solution = random_symmetry(np.random.default_rng(seed), gen.puzzle, gen.solution)
    assert np.count_nonzero(puzzle) == np.count_nonzero(gen.puzzle)
    res = solve(puzzle)
    assert res.count == 1 and np.array_equal(res.solution, solution)
    assert check_answer(puzzle, solution) is None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), box=st.sampled_from([2, 3, 4]))
def test_symmetry_permutation_matches_random_symmetry(seed, box):
    n = box * box
    board = np.where(
        np.random.default_rng(seed).random((n, n)) < 0.5,
        random_grid(np.random.default_rng(0), box),
        0,
    ).astype(np.int8)
    cell_perm, digit_perm = symmetry_permutation(np.random.default_rng(seed), n)
    assert cell_perm.dtype == digit_perm.dtype == np.int64
    assert cell_perm.shape == (n * n,) and digit_perm.shape == (n + 1,)
    assert sorted(cell_perm.tolist()) == list(range(n * n))
    assert digit_perm[0] == 0 and sorted(digit_perm.tolist()) == list(range(n + 1))
    (new,) = random_symmetry(np.random.default_rng(seed), board)
    assert np.array_equal(new.ravel(), digit_perm[board.ravel()[cell_perm]])
    # Batched flat tokens work the same way: digit_perm[tokens[..., cell_perm]].
    batch = np.stack([board.ravel(), board.ravel()])  # (2, n*n)
    assert np.array_equal(digit_perm[batch[..., cell_perm]][1], new.ravel())


def test_symmetries_reach_transpose_and_band_swaps():
    """The transform set is not only digit relabeling: over many draws, the cell permutation
    moves cell (0, 1) into another row (transpose) and row 0 into another band."""
    n = 9
    rows_of_cell01, bands_of_row0 = set(), set()
    rng = np.random.default_rng(0)
    for _ in range(200):
        cell_perm, _ = symmetry_permutation(rng, n)
        new_index = int(np.flatnonzero(cell_perm == 1)[0])  # where old cell (0, 1) went
        rows_of_cell01.add(new_index // n)
        new_index0 = int(np.flatnonzero(cell_perm == 0)[0])
        bands_of_row0.add(new_index0 // n // 3)
    assert len(rows_of_cell01) > 3 and bands_of_row0 == {0, 1, 2}


def test_random_symmetry_rejects_mismatched_boards():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        random_symmetry(rng)
    with pytest.raises(ValueError):
        random_symmetry(rng, np.zeros((4, 4), dtype=np.int8), np.zeros((9, 9), dtype=np.int8))


def test_module_exports_contract_names():
    for name in (
        "solve",
        "SolveResult",
        "is_unique",
        "random_grid",
        "generate",
        "Generated",
        "Difficulty",
        "generate_many",
        "check_answer",
        "random_symmetry",
        "symmetry_permutation",
    ):
        assert hasattr(sudoku, name)
