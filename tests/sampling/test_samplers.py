"""Properties every sampler must have, checked against exact and exactly-computable models."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch

from sampling.samplers import (
    PROXIES,
    CellStats,
    DUSSampler,
    EBSampler,
    RandomSampler,
    ThresholdSampler,
    TopKSampler,
)

MASK = 4


def all_samplers():
    return [
        TopKSampler(1),
        TopKSampler(3, proxy="margin"),
        EBSampler(0.0),
        EBSampler(0.7, proxy="confidence"),
        EBSampler(2.0, proxy="margin"),
        RandomSampler(1),
        RandomSampler(3),
        ThresholdSampler(0.9),
        ThresholdSampler(0.3),
        DUSSampler(),
        DUSSampler(block=4),
        DUSSampler(two_d=True),
    ]


SAMPLER_IDS = [repr(s) for s in all_samplers()]


class Counting:
    """Wraps a model; records how many rows each forward pass received."""

    def __init__(self, model):
        self.model = model
        self.rows: list[int] = []

    def __call__(self, tokens):
        self.rows.append(tokens.shape[0])
        return self.model(tokens)


def check_trace(res, puzzles):
    """Invariants of any SampleResult for puzzle tokens (B, L)."""
    masked = puzzles == MASK
    # givens never change, every masked cell is filled
    assert torch.equal(res.tokens[~masked], puzzles[~masked])
    assert not (res.tokens == MASK).any()
    # each masked cell revealed exactly once, at a 1-based step; givens -1
    assert torch.equal(res.reveal_step < 0, ~masked)
    assert (res.reveal_step[~masked] == -1).all()
    assert (res.reveal_step[masked] >= 1).all()
    # NFE = last step; steps used are exactly 1..nfe (>= 1 cell per pass); NFE <= #masked
    assert torch.equal(res.nfe, res.reveal_step.max(1).values.clamp(min=0))
    for b in range(puzzles.shape[0]):
        steps = res.reveal_step[b][masked[b]].unique()
        assert torch.equal(steps, torch.arange(1, int(res.nfe[b]) + 1))
    assert (res.nfe <= masked.sum(1)).all()


@pytest.mark.parametrize("sampler", all_samplers(), ids=SAMPLER_IDS)
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_trace_invariants_and_nfe_counts_real_passes(sampler, temperature, oracle, mixed_puzzles):
    model = Counting(oracle)
    res = sampler.sample(
        model, mixed_puzzles, MASK, temperature=temperature, row_seeds=torch.arange(48)
    )
    check_trace(res, mixed_puzzles)
    # finished rows are not forwarded: rows sent to the model == sum of per-row NFE
    assert sum(model.rows) == int(res.nfe.sum())
    assert len(model.rows) == int(res.nfe.max())
    assert res.nfe[-1] == 0  # the row with nothing masked cost nothing
    # the entropy/prob trace: nan on givens, in range on revealed cells
    revealed = res.reveal_step >= 1
    assert torch.isnan(res.entropy[~revealed]).all() and torch.isnan(res.prob[~revealed]).all()
    ent, prob = res.entropy[revealed], res.prob[revealed]
    assert ((ent >= 0) & (ent <= math.log(4) + 1e-5)).all()
    assert ((prob > 0) & (prob <= 1)).all()


@pytest.mark.parametrize("sampler", all_samplers(), ids=SAMPLER_IDS)
@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_batched_equals_row_by_row(sampler, temperature, oracle, toy, mixed_puzzles):
    seeds = torch.arange(100, 148) * 7919
    for model in (oracle, toy):
        batched = sampler.sample(
            model, mixed_puzzles, MASK, temperature=temperature, row_seeds=seeds
        )
        for b in range(mixed_puzzles.shape[0]):
            row = sampler.sample(
                model,
                mixed_puzzles[b : b + 1],
                MASK,
                temperature=temperature,
                row_seeds=seeds[b : b + 1],
            )
            for name in ("tokens", "reveal_step", "nfe"):
                assert torch.equal(getattr(row, name)[0], getattr(batched, name)[b]), (name, b)
            assert torch.equal(row.prob[0].nan_to_num(-1), batched.prob[b].nan_to_num(-1))


def test_generator_seeds_are_reproducible(oracle, make_puzzles):
    puzzles = make_puzzles(16, 3, seed=1)
    runs = [
        RandomSampler(2).sample(
            oracle, puzzles, MASK, temperature=1.0, generator=torch.Generator().manual_seed(s)
        )
        for s in (5, 5, 6)
    ]
    assert torch.equal(runs[0].tokens, runs[1].tokens)
    assert torch.equal(runs[0].reveal_step, runs[1].reveal_step)
    assert not torch.equal(runs[0].reveal_step, runs[2].reveal_step)


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("model_name", ["soft_oracle", "toy"])
def test_eb_gamma_zero_is_top1(proxy, model_name, request, mixed_puzzles):
    # No exact zero entropies with these models, so gamma = 0 admits one cell per pass.
    model = request.getfixturevalue(model_name)
    eb = EBSampler(0.0, proxy=proxy).sample(model, mixed_puzzles, MASK)
    top1 = TopKSampler(1, proxy=proxy).sample(model, mixed_puzzles, MASK)
    assert torch.equal(eb.tokens, top1.tokens)
    assert torch.equal(eb.nfe, top1.nfe)
    assert torch.equal(eb.reveal_step, top1.reveal_step)
    assert torch.equal(eb.nfe, (mixed_puzzles == MASK).sum(1))


@pytest.mark.parametrize("proxy", PROXIES)
def test_larger_gamma_unmasks_at_least_as_much_in_a_step(proxy, oracle, toy, mixed_puzzles):
    gammas = [0.0, 0.1, 0.5, 0.7, 1.0, 1.5, 3.0, 10.0, 100.0]
    for model in (oracle, toy):
        first = [
            (EBSampler(g, proxy=proxy).sample(model, mixed_puzzles, MASK).reveal_step == 1).sum(1)
            for g in gammas
        ]  # cells revealed in pass 1, per row
        for small, large in pairwise(first):
            assert (large >= small).all()
        masked = (mixed_puzzles == MASK).sum(1)
        assert torch.equal(first[-1], masked)  # gamma >= L * log V: everything at once


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0])
def test_zero_entropy_cells_are_always_accepted(proxy, gamma, oracle, mixed_puzzles):
    entropy = CellStats(oracle(mixed_puzzles)).entropy  # (B, L) before the first pass
    certain = (entropy == 0) & (mixed_puzzles == MASK)
    assert certain.sum() > 20  # the exact oracle has many determined cells
    res = EBSampler(gamma, proxy=proxy).sample(oracle, mixed_puzzles, MASK)
    assert (res.reveal_step[certain] == 1).all()


def test_threshold_reveals_confident_cells_and_at_least_one(oracle, mixed_puzzles):
    conf = CellStats(oracle(mixed_puzzles)).confidence
    masked = mixed_puzzles == MASK
    for tau in (0.3, 0.5, 0.9, 1.0):
        res = ThresholdSampler(tau).sample(oracle, mixed_puzzles, MASK)
        first = res.reveal_step == 1
        assert torch.equal(first & (conf >= tau), masked & (conf >= tau))
        assert (first.sum(1) >= 1)[masked.any(1)].all()
        check_trace(res, mixed_puzzles)


def test_ties_break_by_cell_index(oracle):
    empty = torch.full((1, 16), MASK)  # every cell uniform: all scores tie
    for sampler in (TopKSampler(1), EBSampler(0.0), TopKSampler(1, proxy="margin")):
        res = sampler.sample(oracle, empty, MASK)
        assert res.reveal_step[0, 0] == 1 and res.tokens[0, 0] == 0  # first cell, first value


def test_proxies_use_the_untempered_distribution(toy, make_puzzles):
    """Temperature changes the values drawn, never which cells a pass reveals: the first pass
    sees the same board at every temperature, so it must reveal the same cells."""
    puzzles = make_puzzles(32, 5, seed=3)
    seeds = torch.arange(32)
    first = {}
    for t in (0.0, 0.5, 5.0):
        res = EBSampler(1.0).sample(toy, puzzles, MASK, temperature=t, row_seeds=seeds)
        first[t] = res.reveal_step == 1
        check_trace(res, puzzles)
    assert torch.equal(first[0.5], first[0.0]) and torch.equal(first[5.0], first[0.0])
    # the test can fail: a proxy from the tempered softmax would pick other cell sets
    hot = EBSampler(1.0).sample(lambda x: toy(x) / 5.0, puzzles, MASK)
    assert not torch.equal(hot.reveal_step == 1, first[0.0])


@pytest.mark.parametrize(
    "sampler",
    [
        EBSampler(0.0),
        EBSampler(0.0, proxy="confidence"),
        EBSampler(0.0, proxy="margin"),
        TopKSampler(1),
        TopKSampler(1, proxy="confidence"),
        TopKSampler(1, proxy="margin"),
        RandomSampler(1),
        ThresholdSampler(1.0),
    ],
    ids=repr,
)
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_top1_with_exact_oracle_always_valid(sampler, temperature, oracle, mixed_puzzles):
    """A value with non-zero exact marginal extends to a completion, so one-at-a-time sampling
    (zero-entropy cells aside, which every completion shares) never fails."""
    counts = oracle.count_completions(mixed_puzzles)
    assert (counts == 1).any() and (counts > 1).any()  # unique and multi-solution puzzles
    res = sampler.sample(
        oracle, mixed_puzzles, MASK, temperature=temperature, row_seeds=torch.arange(48)
    )
    assert oracle.is_valid(res.tokens, mixed_puzzles).all()


def test_oracle_curve_invalid_rises_as_nfe_falls(oracle, make_puzzles):
    """Larger gamma: fewer passes, more grids broken by sampling dependent cells together."""
    puzzles = torch.cat([make_puzzles(60, c, seed=c) for c in range(2, 9)])
    invalid, nfe = [], []
    for gamma in (0.0, 0.5, 1.0, 2.0, 5.0, 100.0):
        res = EBSampler(gamma).sample(
            oracle, puzzles, MASK, temperature=1.0, row_seeds=torch.arange(len(puzzles))
        )
        invalid.append(1 - oracle.is_valid(res.tokens, puzzles).float().mean().item())
        nfe.append(res.nfe.float().mean().item())
    assert invalid[0] == 0.0
    assert invalid[-1] > 0.4 and nfe[-1] == 1.0
    for a, b in pairwise(invalid):
        assert b >= a - 0.03  # rises (up to sampling noise)
    for a, b in pairwise(nfe):
        assert b <= a + 0.05  # falls
    assert nfe[0] > 2 * nfe[-1]


def test_record_false_and_input_untouched(oracle, mixed_puzzles):
    before = mixed_puzzles.clone()
    res = EBSampler(0.5).sample(oracle, mixed_puzzles, MASK, record=False)
    assert res.entropy is None and res.prob is None
    assert torch.equal(mixed_puzzles, before)


@pytest.mark.parametrize(
    "build",
    [
        lambda: EBSampler(-0.1),
        lambda: EBSampler(math.inf),
        lambda: EBSampler(0.1, proxy="loss"),
        lambda: TopKSampler(0),
        lambda: TopKSampler(1.5),
        lambda: RandomSampler(0),
        lambda: ThresholdSampler(0.0),
        lambda: ThresholdSampler(1.2),
        lambda: DUSSampler(block=0),
        lambda: DUSSampler(two_d=True, block=8),
    ],
)
def test_knobs_are_validated(build):
    with pytest.raises(ValueError):
        build()


def test_bad_calls_raise(oracle):
    with pytest.raises(ValueError):
        TopKSampler(1).sample(oracle, torch.full((16,), MASK), MASK)  # not (B, L)
    with pytest.raises(ValueError):
        TopKSampler(1).sample(oracle, torch.full((2, 16), MASK), MASK, temperature=-1)
    with pytest.raises(ValueError):
        RandomSampler(1).sample(oracle, torch.full((2, 16), MASK), MASK, row_seeds=torch.zeros(3))
    with pytest.raises(ValueError):
        DUSSampler(two_d=True).sample(oracle, torch.full((2, 15), MASK), MASK)  # not square
