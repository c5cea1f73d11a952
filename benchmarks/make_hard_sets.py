"""Hard held-out Sudoku sets rated by the plain MRV solver, and the rating distributions behind
them.

Three steps, one process, one core:

1. Measure: ``--sample`` fresh minimal 9x9 puzzles (seed ``--sample-seed``) are generated and
   rated by ``puzzles.rating.rate`` (plain: naked singles only, guesses = values tried at
   branch nodes; and with hidden singles). Prints the distribution (median, p90, p99 by numpy's
   linear interpolation, max, shares at or above thresholds), the CPU time per draw of
   generating and of rating, and from those the expected CPU time per kept puzzle at each
   ``--min-guesses`` (and at 1000): (generate + rate per draw) / share kept.
2. Rate the 17-clue set ``--sudoku17`` the same way (``--sudoku17-count 0`` skips it; the plain
   rating needs thousands of guesses on most of those puzzles, minutes in all).
3. Generate: for each threshold in ``--min-guesses`` with its seed in ``--seeds``, ``--count``
   minimal puzzles with at least that many plain MRV guesses, through the shared driver
   (``puzzles.task.generate_many(..., workers=1, min_guesses=N)``, so a set depends only on
   seed, count and N), saved as ``--out-dir/sudoku9_hard{N}.npz`` with the metadata and
   ``difficulty`` summary ``unmask generate`` writes, plus the extras ``mrv_guesses``,
   ``mrv_backtracks`` and ``mrv_draws``. ``--count 0`` only measures.

Prints markdown tables; ``--json PATH`` writes every figure as JSON.

    python benchmarks/make_hard_sets.py --json docs/results/hard_sets_cpu.json \\
        > docs/results/hard_sets_cpu.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _report import machine_info, write_json

from puzzles.cli import _summary, _version
from puzzles.datasets import Dataset, load_dataset, save_dataset
from puzzles.generate import generate_many
from puzzles.rating import rate
from puzzles.task import get_task

EXTRA_THRESHOLD = 1000  # also priced from the sample, not generated


def distribution(values: np.ndarray, thresholds: list[int]) -> dict:
    """Summary of per-puzzle counts: median, p90, p99, mean, max, share 0, share >= each."""
    v = np.asarray(values, dtype=np.int64)
    out = {
        "n": int(len(v)),
        "median": float(np.median(v)),
        "p90": float(np.percentile(v, 90)),
        "p99": float(np.percentile(v, 99)),
        "mean": float(v.mean()),
        "max": int(v.max()),
        "share_0": float((v == 0).mean()),
    }
    for t in thresholds:
        out[f"share_ge_{t}"] = float((v >= t).mean())
    return out


def rate_all(puzzles: np.ndarray, hidden: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """(guesses (N,), backtracks (N,), CPU seconds) of ``rate`` over ``puzzles`` (N, 9, 9)."""
    guesses = np.zeros(len(puzzles), dtype=np.int64)
    backtracks = np.zeros(len(puzzles), dtype=np.int64)
    t0 = time.process_time()
    for i, p in enumerate(puzzles):
        r = rate(p, hidden=hidden)
        guesses[i], backtracks[i] = r.guesses, r.backtracks
    return guesses, backtracks, time.process_time() - t0


def rated(name: str, puzzles: np.ndarray, thresholds: list[int]) -> dict:
    """Plain and hidden-singles ratings of ``puzzles``, with CPU time per puzzle."""
    print(f"rating {name} ({len(puzzles)} puzzles) ...", file=sys.stderr)
    plain, backtracks, plain_s = rate_all(puzzles, hidden=False)
    hidden, _, hidden_s = rate_all(puzzles, hidden=True)
    return {
        "name": name,
        "count": int(len(puzzles)),
        "plain_guesses": distribution(plain, thresholds),
        "plain_backtracks": distribution(backtracks, thresholds),
        "hidden_guesses": distribution(hidden, thresholds),
        "plain_rate_cpu_s": plain_s,
        "plain_puzzles_per_s": len(puzzles) / plain_s,
        "hidden_puzzles_per_s": len(puzzles) / hidden_s,
        "_plain": plain,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=2000, help="fresh puzzles to measure (2000)")
    ap.add_argument("--sample-seed", type=int, default=9300, help="their seed (9300)")
    ap.add_argument(
        "--sudoku17",
        default="benchmarks/data/sudoku17_2000.txt",
        help="17-clue puzzles to rate (default: the shipped 2,000)",
    )
    ap.add_argument(
        "--sudoku17-count", type=int, default=None, help="rate only the first N (0 skips)"
    )
    ap.add_argument(
        "--min-guesses", type=int, nargs="+", default=[20, 100], help="thresholds (20 100)"
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[9301, 9302], help="one per threshold")
    ap.add_argument("--count", type=int, default=1000, help="puzzles per set (1000; 0: none)")
    ap.add_argument("--out-dir", default="benchmarks/data", help="where the sets go")
    ap.add_argument("--json", metavar="PATH", help="also write every figure to PATH as JSON")
    args = ap.parse_args(argv)
    if len(args.seeds) != len(args.min_guesses):
        ap.error("give one --seeds value per --min-guesses value")
    thresholds = sorted({*args.min_guesses, EXTRA_THRESHOLD})
    task = get_task("sudoku")
    spec = task.spec(9)

    # 1. measure
    print(f"generating {args.sample} minimal puzzles, seed {args.sample_seed} ...", file=sys.stderr)
    t0 = time.process_time()
    sample, _, _ = generate_many(task, spec, args.sample, args.sample_seed, workers=1)
    gen_per_draw = (time.process_time() - t0) / args.sample
    rows = [rated(f"fresh minimal 9x9, seed {args.sample_seed}", sample, thresholds)]
    plain = rows[0].pop("_plain")
    rate_per_draw = rows[0]["plain_rate_cpu_s"] / args.sample
    cost = {}
    for t in thresholds:
        kept = float((plain >= t).mean())
        per_kept = (gen_per_draw + rate_per_draw) / kept if kept else None
        cost[t] = {"share_kept": kept, "cpu_s_per_kept": per_kept}
    easy = plain == 0
    easy_rate = None
    if easy.any():
        _, _, easy_s = rate_all(sample[easy], hidden=False)
        easy_rate = int(easy.sum()) / easy_s

    # 2. the 17-clue set
    if args.sudoku17_count != 0:
        seventeen = load_dataset(args.sudoku17).puzzles[: args.sudoku17_count]
        rows.append(rated(f"{Path(args.sudoku17).name}", seventeen, thresholds))
        rows[-1].pop("_plain")

    # 3. generate
    sets = []
    for n, seed in zip(args.min_guesses, args.seeds, strict=True):
        if args.count <= 0:
            break
        options = {"clues": None, "min_guesses": n}
        print(
            f"generating {args.count} puzzles with >= {n} guesses, seed {seed} ...", file=sys.stderr
        )
        t0 = time.process_time()
        puzzles, solutions, extra = generate_many(
            task, spec, args.count, seed, workers=1, **options
        )
        cpu = time.process_time() - t0
        meta = {
            "task": task.name,
            "size": spec.size,
            "seed": seed,
            "count": args.count,
            "version": _version(),
            "generator": task.generator_meta(spec, options),
        }
        ds = Dataset(task.name, puzzles, solutions, meta, extra)
        ds.meta["difficulty"] = _summary(ds.extra)
        path = Path(args.out_dir) / f"sudoku9_hard{n}.npz"
        save_dataset(path, ds)
        print(f"wrote {path}", file=sys.stderr)
        row = rated(f"{path.name} (>= {n}, seed {seed})", puzzles, thresholds)
        assert np.array_equal(row.pop("_plain"), extra["mrv_guesses"])  # the stored rating
        rows.append(row)
        draws = int(extra["mrv_draws"].sum())
        sets.append(
            {
                "path": str(path),
                "min_guesses": n,
                "seed": seed,
                "count": args.count,
                "draws": draws,
                "share_kept": args.count / draws,
                "cpu_s": cpu,
                "cpu_s_per_kept": cpu / args.count,
            }
        )

    # tables
    print("Plain MRV rating (naked singles only; guesses = values tried at branch nodes) and the")
    print("same with hidden singles. p90/p99: numpy linear interpolation.\n")
    shares = " | ".join(f"plain >= {t}" for t in thresholds)
    print(
        f"| puzzles | n | plain guesses median / p90 / p99 / max | plain backtracks median | "
        f"plain = 0 | {shares} | hidden guesses median / p90 / max | hidden = 0 | "
        "plain rated/s |"
    )
    print("|---|---:|---:|---:|---:|" + "---:|" * len(thresholds) + "---:|---:|---:|")
    for r in rows:
        p, b, h = r["plain_guesses"], r["plain_backtracks"], r["hidden_guesses"]
        cells = " | ".join(f"{100 * p[f'share_ge_{t}']:.1f}%" for t in thresholds)
        print(
            f"| {r['name']} | {r['count']} | {p['median']:g} / {p['p90']:g} / {p['p99']:g} / "
            f"{p['max']} | {b['median']:g} | {100 * p['share_0']:.1f}% | {cells} | "
            f"{h['median']:g} / {h['p90']:g} / {h['max']} | {100 * h['share_0']:.1f}% | "
            f"{r['plain_puzzles_per_s']:,.0f} |"
        )
    easy_text = "-" if easy_rate is None else f"{easy_rate:,.0f} puzzles/s"
    print(
        f"\nFresh sample: generating {1e3 * gen_per_draw:.2f} ms and plain rating "
        f"{1e3 * rate_per_draw:.2f} ms CPU per draw; plain rating of its {int(easy.sum())} "
        f"zero-guess puzzles: {easy_text}.\n"
    )
    print("| kept when plain guesses >= | share of draws | expected CPU s per kept puzzle |")
    print("|---:|---:|---:|")
    for t, c in cost.items():
        per = "-" if c["cpu_s_per_kept"] is None else f"{c['cpu_s_per_kept']:.4f}"
        print(f"| {t} | {100 * c['share_kept']:.2f}% | {per} |")
    if sets:
        print("\n| set | min guesses | seed | puzzles | draws | kept | CPU s | CPU s per kept |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for s in sets:
            print(
                f"| {s['path']} | {s['min_guesses']} | {s['seed']} | {s['count']} | "
                f"{s['draws']} | {100 * s['share_kept']:.1f}% | {s['cpu_s']:.1f} | "
                f"{s['cpu_s_per_kept']:.4f} |"
            )
    if args.json:
        report = {
            "benchmark": "make_hard_sets",
            "command": " ".join(
                [
                    "python",
                    "benchmarks/make_hard_sets.py",
                    *(argv if argv is not None else sys.argv[1:]),
                ]
            ),
            "rating": "puzzles.rating.rate: plain MRV (naked singles), ascending digits, "
            "guesses = values tried at branch nodes; hidden = with hidden singles",
            "sample": {
                "count": args.sample,
                "seed": args.sample_seed,
                "generate_cpu_s_per_draw": gen_per_draw,
                "plain_rate_cpu_s_per_draw": rate_per_draw,
                "zero_guess_plain_puzzles_per_s": easy_rate,
            },
            "cost_per_kept": {str(t): c for t, c in cost.items()},
            "rows": rows,
            "sets": sets,
            "machine": machine_info(),
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
