"""Per-cell statistics of one forward pass, from the untempered distribution: the error proxies.

Error proxies order the masked cells, lower score = more certain = revealed first:
``entropy`` (nats), ``confidence`` (max probability, negated), ``margin`` (top-1 minus top-2
probability, negated). Temperature never touches them (it only shapes the draw).
"""

from __future__ import annotations

from functools import cached_property

import torch

PROXIES = ("entropy", "confidence", "margin")


class CellStats:
    """Per-cell statistics of one forward pass, computed lazily from the untempered softmax.

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


def check_proxy(proxy: str) -> str:
    if proxy not in PROXIES:
        raise ValueError(f"proxy must be one of {', '.join(PROXIES)}, got {proxy!r}")
    return proxy
