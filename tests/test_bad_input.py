"""Bad input across every command: one line on stderr naming what and where, exit code 2, and
nothing lost, half-written or left behind. One test per class of case:

* an output path that is an input, or another output of the same command;
* an output that cannot be written (a folder, a path under a file, /proc, a read-only folder,
  a name too long, a link or a pipe, a full disk);
* numbers that are not numbers, nan, negative, out of range or too large to mean anything;
* argparse's own errors (missing or unknown flags, bad choices): one line, not the usage block;
* task plugins that fail to load or take a built-in's name;
* model files with impossible configs or nan weights, a training that diverges;
* npz files holding what the text formats refuse;
* training options that cannot work here, resuming from a damaged checkpoint, Ctrl-C;
* flags that would do nothing, devices this machine does not have.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import unmask_cli
from models.checkpoint import save_model
from models.config import ModelConfig
from models.denoiser import Denoiser
from models.train import default_config
from puzzles.task import get_task

REPO = Path(__file__).resolve().parents[1]

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
    # a progress bar drawn before the failure (a full disk at the end) is not a message
    lines = [line for line in err.strip().splitlines() if line and not re.search(r"\d+%\|", line)]
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
            train = ["train", "sudoku", "--size", "4", "--preset", "tiny", "--no-progress",
                     "--out", target.with_suffix("")]  # fmt: skip
            _one_line_exit_2(capsys, train, "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"]


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


# --- outputs: read-only folders (without root's override), long names, links, pipes, full disks ---


def _without_dac_override(code: str, *args) -> subprocess.CompletedProcess:
    """Run ``python -c code args`` as root without CAP_DAC_OVERRIDE (so file permissions apply
    to it as to any user), or skip when setpriv is not there."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    cmd = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search",
           sys.executable, "-c", code, *map(str, args)]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO)


_MAIN = "import sys, unmask_cli; sys.exit(unmask_cli.main(sys.argv[1:]))"


def test_a_read_only_folder_is_refused_before_any_work(files, tmp_path):
    ro = tmp_path / "ro"
    (ro / "run").mkdir(parents=True)
    (ro / "run").chmod(0o555)
    ro.chmod(0o555)
    try:
        probe = _without_dac_override("import os, sys; print(os.access(sys.argv[1], os.W_OK))", ro)
        if probe.returncode != 0 or probe.stdout.strip() != "False":
            pytest.skip(f"cannot drop the capability here: {probe.stderr.strip()[:80]}")
        cases = [
            (["solve", "sudoku", "--input", files / "s4.txt", "--checkpoint", files / "s4.pt",
              "--output", ro / "a.txt", "--quiet"], "cannot write in"),  # fmt: skip
            (["generate", "sudoku", "--size", "4", "--count", "2", "--out", ro / "g.npz"],
             "cannot write in"),
            (["train", "sudoku", "--size", "4", "--preset", "tiny", "--out", ro / "new"],
             "cannot write in"),
            (["train", "sudoku", "--size", "4", "--preset", "tiny", "--out", ro / "run"],
             "cannot write in"),  # an existing read-only folder
        ]
        for argv, needle in cases:
            res = _without_dac_override(_MAIN, *argv)
            lines = res.stderr.strip().splitlines()
            assert res.returncode == 2 and len(lines) == 1 and needle in lines[0], res.stderr
        assert sorted(p.name for p in ro.iterdir()) == ["run"] and not any((ro / "run").iterdir())
    finally:
        ro.chmod(0o755)
        (ro / "run").chmod(0o755)


@pytest.mark.parametrize("where", ["solve", "stats", "generate", "animate", "bench", "train"])
def test_a_name_longer_than_the_file_system_takes_is_one_line(files, capsys, tmp_path, where):
    long = tmp_path / ("x" * 300 + ".txt")
    argv = {
        "solve": _solve(files, "--output", long),
        "stats": _solve(files, "--output", tmp_path / "a.txt", "--stats", long),
        "generate": ["generate", "maze", "--cells", "3", "--count", "2", "--out",
                     long.with_suffix(".npz")],  # fmt: skip
        "animate": ["animate", "sudoku", "--input", files / "s4.txt", "--checkpoint",
                    files / "s4.pt", "--out", long.with_suffix(".gif"), "--quiet"],  # fmt: skip
        "bench": ["bench", "sudoku", "--input", files / "s4.txt", "--checkpoint", files / "s4.pt",
                  "--out", long.with_suffix(""), "--quiet"],  # fmt: skip
        "train": ["train", "sudoku", "--size", "4", "--preset", "tiny", "--out",
                  long.with_suffix("")],  # fmt: skip
    }[where]
    _one_line_exit_2(capsys, argv, "too long")
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_a_link_or_a_pipe_is_refused(files, capsys, tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("keep me\n")
    link = tmp_path / "link.txt"
    os.symlink(target, link)
    _one_line_exit_2(capsys, _solve(files, "--output", link), "is a symbolic link")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _one_line_exit_2(capsys, _solve(files, "--output", fifo), "not a regular file")
    assert target.read_text() == "keep me\n" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link.txt", "real.txt"]


@pytest.mark.parametrize("command", ["generate", "solve", "animate"])
def test_a_full_disk_is_one_line_and_leaves_nothing(files, capsys, tmp_path, monkeypatch, command):
    import puzzles.atomic

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(puzzles.atomic.os, "fsync", full)
    argv = {
        "generate": ["generate", "sudoku", "--size", "4", "--count", "3", "--workers", "1",
                     "--out", tmp_path / "g.npz"],  # fmt: skip
        "solve": _solve(files, "--output", tmp_path / "a.txt", "--stats", tmp_path / "s.json"),
        "animate": ["animate", "sudoku", "--input", files / "s4.txt", "--checkpoint",
                    files / "s4.pt", "--out", tmp_path / "a.gif", "--quiet"],  # fmt: skip
    }[command]
    _one_line_exit_2(capsys, argv, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_an_input_that_is_a_pipe_or_a_device_is_refused_not_read(files, capsys, tmp_path):
    fifo = tmp_path / "in.txt"
    os.mkfifo(fifo)  # reading it would block for ever
    cases = [
        (_solve(files, "--input", fifo, "--output", tmp_path / "a.txt"), "not a regular file"),
        (_solve(files, "--input", "/dev/zero", "--output", tmp_path / "a.txt"), "/dev/zero"),
        (_solve(files, "--checkpoint", fifo, "--output", tmp_path / "a.txt"), "in.txt"),
        (["validate", "sudoku", "--input", files / "s4.txt", "--solutions", fifo], "in.txt"),
        (["plot", "bench", fifo, "--out", tmp_path / "p.png"], "in.txt"),
        (_solve(files, "--output", tmp_path / "a.txt", "--config", fifo), "--config"),
    ]
    for argv, needle in cases:
        _one_line_exit_2(capsys, argv, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_a_file_name_with_a_newline_gives_one_line(files, capsys, tmp_path):
    odd = tmp_path / "two\nlines.txt"
    odd.write_text("not a sudoku\n")
    line = _one_line_exit_2(capsys, _solve(files, "--input", odd, "--output", tmp_path / "a.txt"),
                            "two\\nlines.txt")  # fmt: skip
    assert "\n" not in line


# --- task plugins ----------------------------------------------------------------------------------


@pytest.mark.parametrize("plugin, needle", [
    ("no_such_plugin_module", "ModuleNotFoundError"),
    ("raising_plugin", "RuntimeError: plugin broke"),
    ("syntax_plugin", "SyntaxError"),
    ("../etc", "'../etc'"),
    ("clashing_plugin", "task name 'sudoku' is taken"),
])  # fmt: skip
def test_a_broken_task_plugin_is_one_line_naming_it(tmp_path, plugin, needle):
    (tmp_path / "raising_plugin.py").write_text("raise RuntimeError('plugin broke')\n")
    (tmp_path / "syntax_plugin.py").write_text("def broken(:\n")
    (tmp_path / "clashing_plugin.py").write_text(
        "from puzzles.sudoku import SudokuTask\nfrom puzzles.task import register_task\n"
        "class Other(SudokuTask):\n    pass\nregister_task(Other())\n"
    )
    env = {**os.environ, "UNMASK_TASKS": plugin, "PYTHONPATH": f"{tmp_path}:{REPO}"}
    for argv in (["--help"], ["validate", "sudoku", "--input", str(tmp_path / "x.txt")]):
        res = subprocess.run([sys.executable, "-c", _MAIN, *argv], capture_output=True,
                             text=True, env=env, timeout=120)  # fmt: skip
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1, res.stderr
        assert "UNMASK_TASKS" in lines[0] and repr(plugin) in lines[0] and needle in lines[0]


# --- model files ------------------------------------------------------------------------------------


def test_a_model_file_with_zero_heads_or_nan_weights_is_refused(files, capsys, tmp_path):
    good = torch.load(files / "s4.pt", weights_only=True)
    zero = {**good, "config": {**good["config"], "n_heads": 0}}
    torch.save(zero, tmp_path / "zero.pt")
    _one_line_exit_2(capsys, _solve(files, "--checkpoint", tmp_path / "zero.pt", "--output",
                                    tmp_path / "a.txt"), "n_heads must be")  # fmt: skip
    state = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
             for k, v in good["state_dict"].items()}  # fmt: skip
    torch.save({**good, "state_dict": state}, tmp_path / "nan.pt")
    _one_line_exit_2(capsys, _solve(files, "--checkpoint", tmp_path / "nan.pt", "--output",
                                    tmp_path / "a.txt"), "nan or inf")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.pt", "zero.pt"]


@pytest.mark.slow
def test_a_training_that_diverges_stops_without_a_model_file(capsys, tmp_path):
    out = tmp_path / "run"
    _one_line_exit_2(capsys, ["train", "sudoku", "--size", "4", "--preset", "tiny", "--lr",
                              "1e30", "--steps", "8", "--train-size", "40", "--val-size", "8",
                              "--no-progress", "--out", out], "training diverged")  # fmt: skip
    assert not (out / "model.pt").exists()


# --- npz files hold what their text would be refused for --------------------------------------------


def _npz(path, task, puzzles, solutions=None):
    from puzzles.datasets import Dataset, save_dataset

    save_dataset(path, Dataset(task, np.asarray(puzzles, np.int8),
                               None if solutions is None else np.asarray(solutions, np.int8)))


@pytest.mark.parametrize("case, needle", [
    ("sudoku 12", "outside 0..9"),
    ("no S", "no start 'S'"),
    ("two S", "second start 'S'"),
    ("S on a passage", "sits on a passage"),
    ("open border", "not a wall"),
])  # fmt: skip
def test_npz_files_meet_the_text_formats_rules(files, capsys, tmp_path, case, needle):
    from puzzles.maze_text import parse_maze_text
    from puzzles.tokens import OPEN, START, WALL

    if case == "sudoku 12":
        board = np.zeros((1, 9, 9), np.int8)
        board[0, 0, 0] = 12
        _npz(tmp_path / "p.npz", "sudoku", board)
        task = "sudoku"
    else:
        grid = parse_maze_text(MAZE)[0].copy()
        if case == "no S":
            grid[grid == START] = OPEN
        elif case == "two S":
            grid[3, 3] = START
        elif case == "S on a passage":
            grid[grid == START] = OPEN
            grid[1, 2] = START
        else:
            grid[0, 1] = OPEN
        assert (grid[0] == WALL).all() or case == "open border"
        _npz(tmp_path / "p.npz", "maze", grid[None])
        task = "maze"
    for argv in (["validate", task, "--input", tmp_path / "p.npz", "--solutions",
                  tmp_path / "p.npz"],  # fmt: skip
                 ["solve", task, "--input", tmp_path / "p.npz", "--output", tmp_path / "a.txt"]):
        _one_line_exit_2(capsys, argv, needle)
    assert not (tmp_path / "a.txt").exists()


# --- numbers too large to mean anything -------------------------------------------------------------


@pytest.mark.parametrize("extra, needle", [
    (["--search", "backtrack", "--max-nfe", "9" * 20], "--max-nfe"),
    (["--sampler", "topk", "--k", "9" * 20], "--k"),
    (["--sampler", "dus", "--block", "9" * 20], "--block"),
    (["--retries", "1e20"], "--retries"),
    (["--retries", "100000"], "--retries: must be at most 1,000"),
    (["--batch-size", "99999999999"], "--batch-size"),
])  # fmt: skip
def test_huge_whole_numbers_are_refused_where_parsed(files, capsys, extra, needle):
    _one_line_exit_2(capsys, _solve(files, "--output", files / "o.txt", *extra), needle)
    assert not (files / "o.txt").exists()


def test_huge_numbers_in_specs_and_bench_files(files, capsys, tmp_path):
    _one_line_exit_2(capsys, ["bench", "sudoku", "--input", files / "s4.txt", "--checkpoint",
                              files / "s4.pt", "--samplers", "topk:k=" + "9" * 30, "--quiet"],
                     "topk:k=")  # fmt: skip
    (tmp_path / "big.json").write_text('[{"sampler": "eb", "accuracy": 0.5, "mean_nfe": 3'
                                       + "0" * 5000 + "}]")  # fmt: skip
    _one_line_exit_2(capsys, ["plot", "bench", tmp_path / "big.json", "--out", tmp_path / "p.png"],
                     "big.json")  # fmt: skip
    (tmp_path / "nan.json").write_text('[{"sampler": "eb", "accuracy": NaN, "mean_nfe": 3}]')
    _one_line_exit_2(capsys, ["plot", "bench", tmp_path / "nan.json", "--out", tmp_path / "p.png"],
                     "accuracy nan")  # fmt: skip
    assert not (tmp_path / "p.png").exists()


def test_animate_hold_frames_and_retries_are_capped(files, capsys, tmp_path):
    _one_line_exit_2(capsys, ["animate", "sudoku", "--input", files / "s4.txt", "--checkpoint",
                              files / "s4.pt", "--hold-frames", "100000000", "--out",
                              tmp_path / "a.gif"], "--hold-frames: must be at most 1,000")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


# --- training options that cannot work, refused before anything is written ---------------------------


@pytest.mark.parametrize("extra, needle", [
    (["--pos", "rope2d", "--sizes", "9,16"], "one model needs one vocabulary"),
    (["--accelerator", "gpu"], "--accelerator gpu: torch sees no CUDA device"),
    (["--strategy", "bogus"], "--strategy 'bogus'"),
    (["--batch-size", "99999999999"], "--batch-size"),
    (["--batch-size", "1000000", "--d-model", "1024", "--d-ff", "4096"], "of memory"),
])  # fmt: skip
def test_train_options_that_cannot_work_write_nothing(capsys, tmp_path, extra, needle):
    if "--accelerator" in extra and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = tmp_path / "run"
    _one_line_exit_2(capsys, ["train", "sudoku", "--size", "4", "--preset", "tiny", *extra,
                              "--no-progress", "--out", out], needle)  # fmt: skip
    assert not out.exists()


def test_resume_from_a_truncated_checkpoint_is_one_line(capsys, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.ckpt").write_bytes(b"PK\x03\x04 truncated")
    (out / "config.json").write_text(json.dumps({
        "train": default_config("sudoku", 4, "tiny", 0).to_dict(),
        "model": ModelConfig.from_spec(get_task("sudoku").spec(4), "tiny").to_dict(),
    }))  # fmt: skip
    before = _listing(out)
    _one_line_exit_2(capsys, ["train", "sudoku", "--size", "4", "--preset", "tiny", "--resume",
                              "--no-progress", "--out", out], "cannot resume")  # fmt: skip
    assert _listing(out) == before


@pytest.mark.slow
def test_sigint_during_training_says_interrupted_and_exits_130(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "sudoku", "--size", "4", "--preset", "tiny", "--steps", "100000",
            "--train-size", "60", "--val-size", "8", "--no-progress", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", _MAIN, *argv], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("logs/version_*/")) and time.monotonic() < deadline:
            time.sleep(0.5)  # training has started once Lightning made its log folder
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "unmask train: interrupted", err


# --- flags that would do nothing, and devices the machine lacks ---------------------------------------


@pytest.mark.parametrize("extra, needle", [
    (["--branch-entropy", "0.1"], "--branch-entropy applies to --search backtrack only"),
    (["--search", "remask", "--branch-entropy", "0.1"], "--branch-entropy applies"),
    (["--max-nfe", "50"], "--max-nfe is the budget of a search"),
    (["--retry-temperature", "0.7"], "--retry-temperature needs --retries"),
    (["--device", "mps"], "--device mps"),
    (["--device", "cuda:7"], "--device cuda:7"),
    (["--device", "tpu"], "--device 'tpu'"),
])  # fmt: skip
def test_solve_flags_that_would_do_nothing(files, capsys, extra, needle):
    if "cuda:7" in extra and torch.cuda.device_count() > 7:
        pytest.skip("this machine has eight GPUs")
    _one_line_exit_2(capsys, _solve(files, "--output", files / "o.txt", *extra), needle)
    assert not (files / "o.txt").exists()


def test_bench_and_train_flags_that_would_do_nothing(files, capsys, tmp_path):
    _one_line_exit_2(capsys, ["bench", "sudoku", "--input", files / "s4.txt", "--checkpoint",
                              files / "s4.pt", "--branch-entropy", "0.1", "--quiet"],
                     "--branch-entropy applies")  # fmt: skip
    out = tmp_path / "run"
    _one_line_exit_2(capsys, ["train", "sudoku", "--size", "4", "--init", files / "s4.pt",
                              "--d-model", "32", "--no-progress", "--out", out],
                     "--d-model 32 does not combine with --init")  # fmt: skip
    assert not out.exists()
