"""The maze text format: blocks of equal-length lines, one block per maze.

Maze text (``.txt``)
    Blocks separated by one or more empty lines. Characters: '#' wall, '.' or ' ' open, 'S'
    start, 'G' goal, '*' or 'o' path. A maze is (2h+1) x (2w+1) characters with h, w >= 2, and
    its border is all walls ('#'). Because every row ends in a wall, trailing whitespace after a
    row is ignored (an editor that strips it changes nothing), and a line holding only
    whitespace separates blocks. Spaces inside a row are open cells. Written mazes use '.' for
    open cells and '*' for the path.

The structural rules (odd sides, a wall border, one S and one G on cells, no path in a puzzle)
are checked by ``check_grid``, for text and for grids read from .npz files alike. Readers raise
:class:`~puzzles.errors.PuzzleFormatError` naming the file, the line and what is wrong.
"""

from __future__ import annotations

import numpy as np

from puzzles.errors import PuzzleFormatError
from puzzles.formats import line_blocks, stack_blocks
from puzzles.tokens import GOAL, OPEN, PATH, START, WALL

# byte -> maze code; -1 marks a byte that is never allowed.
_MAZE_LUT = np.full(256, -1, dtype=np.int16)
for _ch, _code in {
    "#": WALL,
    ".": OPEN,
    " ": OPEN,
    "S": START,
    "G": GOAL,
    "*": PATH,
    "o": PATH,
}.items():
    _MAZE_LUT[ord(_ch)] = _code
_MAZE_CHARS = {OPEN: ".", PATH: "*", WALL: "#", START: "S", GOAL: "G"}


def _parse_maze_block(
    block: list[tuple[int, str]], path: str, allow_path: bool, check_endpoints: bool
) -> np.ndarray:
    first_line, first_row = block[0]
    width = len(first_row)
    for line_no, row in block:
        if len(row) != width:
            raise PuzzleFormatError(
                f"ragged maze: row has {len(row)} characters, expected {width} "
                f"(as in line {first_line})",
                path,
                line_no,
            )
        if not row.isascii():
            col = next(i for i, ch in enumerate(row, start=1) if not ch.isascii())
            raise PuzzleFormatError(
                f"bad character {row[col - 1]!r} at column {col}", path, line_no
            )
    height = len(block)
    raw = np.frombuffer("".join(r for _, r in block).encode("ascii"), dtype=np.uint8)
    raw = raw.reshape(height, width)
    codes = _MAZE_LUT[raw]  # (H, W) int16, -1 = not a maze character
    if (codes < 0).any():
        r, c = np.argwhere(codes < 0)[0]
        raise PuzzleFormatError(
            f"bad character {chr(raw[r, c])!r} at column {c + 1} "
            "(mazes use '#', '.', ' ', 'S', 'G', '*', 'o')",
            path,
            block[r][0],
        )
    problem = grid_problem(codes, allow_path=allow_path, check_endpoints=check_endpoints)
    if problem is not None:
        kind, r, c, other = problem
        line = block[r][0]
        ch = chr(raw[r, c])
        if kind == "shape":
            message = (f"maze is {height}x{width} characters; both sides must be odd (2h+1) and "
                       "at least 5")  # fmt: skip
        elif kind == "border":
            message = f"border cell at column {c + 1} is {ch!r}, not a wall '#'"
        elif kind == "path":
            message = f"path cell {ch!r} at column {c + 1} in a puzzle"
        elif kind.startswith("no "):
            message, line = f"{kind} in the maze on lines {first_line}-{block[-1][0]}", first_line
        elif kind.startswith("second "):
            message = (f"{kind} at column {c + 1} (the first is at line {block[other[0]][0]} "
                       f"column {other[1] + 1})")  # fmt: skip
        else:  # on a passage
            message = (f"{kind} at column {c + 1} sits on a passage, not on a cell (cells are at "
                       "odd rows and columns, counting from 0)")  # fmt: skip
        raise PuzzleFormatError(message, path, line)
    return codes.astype(np.int8)


def parse_maze_text(
    text: str,
    path: str = "<string>",
    *,
    allow_path: bool = True,
    check_endpoints: bool = True,
) -> np.ndarray:
    """Parse maze text into grids (N, H, W) int8 of codes from :mod:`puzzles.tokens`.

    ``allow_path=False`` rejects path cells (for puzzles). ``check_endpoints=False`` skips the
    exactly-one-S / exactly-one-G rule (for answers that a validator will judge).
    """
    blocks = line_blocks(text)
    if not blocks:
        raise PuzzleFormatError("no mazes found (file is empty)", path)
    return stack_blocks(
        blocks, lambda b: _parse_maze_block(b, path, allow_path, check_endpoints), path, "maze"
    )


def format_maze(grid: np.ndarray) -> str:
    """One grid (H, W) of codes as lines ('#', '.', 'S', 'G', '*'), each ending in a newline."""
    grid = np.asarray(grid)
    if grid.ndim != 2:
        raise ValueError(f"expected a (H, W) maze grid, got shape {grid.shape}")
    try:
        return "".join("".join(_MAZE_CHARS[v] for v in row) + "\n" for row in grid.tolist())
    except KeyError as err:
        raise ValueError(f"unknown maze code {err.args[0]}") from None


def format_maze_text(grids: np.ndarray) -> str:
    """Grids (N, H, W) as blocks separated by one empty line."""
    return "\n".join(format_maze(g) for g in np.asarray(grids))


def looks_like_maze(text: str) -> bool:
    """Maze text starts with a row of walls followed by a row of the same length framed by '#'.

    (Sudoku comment lines also start with '#', so a single '#' line is not enough.)
    """
    rows = [r.rstrip() for r in text.split("\n")]
    rows = [r for r in rows if r]
    if len(rows) < 2:
        return bool(rows) and set(rows[0]) == {"#"} and len(rows[0]) >= 5
    first, second = rows[0], rows[1]
    return (
        len(first) >= 5
        and set(first) == {"#"}
        and len(second) == len(first)
        and second[0] == second[-1] == "#"
        and set(second) != {"#"}
    )


_ENDPOINTS = ((START, "start 'S'"), (GOAL, "goal 'G'"))


def grid_problem(
    codes: np.ndarray, *, allow_path: bool = False, check_endpoints: bool = True
) -> tuple[str, int, int, tuple[int, int] | None] | None:
    """The first structural fault of a maze grid (H, W) of codes, or None.

    Returns ``(kind, row, column, first)``: kind "shape" (sides not odd or under 5), "border"
    (a border position that is not a wall), "path" (a path cell in a puzzle, when not
    ``allow_path``), and with ``check_endpoints`` "no start 'S'" / "no goal 'G'", "second ..."
    (``first`` is where the first one is) or "start 'S'" / "goal 'G'" on a passage.
    """
    height, width = codes.shape
    if height % 2 == 0 or width % 2 == 0 or height < 5 or width < 5:
        return "shape", 0, 0, None
    border = np.ones((height, width), dtype=bool)
    border[1:-1, 1:-1] = False
    off = np.argwhere(border & (codes != WALL))
    if len(off):
        return "border", int(off[0][0]), int(off[0][1]), None
    if not allow_path and (codes == PATH).any():
        r, c = np.argwhere(codes == PATH)[0]
        return "path", int(r), int(c), None
    if check_endpoints:
        for code, name in _ENDPOINTS:
            where = np.argwhere(codes == code)
            if len(where) == 0:
                return f"no {name}", 0, 0, None
            if len(where) > 1:
                (r0, c0), (r1, c1) = where[0], where[1]
                return f"second {name}", int(r1), int(c1), (int(r0), int(c0))
            r, c = where[0]
            if r % 2 == 0 or c % 2 == 0:
                return name, int(r), int(c), None
    return None


def check_grids(grids: np.ndarray, path: str, what: str, *, puzzles: bool) -> None:
    """Raise ``PuzzleFormatError`` naming the file, the grid and the position of the first
    structural fault of ``grids`` (N, H, W) (for .npz files, which skip the text reader):
    puzzles must have no path cells and one S and one G on cells."""
    grids = np.asarray(grids)
    for i in _suspects(grids, puzzles):
        problem = grid_problem(grids[i], allow_path=not puzzles, check_endpoints=puzzles)
        if problem is None:
            continue
        kind, r, c, first = problem
        text = _NPZ_FAULTS.get(kind) or (kind if kind[:3] in ("no ", "sec") else
                                         f"{kind} sits on a passage, not on a cell")  # fmt: skip
        if kind not in ("shape",) and not kind.startswith("no "):
            text += f" at row {r}, column {c}"
        if first is not None:
            text += f" (the first is at row {first[0]}, column {first[1]})"
        raise PuzzleFormatError(f"{what}[{i}]: {text}", path)


_NPZ_FAULTS = {
    "shape": "sides must be odd (2h+1) and at least 5",
    "border": "a border position that is not a wall",
    "path": "a path cell in a puzzle",
}


def _suspects(grids: np.ndarray, puzzles: bool) -> list[int]:
    """Indices of the grids (N, H, W) that may have a structural fault (a vectorised first
    pass, so a large file costs one sweep; ``grid_problem`` then says what is wrong)."""
    n, h, w = grids.shape
    if h % 2 == 0 or w % 2 == 0 or h < 5 or w < 5:
        return list(range(min(n, 1)))
    inner = np.zeros((h, w), dtype=bool)
    inner[1:-1, 1:-1] = True
    bad = ((grids != WALL) & ~inner).any((1, 2))
    if puzzles:
        odd = np.zeros((h, w), dtype=bool)
        odd[1::2, 1::2] = True
        bad |= (grids == PATH).any((1, 2))
        for code in (START, GOAL):
            here = grids == code
            bad |= (here.sum((1, 2)) != 1) | (here & ~odd).any((1, 2))
    return np.flatnonzero(bad).tolist()
