"""Tests for puzzles.rating (the plain MRV rating that counts guesses) and the ``min_guesses``
option of the Sudoku generator.

What the tests pin: the rule on two hand-traced 4x4 boards; that solutions agree with the exact
solver; that 0 guesses means naked singles alone solve the board (checked by an independent
propagator written here); the hidden-singles variant against ``sudoku.solve``'s own search;
and what really is invariant: the counts add up, a relabelled and permuted board rates the same
once the brancher maps its ties back, and the solution-first order is the least any value order
reaches.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puzzles import rating, sudoku
from puzzles.datasets import load_dataset
from puzzles.generate import generate_many
from puzzles.rating import mrv, rate, solution_first
from puzzles.sudoku import check_answer, generate, random_grid, solve, symmetry_permutation
from puzzles.task import get_task

SUDOKU17 = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "sudoku17_2000.txt"


@pytest.fixture(scope="module")
def seventeen() -> np.ndarray:
    return load_dataset(SUDOKU17).puzzles  # (2000, 9, 9)


@pytest.fixture(scope="module")
def minimal9() -> list[sudoku.Generated]:
    rng = np.random.default_rng(4242)
    return [generate(rng, 3) for _ in range(25)]


def _board(rng: np.random.Generator, box: int, density: float) -> np.ndarray:
    """A random clue subset (each cell a clue with probability ``density``) of a random grid:
    one solution or more."""
    grid = random_grid(rng, box)
    return np.where(rng.random(grid.shape) < density, grid, 0).astype(np.int8)


# --- an independent naked-singles propagator -----------------------------------------------------


def _naked_singles_solve(board: np.ndarray) -> bool:
    """Do naked singles alone fill ``board``? Sets of digits, no bitmasks, no shared code."""
    n = board.shape[0]
    box = math.isqrt(n)
    cells = [(r, c) for r in range(n) for c in range(n)]

    def peers(r: int, c: int) -> set[tuple[int, int]]:
        out = {(r, k) for k in range(n)} | {(k, c) for k in range(n)}
        r0, c0 = r - r % box, c - c % box
        out |= {(r0 + i, c0 + j) for i in range(box) for j in range(box)}
        return out - {(r, c)}

    cand = {rc: {int(board[rc])} if board[rc] else set(range(1, n + 1)) for rc in cells}
    done: set[tuple[int, int]] = set()
    while True:
        ready = [rc for rc in cells if len(cand[rc]) == 1 and rc not in done]
        if not ready:
            return all(len(cand[rc]) == 1 for rc in cells)
        rc = ready[0]
        done.add(rc)
        for p in peers(*rc):
            cand[p] -= cand[rc]
            if not cand[p]:
                return False


# --- the rule on hand-traced boards -------------------------------------------------------------


def test_empty_4x4_board_takes_seven_guesses_and_no_backtrack():
    # Cells r*4+c. Guess 1 at cell 0, then 2 at cell 1 (3 candidates, lowest index), 3 at cell 2
    # (forces cell 3 = 4), 3 at cell 4 (forces cell 5 = 4), 1 at cell 6 (forces cell 7 = 2),
    # 2 at cell 8 (forces 10 = 4, 12 = 4, 14 = 2), 1 at cell 9 (forces the rest): seven values
    # tried, each the first at its branch node, none a dead end.
    r = rate(np.zeros((4, 4), dtype=np.int8))
    assert (r.guesses, r.backtracks, r.branches, r.nodes, r.count) == (7, 0, 7, 8, 1)
    want = [[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 2, 1]]
    assert r.solution.tolist() == want


def test_hand_traced_4x4_board_with_one_dead_end():
    board = np.array([[0, 0, 0, 0], [0, 0, 2, 0], [4, 0, 0, 3], [0, 0, 0, 0]], dtype=np.int8)
    # Root: cell 10 = {1} is forced, then 9 = 2, 14 = 4, 15 = 2, 2 = 3; no further singles.
    # Branch at cell 0 {1, 2}: guess 1 forces cell 1 = 4, which leaves cell 3 {4} nothing: a dead
    # end. Guess 2: nothing forced. Branch at cell 1 {1, 4}: guess 1 forces every other cell.
    r = rate(board)
    assert (r.guesses, r.backtracks, r.branches, r.nodes, r.count) == (3, 1, 2, 4, 1)
    want = [[2, 1, 3, 4], [3, 4, 2, 1], [4, 2, 1, 3], [1, 3, 4, 2]]
    assert r.solution.tolist() == want
    assert solve(board).count == 2  # the board is not unique; the rating stops at the first


def test_boards_propagation_solves_or_refutes_at_the_root():
    grid = random_grid(np.random.default_rng(0))
    r = rate(grid)
    assert (r.guesses, r.backtracks, r.branches, r.nodes, r.count) == (0, 0, 0, 1, 1)
    assert np.array_equal(r.solution, grid)
    clash = np.zeros((9, 9), dtype=np.int8)
    clash[0, 0] = clash[0, 8] = 4  # the same digit twice in row 1
    r = rate(clash)
    assert r.solution is None and (r.count, r.guesses, r.backtracks, r.nodes) == (0, 0, 1, 1)
    dead = np.zeros((9, 9), dtype=np.int8)
    dead[0, 1:] = np.arange(1, 9)
    dead[1, 1] = 9  # cell (0, 0) sees every digit: a dead end at the root
    r = rate(dead)
    assert r.solution is None and (r.count, r.guesses, r.backtracks, r.nodes) == (0, 0, 1, 1)


def test_limit_counts_solutions():
    empty = np.zeros((9, 9), dtype=np.int8)
    assert rate(empty).count == 1
    assert rate(empty, limit=2).count == 2
    assert rate(empty, limit=3, hidden=True).count == 3


# --- agreement with the exact solver --------------------------------------------------------------


def test_solutions_match_the_exact_solver_on_generated_puzzles(minimal9):
    rng = np.random.default_rng(1)
    boards = [g.puzzle for g in minimal9] + [generate(rng, 2).puzzle for _ in range(20)]
    for board in boards:
        want = solve(board).solution
        for hidden in (False, True):
            r = rate(board, hidden=hidden)
            assert r.count == 1 and np.array_equal(r.solution, want)
            assert rate(board, hidden=hidden, limit=2).count == 1  # generated: unique


def test_solutions_match_the_exact_solver_on_17_clue_puzzles(seventeen):
    for board in seventeen[:300]:
        r = rate(board, hidden=True)
        assert np.array_equal(r.solution, solve(board).solution)
    for board in seventeen[:20]:  # the plain rating needs thousands of guesses on most
        r = rate(board)
        assert r.guesses > 0 and np.array_equal(r.solution, solve(board).solution)


@pytest.mark.slow
def test_plain_solutions_match_the_exact_solver_on_60_17_clue_puzzles(seventeen):
    for board in seventeen[:60]:  # thousands of plain guesses each: seconds in all
        r = rate(board)
        assert r.count == 1 and np.array_equal(r.solution, solve(board).solution)


def test_hidden_rating_is_the_exact_solvers_search(minimal9, seventeen):
    """With hidden singles the rating runs the search of ``sudoku.solve``: the same nodes, and
    its branch points are what that solver calls guesses."""
    rng = np.random.default_rng(2)
    boards = [g.puzzle for g in minimal9] + list(seventeen[:50])
    boards += [_board(rng, 3, 0.3) for _ in range(20)]
    for board in boards:
        for limit in (1, 2):
            r = rate(board, hidden=True, limit=limit)
            s = solve(board, limit=limit)
            assert (r.count, r.nodes, r.branches) == (s.count, s.nodes, s.guesses)


def test_zero_guesses_exactly_when_naked_singles_solve():
    rng = np.random.default_rng(3)
    boards = [generate(rng, 3, clues=45).puzzle for _ in range(15)]
    boards += [generate(rng, 3).puzzle for _ in range(10)]
    boards += [_board(rng, 2, 0.4) for _ in range(40)]
    outcomes = set()
    for board in boards:
        alone = _naked_singles_solve(board)
        r = rate(board)
        assert (r.guesses == 0 and r.count == 1) == alone
        outcomes.add(alone)
        if alone:
            assert r.backtracks == 0 and r.nodes == 1
    assert outcomes == {True, False}  # the mix holds both kinds


def test_hidden_singles_need_no_guess_where_naked_singles_need_none(minimal9):
    rng = np.random.default_rng(5)
    boards = [generate(rng, 3, clues=40).puzzle for _ in range(15)] + [g.puzzle for g in minimal9]
    for board in boards:
        plain, hidden = rate(board), rate(board, hidden=True)
        if plain.guesses == 0:
            assert hidden.guesses == 0
        assert (hidden.guesses == 0) == (solve(board).guesses == 0)  # = difficulty.singles_only


# --- invariants ---------------------------------------------------------------------------------


boards = st.tuples(
    st.integers(0, 2**32 - 1), st.sampled_from([2, 3]), st.floats(0.0, 0.6), st.booleans()
)


@settings(max_examples=40, deadline=None)
@given(boards)
def test_counts_add_up_and_solutions_are_valid(case):
    seed, box, density, hidden = case
    board = _board(np.random.default_rng(seed), box, density)
    for limit in (1, 2):
        r = rate(board, hidden=hidden, limit=limit)
        # every node is a dead end, a solution or a branch node; every node but the root is a guess
        assert r.nodes == 1 + r.guesses == r.backtracks + r.count + r.branches
        assert r.guesses >= r.backtracks and r.guesses >= r.branches
        assert r.count >= 1  # the board is a subset of a grid
        assert check_answer(board, r.solution) is None


def _mapped_mrv(cell_perm: np.ndarray, digit_perm: np.ndarray) -> rating.Brancher:
    """MRV on a transformed board that breaks ties as MRV does on the original board: by the
    original cell index, digits in the order of their original names."""
    old_cell = cell_perm.tolist()  # new cell i was old cell old_cell[i]
    old_digit = np.argsort(digit_perm).tolist()  # new digit d was old digit old_digit[d]

    def choose(values, candidates):
        open_cells = [i for i, v in enumerate(values) if not v]
        cell = min(open_cells, key=lambda i: (candidates[i].bit_count(), old_cell[i]))
        digits = [d for d in range(1, len(digit_perm)) if candidates[cell] >> (d - 1) & 1]
        return cell, sorted(digits, key=lambda d: old_digit[d])

    return choose


@settings(max_examples=30, deadline=None)
@given(boards)
def test_symmetric_board_rates_the_same_when_the_brancher_maps_ties_back(case):
    """MRV breaks ties by index and tries digits ascending, so a relabelled or permuted board may
    rate differently; with those two choices mapped back, the search is the same search."""
    seed, box, density, hidden = case
    rng = np.random.default_rng(seed)
    board = _board(rng, box, density)
    cell_perm, digit_perm = symmetry_permutation(rng, box * box)
    moved = digit_perm[board.ravel()[cell_perm]].reshape(board.shape).astype(np.int8)
    a = rate(board, hidden=hidden)
    b = rate(moved, hidden=hidden, brancher=_mapped_mrv(cell_perm, digit_perm))
    assert (a.count, a.guesses, a.backtracks, a.branches) == (b.count, b.guesses, b.backtracks,
                                                             b.branches)  # fmt: skip
    assert np.array_equal(b.solution.ravel(), digit_perm[a.solution.ravel()[cell_perm]])
    # whatever the tie-breaks, propagation alone solves both or neither
    assert (a.guesses == 0) == (rate(moved, hidden=hidden).guesses == 0)


def test_the_mrv_brancher_is_the_default(minimal9):
    rng = np.random.default_rng(6)
    boards = [g.puzzle for g in minimal9[:10]] + [_board(rng, 3, 0.25) for _ in range(5)]
    for board in boards:
        for hidden in (False, True):
            a, b = rate(board, hidden=hidden), rate(board, hidden=hidden, brancher=mrv)
            assert (a.guesses, a.backtracks, a.branches, a.count) == (
                b.guesses, b.backtracks, b.branches, b.count)  # fmt: skip
            assert np.array_equal(a.solution, b.solution)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_solution_first_never_backtracks_and_no_value_order_beats_it(seed, hidden):
    """On a unique puzzle the path to the solution is the same for every value order (the same
    states, so the same MRV cells); other orders only add failed subtrees."""
    rng = np.random.default_rng(seed)
    gen = generate(rng, 3)
    best = rate(gen.puzzle, hidden=hidden, brancher=solution_first(gen.solution))
    assert best.backtracks == 0 and best.guesses == best.branches
    assert np.array_equal(best.solution, gen.solution)

    def shuffled(values, candidates):
        cell, digits = mrv(values, candidates)
        return cell, [digits[k] for k in rng.permutation(len(digits))]

    for r in (rate(gen.puzzle, hidden=hidden), rate(gen.puzzle, hidden=hidden, brancher=shuffled)):
        assert r.guesses >= best.guesses and r.branches >= best.branches
        assert np.array_equal(r.solution, gen.solution)


# --- contract ---------------------------------------------------------------------------------


def test_brancher_must_pick_an_open_cell_and_all_its_digits():
    board = np.zeros((4, 4), dtype=np.int8)
    board[0, 0] = 1
    with pytest.raises(ValueError, match="not an open cell"):
        rate(board, brancher=lambda values, cand: (0, [1]))
    with pytest.raises(ValueError, match="candidates"):
        rate(board, brancher=lambda values, cand: (1, [2, 3]))  # drops digit 4
    with pytest.raises(ValueError, match="candidates"):
        rate(board, brancher=lambda values, cand: (1, [2, 3, 4, 1]))  # 1 is not a candidate


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.int8), np.full((4, 4), 5, np.int8)])
def test_rate_rejects_malformed_boards_and_limits(bad):
    with pytest.raises(ValueError):
        rate(bad)
    with pytest.raises(ValueError):
        rate(np.zeros((4, 4), np.int8), limit=0)


# --- generating hard puzzles ---------------------------------------------------------------------


def test_min_guesses_zero_is_the_plain_generator():
    a_rng, b_rng = np.random.default_rng(11), np.random.default_rng(11)
    a, b = generate(a_rng, 3), generate(b_rng, 3, min_guesses=0)
    assert np.array_equal(a.puzzle, b.puzzle) and a.difficulty == b.difficulty
    assert b.rating is None and b.draws == 1
    assert a_rng.integers(2**62) == b_rng.integers(2**62)  # the same use of the stream


def test_min_guesses_keeps_the_first_draw_that_rates_high_enough():
    gen = generate(np.random.default_rng(12), 3, min_guesses=60)
    r = rate(gen.puzzle)
    assert (gen.rating.guesses, gen.rating.backtracks) == (r.guesses, r.backtracks)
    assert gen.rating.guesses >= 60 and np.array_equal(gen.rating.solution, gen.solution)
    replay = np.random.default_rng(12)
    draws = [generate(replay, 3) for _ in range(gen.draws)]
    assert [rate(d.puzzle).guesses >= 60 for d in draws] == [False] * (gen.draws - 1) + [True]
    assert np.array_equal(draws[-1].puzzle, gen.puzzle)
    assert np.array_equal(draws[-1].solution, gen.solution)
    again = generate(np.random.default_rng(12), 3, min_guesses=60)
    assert np.array_equal(again.puzzle, gen.puzzle) and again.draws == gen.draws


def test_min_guesses_rejects_bad_values_and_gives_up_after_max_draws():
    rng = np.random.default_rng(0)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            generate(rng, 3, min_guesses=bad)
    with pytest.raises(ValueError, match="5 draws"):
        generate(rng, 2, min_guesses=1, max_draws=5)  # 4x4 puzzles need no guesses


def test_task_records_mrv_extras_only_when_asked():
    task = get_task("sudoku")
    spec = task.spec(9)
    plain = task.generate(np.random.default_rng(13), spec)
    assert sorted(plain.extra) == [
        "difficulty_clues", "difficulty_guesses", "difficulty_nodes", "difficulty_score",
        "difficulty_singles_only",
    ]  # fmt: skip
    hard = task.generate(np.random.default_rng(13), spec, min_guesses=30)
    r = rate(hard.puzzle)
    assert (hard.extra["mrv_guesses"], hard.extra["mrv_backtracks"]) == (r.guesses, r.backtracks)
    assert hard.extra["mrv_guesses"] >= 30 and hard.extra["mrv_draws"] >= 1
    assert set(plain.extra) < set(hard.extra)
    assert task.generator_meta(spec, {"clues": None}) == {
        "name": "puzzles.sudoku.generate_many", "box": 3, "clues": "minimal"
    }  # fmt: skip
    assert task.generator_meta(spec, {"clues": None, "min_guesses": 0}) == task.generator_meta(
        spec, {"clues": None}
    )
    assert task.generator_meta(spec, {"clues": None, "min_guesses": 30})["min_guesses"] == 30


def test_generate_many_passes_min_guesses_through_the_shared_driver():
    task = get_task("sudoku")
    spec = task.spec(9)
    one = generate_many(task, spec, 4, 77, workers=1, progress=False, min_guesses=25)
    two = generate_many(task, spec, 4, 77, workers=2, progress=False, min_guesses=25)
    puzzles, solutions, extra = one
    assert np.array_equal(puzzles, two[0]) and np.array_equal(solutions, two[1])
    assert all(np.array_equal(extra[k], two[2][k]) for k in extra)
    assert (extra["mrv_guesses"] >= 25).all()
    assert extra["mrv_guesses"].tolist() == [rate(p).guesses for p in puzzles]
    # puzzle k is the task's generate() on the k-th child of SeedSequence(seed)
    last = task.generate(
        np.random.default_rng(np.random.SeedSequence(77).spawn(4)[3]), spec, min_guesses=25
    )
    assert np.array_equal(last.puzzle, puzzles[3])
