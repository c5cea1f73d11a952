"""The exact MRV solver of ``puzzles.rating`` with the model choosing where and how to guess.

The model only orders: at each branch node the board as the solver holds it (its placements,
blanks elsewhere) goes through one forward pass (one NFE) and the solver branches on the open
cell the model is surest of (the lowest entropy of its distribution over the cell's remaining
candidates), trying those candidates in the model's order of probability. Propagation (naked
singles, or hidden singles too) and dead-end detection are the solver's. This is the
comparison of issue 23: the guesses of the plain MRV solver, of this solver, and of the
sampler's own search (``sampling.search``), on the same puzzles
(``benchmarks/guess_compare.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from puzzles.rating import Rating, rate
from puzzles.task import TaskSpec

ORDERS = ("cell+value", "value")  # the model picks the cell and its values' order, or values only


class ModelBrancher:
    """A ``puzzles.rating.Brancher`` backed by a model (``tokens (1, L) -> logits (1, L, V)``).

    order: "cell+value" (the model picks the branch cell and the order of its candidates) or
    "value" (MRV's cell, the model's order of values). ``calls`` counts forward passes.
    """

    def __init__(self, model: Callable, spec: TaskSpec, order: str = "cell+value"):
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
        self.model, self.spec, self.order = model, spec, order
        self.calls = 0

    def __call__(self, values: list[int], candidates: list[int]) -> tuple[int, list[int]]:
        n = self.spec.num_values
        board = np.asarray(values, dtype=np.int64).reshape(1, n, n)
        tokens = torch.from_numpy(self.spec.encode_puzzle(board))  # (1, L)
        with torch.inference_mode():
            probs = torch.softmax(self.model(tokens).float(), -1)[0]  # (L, V)
        self.calls += 1
        bits = torch.tensor(candidates, dtype=torch.long).unsqueeze(1)  # (L, 1)
        allowed = (bits >> torch.arange(n)) & 1  # (L, V): candidate digit v+1
        open_ = torch.tensor([v == 0 for v in values])
        p = probs * allowed
        p = p / p.sum(-1, keepdim=True).clamp(min=1e-30)  # the model over the candidates
        if self.order == "value":
            from puzzles.rating import mrv

            cell, _ = mrv(values, candidates)
        else:
            entropy = torch.special.entr(p).sum(-1).masked_fill(~open_, float("inf"))  # (L,)
            cell = int(entropy.argmin())
        ranked = torch.argsort(-p[cell] - 2.0 * allowed[cell], stable=True)  # candidates first
        k = int(allowed[cell].sum())
        return cell, [int(v) + 1 for v in ranked[:k]]


def rate_with_model(
    model: Callable, spec: TaskSpec, board, *, order: str = "cell+value", hidden: bool = False
) -> tuple[Rating, int]:
    """(the solver's rating of ``board`` with the model ordering, forward passes used)."""
    brancher = ModelBrancher(model, spec, order)
    return rate(board, hidden=hidden, brancher=brancher), brancher.calls
