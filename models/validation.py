"""In-training validation: a minimal greedy top-1 fill and an exact solve-rate check.

This is a private copy of the simplest sampler (one cell per forward pass, the most confident
masked cell of each row) so that ``models`` need not import ``sampling``. The real samplers and
their traces live in ``sampling``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from puzzles.tokens import TaskSpec


@torch.no_grad()
def greedy_fill(
    model: Callable[[torch.Tensor], torch.Tensor], tokens: torch.Tensor, mask_id: int
) -> torch.Tensor:
    """Fill every ``mask_id`` cell of ``tokens`` (B, L), one cell per row per forward pass.

    Each pass reveals, in every row that still has masked cells, the masked cell whose top
    probability is largest (ties: lowest index) with its argmax value. Returns a new (B, L) tensor.
    """
    tokens = tokens.clone()
    rows = torch.arange(tokens.shape[0], device=tokens.device)
    while True:
        masked = tokens == mask_id  # (B, L)
        active = masked.any(dim=1)  # (B,)
        if not bool(active.any()):
            return tokens
        probs = model(tokens).float().softmax(dim=-1)  # (B, L, V)
        conf, value = probs.max(dim=-1)  # (B, L) each
        conf = conf.masked_fill(~masked, -1.0)
        cell = conf.argmax(dim=1)  # (B,)
        fill = torch.where(active, value[rows, cell], tokens[rows, cell])  # (B,)
        tokens[rows, cell] = fill


def check_answers(spec: TaskSpec, puzzle_tokens, answer_tokens) -> list[str | None]:
    """Exact check of each answer against its puzzle; None where solved, else the reason."""
    if spec.task == "sudoku":
        from puzzles.sudoku import check_answer
    else:
        from puzzles.maze import check_answer
    puzzles = spec.decode(_numpy(puzzle_tokens))  # (N, H, W)
    answers = spec.decode(_numpy(answer_tokens))  # (N, H, W)
    return [check_answer(p, a) for p, a in zip(puzzles, answers, strict=True)]


@torch.no_grad()
def solve_rate(
    model: Callable[[torch.Tensor], torch.Tensor],
    spec: TaskSpec,
    puzzle_tokens: torch.Tensor,
    batch_size: int = 256,
) -> tuple[float, list[str | None]]:
    """Greedy top-1 solve rate of ``model`` on puzzle tokens (N, L); returns (rate, reasons)."""
    answers = [
        greedy_fill(model, puzzle_tokens[i : i + batch_size], spec.mask_id)
        for i in range(0, puzzle_tokens.shape[0], batch_size)
    ]
    reasons = check_answers(spec, puzzle_tokens, torch.cat(answers))
    return sum(r is None for r in reasons) / max(len(reasons), 1), reasons


def _numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
