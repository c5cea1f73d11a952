"""Solving with the validator in the loop: depth-first backtracking over a sampler's guesses, or
remasking, for a batch of puzzles at once.

A masked diffusion model that fails usually fails by a guess: a cell revealed while its
distribution still hesitated between a few values. Search keeps the sampler's passes and takes
back such guesses when the task's partial check (``Task.partial_check``) finds a broken rule, or
when a completed board fails the exact validator.

``backtrack``
    A depth-first search whose nodes are the sampler's passes. Every revealed cell whose entropy
    at reveal is above ``branch_entropy`` is a *branch cell*: its values, the one placed first
    and then the others by probability, are the alternatives. On a conflict the search goes back
    to the latest branch cell with an untried value (latest in reveal order: pass, then rank
    within the pass, where the pass's confident cells come before its branch cells and branch
    cells come in ascending entropy), places that value, keeps the rest of that cell's pass,
    undoes every later pass and forgets their alternatives. Checks that fail at once cost no
    forward pass; the next pass runs on the repaired board. With ``branch_entropy = 0`` every
    uncertain decision can be revisited, so with no budget the search finds a valid answer
    whenever one exists (for a model that never gives a wrong value entropy exactly zero).

``remask``
    No stack: on a conflict the latest revealed cell among those breaking a rule (or, when only
    a masked cell ran out of values, the latest revealed cell) is the culprit; its value is
    banned at that cell, and it and every cell revealed after it are masked again. A masked cell
    whose every remaining value is banned gets its bans forgiven and moves the blame back: the
    latest revealed cell is remasked and banned in turn. The training-free self-correction of
    the remasking samplers; it can ban a right value when the wrong one was its partner, so it is
    not complete.

Every forward pass of every row counts in its NFE; a row over ``max_nfe`` stops and counts as
failed. Everything is tensor arithmetic over the rows still searching (no Python loop over
cells); a batched run equals row-by-row runs, as all of a row's state and randomness is its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from puzzles.task import TaskSpec
from sampling import loop
from sampling.base import SampleResult
from sampling.loop import Model, Sampler
from sampling.stats import CellStats

MODES = ("backtrack", "remask")
# nats; chosen on held-out Sudoku (docs/results/search_sweep_sudoku9.json). The command line
# uses each family's own measured value, ``Task.search_branch_entropy``.
DEFAULT_BRANCH_ENTROPY = 0.02
DEFAULT_MAX_NFE = 200
SEARCHING, SOLVED, EXHAUSTED, OVER_BUDGET = 0, 1, 2, 3
STATUS_NAMES = {SOLVED: "solved", EXHAUSTED: "exhausted", OVER_BUDGET: "over budget"}


@dataclass(frozen=True)
class Frame:
    """One picture of one row during a search (for animations).

    nfe:        forward passes so far.
    values:     (L,) int64 token per cell, -1 where masked.
    revealed:   (L,) bool, cells given a value by this event (a pass, or the next value a
                backtrack tries).
    retracted:  (L,) bool, cells whose value this event took back (masked again, or replaced:
                a replaced cell is also ``revealed``).
    entropy:    (L,) float, entropy at reveal of the cells on the board (nan elsewhere).
    prob:       (L,) float, probability of the placed value at reveal (nan elsewhere).
    """

    nfe: int
    values: np.ndarray
    revealed: np.ndarray
    retracted: np.ndarray
    entropy: np.ndarray
    prob: np.ndarray


@dataclass
class SearchResult(SampleResult):
    """A ``SampleResult`` plus what the search did, per row.

    status:        (B,) long: 1 solved (a validated answer), 2 exhausted (no untried value left:
                   under the model's order there is no valid completion), 3 over budget.
    branch_points: (B,) long, branch cells recorded over the whole search.
    backtracks:    (B,) long, times the search went back (backtrack) or remasked (remask).
    frames:        per row, the ``Frame`` of every event, when recorded.
    ``reveal_step`` gives the forward pass that placed each cell's final value.
    """

    status: torch.Tensor | None = None
    branch_points: torch.Tensor | None = None
    backtracks: torch.Tensor | None = None
    frames: list[list[Frame]] | None = field(default=None, repr=False)


class Search:
    """Search over a sampler's passes with the task's partial check (see the module docstring).

    mode:            "backtrack" or "remask".
    branch_entropy:  nats; a revealed cell above it is a branch cell (backtrack).
    max_nfe:         forward passes per puzzle before it counts as failed (None: no budget).
    """

    def __init__(
        self,
        mode: str = "backtrack",
        branch_entropy: float = DEFAULT_BRANCH_ENTROPY,
        max_nfe: int | None = DEFAULT_MAX_NFE,
    ):
        if mode not in MODES:
            raise ValueError(f"search mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not (isinstance(branch_entropy, (int, float)) and branch_entropy >= 0):
            raise ValueError(f"branch_entropy must be a number >= 0, got {branch_entropy!r}")
        if max_nfe is not None and (isinstance(max_nfe, bool) or int(max_nfe) != max_nfe
                                    or max_nfe < 1):  # fmt: skip
            raise ValueError(f"max_nfe must be a whole number >= 1, got {max_nfe!r}")
        self.mode = mode
        self.branch_entropy = float(branch_entropy)
        self.max_nfe = None if max_nfe is None else int(max_nfe)

    def config(self) -> dict:
        return {"mode": self.mode, "branch_entropy": self.branch_entropy, "max_nfe": self.max_nfe}

    def __repr__(self) -> str:
        return (f"Search({self.mode!r}, branch_entropy={self.branch_entropy:g}, "
                f"max_nfe={self.max_nfe})")  # fmt: skip

    def run(
        self,
        model: Model,
        sampler: Sampler,
        spec: TaskSpec,
        tokens: torch.Tensor,
        *,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        row_seeds: torch.Tensor | None = None,
        record: bool = False,
        constrain: bool = False,
        propagate: bool = False,
    ) -> SearchResult:
        """Solve puzzle tokens (B, L) of ``spec``; see ``Sampler.sample`` for the arguments
        (``constrain`` here is a bool: the task's own partial check; ``propagate`` implies it).
        Cells that propagation fills are the first cells of the pass they precede, never
        branch cells."""
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (B, L), got shape {tuple(tokens.shape)}")
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
        with torch.inference_mode():
            state = _State(self, sampler, spec, tokens, temperature, record, constrain, propagate)
            seeds = sampler.row_seeds(state.B, temperature, generator, row_seeds, tokens.device)
            state.seeds = seeds
            state.plan = sampler.plan(state.masked, seeds, spec.grid)
            state.settle(torch.arange(state.B, device=tokens.device))  # a puzzle may be broken
            while True:
                rows = state.searching()
                if rows.numel() == 0:
                    break
                state.one_pass(model, rows)
            return state.result()


class _State:
    """The per-row search state, as tensors over all B rows (see ``Search``)."""

    def __init__(self, search, sampler, spec, tokens, temperature, record, constrain, propagate):
        self.search, self.sampler, self.spec = search, sampler, spec
        self.family = spec.family
        self.temperature, self.record = temperature, record
        self.constrain = constrain or propagate
        self.propagate = propagate
        B, L = tokens.shape
        V, dev = spec.num_values, tokens.device
        self.B, self.L, self.V = B, L, V
        self.tok = tokens.clone().long()  # (B, L)
        self.masked = self.tok == spec.mask_id  # (B, L)
        self.depth = torch.zeros(B, dtype=torch.long, device=dev)  # passes on the current path
        self.rdepth = torch.where(self.masked, 0, -1)  # (B, L) pass of the current value
        self.rank = torch.zeros(B, L, dtype=torch.long, device=dev)  # order within its pass
        self.branch = torch.zeros(B, L, dtype=torch.bool, device=dev)
        self.order = torch.zeros(B, L, V, dtype=torch.long, device=dev)  # values to try, in turn
        self.alt = torch.zeros(B, L, dtype=torch.long, device=dev)  # index of the current value
        self.banned = torch.zeros(B, L, V, dtype=torch.bool, device=dev)  # remask
        self.nfe = torch.zeros(B, dtype=torch.long, device=dev)
        self.branch_points = torch.zeros_like(self.nfe)
        self.backtracks = torch.zeros_like(self.nfe)
        self.status = torch.zeros_like(self.nfe)
        self.reveal_step = self.rdepth.clone()  # forward pass that placed the current value
        self.entropy = torch.full((B, L), math.nan, device=dev)
        self.prob = torch.full((B, L), math.nan, device=dev)
        self.frames: list[list[Frame]] | None = [[] for _ in range(B)] if record else None
        self.seeds: torch.Tensor | None = None
        self.plan: torch.Tensor | None = None

    # --- rows ---------------------------------------------------------------------------
    def searching(self) -> torch.Tensor:
        """(A,) rows still searching; rows at the budget stop here as failed."""
        budget = self.search.max_nfe
        if budget is not None:
            over = (self.status == SEARCHING) & (self.nfe >= budget)
            self.status[over] = OVER_BUDGET
        return (self.status == SEARCHING).nonzero().squeeze(1)

    def _allowed(self, tok: torch.Tensor, rows: torch.Tensor) -> torch.Tensor | None:
        allowed = None
        if self.constrain:
            allowed = self.family.partial_check(self.spec, tok).allowed  # (A, L, V)
        if self.search.mode == "remask":
            ok = ~self.banned[rows]
            allowed = ok if allowed is None else allowed & ok
        return allowed

    # --- propagation before a pass (no forward pass) --------------------------------------
    def _propagate(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fill the cells the rules force (``loop.fill_forced``) as the first cells of the coming
        pass (never branch cells), repair the rows that then break a rule, and return the rows
        that still need a pass, with their ``_allowed`` when no board changed (else None)."""

        def allowed(t: torch.Tensor) -> torch.Tensor:
            return self._allowed(t, rows)  # the rules, and in remask mode the bans

        tok, filled, allowed_now = loop.fill_forced(allowed, self.tok[rows], self.masked[rows])
        if not filled.any():
            return rows, allowed_now
        depth, nfe = self.depth[rows] + 1, self.nfe[rows] + 1  # (A,) the coming pass
        V = self.V
        first = torch.arange(V, device=tok.device) == tok.unsqueeze(-1)  # (A, L, V)
        order = torch.sort((~first).long(), dim=-1, stable=True).indices  # its value, then none
        self.tok[rows] = tok
        self.masked[rows] = self.masked[rows] & ~filled
        self.rdepth[rows] = torch.where(filled, depth.unsqueeze(1), self.rdepth[rows])
        self.rank[rows] = torch.where(filled, -1, self.rank[rows])  # before the pass's own cells
        self.branch[rows] = self.branch[rows] & ~filled
        self.order[rows] = torch.where(filled.unsqueeze(-1), order, self.order[rows])
        self.alt[rows] = torch.where(filled, 0, self.alt[rows])
        self.reveal_step[rows] = torch.where(filled, nfe.unsqueeze(1), self.reveal_step[rows])
        self.entropy[rows] = torch.where(filled, 0.0, self.entropy[rows])
        self.prob[rows] = torch.where(filled, 1.0, self.prob[rows])
        if self.frames is not None:
            self._frames(rows, filled, torch.zeros_like(filled))
        self.settle(rows[filled.any(1)])
        keep = (self.status[rows] == SEARCHING) & self.masked[rows].any(1)
        return rows[keep], None

    # --- one forward pass over the rows still searching ---------------------------------
    def one_pass(self, model: Model, rows: torch.Tensor) -> None:
        allowed = None
        if self.propagate:
            rows, allowed = self._propagate(rows)
            if rows.numel() == 0:
                return
        tok = self.tok[rows]  # (A, L)
        masked = self.masked[rows]
        if allowed is None:
            allowed = self._allowed(tok, rows)
        logits = loop.forward_logits(model, tok, None if allowed is None else (lambda _: allowed))
        stats = CellStats(logits)
        depth = self.depth[rows] + 1  # (A,) the pass on the current path
        plan = None if self.plan is None else self.plan[rows]
        chosen = self.sampler.select(stats, masked, depth.unsqueeze(1), plan) & masked  # (A, L)
        # A pass always reveals something: a plan step that backtracking emptied falls back to
        # the most certain masked cell.
        empty = ~chosen.any(1)
        if empty.any():
            first = loop.sorted_masked(stats.entropy, masked)[:, 0]  # (A,)
            chosen[empty, first[empty]] = True
        nfe = self.nfe[rows] + 1
        seeds = None if self.seeds is None else self.seeds[rows]
        values = loop.draw_values(logits, self.temperature, seeds, nfe)  # (A, L)
        H = stats.entropy  # (A, L) untempered
        is_branch = chosen & (H > self.search.branch_entropy)
        if self.search.mode == "remask":
            is_branch = torch.zeros_like(is_branch)
        # values in the order a backtrack tries them: the one placed, then by probability
        V = self.V
        first = torch.arange(V, device=tok.device) == values.unsqueeze(-1)  # (A, L, V)
        order = torch.sort(torch.where(first, -2.0, -stats.probs), dim=-1, stable=True).indices
        # rank within the pass: confident cells first, then branch cells by ascending entropy
        key = torch.where(chosen, is_branch.float() * 1e6 + H.nan_to_num(0.0), math.inf)
        rank = torch.argsort(torch.argsort(key, dim=1, stable=True), dim=1)  # (A, L)

        self.tok[rows] = torch.where(chosen, values, tok)
        self.masked[rows] = masked & ~chosen
        self.rdepth[rows] = torch.where(chosen, depth.unsqueeze(1), self.rdepth[rows])
        self.rank[rows] = torch.where(chosen, rank, self.rank[rows])
        self.branch[rows] = torch.where(chosen, is_branch, self.branch[rows])
        self.order[rows] = torch.where(chosen.unsqueeze(-1), order, self.order[rows])
        self.alt[rows] = torch.where(chosen, 0, self.alt[rows])
        self.reveal_step[rows] = torch.where(chosen, nfe.unsqueeze(1), self.reveal_step[rows])
        placed = stats.probs.gather(-1, values.unsqueeze(-1)).squeeze(-1)
        self.entropy[rows] = torch.where(chosen, H, self.entropy[rows])
        self.prob[rows] = torch.where(chosen, placed, self.prob[rows])
        self.depth[rows] = depth
        self.nfe[rows] = nfe
        self.branch_points[rows] += is_branch.sum(1)
        if self.frames is not None:
            self._frames(rows, chosen, torch.zeros_like(chosen))
        self.settle(rows)

    # --- checks and repairs (no forward pass) --------------------------------------------
    def _violated(self, rows: torch.Tensor) -> torch.Tensor:
        """(R,) bool: the board breaks a rule now, or is complete and fails the validator; rows
        that are complete and valid are marked solved."""
        tok = self.tok[rows]
        check = self.family.partial_check(self.spec, tok)
        bad = check.violated
        if self.search.mode == "remask":
            # A masked cell whose every value the rules leave is banned: something revealed
            # before it must change. Forgive its bans and count the row as broken, so the latest
            # revealed cell is remasked next (blame moves back instead of going round in a loop).
            banned = self.banned[rows]
            starved = self.masked[rows] & check.allowed.any(-1) & ~(check.allowed & ~banned).any(-1)
            self.banned[rows] = banned & ~starved.unsqueeze(-1)
            bad = bad | starved.any(1)
        done = ~self.masked[rows].any(1) & ~bad
        if done.any():
            idx = done.nonzero().squeeze(1)
            answers = self.spec.decode(tok[idx].cpu().numpy())  # (D, H, W)
            for k, answer in zip(idx.tolist(), answers, strict=True):
                puzzle = self._puzzle_board(int(rows[k]))
                if self.family.check_answer(puzzle, answer) is None:
                    self.status[rows[k]] = SOLVED
                else:
                    bad[k] = True
        return bad

    def _puzzle_board(self, row: int) -> np.ndarray:
        given = self.rdepth[row] < 0
        tok = torch.where(given, self.tok[row], self.spec.mask_id)
        return self.spec.decode(tok[None].cpu().numpy())[0]

    def settle(self, rows: torch.Tensor) -> None:
        """Repair the boards of ``rows`` until none breaks a rule (or the row stops)."""
        repair = self._backtrack if self.search.mode == "backtrack" else self._remask
        while rows.numel():
            rows = rows[self._violated(rows)]
            if rows.numel() == 0:
                return
            before_tok, before_masked = self.tok[rows].clone(), self.masked[rows].clone()
            kept = repair(rows)
            if self.frames is not None:  # taken back: masked again, or given another value
                now_masked = self.masked[rows]
                replaced = ~now_masked & (self.tok[rows] != before_tok) & ~before_masked
                self._frames(rows, replaced, (~before_masked & now_masked) | replaced)
            rows = kept

    def _key(self, rows: torch.Tensor) -> torch.Tensor:
        """(R, L) position of each cell's current value in the reveal order of its row."""
        return self.rdepth[rows] * self.L + self.rank[rows]

    def _undo_after(self, rows: torch.Tensor, later: torch.Tensor) -> None:
        """Mask again the cells ``later`` (R, L) of ``rows`` and forget their state."""
        self.tok[rows] = torch.where(later, self.spec.mask_id, self.tok[rows])
        self.masked[rows] = self.masked[rows] | later
        self.rdepth[rows] = torch.where(later, 0, self.rdepth[rows])
        self.branch[rows] = self.branch[rows] & ~later
        self.alt[rows] = torch.where(later, 0, self.alt[rows])
        self.reveal_step[rows] = torch.where(later, 0, self.reveal_step[rows])
        self.entropy[rows] = torch.where(later, math.nan, self.entropy[rows])
        self.prob[rows] = torch.where(later, math.nan, self.prob[rows])

    def _backtrack(self, rows: torch.Tensor) -> torch.Tensor:
        """Go back to the latest branch cell with an untried value; returns the rows that are
        still searching (the others are exhausted)."""
        cand = self.branch[rows] & (self.alt[rows] < self.V - 1) & (self.rdepth[rows] > 0)
        stuck = ~cand.any(1)
        self.status[rows[stuck]] = EXHAUSTED
        rows, cand = rows[~stuck], cand[~stuck]
        if rows.numel() == 0:
            return rows
        key = self._key(rows)  # (R, L)
        cell = torch.where(cand, key, -1).argmax(1)  # (R,) the latest branch cell
        at = torch.arange(len(rows), device=rows.device)
        t_cell, r_cell = self.rdepth[rows, cell], self.rank[rows, cell]  # (R,)
        rdepth, rank = self.rdepth[rows], self.rank[rows]
        self._undo_after(rows, rdepth > t_cell.unsqueeze(1))
        # the rest of that cell's pass stays, back at its first value
        rest = (rdepth == t_cell.unsqueeze(1)) & (rank > r_cell.unsqueeze(1))  # (R, L)
        alt = torch.where(rest, 0, self.alt[rows])
        alt[at, cell] += 1
        self.alt[rows] = alt
        first_values = self.order[rows].gather(-1, alt.unsqueeze(-1)).squeeze(-1)  # (R, L)
        change = rest.clone()
        change[at, cell] = True
        self.tok[rows] = torch.where(change, first_values, self.tok[rows])
        self.depth[rows] = t_cell
        self.backtracks[rows] += 1
        return rows

    def _remask(self, rows: torch.Tensor) -> torch.Tensor:
        """Ban the culprit's value, mask it and everything revealed after it again."""
        check = self.family.partial_check(self.spec, self.tok[rows])
        placed = self.rdepth[rows] > 0  # (R, L) revealed by the search (not givens)
        culprits = check.conflict & placed
        culprits = torch.where(culprits.any(1, keepdim=True), culprits, placed)
        stuck = ~culprits.any(1)
        self.status[rows[stuck]] = EXHAUSTED
        rows, culprits = rows[~stuck], culprits[~stuck]
        if rows.numel() == 0:
            return rows
        key = self._key(rows)
        cell = torch.where(culprits, key, -1).argmax(1)  # (R,) the latest culprit
        at = torch.arange(len(rows), device=rows.device)
        banned = self.banned[rows]
        banned[at, cell, self.tok[rows, cell]] = True
        self.banned[rows] = banned
        self._undo_after(rows, key >= key[at, cell].unsqueeze(1))
        self.depth[rows] = self.rdepth[rows].clamp(min=0).amax(1)
        self.backtracks[rows] += 1
        return rows

    # --- frames for animations ----------------------------------------------------------
    def _frames(self, rows, revealed, retracted) -> None:
        for k, r in enumerate(rows.tolist()):
            masked = self.masked[r]
            self.frames[r].append(
                Frame(
                    nfe=int(self.nfe[r]),
                    values=torch.where(masked, -1, self.tok[r]).cpu().numpy(),
                    revealed=revealed[k].cpu().numpy().copy(),
                    retracted=retracted[k].cpu().numpy().copy(),
                    entropy=torch.where(masked, math.nan, self.entropy[r]).cpu().numpy(),
                    prob=torch.where(masked, math.nan, self.prob[r]).cpu().numpy(),
                )
            )

    # --- the result ---------------------------------------------------------------------
    def result(self) -> SearchResult:
        reveal_step = self.reveal_step
        if self.propagate:
            reveal_step = loop.last_pass_fix(reveal_step, self.nfe)
        return SearchResult(
            tokens=self.tok,
            reveal_step=reveal_step,
            nfe=self.nfe,
            entropy=self.entropy if self.record else None,
            prob=self.prob if self.record else None,
            status=self.status,
            branch_points=self.branch_points,
            backtracks=self.backtracks,
            frames=self.frames,
        )
