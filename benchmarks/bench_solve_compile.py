"""The compiled solve path (``sampling.fast``) against the eager one, side by side in one run:
forward time per pass at a few batch sizes, and the answers of a whole solve.

    python benchmarks/bench_solve_compile.py --task sudoku --size 9 \\
        --input benchmarks/data/sudoku9_heldout.npz --n 512 --json docs/results/compile_cpu.json

Each batch size is timed as alternating eager and compiled passes (medians of ``--repeats``),
after the compiled model has been warmed up on every bucket. Then every puzzle is solved both
ways with the same sampler at temperature 0: answers that differ are counted (kernels of other
shapes round differently, so near-ties can flip), and so are the puzzles solved by each path.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from _report import machine_info, write_json

from models.checkpoint import load_model
from puzzles.datasets import load_dataset
from puzzles.task import check_answers
from sampling.fast import FastForward, bucket
from sampling.options import SolveOptions
from sampling.solve import forward_fn, resolve_device, solve_tokens
from sampling.specs import parse_sampler_spec


def _time(fn, tokens, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        fn(tokens)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="sudoku")
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--input", required=True)
    ap.add_argument("--n", type=int, default=512, help="puzzles for the answer comparison")
    ap.add_argument("--batches", default="64,256", help="batch sizes to time")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sampler", default="eb:gamma=0.01")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    device = resolve_device(args.device)
    loaded = load_model(args.checkpoint, task=args.task, size=args.size, device=device)
    spec = loaded.spec
    eager = forward_fn(loaded.model, device, compile=False)
    t0 = time.perf_counter()
    fast = FastForward(loaded.model, device)
    sizes = [int(b) for b in args.batches.split(",")]
    for b in sorted({bucket(k) for k in range(1, max(sizes) + 1)}):
        fast(torch.full((b, spec.num_cells), spec.mask_id, device=device))
    compile_seconds = time.perf_counter() - t0

    ds = load_dataset(args.input, task=args.task)
    puzzles = ds.puzzles[: args.n]
    tokens = torch.from_numpy(spec.encode_puzzle(puzzles))
    rows = []
    print(f"{spec.describe()} on {device}: compile and warm-up {compile_seconds:.1f} s\n")
    print("| batch | eager ms/pass | compiled ms/pass | speed-up |\n|---|---|---|---|")
    for b in sizes:
        x = tokens[:b].to(device)
        e, c = [], []
        for _ in range(args.repeats):
            e.append(_time(eager, x, device))
            c.append(_time(fast, x, device))
        me, mc = statistics.median(e), statistics.median(c)
        rows.append({"batch": b, "eager_ms": 1e3 * me, "compiled_ms": 1e3 * mc,
                     "speedup": me / mc})  # fmt: skip
        print(f"| {b} | {1e3 * me:.1f} | {1e3 * mc:.1f} | {me / mc:.2f}x |", flush=True)

    _, sampler = parse_sampler_spec(args.sampler)
    answers = {}
    for name, compiled in (("eager", False), ("compiled", True)):
        opts = SolveOptions(sampler=sampler, batch_size=max(sizes), device=str(device),
                            compile=compiled)  # fmt: skip
        res = solve_tokens(loaded.model, spec, tokens, opts, record=False)
        answers[name] = res.tokens
    differ = int((answers["eager"] != answers["compiled"]).any(1).sum())
    solved = {
        k: sum(r is None for r in check_answers(spec, puzzles, v)) for k, v in answers.items()
    }
    print(
        f"\n{args.sampler} on {len(puzzles)} puzzles: {differ} answers differ; solved eager "
        f"{solved['eager']}, compiled {solved['compiled']}"
    )
    if args.json:
        write_json(args.json, {
            "task": args.task, "size": args.size, "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "compile_seconds": compile_seconds, "timing": rows, "sampler": args.sampler,
            "n": len(puzzles), "answers_differ": differ, "solved": solved,
            "machine": machine_info(torch=torch.__version__, threads=torch.get_num_threads()),
        })  # fmt: skip
    return 0 if np.isfinite(compile_seconds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
