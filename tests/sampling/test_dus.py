"""The dilated unmasking plan: group counts, sizes and spacing, in 1-D and 2-D."""

from __future__ import annotations

import math

import pytest
import torch

from sampling.dilation import coarse_to_fine_2d, dilated_groups_2d, dyadic_group
from sampling.samplers import DUSSampler


def test_dyadic_groups_of_a_block_of_8():
    groups = dyadic_group(torch.arange(8), 3).tolist()
    # {0, 4}, {2, 6}, {1, 3, 5, 7}: bit-reversed order cut into runs of 2, 2, 4
    assert groups == [1, 3, 2, 3, 1, 3, 2, 3]


@pytest.mark.parametrize("m", [2, 3, 5, 7])
def test_dyadic_groups_are_dilated(m):
    pos = torch.arange(2**m)
    groups = dyadic_group(pos, m)
    sizes = torch.bincount(groups)[1:].tolist()
    assert sizes == [2] + [2 ** (s - 1) for s in range(2, m + 1)]  # 2, 2, 4, ..., 2**(m-1)
    for s in range(1, m + 1):
        members = pos[groups == s]
        assert (members.diff() >= 2).all()  # never two neighbours in one group


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9, 31, 33, 55, 64])
def test_one_block_nfe_is_ceil_log2(n):
    tokens = torch.zeros(1, 81, dtype=torch.long)
    tokens[0, torch.randperm(81, generator=torch.Generator().manual_seed(n))[:n]] = 9
    steps = DUSSampler().plan_steps(tokens == 9)[0]
    want = max(1, math.ceil(math.log2(n)))
    assert int(steps.max()) == want
    used = steps[tokens[0] == 9]
    assert torch.equal(used.unique(), torch.arange(1, want + 1))  # no empty group


@pytest.mark.parametrize("n,block", [(12, 4), (13, 4), (40, 16), (55, 8), (7, 1)])
def test_blocks_are_sequential_with_log2_passes_each(n, block):
    masked = torch.zeros(1, 64, dtype=torch.bool)
    masked[0, :n] = True
    steps = DUSSampler(block=block).plan_steps(masked)[0]
    per = max(1, math.ceil(math.log2(block)))
    full, rest = divmod(n, block)
    want = full * per + (max(1, math.ceil(math.log2(rest))) if rest else 0)
    assert int(steps.max()) == want
    # block j's cells are revealed in passes j*per+1 .. (j+1)*per, before block j+1 starts
    blk = torch.arange(n) // block
    assert ((steps[:n] - 1) // per == blk).all()


def test_dus_sampler_nfe_matches_plan(oracle, mixed_puzzles):
    masked = mixed_puzzles == 4
    for sampler in (DUSSampler(), DUSSampler(block=4), DUSSampler(two_d=True)):
        res = sampler.sample(oracle, mixed_puzzles, 4)
        plan = sampler.plan_steps(masked)
        assert torch.equal(res.reveal_step[masked], plan[masked])
        assert torch.equal(res.nfe, plan.max(1).values)


def test_2d_groups_of_8x8():
    groups = dilated_groups_2d(8, 8).view(8, 8)
    sizes = torch.bincount(groups.flatten())[1:].tolist()
    assert sizes == [2, 2, 4, 8, 16, 32]  # log2(64) groups, doubling
    assert groups[0, 0] == 1 and groups[4, 4] == 1
    assert groups[0, 4] == 2 and groups[4, 0] == 2
    last = groups == 6
    rc = torch.arange(8)
    assert torch.equal(last, (rc[:, None] + rc[None, :]) % 2 == 1)  # a checkerboard


@pytest.mark.parametrize("h,w", [(4, 4), (8, 8), (9, 9), (16, 16), (21, 21), (5, 9)])
def test_2d_groups_spread_in_both_directions(h, w):
    groups = dilated_groups_2d(h, w).view(h, w)
    # no two cells of one group are 4-neighbours: not in a row, not in a column
    assert not (groups[:, 1:] == groups[:, :-1]).any()
    assert not (groups[1:, :] == groups[:-1, :]).any()
    G = int(groups.max())
    assert torch.equal(groups.unique(), torch.arange(1, G + 1))
    assert G <= 2 * math.ceil(math.log2(max(h, w)))


def _neighbour_pairs(plan: torch.Tensor, h: int, w: int) -> tuple[int, int]:
    """(vertical, horizontal) 4-neighbour cell pairs revealed in the same pass."""
    g = plan.view(-1, h, w)
    vert = (g[:, 1:, :] == g[:, :-1, :]) & (g[:, 1:, :] > 0)
    horiz = (g[:, :, 1:] == g[:, :, :-1]) & (g[:, :, 1:] > 0)
    return int(vert.sum()), int(horiz.sum())


def test_1d_plan_reveals_vertical_neighbours_together_and_2d_does_not():
    """The reason for the 2-D variant: the 1-D plan is dilated along the row-major order of the
    masked cells only, so cells one row apart (vertical neighbours) share passes; the 2-D plan
    never reveals two 4-neighbours together."""
    masked = torch.rand(64, 81, generator=torch.Generator().manual_seed(0)) < 0.65
    one_d = DUSSampler().plan_steps(masked)
    two_d = DUSSampler(two_d=True).plan_steps(masked)
    vertical_1d, _ = _neighbour_pairs(one_d, 9, 9)
    assert vertical_1d > 50
    assert _neighbour_pairs(two_d, 9, 9) == (0, 0)
    # row-major dilation keeps horizontal neighbours apart only when no given sits between
    full = DUSSampler().plan_steps(torch.ones(1, 64, dtype=torch.bool))
    assert _neighbour_pairs(full, 8, 8)[1] == 0


@pytest.mark.parametrize("h,w,fraction", [(9, 9, 0.65), (9, 9, 1.0), (21, 21, 0.5), (5, 9, 0.8)])
def test_2d_plan_takes_about_log2_passes_and_no_neighbours(h, w, fraction):
    masked = torch.rand(32, h * w, generator=torch.Generator().manual_seed(h)) < fraction
    steps = DUSSampler(two_d=True).plan_steps(masked, (h, w))
    n = masked.sum(1)
    low = torch.ceil(torch.log2(n.double())).long().clamp(min=1)
    nfe = steps.max(1).values
    assert ((nfe >= low) & (nfe <= low + 1)).all()
    for b in range(32):  # passes 1..nfe, none empty
        assert torch.equal(steps[b][masked[b]].unique(), torch.arange(1, int(nfe[b]) + 1))
    assert _neighbour_pairs(steps, h, w) == (0, 0)


def test_2d_plan_on_a_maze_is_not_two_passes():
    """Maze open cells sit only on the two finest lattice sublevels; the plan must still take
    about log2(open cells) passes, not reveal the maze in two."""
    h = w = 21  # a 10x10-cell maze
    r, c = torch.arange(h).repeat_interleave(w), torch.arange(w).repeat(h)
    inner = (r > 0) & (r < h - 1) & (c > 0) & (c < w - 1)
    centres = inner & (r % 2 == 1) & (c % 2 == 1)
    passages = inner & ((r + c) % 2 == 1)
    keep = torch.rand(h * w, generator=torch.Generator().manual_seed(0)) < 0.5
    masked = (centres | (passages & keep)).unsqueeze(0)  # (1, L)
    assert set(dilated_groups_2d(h, w)[masked[0]].tolist()) == {9, 10}
    nfe = int(DUSSampler(two_d=True).plan_steps(masked).max())
    assert nfe >= math.ceil(math.log2(int(masked.sum()))) >= 7


def test_coarse_to_fine_order_of_4x4():
    order = coarse_to_fine_2d(4, 4).argsort().tolist()
    # origin, centre, edge midpoints, then the 2x2 quincunx, then the checkerboard
    assert order[:4] == [0, 10, 8, 2]
    assert sorted(order[4:8]) == [5, 7, 13, 15]
    assert sorted(order[8:]) == [1, 3, 4, 6, 9, 11, 12, 14]
