"""The search's own work per forward pass against the pass itself (target: at most 20% on the
CPU at batch 256).

    python benchmarks/bench_search_overhead.py --json docs/results/search_overhead_cpu.json

Runs ``Search`` (backtrack, and remask) with the EB-Sampler over the first ``--n`` held-out 9x9
puzzles with the shipped model, once each, timing every forward pass of the model apart from the
rest. "Bookkeeping" is the wall time of the whole search minus the time spent in the model: the
sampler's selection, the partial checks, the validator on completed answers and the repairs
(with --propagate also the propagation, which replaces forward passes: its share per pass is
larger by construction).
"""

from __future__ import annotations

import argparse
import time

import torch
from _report import machine_info, write_json

from models.checkpoint import load_model
from puzzles.datasets import load_dataset
from sampling.samplers import EBSampler
from sampling.search import Search


class Timed:
    def __init__(self, model):
        self.model, self.seconds, self.passes, self.rows = model, 0.0, 0, 0

    def __call__(self, tokens):
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self.model(tokens)
        self.seconds += time.perf_counter() - t0
        self.passes += 1
        self.rows += tokens.shape[0]
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default="benchmarks/data/sudoku9_heldout.npz")
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    ds = load_dataset(args.input)
    loaded = load_model(None, task=ds.task, size=ds.size)
    spec = loaded.spec
    tokens = torch.from_numpy(spec.encode_puzzle(ds.puzzles[: args.n]))
    rows = []
    for mode, rules in (("backtrack", ""), ("backtrack", "constrain"), ("backtrack", "propagate"),
                        ("remask", "")):  # fmt: skip
        timed = Timed(loaded.model)
        t0 = time.perf_counter()
        res = Search(mode).run(timed, EBSampler(0.01), spec, tokens,
                               constrain=rules == "constrain", propagate=rules == "propagate")  # fmt: skip
        wall = time.perf_counter() - t0
        book = wall - timed.seconds
        rows.append({
            "mode": mode, "rules": rules or None, "n": len(tokens), "passes": timed.passes,
            "rows_forwarded": timed.rows, "nfe_total": int(res.nfe.sum()), "wall_s": wall,
            "forward_s": timed.seconds, "bookkeeping_s": book,
            "bookkeeping_ms_per_pass": 1e3 * book / timed.passes,
            "forward_ms_per_pass": 1e3 * timed.seconds / timed.passes,
            "bookkeeping_share": book / timed.seconds,
        })  # fmt: skip
    print(f"\n{args.n} puzzles of {args.input}, shipped model, EB gamma 0.01, "
          f"{torch.get_num_threads()} threads\n")  # fmt: skip
    print("| search | passes | forward ms/pass | bookkeeping ms/pass | bookkeeping / forward |")
    print("|---|---|---|---|---|")
    for r in rows:
        name = r["mode"] + (f" + {r['rules']}" if r["rules"] else "")
        print(f"| {name} | {r['passes']} | {r['forward_ms_per_pass']:.1f} | "
              f"{r['bookkeeping_ms_per_pass']:.1f} | {100 * r['bookkeeping_share']:.1f}% |")  # fmt: skip
    if args.json:
        write_json(args.json, {"rows": rows, "machine": machine_info(torch=torch.__version__,
                                                                     threads=torch.get_num_threads())})  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
