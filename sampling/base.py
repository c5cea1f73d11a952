"""What every sampler shares: the result object and the base class.

A *model* here is any callable ``model(tokens) -> logits`` with tokens a LongTensor (B, L)
(masked cells hold ``mask_id``) and logits a float tensor (B, L, V) over the task's values
(value index == token id, see ``puzzles.tokens``). Samplers never import ``models``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SampleResult:
    """Output of ``Sampler.sample``.

    tokens:       (B, L) long, every cell filled.
    reveal_step:  (B, L) long, the 1-based forward pass whose prediction revealed the cell;
                  -1 for given cells. Frame t of an animation highlights reveal_step == t.
    nfe:          (B,) long, forward passes in which this row still had masked cells
                  (== reveal_step.max(dim=1) clamped at 0).
    entropy:      (B, L) float, entropy in nats of the untempered distribution at reveal
                  (nan for givens), or None when not recorded.
    prob:         (B, L) float, untempered probability of the value placed (nan for givens),
                  or None.
    """

    tokens: torch.Tensor
    reveal_step: torch.Tensor
    nfe: torch.Tensor
    entropy: torch.Tensor | None = None
    prob: torch.Tensor | None = None
