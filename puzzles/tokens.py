"""Token ids for each task, defined in one place.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Maze cell codes (shared by boards and tokens).
OPEN, PATH, WALL, START, GOAL = 0, 1, 2, 3, 4
MAZE_MASK = 5

TASKS = ("sudoku", "maze")


@dataclass(frozen=True)
class TaskSpec:
    """Everything a model or sampler needs to know about a task's grid and vocabulary."""

    task: str  # "sudoku" | "maze"
    height: int  # grid rows in tokens
    width: int  # grid columns in tokens
    num_values: int  # logits per cell
    mask_id: int
    vocab_size: int

    @property
    def num_cells(self) -> int:
        return self.height * self.width

    @property
    def size(self) -> int:
        """Sudoku: n (4, 9, 16). Maze: cells per side h (grid is 2h+1)."""
        return self.height if self.task == "sudoku" else (self.height - 1) // 2

    # --- boards <-> tokens -------------------------------------------------------------
    def encode_puzzle(self, boards: np.ndarray) -> np.ndarray:
        """Puzzle boards (N, H, W) -> tokens (N, H*W) with unknown cells set to ``mask_id``."""
        boards = np.asarray(boards)
        flat = boards.reshape(boards.shape[0], -1).astype(np.int64)
        if self.task == "sudoku":
            return np.where(flat == 0, self.mask_id, flat - 1)
        return np.where(flat == OPEN, self.mask_id, flat)

    def encode_solution(self, boards: np.ndarray) -> np.ndarray:
        """Solved boards (N, H, W) -> tokens (N, H*W) with no mask."""
        boards = np.asarray(boards)
        flat = boards.reshape(boards.shape[0], -1).astype(np.int64)
        return flat - 1 if self.task == "sudoku" else flat

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens (N, H*W) -> boards (N, H, W). Sudoku masks decode to 0 (blank), maze masks to OPEN."""
        tokens = np.asarray(tokens).astype(np.int64)
        if self.task == "sudoku":
            boards = np.where(tokens == self.mask_id, 0, tokens + 1)
        else:
            boards = np.where(tokens == self.mask_id, OPEN, tokens)
        return boards.reshape(tokens.shape[0], self.height, self.width)

    def unknown_mask(self, puzzles: np.ndarray) -> np.ndarray:
        """Boolean (N, H*W): the cells a solver must fill (Sudoku blanks, maze open cells)."""
        flat = np.asarray(puzzles).reshape(np.asarray(puzzles).shape[0], -1)
        return flat == (0 if self.task == "sudoku" else OPEN)


def sudoku_spec(n: int) -> TaskSpec:
    """Spec for an n x n Sudoku (n in 4, 9, 16)."""
    if n not in (4, 9, 16):
        raise ValueError(f"Sudoku size must be 4, 9 or 16, got {n}")
    return TaskSpec("sudoku", n, n, num_values=n, mask_id=n, vocab_size=n + 1)


def maze_spec(cells: int, cells_w: int | None = None) -> TaskSpec:
    """Spec for a maze of cells x cells_w cells, drawn as (2h+1) x (2w+1) tokens."""
    w = cells if cells_w is None else cells_w
    if cells < 2 or w < 2:
        raise ValueError(f"maze needs at least 2x2 cells, got {cells}x{w}")
    return TaskSpec("maze", 2 * cells + 1, 2 * w + 1, num_values=2, mask_id=MAZE_MASK, vocab_size=6)


def spec_for(task: str, size: int) -> TaskSpec:
    """``spec_for("sudoku", 9)`` or ``spec_for("maze", 10)`` (size = cells per side)."""
    if task == "sudoku":
        return sudoku_spec(size)
    if task == "maze":
        return maze_spec(size)
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
