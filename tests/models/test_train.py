"""``unmask train``: option errors, the 4x4 Sudoku and 3x3 maze CPU targets, resume after a kill, DDP.

The training runs are marked slow (they still run in CI). Runs that must behave like the real
command go through a subprocess of the ``unmask`` console script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import unmask_cli
from models.checkpoint import load_model
from puzzles import sudoku

# A small, fast run: 4x4 Sudoku, tiny preset, few steps.
SMALL_RUN = ["train", "sudoku", "--size", "4", "--preset", "tiny", "--train-size", "200",
             "--val-size", "32", "--batch-size", "32", "--no-progress"]  # fmt: skip


def _unmask(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    # ``-m`` (not ``-c``) so that Lightning's DDP launcher can re-run the same command.
    cmd = [sys.executable, "-m", "unmask_cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


# Run the real command in a subprocess with one extra Lightning callback that SIGKILLs the
# process once ``step`` optimizer steps are done (a test hook kept out of the package).
_KILL_DRIVER = """
import functools, os, signal, sys
from lightning.pytorch.callbacks import Callback
import models.train, unmask_cli

class KillAtStep(Callback):
    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step >= STEP:
            os.kill(os.getpid(), signal.SIGKILL)

models.train.run = functools.partial(models.train.run, extra_callbacks=[KillAtStep()])
sys.exit(unmask_cli.main(sys.argv[1:]))
"""


def _unmask_killed_at(step: int, *args: str) -> subprocess.CompletedProcess:
    code = _KILL_DRIVER.replace("STEP", str(step))
    cmd = [sys.executable, "-c", code, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def _greedy_solve_rate(loaded, puzzles) -> tuple[float, list]:
    """Greedy top-1 (most probable cell first) solve rate, with the exact validator."""
    from sampling.samplers import TopKSampler
    from sampling.solve import solve_puzzles

    report = solve_puzzles(loaded.model, loaded.spec, puzzles, TopKSampler(1, "confidence"))
    return report.solved / report.n, report.reasons


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


# --- option errors (fast: they fail before any training) ---------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "5"], "--size: Sudoku size must be 4, 9 or 16, got 5"),
        (["--cells", "4"], "unrecognized arguments: --cells"),
        (["--size", "4", "--steps", "0"], "argument --steps: must be a whole number >= 1"),
        (["--size", "4", "--ema", "1.5"], "argument --ema: must be a number in [0, 1)"),
        (["--size", "4", "--data", "no/such.npz"], "no/such.npz: file not found"),
        (["--size", "4", "--resume"], "last.ckpt: not found"),
    ],
)
def test_bad_options_exit_2(args, message, tmp_path, capsys):
    rc = unmask_cli.main(["train", "sudoku", *args, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err


def test_resume_refuses_changed_options(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    from models.train import default_config

    cfg = default_config("sudoku", 4, "tiny", 0)
    (out / "config.json").write_text(
        json.dumps({"train": cfg.to_dict(), "model": {"pos": "rowcol"}})
    )
    (out / "last.ckpt").write_bytes(b"")
    rc = unmask_cli.main(["train", "sudoku", "--resume", "--lr", "0.5", "--out", str(out)])
    assert rc == 2
    assert "--lr 0.5 differs from the run" in capsys.readouterr().err
    # A fresh run never overwrites an existing one.
    rc = unmask_cli.main(["train", "sudoku", "--size", "4", "--out", str(out)])
    assert rc == 2
    assert "already holds a run" in capsys.readouterr().err


# --- training runs ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def default_4x4_run(tmp_path_factory):
    """The issue's CPU target, exactly as a user types it."""
    out = tmp_path_factory.mktemp("s4") / "run"
    t0 = time.perf_counter()
    proc = _unmask("train", "sudoku", "--size", "4", "--preset", "tiny", "--seed", "0",
                   "--out", str(out), "--no-progress")  # fmt: skip
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"\n4x4 tiny default run: {seconds:.0f} s wall\n{proc.stdout}")
    return out


@pytest.mark.slow
def test_default_4x4_run_solves_95_percent_of_fresh_puzzles(default_4x4_run):
    out = default_4x4_run
    for name in ("model.pt", "last.ckpt", "best.ckpt", "config.json"):
        assert (out / name).is_file(), name
    assert list(out.glob("logs/version_*/metrics.csv"))
    loaded = load_model(out / "model.pt", task="sudoku", size=4)
    assert (
        loaded.summary["steps"] == json.loads((out / "config.json").read_text())["train"]["steps"]
    )
    # 300 fresh puzzles from a seed no training stream uses.
    puzzles, _, _ = sudoku.generate_many(300, seed=987_654, box=2, progress=False)
    rate, reasons = _greedy_solve_rate(loaded, puzzles)
    print(f"4x4 greedy top-1 solve rate on 300 fresh puzzles: {rate:.3f}")
    assert rate >= 0.95, [r for r in reasons if r][:5]
    # The Lightning checkpoint loads as a model too.
    assert load_model(out / "last.ckpt", task="sudoku", size=4).config == loaded.config


@pytest.mark.slow
def test_resume_after_kill_gives_identical_weights(tmp_path):
    """Kill a run with SIGKILL at step 25 (last.ckpt was written at step 20), resume it, and
    compare with an uninterrupted run: every batch is a function of (seed, rank, step) and the
    checkpoint holds model, optimizer, schedule and EMA, so the weights match exactly."""
    args = [*SMALL_RUN, "--seed", "3", "--steps", "30", "--ckpt-every", "10", "--val-every", "15",
            "--ema", "0.9"]  # fmt: skip
    full = _unmask(*args, "--out", str(tmp_path / "full"))
    assert full.returncode == 0, full.stderr[-3000:]
    killed = _unmask_killed_at(25, *args, "--out", str(tmp_path / "cut"))
    assert killed.returncode == -9  # SIGKILL: no clean shutdown
    assert torch.load(tmp_path / "cut" / "last.ckpt", weights_only=True)["global_step"] == 20
    assert not (tmp_path / "cut" / "model.pt").exists()
    resumed = _unmask(*args, "--out", str(tmp_path / "cut"), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = _weights(tmp_path / "full" / "model.pt"), _weights(tmp_path / "cut" / "model.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    a = _weights(tmp_path / "full" / "last.ckpt")
    b = _weights(tmp_path / "cut" / "last.ckpt")
    assert all(torch.equal(a[k], b[k]) for k in a)  # live (non-EMA) weights too


@pytest.mark.slow
def test_maze_tiny_3x3_run_solves_93_percent_of_fresh_mazes(tmp_path):
    """The maze CPU figure: tiny preset, 3x3-cell DFS mazes (7x7 tokens), 1000 steps (about 1.5
    minutes on 2 cores). Measured here: 98.3% of these 300 fresh mazes by greedy top-1 (97.0% on
    another 300); the bound leaves room for a run on other hardware. (4x4-cell mazes reach 99-100% after 3000
    steps, but that takes 12 minutes: too long for the suite.)"""
    from puzzles import maze

    out = tmp_path / "m"
    proc = _unmask("train", "maze", "--cells", "3", "--preset", "tiny", "--steps", "1000",
                   "--seed", "0", "--out", str(out), "--no-progress")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = load_model(out / "model.pt", task="maze", size=3)
    assert loaded.spec.height == 7 and loaded.model.cfg.num_values == 2
    with pytest.raises(Exception, match="model is for maze 3x3, not sudoku"):
        load_model(out / "model.pt", task="sudoku", size=4)
    puzzles, _, _ = maze.generate_many(300, seed=987_655, h=3, w=3, progress=False)
    rate, reasons = _greedy_solve_rate(loaded, puzzles)
    print(f"3x3 maze greedy top-1 solve rate on 300 fresh mazes: {rate:.3f}")
    assert rate >= 0.93, [r for r in reasons if r][:5]


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    """Lightning's own DDP with two CPU processes on gloo, a few steps."""
    out = tmp_path / "ddp"
    proc = _unmask(*SMALL_RUN, "--seed", "0", "--steps", "6", "--val-every", "3",
                   "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp",
                   "--out", str(out), timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = load_model(out / "model.pt").summary
    assert summary["world_size"] == 2 and summary["steps"] == 6
