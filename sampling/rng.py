"""Counter-based randomness: a row's random numbers depend only on its own seed.

Samplers that draw (random order, tempered values) take one int64 *row seed* per row and
hash (row seed, stream, forward pass, cell, value) into uniforms. Nothing depends on which
other rows share the batch or on the order rows finish in, so a batched run equals
row-by-row runs with the same row seeds, and ``unmask solve --seed S`` gives the same answers
at any ``--batch-size``. A ``torch.Generator`` is only used to draw row seeds.

The hash is the SplitMix64 finaliser (Steele, Lea and Flood 2014) written with int64 tensor
ops: multiplication wraps modulo 2**64 in torch, and right shifts are made logical by masking.
"""

from __future__ import annotations

import torch

# SplitMix64 constants as signed int64.
_GOLDEN = 0x9E3779B97F4A7C15 - (1 << 64)
_M1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_M2 = 0x94D049BB133111EB - (1 << 64)

# Streams keep independent uses of one row seed apart.
STREAM_ORDER = 1  # RandomSampler's cell priorities
STREAM_DRAW = 2  # Gumbel noise for tempered value draws
STREAM_RETRY = 3  # per-attempt seeds in ``unmask solve --retries``


def _shr(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 by k (torch's >> is arithmetic)."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def mix64(x: torch.Tensor) -> torch.Tensor:
    """SplitMix64 finaliser on an int64 tensor (a bijection of 64-bit words)."""
    x = (x ^ _shr(x, 30)) * _M1
    x = (x ^ _shr(x, 27)) * _M2
    return x ^ _shr(x, 31)


def _key(seeds: torch.Tensor, stream: int, step: int | torch.Tensor) -> torch.Tensor:
    # (A,) int64: one key per row for this (stream, step); ``step`` an int or (A,) per row.
    if isinstance(step, torch.Tensor):
        counter = step.to(device=seeds.device, dtype=torch.long) + (stream * 1_000_003 + 1)
    else:
        counter = torch.tensor(stream * 1_000_003 + step + 1, dtype=torch.long, device=seeds.device)
    return mix64(seeds.long() + counter * _GOLDEN)


def uniform(
    seeds: torch.Tensor, stream: int, step: int | torch.Tensor, shape: tuple[int, ...]
) -> torch.Tensor:
    """Uniforms in (0, 1), float64, of shape (A, *shape): element [a, i...] hashes
    (seeds[a], stream, step (or step[a]), flat index i)."""
    n = 1
    for s in shape:
        n *= s
    counter = torch.arange(n, device=seeds.device, dtype=torch.long).view(*shape)
    key = _key(seeds, stream, step).view(-1, *([1] * len(shape)))  # (A, 1, ...)
    h = mix64(key + _GOLDEN * (counter + 1))  # (A, *shape)
    return (_shr(h, 11).double() + 0.5) * (2.0**-53)


def gumbel(
    seeds: torch.Tensor, stream: int, step: int | torch.Tensor, shape: tuple[int, ...]
) -> torch.Tensor:
    """Standard Gumbel noise, float32, shape (A, *shape); argmax(logits/T + noise) draws
    from softmax(logits/T)."""
    u = uniform(seeds, stream, step, shape)
    return (-torch.log(-torch.log(u))).float()


def draw_row_seeds(
    n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """(n,) int64 row seeds drawn from ``generator`` (torch's global RNG when None)."""
    gdev = generator.device if generator is not None else "cpu"
    seeds = torch.randint(0, 2**62, (n,), generator=generator, device=gdev, dtype=torch.long)
    return seeds.to(device)


def derive_seeds(seed: int, index: torch.Tensor, attempt: int = 0) -> torch.Tensor:
    """Row seeds for puzzles ``index`` (LongTensor (N,)) from one user seed and an attempt
    number: each puzzle's stream depends on (seed, its index, attempt) only."""
    base = mix64(torch.tensor([seed % (1 << 63)], dtype=torch.long, device=index.device))  # (1,)
    return mix64(_key(base, STREAM_RETRY, attempt) + _GOLDEN * (index.long() + 1))  # (N,)
