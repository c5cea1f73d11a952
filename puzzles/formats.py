"""Text formats for Sudoku and mazes: readers that name what is wrong, and writers.

Sudoku text (``.txt``)
    One puzzle per line, n*n characters row-major (16, 81 or 256 for 4x4, 9x9, 16x16). Digits
    '1'-'9', then 'A'-'G' (or 'a'-'g') for 10-16 in 16x16 puzzles; a blank is '.' or '0'.
    Empty lines and lines starting with '#' are skipped; whitespace at either end of a line is
    ignored. All puzzles in one file have the same size. Written puzzles use '.' for blanks;
    solutions are written digits only.

Sudoku CSV (``.csv``, or text whose first line holds a comma)
    A header row naming a ``puzzle`` column (also ``question``, ``quiz``, or their plurals) and
    optionally a ``solution`` column (also ``answer``, or their plurals); other columns are
    ignored. Each field holds one puzzle in the text format above.

Maze text (``.txt``)
    Blocks of equal-length lines, one block per maze, separated by one or more empty lines.
    Characters: '#' wall, '.' or ' ' open, 'S' start, 'G' goal, '*' or 'o' path. A maze is
    (2h+1) x (2w+1) characters with h, w >= 2, and its border is all walls ('#'). Because every
    row ends in a wall, trailing whitespace after a row is ignored (an editor that strips it
    changes nothing), and a line holding only whitespace separates blocks. Spaces inside a row
    are open cells. Written mazes use '.' for open cells and '*' for the path.

Every reader raises :class:`~puzzles.errors.PuzzleFormatError` naming the file, the line and
what is wrong; no other exception escapes a parser whatever the text (property-tested).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from puzzles.atomic import atomic_open
from puzzles.errors import PuzzleFormatError
from puzzles.tokens import GOAL, OPEN, PATH, START, WALL

SUDOKU_SIZES = (4, 9, 16)
_SUDOKU_LENGTHS = {n * n: n for n in SUDOKU_SIZES}  # line length -> n
_SUDOKU_DIGITS = "123456789ABCDEFG"  # value v is written _SUDOKU_DIGITS[v - 1]

# byte -> value for Sudoku cells; -1 marks a byte that is never allowed.
_SUDOKU_LUT = np.full(256, -1, dtype=np.int16)
_SUDOKU_LUT[ord(".")] = 0
_SUDOKU_LUT[ord("0")] = 0
for _v, _ch in enumerate(_SUDOKU_DIGITS, start=1):
    _SUDOKU_LUT[ord(_ch)] = _v
    _SUDOKU_LUT[ord(_ch.lower())] = _v

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

_PUZZLE_COLUMNS = ("puzzle", "puzzles", "question", "questions", "quiz", "quizzes")
_SOLUTION_COLUMNS = ("solution", "solutions", "answer", "answers")


# --- files ----------------------------------------------------------------------------------


def read_text(path: str | os.PathLike) -> str:
    """Read a UTF-8 text file (a leading BOM is dropped); user-facing errors as PuzzleFormatError."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PuzzleFormatError("no such file", name) from None
    except IsADirectoryError:
        raise PuzzleFormatError("is a directory, expected a file", name) from None
    except OSError as err:
        raise PuzzleFormatError(f"cannot read: {err.strerror or err}", name) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise PuzzleFormatError(f"not UTF-8 text (byte {err.start})", name, line) from None


def _is_csv(text: str, path: str) -> bool:
    """CSV when the file name ends in .csv or the first meaningful line holds a comma."""
    if path.lower().endswith(".csv"):
        return True
    for raw in text.split("\n"):
        line = raw.strip()
        if line and not line.startswith("#"):
            return "," in line
    return False


# --- Sudoku ---------------------------------------------------------------------------------


def _sudoku_from_records(
    records: Sequence[tuple[int, str]],
    path: str,
    *,
    what: str,
    check_repeats: bool,
    n: int | None = None,
    where: str = "column {}",
) -> np.ndarray:
    """Parse (line number, puzzle string) records into boards (N, n, n) int8.

    ``what`` names the thing in messages ("puzzle", "solution"); ``where`` is a template for a
    character's position ("column {}" in text files, "position {} of the 'puzzle' field" in
    CSV). ``n`` forces the size (a CSV solution column must match its puzzle column).
    """
    if not records:
        raise PuzzleFormatError(f"no {what}s found (file is empty or only comments)", path)
    # Size: from the first record unless given; every record must then match.
    size_from = "the puzzles" if n is not None else None
    for line_no, s in records:
        if len(s) not in _SUDOKU_LENGTHS:
            raise PuzzleFormatError(
                f"wrong length: expected 16, 81 or 256 characters (4x4, 9x9, 16x16), got {len(s)}",
                path,
                line_no,
            )
        if n is None:
            n = _SUDOKU_LENGTHS[len(s)]
            size_from = f"line {line_no}"
        elif len(s) != n * n:
            m = _SUDOKU_LENGTHS[len(s)]
            raise PuzzleFormatError(
                f"mixed sizes: this {what} is {m}x{m} ({len(s)} characters) but {size_from} "
                f"is {n}x{n} ({n * n} characters)",
                path,
                line_no,
            )
    joined = "".join(s for _, s in records)
    if not joined.isascii():
        for line_no, s in records:
            for col, ch in enumerate(s, start=1):
                if not ch.isascii():
                    raise PuzzleFormatError(
                        f"bad character {ch!r} at {where.format(col)}", path, line_no
                    )
    raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(records), n * n)
    values = _SUDOKU_LUT[raw]  # (N, n*n) int16, -1 = not a Sudoku character
    bad = (values < 0) | (values > n)
    if bad.any():
        i, col = np.argwhere(bad)[0]
        ch = chr(raw[i, col])
        hint = f"{n}x{n} puzzles use {_SUDOKU_DIGITS[0]}-{_SUDOKU_DIGITS[n - 1]} and '.' or '0'"
        raise PuzzleFormatError(
            f"bad character {ch!r} at {where.format(col + 1)} ({hint})", path, records[i][0]
        )
    boards = values.astype(np.int8).reshape(len(records), n, n)  # (N, n, n)
    if check_repeats:
        _check_clue_repeats(boards, [line_no for line_no, _ in records], path, what)
    return boards


def _units(boards: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and boxes of boards (N, n, n), each as (N, n units, n cells)."""
    num, n = boards.shape[0], boards.shape[1]
    b = int(round(n**0.5))
    boxes = boards.reshape(num, b, b, b, b).transpose(0, 1, 3, 2, 4).reshape(num, n, n)
    return boards, boards.transpose(0, 2, 1), boxes


def first_repeat(board: np.ndarray) -> str | None:
    """The first repeated non-blank digit in a board's rows, columns or boxes, or None.

    Message like "digit 7 repeated in row 2" (rows, columns and boxes numbered from 1; boxes
    row-major).
    """
    for kind, units in zip(("row", "column", "box"), _units(board[None]), strict=True):
        for u, unit in enumerate(units[0], start=1):
            digits = unit[unit > 0]
            vals, counts = np.unique(digits, return_counts=True)
            if (counts > 1).any():
                d = int(vals[counts > 1][0])
                return f"digit {_SUDOKU_DIGITS[d - 1]} repeated in {kind} {u}"
    return None


def _check_clue_repeats(boards: np.ndarray, lines: Sequence[int], path: str, what: str) -> None:
    """Raise on the first board whose clues repeat a digit in a row, column or box."""
    chunk = 8192
    for start in range(0, boards.shape[0], chunk):
        part = boards[start : start + chunk]
        dup = np.zeros(part.shape[0], dtype=bool)
        for units in _units(part):
            s = np.sort(units, axis=-1)  # (B, n, n): repeats become neighbours
            dup |= ((s[..., 1:] == s[..., :-1]) & (s[..., 1:] > 0)).any(axis=(1, 2))
        if dup.any():
            i = int(np.argmax(dup))
            reason = first_repeat(part[i])
            raise PuzzleFormatError(
                f"{reason} among the clues of this {what}", path, lines[start + i]
            )


def _text_records(text: str) -> list[tuple[int, str]]:
    """(line number, stripped line) for each line that is neither empty nor a '#' comment."""
    records = []
    for line_no, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            records.append((line_no, line))
    return records


def _find_column(header: list[str], names: Iterable[str]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _csv_records(
    text: str, path: str
) -> tuple[list[tuple[int, str]], list[tuple[int, str]] | None, str, str | None]:
    """Split CSV text into puzzle records and (optional) solution records with line numbers."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    puzzles: list[tuple[int, str]] = []
    solutions: list[tuple[int, str]] = []
    p_col = s_col = None
    try:
        for row in reader:
            line_no = reader.line_num
            if not any(field.strip() for field in row):
                continue
            if header is None:
                header = row
                p_col = _find_column(header, _PUZZLE_COLUMNS)
                if p_col is None:
                    found = ", ".join(repr(h.strip()) for h in header)
                    raise PuzzleFormatError(
                        f"CSV header has no 'puzzle' or 'question' column (found {found})",
                        path,
                        line_no,
                    )
                s_col = _find_column(header, _SOLUTION_COLUMNS)
                continue
            if len(row) != len(header):
                raise PuzzleFormatError(
                    f"CSV row has {len(row)} fields but the header has {len(header)}",
                    path,
                    line_no,
                )
            puzzles.append((line_no, row[p_col].strip()))
            if s_col is not None:
                solutions.append((line_no, row[s_col].strip()))
    except csv.Error as err:
        raise PuzzleFormatError(f"bad CSV: {err}", path, reader.line_num) from None
    if header is None:
        raise PuzzleFormatError("no puzzles found (empty CSV file)", path)
    for line_no, s in puzzles:
        if not s:
            raise PuzzleFormatError(f"empty {header[p_col].strip()!r} field", path, line_no)
    p_name = header[p_col].strip()
    s_name = header[s_col].strip() if s_col is not None else None
    if s_col is not None:
        empty = [line_no for line_no, s in solutions if not s]
        if len(empty) == len(solutions):
            solutions = None  # column present but unused
        elif empty:
            raise PuzzleFormatError(f"empty {s_name!r} field", path, empty[0])
    else:
        solutions = None
    return puzzles, solutions, p_name, s_name


def parse_sudoku_records(
    text: str,
    path: str = "<string>",
    *,
    csv: bool | None = None,
    check_repeats: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Parse Sudoku text or CSV into (puzzles (N, n, n) int8, solutions (N, n, n) int8 or None).

    ``csv=None`` detects CSV from ``path`` (.csv) or a comma in the first line. Solutions come
    only from a CSV solution/answer column. ``check_repeats=False`` skips the check that clues
    repeat no digit (for reading answers that a validator will judge).
    """
    if csv is None:
        csv = _is_csv(text, path)
    if not csv:
        records = _text_records(text)
        return _sudoku_from_records(records, path, what="puzzle", check_repeats=check_repeats), None
    p_records, s_records, p_name, s_name = _csv_records(text, path)
    puzzles = _sudoku_from_records(
        p_records,
        path,
        what="puzzle",
        check_repeats=check_repeats,
        where=f"position {{}} of the {p_name!r} field",
    )
    solutions = None
    if s_records is not None:
        solutions = _sudoku_from_records(
            s_records,
            path,
            what="solution",
            check_repeats=False,
            n=puzzles.shape[1],
            where=f"position {{}} of the {s_name!r} field",
        )
    return puzzles, solutions


def parse_sudoku_text(
    text: str, path: str = "<string>", *, csv: bool | None = None, check_repeats: bool = True
) -> np.ndarray:
    """Parse Sudoku puzzles from text (or CSV) into boards (N, n, n) int8, 0 = blank."""
    return parse_sudoku_records(text, path, csv=csv, check_repeats=check_repeats)[0]


def read_sudoku(path: str | os.PathLike, *, check_repeats: bool = True) -> np.ndarray:
    """Read Sudoku puzzles (N, n, n) int8 from a text file (one per line) or a CSV file."""
    return parse_sudoku_text(read_text(path), str(path), check_repeats=check_repeats)


def read_sudoku_with_solutions(
    path: str | os.PathLike, *, check_repeats: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read (puzzles, solutions or None); solutions come from a CSV solution/answer column."""
    return parse_sudoku_records(read_text(path), str(path), check_repeats=check_repeats)


def format_sudoku(board: np.ndarray) -> str:
    """One board (n, n) as one line: digits '1'-'9','A'-'G', '.' for blanks."""
    board = np.asarray(board)
    n = board.shape[0]
    if board.shape != (n, n) or n not in SUDOKU_SIZES:
        raise ValueError(
            f"expected an (n, n) Sudoku board with n in {SUDOKU_SIZES}, got {board.shape}"
        )
    if board.min() < 0 or board.max() > n:
        raise ValueError(f"Sudoku board values must lie in 0..{n}")
    return "".join("." if v == 0 else _SUDOKU_DIGITS[v - 1] for v in board.reshape(-1).tolist())


def format_sudoku_text(boards: np.ndarray) -> str:
    """Boards (N, n, n) as text, one per line, ending with a newline."""
    return "".join(format_sudoku(b) + "\n" for b in np.asarray(boards))


def write_sudoku(path: str | os.PathLike, boards: np.ndarray) -> None:
    """Write boards (N, n, n) one per line (atomically). Full grids come out digits only."""
    text = format_sudoku_text(boards)
    with atomic_open(path, "w") as f:
        f.write(text)


# --- Mazes ----------------------------------------------------------------------------------


def _maze_blocks(text: str) -> list[list[tuple[int, str]]]:
    """Group lines into blocks of (line number, row) separated by whitespace-only lines."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for line_no, raw in enumerate(text.split("\n"), start=1):
        row = raw.rstrip()  # trailing whitespace only: a row ends in a wall
        if not row:
            if current:
                blocks.append(current)
                current = []
            continue
        current.append((line_no, row))
    if current:
        blocks.append(current)
    return blocks


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
    if height % 2 == 0 or width % 2 == 0 or height < 5 or width < 5:
        raise PuzzleFormatError(
            f"maze is {height}x{width} characters; both sides must be odd (2h+1) and at least 5",
            path,
            first_line,
        )
    border = np.ones((height, width), dtype=bool)
    border[1:-1, 1:-1] = False
    off = border & (codes != WALL)
    if off.any():
        r, c = np.argwhere(off)[0]
        raise PuzzleFormatError(
            f"border cell at column {c + 1} is {chr(raw[r, c])!r}, not a wall '#'",
            path,
            block[r][0],
        )
    if not allow_path and (codes == PATH).any():
        r, c = np.argwhere(codes == PATH)[0]
        raise PuzzleFormatError(
            f"path cell {chr(raw[r, c])!r} at column {c + 1} in a puzzle", path, block[r][0]
        )
    if check_endpoints:
        for code, name in ((START, "start 'S'"), (GOAL, "goal 'G'")):
            where = np.argwhere(codes == code)
            if len(where) == 0:
                raise PuzzleFormatError(
                    f"no {name} in the maze on lines {first_line}-{block[-1][0]}",
                    path,
                    first_line,
                )
            if len(where) > 1:
                (r0, c0), (r1, c1) = where[0], where[1]
                raise PuzzleFormatError(
                    f"second {name} at column {c1 + 1} (the first is at line "
                    f"{block[r0][0]} column {c0 + 1})",
                    path,
                    block[r1][0],
                )
            r, c = where[0]
            if r % 2 == 0 or c % 2 == 0:
                raise PuzzleFormatError(
                    f"{name} at column {c + 1} sits on a passage, not on a cell (cells are at odd "
                    "rows and columns, counting from 0)",
                    path,
                    block[r][0],
                )
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
    blocks = _maze_blocks(text)
    if not blocks:
        raise PuzzleFormatError("no mazes found (file is empty)", path)
    return _stack_blocks(
        blocks, lambda b: _parse_maze_block(b, path, allow_path, check_endpoints), path, "maze"
    )


def _stack_blocks(blocks, parse, path: str, what: str) -> np.ndarray:
    """(N, H, W) from ``parse(block)`` of every block; all of one size."""
    grids = []
    for block in blocks:
        grid = parse(block)
        if grids and grid.shape != grids[0].shape:
            h0, w0 = grids[0].shape
            raise PuzzleFormatError(
                f"mixed sizes: this {what} is {grid.shape[0]}x{grid.shape[1]} but the first is "
                f"{h0}x{w0} (line {blocks[0][0][0]})",
                path,
                block[0][0],
            )
        grids.append(grid)
    return np.stack(grids)  # (N, H, W)


def read_maze(
    path: str | os.PathLike, *, allow_path: bool = True, check_endpoints: bool = True
) -> np.ndarray:
    """Read mazes (N, H, W) int8 from a text file of blocks separated by empty lines."""
    return parse_maze_text(
        read_text(path), str(path), allow_path=allow_path, check_endpoints=check_endpoints
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


def write_maze(path: str | os.PathLike, grids: np.ndarray) -> None:
    """Write grids (N, H, W) as text blocks separated by one empty line (atomically)."""
    text = format_maze_text(grids)
    with atomic_open(path, "w") as f:
        f.write(text)


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


# --- the default format of a new family: one character per cell, one block per board ---------


def parse_char_grids(text: str, path: str, chars: str, blank: int = 0) -> np.ndarray:
    """Boards (N, H, W) int8 from blocks of equal-length lines separated by empty lines;
    character ``chars[code]`` stands for board code ``code`` (``chars[blank]`` or '0' or ' '
    is a blank). The format a ``puzzles.task.Task`` gets when it defines none of its own."""
    lut = np.full(256, -1, dtype=np.int16)
    for code, ch in enumerate(chars):
        lut[ord(ch)] = code
    lut[ord("0")] = lut[ord(" ")] = blank

    def parse(block):
        width = len(block[0][1])
        for line_no, row in block:
            if len(row) != width:
                raise PuzzleFormatError(
                    f"ragged board: row has {len(row)} characters, expected {width}", path, line_no
                )
            bad = [i for i, ch in enumerate(row) if not ch.isascii() or lut[ord(ch)] < 0]
            if bad:
                raise PuzzleFormatError(
                    f"bad character {row[bad[0]]!r} at column {bad[0] + 1} (use {chars!r})",
                    path,
                    line_no,
                )
        raw = np.frombuffer("".join(r for _, r in block).encode("ascii"), dtype=np.uint8)
        return lut[raw].reshape(len(block), width).astype(np.int8)

    blocks = _maze_blocks(text)
    if not blocks:
        raise PuzzleFormatError("no boards found (file is empty)", path)
    return _stack_blocks(blocks, parse, path, "board")


def format_char_grids(boards: np.ndarray, chars: str) -> str:
    """Boards (N, H, W) as blocks of lines, one character per cell, separated by empty lines."""
    lut = np.frombuffer(chars.encode("ascii"), dtype=np.uint8)
    blocks = []
    for board in np.asarray(boards):
        rows = lut[board.astype(np.int64)]
        blocks.append("".join(r.tobytes().decode("ascii") + "\n" for r in rows))
    return "\n".join(blocks)
