"""The samplers: which masked cells to reveal at each forward pass, and the loop they share.

Each sampler is a small frozen dataclass whose fields are its knobs, each declared once with
its default and help (``puzzles.options.option``: the ``--gamma``-style flags and the
``name:key=value`` spec strings are made from them), whose ``__post_init__`` validates them,
and whose ``select`` picks, for the whole batch at once, the cells of one pass.
``Sampler.sample`` is the plain loop: one ``sampling.step`` per forward pass until no cell is
masked. ``SAMPLERS`` is the registry (name -> class).

* ``eb``: entropy-bounded (Ben-Hamu et al. 2025), the largest prefix with sum(H) - max(H) <= gamma.
* ``topk``: the k most certain cells under an error proxy.
* ``random``: k cells in a seeded random order (the vanilla MDM sampler).
* ``threshold``: every cell with confidence >= tau (Fast-dLLM's rule).
* ``dus``: a fixed dilated plan (Luxembourg et al. 2025), no error proxy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch

from puzzles.argtypes import nonneg_float, number, positive_int
from puzzles.options import declared, option
from sampling import rng
from sampling.dilation import plan_1d, plan_2d
from sampling.stats import PROXIES, CellStats, check_proxy
from sampling.step import Board, Model, SampleResult, forward_logits, sorted_masked, take_first

Rules = Callable[[torch.Tensor], torch.Tensor]  # tokens (A, L) -> allowed (A, L, V)


def _whole(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


class Sampler:
    """Base class: the shared unmasking loop. Subclasses are frozen dataclasses whose declared
    fields are their knobs, and implement ``select``.

    ``name`` is the registry key; ``random_order`` is True when ``select`` needs row seeds
    even at temperature 0.
    """

    name: ClassVar[str] = ""
    random_order: ClassVar[bool] = False

    @classmethod
    def knobs(cls) -> list:
        """The declared knobs (``puzzles.options.Declared``), in field order."""
        return declared(cls)

    def config(self) -> dict:
        """JSON-ready description: {"name": ..., knob: value, ...}."""
        return {"name": self.name, **{d.name: getattr(self, d.name) for d in self.knobs()}}

    @property
    def family(self) -> str:
        """Series name for plots: the registry name, plus the proxy when it is not entropy."""
        proxy = getattr(self, "proxy", "entropy")
        return self.name if proxy == "entropy" else f"{self.name}-{proxy}"

    @property
    def order_proxy(self) -> str:
        """The error proxy this sampler ranks masked cells by (what a view shows)."""
        return getattr(self, "proxy", "entropy")

    def needs_seeds(self, temperature: float) -> bool:
        return self.random_order or temperature > 0

    # --- hooks ------------------------------------------------------------------------
    def plan(
        self, masked: torch.Tensor, seeds: torch.Tensor | None, grid: tuple[int, int] | None
    ) -> torch.Tensor | None:
        """Per-row state fixed before the first pass, (B, L), or None."""
        return None

    def select(
        self,
        stats: CellStats,
        masked: torch.Tensor,
        step: int | torch.Tensor,
        plan: torch.Tensor | None,
    ) -> torch.Tensor:
        """(A, L) bool: the masked cells to reveal now; at least one per row with masked cells.

        ``step`` is the 1-based pass (an int, or (A, 1) per row when search runs rows at
        different depths)."""
        raise NotImplementedError

    # --- the loop -----------------------------------------------------------------------
    def row_seeds(
        self,
        B: int,
        temperature: float,
        generator: torch.Generator | None,
        row_seeds: torch.Tensor | None,
        device: torch.device,
    ) -> torch.Tensor | None:
        """(B,) int64 seeds when this sampler draws, else None (see ``sample``)."""
        if not self.needs_seeds(temperature):
            return None
        if row_seeds is not None:
            if row_seeds.shape != (B,):
                raise ValueError(f"row_seeds must have shape ({B},), got {tuple(row_seeds.shape)}")
            return row_seeds.to(device=device, dtype=torch.long)
        return rng.draw_row_seeds(B, generator, device)

    def sample(
        self,
        model: Model,
        tokens: torch.Tensor,
        mask_id: int,
        *,
        grid: tuple[int, int] | None = None,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        row_seeds: torch.Tensor | None = None,
        record: bool | str = True,
        constrain: Rules | None = None,
        propagate: bool = False,
    ) -> SampleResult:
        """Fill every cell of ``tokens`` (B, L) that holds ``mask_id``, one ``sampling.step``
        per forward pass.

        grid: (height, width) of the row-major grid (the 2-D DUS plan needs it; a square grid
            is inferred when None).
        temperature: 0 places the argmax value; T > 0 draws from softmax(logits / T). The
            error proxies always use the untempered softmax.
        generator: draws one seed per row (torch's global RNG when None); only used when the
            sampler needs randomness (``RandomSampler`` or temperature > 0).
        row_seeds: (B,) int64 seeds overriding ``generator``. All randomness of row b is a hash
            of (row_seeds[b], forward pass, cell, value), so a batched run equals the row-by-row
            runs ``sample(model, tokens[b:b+1], ..., row_seeds=row_seeds[b:b+1])`` exactly,
            given a model whose rows do not interact.
        record: True ("reveal") keeps each revealed cell's entropy and probability at reveal;
            False ("none") keeps nothing; "events" / "full" also keep every pass (see
            ``sampling.step``).
        constrain: the task's rules, ``tokens (A, L) -> allowed (A, L, V)``: values they rule
            out get probability 0 before the error proxies are computed, so a forced cell has
            entropy 0 and EB takes it in the same pass.
        propagate (needs ``constrain``): before each pass fill the cells the rules force, again
            until none is (no forward pass, so no NFE); the model's next pass sees them.
            Propagated cells carry the number of the pass they precede, or of the row's last
            pass when no pass follows them (pass 1 for a row the rules complete: NFE 0).

        Returns a ``SampleResult`` on ``tokens.device``; ``tokens`` itself is not modified.
        """
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (B, L), got shape {tuple(tokens.shape)}")
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
        if propagate and constrain is None:
            raise ValueError("propagate needs constrain (the rules that force cells)")
        record = {True: "reveal", False: "none"}.get(record, record)
        with torch.inference_mode():
            board = Board(tokens, mask_id, record=record)
            board.seeds = self.row_seeds(board.B, temperature, generator, row_seeds, tokens.device)
            board.plan = self.plan(board.masked, board.seeds, grid)  # (B, L) or None
            step = 0
            while (rows := board.rows_left()).numel():
                step += 1
                if step > board.L:  # every pass reveals >= 1 cell per row, so this is a bug
                    raise RuntimeError(f"{self!r} made no progress after {board.L} passes")
                allowed = None  # with propagate: the rules' verdict on the rows of this pass
                if propagate:
                    rows, allowed = board.propagate(rows, constrain)
                    if rows.numel() == 0:
                        break
                at = board.at(rows)
                if allowed is None and constrain is not None:
                    allowed = constrain(board.tokens[at])
                logits = forward_logits(model, board.tokens[at], allowed)  # (A, L, V)
                out = board.step(self, logits, rows, step=step, draw_step=step,
                                 temperature=temperature)  # fmt: skip
                board.place(rows, out, proxy=self.order_proxy)
        return board.result()


@dataclass(frozen=True)
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

    name: ClassVar[str] = "eb"
    gamma: float = option(0.01, help="entropy budget in nats per pass; larger reveals more "
                          "cells per pass", type=nonneg_float)  # fmt: skip
    proxy: str = option("entropy", help="error proxy that orders cells", choices=PROXIES)

    def __post_init__(self) -> None:
        gamma = _number("gamma", self.gamma)
        if not gamma >= 0:
            raise ValueError(f"gamma must be a number >= 0, got {self.gamma!r}")
        if math.isinf(gamma):
            raise ValueError("gamma must be finite")
        object.__setattr__(self, "gamma", gamma)
        check_proxy(self.proxy)

    def select(self, stats, masked, step, plan):
        order = sorted_masked(stats.score(self.proxy), masked)  # (A, L)
        H = stats.entropy.gather(1, order)  # (A, L) entropies in proxy order
        bound = H.cumsum(1) - H.cummax(1).values  # (A, L) sum - max over each prefix
        # The bound only grows along the prefix; cumprod keeps it a prefix under rounding.
        ok = (bound <= self.gamma).long().cumprod(1)  # (A, L)
        n_masked = masked.sum(1)  # (A,)
        k = torch.minimum(ok.sum(1).clamp(min=1), n_masked)  # (A,)
        return take_first(order, k)


@dataclass(frozen=True)
class TopKSampler(Sampler):
    """Reveal the ``k`` most certain masked cells under ``proxy`` per pass (k=1: greedy)."""

    name: ClassVar[str] = "topk"
    k: int = option(1, help="cells revealed per pass", type=positive_int)
    proxy: str = option("entropy", help="error proxy that orders cells", choices=PROXIES)

    def __post_init__(self) -> None:
        _whole("k", self.k, 1)
        check_proxy(self.proxy)

    def select(self, stats, masked, step, plan):
        order = sorted_masked(stats.score(self.proxy), masked)
        k = masked.sum(1).clamp(max=self.k)  # (A,)
        return take_first(order, k)


@dataclass(frozen=True)
class RandomSampler(Sampler):
    """The vanilla masked-diffusion baseline: ``k`` cells per pass in a random order.

    Each row's order is a random permutation fixed before the first pass (cell priorities
    hashed from the row seed); drawing a uniform random k-subset each pass is the same law.
    """

    name: ClassVar[str] = "random"
    random_order: ClassVar[bool] = True
    k: int = option(1, help="cells revealed per pass", type=positive_int)

    def __post_init__(self) -> None:
        _whole("k", self.k, 1)

    def plan(self, masked, seeds, grid):
        return rng.uniform(seeds, rng.STREAM_ORDER, 0, (masked.shape[1],))  # (B, L) priorities

    def select(self, stats, masked, step, plan):
        order = sorted_masked(plan, masked)
        k = masked.sum(1).clamp(max=self.k)
        return take_first(order, k)


@dataclass(frozen=True)
class ThresholdSampler(Sampler):
    """Reveal every masked cell whose confidence (max probability) is >= ``tau``, and at least
    the most confident one (the parallel-decoding rule of Fast-dLLM, Wu et al. 2025)."""

    name: ClassVar[str] = "threshold"
    tau: float = option(0.9, help="confidence threshold in (0, 1]",
                        type=number(0.0, 1.0, low_open=True))  # fmt: skip

    def __post_init__(self) -> None:
        tau = _number("tau", self.tau)
        if not 0 < tau <= 1:
            raise ValueError(f"tau must be in (0, 1], got {self.tau!r}")
        object.__setattr__(self, "tau", tau)

    @property
    def order_proxy(self) -> str:
        return "confidence"

    def select(self, stats, masked, step, plan):
        conf = stats.confidence  # (A, L)
        order = sorted_masked(-conf, masked)
        k = ((conf >= self.tau) & masked).sum(1).clamp(min=1)  # (A,) a prefix of ``order``
        return take_first(order, torch.minimum(k, masked.sum(1)))


@dataclass(frozen=True, init=False)
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

    name: ClassVar[str] = "dus"
    block: int | None = option(None, help="cells per block (1-D plan)", type=positive_int,
                               shown="all masked cells")  # fmt: skip
    two_d: bool = option(False, help="dilate over rows and columns of the grid instead of the "
                         "row-major order")  # fmt: skip

    def __init__(self, two_d: bool = False, block: int | None = None):
        # By hand for the argument order of the first release, DUSSampler(two_d, block); the
        # fields keep theirs (block, two_d), which is the order of config() and bench files.
        object.__setattr__(self, "block", block)
        object.__setattr__(self, "two_d", two_d)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.block is not None:
            _whole("block", self.block, 1)
        if not isinstance(self.two_d, bool):
            raise ValueError(f"two_d must be true or false, got {self.two_d!r}")
        if self.two_d and self.block is not None:
            raise ValueError("block applies to the 1-D plan only (two_d=False)")

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
