"""`unmask animate` and `unmask plot ...` end to end on tiny random-init models."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from puzzles.datasets import load_dataset
from unmask_cli import main


def _listing(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def _gif_count(path):
    with Image.open(path) as im:
        return im.n_frames, im.size


def _blanks(path, task, index=0):
    ds = load_dataset(path, task)
    board = ds.puzzles[index]
    return int((board == 0).sum())  # Sudoku blanks and maze open cells are both 0


def test_animate_sudoku_top1(tiny_files, tmp_path, capsys):
    out = tmp_path / "anim.gif"
    args = ["animate", "sudoku", "--input", str(tiny_files["sudoku_puzzles"]), "--index", "1"]
    args += ["--checkpoint", str(tiny_files["sudoku_model"]), "--sampler", "topk", "--k", "1"]
    rc = main([*args, "--hold-frames", "2", "--quiet", "--out", str(out)])
    assert rc == 0
    assert _listing(tmp_path) == ["anim.gif"]
    blanks = _blanks(tiny_files["sudoku_puzzles"], "sudoku", 1)
    # Top-1 reveals one cell per pass: NFE = blanks; one GIF frame per pass plus the start.
    assert _gif_count(out)[0] == blanks + 1
    printed = capsys.readouterr().out
    assert f"{blanks + 1 + 2} frames" in printed and f"NFE {blanks} (" in printed
    assert "valid answer" in printed or "invalid: " in printed  # the validator's verdict


def test_animate_compare_one_panel_per_sampler(tiny_files, tmp_path):
    single, both = tmp_path / "single.gif", tmp_path / "both.gif"
    common = ["animate", "sudoku", "--input", str(tiny_files["sudoku_puzzles"])]
    common += ["--checkpoint", str(tiny_files["sudoku_model"]), "--quiet"]
    assert main([*common, "--sampler", "topk", "--out", str(single)]) == 0
    rc = main([*common, "--compare", "topk:k=1", "topk:k=3,eb:gamma=0.5", "--out", str(both)])
    assert rc == 0
    blanks = _blanks(tiny_files["sudoku_puzzles"], "sudoku")
    n_single, size_single = _gif_count(single)
    n_both, size_both = _gif_count(both)
    assert n_both == n_single == blanks + 1  # the longest run (top-1) sets the timeline
    assert size_both[1] == size_single[1] and size_both[0] > 2.5 * size_single[0]  # 3 panels


def test_animate_maze_by_confidence(tiny_files, tmp_path):
    out = tmp_path / "maze.gif"
    args = ["animate", "maze", "--input", str(tiny_files["maze_puzzles"]), "--sampler", "topk"]
    args += ["--checkpoint", str(tiny_files["maze_model"]), "--color", "confidence", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    assert _gif_count(out)[0] == _blanks(tiny_files["maze_puzzles"], "maze") + 1


def test_animate_with_temperature_is_seeded(tiny_files, tmp_path):
    args = ["animate", "sudoku", "--input", str(tiny_files["sudoku_puzzles"]), "--quiet"]
    args += ["--checkpoint", str(tiny_files["sudoku_model"]), "--temperature", "1", "--seed", "3"]
    a, b = tmp_path / "a.gif", tmp_path / "b.gif"
    assert main([*args, "--out", str(a)]) == 0
    assert main([*args, "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_plot_order(tiny_files, tmp_path):
    out = tmp_path / "order.png"
    args = ["plot", "order", "--input", str(tiny_files["maze_puzzles"]), "--index", "1"]
    args += ["--checkpoint", str(tiny_files["maze_model"]), "--sampler", "eb", "--gamma", "0.5"]
    assert main([*args, "--out", str(out)]) == 0
    assert _listing(tmp_path) == ["order.png"]
    with Image.open(out) as im:
        assert im.format == "PNG"


def test_plot_bench_and_training(tmp_path):
    rows = [
        {"sampler": "topk:k=1", "family": "topk", "params": {"k": 1}, "accuracy": 0.9,
         "mean_nfe": 40.0},
        {"sampler": "eb:gamma=0.1", "family": "eb", "params": {"gamma": 0.1}, "accuracy": 0.9,
         "mean_nfe": 8.0},
    ]  # fmt: skip
    (tmp_path / "bench.json").write_text(json.dumps(rows))
    assert (
        main(["plot", "bench", str(tmp_path / "bench.json"), "--out", str(tmp_path / "b.svg")]) == 0
    )
    logs = tmp_path / "run" / "logs" / "version_0"
    logs.mkdir(parents=True)
    (logs / "metrics.csv").write_text(
        "epoch,step,train_loss,val_solve_rate\n0,10,1.5,\n0,20,,0.5\n"
    )
    assert main(["plot", "training", str(tmp_path / "run")]) == 0
    assert _listing(tmp_path) == [
        "b.svg",
        "bench.json",
        "run",
        "run/logs",
        "run/logs/version_0",
        "run/logs/version_0/metrics.csv",
        "run/training.png",
    ]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--index", "7"], "no puzzle #7"),
        (["--sampler", "eb", "--k", "2"], "--k applies to --sampler topk or random"),
        (["--compare", "topk:k=0"], "must be a whole number >= 1"),
        (["--compare", "magic"], "unknown sampler"),
        (["--compare", "topk", "--gamma", "0.1"], "--gamma does not combine with --compare"),
        (["--fps", "0"], "--fps"),
        (["--out-suffix", ".avi"], "gif or .mp4"),
    ],
)
def test_animate_user_errors_exit_2(tiny_files, tmp_path, capsys, extra, message):
    out = tmp_path / "x.gif"
    if extra and extra[0] == "--out-suffix":
        out, extra = tmp_path / f"x{extra[1]}", []
    args = ["animate", "sudoku", "--input", str(tiny_files["sudoku_puzzles"]), "--quiet"]
    args += ["--checkpoint", str(tiny_files["sudoku_model"]), "--out", str(out), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert _listing(tmp_path) == []


def test_wrong_model_and_missing_files_exit_2(tiny_files, tmp_path, capsys):
    # A Sudoku model asked to draw a maze, a missing puzzle file, a missing bench file.
    assert main(["animate", "maze", "--input", str(tiny_files["maze_puzzles"]), "--checkpoint",
                 str(tiny_files["sudoku_model"]), "--out", str(tmp_path / "m.gif")]) == 2  # fmt: skip
    assert "sudoku" in capsys.readouterr().err
    assert main(["plot", "order", "--input", str(tmp_path / "none.txt"), "--out",
                 str(tmp_path / "o.png")]) == 2  # fmt: skip
    assert "no such file" in capsys.readouterr().err
    assert (
        main(["plot", "bench", str(tmp_path / "none.json"), "--out", str(tmp_path / "b.png")]) == 2
    )
    assert main(["plot", "training", str(tmp_path), "--out", str(tmp_path / "t.png")]) == 2
    assert "no metrics.csv" in capsys.readouterr().err
    assert _listing(tmp_path) == []


def test_help_mentions_every_figure(capsys):
    assert main(["plot", "--help"]) == 0
    text = capsys.readouterr().out
    for name in ("order", "bench", "training"):
        assert name in text
