"""Training throughput and model FLOP utilisation (MFU) of a preset on this machine.

    python benchmarks/bench_train.py --task sudoku --size 9 --preset small --steps 300 \\
        --batch-size 512 2048 --compile both --json docs/results/bench_train_h100.json

Runs the real training path (``models.train.run``: Lightning, batches made on the device,
fused AdamW on CUDA, bf16 autocast on a GPU, optionally ``torch.compile``) for ``--steps``
steps per setting, validation pushed past the end. Throughput is what Lightning's
ThroughputMonitor measured over its last window (compile warm-up excluded). MFU is
6 x parameters x cells per second over the dense matmul rate measured in the same run (bf16 on
a GPU, float32 on a CPU: square matmuls, median of several). Prints a markdown table and
writes JSON.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from _report import machine_info, write_json

from models.config import PRESETS
from puzzles.task import task_names


def matmul_rate(device: torch.device, n: int | None = None, repeats: int = 10) -> float:
    """Dense matmul FLOP/s: bf16 n x n (n = 8192) on CUDA, float32 (n = 1024) on the CPU."""
    cuda = device.type == "cuda"
    n = n or (8192 if cuda else 1024)
    dtype = torch.bfloat16 if cuda else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for k in range(repeats + 2):
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        a @ b
        if cuda:
            torch.cuda.synchronize(device)
        if k >= 2:  # two warm-ups
            times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--task", choices=task_names(), default="sudoku")
    ap.add_argument("--size", type=int, default=9, help="Sudoku n or maze cells per side")
    ap.add_argument("--preset", choices=tuple(PRESETS), default="small")
    ap.add_argument("--steps", type=int, default=300, help="steps per measured run")
    ap.add_argument("--batch-size", type=int, nargs="+", default=[256], help="one or more")
    ap.add_argument("--compile", choices=("off", "on", "both"), default="off")
    ap.add_argument("--precision", default=None, help="default: bf16-mixed on GPU, else 32-true")
    ap.add_argument("--repeats", type=int, default=1, help="runs per setting (median reported)")
    ap.add_argument("--train-size", type=int, default=512, help="generated puzzles to draw from")
    ap.add_argument("--json", default="bench_train.json", help="where to write the results")
    args = ap.parse_args(argv)

    from models.config import Runtime
    from models.train import default_config, run

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    peak = matmul_rate(device)
    print(f"dense matmul on {device}: {peak / 1e9:,.0f} GFLOP/s", flush=True)
    compiles = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        for batch in args.batch_size:
            for comp in compiles:
                rates = []
                for rep in range(args.repeats):
                    cfg = default_config(
                        args.task, args.size, args.preset, seed=rep,
                        steps=args.steps, batch_size=batch, compile=comp,
                        precision=args.precision, train_size=args.train_size, val_size=8,
                        val_every=10 * args.steps, ckpt_every=10 * args.steps,
                        warmup_steps=10,
                    )  # fmt: skip
                    out = Path(tmp) / f"b{batch}_c{int(comp)}_r{rep}"
                    s = run(cfg, out, runtime=Runtime(progress=False))
                    rates.append((s["steps_per_s"] or 0.0, s["tokens_per_s"] or 0.0))
                sps = statistics.median(r[0] for r in rates)
                tps = statistics.median(r[1] for r in rates)
                flops = 6 * s["parameters"] * tps
                rows.append(dict(task=args.task, size=args.size, preset=args.preset,
                                 batch_size=batch, compile=comp, precision=cfg.precision,
                                 device_batches=cfg.device_batches, steps=args.steps,
                                 repeats=args.repeats, steps_per_s=sps, tokens_per_s=tps,
                                 model_flops_per_s=flops, mfu=flops / peak,
                                 parameters=s["parameters"], device=s["device"]))  # fmt: skip
                print(f"batch {batch} compile {comp}: {sps:.2f} steps/s, MFU {flops / peak:.1%}",
                      flush=True)  # fmt: skip

    print()
    print("| task | preset | batch | compile | precision | steps/s | cells/s | MFU | device |")
    print("|---|---|---:|---|---|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['task']} {r['size']} | {r['preset']} | {r['batch_size']} | {r['compile']} "
            f"| {r['precision']} | {r['steps_per_s']:.2f} | {r['tokens_per_s']:,.0f} "
            f"| {100 * r['mfu']:.1f}% | {r['device']} |"
        )
    meta = {"torch": torch.__version__, "argv": sys.argv[1:], "matmul_flops_per_s": peak,
            "machine": machine_info(torch=torch.__version__)}  # fmt: skip
    write_json(args.json, {"meta": meta, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
