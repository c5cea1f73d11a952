"""Choose the search's ``--branch-entropy``: solve rate and NFE of backtracking for several
thresholds, on the same puzzles.

    python benchmarks/search_sweep.py --input benchmarks/data/sudoku9_heldout.npz --n 200 \\
        --branch-entropy 0.01,0.02,0.05,0.1,0.2 --json docs/results/search_sweep_sudoku9.json

A lower threshold records more branch points: more puzzles solved (0 makes the search
complete), more forward passes spent on hopeless alternatives. Prints a markdown table and
writes the rows as JSON.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from _report import machine_info, write_json

from puzzles.datasets import load_dataset
from puzzles.task import check_answers
from sampling.search import MODES, Search
from sampling.solve import load_for, resolve_device
from sampling.specs import parse_sampler_spec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--checkpoint", default=None, help="default: the shipped model")
    ap.add_argument("--n", type=int, default=200, help="first N puzzles of --input")
    ap.add_argument("--sampler", default="eb:gamma=0.01")
    ap.add_argument("--mode", default="backtrack", choices=MODES)
    ap.add_argument("--branch-entropy", default="0.01,0.02,0.05,0.1,0.2")
    ap.add_argument("--variants", default="repredict+restart",
                    help="comma list of search variants, each a '+'-joined subset of repredict, "
                    "restart (the Search options; 'plain' for neither), e.g. plain,repredict")  # fmt: skip
    ap.add_argument("--max-nfe", type=int, default=400)
    ap.add_argument("--constrain", action="store_true")
    ap.add_argument("--propagate", action="store_true")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    ds = load_dataset(args.input)
    puzzles = ds.puzzles[: args.n]
    device = resolve_device(args.device)
    loaded = load_for(args.checkpoint, ds.spec, device, source=args.input)
    spec = loaded.spec
    label, sampler = parse_sampler_spec(args.sampler)
    tokens = torch.from_numpy(spec.encode_puzzle(puzzles))
    rows = []
    print(f"{args.input}: {len(puzzles)} puzzles, {label} + {args.mode}, max {args.max_nfe} NFE")
    print("\n| variant | branch entropy | solved | mean NFE | median | p90 | max | exhausted | "
          "over budget | mean backtracks | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    grid = [(v, float(x)) for v in args.variants.split(",") for x in args.branch_entropy.split(",")]
    for variant, threshold in grid:
        parts = variant.split("+")
        search = Search(args.mode, threshold, args.max_nfe, repredict="repredict" in parts,
                        restart="restart" in parts)  # fmt: skip
        t0 = time.perf_counter()
        parts = [
            search.run(
                loaded.model,
                sampler,
                spec,
                tokens[i : i + args.batch_size].to(device),
                constrain=args.constrain,
                propagate=args.propagate,
            )  # fmt: skip
            for i in range(0, len(tokens), args.batch_size)
        ]
        seconds = time.perf_counter() - t0
        answers = torch.cat([p.tokens.cpu() for p in parts])
        nfe = torch.cat([p.nfe.cpu() for p in parts]).float()
        status = torch.cat([p.status.cpu() for p in parts])
        backtracks = torch.cat([p.backtracks.cpu() for p in parts]).float()
        solved = sum(r is None for r in check_answers(spec, puzzles, answers))
        row = {
            "variant": variant,
            "branch_entropy": threshold,
            "n": len(puzzles),
            "solved": solved,
            "accuracy": solved / len(puzzles),
            "mean_nfe": float(nfe.mean()),
            "median_nfe": float(nfe.median()),
            "p90_nfe": float(nfe.quantile(0.9)),
            "max_nfe": int(nfe.max()),
            "exhausted": int((status == 2).sum()),
            "over_budget": int((status == 3).sum()),
            "mean_backtracks": float(backtracks.mean()),
            "seconds": round(seconds, 1),
        }
        rows.append(row)
        print(f"| {variant} | {threshold:g} | {solved}/{len(puzzles)} "
              f"({100 * row['accuracy']:.1f}%) | {row['mean_nfe']:.2f} | {row['median_nfe']:g} | "
              f"{row['p90_nfe']:g} | {row['max_nfe']} | {row['exhausted']} | "
              f"{row['over_budget']} | {row['mean_backtracks']:.1f} | {seconds:.0f} |",
              flush=True)  # fmt: skip
    if args.json:
        report = {
            "command": "python benchmarks/search_sweep.py " + " ".join(argv or sys.argv[1:]),
            "input": args.input, "checkpoint": loaded.path, "sampler": label, "mode": args.mode,
            "max_nfe": args.max_nfe, "constrain": args.constrain, "propagate": args.propagate, "device": str(device),
            "machine": machine_info(torch=torch.__version__, threads=torch.get_num_threads()),
            "rows": rows,
        }  # fmt: skip
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
