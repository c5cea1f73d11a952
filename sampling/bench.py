"""Compare samplers on the same puzzles: accuracy, NFE, speed-up in NFE, throughput.

``run_bench`` returns one row (a dict) per sampler; ``markdown_table`` prints them and
``write_bench`` writes ``PREFIX.csv`` and ``PREFIX.json`` (a list of the same rows) for plots.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable

import numpy as np

from puzzles.atomic import write_files
from puzzles.errors import UnmaskError
from puzzles.task import TaskSpec
from sampling.options import SolveOptions
from sampling.samplers import SAMPLERS, Sampler
from sampling.solve import forward_fn, resolve_device, solve_puzzles, warm_up
from sampling.specs import parse_sampler_specs

CSV_FIELDS = (
    "sampler",
    "name",
    "family",
    "params",
    "n",
    "solved",
    "accuracy",
    "mean_nfe",
    "median_nfe",
    "speedup_nfe",
    "reference",
    "p90_nfe",
    "max_nfe",
    "solved_at_0_nfe",
    "mean_branch_points",
    "mean_backtracks",
    "forward_calls",
    "validator_in_loop",
    "puzzles_per_second",
    "seconds",
    "mean_unknown_cells",
    "task",
    "size",
    "checkpoint",
    "input",
    "device",
    "machine",
    "dtype",
    "batch_size",
    "temperature",
    "constrain",
    "propagate",
)


def _params(sampler: Sampler) -> dict:
    return {k: v for k, v in sampler.config().items() if k != "name"}


def _reference(rows: list[dict], row: dict) -> int:
    """Index of the single-shot top-1 row (topk with k=1, no search) with the same proxy, else
    any top-1, else 0."""
    top1 = [
        i
        for i, r in enumerate(rows)
        if r["name"] == "topk" and r["params"].get("k") == 1 and not r.get("search")
    ]
    proxy = row["params"].get("proxy")
    same = [i for i in top1 if rows[i]["params"].get("proxy") == proxy]
    return (same or top1 or [0])[0]


def run_bench(
    model: Callable,
    spec: TaskSpec,
    puzzles: np.ndarray,
    runs: list[tuple[str, SolveOptions]],
    *,
    progress: bool = False,
    context: dict | None = None,
) -> list[dict]:
    """Run every (label, options) on the same puzzle boards (N, H, W); no retries.

    Each row: sampler (label, ``+backtrack`` / ``+remask`` for search rows), name, family,
    params, search, validator_in_loop, temperature, seed, rules, n, solved, accuracy,
    mean/median/p90/max NFE,
    speedup_nfe (reference top-1 mean NFE / this mean NFE), reference, puzzles_per_second,
    seconds, mean_unknown_cells (cells to fill per puzzle), timing, and the entries of
    ``context`` (task, checkpoint, input, ...).

    Timing: one untimed forward pass warms the model up before the first row; on CUDA every
    row also runs once untimed on its first ``min(batch_size, 64)`` puzzles (kernels, compiled
    shapes), so no row pays another's start-up.
    """
    if not runs:
        return []
    first = runs[0][1]
    device = resolve_device(first.device)
    unknown = float(spec.unknown_mask(puzzles).sum(1).mean()) if len(puzzles) else 0.0
    warm_up(model, spec, device, first.batch_size, first.compile)
    per_row_warm_up = device.type == "cuda"
    timing = "after a warm-up pass" + (" and an untimed run of each row" if per_row_warm_up else "")
    compiled = hasattr(forward_fn(model, device, first.compile), "buckets_seen")
    rows = []
    for label, opts in runs:
        opts = dataclasses.replace(opts, retries=0)
        if per_row_warm_up:
            solve_puzzles(model, spec, puzzles[: min(opts.batch_size, 64)], opts)
        report = solve_puzzles(model, spec, puzzles, opts, progress=progress)
        row = _row(label, opts, spec, report.summary(), unknown)
        rows.append(row | {"timing": timing, "compiled": compiled, **(context or {})})
    for row in rows:
        ref = rows[_reference(rows, row)]
        row["reference"] = ref["sampler"]
        row["speedup_nfe"] = ref["mean_nfe"] / row["mean_nfe"] if row["mean_nfe"] > 0 else None
    return rows


_SUMMARY_KEYS = ("n", "solved", "accuracy", "mean_nfe", "median_nfe", "p90_nfe", "max_nfe",
                 "solved_at_0_nfe", "mean_branch_points", "mean_backtracks", "forward_calls",
                 "puzzles_per_second", "seconds")  # fmt: skip


def _row(label: str, opts: SolveOptions, spec: TaskSpec, summary: dict, unknown: float) -> dict:
    """One bench row (before the reference and speed-up are known); ``unknown``: the mean
    number of cells to fill per puzzle."""
    sampler, mode = opts.sampler, None if opts.search == "none" else opts.search
    return {
        "sampler": label if mode is None else f"{label}+{mode}",
        "name": sampler.name,
        "family": sampler.family if mode is None else f"{sampler.family}+{mode}",
        "params": _params(sampler),
        "search": opts.search_config(spec.task),
        "validator_in_loop": mode is not None or opts.rules,
        **{k: summary[k] for k in _SUMMARY_KEYS},
        "mean_unknown_cells": unknown,
        "temperature": opts.temperature,
        "seed": opts.seed,
        "constrain": opts.rules,
        "propagate": opts.propagate,
    }


def row_options(row: dict, base: SolveOptions) -> tuple[str, SolveOptions]:
    """The (label, options) a bench row was made with, over ``base`` (device, batch size, and
    the seed where the row does not say): its sampler (``name`` and ``params``, else the label's
    spec), search (mode, branch entropy, budget), temperature, seed and rules. The label is the
    sampler's, without a ``+mode`` suffix. ValueError naming what the row holds that no sampler
    takes."""
    search = row.get("search") if isinstance(row.get("search"), dict) else None
    label = str(row["sampler"])
    if search is not None:
        label = label.removesuffix(f"+{search.get('mode')}")
    name, params = row.get("name"), row.get("params")
    if name in SAMPLERS and isinstance(params, dict):
        try:
            sampler = SAMPLERS[name](**params)
        except (TypeError, ValueError) as err:
            raise ValueError(f"sampler {label!r}: {err}") from None
    else:
        try:
            ((_, sampler),) = parse_sampler_specs(label)
        except (UnmaskError, ValueError) as err:
            raise ValueError(f"sampler {label!r}: {err}") from None
    values = {"sampler": sampler, "temperature": float(row.get("temperature") or 0.0),
              "seed": int(row.get("seed", base.seed)),
              "constrain": bool(row.get("constrain")), "propagate": bool(row.get("propagate"))}  # fmt: skip
    if search is not None:
        values.update(search=search.get("mode"), branch_entropy=search.get("branch_entropy"),
                      max_nfe=search.get("max_nfe") or base.max_nfe)  # fmt: skip
    try:
        return label, dataclasses.replace(base, **values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"sampler {label!r}: {err}") from None


def markdown_table(rows: list[dict]) -> str:
    """The bench rows as a markdown table, with the mean number of cells to fill per puzzle."""
    head = ["sampler", "accuracy", "mean NFE", "median NFE", "p90 / max NFE", "NFE speed-up",
            "puzzles/s", "cells to fill"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        speed = "-" if r["speedup_nfe"] is None else f"{r['speedup_nfe']:.2f}x"
        cells = [
            f"`{r['sampler']}`",
            f"{percent(r['solved'], r['n'])} ({r['solved']}/{r['n']}{rules_alone(r)})",
            f"{r['mean_nfe']:.2f}",
            f"{r['median_nfe']:g}",
            f"{r.get('p90_nfe', r['median_nfe']):g} / {r.get('max_nfe', '-')}",
            speed,
            f"{r['puzzles_per_second']:.1f}",
        ]
        cells.append(f"{r['mean_unknown_cells']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    refs = sorted({r["reference"] for r in rows})
    note = (
        f"NFE speed-up is against `{refs[0]}`."
        if len(refs) == 1
        else ("NFE speed-up is against top-1 with the same error proxy.")
    )
    if any(r.get("validator_in_loop") for r in rows):
        note += (
            " Rows with `+backtrack` or `+remask` (and every row with --constrain or "
            "--propagate) use the puzzle's rules inside the loop; the others are the model "
            "alone."
        )
    if any(r.get("propagate") for r in rows):
        note += (
            " With --propagate the cells the rules force are filled without a forward pass; "
            "puzzles they complete alone count as solved at 0 NFE."
        )
    if rows and rows[0].get("timing"):
        note += f" Timed {rows[0]['timing']}."
    return "\n".join(lines) + "\n\n" + note + "\n"


def percent(solved: int, n: int) -> str:
    """'82.0%'; never rounds a failure up to 100% (1999/2000 is '99.95%')."""
    if not n:
        return "-"
    value, digits = 100 * solved / n, 1
    while solved < n and f"{value:.{digits}f}".startswith("100"):
        digits += 1
    return f"{value:.{digits}f}%"


def rules_alone(row: dict) -> str:
    """'; 853 by the rules alone' for a row with puzzles solved at 0 NFE, else ''."""
    k = row.get("solved_at_0_nfe") or 0
    return f"; {k} by the rules alone" if k else ""


def bench_files(prefix: str, rows: list[dict]) -> dict[str, str]:
    """{PREFIX.csv: text, PREFIX.json: text} for ``write_files`` (written all-or-nothing)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        flat = dict(r)
        flat["params"] = ";".join(f"{k}={v}" for k, v in r["params"].items() if v is not None)
        writer.writerow(flat)
    return {f"{prefix}.csv": buf.getvalue(), f"{prefix}.json": json.dumps(rows, indent=2) + "\n"}


def write_bench(prefix: str, rows: list[dict]) -> tuple[str, str]:
    """Write PREFIX.csv and PREFIX.json (all-or-nothing); returns their paths."""
    files = bench_files(prefix, rows)
    write_files(files)
    csv_path, json_path = files
    return csv_path, json_path
