"""The unmasking loop that every sampler shares, and the pieces of one pass that search reuses.

``Sampler.sample`` calls the model on the rows that still have masked cells, computes per-cell
statistics of the *untempered* distribution (``sampling.stats.CellStats``), lets the sampler
choose a set of masked cells per row (``select``), fills them with the argmax (or a tempered
draw), and repeats. Samplers differ only in ``select``, which works on the whole batch at once:
it sorts the masked cells of every row once, computes each row's own count ``k``, and selects
the first ``k`` with a rank mask and a scatter (no Python loop over rows).

Conventions
-----------
* ``model``: any callable ``LongTensor (B, L) -> logits (B, L, V)``; value index == token id.
* NFE per row counts the forward passes in which the row still had masked cells; finished
  rows are not forwarded again. ``reveal_step`` is the 1-based pass that revealed a cell.
* Randomness (``RandomSampler``'s order, draws at ``temperature > 0``) comes from per-row seeds
  hashed by ``sampling.rng``, so a batched run equals row-by-row runs.
* ``constrain``: an optional callable ``tokens (A, L) -> allowed (A, L, V) bool`` (a task's
  partial-board check); values it rules out get probability 0 before the error proxies are
  computed, so a forced cell has entropy 0 and EB takes it in the same pass.
* ``propagate`` (needs ``constrain``): before each pass, every masked cell that ``constrain``
  leaves exactly one value is filled with it, repeatedly until none is left (``propagate``; no
  forward pass, so no NFE), so the model's next prediction sees those cells. Without it a pass
  reveals the forced cells *and*, as EB's one free cell, an uncertain one predicted without
  them; on DFS mazes that guess is wrong often enough to cost accuracy. Propagated cells carry
  the number of the pass they precede (entropy 0, probability 1), or of the row's last pass
  when no pass follows them (pass 1 for a row the rules complete from its clues: NFE 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from sampling import rng
from sampling.base import SampleResult
from sampling.stats import CellStats

Model = Callable[[torch.Tensor], torch.Tensor]
Constrain = Callable[[torch.Tensor], torch.Tensor]


# --- the pieces of one pass -------------------------------------------------------------------


def forward_logits(model: Model, tokens: torch.Tensor, constrain: Constrain | None = None):
    """One forward pass: float32 logits (A, L, V), with the values ``constrain`` rules out set
    to -inf (a masked cell with no value left keeps the model's logits)."""
    A, L = tokens.shape
    logits = model(tokens).float()  # (A, L, V)
    if logits.dim() != 3 or logits.shape[:2] != (A, L):
        raise ValueError(f"model returned shape {tuple(logits.shape)}, expected ({A}, {L}, V)")
    if constrain is not None:
        allowed = constrain(tokens)  # (A, L, V)
        allowed = allowed | ~allowed.any(-1, keepdim=True)  # dead cells: the row fails anyway
        logits = logits.masked_fill(~allowed, -math.inf)
    return logits


def fill_forced(constrain: Constrain, tokens: torch.Tensor, masked: torch.Tensor):
    """Fill the masked cells of ``tokens`` (A, L) to which ``constrain`` leaves exactly one value,
    and repeat until no masked cell is forced. Returns ``(tokens, filled, allowed)``: the new
    tokens, the (A, L) bool cells it filled and ``constrain`` of the new tokens (for the pass
    that follows). No forward pass; a row that breaks a rule keeps going (its search or
    validator fails it)."""
    filled = torch.zeros_like(masked)
    while True:
        allowed = constrain(tokens)  # (A, L, V)
        forced = masked & ~filled & (allowed.sum(-1) == 1)  # (A, L)
        if not forced.any():
            return tokens, filled, allowed
        tokens = torch.where(forced, allowed.int().argmax(-1), tokens)
        filled = filled | forced


def last_pass_fix(reveal_step: torch.Tensor, nfe: torch.Tensor) -> torch.Tensor:
    """Propagated cells that no pass followed: give them the row's last pass (pass 1 when the
    row had none), so reveal steps stay 1-based and end at the row's NFE."""
    last = nfe.clamp(min=1).unsqueeze(1)  # (B, 1)
    return torch.where(reveal_step > last, last, reveal_step)


def draw_values(
    logits: torch.Tensor,
    temperature: float,
    seeds: torch.Tensor | None,
    step: int | torch.Tensor,
) -> torch.Tensor:
    """(A, L) values: the argmax, or at T > 0 a draw from softmax(logits / T) with Gumbel noise
    hashed from (row seed, ``step``, cell, value)."""
    if temperature > 0:
        noise = rng.gumbel(seeds, rng.STREAM_DRAW, step, tuple(logits.shape[1:]))
        return (logits / temperature + noise).argmax(-1)
    return logits.argmax(-1)


def sorted_masked(score: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
    """(A, L) cell indices per row: masked cells by ascending score (ties by cell index), then
    the unmasked cells."""
    score = score.masked_fill(~masked, math.inf)
    return torch.sort(score, dim=1, stable=True).indices


def take_first(order: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """(A, L) bool: the first ``k[a]`` cells of ``order[a]`` for every row (rank mask + scatter)."""
    ranks = torch.arange(order.shape[1], device=order.device)  # (L,)
    chosen = ranks.unsqueeze(0) < k.unsqueeze(1)  # (A, L) in sorted order
    return torch.zeros_like(chosen).scatter(1, order, chosen)  # back to cell order


def check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


# --- the sampler base class -------------------------------------------------------------------


class Sampler:
    """Base class: the shared unmasking loop. Subclasses implement ``select``.

    Class attributes: ``name`` (registry key) and ``params`` (knob name -> type), used by
    ``sampling.specs``.
    """

    name: str = ""
    params: dict[str, type] = {}
    random_order = False  # True when select needs row seeds even at temperature 0

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
    def plan(
        self,
        masked: torch.Tensor,
        seeds: torch.Tensor | None,
        grid: tuple[int, int] | None,
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
        record: bool = True,
        constrain: Constrain | None = None,
        propagate: bool = False,
    ) -> SampleResult:
        """Fill every cell of ``tokens`` (B, L) that holds ``mask_id``.

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
        record: also return each revealed cell's entropy and probability at reveal.
        constrain, propagate: see the module docstring.

        Returns a ``SampleResult`` on ``tokens.device``; ``tokens`` itself is not modified.
        """
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (B, L), got shape {tuple(tokens.shape)}")
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
        if propagate and constrain is None:
            raise ValueError("propagate needs constrain (the rules that force cells)")
        B, L = tokens.shape
        device = tokens.device
        seeds = self.row_seeds(B, temperature, generator, row_seeds, device)

        with torch.inference_mode():
            tokens = tokens.clone().long()  # (B, L)
            masked = tokens == mask_id  # (B, L) still to fill
            reveal_step = torch.where(masked, 0, -1)  # (B, L); 0 = not yet revealed
            nfe = torch.zeros(B, dtype=torch.long, device=device)  # (B,)
            entropy = torch.full((B, L), math.nan, device=device) if record else None
            prob = torch.full((B, L), math.nan, device=device) if record else None
            plan = self.plan(masked, seeds, grid)  # (B, L) or None

            step = 0
            while True:
                rows = masked.any(dim=1).nonzero().squeeze(1)  # (A,) rows still masked
                A = rows.numel()
                if A == 0:
                    break
                step += 1
                if step > L:  # every pass reveals >= 1 cell per row, so this is a bug
                    raise RuntimeError(f"{self!r} made no progress after {L} passes")
                allowed_a = None  # with propagate: the rules' verdict on the rows of this pass
                if propagate:
                    tok_p, filled, allowed_a = fill_forced(constrain, tokens[rows], masked[rows])
                    if filled.any():
                        tokens.index_copy_(0, rows, tok_p)
                        masked.index_copy_(0, rows, masked[rows] & ~filled)
                        reveal_step.index_copy_(
                            0, rows, torch.where(filled, step, reveal_step[rows])
                        )
                        if record:
                            entropy.index_copy_(0, rows, torch.where(filled, 0.0, entropy[rows]))
                            prob.index_copy_(0, rows, torch.where(filled, 1.0, prob[rows]))
                        keep = masked[rows].any(dim=1)  # rows the rules did not complete
                        rows, allowed_a = rows[keep], allowed_a[keep]
                        A = rows.numel()
                        if A == 0:
                            break
                every = A == B
                tok_a = tokens if every else tokens[rows]  # (A, L)
                masked_a = masked if every else masked[rows]  # (A, L)
                plan_a = plan if (plan is None or every) else plan[rows]

                rules = constrain if allowed_a is None else (lambda _, a=allowed_a: a)
                logits = forward_logits(model, tok_a, rules)  # (A, L, V)
                stats = CellStats(logits)
                chosen = self.select(stats, masked_a, step, plan_a) & masked_a  # (A, L)
                seeds_a = None if seeds is None else (seeds if every else seeds[rows])
                values = draw_values(logits, temperature, seeds_a, step)  # (A, L)

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

            if propagate:
                reveal_step = last_pass_fix(reveal_step, nfe)
        return SampleResult(tokens, reveal_step, nfe, entropy, prob)
