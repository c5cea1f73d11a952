"""Sudoku's text formats: one puzzle per line, or CSV with puzzle and solution columns.

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

Readers raise :class:`~puzzles.errors.PuzzleFormatError` naming the file, the line and what is
wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from puzzles.errors import PuzzleFormatError
from puzzles.formats import csv_records, is_csv, text_records

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
        csv = is_csv(text, path)
    if not csv:
        records = text_records(text)
        return _sudoku_from_records(records, path, what="puzzle", check_repeats=check_repeats), None
    p_records, s_records, p_name, s_name = csv_records(text, path)
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


def looks_like_sudoku(text: str) -> bool:
    """Sudoku text or CSV: the first line that is not empty or a '#' comment is a puzzle line of
    16, 81 or 256 characters, or a CSV header (it holds a comma)."""
    for raw in text.split("\n"):
        line = raw.strip()
        if line and not line.startswith("#"):
            return "," in line or len(line) in _SUDOKU_LENGTHS
    return False
