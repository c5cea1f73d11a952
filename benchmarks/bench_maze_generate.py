"""Maze generation speed: mazes with solutions per second, per core and on all cores.

Target (issue 2): at least 5,000 10x10 mazes with solutions per second per core.

Rows:
* each generator (and ``mix``) through ``generate_many(..., workers=1)``: one process;
* two non-default settings (``extra_openings``, ``min_path``) that take the BFS solver path;
* a reference: the same DFS grids solved with networkx (``to_graph`` + ``nx.shortest_path``);
* ``generate_many`` on all cores.

Each row is the median of ``--repeats`` runs. "wall/s" is mazes per wall-clock second; "CPU/s"
is mazes per CPU-second (this process plus its worker processes), i.e. per core, which stays
honest on a machine shared with other jobs. Prints a markdown table; ``--json PATH`` also
writes every figure as JSON.

    python benchmarks/bench_maze_generate.py --json bench_maze.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import networkx as nx
import numpy as np
from _report import cpu_seconds, machine_info, write_json

from puzzles import maze
from puzzles.generate import usable_cpus
from puzzles.tokens import GOAL, OPEN, PATH, START

TARGET_PER_CORE = 5000


def _measure(fn, count: int, repeats: int) -> dict:
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), cpu_seconds()
        fn()
        walls.append(count / (time.perf_counter() - t0))
        cpus.append(count / max(cpu_seconds() - c0, 1e-9))
    return {
        "wall_per_s": statistics.median(walls),
        "cpu_per_s": statistics.median(cpus),
        "wall_per_s_runs": walls,
        "cpu_per_s_runs": cpus,
    }


def _networkx_reference(count: int, cells: int, seed: int) -> None:
    """DFS grids from the registry, S and G drawn, solved by networkx on the graph view."""
    rng = np.random.default_rng(seed)
    n = cells * cells
    for _ in range(count):
        grid = maze.GENERATORS["dfs"](rng, cells, cells)
        si, gi = rng.choice(n, size=2, replace=False)
        s = (2 * (si // cells) + 1, 2 * (si % cells) + 1)
        g = (2 * (gi // cells) + 1, 2 * (gi % cells) + 1)
        grid[s], grid[g] = START, GOAL
        solution = grid.copy()
        for node in nx.shortest_path(maze.to_graph(grid), s, g)[1:-1]:
            if solution[node] == OPEN:
                solution[node] = PATH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark maze generation (mazes with solutions per second).",
    )
    parser.add_argument("--cells", type=int, default=10, help="cells per side (default 10)")
    parser.add_argument(
        "--count", type=int, default=3000, help="mazes per single-process run (default 3000)"
    )
    parser.add_argument(
        "--many-count",
        type=int,
        default=40000,
        help="mazes for the all-cores generate_many run (default 40000)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs per row; median reported")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes for the all-cores row (default: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args(argv)

    cells, count, repeats = args.cells, args.count, args.repeats
    workers = args.workers or usable_cpus()
    rows = []

    def many(n, w, **kw):
        return lambda: maze.generate_many(n, args.seed, cells, workers=w, progress=False, **kw)

    settings = [(alg, {"algorithm": alg}) for alg in (*maze.ALGORITHMS, "mix")]
    settings += [
        ("dfs, extra_openings=0.1", {"algorithm": "dfs", "extra_openings": 0.1}),
        ("dfs, min_path=10", {"algorithm": "dfs", "min_path": 10}),
    ]
    for name, kw in settings:
        print(f"timing {name} ...", file=sys.stderr)
        rows.append(
            {
                "row": name,
                "workers": 1,
                "count": count,
                **kw,
                **_measure(many(count, 1, **kw), count, repeats),
            }
        )
    print("timing networkx reference ...", file=sys.stderr)
    ref_count = max(count // 10, 50)
    rows.append(
        {
            "row": "dfs grid + networkx solve (reference)",
            "workers": 1,
            "count": ref_count,
            **_measure(
                lambda: _networkx_reference(ref_count, cells, args.seed), ref_count, repeats
            ),
        }
    )
    print(f"timing generate_many on {workers} workers ...", file=sys.stderr)
    rows.append(
        {
            "row": f"mix, generate_many on {workers} workers",
            "algorithm": "mix",
            "workers": workers,
            "count": args.many_count,
            **_measure(many(args.many_count, workers, algorithm="mix"), args.many_count, repeats),
        }
    )

    print(
        f"\nMazes {cells}x{cells} with solutions; median of {repeats} runs "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}).\n"
    )
    print("| setting | workers | mazes | wall/s | CPU/s (per core) | per core >= 5000 |")
    print("|---|---:|---:|---:|---:|:---:|")
    for r in rows:
        ok = "yes" if r["cpu_per_s"] >= TARGET_PER_CORE else "no"
        if "reference" in r["row"]:
            ok = "-"
        print(
            f"| {r['row']} | {r['workers']} | {r['count']} | {r['wall_per_s']:,.0f} | "
            f"{r['cpu_per_s']:,.0f} | {ok} |"
        )
    if args.json:
        report = {
            "benchmark": "maze_generate",
            "command": " ".join(
                [
                    "python",
                    "benchmarks/bench_maze_generate.py",
                    *(argv if argv is not None else sys.argv[1:]),
                ]
            ),
            "cells": cells,
            "repeats": repeats,
            "seed": args.seed,
            "target_per_core": TARGET_PER_CORE,
            "machine": machine_info(usable_cpus=usable_cpus()),
            "rows": rows,
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
