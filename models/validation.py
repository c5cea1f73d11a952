"""In-training validation: a minimal greedy top-1 fill.

This is a private copy of the simplest sampler (one cell per forward pass, the most confident
masked cell of each row) so that ``models`` need not import ``sampling``; answers are checked by
the task's exact validator (``puzzles.task.check_answers``). The real samplers and their traces
live in ``sampling``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


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
