"""record="full": what every pass, fill and repair event holds (what `unmask view` draws)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from puzzles.task import get_task
from sampling.samplers import EBSampler, ThresholdSampler, TopKSampler
from sampling.search import Search
from sampling.solve import constrainer
from sampling.stats import CellStats

SPEC4 = get_task("sudoku").spec(4)


def _check_pass(ev, before: np.ndarray, sampler, model) -> None:
    """One pass event against the model's own statistics of the board before it."""
    masked = before < 0
    tokens = torch.from_numpy(np.where(masked, SPEC4.mask_id, before))[None]
    stats = CellStats(model(tokens).float())
    R = int(ev.revealed.sum())
    assert ev.top_tokens.shape == ev.top_probs.shape == (R, 3)  # also when one cell is revealed
    assert sorted(ev.order.tolist()) == np.flatnonzero(masked).tolist()
    assert len(ev.proxy) == len(ev.cell_entropy) == len(ev.confidence) == masked.sum()
    assert (np.diff(ev.proxy) >= 0).all()  # most certain first
    H, conf = stats.entropy[0].numpy(), stats.confidence[0].numpy()
    np.testing.assert_allclose(ev.cell_entropy, H[ev.order], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ev.confidence, conf[ev.order], rtol=1e-5)
    np.testing.assert_allclose(ev.proxy, stats.score(sampler.order_proxy)[0].numpy()[ev.order],
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    # the revealed cells are a prefix of the proxy order (these samplers' rules), in cell order
    cells = np.flatnonzero(ev.revealed)
    assert set(cells.tolist()) == set(ev.order[:R].tolist())
    probs = stats.probs[0].numpy()
    for i, c in enumerate(cells):
        top = np.sort(probs[c])[::-1][:3]
        np.testing.assert_allclose(ev.top_probs[i], top, rtol=1e-5)
        assert probs[c][ev.top_tokens[i]] == pytest.approx(ev.top_probs[i], rel=1e-5)
        assert probs[c][ev.values[c]] == pytest.approx(top[0], rel=1e-6)  # argmax (ties: either)


@pytest.mark.parametrize("sampler", [TopKSampler(1), EBSampler(0.3), ThresholdSampler(0.6),
                                     TopKSampler(2, proxy="margin")], ids=repr)  # fmt: skip
def test_full_record_of_every_pass(soft_oracle, make_puzzles, sampler):
    puzzles = make_puzzles(3, 5, seed=4)
    res = sampler.sample(soft_oracle, puzzles, SPEC4.mask_id, record="full")
    for row in range(len(puzzles)):
        before = torch.where(puzzles[row] == SPEC4.mask_id, -1, puzzles[row]).numpy()
        assert [e.kind for e in res.events[row]] == ["pass"] * int(res.nfe[row])
        for ev in res.events[row]:
            _check_pass(ev, before, sampler, soft_oracle)
            assert (ev.values[before >= 0] == before[before >= 0]).all()
            before = ev.values
        assert (before == res.tokens[row].numpy()).all()


def test_full_record_of_fills_and_of_a_search(toy_model, make_puzzles):
    """Propagated cells come as fill events; a backtrack names the cell and the value it tries,
    and that value is on the board after it."""
    model = toy_model(L=16, V=4, vocab=5, seed=3)
    puzzles = make_puzzles(6, 6, seed=1)
    res = TopKSampler(1).sample(model, puzzles, SPEC4.mask_id, record="full",
                                constrain=constrainer(SPEC4), propagate=True)  # fmt: skip
    kinds = {e.kind for row in res.events for e in row}
    assert kinds == {"pass", "fill"}
    search = Search("backtrack", branch_entropy=0.0, max_nfe=60)
    out = search.run(model, TopKSampler(1), SPEC4, puzzles, record="full")
    backtracks = [e for row in out.events for e in row if e.kind == "backtrack"]
    assert backtracks, "a random toy model breaks a rule somewhere"
    for ev in backtracks:
        if ev.cell is None:  # exhausted: nothing changed
            assert not ev.revealed.any() and not ev.retracted.any()
            continue
        assert ev.revealed[ev.cell] and ev.retracted[ev.cell]  # replaced by the next value
        assert ev.values[ev.cell] == ev.token
    for row in out.events:
        for ev in row:
            if ev.kind == "pass":
                assert ev.top_tokens.shape == (int(ev.revealed.sum()), 3)
