"""The sampling loop on CUDA: same answers as on the CPU with an exact model, and a bf16 run."""

from __future__ import annotations

import pytest
import torch

from puzzles.task import get_task
from sampling import rng
from sampling.options import SolveOptions
from sampling.oracle import ExactSudokuDenoiser
from sampling.samplers import DUSSampler, EBSampler, RandomSampler, ThresholdSampler, TopKSampler
from sampling.solve import solve_tokens

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

SAMPLERS = [
    TopKSampler(1),
    EBSampler(0.0),
    EBSampler(0.8, proxy="margin"),
    RandomSampler(2),
    ThresholdSampler(0.7),
    DUSSampler(),
    DUSSampler(two_d=True),
]


def test_counter_rng_is_bitwise_equal_on_cuda():
    seeds = torch.arange(64) * 1_000_003 - 7
    for stream, step in ((rng.STREAM_DRAW, 1), (rng.STREAM_ORDER, 0), (rng.STREAM_DRAW, 40)):
        u_cpu = rng.uniform(seeds, stream, step, (81, 9))
        u_gpu = rng.uniform(seeds.cuda(), stream, step, (81, 9)).cpu()
        assert torch.equal(u_cpu, u_gpu)
    idx = torch.arange(100)
    assert torch.equal(rng.derive_seeds(5, idx, 2), rng.derive_seeds(5, idx.cuda(), 2).cpu())


@pytest.mark.parametrize("sampler", SAMPLERS, ids=repr)
def test_cuda_matches_cpu_at_temperature_0(sampler, make_puzzles):
    """The same trace on both devices, in float32. The oracle computes on the CPU in both runs,
    so the logits are bit-identical and only the sampler runs on the GPU."""
    puzzles = torch.cat([make_puzzles(32, c, seed=c) for c in range(0, 10, 2)])
    seeds = torch.arange(len(puzzles)) * 31
    oracle = ExactSudokuDenoiser()

    def on_cpu(tokens):
        return oracle(tokens.cpu()).to(tokens.device)

    cpu = sampler.sample(on_cpu, puzzles, 4, row_seeds=seeds)
    gpu = sampler.sample(on_cpu, puzzles.cuda(), 4, row_seeds=seeds.cuda())
    for name in ("tokens", "reveal_step", "nfe"):
        assert torch.equal(getattr(gpu, name).cpu(), getattr(cpu, name)), name
    # the CUDA oracle itself gives valid grids at top-1
    res = EBSampler(0.0).sample(ExactSudokuDenoiser(device="cuda"), puzzles.cuda(), 4)
    assert ExactSudokuDenoiser(device="cuda").is_valid(res.tokens, puzzles.cuda()).all()


@pytest.mark.parametrize("sampler", SAMPLERS, ids=repr)
def test_tempered_batched_run_equals_row_by_row_runs_on_cuda(sampler, make_puzzles):
    """At T > 0 the draws hash (row seed, pass, cell, value), so a batch equals its rows run
    one by one on the same device (CUDA's log differs from the CPU's in the last bit, so CPU
    and CUDA draws are not compared)."""
    puzzles = torch.cat([make_puzzles(8, c, seed=c) for c in range(0, 10, 2)]).cuda()
    seeds = (torch.arange(len(puzzles)) * 17 + 3).cuda()
    oracle = ExactSudokuDenoiser(device="cuda", smoothing=0.3)
    batch = sampler.sample(oracle, puzzles, 4, temperature=1.0, row_seeds=seeds)
    for b in range(len(puzzles)):
        one = sampler.sample(oracle, puzzles[b : b + 1], 4, temperature=1.0,
                             row_seeds=seeds[b : b + 1])  # fmt: skip
        for name in ("tokens", "reveal_step", "nfe"):
            assert torch.equal(getattr(batch, name)[b : b + 1], getattr(one, name)), (b, name)


def test_search_on_cuda_matches_the_cpu(make_puzzles):
    from sampling.search import Search

    spec = get_task("sudoku").spec(4)
    puzzles = torch.cat([make_puzzles(16, c, seed=c) for c in range(3, 9, 2)])
    oracle = ExactSudokuDenoiser(smoothing=0.5)

    def on_cpu(tokens):
        return oracle(tokens.cpu()).to(tokens.device)

    search = Search("backtrack", 0.0, max_nfe=64)
    cpu = search.run(on_cpu, EBSampler(0.5), spec, puzzles)
    gpu = search.run(on_cpu, EBSampler(0.5), spec, puzzles.cuda())
    for name in ("tokens", "nfe", "status", "backtracks"):
        assert torch.equal(getattr(gpu, name).cpu(), getattr(cpu, name)), name


def test_compiled_path_gives_the_eager_answers_but_at_near_ties():
    """bf16 + torch.compile over bucketed batch sizes: the answers at temperature 0 equal the
    eager bf16-autocast answers except where the two paths' rounding flips a near-tie; such
    rows stay rare."""
    from models.checkpoint import load_model
    from puzzles.datasets import load_dataset

    ds = load_dataset("benchmarks/data/sudoku9_heldout.npz")
    loaded = load_model(None, task="sudoku", size=9, device="cuda")
    tokens = torch.from_numpy(loaded.spec.encode_puzzle(ds.puzzles[:512]))
    runs = {
        c: solve_tokens(loaded.model, loaded.spec, tokens, SolveOptions(
            sampler=EBSampler(0.01), batch_size=256, device="cuda", compile=c), record=False)
        for c in (False, True)
    }
    differ = int((runs[False].tokens != runs[True].tokens).any(1).sum())
    assert differ <= 0.05 * len(tokens), differ


def test_bf16_solve_with_a_denoiser_on_cuda():
    from models.config import ModelConfig
    from models.denoiser import Denoiser

    spec = get_task("sudoku").spec(9)
    model = Denoiser(ModelConfig.from_spec(spec, "tiny")).cuda().eval()
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 9, (300, 81), generator=g)
    tokens[torch.rand(300, 81, generator=g) < 0.6] = spec.mask_id
    res = solve_tokens(model, spec, tokens, SolveOptions(sampler=EBSampler(1.0), batch_size=128,
                                                         device="cuda"))  # fmt: skip
    masked = tokens == spec.mask_id
    assert res.tokens.device.type == "cpu"
    assert torch.equal(res.tokens[~masked], tokens[~masked])
    assert not (res.tokens == spec.mask_id).any()
    assert torch.equal(res.nfe, res.reveal_step.max(1).values.clamp(min=0))
    assert (res.nfe <= masked.sum(1)).all()


@pytest.mark.parametrize("sampler", [TopKSampler(1), EBSampler(0.0), RandomSampler(1)], ids=repr)
def test_tempered_top1_on_cuda_is_valid(sampler, make_puzzles):
    puzzles = torch.cat([make_puzzles(32, c, seed=c) for c in range(0, 10, 2)]).cuda()
    oracle = ExactSudokuDenoiser(device="cuda")
    seeds = torch.arange(len(puzzles), device="cuda")
    res = sampler.sample(oracle, puzzles, 4, temperature=1.0, row_seeds=seeds)
    assert oracle.is_valid(res.tokens, puzzles).all()
    assert torch.equal(res.nfe, res.reveal_step.max(1).values.clamp(min=0))
