"""A third puzzle family, defined outside the package (``tests/plugins/latin_task.py``), goes
through generate -> train -> solve with EB -> validate -> animate: once through the public API
and once through the ``unmask`` command (a subprocess that finds the family through the
``UNMASK_TASKS`` environment variable). No file of the package names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
sys.path.insert(0, str(PLUGINS))

import latin_task  # noqa: E402  (registers the "latin" task)

from puzzles.generate import generate_many  # noqa: E402
from puzzles.task import check_answers, get_task, task_names  # noqa: E402


def test_the_family_is_registered_and_its_checks_are_exact():
    assert "latin" in task_names() and get_task("latin") is latin_task.TASK
    task = latin_task.TASK
    spec = task.spec(4)
    puzzles, solutions, extra = generate_many(task, spec, 12, seed=3, workers=1, progress=False)
    assert puzzles.shape == (12, 4, 4) and (extra["clues"] == (puzzles > 0).sum((1, 2))).all()
    assert all(r is None for r in check_answers(spec, puzzles, solutions))
    broken = solutions.copy()
    broken[:, 0, [0, 1]] = broken[:, 0, [1, 0]]  # swap two symbols of a row: columns break
    assert all(r is not None for r in check_answers(spec, puzzles, broken))
    # partial check: a symbol twice in a column is a conflict; the rest of the row is forced
    tokens = torch.from_numpy(spec.encode_puzzle(puzzles[:1]))
    tokens[0, :] = spec.mask_id
    tokens[0, 0], tokens[0, 4] = 2, 2  # (0, 0) and (1, 0) both hold symbol 3
    check = task.partial_check(spec, tokens)
    assert check.conflict[0, [0, 4]].all() and check.conflict[0].sum() == 2
    assert not check.allowed[0, 8, 2] and check.allowed[0, 9, 2]  # column 0 holds 3 already


def test_generate_train_solve_validate_animate_through_the_api(tmp_path):
    from models.checkpoint import load_model
    from models.config import Runtime
    from models.train import default_config, run
    from puzzles.datasets import Dataset, load_dataset, save_dataset
    from sampling.samplers import EBSampler
    from sampling.solve import solve_puzzles, trace_puzzle
    from viz.animate import write_animation
    from viz.trace import row_trace

    task = get_task("latin")
    spec = task.spec(4)
    puzzles, solutions, _ = generate_many(task, spec, 40, seed=11, workers=1, progress=False)
    save_dataset(tmp_path / "l.txt", Dataset("latin", puzzles, solutions))
    ds = load_dataset(tmp_path / "l.txt", task="latin")  # text files carry no task name
    assert np.array_equal(ds.puzzles, puzzles) and np.array_equal(ds.solutions, solutions)

    cfg = default_config("latin", 4, "tiny", 0, steps=20, batch_size=16, train_size=60,
                         val_size=8, val_every=10, num_workers=0)  # fmt: skip
    run(cfg, tmp_path / "run", runtime=Runtime(progress=False))
    loaded = load_model(tmp_path / "run" / "model.pt", task="latin", size=4)
    report = solve_puzzles(loaded.model, spec, puzzles, EBSampler(0.01))
    assert report.n == 40 and (report.nfe >= 1).all()  # 20 steps: any accuracy will do
    # every verdict is the family's exact check of the answer given (reasons, not just counts)
    assert report.reasons == check_answers(spec, puzzles, report.answers)
    assert all(r is None or "permutation" in r or "changes a given" in r for r in report.reasons)
    ((result, outcome),) = trace_puzzle(loaded.model, spec, puzzles[0], [("eb", EBSampler(0.01))])
    (reason,) = check_answers(spec, puzzles[:1], result.tokens)
    assert outcome == ("valid answer" if reason is None else f"invalid: {reason}")
    info = write_animation(spec, [row_trace(result)], ["eb"], tmp_path / "l.gif", progress=False)
    assert info.path.stat().st_size > 0 and info.num_frames == int(result.nfe[0]) + 1 + 4


@pytest.mark.slow
def test_generate_train_solve_validate_animate_through_the_command(tmp_path):
    env = dict(
        os.environ,
        UNMASK_TASKS="latin_task",
        PYTHONPATH=os.pathsep.join([str(PLUGINS), os.environ.get("PYTHONPATH", "")]),
    )

    def unmask(*args: str) -> str:
        cmd = [sys.executable, "-m", "unmask_cli", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    data = tmp_path / "latin.npz"
    assert "wrote 30 latin puzzles" in unmask(
        "generate", "latin", "--size", "4", "--count", "30", "--seed", "5", "--out", str(data)
    )
    unmask("train", "latin", "--size", "4", "--preset", "tiny", "--steps", "20",
           "--batch-size", "16", "--data", str(data), "--val-size", "8", "--val-every", "10",
           "--out", str(tmp_path / "run"), "--no-progress")  # fmt: skip
    model = str(tmp_path / "run" / "model.pt")
    out = unmask("solve", "latin", "--input", str(data), "--checkpoint", model, "--sampler", "eb",
                 "--output", str(tmp_path / "answers.txt"), "--quiet")  # fmt: skip
    assert "solved" in out and (tmp_path / "answers.txt").is_file()
    verdicts = unmask("validate", "latin", "--input", str(data),
                      "--solutions", str(tmp_path / "answers.txt"))  # fmt: skip
    lines = verdicts.strip().splitlines()
    # the command's verdicts are the family's own check of the file's answers, puzzle by puzzle
    from puzzles.datasets import load_dataset, read_answers

    ds = load_dataset(data, task="latin")
    reasons = check_answers(ds.spec, ds.puzzles, read_answers(tmp_path / "answers.txt", "latin"))
    want = [f"puzzle {i}: valid" if r is None else f"puzzle {i}: invalid: {r}"
            for i, r in enumerate(reasons, start=1)]  # fmt: skip
    assert lines[:-1] == want
    assert lines[-1] == f"valid {sum(r is None for r in reasons)} of 30"
    assert f"solved {sum(r is None for r in reasons)}/30" in out
    unmask("animate", "latin", "--input", str(data), "--checkpoint", model,
           "--out", str(tmp_path / "l.gif"), "--quiet")  # fmt: skip
    assert (tmp_path / "l.gif").stat().st_size > 0
