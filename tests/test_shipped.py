"""The shipped artefacts: both models load and solve their held-out sets on the CPU above floors
set from the figures in README.md, and the benchmark data files load and their solutions
validate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.checkpoint import SHIPPED_DIR, load_model
from puzzles.datasets import load_dataset
from puzzles.task import check_answers
from sampling.options import SolveOptions
from sampling.samplers import EBSampler
from sampling.solve import solve_puzzles

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


@pytest.fixture(autouse=True)
def _two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(min(2, before))
    yield
    torch.set_num_threads(before)


def test_every_shipped_model_loads_with_its_spec():
    files = sorted(SHIPPED_DIR.glob("*.pt"))
    assert [f.name for f in files] == ["maze10.pt", "sudoku9.pt"]
    for f in files:
        loaded = load_model(f)
        assert f.name == f"{loaded.spec.task}{loaded.spec.size}.pt"
        assert loaded.model.num_parameters() == loaded.summary["parameters"]


@pytest.mark.slow
def test_shipped_sudoku_model_on_64_held_out_puzzles():
    """README (H100, 2,000 puzzles): EB gamma 0.01 72.7%; with backtracking 99.9% or more."""
    ds = load_dataset(DATA / "sudoku9_heldout.npz")
    loaded = load_model(None, task="sudoku", size=9)
    puzzles = ds.puzzles[:64]
    alone = solve_puzzles(loaded.model, loaded.spec, puzzles, EBSampler(0.01))
    assert alone.solved / alone.n >= 0.55 and 5 <= alone.nfe.mean() <= 15
    search = solve_puzzles(loaded.model, loaded.spec, puzzles,
                           SolveOptions(sampler=EBSampler(0.01), search="backtrack"))
    assert search.solved / search.n >= 0.95 and search.nfe.mean() <= 25


@pytest.mark.slow
def test_shipped_maze_model_on_64_held_out_mazes():
    """README (H100, 500 mazes): EB gamma 0.01 100.0% of Prim mazes at 4.4 NFE."""
    ds = load_dataset(DATA / "maze10_prim_heldout.npz")
    loaded = load_model(None, task="maze", size=10)
    report = solve_puzzles(loaded.model, loaded.spec, ds.puzzles[:64], EBSampler(0.01))
    assert report.solved / report.n >= 0.95 and report.nfe.mean() <= 8


@pytest.mark.parametrize("path", sorted(DATA.glob("*.npz")), ids=lambda p: p.name)
def test_benchmark_datasets_load_and_their_solutions_validate(path):
    ds = load_dataset(path)
    assert ds.solutions is not None and len(ds) >= 200
    assert all(r is None for r in check_answers(ds.spec, ds.puzzles, ds.solutions))
    given = ds.spec.unknown_mask(ds.puzzles)  # the solutions keep every given
    flat_p, flat_s = ds.puzzles.reshape(len(ds), -1), ds.solutions.reshape(len(ds), -1)
    assert np.array_equal(flat_p[~given], flat_s[~given])


def test_the_17_clue_sample_loads_and_is_uniquely_solvable():
    from puzzles import sudoku

    ds = load_dataset(DATA / "sudoku17_2000.txt")
    assert len(ds) == 2000 and ((ds.puzzles > 0).sum((1, 2)) == 17).all()
    assert all(sudoku.is_unique(p) for p in ds.puzzles[:40])
