"""The CPU training figures of README.md: the tiny preset on 4x4 Sudoku and on 3x3-cell mazes,
scored on puzzles held out of training up to symmetry (as ``tests/models/test_train.py`` does).

    python benchmarks/train_tiny.py --json docs/results/train_tiny_cpu.json

Each run is the real ``unmask train`` command in a subprocess on one torch thread. The
training file drops the held-out symmetry classes (``puzzles.datasets.split_by_class``); the
evaluation puzzles are fresh ones from those classes. Prints a markdown table, writes JSON.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import machine_info, write_json

from models.checkpoint import load_model
from puzzles import maze, sudoku
from puzzles.datasets import Dataset, save_dataset, split_by_class
from sampling.samplers import TopKSampler
from sampling.solve import solve_puzzles

RUNS = {
    "sudoku 4x4": dict(
        make=lambda n, seed: Dataset(
            "sudoku", *sudoku.generate_many(n, seed, box=2, progress=False)[:2]
        ),
        train=(2000, 4401),
        every=4,
        argv=["train", "sudoku", "--size", "4", "--preset", "tiny", "--seed", "0"],
    ),  # fmt: skip
    "maze 3x3": dict(
        make=lambda n, seed: Dataset("maze", *maze.generate_many(n, seed, 3, progress=False)[:2]),
        train=(8000, 4402),
        every=5,
        argv=[
            "train",
            "maze",
            "--cells",
            "3",
            "--preset",
            "tiny",
            "--steps",
            "1000",
            "--batch-size",
            "64",
            "--lr",
            "2e-3",
            "--seed",
            "0",
        ],
    ),  # fmt: skip
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    rows = []
    with tempfile.TemporaryDirectory(prefix="train_tiny_") as tmp:
        for name, r in RUNS.items():
            train, _ = split_by_class(r["make"](*r["train"]), r["every"])
            save_dataset(Path(tmp) / f"{name[:4]}.npz", train)
            _, held = split_by_class(r["make"](4000, 987_654 if name[0] == "s" else 987_655),
                                     r["every"])  # fmt: skip
            out = Path(tmp) / name.replace(" ", "_")
            cmd = [*r["argv"], "--data", str(Path(tmp) / f"{name[:4]}.npz"), "--out", str(out),
                   "--no-progress"]  # fmt: skip
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "unmask_cli", *cmd], env=env,
                                  capture_output=True, text=True)  # fmt: skip
            wall = time.perf_counter() - t0
            if proc.returncode:
                raise SystemExit(proc.stderr[-2000:])
            loaded = load_model(out / "model.pt")
            test = held.puzzles[:300]
            report = solve_puzzles(loaded.model, loaded.spec, test, TopKSampler(1, "confidence"))
            rows.append({
                "run": name, "command": "unmask " + " ".join(r["argv"]) + " --data TRAIN --out DIR",
                "train_puzzles": len(train), "steps": loaded.summary["steps"],
                "train_seconds": loaded.summary["seconds"], "wall_seconds": round(wall, 1),
                "steps_per_s": loaded.summary["steps_per_s"], "held_out": len(test),
                "top1_solved": report.solved, "top1_accuracy": report.solved / report.n,
            })  # fmt: skip
            print(rows[-1], flush=True)
    print("\n| run | training puzzles | steps | train s (wall s) | greedy top-1, held out |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['train_puzzles']} | {r['steps']} | {r['train_seconds']:.0f} "
              f"({r['wall_seconds']:.0f}) | {r['top1_solved']}/{r['held_out']} "
              f"({100 * r['top1_accuracy']:.1f}%) |")  # fmt: skip
    if args.json:
        write_json(args.json, {"rows": rows, "machine": machine_info(threads=1)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
