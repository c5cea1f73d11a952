"""Writes are atomic: a failure in the middle of a write leaves the old file intact and no
temporary file behind (datasets, several files at once, model.pt, solve stats, bench tables)."""

from __future__ import annotations

import os

import pytest
import torch

from puzzles import atomic, sudoku
from puzzles.datasets import Dataset, save_dataset
from puzzles.errors import UnmaskError


class Boom(OSError):
    """A file system failure (the writers turn it into a one-line UnmaskError)."""


@pytest.fixture
def failing_fsync(monkeypatch):
    """Make the n-th fsync fail (after the data is in the temporary file, before any rename),
    as a full disk or a kill would."""

    def arm(nth: int = 1):
        calls = {"n": 0}
        real = os.fsync

        def fsync(fd):
            calls["n"] += 1
            if calls["n"] == nth:
                raise Boom("injected failure")
            return real(fd)

        monkeypatch.setattr(atomic.os, "fsync", fsync)

    return arm


def _dataset() -> Dataset:
    puzzles, solutions, _ = sudoku.generate_many(4, seed=1, box=2, workers=1, progress=False)
    return Dataset("sudoku", puzzles, solutions)


def _no_temporaries(folder) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("name", ["d.npz", "d.txt"])
def test_dataset_write_failure_keeps_the_old_files(tmp_path, failing_fsync, name):
    path = tmp_path / name
    save_dataset(path, _dataset())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    other = _dataset()
    other.puzzles = other.puzzles[::-1].copy()
    other.solutions = other.solutions[::-1].copy()
    failing_fsync(2 if name.endswith(".txt") else 1)  # .txt: fail on the solutions file
    with pytest.raises(UnmaskError, match="injected failure; nothing was written"):
        save_dataset(path, other)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    _no_temporaries(tmp_path)


def test_several_files_are_written_all_or_nothing(tmp_path, failing_fsync):
    a, b = tmp_path / "answers.txt", tmp_path / "stats.json"
    a.write_text("old answers\n")
    failing_fsync(2)  # the second file fails: the first must not be renamed into place either
    with pytest.raises(UnmaskError, match="injected failure; nothing was written"):
        atomic.write_files({a: "new answers\n", b: "{}\n"})
    assert a.read_text() == "old answers\n" and not b.exists()
    _no_temporaries(tmp_path)


def test_model_file_write_failure_keeps_the_old_model(tmp_path, failing_fsync):
    from models.checkpoint import load_model, save_model
    from models.config import ModelConfig
    from models.denoiser import Denoiser
    from puzzles.task import get_task

    cfg = ModelConfig.from_spec(get_task("sudoku").spec(4), "tiny", d_model=16, n_layers=1, n_heads=2, d_ff=32)
    torch.manual_seed(0)
    save_model(tmp_path / "model.pt", Denoiser(cfg), {"which": "old"})
    failing_fsync()
    with pytest.raises(UnmaskError, match="injected failure; nothing was written"):
        save_model(tmp_path / "model.pt", Denoiser(cfg), {"which": "new"})
    assert load_model(tmp_path / "model.pt").summary == {"which": "old"}
    _no_temporaries(tmp_path)


def test_bench_tables_are_written_together(tmp_path, failing_fsync):
    from sampling.bench import write_bench

    row = {"sampler": "eb", "name": "eb", "family": "eb", "params": {}, "n": 1, "solved": 1,
           "accuracy": 1.0, "mean_nfe": 2.0}  # fmt: skip
    write_bench(str(tmp_path / "b"), [row])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    failing_fsync(2)
    with pytest.raises(UnmaskError, match="injected failure; nothing was written"):
        write_bench(str(tmp_path / "b"), [dict(row, accuracy=0.0)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    _no_temporaries(tmp_path)
