"""Guesses and backtracks of a classical solver, of the same solver ordered by the model, and
of the sampler's own search, on the same Sudoku puzzles: one table, one run.

    python benchmarks/guess_compare.py --input benchmarks/data/sudoku9_hard100.npz --n 200 \\
        --json docs/results/guess_compare_hard100_cpu.json

Rows (every one on the same first N puzzles, in one process):

* ``MRV``: the rating solver of ``puzzles.rating`` (fewest candidates, ascending digits);
  propagation naked singles (``plain``) or naked and hidden singles (``hidden``). No model.
* ``MRV, model orders values``: MRV's branch cell, its candidates tried in the model's order.
* ``model orders cells and values``: the branch cell is the open cell the model is surest of
  (``sampling.guided``); one forward pass per branch node. The solver's propagation does the
  rest, so the model only orders.
* ``sampler search``: the EB-Sampler inside backtracking search (``sampling.search``), the
  model placing every cell and the rules only refusing (with ``--constrain`` they also zero
  the values they rule out). Its guesses are its branch points.

Guesses = values tried at branch nodes (the solvers) or branch cells recorded (the search);
backtracks = dead ends met (the solvers) or times the search went back. NFE = forward passes.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from _report import machine_info, write_json

from puzzles.datasets import load_dataset
from puzzles.rating import rate
from puzzles.task import check_answers
from sampling.guided import rate_with_model
from sampling.options import SolveOptions
from sampling.samplers import EBSampler
from sampling.solve import load_for, solve_puzzles


def _solver_row(name, propagation, puzzles, solutions, run) -> dict:
    guesses, backtracks, nfe, solved = [], [], [], 0
    t0 = time.perf_counter()
    for puzzle, solution in zip(puzzles, solutions, strict=True):
        rating, calls = run(puzzle)
        guesses.append(rating.guesses)
        backtracks.append(rating.backtracks)
        nfe.append(calls)
        solved += rating.solution is not None and np.array_equal(rating.solution, solution)
    return _row(name, propagation, len(puzzles), solved, guesses, backtracks, nfe,
                time.perf_counter() - t0)  # fmt: skip


def _row(name, propagation, n, solved, guesses, backtracks, nfe, seconds) -> dict:
    g, b, f = (np.asarray(x, dtype=float) for x in (guesses, backtracks, nfe))
    return {
        "method": name, "propagation": propagation, "n": n, "solved": int(solved),
        "mean_guesses": float(g.mean()), "median_guesses": float(np.median(g)),
        "mean_backtracks": float(b.mean()), "median_backtracks": float(np.median(b)),
        "mean_nfe": float(f.mean()), "seconds": round(seconds, 2),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True, help="Sudoku puzzles (.npz with solutions, or .txt)")
    ap.add_argument("--n", type=int, default=200, help="the first N puzzles")
    ap.add_argument("--checkpoint", default=None, help="model file (default: the shipped one)")
    ap.add_argument("--max-nfe", type=int, default=1000, help="the search's budget per puzzle")
    ap.add_argument("--json", default=None, help="also write the rows as JSON")
    args = ap.parse_args(argv)

    ds = load_dataset(args.input, task="sudoku")
    puzzles = ds.puzzles[: args.n]
    solutions = ds.solutions[: args.n] if ds.solutions is not None else None
    if solutions is None:
        solutions = np.stack([rate(p, hidden=True).solution for p in puzzles])
    loaded = load_for(args.checkpoint, ds.spec, "cpu", source=args.input)
    model, spec = loaded.model, loaded.spec
    torch.set_grad_enabled(False)

    rows = []
    for hidden, prop in ((False, "naked singles"), (True, "naked + hidden singles")):
        rows.append(_solver_row("MRV", prop, puzzles, solutions,
                                lambda p, h=hidden: (rate(p, hidden=h), 0)))  # fmt: skip
        for order, name in (("value", "MRV, model orders values"),
                            ("cell+value", "model orders cells and values")):  # fmt: skip
            rows.append(_solver_row(name, prop, puzzles, solutions, lambda p, h=hidden, o=order:
                                    rate_with_model(model, spec, p, order=o, hidden=h)))  # fmt: skip
        print(f"solvers with {prop}: done", file=sys.stderr, flush=True)
    for constrain in (False, True):
        opts = SolveOptions(sampler=EBSampler(0.01), search="backtrack", max_nfe=args.max_nfe,
                            constrain=constrain, device="cpu")  # fmt: skip
        t0 = time.perf_counter()
        report = solve_puzzles(model, spec, puzzles, opts)
        seconds = time.perf_counter() - t0
        solved = sum(r is None for r in check_answers(spec, puzzles, report.answers))
        rows.append(_row("sampler search (EB 0.01 + backtrack)",
                         "the rules refuse and zero values" if constrain else "the rules refuse",
                         len(puzzles), solved, report.branch_points, report.backtracks,
                         report.nfe, seconds))  # fmt: skip

    print(f"\n{args.input}: the first {len(puzzles)} puzzles, model {loaded.path}, one run\n")
    print("| method | propagation | solved | guesses mean / median | backtracks mean / median "
          "| mean NFE | seconds |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for r in rows:
        print(f"| {r['method']} | {r['propagation']} | {r['solved']}/{r['n']} | "
              f"{r['mean_guesses']:.1f} / {r['median_guesses']:g} | "
              f"{r['mean_backtracks']:.1f} / {r['median_backtracks']:g} | {r['mean_nfe']:.1f} | "
              f"{r['seconds']:.1f} |")  # fmt: skip
    if args.json:
        write_json(args.json, {
            "command": "python benchmarks/guess_compare.py " + " ".join(argv or sys.argv[1:]),
            "input": args.input, "n": len(puzzles), "checkpoint": loaded.path,
            "machine": machine_info(torch=torch.__version__, threads=torch.get_num_threads()),
            "rows": rows,
        })  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
