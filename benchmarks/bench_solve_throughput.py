"""Batched solving throughput (puzzles/s) for top-1 and EB, and the fraction of the FLOP floor.

FLOP floor (issue 4): each forwarded row costs about 2 x parameters x cells FLOPs, so a run
whose rows used sum(NFE) forward passes needs at least 2 * P * L * sum(NFE) / R seconds, R the
device's bf16 matrix rate measured here by a large matmul (float32 on the CPU). The floor
fraction is that time over the measured time (1.0 = every cycle spent in peak-rate matmuls).

Without ``--checkpoint`` the model is a random-init ``Denoiser`` of ``--preset`` (the cost of
a pass does not depend on the weights, but NFE does: a random model is unsure everywhere, so
EB reveals about one cell per pass; a trained model reaches ~10 NFE on 9x9). Without
``--input`` the puzzles are synthetic 9x9 boards with 45-60 masked cells (content does not
change the cost of a pass).

A "forward only" row times the model alone on one full batch: the ceiling for the sampled
runs, whose passes shrink as rows finish.

Two paths, side by side in one run (``--paths``): ``eager`` (the model as it is, bf16 autocast
on CUDA) and ``compiled`` (``sampling.fast``: bf16 weights, ``torch.compile`` over bucketed
batch sizes, CUDA graphs; the default of ``unmask solve`` on a GPU). Each sampler row is timed
after one untimed run (compilation, CUDA graphs, allocator), median of ``--rounds``.

Run: ``python benchmarks/bench_solve_throughput.py [--device auto] [--batch-size 2048] [--n 8192]
[--checkpoint PATH] [--input FILE] [--paths eager,compiled] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _report import write_json

from models.config import ModelConfig
from models.denoiser import Denoiser
from puzzles.task import get_task
from sampling.options import SolveOptions
from sampling.solve import forward_fn, resolve_device, solve_tokens, warm_up
from sampling.specs import parse_sampler_specs


def matmul_rate(device: torch.device) -> tuple[float, str]:
    """Measured dense matmul rate in FLOP/s: bf16 8192^3 on CUDA, float32 1024^3 on the CPU."""
    if device.type == "cuda":
        n, dtype = 8192, torch.bfloat16
    else:
        n, dtype = 1024, torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(10):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / float(np.median(times)), f"{dtype} {n}^3 matmul".replace("torch.", "")


def synthetic_puzzles(spec, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    L, V = spec.num_cells, spec.num_values
    tokens = torch.randint(0, V, (n, L), generator=g)
    count = torch.randint(45, 61, (n, 1), generator=g)  # masked cells per row
    rank = torch.rand(n, L, generator=g).argsort(1).argsort(1)
    return torch.where(rank < count, spec.mask_id, tokens)  # (n, L)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--n", type=int, default=8192, help="puzzles (synthetic) or first N of --input")
    p.add_argument("--preset", default="small")
    p.add_argument("--checkpoint", help="trained model (default: random-init --preset)")
    p.add_argument("--input", help="9x9 Sudoku puzzles file (default: synthetic)")
    p.add_argument("--samplers", default="topk:k=1,eb:gamma=0.1,eb:gamma=1")
    p.add_argument("--paths", default="eager,compiled", help="eager, compiled or both")
    p.add_argument("--rounds", type=int, default=3, help="timed runs per sampler (median)")
    p.add_argument("--forward-repeats", type=int, default=10)
    p.add_argument("--json", default="bench_solve_throughput.json")
    args = p.parse_args()

    device = resolve_device(args.device)
    spec = get_task("sudoku").spec(9)
    if args.checkpoint:
        from models.checkpoint import load_model

        loaded = load_model(args.checkpoint, task="sudoku", size=9, device=device)
        model, params, origin = loaded.model, loaded.model.num_parameters(), loaded.path
    else:
        torch.manual_seed(0)
        model = Denoiser(ModelConfig.from_spec(spec, args.preset)).to(device).eval()
        params, origin = model.num_parameters(), f"random-init {args.preset}"
    if args.input:
        from puzzles.datasets import load_dataset

        ds = load_dataset(args.input, task="sudoku")
        tokens = torch.from_numpy(spec.encode_puzzle(ds.puzzles[: args.n]))
    else:
        tokens = synthetic_puzzles(spec, args.n)
    rate, rate_how = matmul_rate(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    rows, forwards = [], {}
    for path in args.paths.split(","):
        compiled = path == "compiled"
        fwd = forward_fn(model, device, compile=compiled)
        warm_up(model, spec, device, args.batch_size, compile=compiled)
        # The model alone: one full-batch forward pass, no sampler.
        full = tokens[: args.batch_size].to(device)
        with torch.inference_mode():
            times = []
            for _ in range(3 + args.forward_repeats):
                sync()
                t0 = time.perf_counter()
                fwd(full)
                sync()
                times.append(time.perf_counter() - t0)
        forward_s = float(np.median(times[3:]))
        forwards[path] = (forward_s, 2 * params * spec.num_cells * full.shape[0] / rate / forward_s)
        for label, sampler in parse_sampler_specs(args.samplers):
            opts = SolveOptions(sampler=sampler, batch_size=args.batch_size, device=str(device),
                                compile=compiled)  # fmt: skip
            solve_tokens(model, spec, tokens[: args.batch_size], opts, record=False)  # untimed
            runs = []
            for _ in range(args.rounds):
                sync()
                t0 = time.perf_counter()
                res = solve_tokens(model, spec, tokens, opts, record=False)
                sync()
                runs.append(time.perf_counter() - t0)
            seconds = float(np.median(runs))
            rows_forwarded = int(res.nfe.sum())
            floor = 2 * params * spec.num_cells * rows_forwarded / rate
            rows.append({
                "path": path, "sampler": label, "n": int(tokens.shape[0]),
                "batch_size": args.batch_size, "mean_nfe": float(res.nfe.float().mean()),
                "seconds": seconds, "puzzles_per_second": tokens.shape[0] / seconds,
                "rows_forwarded_per_second": rows_forwarded / seconds,
                "floor_seconds": floor, "floor_fraction": floor / seconds,
            })  # fmt: skip

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"\n{name}: {rate / 1e12:.1f} TFLOP/s measured ({rate_how}); model {origin}, "
          f"{params:,} parameters; {tokens.shape[0]} puzzles, median of {args.rounds} runs\n")  # fmt: skip
    print("| path | sampler | batch | mean NFE | puzzles/s | rows fwd/s | FLOP-floor fraction |")
    print("|---|---|---|---|---|---|---|")
    for path, (forward_s, frac) in forwards.items():
        print(f"| {path} | forward only (no sampler) | {args.batch_size} | - | - | "
              f"{args.batch_size / forward_s:.0f} | {100 * frac:.1f}% |")  # fmt: skip
    for r in rows:
        print(f"| {r['path']} | `{r['sampler']}` | {r['batch_size']} | {r['mean_nfe']:.2f} | "
              f"{r['puzzles_per_second']:.0f} | {r['rows_forwarded_per_second']:.0f} | "
              f"{100 * r['floor_fraction']:.1f}% |")  # fmt: skip
    out = {"device": name, "matmul_flops": rate, "matmul": rate_how, "model": origin,
           "parameters": params,
           "forward": {k: {"seconds": v[0], "floor_fraction": v[1]} for k, v in forwards.items()},
           "rows": rows}  # fmt: skip
    write_json(args.json, out)


if __name__ == "__main__":
    main()
