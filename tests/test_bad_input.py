"""Bad input across every command: one line on stderr naming what and where, exit code 2, and
nothing lost, half-written or left behind. One test per class of case:

* an output path that is an input, or another output of the same command;
* an output that cannot be written (a folder, a path under a file, /proc);
* numbers that are not numbers, nan, negative or out of range;
* argparse's own errors (missing or unknown flags, bad choices): one line, not the usage block.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import unmask_cli
from models.checkpoint import save_model
from models.config import ModelConfig
from models.denoiser import Denoiser
from puzzles.task import get_task

SUDOKU = "1.3.....2.....4.\n..2.4.......3...\n"
MAZE = "#####\n#S..#\n###.#\n#G..#\n#####\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    torch.manual_seed(0)
    for name, spec in (("s4.pt", get_task("sudoku").spec(4)), ("m2.pt", get_task("maze").spec(2))):
        cfg = ModelConfig.from_spec(spec, "tiny", d_model=16, n_layers=1, n_heads=2, d_ff=32)
        save_model(d / name, Denoiser(cfg), {"note": "random init, for tests"})
    (d / "s4.txt").write_text(SUDOKU)
    (d / "m2.txt").write_text(MAZE)
    (d / "b.csv").write_text("puzzle\n" + SUDOKU.splitlines()[0] + "\n")
    (d / "results.json").write_text('[{"sampler": "eb", "accuracy": 0.5, "mean_nfe": 3}]\n')
    return d


def _listing(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


def _one_line_exit_2(capsys, argv, needle: str) -> str:
    rc = unmask_cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line]
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert needle in lines[0], lines[0]
    return lines[0]


def _solve(d, *extra):
    return ["solve", "sudoku", "--input", d / "s4.txt", "--checkpoint", d / "s4.pt", "--quiet",
            "--device", "cpu", *extra]  # fmt: skip


# --- output collisions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_argv, needle",
    [
        (lambda d: _solve(d, "--output", d / "s4.txt"), "--output"),
        (lambda d: _solve(d, "--output", d / "x" / ".." / "s4.txt"), "same file as --input"),
        (lambda d: _solve(d, "--output", d / "a.txt", "--stats", d / "s4.txt"), "--stats"),
        (lambda d: _solve(d, "--output", d / "a.txt", "--stats", d / "a.txt"), "--stats"),
        (lambda d: _solve(d, "--output", d / "s4.pt"), "same file as --checkpoint"),
        (
            lambda d: [
                "bench",
                "sudoku",
                "--input",
                d / "b.csv",
                "--checkpoint",
                d / "s4.pt",
                "--out",
                d / "b",
                "--quiet",
            ],
            "same file as --input",
        ),  # fmt: skip
        (
            lambda d: [
                "animate",
                "sudoku",
                "--input",
                d / "s4.txt",
                "--checkpoint",
                d / "s4.pt",
                "--out",
                d / "s4.pt.gif",
                "--quiet",
            ],
            None,
        ),  # fmt: skip
    ],
)
def test_an_output_that_is_an_input_is_refused_before_any_work(files, capsys, make_argv, needle):
    argv = make_argv(files)
    if needle is None:  # a control: a new output path works
        assert unmask_cli.main([str(a) for a in argv]) == 0
        (files / "s4.pt.gif").unlink()
        return
    before = _listing(files)
    _one_line_exit_2(capsys, argv, needle)
    assert _listing(files) == before  # nothing overwritten, nothing added


def test_a_symlink_to_the_input_is_the_input(files, capsys, tmp_path):
    link = tmp_path / "link.txt"
    os.symlink(files / "s4.txt", link)
    before = (files / "s4.txt").read_bytes()
    _one_line_exit_2(capsys, _solve(files, "--output", link), "same file as --input")
    assert (files / "s4.txt").read_bytes() == before


# --- outputs that cannot be written --------------------------------------------------------------


def _unwritable(files, tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    return [
        (tmp_path / "adir", "is a folder"),
        (tmp_path / "afile" / "out.txt", "is a file, not a folder"),
        (Path("/proc/unmask-test/out.txt"), "cannot write in /proc"),
    ]


def test_unwritable_outputs_are_refused_before_any_work(files, capsys, tmp_path):
    for target, needle in _unwritable(files, tmp_path):
        _one_line_exit_2(capsys, _solve(files, "--output", target), needle)
        _one_line_exit_2(capsys, _solve(files, "--output", tmp_path / "ok.txt", "--stats", target),
                         needle)  # fmt: skip
        assert not (tmp_path / "ok.txt").exists()  # all or nothing: --output is not left behind
        if target.suffix:  # bench takes a prefix: PREFIX.csv and PREFIX.json
            bench = ["bench", "sudoku", "--input", files / "s4.txt", "--checkpoint",
                     files / "s4.pt", "--quiet", "--out", target.with_suffix("")]  # fmt: skip
            _one_line_exit_2(capsys, bench, "--out")
        if target.suffix:
            gen = ["generate", "maze", "--cells", "3", "--count", "3", "--workers", "1",
                   "--out", target]  # fmt: skip
            _one_line_exit_2(capsys, gen, "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"]


def test_a_read_only_folder_is_refused(files, capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        _one_line_exit_2(capsys, _solve(files, "--output", ro / "a.txt"), "cannot write in")
    finally:
        ro.chmod(0o755)


def test_generate_split_is_written_all_or_nothing(tmp_path, capsys):
    (tmp_path / "d.val.npz").mkdir()  # the second part cannot be written
    argv = ["generate", "sudoku", "--size", "4", "--count", "20", "--workers", "1",
            "--split", "train=0.5,val=0.5", "--out", tmp_path / "d.npz"]  # fmt: skip
    _one_line_exit_2(capsys, argv, "is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.val.npz"]


def test_train_with_bad_data_writes_nothing_and_prints_no_banner(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("not a puzzle\n")
    out = tmp_path / "run"
    _one_line_exit_2(capsys, ["train", "sudoku", "--size", "4", "--preset", "tiny", "--data", bad,
                              "--out", out, "--no-progress"], "bad.txt")  # fmt: skip
    assert not out.exists()


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--temperature", "nan"),
        ("--temperature", "-1"),
        ("--temperature", "inf"),
        ("--gamma", "nan"),
        ("--retry-temperature", "-1"),
        ("--retry-temperature", "nan"),
        ("--batch-size", "0"),
        ("--seed", "-1"),
        ("--retries", "x"),
        ("--branch-entropy", "-0.1"),
        ("--max-nfe", "0"),
    ],
)
def test_solve_numbers(files, capsys, flag, value):  # fmt: skip
    _one_line_exit_2(capsys, _solve(files, "--output", files / "o.txt", flag, value), flag)
    assert not (files / "o.txt").exists()


@pytest.mark.parametrize("argv, needle", [
    (["bench", "sudoku", "--temperature", "nan"], "--temperature"),
    (["animate", "sudoku", "--temperature", "nan", "--out", "x.gif"], "--temperature"),
    (["plot", "order", "sudoku", "--temperature", "-2", "--out", "x.png"], "--temperature"),
    (["animate", "sudoku", "--fps", "0", "--out", "x.gif"], "--fps"),
    (["animate", "sudoku", "--hold-frames", "-1", "--out", "x.gif"], "--hold-frames"),
    (["generate", "sudoku", "--count", "0", "--out", "x.npz"], "--count"),
    (["generate", "maze", "--count", "2", "--extra-openings", "nan", "--out", "x.npz"],
     "--extra-openings"),
    (["generate", "maze", "--count", "1", "--cells", "100000", "--out", "x.npz"], "of memory"),
    (["train", "sudoku", "--lr", "nan", "--out", "r"], "--lr"),
    (["train", "sudoku", "--precision", "junk", "--out", "r"], "--precision"),
    (["train", "sudoku", "--devices", "junk", "--out", "r"], "--devices"),
    (["train", "sudoku", "--warmup-steps", "-1", "--out", "r"], "--warmup-steps"),
    (["train", "sudoku", "--weight-decay", "-1", "--out", "r"], "--weight-decay"),
    (["train", "sudoku", "--val-data", "x.npz", "--out", "r"], "--val-data needs --data"),
])  # fmt: skip
def test_every_numeric_flag_is_checked_where_it_is_parsed(files, capsys, argv, needle, tmp_path):
    argv = [a if a not in ("x.gif", "x.png", "x.npz", "r") else str(tmp_path / a) for a in argv]
    if argv[0] in ("bench", "animate", "plot"):
        argv += ["--input", str(files / "s4.txt"), "--checkpoint", str(files / "s4.pt")]
    if "--val-data" in argv:
        (tmp_path / "x.npz").write_bytes(b"")  # the file exists; the flag alone is wrong
    before = sorted(tmp_path.iterdir())
    _one_line_exit_2(capsys, argv, needle)
    assert sorted(tmp_path.iterdir()) == before


# --- argparse's own errors ----------------------------------------------------------------------


@pytest.mark.parametrize("argv, needle", [
    (["solve", "sudoku"], "the following arguments are required: --input"),
    (["solve", "sudoku", "--input", "a", "--output", "b", "--frobnicate"], "unrecognized"),
    (["solve", "chess", "--input", "a"], "invalid choice: 'chess'"),
    (["train", "sudoku", "--cells", "4", "--out", "r"], "unrecognized arguments: --cells"),
    (["bench", "maze", "--input", "a", "--search", "beam"], "invalid choice: 'beam'"),
    (["frobnicate"], "invalid choice"),
])  # fmt: skip
def test_argparse_errors_are_one_line(capsys, argv, needle):
    line = _one_line_exit_2(capsys, argv, needle)
    assert "--help" in line  # and a pointer to the help


def test_help_still_prints_in_full(capsys):
    assert unmask_cli.main(["solve", "--help"]) == 0
    assert "--branch-entropy" in capsys.readouterr().out


# --- unsolvable puzzles and mazes whose S or G is on a passage ------------------------------------


def test_an_unsolvable_puzzle_is_called_unsolvable(files, capsys, tmp_path):
    # no clue clashes, yet r1c1 has no digit left: 3 and 4 in its row, 1 and 2 in its column
    (tmp_path / "u.txt").write_text("..34\n1...\n2...\n....\n".replace("\n", "") + "\n")
    rc = unmask_cli.main([str(a) for a in _solve(files, "--input", tmp_path / "u.txt",
                                                 "--output", tmp_path / "a.txt")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0 and "unsolvable: the puzzle has no solution" in err


def test_a_maze_with_its_goal_on_a_passage_is_refused(tmp_path, capsys):
    (tmp_path / "m.txt").write_text("#####\n#S..#\n###G#\n#...#\n#####\n")
    line = _one_line_exit_2(capsys, ["validate", "maze", "--input", tmp_path / "m.txt"],
                            "goal 'G' at column 4 sits on a passage")  # fmt: skip
    assert "m.txt:3" in line
