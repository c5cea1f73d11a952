"""One unmasking step, and the per-row state of a batch being unmasked: what the plain loop
(``Sampler.sample``) and the search (``sampling.search``) share.

The step has the shape of a diffusers scheduler step: it takes the model's output for one
forward pass over some rows and the state of those rows, and returns a small result (``Step``:
the cells to reveal, their values and the statistics they were chosen by). ``Board`` holds a
batch's state (tokens, what is still masked, the pass that revealed each cell, NFE per row,
entropy and probability at reveal, and on request the events of the solve) and applies a step
(``place``) or the cells the rules force (``fill``). Search extends ``Board`` with its stack.

Conventions
-----------
* ``model``: any callable ``LongTensor (B, L) -> logits (B, L, V)``; value index == token id.
* NFE per row counts the forward passes in which the row still had masked cells; finished
  rows are not forwarded again. A cell's ``reveal_step`` is the row's NFE after the pass that
  revealed it (1-based), -1 for givens.
* Error proxies come from the untempered distribution (``CellStats``); temperature only shapes
  the draw, whose randomness is hashed from (row seed, ``draw_step``, cell, value)
  (``sampling.rng``), so a batched run equals row-by-row runs.
* ``allowed``: an optional (A, L, V) bool of the values the task's rules leave; the rest get
  probability 0 before the proxies are computed (``--constrain``).
* Recording (``record``): "none"; "reveal" (entropy and probability of each cell at reveal);
  "events" (also one ``Event`` per pass, fill and repair: what animations of a search draw);
  "full" (events that also hold every masked cell's error proxies before each pass and the
  top-3 values of each revealed cell: what ``unmask view`` shows). Off costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch

from sampling import rng
from sampling.stats import CellStats

Model = Callable[[torch.Tensor], torch.Tensor]
RECORDS = ("none", "reveal", "events", "full")


def forward_logits(model: Model, tokens: torch.Tensor, allowed: torch.Tensor | None = None):
    """One forward pass: float32 logits (A, L, V), with the values ``allowed`` (A, L, V) rules
    out set to -inf (a masked cell with no value left keeps the model's logits)."""
    A, L = tokens.shape
    logits = model(tokens).float()  # (A, L, V)
    if logits.dim() != 3 or logits.shape[:2] != (A, L):
        raise ValueError(f"model returned shape {tuple(logits.shape)}, expected ({A}, {L}, V)")
    if allowed is not None:
        allowed = allowed | ~allowed.any(-1, keepdim=True)  # dead cells: the row fails anyway
        logits = logits.masked_fill(~allowed, -math.inf)
    return logits


def draw_values(
    logits: torch.Tensor, temperature: float, seeds: torch.Tensor | None, step: int | torch.Tensor
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


@dataclass
class Step:
    """What one step decided for the A rows of one forward pass.

    chosen: (A, L) bool, the masked cells revealed now (at least one per row).
    values: (A, L) long, the value drawn for every cell (only ``chosen`` ones are placed).
    stats:  the untempered statistics of the pass (entropy, probabilities, proxies).
    """

    chosen: torch.Tensor
    values: torch.Tensor
    stats: CellStats

    @cached_property
    def placed_prob(self) -> torch.Tensor:
        """(A, L) untempered probability of each cell's drawn value."""
        return self.stats.probs.gather(-1, self.values.unsqueeze(-1)).squeeze(-1)


def unmask_step(
    sampler,
    logits: torch.Tensor,
    masked: torch.Tensor,
    *,
    step: int | torch.Tensor,
    draw_step: int | torch.Tensor,
    plan: torch.Tensor | None = None,
    seeds: torch.Tensor | None = None,
    temperature: float = 0.0,
) -> Step:
    """One pass: the sampler's ``select`` on the untempered statistics of ``logits`` (A, L, V)
    for the ``masked`` (A, L) cells, then the values (argmax, or a tempered draw).

    step: the pass on the row's path (an int, or (A, 1) per row: what a plan counts in).
    draw_step: what the randomness of the draw is hashed with (the row's NFE after the pass).
    A row whose selection came back empty (a plan step that propagation or a backtrack
    emptied) reveals its most certain masked cell instead, so every pass makes progress.
    """
    stats = CellStats(logits)
    chosen = sampler.select(stats, masked, step, plan) & masked  # (A, L)
    empty = ~chosen.any(1) & masked.any(1)
    if empty.any():
        first = sorted_masked(stats.entropy, masked)[:, 0]  # (A,)
        chosen[empty, first[empty]] = True
    values = draw_values(logits, temperature, seeds, draw_step)  # (A, L)
    return Step(chosen, values, stats)


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One event of one row's solve, for pictures (``record`` "events" or "full").

    kind:       "pass" (a forward pass), "fill" (cells the rules forced, no forward pass),
                "backtrack" (the search went back and tried another value) or "remask" (the
                search masked cells again).
    nfe:        forward passes so far.
    values:     (L,) int64 token per cell after the event, -1 where masked.
    revealed:   (L,) bool, cells given a value by this event.
    retracted:  (L,) bool, cells whose value this event took back (masked again, or replaced:
                a replaced cell is also ``revealed``).
    entropy:    (L,) float, entropy at reveal of the cells on the board (nan elsewhere).
    prob:       (L,) float, probability of the placed value at reveal (nan elsewhere).
    branch:     (L,) bool, revealed cells that became branch points of a search.
    With record "full", pass events also hold, for the M cells masked before the pass in the
    sampler's proxy order (most certain first): ``order`` (M,) cells, ``proxy`` (M,) their
    scores, ``cell_entropy`` (M,) and ``confidence`` (M,); and for the R revealed cells in cell
    order ``top_tokens`` / ``top_probs`` (R, 3). A backtrack names its ``cell`` and the
    ``token`` it tries next.
    """

    kind: str
    nfe: int
    values: np.ndarray
    revealed: np.ndarray
    retracted: np.ndarray
    entropy: np.ndarray
    prob: np.ndarray
    branch: np.ndarray | None = None
    order: np.ndarray | None = None
    proxy: np.ndarray | None = None
    cell_entropy: np.ndarray | None = None
    confidence: np.ndarray | None = None
    top_tokens: np.ndarray | None = None
    top_probs: np.ndarray | None = None
    cell: int | None = None
    token: int | None = None


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy().copy()


def pass_details(stats: CellStats, masked: torch.Tensor, proxy: str) -> list[dict]:
    """Per row, what record "full" keeps of a pass: the masked cells in ``proxy`` order with
    their proxy, entropy and confidence, and every cell's top-3 values (for the revealed)."""
    score = stats.score(proxy)  # (A, L)
    order = sorted_masked(score, masked)  # (A, L)
    k = min(3, stats.probs.shape[-1])
    top = stats.probs.topk(k, dim=-1)  # (A, L, k)
    out = []
    for a in range(masked.shape[0]):
        m = int(masked[a].sum())
        cells = order[a, :m]
        out.append(dict(order=_numpy(cells), proxy=_numpy(score[a, cells]),
                        cell_entropy=_numpy(stats.entropy[a, cells]),
                        confidence=_numpy(stats.confidence[a, cells]),
                        top_tokens=_numpy(top.indices[a]), top_probs=_numpy(top.values[a])))  # fmt: skip
    return out


# --- the per-row state of a batch ----------------------------------------------------------


@dataclass
class SampleResult:
    """What a solve returns (``Sampler.sample``; ``sampling.search`` adds to it).

    tokens:       (B, L) long, every cell filled.
    reveal_step:  (B, L) long, the 1-based forward pass whose prediction revealed the cell;
                  -1 for given cells. Frame t of an animation highlights reveal_step == t.
    nfe:          (B,) long, forward passes in which this row still had masked cells
                  (== reveal_step.max(dim=1) clamped at 0).
    entropy:      (B, L) float, entropy in nats of the untempered distribution at reveal
                  (nan for givens), or None when not recorded.
    prob:         (B, L) float, untempered probability of the value placed (nan for givens),
                  or None.
    events:       per row, the ``Event`` of every pass, fill and repair, when recorded.
    """

    tokens: torch.Tensor
    reveal_step: torch.Tensor
    nfe: torch.Tensor
    entropy: torch.Tensor | None = None
    prob: torch.Tensor | None = None
    events: list[list[Event]] | None = field(default=None, repr=False)


class Board:
    """The per-row state of B puzzles being unmasked, as tensors over all rows.

    tokens (B, L), masked (B, L), reveal_step (B, L; 0 = not yet revealed, -1 given),
    nfe (B,), entropy and prob (B, L) at reveal (when recorded), events (per row, when
    recorded), seeds (B,) or None, plan (B, L) or None.
    """

    def __init__(self, tokens: torch.Tensor, mask_id: int, *, record: str = "reveal"):
        if record not in RECORDS:
            raise ValueError(f"record must be one of {', '.join(RECORDS)}, got {record!r}")
        B, L = tokens.shape
        dev = tokens.device
        self.B, self.L, self.mask_id, self.record = B, L, mask_id, record
        self.tokens = tokens.clone().long()  # (B, L)
        self.masked = self.tokens == mask_id  # (B, L) still to fill
        self.reveal_step = torch.where(self.masked, 0, -1)  # (B, L)
        self.nfe = torch.zeros(B, dtype=torch.long, device=dev)
        keep = record != "none"
        self.entropy = torch.full((B, L), math.nan, device=dev) if keep else None
        self.prob = torch.full((B, L), math.nan, device=dev) if keep else None
        self.events: list[list[Event]] | None = (
            [[] for _ in range(B)] if record in ("events", "full") else None
        )
        self.seeds: torch.Tensor | None = None
        self.plan: torch.Tensor | None = None

    def at(self, rows: torch.Tensor):
        """An index for ``rows`` (A,): the whole batch as a slice when every row is in it."""
        return slice(None) if rows.numel() == self.B else rows

    def rows_left(self) -> torch.Tensor:
        """(A,) rows that still have masked cells."""
        return self.masked.any(dim=1).nonzero().squeeze(1)

    def step(self, sampler, logits, rows, *, step, draw_step, temperature) -> Step:
        """``unmask_step`` for ``rows`` with their plan and seeds."""
        at = self.at(rows)
        return unmask_step(
            sampler, logits, self.masked[at], step=step, draw_step=draw_step,
            plan=None if self.plan is None else self.plan[at],
            seeds=None if self.seeds is None else self.seeds[at], temperature=temperature,
        )  # fmt: skip

    def place(self, rows: torch.Tensor, out: Step, *, proxy: str = "entropy",
              branch: torch.Tensor | None = None) -> None:  # fmt: skip
        """Apply a step to ``rows``: place the chosen values, count the pass, record."""
        at = self.at(rows)
        chosen = out.chosen
        masked = self.masked[at]
        details = pass_details(out.stats, masked, proxy) if self.record == "full" else None
        nfe = self.nfe[at] + 1  # (A,) the pass just made
        self.tokens[at] = torch.where(chosen, out.values, self.tokens[at])
        self.masked[at] = masked & ~chosen
        self.reveal_step[at] = torch.where(chosen, nfe.unsqueeze(1), self.reveal_step[at])
        self.nfe[at] = nfe
        if self.entropy is not None:
            self.entropy[at] = torch.where(chosen, out.stats.entropy, self.entropy[at])
            self.prob[at] = torch.where(chosen, out.placed_prob, self.prob[at])
        if self.events is not None:
            self.add_events(rows, "pass", chosen, torch.zeros_like(chosen), branch, details)

    def fill(self, rows: torch.Tensor, tokens: torch.Tensor, filled: torch.Tensor) -> None:
        """The cells ``filled`` (A, L) that the rules force take their values from ``tokens``
        (A, L): no forward pass; they carry the number of the pass they precede, entropy 0 and
        probability 1."""
        at = self.at(rows)
        self.tokens[at] = tokens
        self.masked[at] = self.masked[at] & ~filled
        coming = (self.nfe[at] + 1).unsqueeze(1)
        self.reveal_step[at] = torch.where(filled, coming, self.reveal_step[at])
        if self.entropy is not None:
            self.entropy[at] = torch.where(filled, 0.0, self.entropy[at])
            self.prob[at] = torch.where(filled, 1.0, self.prob[at])
        if self.events is not None:
            self.add_events(rows, "fill", filled, torch.zeros_like(filled))

    def add_events(self, rows, kind, revealed, retracted, branch=None, details=None,
                   cells=None, tokens=None) -> None:  # fmt: skip
        """Append one ``Event`` per row of ``rows`` (masks (A, L); ``details`` per row from
        ``pass_details``; ``cells``/``tokens`` (A,) for a backtrack's next value, -1: none)."""
        for k, r in enumerate(rows.tolist()):
            masked = self.masked[r]
            extra = {}
            if details is not None:
                d = details[k]
                shown = revealed[k].nonzero().squeeze(1).cpu().numpy()  # (R,), also when R == 1
                extra = dict(order=d["order"], proxy=d["proxy"], cell_entropy=d["cell_entropy"],
                             confidence=d["confidence"], top_tokens=d["top_tokens"][shown],
                             top_probs=d["top_probs"][shown])  # fmt: skip
            if cells is not None and int(cells[k]) >= 0:
                extra.update(cell=int(cells[k]), token=int(tokens[k]))
            self.events[r].append(Event(
                kind=kind, nfe=int(self.nfe[r]),
                values=_numpy(torch.where(masked, -1, self.tokens[r])),
                revealed=_numpy(revealed[k]), retracted=_numpy(retracted[k]),
                entropy=_numpy(torch.where(masked, math.nan, self.entropy[r])),
                prob=_numpy(torch.where(masked, math.nan, self.prob[r])),
                branch=None if branch is None else _numpy(branch[k]), **extra,
            ))  # fmt: skip

    def forced(self, rows: torch.Tensor, rules):
        """The board of ``rows`` with every masked cell to which ``rules`` (tokens (A, L) ->
        allowed (A, L, V)) leaves exactly one value filled, again until none is; nothing is
        written. Returns (tokens (A, L), filled (A, L), the rules' verdict on those tokens)."""
        at = self.at(rows)
        tokens, masked = self.tokens[at], self.masked[at]
        filled = torch.zeros_like(masked)
        while True:
            allowed = rules(tokens)  # (A, L, V)
            forced = masked & ~filled & (allowed.sum(-1) == 1)  # (A, L)
            if not forced.any():
                return tokens, filled, allowed
            tokens = torch.where(forced, allowed.int().argmax(-1), tokens)
            filled = filled | forced

    def propagate(self, rows: torch.Tensor, rules) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``fill`` what ``forced`` finds (no forward pass). Returns the rows that still have
        masked cells and the rules' last verdict on them (for the pass that follows)."""
        tokens, filled, allowed = self.forced(rows, rules)
        if not filled.any():
            return rows, allowed
        self.fill(rows, tokens, filled)
        keep = self.masked[self.at(rows)].any(dim=1)  # rows the rules did not complete
        return rows[keep], allowed[keep]

    def finished_reveal_steps(self) -> torch.Tensor:
        """``reveal_step`` with propagated cells that no pass followed given the row's last
        pass (pass 1 when the row had none), so reveal steps stay 1-based and end at NFE."""
        last = self.nfe.clamp(min=1).unsqueeze(1)  # (B, 1)
        return torch.where(self.reveal_step > last, last, self.reveal_step)

    def result(self, cls=SampleResult, **extra) -> SampleResult:
        keep = self.record != "none"
        return cls(
            tokens=self.tokens,
            reveal_step=self.finished_reveal_steps(),
            nfe=self.nfe,
            entropy=self.entropy if keep else None,
            prob=self.prob if keep else None,
            events=self.events,
            **extra,
        )
