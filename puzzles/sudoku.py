"""Sudoku boards: an exact solver, a generator of uniquely solvable puzzles, a validator and
validity-preserving symmetries.

Boards are ``np.ndarray`` int8 of shape (n, n) with n = box**2 for box in {2, 3, 4} (4x4, 9x9,
16x16); 0 is a blank, 1..n are digits. Passing anything else is a programmer error and raises
``ValueError`` (user files are checked by ``puzzles.sudoku_text`` before they get here).

The solver works on Python ints used as bitmasks: cell ``i`` holds the set of digits it may still
take, bit ``d - 1`` for digit ``d``. Each search node propagates naked singles (a cell with one
candidate removes it from its peers) and hidden singles (a digit with one place left in a row,
column or box goes there) to a fixpoint, then branches on a cell with the fewest candidates (MRV).
Counting stops at ``limit`` solutions, so ``limit=2`` is a uniqueness test.

The generator draws a complete grid by randomized search (random digits in the diagonal boxes,
then the solver trying candidates in random order), then visits the cells in random order and
removes each clue whose removal keeps the solution unique. Removing clue ``v`` at cell ``c``
keeps the puzzle unique exactly when no solution has a digit other than ``v`` at ``c``, so each
test is one search with ``v`` struck from ``c``'s candidates that stops at the first solution
found. A clue that must stay never becomes removable later (fewer clues only allow more
solutions), so each cell is tested once. Most tests never reach the search: the cell is a naked
or hidden single among the remaining clues (removable), or it is the last clue left in one of
the grid's unavoidable sets (needed). See ``benchmarks/bench_sudoku_generate.py`` for speed.
``generate(..., min_guesses=N)`` keeps drawing puzzles until one needs N guesses or more of the
plain MRV rating (``puzzles.rating``); ``benchmarks/make_hard_sets.py`` writes such sets.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from puzzles import sudoku_text
from puzzles.argtypes import nonneg_int
from puzzles.generate import generate_many as _generate_many
from puzzles.options import option
from puzzles.rating import Rating, rate
from puzzles.sudoku_rules import (
    BOXES,
    SIZES,
    _box_of_n,
    _check_board,
    _digits,
    _Geometry,
    _geometry,
    _given_masks,
    _propagate,
    _propagate_naked,
)
from puzzles.task import Generated as TaskGenerated
from puzzles.task import PartialCheck, Task, TaskSpec, register_task


def _initial_state(
    cand: list[int],
    blanks: Sequence[int],
    rows: list[int],
    cols: list[int],
    boxes: list[int],
    g: _Geometry,
    exclude: tuple[int, int] | None = None,
):
    """Fill in the candidates of the ``blanks`` and propagate. None on a contradiction.

    ``cand`` holds the givens' bits already (it is modified); ``rows/cols/boxes`` are the
    given-digit masks per unit, consistent. ``exclude=(cell, bit)`` also strikes one candidate
    from a blank cell. Returns (cand, usolved).
    """
    full = g.full
    row_of, col_of, box_of = g.row_of, g.col_of, g.box_of
    stack = []
    for i in blanks:
        m = full & ~(rows[row_of[i]] | cols[col_of[i]] | boxes[box_of[i]])
        cand[i] = m
        if not m & (m - 1):
            if not m:
                return None
            stack.append(i)
    if exclude is not None:
        cell, bit = exclude
        m = cand[cell] & ~bit
        if not m:
            return None
        cand[cell] = m
        if not m & (m - 1):
            stack.append(cell)
    usolved = rows + cols + boxes
    if not _propagate(cand, usolved, stack, g.all_units, g):
        return None
    return cand, usolved


def _board_state(values: Sequence[int], g: _Geometry):
    """Propagated (cand, usolved) of a flat board, or None when it has no solution."""
    masks = _given_masks(values, g)
    if masks is None:
        return None
    cand = [1 << (v - 1) if v else 0 for v in values]
    blanks = [i for i, v in enumerate(values) if not v]
    return _initial_state(cand, blanks, *masks, g)


class _Search:
    """Depth-first search over propagated states, counting solutions up to ``limit``.

    ``order(cell, mask) -> list of bits`` gives the value order at a branch (default: low digit
    first). ``max_nodes`` aborts the search (``aborted`` set) for randomized restarts.
    ``hidden=False`` propagates only naked singles below the root.
    """

    def __init__(
        self,
        g: _Geometry,
        limit: int,
        order=None,
        max_nodes: int | None = None,
        hidden: bool = True,
    ):
        self.g = g
        self.propagate = _propagate if hidden else _propagate_naked
        self.limit = limit
        self.order = order
        self.max_nodes = max_nodes
        self.count = 0
        self.first: list[int] | None = None
        self.nodes = 0
        self.guesses = 0
        self.aborted = False

    def run(self, cand: list[int], usolved: list[int]) -> None:
        self.nodes += 1
        self._visit(cand, usolved)

    def _visit(self, cand: list[int], usolved: list[int]) -> None:
        # Most constrained unsolved cell (fewest candidates), first in index order on ties.
        pop = self.g.pop
        best = -1
        best_pop = 99
        for i, m in enumerate(cand):
            if m & (m - 1):
                k = pop[m]
                if k < best_pop:
                    best, best_pop = i, k
                    if k == 2:
                        break
        if best < 0:  # every cell holds one digit: a solution
            self.count += 1
            if self.first is None:
                self.first = cand
            return
        self.guesses += 1
        m = cand[best]
        if self.order is None:
            bits = []
            while m:
                b = m & -m
                bits.append(b)
                m ^= b
        else:
            bits = self.order(best, m)
        g = self.g
        for b in bits:
            if self.max_nodes is not None and self.nodes >= self.max_nodes:
                self.aborted = True
                return
            self.nodes += 1
            c2 = cand[:]
            c2[best] = b
            u2 = usolved[:]
            if self.propagate(c2, u2, [best], g.unit_bits[best], g):
                self._visit(c2, u2)
                if self.count >= self.limit or self.aborted:
                    return


# --- public solver ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SolveResult:
    """What the exact solver found.

    count: solutions found, at most the ``limit`` asked for (0 = none, 1 = unique when
        ``limit >= 2``).
    solution: the first solution found, int8 (n, n), or None when there is none.
    nodes: search states examined (the root plus every value tried at a branch).
    guesses: branch points, i.e. times propagation stalled and the search had to guess.
    """

    count: int
    solution: np.ndarray | None
    nodes: int
    guesses: int


def solve(board, limit: int = 2) -> SolveResult:
    """Solve ``board`` (n, n) exactly, counting solutions up to ``limit`` (>= 1).

    Givens that repeat a digit in a row, column or box give ``count == 0``.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    arr = _check_board(board)
    n = arr.shape[0]
    g = _geometry(_box_of_n(n))
    state = _board_state(arr.ravel().tolist(), g)
    if state is None:
        return SolveResult(0, None, 1, 0)
    search = _Search(g, limit)
    search.run(*state)
    solution = None if search.first is None else _digits(search.first, n)
    return SolveResult(search.count, solution, search.nodes, search.guesses)


def is_unique(board) -> bool:
    """True when ``board`` has exactly one solution."""
    return solve(board, limit=2).count == 1


def _random_order(rng: np.random.Generator):
    def order(cell: int, m: int) -> list[int]:
        bits = []
        while m:
            b = m & -m
            bits.append(b)
            m ^= b
        return [bits[k] for k in rng.permutation(len(bits))]

    return order


def random_grid(rng: np.random.Generator, box: int = 3) -> np.ndarray:
    """A complete valid grid int8 (n, n) drawn by randomized search.

    The boxes on the main diagonal share no row, column or box, so each gets an independent
    random permutation of the digits; the solver then completes the grid trying the candidates
    of each branch cell in random order. A run that takes more than ``20 * n * n`` nodes (rare,
    16x16 only) restarts with fresh random choices.
    """
    if box not in BOXES:
        raise ValueError(f"box must be one of {BOXES}, got {box}")
    g = _geometry(box)
    n = g.n
    order = _random_order(rng)
    while True:
        values = [0] * g.cells
        for k in range(box):
            unit = g.units[2 * n + k * box + k]  # diagonal box k
            for cell, digit in zip(unit, (1 + rng.permutation(n)).tolist(), strict=True):
                values[cell] = digit
        state = _board_state(values, g)
        if state is None:  # cannot happen for diagonal boxes; kept for safety
            continue
        search = _Search(g, limit=1, order=order, max_nodes=20 * g.cells, hidden=False)
        search.run(*state)
        if search.first is not None:
            return _digits(search.first, n)


# --- generator --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difficulty:
    """Difficulty of one puzzle, measured by the exact solver's uniqueness run (``limit=2``).

    nodes, guesses: the solver's ``SolveResult.nodes`` and ``.guesses``.
    singles_only: naked and hidden singles alone solve the puzzle (no guess needed).
    clues: number of givens.
    score: ``guesses + blanks / cells``: the integer part counts the solver's guesses, the
        fractional part (the share of blank cells) orders puzzles with equal guesses.
        A singles-only puzzle scores below 1.
    """

    nodes: int
    guesses: int
    singles_only: bool
    clues: int
    score: float


@dataclass(frozen=True)
class Generated:
    """A generated puzzle (int8 (n, n)), its unique solution and its difficulty.

    rating: its plain MRV rating (``puzzles.rating.rate``) when ``generate`` was asked for
        ``min_guesses > 0``, else None (not computed).
    draws: puzzles drawn to get this one (1 unless ``min_guesses`` rejected some).
    """

    puzzle: np.ndarray
    solution: np.ndarray
    difficulty: Difficulty
    rating: Rating | None = None
    draws: int = 1


def difficulty(puzzle) -> Difficulty:
    """Difficulty of a uniquely solvable ``puzzle`` (see ``Difficulty``)."""
    arr = _check_board(puzzle, "puzzle")
    res = solve(arr, limit=2)
    if res.count != 1:
        raise ValueError(f"puzzle has {'no' if res.count == 0 else 'several'} solutions")
    clues = int(np.count_nonzero(arr))
    cells = arr.size
    return Difficulty(
        nodes=res.nodes,
        guesses=res.guesses,
        singles_only=res.guesses == 0,
        clues=clues,
        score=res.guesses + (cells - clues) / cells,
    )


# Child nodes per removal test that propagate naked singles only. Another solution, when there
# is one, is usually found within a few nodes, and there full propagation costs more than it
# saves; searches that run longer (proofs, 16x16) switch to naked + hidden singles.
_NAKED_NODES = 16


def _completes_elsewhere(
    cand: list[int],
    usolved: list[int],
    blanks: list[int],
    sbits: list[int],
    g: _Geometry,
    budget: list[int],
    fixpoint: bool = True,
) -> bool:
    """Search a propagated state for any solution; ``sbits`` is a known solution's bits and
    ``blanks`` the cells that were blank at the root (the others are givens).

    Shortcut: when every unsolved cell still admits its digit of the known solution, the
    singles plus those digits form a valid grid (propagation removed every placed digit from
    its peers, and the known solution never repeats a digit among peers), so a solution exists
    without searching further. Branches try the known solution's digit first, because another
    solution usually differs from it in only a few cells. ``budget[0]`` counts down the
    naked-singles-only nodes left (see ``_NAKED_NODES``); ``fixpoint`` says whether ``cand``
    is closed under hidden singles too.
    """
    pop = g.pop
    best = -1
    best_pop = 99
    completes = True
    for i in blanks:
        m = cand[i]
        if m & (m - 1):
            if completes and not m & sbits[i]:
                completes = False
            k = pop[m]
            if k < best_pop:
                best, best_pop = i, k
    if completes:
        return True
    m = cand[best]
    sb = m & sbits[best]
    if sb:
        m ^= sb
        bits = [sb]
    else:
        bits = []
    while m:
        b = m & -m
        bits.append(b)
        m ^= b
    for b in bits:
        c2 = cand[:]
        c2[best] = b
        u2 = usolved[:]
        if budget[0] > 0:
            budget[0] -= 1
            ok = _propagate_naked(c2, u2, [best], 0, g)
            exact = False
        else:
            # Units of the branch cell, or all units when the parent skipped hidden singles.
            ok = _propagate(c2, u2, [best], g.unit_bits[best] if fixpoint else g.all_units, g)
            exact = True
        if ok and _completes_elsewhere(c2, u2, blanks, sbits, g, budget, exact):
            return True
    return False


def _has_other_solution(
    values: list[int],
    blanks: list[int],
    rows: list[int],
    cols: list[int],
    boxes: list[int],
    cell: int,
    sbits: list[int],
    g: _Geometry,
) -> bool:
    """Does the puzzle ``values`` have a solution other than ``sbits`` at the blank ``cell``?

    ``blanks`` lists the blank cells of ``values`` (``cell`` among them), ``rows/cols/boxes``
    its given-digit masks, ``sbits`` the known solution as one bit per cell.
    """
    bit = sbits[cell]
    row_of, col_of, box_of = g.row_of, g.col_of, g.box_of
    # Fast path 1: the digits the cell sees leave it nothing but its own (naked single).
    if not g.full & ~(rows[row_of[cell]] | cols[col_of[cell]] | boxes[box_of[cell]] | bit):
        return False
    # Fast path 2: in one of its units no other blank cell can take the digit (hidden single).
    for u in g.cell_units[cell]:
        for c in g.units[u]:
            if (
                c != cell
                and not values[c]
                and not (rows[row_of[c]] | cols[col_of[c]] | boxes[box_of[c]]) & bit
            ):
                break
        else:
            return False
    state = _initial_state(sbits[:], blanks, rows, cols, boxes, g, exclude=(cell, bit))
    if state is None:
        return False
    return _completes_elsewhere(*state, blanks, sbits, g, [_NAKED_NODES])


def _unavoidable_sets(values: list[int], g: _Geometry) -> list[tuple[int, ...]]:
    """Some unavoidable sets of the complete grid ``values`` (flat digits), as cell tuples.

    A set is unavoidable when its digits can be rearranged into another valid grid; every
    uniquely solvable puzzle with this solution keeps a clue in each one. Two cheap families:

    * two lines (rows, or columns) of one band: positions where both lines hold the same
      digits as sets can swap between the lines; the cycles of "where does line i's digit sit
      in line j" are the smallest such position sets (a 2-cycle is the 4-cell rectangle);
    * two digits a, b: swap a and b in a group of rows closed under "the row holding b in the
      column, or in the box, of this row's a" (so every row, column and box either swaps both
      of its a/b cells or neither).
    """
    n, box = g.n, g.box
    found: set[tuple[int, ...]] = set()
    for lines in (g.units[:n], g.units[n : 2 * n]):  # rows, then columns
        for band in range(box):
            for i in range(band * box, band * box + box):
                line_i = lines[i]
                for j in range(i + 1, band * box + box):
                    line_j = lines[j]
                    where_j = [0] * (n + 1)
                    for k, cell in enumerate(line_j):
                        where_j[values[cell]] = k
                    seen = [False] * n
                    for k0 in range(n):
                        if seen[k0]:
                            continue
                        cycle = []
                        k = k0
                        while not seen[k]:
                            seen[k] = True
                            cycle.append(k)
                            k = where_j[values[line_i[k]]]
                        if len(cycle) < n:
                            found.add(
                                tuple(
                                    sorted([line_i[k] for k in cycle] + [line_j[k] for k in cycle])
                                )
                            )
    # For each digit: its cell and column and box in every row, its row in every column / box.
    cell_in_row = [[0] * n for _ in range(n + 1)]
    col_in_row = [[0] * n for _ in range(n + 1)]
    box_in_row = [[0] * n for _ in range(n + 1)]
    row_in_col = [[0] * n for _ in range(n + 1)]
    row_in_box = [[0] * n for _ in range(n + 1)]
    for cell, d in enumerate(values):
        r, c, x = g.row_of[cell], g.col_of[cell], g.box_of[cell]
        cell_in_row[d][r] = cell
        col_in_row[d][r] = c
        box_in_row[d][r] = x
        row_in_col[d][c] = r
        row_in_box[d][x] = r
    for a in range(1, n + 1):
        cells_a, cols_a, boxes_a = cell_in_row[a], col_in_row[a], box_in_row[a]
        for b in range(a + 1, n + 1):
            cells_b, col_rows_b, box_rows_b = cell_in_row[b], row_in_col[b], row_in_box[b]
            # Orbits of the rows under "row of b in the column / box of this row's a".
            seen = [False] * n
            for r0 in range(n):
                if seen[r0]:
                    continue
                seen[r0] = True
                todo = [r0]
                cells = []
                while todo:
                    r = todo.pop()
                    cells.append(cells_a[r])
                    cells.append(cells_b[r])
                    for nxt in (col_rows_b[cols_a[r]], box_rows_b[boxes_a[r]]):
                        if not seen[nxt]:
                            seen[nxt] = True
                            todo.append(nxt)
                found.add(tuple(sorted(cells)))
    return sorted(found)


def generate(
    rng: np.random.Generator,
    box: int = 3,
    clues: int | None = None,
    min_guesses: int = 0,
    max_draws: int = 100_000,
) -> Generated:
    """A uniquely solvable puzzle with its solution and difficulty, drawn only from ``rng``.

    A random complete grid (``random_grid``) loses clues one at a time, cells visited in random
    order, each removal kept only if the solution stays unique. With ``clues=None`` every cell
    is tried once, so the result is minimal: removing any remaining clue gives several
    solutions. With ``clues=N`` the removal stops as soon as N clues remain; when the random
    order reaches a minimal puzzle with more than N clues first, that puzzle (the closest this
    grid and order allow) is returned, so ``difficulty.clues >= N`` always.

    ``min_guesses > 0``: draw such puzzles one after another from ``rng`` until one needs at
    least ``min_guesses`` guesses of the plain MRV rating (``puzzles.rating.rate``), and return
    it with that ``rating`` and the number of ``draws``; ValueError after ``max_draws`` draws
    without one (4x4 puzzles: none of the uniquely solvable ones we tried needs a guess).
    ``min_guesses=0`` (default) returns the first puzzle drawn, unrated: the same puzzle and
    the same use of ``rng`` as before the option existed.

    Speed: a few ms for a minimal 9x9 puzzle; a minimal 16x16 one takes seconds (its late
    removal tests need long searches), a 16x16 one with ``clues=150`` tens of ms. With
    ``min_guesses`` multiply by the draws needed (``benchmarks/make_hard_sets.py`` measures).
    """
    if isinstance(min_guesses, bool) or int(min_guesses) != min_guesses or min_guesses < 0:
        raise ValueError(f"min_guesses must be a whole number >= 0, got {min_guesses}")
    if min_guesses == 0:
        return _generate_one(rng, box, clues)
    for draws in range(1, max_draws + 1):
        gen = _generate_one(rng, box, clues)
        rating = rate(gen.puzzle)
        if rating.guesses >= min_guesses:
            return dataclasses.replace(gen, rating=rating, draws=draws)
    raise ValueError(
        f"no puzzle in {max_draws} draws needed {min_guesses} or more plain MRV guesses"
    )


def _generate_one(rng: np.random.Generator, box: int, clues: int | None) -> Generated:
    """One puzzle for ``generate`` (see there), unrated."""
    if box not in BOXES:
        raise ValueError(f"box must be one of {BOXES}, got {box}")
    g = _geometry(box)
    if clues is not None and not 0 <= clues <= g.cells:
        raise ValueError(f"clues must lie in 0..{g.cells}, got {clues}")
    solution = random_grid(rng, box)
    values = solution.ravel().tolist()
    sbits = [1 << (v - 1) for v in values]
    n = g.n
    rows = [g.full] * n
    cols = [g.full] * n
    boxes = [g.full] * n
    row_of, col_of, box_of = g.row_of, g.col_of, g.box_of
    # Unavoidable sets of the grid: a puzzle whose clues miss one has a second solution, so
    # the last clue left in a set can never go (a shortcut that skips the solver).
    cell_sets: list[list[int]] = [[] for _ in range(g.cells)]
    set_clues: list[int] = []  # clues still inside each set
    for k, cells in enumerate(_unavoidable_sets(values, g)):
        set_clues.append(len(cells))
        for cell in cells:
            cell_sets[cell].append(k)
    blanks: list[int] = []
    remaining = g.cells
    for cell in rng.permutation(g.cells).tolist():
        if clues is not None and remaining <= clues:
            break
        sets = cell_sets[cell]
        for k in sets:
            if set_clues[k] == 1:
                break  # last clue of an unavoidable set: needed
        else:
            bit = sbits[cell]
            r, c, x = row_of[cell], col_of[cell], box_of[cell]
            keep = ~bit
            rows[r] &= keep
            cols[c] &= keep
            boxes[x] &= keep
            v = values[cell]
            values[cell] = 0
            blanks.append(cell)
            if _has_other_solution(values, blanks, rows, cols, boxes, cell, sbits, g):
                values[cell] = v  # needed: put it back
                blanks.pop()
                rows[r] |= bit
                cols[c] |= bit
                boxes[x] |= bit
            else:
                remaining -= 1
                for k in sets:
                    set_clues[k] -= 1
    puzzle = np.array(values, dtype=np.int8).reshape(n, n)
    return Generated(puzzle, solution, difficulty(puzzle))


def generate_many(
    count: int,
    seed: int,
    box: int = 3,
    clues: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, list[Difficulty]]:
    """Generate ``count`` puzzles in parallel, reproducibly (``puzzles.generate.generate_many``).

    Puzzle k is drawn from its own generator seeded by ``SeedSequence(seed).spawn(count)[k]``,
    so the output depends only on (count, seed, box, clues), never on ``workers`` (default: all
    usable cores). Returns puzzles int8 (N, n, n), solutions int8 (N, n, n) and one
    ``Difficulty`` per puzzle.
    """
    if box not in BOXES:
        raise ValueError(f"box must be one of {BOXES}, got {box}")
    puzzles, solutions, extra = _generate_many(
        TASK, TASK.spec(box * box), count, seed, workers=workers, progress=progress, clues=clues
    )
    fields = [f.name for f in dataclasses.fields(Difficulty)]
    columns = [extra[f"difficulty_{f}"].tolist() for f in fields] if count else []
    difficulties = [Difficulty(*row) for row in zip(*columns, strict=True)]
    return puzzles, solutions, difficulties


# --- validator --------------------------------------------------------------------------------


def check_answer(puzzle, answer) -> str | None:
    """None when ``answer`` is a complete valid grid that keeps every given of ``puzzle``.

    Otherwise a short reason naming the first failure found (1-based positions), checked in
    this order: "r3c5 changes given 7", "r1c1 is blank", "r2c4 holds 12, not a digit 1..9",
    "row 2 repeats 7", "column 5 repeats 3", "box 4 repeats 1" (boxes numbered row-major).
    """
    puz = _check_board(puzzle, "puzzle")
    ans = np.asarray(answer)
    if ans.shape != puz.shape:
        raise ValueError(f"answer shape {ans.shape} differs from puzzle shape {puz.shape}")
    if ans.dtype.kind not in "iu":
        raise ValueError(f"answer must hold integers, got dtype {ans.dtype}")
    ans = ans.astype(np.int64)
    n = puz.shape[0]
    box = _box_of_n(n)
    changed = np.argwhere((puz != 0) & (ans != puz))
    if len(changed):
        r, c = changed[0]
        return f"r{r + 1}c{c + 1} changes given {puz[r, c]}"
    blank = np.argwhere(ans == 0)
    if len(blank):
        r, c = blank[0]
        return f"r{r + 1}c{c + 1} is blank"
    bad = np.argwhere((ans < 0) | (ans > n))
    if len(bad):
        r, c = bad[0]
        return f"r{r + 1}c{c + 1} holds {ans[r, c]}, not a digit 1..{n}"
    boxes = ans.reshape(box, box, box, box).transpose(0, 2, 1, 3).reshape(n, n)  # (box id, cell)
    for kind, lines in (("row", ans), ("column", ans.T), ("box", boxes)):
        for k, line in enumerate(lines):
            counts = np.bincount(line, minlength=n + 1)
            if counts.max() > 1:
                return f"{kind} {k + 1} repeats {int(np.argmax(counts > 1))}"
    return None


# --- symmetries -------------------------------------------------------------------------------


def symmetry_permutation(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """One random validity-preserving transform of an n x n Sudoku, as index arrays.

    Rows are permuted within each band and the bands among themselves, the same for columns,
    the result is transposed with probability 1/2, and digits 1..n are relabeled. Returns
    ``cell_perm`` int64 (n*n,) and ``digit_perm`` int64 (n+1,) with ``digit_perm[0] == 0`` such
    that ``new_flat = digit_perm[old_flat[cell_perm]]`` for any row-major flat board (blanks
    stay blank). Works on any leading batch axes: ``digit_perm[tokens[..., cell_perm]]``.
    """
    box = _box_of_n(n)

    def line_order() -> np.ndarray:
        bands = rng.permutation(box)
        return np.concatenate([band * box + rng.permutation(box) for band in bands])

    rows = line_order()  # new row i is old row rows[i]
    cols = line_order()  # new column j is old column cols[j]
    cell_perm = (rows[:, None] * n + cols[None, :]).astype(np.int64)  # (n, n) old flat index
    if rng.random() < 0.5:
        cell_perm = cell_perm.T
    digit_perm = np.concatenate([[0], 1 + rng.permutation(n)]).astype(np.int64)  # (n+1,)
    return cell_perm.ravel().copy(), digit_perm


def random_symmetry(rng: np.random.Generator, *boards) -> tuple[np.ndarray, ...]:
    """Apply one random validity-preserving transform (see ``symmetry_permutation``) to every
    board in ``boards`` (all (n, n), same n) and return the transformed int8 boards in order.

    Use it on a puzzle and its solution together so they stay matched.
    """
    if not boards:
        raise ValueError("random_symmetry needs at least one board")
    arrs = [_check_board(b) for b in boards]
    n = arrs[0].shape[0]
    if any(a.shape != (n, n) for a in arrs):
        raise ValueError("all boards must have the same shape")
    cell_perm, digit_perm = symmetry_permutation(rng, n)
    return tuple(digit_perm[a.ravel()[cell_perm]].reshape(n, n).astype(np.int8) for a in arrs)


# --- the task ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SudokuOptions:
    """Random complete grids, then clue removal that keeps the solution unique (minimal
    puzzles unless --clues). Stores each puzzle's difficulty in .npz files."""

    size: int = option(9, help="grid side n", type=int, choices=SIZES)
    clues: int | None = option(
        None, help="stop removing clues at this many givens", type=int,
        shown="remove until minimal",
    )  # fmt: skip
    min_guesses: int = option(
        0, type=nonneg_int, metavar="N",
        help="keep drawing puzzles until one needs at least N guesses of the plain MRV solver "
        "(puzzles.rating; stored as extra.mrv_guesses); 0: the first puzzle drawn",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"--size must be 4, 9 or 16, got {self.size}")
        n = self.size
        if self.clues is not None and not 0 <= self.clues <= n * n:
            raise ValueError(
                f"--clues must lie in 0..{n * n} for a {n}x{n} Sudoku, got {self.clues}"
            )


class SudokuTask(Task):
    """Sudoku as a ``puzzles.task.Task``: n x n boards (n = 4, 9, 16), 0 blank, digits 1..n;
    tokens digit - 1, mask id n."""

    name = "sudoku"
    title = "Sudoku"
    size_help = "grid side n: 4, 9 or 16"
    default_size = 9
    token_offset = 1
    blank = 0
    max_code = 16
    suffixes = (".txt", ".csv")
    generators = ("minimal",)
    seed_chunk = 1  # one random stream per puzzle (the datasets in benchmarks/data rely on it)
    Options = SudokuOptions

    def spec(self, size: int) -> TaskSpec:
        if isinstance(size, bool) or size not in SIZES:
            raise ValueError(f"Sudoku size must be 4, 9 or 16, got {size}")
        return TaskSpec("sudoku", size, size, num_values=size, mask_id=size, vocab_size=size + 1)

    def size_of(self, height: int, width: int) -> int:
        if height != width or height not in SIZES:
            raise ValueError(f"{height}x{width} is not a 4x4, 9x9 or 16x16 Sudoku")
        return int(height)

    def vocabulary(self, spec: TaskSpec) -> list[str]:
        return [*("123456789ABCDEFG"[: spec.num_values]), "mask"]

    def generator_meta(self, spec: TaskSpec, options: dict) -> dict:
        clues = options.get("clues")
        meta = {
            "name": "puzzles.sudoku.generate_many",
            "box": _box_of_n(spec.height),
            "clues": clues if clues is not None else "minimal",
        }
        if options.get("min_guesses"):  # absent otherwise: older files keep their bytes
            meta["min_guesses"] = int(options["min_guesses"])
            meta["rating"] = "puzzles.rating.rate: plain MRV, guesses = values tried"
        return meta

    def generate(
        self,
        rng: np.random.Generator,
        spec: TaskSpec,
        clues: int | None = None,
        min_guesses: int = 0,
    ):
        """One puzzle (``generate``). Extras: ``difficulty_*`` always; with ``min_guesses > 0``
        also ``mrv_guesses`` and ``mrv_backtracks`` (its plain MRV rating) and ``mrv_draws``
        (puzzles drawn to find it)."""
        gen = generate(rng, _box_of_n(spec.height), clues, min_guesses=min_guesses)
        extra = {f"difficulty_{k}": v for k, v in dataclasses.asdict(gen.difficulty).items()}
        if gen.rating is not None:
            extra["mrv_guesses"] = gen.rating.guesses
            extra["mrv_backtracks"] = gen.rating.backtracks
            extra["mrv_draws"] = gen.draws
        return TaskGenerated(gen.puzzle, gen.solution, extra)

    def random_example(self, rng: np.random.Generator, spec: TaskSpec):
        grid = random_grid(rng, _box_of_n(spec.height))
        return np.zeros_like(grid), grid

    def sniff(self, text: str) -> bool:
        return sudoku_text.looks_like_sudoku(text)

    def parse(self, text: str, path: str, *, answers: bool = False):
        return sudoku_text.parse_sudoku_records(text, path, check_repeats=not answers)

    def format_text(self, boards: np.ndarray) -> str:
        return sudoku_text.format_sudoku_text(boards)

    def check_boards(self, boards: np.ndarray, path: str, what: str) -> None:
        """Integer n x n grids within 0..n (a 9x9 file holding a 12 is refused)."""
        super().check_boards(boards, path, what)
        n = boards.shape[1]
        if boards.size and boards.max() > n:
            from puzzles.errors import UnmaskError

            raise UnmaskError(f"{path}: {what} hold values outside 0..{n} for {n}x{n} Sudoku")

    def check_answer(self, puzzle, answer) -> str | None:
        return check_answer(puzzle, answer)

    def solve(self, puzzle) -> np.ndarray | None:
        return solve(puzzle, limit=1).solution

    def partial_check(self, spec: TaskSpec, tokens):
        """Conflicts: a revealed digit that a peer (row, column or box) also holds, both cells
        flagged. Allowed at a masked cell: the digits no revealed peer holds, and, when the cell
        is the last place of a digit in one of its units, that digit only (a hidden single).
        Broken: a unit where some digit has neither a cell holding it nor a place left."""
        import torch

        n = spec.num_values
        units = _unit_table(n, tokens.device)  # (L, 3) unit ids of each cell
        member = _membership(n, tokens.device)  # (3n, L) float
        masked = tokens == spec.mask_id  # (B, L)
        digit = tokens.clamp(max=n - 1)  # (B, L)
        onehot = torch.nn.functional.one_hot(digit, n) & ~masked.unsqueeze(-1)  # (B, L, n)
        counts = torch.einsum("ul,bld->bud", member, onehot.float())  # (B, 3n, n) digits/unit
        seen = counts[:, units]  # (B, L, 3, n): counts in each of the cell's units
        dup = seen.gather(-1, digit[:, :, None, None].expand(-1, -1, 3, 1)).squeeze(-1) > 1
        conflict = dup.any(-1) & ~masked  # (B, L)
        free = (seen == 0).all(2) & masked.unsqueeze(-1)  # (B, L, n) no peer holds the digit
        places = torch.einsum("ul,bld->bud", member, free.float())  # (B, 3n, n)
        missing = counts == 0  # (B, 3n, n) digits a unit does not hold yet
        broken = (missing & (places == 0)).any(2).any(1)  # (B,)
        last = missing & (places == 1)  # (B, 3n, n) a digit with one place left in the unit
        forced = last[:, units].any(2) & free  # (B, L, n) this cell is that place
        n_forced = forced.sum(-1, keepdim=True)  # (B, L, 1)
        allowed = free & ((n_forced == 0) | (forced & (n_forced == 1)))
        allowed = allowed | ~masked.unsqueeze(-1)
        return PartialCheck(masked, conflict, allowed, broken)

    def symmetry_key(self, board: np.ndarray) -> bytes:
        """Under the training symmetries (rows within bands, bands, the same for columns,
        transpose, digit relabelling): for 4x4 boards the canonical form (the smallest of the
        128 cell permutations, digits renamed in order of first appearance); for 9x9 and 16x16
        an invariant (per given: its row, column, box, band and stack counts, its digit's count
        overall and in its band and stack; sorted, the smaller of the board and its transpose)."""
        b = np.asarray(board, dtype=np.int64)
        n = b.shape[0]
        if n == 4:
            return min(_relabel(b.ravel()[perm]).tobytes() for perm in _cell_perms_4x4())
        return min(_invariant(b), _invariant(b.T))

    def symmetry_pool(self, rng: np.random.Generator, spec: TaskSpec, size: int):
        n = spec.num_values
        pool = [symmetry_permutation(rng, n) for _ in range(size)]
        cells = np.stack([c for c, _ in pool])  # (P, L) old flat index of each new cell
        # digit relabel on tokens (token = digit - 1); the mask id maps to itself
        relabel = np.stack([np.concatenate([d[1:] - 1, [n]]) for _, d in pool])  # (P, n+1)
        return cells, relabel


@functools.cache
def _cell_perms_4x4() -> tuple[np.ndarray, ...]:
    """The 128 cell permutations of 4x4 Sudoku's symmetries (digit relabelling aside)."""
    import itertools

    lines = []
    for bands in itertools.permutations((0, 1)):
        for a in itertools.permutations((0, 1)):
            for c in itertools.permutations((0, 1)):
                inner = (a, c)
                lines.append(
                    [2 * band + inner[i][k] for i, band in enumerate(bands) for k in (0, 1)]
                )
    perms = []
    for rows in lines:
        for cols in lines:
            grid = np.array([[r * 4 + c for c in cols] for r in rows])
            perms += [grid.ravel(), grid.T.ravel()]
    return tuple(perms)


def _relabel(flat: np.ndarray) -> np.ndarray:
    """Digits renamed 1, 2, ... in order of first appearance (blanks stay 0), int8."""
    names = {}
    out = np.zeros(len(flat), dtype=np.int8)
    for i, v in enumerate(flat.tolist()):
        if v:
            out[i] = names.setdefault(v, len(names) + 1)
    return out


def _invariant(b: np.ndarray) -> bytes:
    n = b.shape[0]
    box = int(round(n**0.5))
    given = b > 0
    rows, cols = given.sum(1), given.sum(0)
    band = given.reshape(box, box, n).sum((1, 2))  # clues per band
    stack = given.reshape(n, box, box).sum((0, 2))  # clues per stack
    boxes = given.reshape(box, box, box, box).sum((1, 3))  # (band, stack)
    freq = np.bincount(b[given], minlength=n + 1)
    per_band = np.zeros((box, n + 1), dtype=np.int64)  # digit counts per band and per stack
    per_stack = np.zeros((box, n + 1), dtype=np.int64)
    for r, c in zip(*np.nonzero(given), strict=True):
        per_band[r // box, b[r, c]] += 1
        per_stack[c // box, b[r, c]] += 1
    cells = sorted(
        (int(rows[r]), int(cols[c]), int(boxes[r // box, c // box]), int(band[r // box]),
         int(stack[c // box]), int(freq[b[r, c]]), int(per_band[r // box, b[r, c]]),
         int(per_stack[c // box, b[r, c]]))
        for r, c in zip(*np.nonzero(given), strict=True)
    )  # fmt: skip
    return repr(cells).encode()


@functools.cache
def _unit_table(n: int, device):
    import torch

    g = _geometry(_box_of_n(n))
    return torch.tensor(g.cell_units, dtype=torch.long, device=device)  # (L, 3)


@functools.cache
def _membership(n: int, device):
    import torch

    g = _geometry(_box_of_n(n))
    member = torch.zeros(3 * n, n * n)
    for u, cells in enumerate(g.units):
        member[u, list(cells)] = 1.0
    return member.to(device)  # (3n, L)


TASK = register_task(SudokuTask())
