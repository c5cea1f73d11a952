"""The dilated unmasking scheduler's plans: integer bit arithmetic on cell positions.

Pure functions of positions and masks (no model): ``dyadic_group`` (the 1-D plan),
``dilated_groups_2d`` and ``coarse_to_fine_2d`` (the 2-D grid orders) and ``plan_1d`` /
``plan_2d``, which give every masked cell of a batch the pass that reveals it. Everything is
integer tensor arithmetic, so plans are exact and identical on every device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bit_length(x: torch.Tensor) -> torch.Tensor:
    """Bits needed for 0 <= x < 2**32 (0 -> 0, 1 -> 1, 2..3 -> 2, 4..7 -> 3, ...); integer
    ops only, so it is exact on every device."""
    n = torch.zeros_like(x)
    for k in (16, 8, 4, 2, 1):  # binary search on the highest set bit
        big = (x >> k) > 0
        n = n + big * k
        x = torch.where(big, x >> k, x)
    return n + (x > 0).long()


def ceil_log2(n: torch.Tensor) -> torch.Tensor:
    """ceil(log2(n)) for n >= 1 (0 for n == 1)."""
    return bit_length((n - 1).clamp(min=0))


def trailing_zeros(x: torch.Tensor, zero_value: torch.Tensor | int) -> torch.Tensor:
    """Number of trailing zero bits of x >= 0; ``zero_value`` where x == 0."""
    tz = bit_length(x & -x) - 1  # x & -x: the lowest set bit
    return torch.where(x == 0, torch.as_tensor(zero_value, device=x.device), tz)


def dyadic_group(pos: torch.Tensor, m: torch.Tensor | int) -> torch.Tensor:
    """1-D dilated group (1-based) of position ``pos`` in a block of 2**m positions.

    Group 1 = {0, 2**(m-1)}; group s >= 2 = the odd multiples of 2**(m-s), i.e. positions
    spaced 2**(m-s+1) apart. m groups in all, sizes 2, 2, 4, ..., 2**(m-1); no two positions in
    a group are adjacent once m >= 2 (in bit-reversed order the groups are consecutive runs).
    """
    return (m - trailing_zeros(pos, m)).clamp(min=1)


def dilated_groups_2d(height: int, width: int) -> torch.Tensor:
    """(height*width,) 1-based *sublevel* of every cell of a row-major grid (2-D DUS).

    Pad the grid to S x S, S = 2**m the next power of two >= max(height, width). Level a (from
    m-1 down to 0) refines the lattice of spacing 2**(a+1) to spacing 2**a in two sublevels:
    first the cells with both coordinates odd multiples of 2**a (the lattice's centres, a
    quincunx), then those with one coordinate an odd multiple of 2**a and the other a multiple
    of 2**(a+1) (edge midpoints). Cell (0, 0) joins sublevel 1. Within a sublevel cells of one
    row (or column) are 2**(a+1) apart and no two cells are 4-adjacent; the last sublevel is a
    checkerboard. 2m sublevels for S x S, sizes 2, 2, 4, 8, ...: log2 of the cell count.
    """
    m = max(1, math.ceil(math.log2(max(height, width))))
    r = torch.arange(height).repeat_interleave(width)  # (L,)
    c = torch.arange(width).repeat(height)  # (L,)
    tr, tc = trailing_zeros(r, m), trailing_zeros(c, m)
    a = torch.minimum(tr, tc)  # level at which the cell appears
    edge = (tr != tc).long()  # 0: quincunx, 1: edge midpoint
    group = 2 * (m - 1 - a) + 1 + edge
    return torch.where(a >= m, 1, group)  # the origin joins sublevel 1


def coarse_to_fine_2d(height: int, width: int) -> torch.Tensor:
    """(height*width,) long key: sorting cells by it visits the grid coarse to fine.

    Base-4 digits, the coordinates' lowest bits most significant, each digit mapping the bit
    pair (row bit, column bit) as 00 -> 0, 11 -> 1, 10 -> 2, 01 -> 3. So the order runs through
    the sublevels of ``dilated_groups_2d`` one after the other (quincunx before edges, coarse
    before fine), and within a sublevel it recurses: the cells of one sublevel form a coarser
    lattice that is again visited coarse to fine, so any prefix of a sublevel is spread out.
    """
    m = max(1, math.ceil(math.log2(max(height, width))))
    r = torch.arange(height).repeat_interleave(width)  # (L,)
    c = torch.arange(width).repeat(height)  # (L,)
    digit_of = torch.tensor([0, 3, 2, 1])  # index 2*row_bit + col_bit
    key = torch.zeros_like(r)
    for b in range(m):  # bit b of the coordinates -> base-4 digit at position m-1-b
        d = digit_of[2 * ((r >> b) & 1) + ((c >> b) & 1)]
        key = key + (d << (2 * (m - 1 - b)))
    return key


def plan_1d(masked: torch.Tensor, block: int | None = None) -> torch.Tensor:
    """(B, L) long: the 1-based pass of each masked cell under the 1-D plan (0 elsewhere).

    A row's masked cells, in row-major order, are cut into blocks of ``block`` cells (default:
    one block), handled one after the other; a block of n cells is padded to P = 2**m >= n and
    revealed in the m groups of ``dyadic_group``, so NFE = ceil(log2 n) per block."""
    rank = masked.long().cumsum(1) - 1  # (B, L) index among the row's masked cells
    n = masked.sum(1, keepdim=True)  # (B, 1)
    if block is None:
        blk = torch.zeros_like(rank)
        size = n.expand_as(rank)  # one block
        per_block = 0
    else:
        blk = rank.div(block, rounding_mode="floor")
        size = torch.clamp(n - blk * block, max=block)  # this block's cell count
        per_block = max(1, math.ceil(math.log2(block)))
        rank = rank - blk * block
    m = ceil_log2(size)  # (B, L) block padded to 2**m
    steps = blk * per_block + dyadic_group(rank.clamp(min=0), m)
    return torch.where(masked, steps, 0)


def plan_2d(masked: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, L) long: the 1-based pass of each masked cell under the 2-D plan (0 elsewhere).

    A row's masked cells are taken in ``coarse_to_fine_2d`` order and cut into runs of 2, 2, 4,
    8, ..., with one more cut where the order reaches the checkerboard cells (row + column
    odd), which it visits last: no pass reveals two 4-adjacent cells."""
    B, L = masked.shape
    perm = coarse_to_fine_2d(height, width).argsort().to(masked.device)  # (L,) visiting order
    cells = torch.arange(L, device=masked.device)
    odd = ((cells // width + cells % width) % 2)[perm]  # (L,) 0 then 1: the checkerboard last
    m_sorted = masked[:, perm]  # (B, L) in visiting order
    rank = m_sorted.long().cumsum(1) - 1  # (B, L) index among masked cells
    run = bit_length(rank.clamp(min=0)).clamp(min=1)  # runs of 2, 2, 4, 8, ...
    # (parity, run) never decreases along the order: a pass starts where it grows
    combined = torch.where(m_sorted, odd * (L + 1) + run, -1)  # (B, L)
    before = F.pad(combined.cummax(1).values[:, :-1], (1, 0), value=-1)  # (B, L)
    new = m_sorted & (combined > before)
    steps_sorted = torch.where(m_sorted, new.long().cumsum(1), 0)  # (B, L)
    return torch.zeros_like(steps_sorted).scatter(1, perm.expand(B, L), steps_sorted)
