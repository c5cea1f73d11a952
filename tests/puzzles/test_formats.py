"""Text formats: round trips, layout conventions, error messages, and a fuzz property."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puzzles.atomic import atomic_write_text
from puzzles.errors import PuzzleFormatError
from puzzles.formats import read_text
from puzzles.maze_text import format_maze, format_maze_text, parse_maze_text
from puzzles.sudoku_text import format_sudoku, format_sudoku_text, parse_sudoku_records
from puzzles.tokens import GOAL, OPEN, PATH, START, WALL

REPO = Path(__file__).resolve().parents[2]


# Files through the formats' own readers and writers (what Task.parse / format_text use).
def parse_sudoku_text(text, path="<string>", **kwargs):
    return parse_sudoku_records(text, path, **kwargs)[0]


def read_sudoku(path):
    return parse_sudoku_text(read_text(path), str(path))


def read_sudoku_with_solutions(path):
    return parse_sudoku_records(read_text(path), str(path))


def write_sudoku(path, boards):
    atomic_write_text(path, format_sudoku_text(boards))


def read_maze(path):
    return parse_maze_text(read_text(path), str(path))


def write_maze(path, grids):
    atomic_write_text(path, format_maze_text(grids))


def pattern_grid(n: int) -> np.ndarray:
    """A valid complete n x n grid (the classic shifted pattern)."""
    b = int(round(n**0.5))
    r, c = np.indices((n, n))
    return ((b * (r % b) + r // b + c) % n + 1).astype(np.int8)


def with_blanks(grid: np.ndarray, rng: np.random.Generator, share: float = 0.6) -> np.ndarray:
    return np.where(rng.random(grid.shape) < share, 0, grid).astype(np.int8)


GRID9 = pattern_grid(9)
LINE9 = format_sudoku(GRID9)

MAZE = """\
#######
#S..#.#
#.#.#.#
#.#...#
#.###.#
#....G#
#######
"""


def expect_error(fn, *args, **kwargs) -> PuzzleFormatError:
    with pytest.raises(PuzzleFormatError) as info:
        fn(*args, **kwargs)
    return info.value


# --- Sudoku text ----------------------------------------------------------------------------


def test_pattern_grid_is_valid():
    for n in (4, 9, 16):
        g = pattern_grid(n)
        for units in (g, g.T):
            assert all(sorted(u) == list(range(1, n + 1)) for u in units)


@pytest.mark.parametrize("n", [4, 9, 16])
def test_sudoku_write_read_round_trip(tmp_path, n):
    rng = np.random.default_rng(n)
    grid = pattern_grid(n)
    boards = np.stack([with_blanks(grid, rng) for _ in range(5)] + [grid])
    path = tmp_path / "sub" / "p.txt"  # parent folder created by the writer
    write_sudoku(path, boards)
    back = read_sudoku(path)
    assert back.dtype == np.int8 and back.shape == (6, n, n)
    np.testing.assert_array_equal(back, boards)
    assert sorted(p.name for p in path.parent.iterdir()) == ["p.txt"]  # no temp file left


def test_sudoku_layout_is_row_major_with_letters_for_16():
    grid = pattern_grid(16)
    line = format_sudoku(grid)
    assert len(line) == 256 and set(line) <= set("123456789ABCDEFG")
    assert line[:16] == "".join("123456789ABCDEFG"[v - 1] for v in grid[0])  # first row first
    assert format_sudoku(GRID9).isdigit()  # a full 9x9 grid is digits only
    board = parse_sudoku_text("A" + "." * 255)[0]
    assert board[0, 0] == 10 and (board.reshape(-1)[1:] == 0).all()
    assert parse_sudoku_text("g" + "0" * 255)[0, 0, 0] == 16  # lower case accepted


def test_sudoku_text_skips_comments_blank_lines_and_edge_whitespace():
    puzzle = LINE9[:40] + "." + LINE9[41:]
    text = f"# a comment\r\n\r\n  {puzzle}  \r\n   \n#{LINE9}\n{LINE9.replace('5', '0')}\n"
    boards = parse_sudoku_text(text)
    assert boards.shape == (2, 9, 9)
    assert boards[0].reshape(-1)[40] == 0 and boards[0].reshape(-1)[39] == GRID9.reshape(-1)[39]
    np.testing.assert_array_equal(boards[1], np.where(GRID9 == 5, 0, GRID9))


@pytest.mark.parametrize(
    "text, line, needles",
    [
        (LINE9[:-1], 1, ["wrong length", "expected 16, 81 or 256", "got 80"]),
        ("\n# c\n" + LINE9[:7] + "x" + LINE9[8:], 3, ["bad character 'x'", "column 8"]),
        ("A" + "." * 80, 1, ["bad character 'A'", "column 1", "9x9"]),
        ("5" + "." * 15, 1, ["bad character '5'", "4x4"]),
        ("7" + "." * 7 + "7" + "." * 72, 1, ["digit 7", "row 1"]),
        ("." * 10 + "3" + "." * 26 + "3" + "." * 43, 1, ["digit 3", "column 2"]),
        ("." * 60 + "4" + "." * 9 + "4" + "." * 10, 1, ["digit 4", "box 9"]),
        (LINE9 + "\n\n" + "." * 16, 3, ["mixed sizes", "4x4", "9x9", "line 1"]),
        ("", None, ["no puzzles"]),
        ("# only a comment\n\n", None, ["no puzzles"]),
        (LINE9 + "\n" + LINE9[:5] + "é" + LINE9[6:], 2, ["bad character 'é'", "column 6"]),
    ],
)
def test_sudoku_errors_name_line_and_problem(text, line, needles):
    err = expect_error(parse_sudoku_text, text, "f.txt")
    assert err.path == "f.txt" and err.line == line
    for needle in needles:
        assert needle in str(err)
    assert "\n" not in str(err)


def test_repeated_clues_allowed_when_reading_answers():
    text = "7" * 81
    assert (parse_sudoku_text(text, check_repeats=False) == 7).all()
    with pytest.raises(PuzzleFormatError, match="digit 7 repeated in row 1"):
        parse_sudoku_text(text)


def test_public_17_clue_samples_read_whole():
    """The two samples of Royle's 17-clue collection shipped in the repository, with their
    '#' provenance headers: every puzzle reads, with exactly 17 clues."""
    sample = read_sudoku(REPO / "puzzles" / "data" / "sudoku17_sample.txt")
    bench = read_sudoku(REPO / "benchmarks" / "data" / "sudoku17_2000.txt")
    assert sample.shape == (300, 9, 9) and bench.shape == (2000, 9, 9)
    for boards in (sample, bench):
        assert ((boards > 0).sum(axis=(1, 2)) == 17).all()


# --- Sudoku CSV -----------------------------------------------------------------------------


def test_csv_with_question_answer_and_other_columns():
    puzzle = with_blanks(GRID9, np.random.default_rng(0))
    text = f'source,question,answer,rating\nx,"{format_sudoku(puzzle)}",{LINE9},1.5\n\n'
    puzzles, solutions = parse_sudoku_records(text, "f.txt")  # detected by the comma
    np.testing.assert_array_equal(puzzles[0], puzzle)
    np.testing.assert_array_equal(solutions[0], GRID9)


def test_csv_plural_headers_and_puzzle_only(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text(f"quizzes,solutions\n{LINE9},{LINE9}\n")
    puzzles, solutions = read_sudoku_with_solutions(path)
    assert puzzles.shape == solutions.shape == (1, 9, 9)
    single = tmp_path / "one.csv"  # a one-column CSV has no comma: the suffix decides
    single.write_text(f"Puzzle\n{'.' * 16}\n{'1' + '.' * 15}\n")
    puzzles, solutions = read_sudoku_with_solutions(single)
    assert puzzles.shape == (2, 4, 4) and solutions is None


@pytest.mark.parametrize(
    "text, line, needles",
    [
        ("id,grid\n1,2\n", 1, ["no 'puzzle' or 'question' column", "'id', 'grid'"]),
        (f"puzzle,solution\n{LINE9},{LINE9},extra\n", 2, ["3 fields", "header has 2"]),
        (f"puzzle,solution\n{LINE9},{LINE9[:-1]}x\n", 2, ["'x'", "position 81", "'solution'"]),
        (f"puzzle,solution\n{LINE9},{LINE9[:16]}\n", 2, ["mixed sizes"]),
        (f"puzzle,solution\n{LINE9},{LINE9}\n{LINE9},\n", 3, ["empty 'solution'"]),
        ("puzzle\n", None, ["no puzzles"]),
    ],
)
def test_csv_errors(text, line, needles):
    err = expect_error(parse_sudoku_records, text, "f.csv")
    assert err.line == line
    for needle in needles:
        assert needle in str(err)


# --- Mazes ----------------------------------------------------------------------------------


def test_maze_codes_and_layout():
    grid = parse_maze_text(MAZE)[0]
    assert grid.dtype == np.int8 and grid.shape == (7, 7)
    assert grid[1, 1] == START and grid[5, 5] == GOAL  # row = line, column = character
    assert grid[0].tolist() == [WALL] * 7 and grid[1, 2] == OPEN
    solved = parse_maze_text(MAZE.replace("#S..#", "#S*o#"))[0]
    assert solved[1, 2] == solved[1, 3] == PATH


def test_maze_space_and_dot_are_both_open_and_trailing_space_is_ignored():
    spaced = MAZE.replace(".", " ")
    trailing = "\n".join(row + "  \t" for row in MAZE.split("\n"))
    grids = parse_maze_text(f"{MAZE}\n\n\n{spaced}\n{trailing}")
    assert grids.shape == (3, 7, 7)
    assert (grids == grids[0]).all()


def test_maze_round_trip(tmp_path):
    base = parse_maze_text(MAZE)[0]
    solved = base.copy()
    solved[1, 2:4] = PATH
    path = tmp_path / "m.txt"
    write_maze(path, np.stack([base, solved]))
    text = path.read_text()
    assert " " not in text and "*" in text  # open written as '.', path as '*'
    assert text.split("\n\n")[0] + "\n" == MAZE
    np.testing.assert_array_equal(read_maze(path), np.stack([base, solved]))
    assert format_maze(base) == MAZE


@pytest.mark.parametrize(
    "text, line, needles",
    [
        (MAZE.replace("#S..#.#", "#S..#."), 2, ["ragged", "6 characters", "expected 7"]),
        (MAZE.replace("#.#.#.#", "#.#x#.#", 1), 3, ["bad character 'x'", "column 4"]),
        (MAZE.replace("S", "."), 1, ["no start 'S'", "lines 1-7"]),
        (MAZE.replace("G", "."), 1, ["no goal 'G'"]),
        (MAZE.replace("#....G#", "#S...G#"), 6, ["second start 'S'", "line 2 column 2"]),
        (MAZE.replace("#S..#.#", "#SG.#.#"), 6, ["second goal 'G'", "line 2 column 3"]),
        ("######\n#S..G#\n#....#\n#....#\n######\n", 1, ["5x6", "odd"]),
        ("###\n#S#\n#G#\n#.#\n###\n", 1, ["5x3", "at least 5"]),
        (MAZE.replace("#.#...#", "..#...#"), 4, ["border", "column 1", "'.'"]),
        (MAZE.replace("#.#...#", " .#...#"), 4, ["border", "column 1", "' '"]),
        (MAZE + "\n#####\n#S.G#\n#...#\n#...#\n#####\n", 9, ["mixed sizes", "5x5", "7x7"]),
        ("", None, ["no mazes"]),
        (" \n\t\n", None, ["no mazes"]),
    ],
)
def test_maze_errors_name_line_and_problem(text, line, needles):
    err = expect_error(parse_maze_text, text, "m.txt")
    assert err.path == "m.txt" and err.line == line
    for needle in needles:
        assert needle in str(err)
    assert "\n" not in str(err)


def test_maze_puzzle_and_answer_modes():
    with_path = MAZE.replace("#S..#", "#S**#")
    err = expect_error(parse_maze_text, with_path, "m.txt", allow_path=False)
    assert err.line == 2 and "path cell '*'" in str(err)
    two_starts = MAZE.replace("#....G#", "#S...G#")
    grid = parse_maze_text(two_starts, check_endpoints=False)[0]
    assert (grid == START).sum() == 2


# --- files ----------------------------------------------------------------------------------


def test_read_text_errors(tmp_path):
    assert "no such file" in str(expect_error(read_text, tmp_path / "missing.txt"))
    assert "directory" in str(expect_error(read_sudoku, tmp_path))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(LINE9.encode() + b"\n" + b"\xff" * 81 + b"\n")
    err = expect_error(read_sudoku, bad)
    assert err.line == 2 and "UTF-8" in str(err)
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + LINE9.encode())
    np.testing.assert_array_equal(read_sudoku(bom)[0], GRID9)


# --- fuzz: nothing but PuzzleFormatError escapes the parsers ---------------------------------

PARSERS = [
    lambda t: parse_sudoku_text(t, "f.txt"),
    lambda t: parse_sudoku_text(t, "f.txt", check_repeats=False),
    lambda t: parse_sudoku_records(t, "f.csv"),
    lambda t: parse_maze_text(t, "m.txt"),
    lambda t: parse_maze_text(t, "m.txt", allow_path=False, check_endpoints=False),
]
VALID_TEXTS = [
    LINE9 + "\n" + LINE9.replace("1", ".") + "\n",
    "." * 16 + "\n",
    f"puzzle,solution\n{LINE9.replace('2', '0')},{LINE9}\n",
    MAZE + "\n" + MAZE.replace(".", " "),
]


def check_parsers(text: str) -> None:
    for parse in PARSERS:
        try:
            parse(text)
        except PuzzleFormatError as err:
            assert str(err)  # a message, never empty


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_format_errors(text):
    check_parsers(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='#.SGo* 0123456789AG,"\n\r\t\x00é', max_size=400))
def test_format_alphabet_text_raises_only_format_errors(text):
    check_parsers(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VALID_TEXTS),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from('#.SG* 1579A,\n"x'), st.booleans()),
        max_size=4,
    ),
)
def test_mutated_valid_text_raises_only_format_errors(text, edits):
    for pos, ch, insert in edits:
        pos %= len(text) + 1
        text = text[:pos] + ch + text[pos + (0 if insert else 1) :]
    check_parsers(text)
