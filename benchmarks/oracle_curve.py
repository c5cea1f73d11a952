"""The EB-Sampler's speed/error trade-off with an exact denoiser (4x4 Sudoku).

With the exact conditional marginals (``sampling.oracle.ExactSudokuDenoiser``) the model makes
no mistakes, so every invalid grid is the sampler's: revealing several cells in one pass
samples them independently although they are dependent. Top-1 (gamma = 0) is always valid;
as gamma grows, fewer passes are needed and more grids break. Puzzles: ``--per-clue`` puzzles
for each clue count in ``--clues`` (few clues: many solutions, where dependence matters), cut
from uniformly drawn grids. Each gamma runs at temperature 0 (argmax) and 1 (exact sampling).
A second table runs the other samplers on the same puzzles.

Run: ``python benchmarks/oracle_curve.py [--per-clue 200] [--clues 2-8] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import math

import torch
from _report import write_json

from sampling.oracle import ExactSudokuDenoiser
from sampling.samplers import EBSampler
from sampling.specs import parse_sampler_specs

GAMMAS = (0.0, 0.1, 0.3, 0.5, 0.6, 0.7, 1.0, 1.4, 2.0, 3.0, 5.0, 10.0, 100.0)
OTHERS = (
    "topk:k=1,topk:k=2,topk:k=4,random:k=1,random:k=2,threshold:tau=1,threshold:tau=0.9,"
    "threshold:tau=0.6,dus,dus:two_d=true"
)
TEMPERATURES = (0.0, 1.0)


def run(oracle, sampler, puzzles, temperature: float, seed: int) -> tuple[float, float, float]:
    """(invalid rate, mean NFE, mean cells revealed per pass) of one sampler."""
    seeds = torch.arange(len(puzzles)) + 1_000_003 * seed
    res = sampler.sample(oracle, puzzles, oracle.mask_id, temperature=temperature, row_seeds=seeds)
    invalid = 1.0 - oracle.is_valid(res.tokens, puzzles).float().mean().item()
    nfe = res.nfe.float()
    cells = (puzzles == oracle.mask_id).sum(1).float()
    return invalid, nfe.mean().item(), (cells.sum() / nfe.sum()).item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--per-clue", type=int, default=200, help="puzzles per clue count")
    p.add_argument("--clues", default="2-8", help="clue counts, as LOW-HIGH")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default="oracle_curve.json")
    args = p.parse_args()
    low, high = (int(x) for x in args.clues.split("-"))

    torch.set_num_threads(1)
    oracle = ExactSudokuDenoiser()
    puzzles = torch.cat(
        [
            oracle.random_puzzles(
                args.per_clue, c, torch.Generator().manual_seed(1000 * args.seed + c)
            )[0]
            for c in range(low, high + 1)
        ]
    )  # (N, 16)
    completions = oracle.count_completions(puzzles).float()
    masked = (puzzles == oracle.mask_id).sum(1).float()

    curve = []
    for gamma in GAMMAS:
        row = {"gamma": gamma}
        for t in TEMPERATURES:
            inv, nfe, per = run(oracle, EBSampler(gamma), puzzles, t, args.seed)
            row[f"T{t:g}"] = {"invalid": inv, "mean_nfe": nfe, "cells_per_pass": per}
        curve.append(row)
    others = []
    for label, sampler in parse_sampler_specs(OTHERS):  # a square grid: the 2-D plan infers it
        row = {"sampler": label}
        for t in TEMPERATURES:
            inv, nfe, per = run(oracle, sampler, puzzles, t, args.seed)
            row[f"T{t:g}"] = {"invalid": inv, "mean_nfe": nfe, "cells_per_pass": per}
        others.append(row)

    print(
        f"\n{len(puzzles)} 4x4 puzzles, {low}-{high} clues, mean {masked.mean():.1f} blanks, "
        f"mean {completions.mean():.1f} solutions ({(completions == 1).float().mean():.0%} unique); "
        "exact denoiser\n"
    )
    head = "| {} | invalid T=0 | mean NFE T=0 | invalid T=1 | mean NFE T=1 | cells/pass T=1 |"
    sep = "|---|---|---|---|---|---|"

    def cells(row):
        a, b = row["T0"], row["T1"]
        return (
            f"{100 * a['invalid']:.1f}% | {a['mean_nfe']:.2f} | {100 * b['invalid']:.1f}% | "
            f"{b['mean_nfe']:.2f} | {b['cells_per_pass']:.2f} |"
        )

    print(head.format("EB gamma (nats)"))
    print(sep)
    for row in curve:
        print(f"| {row['gamma']:g} | " + cells(row))
    print("\n" + head.format("other sampler"))
    print(sep)
    for row in others:
        print(f"| `{row['sampler']}` | " + cells(row))
    print(f"\n(log 2 = {math.log(2):.3f}, log 4 = {math.log(4):.3f} nats)")
    out = {
        "puzzles": len(puzzles),
        "clues": [low, high],
        "per_clue": args.per_clue,
        "seed": args.seed,
        "mean_blanks": masked.mean().item(),
        "mean_solutions": completions.mean().item(),
        "unique_fraction": (completions == 1).float().mean().item(),
        "eb_curve": curve,
        "other_samplers": others,
    }
    write_json(args.json, out)


if __name__ == "__main__":
    main()
