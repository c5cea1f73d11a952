"""Text building blocks every family's format uses: reading a file, records and CSV columns,
blocks of lines, and the default format of a new family (one character per cell).

Each family owns its own text format and its sniffing (``puzzles.sudoku_text`` for Sudoku lines
and CSV, ``puzzles.maze_text`` for maze blocks; a new family gets ``parse_char_grids`` /
``format_char_grids`` through ``Task.parse`` / ``Task.format_text``). Every reader raises
:class:`~puzzles.errors.PuzzleFormatError` naming the file, the line and what is wrong; no other
exception escapes a parser whatever the text (property-tested).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from puzzles.errors import PuzzleFormatError

PUZZLE_COLUMNS = ("puzzle", "puzzles", "question", "questions", "quiz", "quizzes")
SOLUTION_COLUMNS = ("solution", "solutions", "answer", "answers")


# --- files ----------------------------------------------------------------------------------


# An input larger than this is refused before it is read (a puzzle file of a few GB is a
# mistake: /dev/zero, a disk image); the largest shipped set is a few MB.
MAX_INPUT_BYTES = 2 * 1024**3


def check_input_file(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` when it is a regular file of a readable size; else a
    ``PuzzleFormatError`` naming it (a folder, a pipe or device that would block or never end,
    a missing file, a file of more than ``MAX_INPUT_BYTES``)."""
    p, name = Path(path), str(path)
    try:
        if not p.exists():
            raise PuzzleFormatError("no such file", name)
        if p.is_dir():
            raise PuzzleFormatError("is a directory, expected a file", name)
        if not p.is_file():
            raise PuzzleFormatError("is not a regular file (a pipe or a device)", name)
        size = p.stat().st_size
    except OSError as err:
        raise PuzzleFormatError(f"cannot read: {err.strerror or err}", name) from None
    if size > MAX_INPUT_BYTES:
        raise PuzzleFormatError(f"is {size:,} bytes; inputs over {MAX_INPUT_BYTES:,} are refused",
                                name)  # fmt: skip
    return p


def read_text(path: str | os.PathLike) -> str:
    """Read a UTF-8 text file (a leading BOM is dropped); user-facing errors as PuzzleFormatError."""
    name = str(path)
    try:
        data = check_input_file(path).read_bytes()
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


def is_csv(text: str, path: str) -> bool:
    """CSV when the file name ends in .csv or the first meaningful line holds a comma."""
    if path.lower().endswith(".csv"):
        return True
    for raw in text.split("\n"):
        line = raw.strip()
        if line and not line.startswith("#"):
            return "," in line
    return False


# --- Sudoku ---------------------------------------------------------------------------------


# --- records and CSV ------------------------------------------------------------------


def text_records(text: str) -> list[tuple[int, str]]:
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


def csv_records(
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
                p_col = _find_column(header, PUZZLE_COLUMNS)
                if p_col is None:
                    found = ", ".join(repr(h.strip()) for h in header)
                    raise PuzzleFormatError(
                        f"CSV header has no 'puzzle' or 'question' column (found {found})",
                        path,
                        line_no,
                    )
                s_col = _find_column(header, SOLUTION_COLUMNS)
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


# --- blocks of lines --------------------------------------------------------------------


def line_blocks(text: str) -> list[list[tuple[int, str]]]:
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


def stack_blocks(blocks, parse, path: str, what: str) -> np.ndarray:
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

    blocks = line_blocks(text)
    if not blocks:
        raise PuzzleFormatError("no boards found (file is empty)", path)
    return stack_blocks(blocks, parse, path, "board")


def format_char_grids(boards: np.ndarray, chars: str) -> str:
    """Boards (N, H, W) as blocks of lines, one character per cell, separated by empty lines."""
    lut = np.frombuffer(chars.encode("ascii"), dtype=np.uint8)
    blocks = []
    for board in np.asarray(boards):
        rows = lut[board.astype(np.int64)]
        blocks.append("".join(r.tobytes().decode("ascii") + "\n" for r in rows))
    return "\n".join(blocks)
