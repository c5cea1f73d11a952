"""Rate a Sudoku by the guesses a plain MRV solver makes, the way Sudoku-Extreme rates puzzles by
a solver's backtrack count.

The plain rating (the default) is this solver, pinned by ``tests/puzzles/test_rating.py``:

* State: one candidate bitmask per cell (bit ``d - 1`` for digit ``d``), starting from the
  givens with their digits struck from every peer (row, column, box).
* Loop: take the open cell (not placed yet) with the fewest candidates, the lowest cell index
  on ties.

  - 0 candidates: a dead end; the search backtracks (one *backtrack*).
  - 1 candidate: the digit is placed and struck from the cell's peers. Forced, not a guess.
  - 2 or more: a *branch node*. Its candidates are tried in turn (ascending digit by default),
    each on a copy of the state; every value tried counts as one *guess*.

* Stop at the first solution (``limit=1``), or once ``limit`` solutions are found.

Forced placements never depend on the order they are made in (each only strikes digits, and a
dead end stays a dead end), so the solver runs them to a fixpoint first (naked singles) and
branches only when no open cell has fewer than 2 candidates. A branch node is therefore the
first open cell with the fewest candidates after the fixpoint.

``hidden=True`` adds hidden singles to the propagation: a digit with one place left in a row,
column or box is placed there (forced, not a guess), and a digit with no place left in a unit
is a dead end. Both ratings can be reported; the plain one is the default and the one stored in
generated datasets (``extra.mrv_guesses``).

Counts, for one run: ``nodes`` = 1 + ``guesses`` (the root plus every state a guess made);
each node is a dead end, a solution or a branch node, so ``nodes == backtracks + count +
branches``. A puzzle that propagation alone solves has 0 guesses, 0 backtracks, 1 node.

The branch cell and the order of its values are pluggable: ``brancher(values, candidates) ->
(cell, digits)`` is called at each branch node (see ``Brancher``); the solver's propagation
does the rest. The default is ``mrv`` (fewest candidates, lowest index, ascending digits);
``solution_first`` tries a known solution's digit first, which on a uniquely solvable puzzle
never backtracks and so gives the fewest guesses any value order can reach with MRV's cells.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from puzzles.sudoku_rules import (
    _box_of_n,
    _check_board,
    _digits,
    _Geometry,
    _geometry,
    _given_masks,
    _propagate,
    _propagate_naked,
)


@dataclass(frozen=True)
class Rating:
    """What one rating run found.

    solution: the first solution found, int8 (n, n), or None when there is none.
    count: solutions found, at most the ``limit`` asked for.
    guesses: values tried at branch nodes (the rating).
    backtracks: dead ends met (a contradiction at the root counts as one).
    branches: branch nodes (states where the solver had to guess).
    nodes: states examined, the root and one per guess (``1 + guesses``).
    """

    solution: np.ndarray | None
    count: int
    guesses: int
    backtracks: int
    branches: int
    nodes: int


class Brancher(Protocol):
    """Chooses where and how to guess at a branch node.

    Called with ``values`` (flat list of n*n digits, 0 for open cells) and ``candidates`` (flat
    list of candidate bitmasks, bit ``d - 1`` for digit ``d``; a placed cell holds its one
    bit); every open cell has at least 2 candidates. Returns ``(cell, digits)``: an open cell
    and all of its candidate digits (1..n) in the order to try them.
    """

    def __call__(self, values: list[int], candidates: list[int]) -> tuple[int, Sequence[int]]: ...


def mrv(values: list[int], candidates: list[int]) -> tuple[int, list[int]]:
    """The default brancher: the open cell with the fewest candidates (lowest index on ties),
    its digits ascending."""
    best, best_pop = -1, 99
    for i, m in enumerate(candidates):
        if not values[i]:
            k = m.bit_count()
            if k < best_pop:
                best, best_pop = i, k
    return best, _mask_digits(candidates[best])


def solution_first(solution) -> Brancher:
    """A brancher with ``mrv``'s cell that tries ``solution``'s digit (an (n, n) grid) first,
    then the others ascending. On a uniquely solvable puzzle it never backtracks, so its
    guesses equal its branch nodes: the fewest guesses any value order reaches with MRV cells."""
    target = np.asarray(solution).ravel().tolist()

    def choose(values: list[int], candidates: list[int]) -> tuple[int, list[int]]:
        cell, digits = mrv(values, candidates)
        d = target[cell]
        return cell, ([d] + [x for x in digits if x != d]) if d in digits else digits

    return choose


def _mask_digits(m: int) -> list[int]:
    """Digits of a candidate mask, ascending."""
    out = []
    while m:
        b = m & -m
        out.append(b.bit_length())
        m ^= b
    return out


class _Rater:
    """Depth-first search over propagated states, counting guesses, dead ends and branch
    nodes, stopping at ``limit`` solutions."""

    def __init__(self, g: _Geometry, hidden: bool, brancher: Brancher | None, limit: int):
        self.g = g
        self.propagate: Callable = _propagate if hidden else _propagate_naked
        self.brancher = brancher
        self.limit = limit
        self.count = 0
        self.first: list[int] | None = None
        self.guesses = 0
        self.backtracks = 0
        self.branches = 0

    def _choose(self, cand: list[int]) -> tuple[int, list[int]]:
        """(branch cell, candidate bits in the order to try); cell -1 when ``cand`` is solved."""
        if self.brancher is None:  # mrv, inlined: the hot path
            pop = self.g.pop
            best, best_pop = -1, 99
            for i, m in enumerate(cand):
                if m & (m - 1):
                    k = pop[m]
                    if k < best_pop:
                        best, best_pop = i, k
                        if k == 2:  # no open cell has fewer after the fixpoint
                            break
            if best < 0:
                return -1, []
            m = cand[best]
            bits = []
            while m:
                b = m & -m
                bits.append(b)
                m ^= b
            return best, bits
        if all(not m & (m - 1) for m in cand):
            return -1, []
        values = [0 if m & (m - 1) else m.bit_length() for m in cand]
        cell, digits = self.brancher(values, list(cand))
        if not 0 <= cell < len(cand) or values[cell]:
            raise ValueError(f"brancher chose cell {cell}, which is not an open cell")
        digits = [int(d) for d in digits]
        if sorted(digits) != _mask_digits(cand[cell]):
            raise ValueError(
                f"brancher gave digits {digits} for cell {cell}, whose candidates are "
                f"{_mask_digits(cand[cell])} (give each exactly once)"
            )
        return cell, [1 << (d - 1) for d in digits]

    def visit(self, cand: list[int], usolved: list[int]) -> None:
        """Search from a propagated state with no dead cell."""
        cell, bits = self._choose(cand)
        if cell < 0:  # every cell holds one digit: a solution
            self.count += 1
            if self.first is None:
                self.first = cand
            return
        self.branches += 1
        g = self.g
        propagate = self.propagate
        unit_bits = g.unit_bits[cell]
        for b in bits:
            self.guesses += 1
            c2 = cand[:]
            c2[cell] = b
            u2 = usolved[:]
            if propagate(c2, u2, [cell], unit_bits, g):
                self.visit(c2, u2)
                if self.count >= self.limit:
                    return
            else:
                self.backtracks += 1


def _root(values: list[int], g: _Geometry, hidden: bool):
    """Candidates of a flat board with the givens struck from their peers, propagated:
    (cand, usolved), or None on a contradiction (a repeated given or a dead end)."""
    masks = _given_masks(values, g)
    if masks is None:
        return None
    rows, cols, boxes = masks
    full = g.full
    row_of, col_of, box_of = g.row_of, g.col_of, g.box_of
    cand = [0] * g.cells
    stack = []
    for i, v in enumerate(values):
        if v:
            cand[i] = 1 << (v - 1)  # its digit is already out of its units' other cells
        else:
            m = full & ~(rows[row_of[i]] | cols[col_of[i]] | boxes[box_of[i]])
            if not m:
                return None
            cand[i] = m
            if not m & (m - 1):
                stack.append(i)
    usolved = rows + cols + boxes
    propagate = _propagate if hidden else _propagate_naked
    if not propagate(cand, usolved, stack, g.all_units, g):
        return None
    return cand, usolved


def rate(
    board, *, hidden: bool = False, brancher: Brancher | None = None, limit: int = 1
) -> Rating:
    """Rate ``board`` (n, n), n in {4, 9, 16}, 0 blank) with the MRV solver of this module.

    ``hidden``: also propagate hidden singles (default: naked singles only, the plain rating).
    ``brancher``: where and how to guess (default ``mrv``: fewest candidates, lowest index,
    ascending digits). ``limit``: stop after this many solutions (1 rates; 2 checks
    uniqueness, and then the counts include the search for a second solution).
    Raises ValueError on a malformed board or a brancher that breaks its contract.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    arr = _check_board(board)
    n = arr.shape[0]
    g = _geometry(_box_of_n(n))
    state = _root(arr.ravel().tolist(), g, hidden)
    if state is None:
        return Rating(None, 0, 0, 1, 0, 1)
    rater = _Rater(g, hidden, brancher, limit)
    rater.visit(*state)
    solution = None if rater.first is None else _digits(rater.first, n)
    return Rating(
        solution, rater.count, rater.guesses, rater.backtracks, rater.branches, 1 + rater.guesses
    )
