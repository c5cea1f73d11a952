"""Samplers for masked diffusion models: which masked cells to reveal at each forward pass.

Every sampler shares one loop (``Sampler.sample``): call the model on the rows that still have
masked cells, compute per-cell statistics of the *untempered* distribution, let the sampler
choose a set of masked cells per row, fill them with the argmax (or a tempered draw), repeat.
Samplers differ only in ``_select``, which works on the whole batch at once: it sorts the
masked cells of every row once, computes each row's own count ``k``, and selects the first
``k`` with a rank mask and a scatter (no Python loop over rows, no count averaged over rows).

Conventions
-----------
* ``model``: any callable ``LongTensor (B, L) -> logits (B, L, V)``; value index == token id.
* Error proxies (lower score = more certain, revealed first):
  ``entropy`` (nats), ``confidence`` (max probability), ``margin`` (top-1 minus top-2
  probability). Ties break by cell index (stable sort), so runs are deterministic.
* NFE per row counts the forward passes in which the row still had masked cells; finished
  rows are not forwarded again. ``reveal_step`` is the 1-based pass that revealed a cell.
* Randomness (``RandomSampler``'s order, draws at ``temperature > 0``) comes from per-row seeds
  hashed by ``sampling.rng``; see ``Sampler.sample``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property

import torch
import torch.nn.functional as F

from puzzles.errors import UnmaskError
from sampling import rng
from sampling.base import SampleResult

PROXIES = ("entropy", "confidence", "margin")

Model = Callable[[torch.Tensor], torch.Tensor]


class CellStats:
    """Per-cell statistics of one forward pass, from the untempered softmax, computed lazily.

    logits: (A, L, V) float32. Every property is (A, L) except ``probs`` (A, L, V).
    """

    def __init__(self, logits: torch.Tensor):
        self.logits = logits

    @cached_property
    def probs(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=-1)  # (A, L, V)

    @cached_property
    def entropy(self) -> torch.Tensor:
        """Entropy in nats; exactly 0 for a one-hot distribution (entr(0) == 0)."""
        return torch.special.entr(self.probs).sum(-1)  # (A, L)

    @cached_property
    def _top2(self) -> torch.Tensor:
        V = self.probs.shape[-1]
        if V == 1:
            top = self.probs
            return torch.cat((top, torch.zeros_like(top)), dim=-1)
        return self.probs.topk(2, dim=-1).values  # (A, L, 2)

    @cached_property
    def confidence(self) -> torch.Tensor:
        return self.probs.amax(-1)  # (A, L)

    @cached_property
    def margin(self) -> torch.Tensor:
        top2 = self._top2
        return top2[..., 0] - top2[..., 1]  # (A, L)

    def score(self, proxy: str) -> torch.Tensor:
        """(A, L) uncertainty under ``proxy``: ascending order = most certain first."""
        if proxy == "entropy":
            return self.entropy
        if proxy == "confidence":
            return -self.confidence
        return -self.margin


def _sorted_masked(score: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """(A, L) cell indices per row: masked cells by ascending score (ties by cell index), then
    the unmasked cells."""
    score = score.masked_fill(~masked, math.inf)
    return torch.sort(score, dim=1, stable=True).indices


def _take_first(order: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """(A, L) bool: the first ``k[a]`` cells of ``order[a]`` for every row (rank mask + scatter)."""
    ranks = torch.arange(order.shape[1], device=order.device)  # (L,)
    chosen = ranks.unsqueeze(0) < k.unsqueeze(1)  # (A, L) in sorted order
    return torch.zeros_like(chosen).scatter(1, order, chosen)  # back to cell order


def _check_proxy(proxy: str) -> str:
    if proxy not in PROXIES:
        raise ValueError(f"proxy must be one of {', '.join(PROXIES)}, got {proxy!r}")
    return proxy


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


class Sampler:
    """Base class: the shared unmasking loop. Subclasses implement ``_select``.

    Class attributes: ``name`` (registry key) and ``params`` (knob name -> type), used by
    ``make_sampler`` and ``parse_sampler_specs``.
    """

    name: str = ""
    params: dict[str, type] = {}
    random_order = False  # True when _select needs row seeds even at temperature 0

    def config(self) -> dict:
        """JSON-ready description: {"name": ..., knob: value, ...}."""
        return {"name": self.name, **{p: getattr(self, p) for p in self.params}}

    @property
    def family(self) -> str:
        """Series name for plots: the registry name, plus the proxy when it is not entropy."""
        proxy = getattr(self, "proxy", "entropy")
        return self.name if proxy == "entropy" else f"{self.name}-{proxy}"

    def __repr__(self) -> str:
        knobs = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.params)
        return f"{type(self).__name__}({knobs})"

    def needs_seeds(self, temperature: float) -> bool:
        return self.random_order or temperature > 0

    # --- hooks ------------------------------------------------------------------------
    def _plan(self, masked: torch.Tensor, seeds: torch.Tensor | None) -> torch.Tensor | None:
        """Per-row state fixed before the first pass, (B, L), or None."""
        return None

    def _select(
        self, stats: CellStats, masked: torch.Tensor, step: int, plan: torch.Tensor | None
    ) -> torch.Tensor:
        """(A, L) bool: the masked cells to reveal now; at least one per row with masked cells."""
        raise NotImplementedError

    # --- the loop -----------------------------------------------------------------------
    def sample(
        self,
        model: Model,
        tokens: torch.Tensor,
        mask_id: int,
        *,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        row_seeds: torch.Tensor | None = None,
        record: bool = True,
    ) -> SampleResult:
        """Fill every cell of ``tokens`` (B, L) that holds ``mask_id``.

        temperature: 0 places the argmax value; T > 0 draws from softmax(logits / T). The
            error proxies always use the untempered softmax.
        generator: draws one seed per row (torch's global RNG when None); only used when the
            sampler needs randomness (``RandomSampler`` or temperature > 0).
        row_seeds: (B,) int64 seeds overriding ``generator``. All randomness of row b is a hash
            of (row_seeds[b], forward pass, cell, value), so a batched run equals the row-by-row
            runs ``sample(model, tokens[b:b+1], ..., row_seeds=row_seeds[b:b+1])`` exactly,
            given a model whose rows do not interact.
        record: also return each revealed cell's entropy and probability at reveal.

        Returns a ``SampleResult`` on ``tokens.device``; ``tokens`` itself is not modified.
        """
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (B, L), got shape {tuple(tokens.shape)}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        B, L = tokens.shape
        device = tokens.device
        seeds = None
        if self.needs_seeds(temperature):
            if row_seeds is not None:
                if row_seeds.shape != (B,):
                    raise ValueError(
                        f"row_seeds must have shape ({B},), got {tuple(row_seeds.shape)}"
                    )
                seeds = row_seeds.to(device=device, dtype=torch.long)
            else:
                seeds = rng.draw_row_seeds(B, generator, device)

        with torch.inference_mode():
            tokens = tokens.clone().long()  # (B, L)
            masked = tokens == mask_id  # (B, L) still to fill
            reveal_step = torch.where(masked, 0, -1)  # (B, L); 0 = not yet revealed
            nfe = torch.zeros(B, dtype=torch.long, device=device)  # (B,)
            entropy = torch.full((B, L), math.nan, device=device) if record else None
            prob = torch.full((B, L), math.nan, device=device) if record else None
            plan = self._plan(masked, seeds)  # (B, L) or None

            step = 0
            while True:
                rows = masked.any(dim=1).nonzero().squeeze(1)  # (A,) rows still masked
                A = rows.numel()
                if A == 0:
                    break
                step += 1
                if step > L:  # every pass reveals >= 1 cell per row, so this is a bug
                    raise RuntimeError(f"{self!r} made no progress after {L} passes")
                every = A == B
                tok_a = tokens if every else tokens[rows]  # (A, L)
                masked_a = masked if every else masked[rows]  # (A, L)
                plan_a = plan if (plan is None or every) else plan[rows]

                logits = model(tok_a).float()  # (A, L, V)
                if logits.dim() != 3 or logits.shape[:2] != (A, L):
                    raise ValueError(
                        f"model returned shape {tuple(logits.shape)}, expected ({A}, {L}, V)"
                    )
                stats = CellStats(logits)
                chosen = self._select(stats, masked_a, step, plan_a) & masked_a  # (A, L)

                if temperature > 0:
                    seeds_a = seeds if every else seeds[rows]
                    noise = rng.gumbel(seeds_a, rng.STREAM_DRAW, step, tuple(logits.shape[1:]))
                    values = (logits / temperature + noise).argmax(-1)  # (A, L)
                else:
                    values = logits.argmax(-1)  # (A, L)

                new_tok = torch.where(chosen, values, tok_a)
                new_step = torch.where(chosen, step, reveal_step if every else reveal_step[rows])
                if every:
                    tokens, reveal_step, masked = new_tok, new_step, masked_a & ~chosen
                    nfe += 1
                else:
                    tokens.index_copy_(0, rows, new_tok)
                    reveal_step.index_copy_(0, rows, new_step)
                    masked.index_copy_(0, rows, masked_a & ~chosen)
                    nfe.index_add_(0, rows, torch.ones_like(rows))
                if record:
                    ent = torch.where(chosen, stats.entropy, entropy if every else entropy[rows])
                    placed = stats.probs.gather(-1, values.unsqueeze(-1)).squeeze(-1)  # (A, L)
                    pr = torch.where(chosen, placed, prob if every else prob[rows])
                    if every:
                        entropy, prob = ent, pr
                    else:
                        entropy.index_copy_(0, rows, ent)
                        prob.index_copy_(0, rows, pr)

        return SampleResult(tokens, reveal_step, nfe, entropy, prob)


class EBSampler(Sampler):
    """Entropy-bounded (EB) sampler of Ben-Hamu et al. 2025, "Accelerated Sampling from Masked
    Diffusion Models via Entropy Bounded Unmasking" (arXiv 2505.24857).

    Each pass sorts the masked cells by the error proxy (most certain first) and reveals the
    largest prefix U with ``sum(H[U]) - max(H[U]) <= gamma``, H the cells' entropies in nats:
    the summed entropy bounds the error of sampling U's cells independently instead of jointly,
    minus the one cell that would be sampled anyway. At least one cell per pass. Cells with
    zero entropy add nothing to the bound, so they are always accepted; gamma = 0 therefore
    reveals one uncertain cell per pass (the top-1 sampler) plus every zero-entropy cell.
    """

    name = "eb"
    params = {"gamma": float, "proxy": str}

    def __init__(self, gamma: float = 0.01, proxy: str = "entropy"):
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0:
            raise ValueError(f"gamma must be a number >= 0, got {gamma!r}")
        if math.isinf(gamma):
            raise ValueError("gamma must be finite")
        self.gamma = float(gamma)
        self.proxy = _check_proxy(proxy)

    def _select(self, stats, masked, step, plan):
        order = _sorted_masked(stats.score(self.proxy), masked)  # (A, L)
        H = stats.entropy.gather(1, order)  # (A, L) entropies in proxy order
        bound = H.cumsum(1) - H.cummax(1).values  # (A, L) sum - max over each prefix
        # The bound only grows along the prefix; cumprod keeps it a prefix under rounding.
        ok = (bound <= self.gamma).long().cumprod(1)  # (A, L)
        n_masked = masked.sum(1)  # (A,)
        k = torch.minimum(ok.sum(1).clamp(min=1), n_masked)  # (A,)
        return _take_first(order, k)


class TopKSampler(Sampler):
    """Reveal the ``k`` most certain masked cells under ``proxy`` per pass (k=1: greedy)."""

    name = "topk"
    params = {"k": int, "proxy": str}

    def __init__(self, k: int = 1, proxy: str = "entropy"):
        self.k = _check_int("k", k, 1)
        self.proxy = _check_proxy(proxy)

    def _select(self, stats, masked, step, plan):
        order = _sorted_masked(stats.score(self.proxy), masked)
        k = masked.sum(1).clamp(max=self.k)  # (A,)
        return _take_first(order, k)


class RandomSampler(Sampler):
    """The vanilla masked-diffusion baseline: ``k`` cells per pass in a random order.

    Each row's order is a random permutation fixed before the first pass (cell priorities
    hashed from the row seed); drawing a uniform random k-subset each pass is the same law.
    """

    name = "random"
    params = {"k": int}
    random_order = True

    def __init__(self, k: int = 1):
        self.k = _check_int("k", k, 1)

    def _plan(self, masked, seeds):
        return rng.uniform(seeds, rng.STREAM_ORDER, 0, (masked.shape[1],))  # (B, L) priorities

    def _select(self, stats, masked, step, plan):
        order = _sorted_masked(plan, masked)
        k = masked.sum(1).clamp(max=self.k)
        return _take_first(order, k)


class ThresholdSampler(Sampler):
    """Reveal every masked cell whose confidence (max probability) is >= ``tau``, and at least
    the most confident one (the parallel-decoding rule of Fast-dLLM, Wu et al. 2025)."""

    name = "threshold"
    params = {"tau": float}

    def __init__(self, tau: float = 0.9):
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0 < tau <= 1:
            raise ValueError(f"tau must be in (0, 1], got {tau!r}")
        self.tau = float(tau)

    def _select(self, stats, masked, step, plan):
        conf = stats.confidence  # (A, L)
        order = _sorted_masked(-conf, masked)
        k = ((conf >= self.tau) & masked).sum(1).clamp(min=1)  # (A,) a prefix of ``order``
        return _take_first(order, torch.minimum(k, masked.sum(1)))


# --- the dilated unmasking scheduler ---------------------------------------------------------


def _bit_length(x: torch.Tensor) -> torch.Tensor:
    """Bits needed for 0 <= x < 2**32 (0 -> 0, 1 -> 1, 2..3 -> 2, 4..7 -> 3, ...); integer
    ops only, so it is exact on every device."""
    n = torch.zeros_like(x)
    for k in (16, 8, 4, 2, 1):  # binary search on the highest set bit
        big = (x >> k) > 0
        n = n + big * k
        x = torch.where(big, x >> k, x)
    return n + (x > 0).long()


def _ceil_log2(n: torch.Tensor) -> torch.Tensor:
    """ceil(log2(n)) for n >= 1 (0 for n == 1)."""
    return _bit_length((n - 1).clamp(min=0))


def _trailing_zeros(x: torch.Tensor, zero_value: torch.Tensor | int) -> torch.Tensor:
    """Number of trailing zero bits of x >= 0; ``zero_value`` where x == 0."""
    tz = _bit_length(x & -x) - 1  # x & -x: the lowest set bit
    return torch.where(x == 0, torch.as_tensor(zero_value, device=x.device), tz)


def dyadic_group(pos: torch.Tensor, m: torch.Tensor | int) -> torch.Tensor:
    """1-D dilated group (1-based) of position ``pos`` in a block of 2**m positions.

    Group 1 = {0, 2**(m-1)}; group s >= 2 = the odd multiples of 2**(m-s), i.e. positions
    spaced 2**(m-s+1) apart. m groups in all, sizes 2, 2, 4, ..., 2**(m-1); no two positions in
    a group are adjacent once m >= 2 (in bit-reversed order the groups are consecutive runs).
    """
    return (m - _trailing_zeros(pos, m)).clamp(min=1)


def dilated_groups_2d(height: int, width: int) -> torch.Tensor:
    """(height*width,) 1-based *sublevel* of every cell of a row-major grid (2-D DUS).

    Pad the grid to S x S, S = 2**m the next power of two >= max(height, width). Level a (from
    m-1 down to 0) refines the lattice of spacing 2**(a+1) to spacing 2**a in two sublevels:
    first the cells with both coordinates odd multiples of 2**a (the lattice's centres, a
    quincunx), then those with one coordinate an odd multiple of 2**a and the other a multiple
    of 2**(a+1) (edge midpoints). Cell (0, 0) joins sublevel 1. Within a sublevel cells of one
    row (or column) are 2**(a+1) apart and no two cells are 4-adjacent; the last sublevel is a
    checkerboard. 2m sublevels for S x S, sizes 2, 2, 4, 8, ...: log2 of the cell count.
    """
    m = max(1, math.ceil(math.log2(max(height, width))))
    r = torch.arange(height).repeat_interleave(width)  # (L,)
    c = torch.arange(width).repeat(height)  # (L,)
    tr, tc = _trailing_zeros(r, m), _trailing_zeros(c, m)
    a = torch.minimum(tr, tc)  # level at which the cell appears
    edge = (tr != tc).long()  # 0: quincunx, 1: edge midpoint
    group = 2 * (m - 1 - a) + 1 + edge
    return torch.where(a >= m, 1, group)  # the origin joins sublevel 1


def coarse_to_fine_2d(height: int, width: int) -> torch.Tensor:
    """(height*width,) long key: sorting cells by it visits the grid coarse to fine.

    Base-4 digits, the coordinates' lowest bits most significant, each digit mapping the bit
    pair (row bit, column bit) as 00 -> 0, 11 -> 1, 10 -> 2, 01 -> 3. So the order runs through
    the sublevels of ``dilated_groups_2d`` one after the other (quincunx before edges, coarse
    before fine), and within a sublevel it recurses: the cells of one sublevel form a coarser
    lattice that is again visited coarse to fine, so any prefix of a sublevel is spread out.
    """
    m = max(1, math.ceil(math.log2(max(height, width))))
    r = torch.arange(height).repeat_interleave(width)  # (L,)
    c = torch.arange(width).repeat(height)  # (L,)
    digit_of = torch.tensor([0, 3, 2, 1])  # index 2*row_bit + col_bit
    key = torch.zeros_like(r)
    for b in range(m):  # bit b of the coordinates -> base-4 digit at position m-1-b
        d = digit_of[2 * ((r >> b) & 1) + ((c >> b) & 1)]
        key = key + (d << (2 * (m - 1 - b)))
    return key


class DUSSampler(Sampler):
    """Dilated unmasking scheduler (DUS) of Luxembourg et al. 2025, "Plan for Speed: Dilated
    Scheduling for Masked Diffusion Language Models" (arXiv 2506.19037).

    A fixed plan, no error proxy: cells revealed together are spread apart so that they depend
    on each other as little as the layout allows; about log2(block) passes per block.

    1-D (default): a row's masked cells, in row-major order, are cut into blocks of ``block``
    cells (default: one block of all of them), handled one after the other. A block of n cells
    is padded to P = 2**m >= n and revealed in m groups (``dyadic_group``): {0, P/2}, then
    {P/4, 3P/4}, then the odd multiples of P/8, ... and finally every odd position. Padding
    positions are skipped; no group is empty, so NFE = ceil(log2 n) per block (1 for n = 1).
    The spacing is along the row-major order of the *masked* cells only: on a grid, cells one
    row apart (vertical neighbours) often land in the same group. The 2-D variant avoids that.

    2-D (``two_d=True``, grid height x width, inferred for a square grid; one block): a row's
    masked cells are taken in the grid's coarse-to-fine order (``coarse_to_fine_2d``) and cut
    into runs of 2, 2, 4, 8, ... (the 1-D groups, read in bit-reversed order), with one more
    cut where the order reaches the checkerboard cells (row + column odd), which it visits
    last. 4-neighbours always differ in that parity, so a pass never reveals two 4-adjacent
    cells, and its cells are spread over rows and columns alike. NFE <= ceil(log2 n) + 1; on a
    full 2**k x 2**k grid the runs are exactly the sublevels of ``dilated_groups_2d`` and NFE =
    log2 n. (The sublevels alone are not a plan: on a maze every open cell sits in the two
    finest ones, which would reveal the whole maze in 2 passes.)

    Values are the argmax (or a draw at temperature > 0).
    """

    name = "dus"
    params = {"block": int, "two_d": bool, "height": int, "width": int}

    def __init__(
        self,
        height: int | None = None,
        width: int | None = None,
        two_d: bool = False,
        block: int | None = None,
    ):
        if block is not None:
            block = _check_int("block", block, 1)
        if height is not None:
            height = _check_int("height", height, 1)
        if width is not None:
            width = _check_int("width", width, 1)
        if not isinstance(two_d, bool):
            raise ValueError(f"two_d must be true or false, got {two_d!r}")
        if two_d and block is not None:
            raise ValueError("block applies to the 1-D plan only (two_d=False)")
        self.height, self.width, self.two_d, self.block = height, width, two_d, block

    @property
    def family(self) -> str:
        return "dus2d" if self.two_d else "dus"

    def config(self) -> dict:
        cfg = {"name": self.name, "two_d": self.two_d, "block": self.block}
        if self.two_d:
            cfg.update(height=self.height, width=self.width)
        return cfg

    def _grid(self, L: int) -> tuple[int, int]:
        h, w = self.height, self.width
        if h is None and w is None:
            side = math.isqrt(L)
            if side * side != L:
                raise ValueError(
                    f"dus two_d needs height and width: {L} cells is not a square grid"
                )
            h = w = side
        elif h is None:
            h = L // w
        elif w is None:
            w = L // h
        if h * w != L:
            raise ValueError(f"dus grid {h}x{w} does not match {L} cells per row")
        return h, w

    def plan_steps(self, masked: torch.Tensor) -> torch.Tensor:
        """(B, L) long: the 1-based pass at which each masked cell is revealed (0 elsewhere)."""
        B, L = masked.shape
        if self.two_d:
            h, w = self._grid(L)
            perm = coarse_to_fine_2d(h, w).argsort().to(masked.device)  # (L,) visiting order
            cells = torch.arange(L, device=masked.device)
            odd = ((cells // w + cells % w) % 2)[perm]  # (L,) 0 then 1: the checkerboard last
            m_sorted = masked[:, perm]  # (B, L) in visiting order
            rank = m_sorted.long().cumsum(1) - 1  # (B, L) index among masked cells
            run = _bit_length(rank.clamp(min=0)).clamp(min=1)  # runs of 2, 2, 4, 8, ...
            # (parity, run) never decreases along the order: a pass starts where it grows
            combined = torch.where(m_sorted, odd * (L + 1) + run, -1)  # (B, L)
            before = F.pad(combined.cummax(1).values[:, :-1], (1, 0), value=-1)  # (B, L)
            new = m_sorted & (combined > before)
            steps_sorted = torch.where(m_sorted, new.long().cumsum(1), 0)  # (B, L)
            return torch.zeros_like(steps_sorted).scatter(1, perm.expand(B, L), steps_sorted)

        rank = masked.long().cumsum(1) - 1  # (B, L) index among the row's masked cells
        n = masked.sum(1, keepdim=True)  # (B, 1)
        if self.block is None:
            blk = torch.zeros_like(rank)
            size = n.expand_as(rank)  # one block
            per_block = 0
        else:
            blk = rank.div(self.block, rounding_mode="floor")
            size = torch.clamp(n - blk * self.block, max=self.block)  # this block's cell count
            per_block = max(1, math.ceil(math.log2(self.block)))
            rank = rank - blk * self.block
        m = _ceil_log2(size)  # (B, L) block padded to 2**m
        steps = blk * per_block + dyadic_group(rank.clamp(min=0), m)
        return torch.where(masked, steps, 0)

    def _plan(self, masked, seeds):
        return self.plan_steps(masked)

    def _select(self, stats, masked, step, plan):
        return plan == step


SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls for cls in (EBSampler, TopKSampler, RandomSampler, ThresholdSampler, DUSSampler)
}


def make_sampler(name: str, **kwargs) -> Sampler:
    """Build a sampler by registry name (``eb``, ``topk``, ``random``, ``threshold``, ``dus``).

    Unknown names or knobs and invalid values raise ``UnmaskError`` (this is the by-name,
    user-facing path; the classes themselves raise ``ValueError``).
    """
    cls = SAMPLERS.get(name)
    if cls is None:
        raise UnmaskError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")
    unknown = sorted(set(kwargs) - set(cls.params))
    if unknown:
        raise UnmaskError(
            f"sampler {name!r} has no option {unknown[0]!r}; its options are {', '.join(cls.params)}"
        )
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise UnmaskError(f"sampler {name!r}: {err}") from None


_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def _convert(kind: type, text: str):
    if kind is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if kind is int:
        return int(text)
    if kind is float:
        return float(text)
    return text


def parse_sampler_specs(
    text: str, *, height: int | None = None, width: int | None = None
) -> list[tuple[str, Sampler]]:
    """Parse ``"topk:k=1,eb:gamma=0.01,proxy=confidence,dus:two_d=true"`` into
    [(label, sampler), ...].

    Pieces are separated by commas. A piece with ``:`` (``name:key=value``) or a bare name
    (``topk``) starts a new sampler; a bare ``key=value`` piece adds a knob to the previous one.
    The label is the sampler's pieces joined back (``eb:gamma=0.01,proxy=confidence``).
    ``height``/``width`` are passed to ``dus`` when given (the 2-D plan needs the grid).
    Any error raises ``UnmaskError`` naming the offending piece.
    """
    groups: list[tuple[str, list[str], dict]] = []  # (name, pieces, kwargs)
    for raw in text.split(","):
        piece = raw.strip()
        if not piece:
            raise UnmaskError(f"empty piece in sampler list {text!r}")
        if ":" in piece:
            name, _, rest = piece.partition(":")
            name = name.strip()
            groups.append((name, [piece], {}))
            rest = rest.strip()
            if not rest:
                continue
            kv = rest
        elif "=" not in piece:
            groups.append((piece, [piece], {}))
            continue
        else:
            if not groups:
                raise UnmaskError(
                    f"sampler piece {piece!r} has no sampler before it (use name:key=value)"
                )
            groups[-1][1].append(piece)
            kv = piece
        name, _, kwargs = groups[-1]
        key, eq, value = kv.partition("=")
        key, value = key.strip().replace("-", "_"), value.strip()
        if name not in SAMPLERS:
            raise UnmaskError(
                f"sampler piece {piece!r}: unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}"
            )
        kinds = SAMPLERS[name].params
        if not eq or not key:
            raise UnmaskError(f"sampler piece {piece!r}: expected key=value")
        if key not in kinds:
            raise UnmaskError(
                f"sampler piece {piece!r}: {name} has no option {key!r} (options: {', '.join(kinds)})"
            )
        if key in kwargs:
            raise UnmaskError(f"sampler piece {piece!r}: {key} given twice")
        try:
            kwargs[key] = _convert(kinds[key], value)
        except ValueError as err:
            raise UnmaskError(f"sampler piece {piece!r}: bad value for {key}: {err}") from None

    out = []
    for name, pieces, kwargs in groups:
        label = ",".join(pieces)
        if name not in SAMPLERS:
            raise UnmaskError(
                f"sampler piece {pieces[0]!r}: unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}"
            )
        if name == "dus":
            if height is not None:
                kwargs.setdefault("height", height)
            if width is not None:
                kwargs.setdefault("width", width)
        try:
            sampler = SAMPLERS[name](**kwargs)
        except ValueError as err:
            raise UnmaskError(f"sampler {label!r}: {err}") from None
        out.append((label, sampler))
    if not out:
        raise UnmaskError("no samplers given")
    return out


def parse_sampler_spec(text: str, **grid) -> tuple[str, Sampler]:
    """Parse exactly one sampler spec (``"eb:gamma=0.01,proxy=entropy"``)."""
    specs = parse_sampler_specs(text, **grid)
    if len(specs) != 1:
        raise UnmaskError(f"expected one sampler, got {len(specs)} in {text!r}")
    return specs[0]


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
    "coarse_to_fine_2d",
    "dilated_groups_2d",
    "dyadic_group",
    "make_sampler",
    "parse_sampler_specs",
    "parse_sampler_spec",
]
