"""The model as the samplers call it, fast: bf16 weights, ``torch.compile`` over bucketed batch
sizes, CUDA graphs on a GPU.

A sampling loop calls the model on the rows that still have masked cells, so the batch shrinks
as rows finish. ``FastForward`` pads each call's batch up to the next *bucket* (powers of two
from 16) with copies of its first row and cuts the logits back, so the compiled model sees at
most a dozen batch sizes: compiled once with a dynamic batch dimension, and on CUDA with one
CUDA graph recorded per bucket (``mode="reduce-overhead"``). Rows never interact in the model,
so padding changes no row's logits beyond the rounding differences of another kernel shape.

On the GPU it is the default of ``unmask solve`` and ``unmask bench`` (``--no-compile`` turns
it off); on the CPU it is opt-in (``--compile``), as ``benchmarks/bench_solve_compile.py``
measured it no faster there.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable

import torch

MIN_BUCKET = 16


def bucket(n: int) -> int:
    """The padded batch size for ``n`` rows: the next power of two, at least ``MIN_BUCKET``."""
    return max(MIN_BUCKET, 1 << max(0, n - 1).bit_length())


class FastForward:
    """``tokens (B, L) -> float32 logits (B, L, V)`` through a compiled copy of ``model``.

    device: where it runs. bf16: cast the weights to bfloat16 (CUDA; the logits come out in
    float32). mode: ``torch.compile`` mode (default: "reduce-overhead" on CUDA, which records
    CUDA graphs, else the default mode). The original model is not changed.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        device: torch.device,
        *,
        bf16: bool | None = None,
        mode: str | None = None,
    ):
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        self.bf16 = cuda if bf16 is None else bf16
        net = copy.deepcopy(model).to(self.device).eval().requires_grad_(False)
        if self.bf16:
            net = net.to(torch.bfloat16)
        self.net = net
        self.mode = mode if mode is not None else ("reduce-overhead" if cuda else None)
        self.compiled = torch.compile(net, dynamic=True, mode=self.mode)
        self.buckets_seen: set[int] = set()

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        B = tokens.shape[0]
        size = bucket(B)
        self.buckets_seen.add(size)
        if size != B:  # pad with copies of the first row; rows do not interact
            tokens = torch.cat([tokens, tokens[:1].expand(size - B, -1)])
        with torch.inference_mode():
            logits = self.compiled(tokens)
        if self.device.type == "cuda" and self.mode == "reduce-overhead":
            logits = logits.clone()  # a CUDA graph's output is overwritten by its next replay
        return logits[:B].float()


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def fast_forward(model: Callable, device: torch.device, **kwargs) -> Callable:
    """A cached ``FastForward`` of ``model`` on ``device`` (compiled once per model and device);
    ``model`` itself when it is not an ``nn.Module`` (an oracle, a toy)."""
    if not isinstance(model, torch.nn.Module):
        return model
    cache = _CACHE.setdefault(model, {})
    key = (str(device), tuple(sorted(kwargs.items())))
    if key not in cache:
        cache[key] = FastForward(model, device, **kwargs)
    return cache[key]
