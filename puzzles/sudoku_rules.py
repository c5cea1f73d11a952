"""Sudoku's rules as bit arithmetic: the index tables of one board size, the board check, and
propagation of naked and hidden singles to a fixpoint. The leaf under the exact solver and
generator (``puzzles.sudoku``) and the difficulty rating (``puzzles.rating``).

Cell ``i`` holds the set of digits it may still take as a Python int, bit ``d - 1`` for digit
``d`` (see ``puzzles.sudoku``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

BOXES = (2, 3, 4)
SIZES = tuple(b * b for b in BOXES)  # 4, 9, 16


# --- geometry ---------------------------------------------------------------------------------


class _Geometry:
    """Index tables for one board size, built once per box size."""

    def __init__(self, box: int):
        n = box * box
        cells = n * n
        self.box = box
        self.n = n
        self.cells = cells
        self.full = (1 << n) - 1
        row_of = [i // n for i in range(cells)]
        col_of = [i % n for i in range(cells)]
        box_of = [(r // box) * box + c // box for r, c in zip(row_of, col_of, strict=True)]
        self.row_of, self.col_of, self.box_of = row_of, col_of, box_of
        # Units 0..n-1 are rows, n..2n-1 columns, 2n..3n-1 boxes.
        units: list[list[int]] = [[] for _ in range(3 * n)]
        for i in range(cells):
            units[row_of[i]].append(i)
            units[n + col_of[i]].append(i)
            units[2 * n + box_of[i]].append(i)
        self.units = [tuple(u) for u in units]
        self.cell_units = [(row_of[i], n + col_of[i], 2 * n + box_of[i]) for i in range(cells)]
        self.peers = [
            tuple(sorted(set(units[r] + units[c] + units[b]) - {i}))
            for i, (r, c, b) in enumerate(self.cell_units)
        ]
        # Bitmask over unit ids of the three units holding each cell.
        self.unit_bits = [(1 << r) | (1 << c) | (1 << b) for r, c, b in self.cell_units]
        self.all_units = (1 << (3 * n)) - 1
        # Popcount of every candidate mask (at most 2**16 entries).
        self.pop = [bin(m).count("1") for m in range(1 << n)]


@functools.cache
def _geometry(box: int) -> _Geometry:
    return _Geometry(box)


def _box_of_n(n: int) -> int:
    for box in BOXES:
        if box * box == n:
            return box
    raise ValueError(f"Sudoku side must be 4, 9 or 16, got {n}")


def _check_board(board, name: str = "board") -> np.ndarray:
    """Return ``board`` as an int64 (n, n) array after checking its shape and values."""
    arr = np.asarray(board)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square 2-D array, got shape {arr.shape}")
    n = arr.shape[0]
    _box_of_n(n)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() > n:
        raise ValueError(f"{name} values must lie in 0..{n} (0 = blank)")
    return arr


# --- solver core ------------------------------------------------------------------------------


def _propagate(
    cand: list[int], usolved: list[int], stack: list[int], dirty: int, g: _Geometry
) -> bool:
    """Naked and hidden singles to a fixpoint, in place. False on a contradiction.

    ``cand[i]``: cell i's candidate mask. ``usolved[u]``: digits placed and propagated in unit u
    (units 0..n-1 rows, n..2n-1 columns, 2n..3n-1 boxes). ``stack``: cells that became single
    and still have to leave their peers. ``dirty``: bitmask over unit ids whose cells lost
    candidates since the last fixpoint; only those can hold a new hidden single.
    """
    peers = g.peers
    cell_units = g.cell_units
    unit_bits = g.unit_bits
    units = g.units
    full = g.full
    push = stack.append
    pop = stack.pop
    while True:
        # Naked singles: a placed digit leaves every peer.
        while stack:
            c = pop()
            b = cand[c]
            for p in peers[c]:
                m = cand[p]
                if m & b:
                    m ^= b
                    if not m:
                        return False
                    cand[p] = m
                    dirty |= unit_bits[p]
                    if not m & (m - 1):
                        push(p)
            u0, u1, u2 = cell_units[c]
            usolved[u0] |= b
            usolved[u1] |= b
            usolved[u2] |= b
        # Hidden singles: a digit with exactly one place left in a unit goes there.
        todo = dirty
        dirty = 0
        u = 0
        while todo:
            if todo & 1:
                done = usolved[u]
                if done != full:
                    once = twice = 0
                    for c in units[u]:
                        m = cand[c]
                        twice |= once & m
                        once |= m
                    if once != full:
                        return False  # a digit has no place left in this unit
                    hidden = once & ~twice & ~done
                    if hidden:
                        for c in units[u]:
                            m = cand[c]
                            x = m & hidden
                            if x and m != x:
                                if x & (x - 1):
                                    return False  # one cell is the only place for two digits
                                cand[c] = x
                                push(c)
                                dirty |= unit_bits[c]  # its units lost candidates
            todo >>= 1
            u += 1
        if not stack:
            return True


def _propagate_naked(
    cand: list[int], usolved: list[int], stack: list[int], dirty: int, g: _Geometry
) -> bool:
    """Naked singles only (same arguments as ``_propagate``; ``dirty`` is not used). Cheaper
    per node where hidden singles rarely fire: nearly empty boards, short searches."""
    peers = g.peers
    cell_units = g.cell_units
    while stack:
        c = stack.pop()
        b = cand[c]
        for p in peers[c]:
            m = cand[p]
            if m & b:
                m ^= b
                if not m:
                    return False
                cand[p] = m
                if not m & (m - 1):
                    stack.append(p)
        u0, u1, u2 = cell_units[c]
        usolved[u0] |= b
        usolved[u1] |= b
        usolved[u2] |= b
    return True


def _given_masks(values: Sequence[int], g: _Geometry):
    """Per-unit masks of the given digits (rows, cols, boxes); None if a digit repeats."""
    n = g.n
    rows = [0] * n
    cols = [0] * n
    boxes = [0] * n
    row_of, col_of, box_of = g.row_of, g.col_of, g.box_of
    for i, v in enumerate(values):
        if v:
            b = 1 << (v - 1)
            r, c, x = row_of[i], col_of[i], box_of[i]
            if (rows[r] | cols[c] | boxes[x]) & b:
                return None
            rows[r] |= b
            cols[c] |= b
            boxes[x] |= b
    return rows, cols, boxes


def _digits(cand: list[int], n: int) -> np.ndarray:
    """Solved candidate masks -> int8 (n, n) board."""
    return np.array([m.bit_length() for m in cand], dtype=np.int8).reshape(n, n)
