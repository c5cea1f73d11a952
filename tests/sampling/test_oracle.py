"""The exact 4x4 Sudoku denoiser and the counter-based randomness."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from puzzles.sudoku import check_answer, solve
from sampling import rng
from sampling.oracle import all_grids


def test_all_grids_are_the_288_valid_4x4_grids():
    grids = all_grids()
    assert grids.shape == (288, 16)
    assert len({tuple(g) for g in grids.tolist()}) == 288
    for g in grids[::17]:
        board = (g + 1).view(4, 4).numpy()
        assert check_answer(np.zeros((4, 4), dtype=np.int8), board) is None
    with pytest.raises(ValueError):
        all_grids(3)


def test_marginals_are_exact(oracle, make_puzzles):
    empty = torch.full((1, 16), 4)
    probs = oracle(empty).softmax(-1)
    assert torch.allclose(probs, torch.full_like(probs, 0.25))
    puzzles = make_puzzles(30, 6, seed=2)
    probs = oracle(puzzles).softmax(-1)  # (B, L, V)
    assert torch.allclose(probs.sum(-1), torch.ones(30, 16))
    given = puzzles != 4
    assert (probs.argmax(-1)[given] == puzzles[given]).all()
    assert (probs.amax(-1)[given] == 1).all()  # givens pass through
    for b in range(5):  # count check against the exact solver
        board = np.where(given[b], puzzles[b] + 1, 0).reshape(4, 4).astype(np.int8)
        assert int(oracle.count_completions(puzzles[b : b + 1])) == solve(board, limit=1000).count
    # a marginal is the share of completions holding the value
    b, cell = 0, int((~given[0]).nonzero()[0])
    comps = oracle.grids[oracle.consistent(puzzles[:1])[0]]
    share = torch.bincount(comps[:, cell], minlength=4).float() / len(comps)
    assert torch.allclose(probs[0, cell], share)


def test_contradictory_board_uses_nearest_grids(oracle):
    board = oracle.grids[0].clone()
    board[1] = board[0]  # row 1 repeats a digit: no completion
    board[2:] = 4
    assert oracle.count_completions(board[None]) == 0
    logits = oracle(board[None])
    assert torch.isfinite(logits.softmax(-1)).all()


def test_is_valid(oracle):
    grid = oracle.grids[5]
    puzzle = torch.where(torch.arange(16) < 8, grid, 4)
    bad = grid.clone()
    bad[[12, 13]] = bad[[13, 12]]  # swap two cells of the last row: breaks columns
    answers = torch.stack([grid, bad, puzzle])
    assert oracle.is_valid(answers, puzzle.expand(3, 16)).tolist() == [True, False, False]


def test_rng_streams_are_row_local_and_uniform():
    seeds = torch.tensor([1, 2, 3, 4])
    u = rng.uniform(seeds, rng.STREAM_DRAW, 7, (5000,))
    assert ((u > 0) & (u < 1)).all()
    assert torch.allclose(u.mean(1), torch.full((4,), 0.5, dtype=torch.float64), atol=0.02)
    assert torch.equal(u[2:3], rng.uniform(seeds[2:3], rng.STREAM_DRAW, 7, (5000,)))
    assert not torch.equal(u, rng.uniform(seeds, rng.STREAM_DRAW, 8, (5000,)))
    assert not torch.equal(u, rng.uniform(seeds, rng.STREAM_ORDER, 7, (5000,)))
    idx = torch.arange(10)
    assert torch.equal(rng.derive_seeds(3, idx)[4:6], rng.derive_seeds(3, idx[4:6]))
    assert not torch.equal(rng.derive_seeds(3, idx, 0), rng.derive_seeds(3, idx, 1))
    assert rng.derive_seeds(3, idx).unique().numel() == 10
