"""The EB rule itself, with a model whose per-cell entropies are set by hand, and tempered draws.

EB reveals the largest prefix U of the masked cells in proxy order with
sum(H[U]) - max(H[U]) <= gamma (at least one cell). The cases below tell that rule apart from
sum(H[U]) <= gamma and from max(H[U]) <= gamma; replacing the rule by either fails them.
"""

from __future__ import annotations

import math

import pytest
import torch

from sampling.samplers import EBSampler, TopKSampler
from sampling.stats import CellStats


def _logits_for_entropy(h: float) -> list[float]:
    """Two-value logits whose softmax has entropy ``h`` nats (0 <= h < log 2)."""
    if h == 0.0:
        return [0.0, -1.0e4]  # exp(-1e4) == 0 in float32: exactly one-hot
    lo, hi = 1e-12, 0.5
    for _ in range(200):  # bisection on q in (0, 1/2]: entropy grows with q
        q = (lo + hi) / 2
        if -q * math.log(q) - (1 - q) * math.log(1 - q) < h:
            lo = q
        else:
            hi = q
    return [math.log(1 - q), math.log(q)]


class FixedEntropies:
    """Logits (B, L, 2) that do not depend on the tokens: cell l of row b has entropy H[b][l]."""

    def __init__(self, rows: list[list[float]]):
        self.logits = torch.tensor([[_logits_for_entropy(h) for h in row] for row in rows])

    def __call__(self, tokens):
        return self.logits[: tokens.shape[0]].clone()


def _first_pass(rows, gamma, proxy="entropy"):
    model = FixedEntropies(rows)
    tokens = torch.full((len(rows), len(rows[0])), 2)  # mask id 2, every cell masked
    res = EBSampler(gamma, proxy).sample(model, tokens, 2)
    H = CellStats(model.logits).entropy  # the entropies the sampler saw, float32
    return (res.reveal_step == 1), H


def _expected(H_row: torch.Tensor, gamma: float) -> set[int]:
    """The largest prefix in ascending-entropy order (ties by index) with sum - max <= gamma."""
    order = sorted(range(len(H_row)), key=lambda i: (float(H_row[i]), i))
    k = 1
    for n in range(1, len(order) + 1):
        hs = [float(H_row[i]) for i in order[:n]]
        if sum(hs) - max(hs) <= gamma:
            k = n
    return set(order[:k])


CASES = [
    # (entropies of one row's cells, gamma, cells revealed in the first pass)
    # sum - max keeps 3 cells; sum <= gamma would keep 2, max <= gamma 4
    ([0.05, 0.5, 0.05, 0.05, 0.05], 0.12, 3),
    # zero-entropy cells cost nothing: gamma 0 takes the three of them and one uncertain cell;
    # sum or max <= 0 would stop at the zeros
    ([0.3, 0.0, 0.3, 0.0, 0.0], 0.0, 4),
    # ties break by cell index: the first two of three equal cells
    ([0.4, 0.1, 0.6, 0.1, 0.1], 0.15, 2),
    # only the forced single fits: every pair already exceeds gamma
    ([0.6, 0.5, 0.62, 0.55], 0.01, 1),
    # a large gamma takes everything
    ([0.2, 0.3, 0.1, 0.4], 5.0, 4),
]


@pytest.mark.parametrize("entropies, gamma, count", CASES)
def test_eb_reveals_exactly_the_largest_prefix_with_sum_minus_max_within_gamma(
    entropies, gamma, count
):
    revealed, H = _first_pass([entropies], gamma)
    got = set(torch.nonzero(revealed[0]).squeeze(1).tolist())
    assert got == _expected(H[0], gamma)
    assert len(got) == count


def test_eb_rule_row_by_row_in_one_batch():
    """Every case in one batch: each row gets its own count (no count shared by the batch)."""
    width = max(len(e) for e, _, _ in CASES)
    rows = [e + [0.65] * (width - len(e)) for e, _, _ in CASES[:3]]  # pad with costly cells
    revealed, H = _first_pass(rows, 0.12)
    for b in range(len(rows)):
        assert set(torch.nonzero(revealed[b]).squeeze(1).tolist()) == _expected(H[b], 0.12)


def test_gamma_zero_is_not_top1_when_entropies_are_exactly_zero():
    revealed, _ = _first_pass([[0.0, 0.0, 0.2, 0.3]], 0.0)
    assert int(revealed.sum()) == 3  # both zero-entropy cells and one more, in one pass


# --- tempered draws ----------------------------------------------------------------------------

LOGITS = torch.tensor([1.2, 0.3, -0.4, 0.9])  # one cell, four values
CHI2_DF3_P001 = 16.27  # the 0.999 quantile of chi-square with 3 degrees of freedom


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_tempered_draws_follow_softmax_of_logits_over_t(temperature):
    rows = 6000

    def model(tokens):
        return LOGITS.expand(tokens.shape[0], 1, 4).clone()

    tokens = torch.full((rows, 1), 4)
    res = TopKSampler(1).sample(model, tokens, 4, temperature=temperature,
                                row_seeds=torch.arange(rows))  # fmt: skip
    counts = torch.bincount(res.tokens[:, 0], minlength=4).double()
    expected = torch.softmax(LOGITS.double() / temperature, 0) * rows
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < CHI2_DF3_P001, (counts.tolist(), expected.tolist())
    # and not the argmax: the other values do come up
    assert (counts[1:] > 0).all() and counts[0] < rows
    # the error proxy stays untempered: the entropy at reveal is that of softmax(logits)
    p = torch.softmax(LOGITS, 0)
    torch.testing.assert_close(res.entropy[:, 0], (-(p * p.log()).sum()).expand(rows))


def test_temperature_does_not_change_which_cells_eb_reveals():
    entropies = [0.05, 0.5, 0.05, 0.05, 0.05, 0.3]
    model = FixedEntropies([entropies] * 64)
    tokens = torch.full((64, len(entropies)), 2)
    cold = EBSampler(0.12).sample(model, tokens, 2)
    hot = EBSampler(0.12).sample(model, tokens, 2, temperature=3.0, row_seeds=torch.arange(64))
    assert torch.equal(cold.reveal_step == 1, hot.reveal_step == 1)
    assert not torch.equal(cold.tokens, hot.tokens)  # the values themselves were drawn


def test_the_margin_proxy_is_top1_minus_top2():
    """Margin = p1 - p2 of the untempered distribution (top-1 minus the runner-up), pinned on
    values, and the order it gives: a cell whose second value is close ranks after one whose
    second and third values are both far."""
    from sampling.samplers import TopKSampler
    from sampling.stats import CellStats

    probs = torch.tensor([[[0.5, 0.45, 0.05], [0.4, 0.3, 0.3], [0.7, 0.2, 0.1]]])  # (1, 3, 3)
    stats = CellStats(probs.log())
    torch.testing.assert_close(stats.margin, torch.tensor([[0.05, 0.1, 0.5]]))
    torch.testing.assert_close(stats.score("margin"), -stats.margin)
    masked = torch.tensor([[True, True, False]])
    chosen = TopKSampler(1, "margin").select(stats, masked, 1, None)
    assert chosen.tolist() == [[False, True, False]]  # margin 0.1 beats 0.05 (top1-top3: 0.45)
