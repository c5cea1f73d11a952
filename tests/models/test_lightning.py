"""Loss, schedule, EMA and the private greedy fill used for validation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from models.config import ModelConfig
from models.lightning import MDMTrainer, mdm_loss
from models.train import default_config
from models.validation import greedy_fill
from puzzles import sudoku
from puzzles.task import check_answers, get_task


def test_mdm_loss_is_the_mean_cross_entropy_over_masked_cells():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 4, generator=gen)
    target = torch.randint(0, 4, (3, 5), generator=gen)
    masked = torch.tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 1], [0, 0, 0, 1, 0]], dtype=torch.bool)
    t = torch.tensor([0.2, 0.6, 0.2])
    expected = F.cross_entropy(logits[masked], target[masked])
    torch.testing.assert_close(mdm_loss(logits, target, masked, t), expected)
    # ELBO weighting: per row sum of masked CE / (t * L), averaged over rows.
    ce = F.cross_entropy(logits.transpose(1, 2), target, reduction="none") * masked
    elbo = (ce.sum(1) / (t * 5)).mean()
    torch.testing.assert_close(mdm_loss(logits, target, masked, t, elbo_weight=True), elbo)


def _trainer(**over) -> MDMTrainer:
    spec = get_task("sudoku").spec(4)
    cfg = default_config("sudoku", 4, "tiny", 0, steps=100, warmup_steps=10, **over)
    return MDMTrainer(ModelConfig.from_spec(spec, "tiny").to_dict(), cfg.to_dict())


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    m = _trainer()
    f = [m._lr_factor(s) for s in range(101)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[9:], f[10:], strict=False))  # non-increasing after warmup
    assert f[100] == pytest.approx(m.cfg.min_lr_ratio)
    assert f[55] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_ema_callback_tracks_weights_and_is_what_gets_exported():
    from models.lightning import EMA

    m = _trainer(ema=0.5)
    ema = EMA(0.5)
    ema.on_fit_start(None, m)
    before = {k: v.clone() for k, v in ema.state.items()}
    with torch.no_grad():
        for p in m.denoiser.parameters():
            p.add_(1.0)
    ema.on_train_batch_end(None, m, None, None, 0)
    k = "head.weight"
    torch.testing.assert_close(ema.state[k], before[k] + 0.5)
    torch.testing.assert_close(ema.averaged_state()[k], before[k] + 0.5)
    # Swapping EMA weights in for validation and back restores the live weights exactly.
    live = m.denoiser.state_dict()[k].clone()
    ema.on_validation_epoch_start(None, m)
    torch.testing.assert_close(m.denoiser.state_dict()[k], before[k] + 0.5)
    ema.on_validation_epoch_end(None, m)
    assert torch.equal(m.denoiser.state_dict()[k], live)
    # A checkpoint carries the average, and a new callback picks it up from there.
    ckpt: dict = {}
    ema.on_save_checkpoint(None, m, ckpt)
    again = EMA(0.5)
    again.on_load_checkpoint(None, m, ckpt)
    again.on_fit_start(None, m)  # a restored average is kept, not re-initialised
    assert torch.equal(again.state[k], ema.state[k])


def test_greedy_fill_one_cell_per_pass_and_keeps_givens():
    spec = get_task("sudoku").spec(4)
    puzzles, solutions, _ = sudoku.generate_many(8, seed=11, box=2, progress=False)
    tokens = torch.from_numpy(spec.encode_puzzle(puzzles))
    answer = torch.from_numpy(spec.encode_solution(solutions))
    calls = []

    def oracle(x):  # logits that know the answer: greedy must reproduce it
        calls.append(int((x == spec.mask_id).sum()))
        return F.one_hot(answer, spec.num_values).float() * 5.0

    out = greedy_fill(oracle, tokens, spec.mask_id)
    assert torch.equal(out, answer)
    blanks = int((tokens == spec.mask_id).sum(1).max())
    assert len(calls) == blanks  # one forward pass per revealed cell of the fullest row
    assert all(r is None for r in check_answers(spec, tokens, out))
    wrong = out.clone()
    wrong[:, 0] = (wrong[:, 0] + 1) % 4
    assert all(r is not None for r in check_answers(spec, tokens, wrong))
