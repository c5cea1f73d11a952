"""Maze cell codes, shared by boards and model tokens; a leaf module (imports nothing).

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

Each family's grid and vocabulary is its ``TaskSpec`` (``puzzles.task``), and its rules live in
its ``Task`` (``puzzles.sudoku.SudokuTask``, ``puzzles.maze.MazeTask``).
"""

# Maze cell codes (shared by boards and tokens).
OPEN, PATH, WALL, START, GOAL = 0, 1, 2, 3, 4
MAZE_MASK = 5
