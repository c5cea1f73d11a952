"""The GPU scripts (issue 24) in their toy mode: the real commands at seconds-long scale on the CPU.

A GPU run is rare and short, so a script broken by a change elsewhere (a flag renamed, a module
moved, a file format changed) must fail here and not there. Each test runs one script with
``TOY=1`` and checks what it brings back, the way a device run's files are read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from models.checkpoint import load_model

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run_script(name: str, out: Path) -> subprocess.CompletedProcess:
    # TORCH_COMPILE_DISABLE: --compile keeps its code path but skips the minutes-long CPU compile
    # (the compiled path has its own tests in tests/sampling).
    env = dict(
        os.environ, TOY="1", TORCH_COMPILE_DISABLE="1", UNMASK=f"{sys.executable} -m unmask_cli"
    )
    # The scripts call python3: make it this interpreter (the venv's), as on the device machine.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(["bash", f"scripts/{name}", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, (
        f"{name} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def members(path: Path) -> set[str]:
    with tarfile.open(path) as tar:
        return {Path(m.name).name for m in tar.getmembers() if m.isfile()}


def bench_rows(summary: str) -> list[str]:
    """The bench table rows of a summary.txt: markdown lines naming a sampler spec."""
    return [
        line
        for line in summary.splitlines()
        if line.startswith("|") and ("eb:" in line or "topk:" in line)
    ]


def brought_back(out: Path) -> list[str]:
    """The files a device run would bring back from OUT (nothing else may be left there)."""
    return sorted(p.name for p in out.iterdir())


def test_gpu_sudoku_toy(tmp_path):
    run_script("gpu_sudoku.sh", tmp_path)
    assert brought_back(tmp_path) == ["results.tar.gz", "sudoku9.pt", "summary.txt"]
    loaded = load_model(tmp_path / "sudoku9.pt", task="sudoku", size=9)
    assert loaded.summary["preset"] == "tiny" and loaded.summary["steps"] >= 50
    got = members(tmp_path / "results.tar.gz")
    assert {"config.json", "metrics.csv", "steps.log", "train.log", "bench.txt", "overlap.txt",
            "bench_train.json"} <= got  # fmt: skip
    summary = (tmp_path / "summary.txt").read_text()
    assert "== " in summary and "done" in summary
    # two held-out sets x four samplers x (alone, backtrack)
    assert len(bench_rows(summary)) == 2 * 4 * 2, summary


def test_gpu_maze_toy(tmp_path):
    run_script("gpu_maze.sh", tmp_path)
    assert brought_back(tmp_path) == ["maze.pt", "results.tar.gz", "summary.txt"]
    loaded = load_model(tmp_path / "maze.pt", task="maze", size=4)
    assert loaded.model.cfg.pos == "rope2d"
    assert loaded.summary["sizes"] == [3, 4, 5]
    summary = (tmp_path / "summary.txt").read_text()
    # toy: two 10x10 sets x two samplers x two modes, then 15x15 x one sampler x two modes
    assert len(bench_rows(summary)) == 2 * 2 * 2 + 1 * 2, summary


def test_gpu_bench_toy(tmp_path):
    proc = run_script("gpu_bench.sh", tmp_path)
    assert "FAILED" not in proc.stdout
    assert brought_back(tmp_path) == ["compile.json", "gpu_tests.txt", "results.tar.gz",
                                      "throughput.json"]  # fmt: skip
    throughput = json.loads((tmp_path / "throughput.json").read_text())
    assert throughput["rows"], throughput
    tables = members(tmp_path / "results.tar.gz")
    assert {"bench_sudoku17.json", "bench_maze_open.json", "search_sudoku17_2000.json",
            "search_maze10_open_constrain_remask.json", "overhead.json", "hard_sudoku17_2000.json",
            "hard_maze10_open_propagate.json", "guess_compare_sudoku9_hard100.json"} <= tables, tables  # fmt: skip
