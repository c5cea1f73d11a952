"""Sudoku generation speed: minimal 9x9 puzzles per second, ours against plain backtracking.

Target (issue 2): at least 10x the puzzles/second of a plain Python backtracking generator that
checks uniqueness after each removal, both measured in the same run.

Rows (all make minimal 9x9 puzzles: a random full grid, then every cell tried once in random
order, a clue removed when the puzzle stays unique):

* ``puzzles.sudoku.generate``: one process;
* backtracking, MRV: baselines written below; a recursive solver over row/column/box bitmasks
  that branches on the blank cell with the fewest candidates and counts solutions to 2, no
  propagation; the full grid by random-order backtracking in row-major order;
* backtracking, naive: the same but branching on the first blank cell (the textbook version);
  very slow, so it usually finishes one or two puzzles in its budget (``--naive-seconds 0``
  skips it);
* ``generate_many`` on all cores (wall-clock rate).

Each single-process row runs for ``--seconds`` of CPU time (whole puzzles: the last one may run
over). "puzzles/s" is per CPU-second, i.e. per core, which stays honest on a machine shared
with other jobs; the wall-clock rate is in the JSON. "ours / row" is our per-core rate divided
by the row's (single-process rows only). Before printing, the first 20 puzzles of each
single-process row are checked untimed with our solver (unique, every clue needed:
``checked_minimal`` in the JSON). Prints a markdown table; ``--json PATH`` also writes every figure as JSON.

    python benchmarks/bench_sudoku_generate.py --seconds 20 --json bench_sudoku.json
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time

import numpy as np
from _report import cpu_seconds, machine_info, write_json

from puzzles import sudoku

TARGET_RATIO = 10.0
FULL = 0x1FF
BOX_OF = [(i // 27) * 3 + (i % 9) // 3 for i in range(81)]


# --- baseline: plain recursive backtracking (no propagation) ------------------------------------


def _count_solutions(board: list[int], limit: int = 2, mrv: bool = True) -> int:
    """Solutions of a flat 9x9 board, counted up to ``limit`` by recursive backtracking."""
    rows, cols, boxes = [0] * 9, [0] * 9, [0] * 9
    blanks = []
    for i, v in enumerate(board):
        if v:
            b = 1 << (v - 1)
            rows[i // 9] |= b
            cols[i % 9] |= b
            boxes[BOX_OF[i]] |= b
        else:
            blanks.append(i)
    count = 0

    def free(i: int) -> int:
        return FULL & ~(rows[i // 9] | cols[i % 9] | boxes[BOX_OF[i]])

    def rec() -> bool:
        nonlocal count
        best, best_mask, best_count = -1, 0, 10
        for i in blanks:
            if board[i]:
                continue
            m = free(i)
            if not mrv:
                best, best_mask = i, m
                break
            k = bin(m).count("1")
            if k < best_count:
                best, best_mask, best_count = i, m, k
                if k <= 1:
                    break
        if best < 0:
            count += 1
            return count >= limit
        r, c, x = best // 9, best % 9, BOX_OF[best]
        m = best_mask
        while m:
            b = m & -m
            m ^= b
            board[best] = b.bit_length()
            rows[r] |= b
            cols[c] |= b
            boxes[x] |= b
            stop = rec()
            board[best] = 0
            rows[r] ^= b
            cols[c] ^= b
            boxes[x] ^= b
            if stop:
                return True
        return False

    rec()
    return count


def _baseline_grid(rnd: random.Random) -> list[int]:
    """A random full grid by backtracking in row-major order, digits in random order."""
    board = [0] * 81
    rows, cols, boxes = [0] * 9, [0] * 9, [0] * 9

    def rec(i: int) -> bool:
        if i == 81:
            return True
        r, c, x = i // 9, i % 9, BOX_OF[i]
        digits = list(range(1, 10))
        rnd.shuffle(digits)
        for d in digits:
            b = 1 << (d - 1)
            if not (rows[r] | cols[c] | boxes[x]) & b:
                board[i] = d
                rows[r] |= b
                cols[c] |= b
                boxes[x] |= b
                if rec(i + 1):
                    return True
                board[i] = 0
                rows[r] ^= b
                cols[c] ^= b
                boxes[x] ^= b
        return False

    rec(0)
    return board


def baseline_generate(rnd: random.Random, mrv: bool = True) -> np.ndarray:
    """Minimal 9x9 puzzle: remove clues in random order, uniqueness checked after each."""
    board = _baseline_grid(rnd)
    order = list(range(81))
    rnd.shuffle(order)
    for i in order:
        v = board[i]
        board[i] = 0
        if _count_solutions(board[:], 2, mrv) != 1:
            board[i] = v
    return np.array(board, dtype=np.int8).reshape(9, 9)


# --- timing ----------------------------------------------------------------------------------


def _run_for(make_one, seconds: float) -> dict:
    """Call ``make_one()`` until ``seconds`` of CPU time are spent (at least once)."""
    per_puzzle, clues, puzzles = [], [], []
    w0, c0 = time.perf_counter(), time.process_time()
    while not per_puzzle or time.process_time() - c0 < seconds:
        t0 = time.process_time()
        puzzle = make_one()
        per_puzzle.append(time.process_time() - t0)
        clues.append(int(np.count_nonzero(puzzle)))
        puzzles.append(puzzle)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {
        "workers": 1,
        "puzzles": len(per_puzzle),
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_per_s": len(per_puzzle) / cpu,
        "wall_per_s": len(per_puzzle) / wall,
        "median_ms": 1e3 * statistics.median(per_puzzle),
        "mean_clues": statistics.mean(clues),
        "_puzzles": puzzles,
    }


def _check_minimal(puzzles: list[np.ndarray], limit: int) -> bool:
    """Untimed sanity check with our solver: unique, and every clue needed."""
    for puzzle in puzzles[:limit]:
        if not sudoku.is_unique(puzzle):
            return False
        for k in np.flatnonzero(puzzle):
            fewer = puzzle.copy()
            fewer.flat[k] = 0
            if sudoku.is_unique(fewer):
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark minimal 9x9 Sudoku generation against plain backtracking."
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="CPU seconds per single-process row (20)"
    )
    parser.add_argument(
        "--naive-seconds",
        type=float,
        default=None,
        help="CPU seconds for the naive baseline (default: --seconds; 0 skips the row)",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="processes for the all-cores row (default: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args(argv)
    workers = args.workers or os.cpu_count() or 1
    naive_seconds = args.seconds if args.naive_seconds is None else args.naive_seconds

    rows = []
    print(f"timing puzzles.sudoku.generate for {args.seconds:g} CPU s ...", file=sys.stderr)
    rng = np.random.default_rng(args.seed)
    ours = _run_for(lambda: sudoku.generate(rng, 3).puzzle, args.seconds)
    rows.append({"row": "puzzles.sudoku.generate", **ours})

    print(f"timing backtracking (MRV) for {args.seconds:g} CPU s ...", file=sys.stderr)
    rnd = random.Random(args.seed)
    rows.append(
        {
            "row": "baseline: backtracking, MRV, count to 2",
            **_run_for(lambda: baseline_generate(rnd, mrv=True), args.seconds),
        }
    )
    if naive_seconds > 0:
        print(f"timing backtracking (naive) for {naive_seconds:g} CPU s ...", file=sys.stderr)
        rnd = random.Random(args.seed)
        rows.append(
            {
                "row": "baseline: backtracking, first blank cell, count to 2",
                **_run_for(lambda: baseline_generate(rnd, mrv=False), naive_seconds),
            }
        )

    count = max(workers * 20, int(ours["cpu_per_s"] * args.seconds * workers))
    print(f"timing generate_many({count}) on {workers} workers ...", file=sys.stderr)
    w0, c0 = time.perf_counter(), cpu_seconds()
    many, _, _ = sudoku.generate_many(count, args.seed, 3, workers=workers, progress=False)
    wall, cpu = time.perf_counter() - w0, cpu_seconds() - c0
    rows.append(
        {
            "row": f"generate_many on {workers} workers",
            "workers": workers,
            "puzzles": count,
            "cpu_s": cpu,
            "wall_s": wall,
            "cpu_per_s": count / cpu,
            "wall_per_s": count / wall,
            "median_ms": None,
            "mean_clues": float(np.count_nonzero(many, axis=(1, 2)).mean()),
        }
    )

    for r in rows:
        puzzles = r.pop("_puzzles", None)
        if puzzles is not None:
            r["checked_minimal"] = _check_minimal(puzzles, 20)
        r["ours_over_row"] = ours["cpu_per_s"] / r["cpu_per_s"]

    print(
        f"\nMinimal 9x9 Sudoku; {args.seconds:g} CPU s per single-process row "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}).\n"
    )
    print(
        "| generator | workers | puzzles | CPU s | wall s | puzzles/s per core | "
        "puzzles/s wall | median ms/puzzle | mean clues | ours / row |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        med = "-" if r["median_ms"] is None else f"{r['median_ms']:,.1f}"
        ratio = "-" if r["workers"] > 1 else f"{r['ours_over_row']:,.1f}x"
        print(
            f"| {r['row']} | {r['workers']} | {r['puzzles']} | {r['cpu_s']:.1f} | "
            f"{r['wall_s']:.1f} | {r['cpu_per_s']:,.2f} | {r['wall_per_s']:,.2f} | {med} | "
            f"{r['mean_clues']:.1f} | {ratio} |"
        )
    mrv_ratio = rows[1]["ours_over_row"]
    verdict = "meets" if mrv_ratio >= TARGET_RATIO else "misses"
    print(
        f"\nOurs vs the MRV backtracking baseline: {mrv_ratio:.1f}x per core "
        f"({verdict} the {TARGET_RATIO:g}x target)."
    )
    if args.json:
        report = {
            "benchmark": "sudoku_generate",
            "command": " ".join(
                [
                    "python",
                    "benchmarks/bench_sudoku_generate.py",
                    *(argv if argv is not None else sys.argv[1:]),
                ]
            ),
            "seconds": args.seconds,
            "seed": args.seed,
            "target_ratio": TARGET_RATIO,
            "machine": machine_info(),
            "rows": rows,
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
