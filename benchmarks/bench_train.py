"""Training throughput of a preset on this machine: steps/s and tokens (cells)/s.

Runs the real training path (``models.train.run``: Lightning, the masked-batch stream, AdamW,
bf16 autocast on GPU, optionally ``torch.compile``) for a few hundred steps on a small generated
set, with validation pushed past the end. The first step (compile warm-up) and validation are
excluded from the timing. Prints a markdown table and writes JSON.

    python benchmarks/bench_train.py --task sudoku --size 9 --preset small --steps 300 \\
        --compile both --json bench_train.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch
from _report import write_json


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--task", choices=("sudoku", "maze"), default="sudoku")
    ap.add_argument("--size", type=int, default=9, help="Sudoku n or maze cells per side")
    ap.add_argument("--preset", choices=("tiny", "small"), default="small")
    ap.add_argument("--steps", type=int, default=300, help="steps per measured run")
    ap.add_argument("--batch-size", type=int, nargs="+", default=[256], help="one or more")
    ap.add_argument("--compile", choices=("off", "on", "both"), default="off")
    ap.add_argument("--precision", default=None, help="default: bf16-mixed on GPU, else 32-true")
    ap.add_argument("--num-workers", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=1, help="runs per setting (median reported)")
    ap.add_argument("--train-size", type=int, default=512, help="generated puzzles to draw from")
    ap.add_argument("--json", default="bench_train.json", help="where to write the results")
    args = ap.parse_args(argv)

    from models.train import default_config, run

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
                        precision=args.precision, num_workers=args.num_workers,
                        train_size=args.train_size, val_size=8,
                        val_every=10 * args.steps, ckpt_every=10 * args.steps,
                        warmup_steps=10,
                    )  # fmt: skip
                    out = Path(tmp) / f"b{batch}_c{int(comp)}_r{rep}"
                    s = run(cfg, out, progress=False)
                    rates.append((s["steps_per_s"], s["tokens_per_s"]))
                sps = statistics.median(r[0] for r in rates)
                tps = statistics.median(r[1] for r in rates)
                rows.append(dict(task=args.task, size=args.size, preset=args.preset,
                                 batch_size=batch, compile=comp, precision=cfg.precision,
                                 steps=args.steps, repeats=args.repeats,
                                 steps_per_s=sps, tokens_per_s=tps,
                                 parameters=s["parameters"], device=s["device"]))  # fmt: skip

    print()
    print("| task | preset | batch | compile | precision | steps/s | tokens/s | device |")
    print("|---|---|---:|---|---|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['task']} {r['size']} | {r['preset']} | {r['batch_size']} | {r['compile']} "
            f"| {r['precision']} | {r['steps_per_s']:.2f} | {r['tokens_per_s']:,.0f} "
            f"| {r['device']} |"
        )
    meta = {"torch": torch.__version__, "cuda": torch.cuda.is_available(), "argv": sys.argv[1:]}
    write_json(args.json, {"meta": meta, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
