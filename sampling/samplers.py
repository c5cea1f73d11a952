"""The five samplers: which masked cells to reveal at each forward pass.

Each is a small class whose ``__init__`` validates its knobs and whose ``select`` picks, for the
whole batch at once, the cells of one pass; the loop itself is ``sampling.loop.Sampler.sample``.
``SAMPLERS`` is the registry (name -> class) that ``sampling.specs`` builds samplers from.

* ``eb``: entropy-bounded (Ben-Hamu et al. 2025), the largest prefix with sum(H) - max(H) <= gamma.
* ``topk``: the k most certain cells under an error proxy.
* ``random``: k cells in a seeded random order (the vanilla MDM sampler).
* ``threshold``: every cell with confidence >= tau (Fast-dLLM's rule).
* ``dus``: a fixed dilated plan (Luxembourg et al. 2025), no error proxy.
"""

from __future__ import annotations

import math

import torch

from sampling import rng
from sampling.dilation import (  # noqa: F401  (re-exported for callers of the old module)
    coarse_to_fine_2d,
    dilated_groups_2d,
    dyadic_group,
    plan_1d,
    plan_2d,
)
from sampling.loop import Sampler, check_int, sorted_masked, take_first
from sampling.stats import PROXIES, CellStats, check_proxy  # noqa: F401


class EBSampler(Sampler):
    """Entropy-bounded (EB) sampler of Ben-Hamu et al. 2025, "Accelerated Sampling from Masked
    Diffusion Models via Entropy Bounded Unmasking" (arXiv 2505.24857).

    Each pass sorts the masked cells by the error proxy (most certain first) and reveals the
    largest prefix U with ``sum(H[U]) - max(H[U]) <= gamma``, H the cells' entropies in nats:
    the summed entropy bounds the error of sampling U's cells independently instead of jointly,
    minus the one cell that would be sampled anyway. At least one cell per pass. Cells with
    zero entropy add nothing to the bound, so they are always accepted; gamma = 0 therefore
    reveals one uncertain cell per pass plus every cell whose entropy is exactly zero (top-1
    reveals one cell per pass whatever its entropy).
    """

    name = "eb"
    params = {"gamma": float, "proxy": str}

    def __init__(self, gamma: float = 0.01, proxy: str = "entropy"):
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0:
            raise ValueError(f"gamma must be a number >= 0, got {gamma!r}")
        if math.isinf(gamma):
            raise ValueError("gamma must be finite")
        self.gamma = float(gamma)
        self.proxy = check_proxy(proxy)

    def select(self, stats, masked, step, plan):
        order = sorted_masked(stats.score(self.proxy), masked)  # (A, L)
        H = stats.entropy.gather(1, order)  # (A, L) entropies in proxy order
        bound = H.cumsum(1) - H.cummax(1).values  # (A, L) sum - max over each prefix
        # The bound only grows along the prefix; cumprod keeps it a prefix under rounding.
        ok = (bound <= self.gamma).long().cumprod(1)  # (A, L)
        n_masked = masked.sum(1)  # (A,)
        k = torch.minimum(ok.sum(1).clamp(min=1), n_masked)  # (A,)
        return take_first(order, k)


class TopKSampler(Sampler):
    """Reveal the ``k`` most certain masked cells under ``proxy`` per pass (k=1: greedy)."""

    name = "topk"
    params = {"k": int, "proxy": str}

    def __init__(self, k: int = 1, proxy: str = "entropy"):
        self.k = check_int("k", k, 1)
        self.proxy = check_proxy(proxy)

    def select(self, stats, masked, step, plan):
        order = sorted_masked(stats.score(self.proxy), masked)
        k = masked.sum(1).clamp(max=self.k)  # (A,)
        return take_first(order, k)


class RandomSampler(Sampler):
    """The vanilla masked-diffusion baseline: ``k`` cells per pass in a random order.

    Each row's order is a random permutation fixed before the first pass (cell priorities
    hashed from the row seed); drawing a uniform random k-subset each pass is the same law.
    """

    name = "random"
    params = {"k": int}
    random_order = True

    def __init__(self, k: int = 1):
        self.k = check_int("k", k, 1)

    def plan(self, masked, seeds, grid):
        return rng.uniform(seeds, rng.STREAM_ORDER, 0, (masked.shape[1],))  # (B, L) priorities

    def select(self, stats, masked, step, plan):
        order = sorted_masked(plan, masked)
        k = masked.sum(1).clamp(max=self.k)
        return take_first(order, k)


class ThresholdSampler(Sampler):
    """Reveal every masked cell whose confidence (max probability) is >= ``tau``, and at least
    the most confident one (the parallel-decoding rule of Fast-dLLM, Wu et al. 2025)."""

    name = "threshold"
    params = {"tau": float}

    def __init__(self, tau: float = 0.9):
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0 < tau <= 1:
            raise ValueError(f"tau must be in (0, 1], got {tau!r}")
        self.tau = float(tau)

    def select(self, stats, masked, step, plan):
        conf = stats.confidence  # (A, L)
        order = sorted_masked(-conf, masked)
        k = ((conf >= self.tau) & masked).sum(1).clamp(min=1)  # (A,) a prefix of ``order``
        return take_first(order, torch.minimum(k, masked.sum(1)))


class DUSSampler(Sampler):
    """Dilated unmasking scheduler (DUS) of Luxembourg et al. 2025, "Plan for Speed: Dilated
    Scheduling for Masked Diffusion Language Models" (arXiv 2506.19037).

    A fixed plan, no error proxy: cells revealed together are spread apart so that they depend
    on each other as little as the layout allows; about log2(block) passes per block.

    1-D (default, ``sampling.dilation.plan_1d``): a row's masked cells, in row-major order, are
    cut into blocks of ``block`` cells (default: one block of all of them); a block of n cells
    is revealed in ceil(log2 n) groups {0, P/2}, {P/4, 3P/4}, the odd multiples of P/8, ...
    (P = 2**m >= n). The spacing is along the row-major order of the *masked* cells only: on a
    grid, cells one row apart (vertical neighbours) often land in the same group.

    2-D (``two_d=True``, ``plan_2d``; one block): the masked cells in the grid's coarse-to-fine
    order, cut into runs of 2, 2, 4, 8, ... with the checkerboard cells last, so a pass never
    reveals two 4-adjacent cells. NFE <= ceil(log2 n) + 1. The grid comes from
    ``sample(..., grid=(h, w))``; a square grid is inferred when it is not given.

    Values are the argmax (or a draw at temperature > 0).
    """

    name = "dus"
    params = {"block": int, "two_d": bool}

    def __init__(self, two_d: bool = False, block: int | None = None):
        if block is not None:
            block = check_int("block", block, 1)
        if not isinstance(two_d, bool):
            raise ValueError(f"two_d must be true or false, got {two_d!r}")
        if two_d and block is not None:
            raise ValueError("block applies to the 1-D plan only (two_d=False)")
        self.two_d, self.block = two_d, block

    @property
    def family(self) -> str:
        return "dus2d" if self.two_d else "dus"

    @staticmethod
    def _grid(L: int, grid: tuple[int, int] | None) -> tuple[int, int]:
        if grid is None:
            side = math.isqrt(L)
            if side * side != L:
                raise ValueError(f"dus two_d needs the grid: {L} cells is not a square grid")
            return side, side
        h, w = grid
        if h * w != L:
            raise ValueError(f"dus grid {h}x{w} does not match {L} cells per row")
        return h, w

    def plan_steps(self, masked: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, L) long: the 1-based pass at which each masked cell is revealed (0 elsewhere)."""
        if self.two_d:
            return plan_2d(masked, *self._grid(masked.shape[1], grid))
        return plan_1d(masked, self.block)

    def plan(self, masked, seeds, grid):
        return self.plan_steps(masked, grid)

    def select(self, stats, masked, step, plan):
        return plan == step


SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls for cls in (EBSampler, TopKSampler, RandomSampler, ThresholdSampler, DUSSampler)
}

__all__ = [
    "PROXIES",
    "SAMPLERS",
    "CellStats",
    "DUSSampler",
    "EBSampler",
    "RandomSampler",
    "Sampler",
    "ThresholdSampler",
    "TopKSampler",
]
