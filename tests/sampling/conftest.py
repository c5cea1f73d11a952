"""Shared fixtures for the sampling tests: exact and exactly-computable toy denoisers."""

from __future__ import annotations

import pytest
import torch

from sampling.oracle import ExactSudokuDenoiser

MASK4 = 4  # mask id of 4x4 Sudoku tokens


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: tiny forward passes on a busy 2-core machine are ~100x slower with
    two spinning OpenMP threads. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def oracle() -> ExactSudokuDenoiser:
    return ExactSudokuDenoiser()


@pytest.fixture(scope="session")
def soft_oracle() -> ExactSudokuDenoiser:
    """Smoothed marginals: no probability is exactly 0 or 1, so no entropy is exactly 0."""
    return ExactSudokuDenoiser(smoothing=0.5)


class DyadicToyModel:
    """A state-dependent toy denoiser whose logits are exact in float32 whatever the batch:
    logits[b, l, v] = 0.25 * sum_j W[l, v, j, tokens[b, j]] with small integer weights, so the
    sum is the same in any summation order and a batch equals its rows bit for bit."""

    def __init__(self, L: int = 16, V: int = 4, vocab: int = 5, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.W = torch.randint(-4, 5, (L, V, L, vocab), generator=g).float()  # (L, V, L, vocab)
        self.vocab = vocab

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        onehot = torch.nn.functional.one_hot(tokens, self.vocab).float()  # (B, L, vocab)
        return 0.25 * torch.einsum("lvjc,bjc->blv", self.W, onehot)  # (B, L, V)


@pytest.fixture(scope="session")
def toy() -> DyadicToyModel:
    return DyadicToyModel()


@pytest.fixture(scope="session")
def toy_model():
    """The class, for tests that need toys of other shapes: toy_model(L=49, V=2, vocab=6)."""
    return DyadicToyModel


def _puzzles4(oracle: ExactSudokuDenoiser, count: int, clues: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return oracle.random_puzzles(count, clues, generator=g)[0]


@pytest.fixture(scope="session")
def make_puzzles(oracle):
    """make_puzzles(count, clues, seed) -> (count, 16) 4x4 puzzle tokens cut from random grids."""
    return lambda count, clues, seed=0: _puzzles4(oracle, count, clues, seed)


@pytest.fixture(scope="session")
def mixed_puzzles(oracle) -> torch.Tensor:
    """(48, 16): 4x4 puzzles from 0 to 11 clues (many with several solutions, some unique),
    plus one row with nothing masked."""
    rows = [_puzzles4(oracle, 4, clues, seed=clues) for clues in range(12)]
    full = oracle.grids[:1]  # nothing to fill
    return torch.cat(rows[:-1] + [rows[-1][:3], full])
