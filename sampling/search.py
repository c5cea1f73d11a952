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
    cells come in ascending entropy), places that value and undoes every later reveal: the rest
    of that cell's pass (``repredict``: the next forward pass predicts those cells again, now
    knowing the new value) and every later pass, forgetting their alternatives. Checks that fail
    at once cost no forward pass; the next pass runs on the repaired board. A row that runs out
    of values at the family's threshold starts once more from its puzzle at ``branch_entropy``
    0 (``restart``: a confident reveal must have been wrong, and now every uncertain one can be
    revisited); its NFE keeps counting. With ``branch_entropy = 0`` and no budget the search
    finds a valid answer whenever one exists (for a model that never gives a wrong value
    entropy exactly zero).

    Why ``repredict``: the repairs between two forward passes cost no NFE, so they must be
    bounded. Keeping the rest of the pass, a large EB pass (gamma 1) with several wrong branch
    cells tries their combinations one by one at no cost (exponentially many); masking it
    instead, each branch cell takes at most V - 1 values before the next pass. Variants tried
    on the numbers and left out (the session notes of issue 23 give the figures): backjumping
    to the conflict's least-sure cell (fewer solved), an exact backjump (the same answers and
    NFE, 6x the wall time) and random restarts at temperature 0.5 (fewer solved).

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
from dataclasses import dataclass

import numpy as np
import torch

from puzzles.task import TaskSpec
from sampling.samplers import Sampler
from sampling.step import Board, Model, SampleResult, forward_logits

MODES = ("backtrack", "remask")
# nats: a revealed cell above it is a branch cell. Measured per family on its held-out sets
# (``benchmarks/search_sweep.py``; docs/results/search_sweep_*.json): Sudoku 0.005-0.02 all
# solved 200/200 held-out puzzles, 0.02 the cheapest; mazes 0.001 solved 100/100 DFS and
# 99/100 DFS + openings mazes, 0.02 97 and 93 (confident wrong path cells are common). A family
# not listed gets the default.
DEFAULT_BRANCH_ENTROPY = 0.02
BRANCH_ENTROPY = {"maze": 0.001}
DEFAULT_MAX_NFE = 200
SEARCHING, SOLVED, EXHAUSTED, OVER_BUDGET = 0, 1, 2, 3


def branch_entropy_for(task: str) -> float:
    """The measured default branch entropy of family ``task`` (nats)."""
    return BRANCH_ENTROPY.get(task, DEFAULT_BRANCH_ENTROPY)


@dataclass
class SearchResult(SampleResult):
    """A ``SampleResult`` plus what the search did, per row.

    status:        (B,) long: 1 solved (a validated answer), 2 exhausted (no untried value left:
                   under the model's order there is no valid completion), 3 over budget.
    branch_points: (B,) long, branch cells recorded over the whole search.
    backtracks:    (B,) long, times the search went back (backtrack) or remasked (remask).
    ``reveal_step`` gives the forward pass that placed each cell's final value; ``events``
    (when recorded) include the repairs.
    """

    status: torch.Tensor | None = None
    branch_points: torch.Tensor | None = None
    backtracks: torch.Tensor | None = None


class Search:
    """Search over a sampler's passes with the task's partial check (see the module docstring).

    mode:            "backtrack" or "remask".
    branch_entropy:  nats; a revealed cell above it is a branch cell (backtrack).
    max_nfe:         forward passes per puzzle before it counts as failed (None: no budget).
    repredict:       after a backtrack, predict the rest of the branch cell's pass again
                     (else keep it, back at its first values).
    restart:         a row exhausted at a threshold above 0 starts again at threshold 0.
    """

    def __init__(
        self,
        mode: str = "backtrack",
        branch_entropy: float = DEFAULT_BRANCH_ENTROPY,
        max_nfe: int | None = DEFAULT_MAX_NFE,
        *,
        repredict: bool = True,
        restart: bool = True,
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
        self.repredict, self.restart = bool(repredict), bool(restart)

    def config(self) -> dict:
        return {"mode": self.mode, "branch_entropy": self.branch_entropy, "max_nfe": self.max_nfe,
                "repredict": self.repredict, "restart": self.restart}  # fmt: skip

    def __repr__(self) -> str:
        return (f"Search({self.mode!r}, branch_entropy={self.branch_entropy:g}, "
                f"max_nfe={self.max_nfe}, repredict={self.repredict}, restart={self.restart})")  # fmt: skip

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
        record: bool | str = False,
        constrain: bool = False,
        propagate: bool = False,
    ) -> SearchResult:
        """Solve puzzle tokens (B, L) of ``spec``; see ``Sampler.sample`` for the arguments
        (``constrain`` here is a bool: the task's own partial check; ``propagate`` implies it;
        ``record`` True keeps every event, "full" also every pass's error proxies). Cells that
        propagation fills are the first cells of the pass they precede, never branch cells."""
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (B, L), got shape {tuple(tokens.shape)}")
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
        record = {True: "events", False: "none"}.get(record, record)
        with torch.inference_mode():
            state = _State(self, sampler, spec, tokens, temperature, record, constrain, propagate)
            state.seeds = sampler.row_seeds(state.B, temperature, generator, row_seeds,
                                            tokens.device)  # fmt: skip
            state.plan = sampler.plan(state.masked, state.seeds, spec.grid)
            state.settle(torch.arange(state.B, device=tokens.device))  # a puzzle may be broken
            while (rows := state.searching()).numel():
                state.one_pass(model, rows)
            return state.result(SearchResult, status=state.status,
                                branch_points=state.branch_points, backtracks=state.backtracks)  # fmt: skip


class _State(Board):
    """The per-row search state: a ``Board`` plus, per revealed cell, where its value sits on
    the current path (pass ``rdepth`` and ``rank`` within it), whether it is a branch cell,
    the values still to try (``order``, ``alt``) and, for remask, the banned values."""

    def __init__(self, search, sampler, spec, tokens, temperature, record, constrain, propagate):
        super().__init__(tokens, spec.mask_id, record="reveal" if record == "none" else record)
        self.keep_reveal = record != "none"
        self.search, self.sampler, self.spec = search, sampler, spec
        self.family = spec.family
        self.temperature = temperature
        self.constrain = constrain or propagate
        self.propagating = propagate
        B, L, V, dev = self.B, self.L, spec.num_values, tokens.device
        self.V = V
        self.depth = torch.zeros(B, dtype=torch.long, device=dev)  # passes on the current path
        self.rdepth = torch.where(self.masked, 0, -1)  # (B, L) pass of the current value
        self.rank = torch.zeros(B, L, dtype=torch.long, device=dev)  # order within its pass
        self.branch = torch.zeros(B, L, dtype=torch.bool, device=dev)
        self.order = torch.zeros(B, L, V, dtype=torch.long, device=dev)  # values to try, in turn
        self.alt = torch.zeros(B, L, dtype=torch.long, device=dev)  # index of the current value
        self.banned = torch.zeros(B, L, V, dtype=torch.bool, device=dev)  # remask
        self.branch_points = torch.zeros_like(self.nfe)
        self.backtracks = torch.zeros_like(self.nfe)
        self.status = torch.zeros_like(self.nfe)
        self.threshold = torch.full((B,), search.branch_entropy, device=dev)  # per row
        self.restarts = torch.zeros_like(self.nfe)

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
    def propagate(self, rows: torch.Tensor, rules=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fill the cells the rules force as the first cells of the coming pass (never branch
        cells), repair the rows that then break a rule, and return the rows that still need a
        pass, with their ``_allowed`` when no board changed (else None)."""

        def allowed(t: torch.Tensor) -> torch.Tensor:
            return self._allowed(t, rows)  # the rules, and in remask mode the bans

        tokens, filled, allowed_now = self.forced(rows, allowed)
        if not filled.any():
            return rows, allowed_now
        self.fill(rows, tokens, filled)
        self.settle(rows[filled.any(1)])
        keep = (self.status[rows] == SEARCHING) & self.masked[rows].any(1)
        return rows[keep], None

    def fill(self, rows: torch.Tensor, tokens: torch.Tensor, filled: torch.Tensor) -> None:
        depth = self.depth[rows] + 1  # (A,) the coming pass
        first = torch.arange(self.V, device=tokens.device) == tokens.unsqueeze(-1)  # (A, L, V)
        order = torch.sort((~first).long(), dim=-1, stable=True).indices  # its value, then none
        self.rdepth[rows] = torch.where(filled, depth.unsqueeze(1), self.rdepth[rows])
        self.rank[rows] = torch.where(filled, -1, self.rank[rows])  # before the pass's own cells
        self.branch[rows] = self.branch[rows] & ~filled
        self.order[rows] = torch.where(filled.unsqueeze(-1), order, self.order[rows])
        self.alt[rows] = torch.where(filled, 0, self.alt[rows])
        super().fill(rows, tokens, filled)

    # --- one forward pass over the rows still searching ---------------------------------
    def one_pass(self, model: Model, rows: torch.Tensor) -> None:
        allowed = None
        if self.propagating:
            rows, allowed = self.propagate(rows)
            if rows.numel() == 0:
                return
        tok = self.tokens[rows]  # (A, L)
        if allowed is None:
            allowed = self._allowed(tok, rows)
        logits = forward_logits(model, tok, allowed)
        depth = self.depth[rows] + 1  # (A,) the pass on the current path
        out = self.step(self.sampler, logits, rows, step=depth.unsqueeze(1),
                        draw_step=self.nfe[rows] + 1, temperature=self.temperature)  # fmt: skip
        chosen, H = out.chosen, out.stats.entropy  # (A, L) untempered
        is_branch = chosen & (H > self.threshold[rows].unsqueeze(1))
        if self.search.mode == "remask":
            is_branch = torch.zeros_like(is_branch)
        # values in the order a backtrack tries them: the one placed, then by probability
        first = torch.arange(self.V, device=tok.device) == out.values.unsqueeze(-1)  # (A, L, V)
        order = torch.sort(torch.where(first, -2.0, -out.stats.probs), dim=-1, stable=True).indices
        # rank within the pass: confident cells first, then branch cells by ascending entropy
        key = torch.where(chosen, is_branch.float() * 1e6 + H.nan_to_num(0.0), math.inf)
        rank = torch.argsort(torch.argsort(key, dim=1, stable=True), dim=1)  # (A, L)
        self.rdepth[rows] = torch.where(chosen, depth.unsqueeze(1), self.rdepth[rows])
        self.rank[rows] = torch.where(chosen, rank, self.rank[rows])
        self.branch[rows] = torch.where(chosen, is_branch, self.branch[rows])
        self.order[rows] = torch.where(chosen.unsqueeze(-1), order, self.order[rows])
        self.alt[rows] = torch.where(chosen, 0, self.alt[rows])
        self.depth[rows] = depth
        self.branch_points[rows] += is_branch.sum(1)
        self.place(rows, out, proxy=self.sampler.order_proxy, branch=is_branch)
        self.settle(rows)

    # --- checks and repairs (no forward pass) --------------------------------------------
    def _violated(self, rows: torch.Tensor) -> torch.Tensor:
        """(R,) bool: the board breaks a rule now, or is complete and fails the validator; rows
        that are complete and valid are marked solved."""
        tok = self.tokens[rows]
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
        tok = torch.where(given, self.tokens[row], self.spec.mask_id)
        return self.spec.decode(tok[None].cpu().numpy())[0]

    def settle(self, rows: torch.Tensor) -> None:
        """Repair the boards of ``rows`` until none breaks a rule (or the row stops)."""
        backtrack = self.search.mode == "backtrack"
        while rows.numel():
            rows = rows[self._violated(rows)]
            if rows.numel() == 0:
                return
            before_tok, before_masked = self.tokens[rows].clone(), self.masked[rows].clone()
            kept, cells = self._backtrack(rows) if backtrack else self._remask(rows)
            if self.events is not None:  # taken back: masked again, or given another value
                now_masked = self.masked[rows]
                replaced = ~now_masked & (self.tokens[rows] != before_tok) & ~before_masked
                tried = torch.full_like(rows, -1)
                tried[torch.isin(rows, kept)] = cells
                self._repair_events(rows, replaced, (~before_masked & now_masked) | replaced,
                                    tried)  # fmt: skip
            rows = kept

    def _repair_events(self, rows, replaced, retracted, cells) -> None:
        """One event per repaired row; ``cells`` (R,): the branch cell (backtrack) or the
        culprit (remask), -1 for a row that stopped."""
        kind = "backtrack" if self.search.mode == "backtrack" else "remask"
        tokens = self.tokens[rows, cells.clamp(min=0)]
        self.add_events(rows, kind, replaced, retracted, cells=cells, tokens=tokens)

    def _key(self, rows: torch.Tensor) -> torch.Tensor:
        """(R, L) position of each cell's current value in the reveal order of its row."""
        return self.rdepth[rows] * self.L + self.rank[rows]

    def _undo_after(self, rows: torch.Tensor, later: torch.Tensor) -> None:
        """Mask again the cells ``later`` (R, L) of ``rows`` and forget their state."""
        self.tokens[rows] = torch.where(later, self.spec.mask_id, self.tokens[rows])
        self.masked[rows] = self.masked[rows] | later
        self.rdepth[rows] = torch.where(later, 0, self.rdepth[rows])
        self.branch[rows] = self.branch[rows] & ~later
        self.alt[rows] = torch.where(later, 0, self.alt[rows])
        self.reveal_step[rows] = torch.where(later, 0, self.reveal_step[rows])
        self.entropy[rows] = torch.where(later, math.nan, self.entropy[rows])
        self.prob[rows] = torch.where(later, math.nan, self.prob[rows])

    def _restart(self, rows: torch.Tensor) -> None:
        """Start ``rows`` again from their puzzle with branch entropy 0 (every uncertain
        reveal a branch point): their search at the default threshold ran out of values, so a
        confident reveal must have been wrong. NFE keeps counting."""
        given = self.rdepth[rows] < 0
        self._undo_after(rows, ~given)
        self.rank[rows] = torch.where(given, self.rank[rows], 0)
        self.order[rows] = 0
        self.banned[rows] = False
        self.depth[rows] = 0
        self.threshold[rows] = 0.0
        self.restarts[rows] += 1

    def _backtrack(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Go back to the latest branch cell with an untried value; returns the rows that are
        still searching and, for each, that cell (-1 for a row that starts again: see
        ``_restart``); the others are exhausted."""
        cand = self.branch[rows] & (self.alt[rows] < self.V - 1) & (self.rdepth[rows] > 0)
        stuck = ~cand.any(1)
        restarted = rows[:0]
        if self.search.restart:  # spent at the family's threshold: once more at threshold 0
            again = stuck & (self.threshold[rows] > 0)
            restarted = rows[again]
            if restarted.numel():
                self._restart(restarted)
            stuck = stuck & ~again
        self.status[rows[stuck]] = EXHAUSTED
        keep = cand.any(1)
        rows, cand = rows[keep], cand[keep]
        if rows.numel() == 0:
            return restarted, torch.full_like(restarted, -1)
        key = self._key(rows)  # (R, L)
        cell = torch.where(cand, key, -1).argmax(1)  # (R,) the latest branch cell
        at = torch.arange(len(rows), device=rows.device)
        t_cell, r_cell = self.rdepth[rows, cell], self.rank[rows, cell]  # (R,)
        rdepth, rank = self.rdepth[rows], self.rank[rows]
        rest = (rdepth == t_cell.unsqueeze(1)) & (rank > r_cell.unsqueeze(1))  # (R, L)
        later = rdepth > t_cell.unsqueeze(1)
        if self.search.repredict:  # the rest of that pass is predicted again, knowing the cell
            later, rest = later | rest, torch.zeros_like(rest)
        self._undo_after(rows, later)
        # (else) the rest of that cell's pass stays, back at its first value
        alt = torch.where(rest, 0, self.alt[rows])
        alt[at, cell] += 1
        self.alt[rows] = alt
        first_values = self.order[rows].gather(-1, alt.unsqueeze(-1)).squeeze(-1)  # (R, L)
        change = rest.clone()
        change[at, cell] = True
        self.tokens[rows] = torch.where(change, first_values, self.tokens[rows])
        self.depth[rows] = t_cell
        self.backtracks[rows] += 1
        if restarted.numel():  # in row order, as the caller matches them with its rows
            rows = torch.cat([rows, restarted])
            cell = torch.cat([cell, torch.full_like(restarted, -1)])
            order = rows.argsort()
            rows, cell = rows[order], cell[order]
        return rows, cell

    def _remask(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ban the culprit's value, mask it and everything revealed after it again; returns the
        rows still searching and, for each, the culprit."""
        check = self.family.partial_check(self.spec, self.tokens[rows])
        placed = self.rdepth[rows] > 0  # (R, L) revealed by the search (not givens)
        culprits = check.conflict & placed
        culprits = torch.where(culprits.any(1, keepdim=True), culprits, placed)
        stuck = ~culprits.any(1)
        self.status[rows[stuck]] = EXHAUSTED
        rows, culprits = rows[~stuck], culprits[~stuck]
        if rows.numel() == 0:
            return rows, rows
        key = self._key(rows)
        cell = torch.where(culprits, key, -1).argmax(1)  # (R,) the latest culprit
        at = torch.arange(len(rows), device=rows.device)
        banned = self.banned[rows]
        banned[at, cell, self.tokens[rows, cell]] = True
        self.banned[rows] = banned
        self._undo_after(rows, key >= key[at, cell].unsqueeze(1))
        self.depth[rows] = self.rdepth[rows].clamp(min=0).amax(1)
        self.backtracks[rows] += 1
        return rows, cell

    # --- the result ---------------------------------------------------------------------
    def result(self, cls=SearchResult, **extra) -> SearchResult:
        res = super().result(cls, **extra)
        if not self.keep_reveal:
            res.entropy = res.prob = None
        return res
