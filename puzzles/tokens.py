"""Maze cell codes, and the old home of ``TaskSpec`` (now ``puzzles.task``; re-exported here).

Domain boards (what ``puzzles`` generates, reads and validates):

* Sudoku: int array (n, n) with n = box**2; 0 is blank, 1..n are digits.
* Maze: int array (2h+1, 2w+1) of cell codes ``OPEN, PATH, WALL, START, GOAL`` below. A puzzle
  has no PATH cells; its solution marks the shortest path's cells (S and G excluded) with PATH.

Model tokens (what ``models`` and ``sampling`` see): a row-major flat vector of length H*W.
Token ids ``0 .. num_values-1`` are the values the denoiser predicts (its logits have exactly
``num_values`` entries, value index == token id); ``mask_id`` marks a cell to be filled; maze
context tokens (wall, start, goal) sit between the values and the mask and are never predicted.

* Sudoku n x n: token = digit - 1 (0..n-1), mask_id = n, vocab_size = n + 1.
* Maze: OPEN=0, PATH=1 are the values (num_values=2); WALL=2, START=3, GOAL=4 are context;
  mask_id = 5, vocab_size = 6. Unknown at solve time are the cells that are OPEN in the puzzle.

Each family's rules live in its ``Task`` (``puzzles.sudoku.SudokuTask``, ``puzzles.maze.MazeTask``).
"""

from __future__ import annotations

from puzzles.task import TaskSpec, get_task, spec_for

# Maze cell codes (shared by boards and tokens).
OPEN, PATH, WALL, START, GOAL = 0, 1, 2, 3, 4
MAZE_MASK = 5

__all__ = [
    "GOAL", "MAZE_MASK", "OPEN", "PATH", "START", "WALL", "TaskSpec", "maze_spec", "spec_for",
    "sudoku_spec",
]  # fmt: skip


def sudoku_spec(n: int) -> TaskSpec:
    """Spec for an n x n Sudoku (n in 4, 9, 16)."""
    return get_task("sudoku").spec(n)


def maze_spec(cells: int, cells_w: int | None = None) -> TaskSpec:
    """Spec for a maze of cells x cells_w cells, drawn as (2h+1) x (2w+1) tokens."""
    return get_task("maze").spec(cells, cells_w)
