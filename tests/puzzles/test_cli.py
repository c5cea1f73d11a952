"""`unmask generate` and `unmask validate`, run in-process, plus one run of the real command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import unmask_cli
from puzzles import maze, sudoku
from puzzles.atomic import atomic_write_text
from puzzles.datasets import load_dataset, read_answers
from puzzles.task import get_task
from puzzles.tokens import OPEN, PATH


# Files through the task's own text format (what the commands read and write).
def read_sudoku(path):
    return read_answers(path, "sudoku")


def read_maze(path):
    return read_answers(path, "maze")


def write_boards(task: str, path, boards):
    atomic_write_text(path, get_task(task).format_text(boards))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = unmask_cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def gen_sudoku(capsys, out: Path, *extra: str) -> tuple[int, str, str]:
    args = ["generate", "sudoku", "--size", "4", "--count", "12", "--seed", "3"]
    return run(capsys, *args, "--workers", "1", *extra, "--out", str(out))


def gen_maze(capsys, out: Path, *extra: str) -> tuple[int, str, str]:
    args = ["generate", "maze", "--cells", "4", "--count", "10", "--seed", "3", "--workers", "1"]
    return run(capsys, *args, *extra, "--out", str(out))


def error_line(err: str) -> str:
    """The one stderr line of a user error (progress bars aside, there must be exactly one)."""
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- generate -----------------------------------------------------------------------------------


def test_generate_sudoku_npz_is_valid_and_byte_identical(tmp_path, capsys):
    rc, out, _ = gen_sudoku(capsys, tmp_path / "a.npz")
    assert rc == 0 and "a.npz" in out
    gen_sudoku(capsys, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    ds = load_dataset(tmp_path / "a.npz")
    assert ds.task == "sudoku" and ds.puzzles.shape == (12, 4, 4)
    assert all(
        sudoku.check_answer(p, s) is None for p, s in zip(ds.puzzles, ds.solutions, strict=True)
    )
    assert all(sudoku.is_unique(p) for p in ds.puzzles)
    assert ds.meta["seed"] == 3 and ds.meta["size"] == 4 and ds.meta["version"]
    assert ds.meta["generator"]["clues"] == "minimal"
    clues = (ds.puzzles > 0).sum(axis=(1, 2))
    np.testing.assert_array_equal(ds.extra["difficulty_clues"], clues)
    assert ds.meta["difficulty"]["difficulty_clues"]["max"] == clues.max()


def test_generate_sudoku_output_does_not_depend_on_workers(tmp_path, capsys):
    args = ["generate", "sudoku", "--size", "9", "--count", "4", "--seed", "1", "--clues", "40"]
    run(capsys, *args, "--workers", "1", "--out", str(tmp_path / "one.npz"))
    run(capsys, *args, "--workers", "2", "--out", str(tmp_path / "two.npz"))
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    assert ((load_dataset(tmp_path / "one.npz").puzzles > 0).sum(axis=(1, 2)) == 40).all()


def test_generate_sudoku_txt_writes_solutions_beside(tmp_path, capsys):
    rc, out, _ = gen_sudoku(capsys, tmp_path / "s.txt")
    assert rc == 0
    puzzles, solutions = read_sudoku(tmp_path / "s.txt"), read_sudoku(tmp_path / "s.solutions.txt")
    assert puzzles.shape == solutions.shape == (12, 4, 4)
    assert all(line.isdigit() for line in (tmp_path / "s.solutions.txt").read_text().split())
    np.testing.assert_array_equal(puzzles, load_dataset(tmp_path / "s.txt").puzzles)


def test_generate_split_writes_disjoint_parts(tmp_path, capsys):
    out = tmp_path / "m.npz"
    rc, stdout, _ = gen_maze(capsys, out, "--split", "train=0.6,val=0.2,test=0.2")
    assert rc == 0 and not out.exists()
    parts = {name: load_dataset(tmp_path / f"m.{name}.npz") for name in ("train", "val", "test")}
    for name in parts:
        assert f"m.{name}.npz" in stdout
    seen = [p.tobytes() for part in parts.values() for p in part.puzzles]
    assert len(seen) == len(set(seen)) == 10
    assert [len(p) for p in parts.values()] == [6, 2, 2]


def test_generate_maze_npz_and_txt_agree(tmp_path, capsys):
    assert gen_maze(capsys, tmp_path / "m.npz", "--algorithm", "mix")[0] == 0
    assert gen_maze(capsys, tmp_path / "m.txt", "--algorithm", "mix")[0] == 0
    ds = load_dataset(tmp_path / "m.npz")
    assert ds.task == "maze" and ds.puzzles.shape == (10, 9, 9)
    np.testing.assert_array_equal(read_maze(tmp_path / "m.txt"), ds.puzzles)
    np.testing.assert_array_equal(read_maze(tmp_path / "m.solutions.txt"), ds.solutions)
    assert all(
        maze.check_answer(p, s) is None for p, s in zip(ds.puzzles, ds.solutions, strict=True)
    )
    assert set(ds.extra["algorithm"].tolist()) == {"dfs", "wilson", "kruskal", "prim"}
    assert ds.meta["generator"]["algorithm"] == "mix"


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["sudoku", "--count", "-5"], "argument --count: must be a whole number >= 1"),
        (["sudoku", "--count", "0"], "argument --count: must be a whole number >= 1"),
        (["sudoku", "--count", "3", "--split", "train=0.5"], "add up to 0.5"),
        (["sudoku", "--count", "3", "--split", "train"], "NAME=FRACTION"),
        (["sudoku", "--count", "3", "--clues", "99", "--size", "4"], "--clues must lie in 0..16"),
        (["sudoku", "--count", "3", "--workers", "0"], "argument --workers: must be a whole"),
        (["maze", "--count", "3", "--cells", "1"], "--cells must be at least 2"),
        (["maze", "--count", "3", "--extra-openings", "1.5"], "--extra-openings"),
        (["maze", "--count", "3", "--min-path", "-1"], "--min-path"),
    ],
)
def test_generate_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    rc, _, err = run(capsys, "generate", *argv, "--out", str(tmp_path / "x.npz"))
    assert rc == 2 and needle in error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_generate_unknown_suffix(tmp_path, capsys):
    rc, _, err = run(capsys, "generate", "maze", "--count", "2", "--out", str(tmp_path / "x.h5"))
    assert rc == 2 and "unknown suffix '.h5'" in error_line(err)


def test_generate_split_too_small_for_a_part(tmp_path, capsys):
    rc, _, err = gen_sudoku(capsys, tmp_path / "s.npz", "--split", "train=0.99,val=0.01")
    assert rc == 2 and "'val' would get none" in error_line(err)


# --- validate -----------------------------------------------------------------------------------


def test_validate_reports_each_puzzle_and_summary(tmp_path, capsys):
    gen_sudoku(capsys, tmp_path / "s.npz")
    ds = load_dataset(tmp_path / "s.npz")
    answers = ds.solutions.copy()
    answers[1] = ds.puzzles[1]  # blanks left
    r, c = np.argwhere(ds.puzzles[4] > 0)[0]
    answers[4, r, c] = answers[4, r, c] % 4 + 1  # changes a given
    write_boards("sudoku", tmp_path / "answers.txt", answers)
    rc, out, _ = run(
        capsys, "validate", "sudoku", "--input", str(tmp_path / "s.npz"),
        "--solutions", str(tmp_path / "answers.txt"),
    )  # fmt: skip
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 13
    assert lines[0] == "puzzle 1: valid"
    assert lines[1].startswith("puzzle 2: invalid: ") and "blank" in lines[1]
    assert lines[4] == f"puzzle 5: invalid: {sudoku.check_answer(ds.puzzles[4], answers[4])}"
    assert "changes given" in lines[4]
    assert lines[-1] == "valid 10 of 12"
    rc, out, _ = run(
        capsys, "validate", "sudoku", "--input", str(tmp_path / "s.npz"),
        "--solutions", str(tmp_path / "answers.txt"), "--quiet",
    )  # fmt: skip
    assert rc == 0 and out.splitlines() == [lines[1], lines[4], lines[-1]]


def test_validate_uses_stored_solutions(tmp_path, capsys):
    gen_sudoku(capsys, tmp_path / "s.txt")
    rc, out, _ = run(capsys, "validate", "sudoku", "--input", str(tmp_path / "s.txt"))
    assert rc == 0 and out.splitlines()[-1] == "valid 12 of 12"
    gen_maze(capsys, tmp_path / "m.npz")
    rc, out, _ = run(capsys, "validate", "maze", "--input", str(tmp_path / "m.npz"), "--quiet")
    assert rc == 0 and out == "valid 10 of 10\n"


def test_validate_maze_answers_file(tmp_path, capsys):
    gen_maze(capsys, tmp_path / "m.txt")
    answers = read_maze(tmp_path / "m.solutions.txt")
    r, c = np.argwhere(answers[2] == PATH)[0]
    answers[2, r, c] = OPEN  # a gap in the path
    write_boards("maze", tmp_path / "answers.txt", answers)
    rc, out, _ = run(
        capsys, "validate", "maze", "--input", str(tmp_path / "m.txt"),
        "--solutions", str(tmp_path / "answers.txt"),
    )  # fmt: skip
    lines = out.splitlines()
    assert rc == 0 and lines[2].startswith("puzzle 3: invalid: ")
    assert lines[-1] == "valid 9 of 10"


def test_validate_input_errors_exit_2(tmp_path, capsys):
    gen_sudoku(capsys, tmp_path / "s.txt")
    puzzles = read_sudoku(tmp_path / "s.txt")
    write_boards("sudoku", tmp_path / "short.txt", read_sudoku(tmp_path / "s.solutions.txt")[:5])
    base = ["validate", "sudoku", "--input", str(tmp_path / "s.txt")]
    rc, out, err = run(capsys, *base, "--solutions", str(tmp_path / "short.txt"))
    assert rc == 2 and out == ""
    assert "short.txt: 5 answers for the 12 puzzles" in error_line(err)

    bad = tmp_path / "bad.txt"
    bad.write_text(format_lines(puzzles[:2]) + "12x4" + "." * 12 + "\n")
    rc, _, err = run(capsys, "validate", "sudoku", "--input", str(bad))
    assert rc == 2 and f"{bad}:3: bad character 'x' at column 3" in error_line(err)

    write_boards("sudoku", tmp_path / "nosol.txt", puzzles)
    rc, _, err = run(capsys, "validate", "sudoku", "--input", str(tmp_path / "nosol.txt"))
    assert rc == 2 and "holds no solutions" in error_line(err)

    write_boards("sudoku", tmp_path / "big.txt", np.zeros((12, 9, 9), dtype=np.int8))
    rc, _, err = run(capsys, *base, "--solutions", str(tmp_path / "big.txt"))
    assert rc == 2 and "9x9" in error_line(err)

    rc, _, err = run(capsys, "validate", "maze", "--input", str(tmp_path / "s.txt"))
    assert rc == 2 and "s.txt:1:" in error_line(err)


def format_lines(boards: np.ndarray) -> str:
    return get_task("sudoku").format_text(boards)


def test_console_script_malformed_input_one_line_exit_2(tmp_path):
    script = Path(sys.executable).parent / "unmask"
    script = str(script) if script.exists() else shutil.which("unmask")
    assert script, "the `unmask` console script is not installed (pip install -e .)"
    bad = tmp_path / "bad.txt"
    bad.write_text("." * 80 + "\n")
    proc = subprocess.run(
        [script, "validate", "sudoku", "--input", str(bad), "--solutions", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"{bad}:1: wrong length" in proc.stderr and "got 80" in proc.stderr
