"""``unmask solve`` and ``unmask bench``: the sampling package's subcommands."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from puzzles.atomic import atomic_write_text
from puzzles.errors import UnmaskError
from puzzles.tokens import TASKS, TaskSpec
from sampling.samplers import PROXIES, SAMPLERS, Sampler, make_sampler, parse_sampler_specs

DEFAULT_BENCH_SAMPLERS = (
    "topk:k=1,eb:gamma=0.01,eb:gamma=0.1,eb:gamma=1,threshold:tau=0.9,random:k=1,dus,dus:two_d=true"
)

# Sampler knob flags: flag dest -> samplers that take it; and the defaults shown in labels.
SAMPLER_KNOBS = {
    "gamma": ("eb",),
    "proxy": ("eb", "topk"),
    "k": ("topk", "random"),
    "tau": ("threshold",),
    "block": ("dus",),
    "two_d": ("dus",),
}
_KNOB_DEFAULTS = {"gamma": 0.01, "proxy": "entropy", "k": 1, "tau": 0.9}


def add_sampler_args(p: argparse.ArgumentParser) -> None:
    """The one-sampler flags shared by ``solve``, ``animate`` and ``plot order``.

    ``--sampler`` and the knobs default to None so a caller can tell "given" from "default"
    (``animate --compare`` refuses them); ``sampler_from_args`` fills in the defaults.
    """
    g = p.add_argument_group("sampler")
    g.add_argument(
        "--sampler",
        choices=tuple(SAMPLERS),
        help="which cells to reveal per forward pass: eb (entropy-bounded, default), topk, random, "
        "threshold (confidence >= tau), dus (fixed dilated plan)",
    )
    g.add_argument(
        "--gamma",
        type=float,
        help="eb: entropy budget in nats per pass; larger reveals more cells per pass "
        "(default 0.01)",
    )
    g.add_argument(
        "--proxy", choices=PROXIES, help="eb/topk: error proxy that orders cells (default entropy)"
    )
    g.add_argument("--k", type=int, help="topk/random: cells revealed per pass (default 1)")
    g.add_argument(
        "--tau", type=float, help="threshold: confidence threshold in (0, 1] (default 0.9)"
    )
    g.add_argument("--block", type=int, help="dus: cells per block (default: all masked cells)")
    g.add_argument(
        "--two-d",
        dest="two_d",
        action="store_true",
        default=None,
        help="dus: dilate over rows and columns of the grid instead of the row-major order",
    )
    g.add_argument(
        "--temperature",
        type=float,
        default=0.0,
        help="0 places the most likely value (default); T > 0 draws from softmax(logits/T)",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for draws and random orders; the same puzzle and seed give the same answer "
        "in solve, animate and plot (default 0)",
    )


def sampler_flags_given(args) -> list[str]:
    """The sampler flags (as typed, e.g. ``--gamma``) given on the command line."""
    dests = [d for d in ("sampler", *SAMPLER_KNOBS) if getattr(args, d, None) is not None]
    return ["--" + d.replace("_", "-") for d in dests]


def sampler_from_args(args, spec: TaskSpec | None = None) -> tuple[str, Sampler]:
    """(label, Sampler) from the ``add_sampler_args`` flags; a knob of another sampler is an error.

    The label reads like a ``--samplers`` spec with the defaults filled in (``eb:gamma=0.01,
    proxy=entropy``); ``spec`` gives the 2-D DUS plan its grid.
    """
    name = args.sampler or "eb"
    kwargs = {}
    for knob, owners in SAMPLER_KNOBS.items():
        value = getattr(args, knob, None)
        if name in owners:
            if value is not None:
                kwargs[knob] = value
            elif knob in _KNOB_DEFAULTS:
                kwargs[knob] = _KNOB_DEFAULTS[knob]
        elif value is not None:
            flag = "--" + knob.replace("_", "-")
            raise UnmaskError(f"{flag} applies to --sampler {' or '.join(owners)}, not {name}")
    shown = dict(kwargs)
    if name == "dus" and kwargs.get("two_d") and spec is not None:
        kwargs.update(height=spec.height, width=spec.width)  # the 2-D plan needs the grid
    sampler = make_sampler(name, **kwargs)
    label = name + (":" + ",".join(f"{k}={_fmt(v)}" for k, v in shown.items()) if shown else "")
    return label, sampler


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def register(sub) -> None:
    """Add ``solve`` and ``bench`` to the ``unmask`` subparsers."""
    p = sub.add_parser(
        "solve",
        help="solve puzzles from a file with a trained model and one sampler",
        description=(
            "Solve every puzzle in --input with a masked diffusion model and write one answer per "
            "puzzle, in the same order and text format, to --output. Answers are checked by the "
            "exact validator; --stats writes accuracy, NFE and speed as JSON."
        ),
    )
    p.add_argument("task", choices=TASKS, help="puzzle kind")
    _add_io(p)
    add_sampler_args(p)
    p.add_argument(
        "--retries",
        type=int,
        default=0,
        help="re-sample puzzles whose answer fails the validator up to R times (default 0)",
    )
    p.add_argument(
        "--retry-temperature",
        type=float,
        help="temperature of retries (default: --temperature if > 0, else 0.5)",
    )
    p.add_argument("--output", required=True, metavar="FILE", help="answers, one per puzzle")
    p.add_argument("--stats", metavar="FILE.json", help="also write accuracy/NFE/speed as JSON")
    p.set_defaults(func=_solve)

    b = sub.add_parser(
        "bench",
        help="compare samplers on the same puzzles (accuracy, NFE, speed)",
        description=(
            "Run each sampler of --samplers on the same puzzles and print a markdown table of "
            "accuracy, mean NFE, speed-up in NFE against top-1 and puzzles per second; write "
            "PREFIX.csv and PREFIX.json for plots (`unmask plot`)."
        ),
    )
    b.add_argument("task", choices=TASKS, help="puzzle kind")
    _add_io(b)
    b.add_argument(
        "--samplers",
        default=DEFAULT_BENCH_SAMPLERS,
        help="comma-separated sampler specs: 'name:key=value' starts a sampler, a following "
        "'key=value' adds to it, e.g. 'topk:k=1,eb:gamma=0.1,proxy=confidence,dus:two_d=true' "
        f"(default: {DEFAULT_BENCH_SAMPLERS})",
    )
    b.add_argument("--limit", type=int, help="use only the first N puzzles")
    b.add_argument("--temperature", type=float, default=0.0, help="draw temperature (default 0)")
    b.add_argument("--seed", type=int, default=0, help="seed for draws and random orders")
    b.add_argument(
        "--out", required=True, metavar="PREFIX", help="write PREFIX.csv and PREFIX.json"
    )
    b.set_defaults(func=_bench)


def _add_io(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input", required=True, metavar="FILE", help="puzzles: .txt, .csv (Sudoku) or .npz"
    )
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="model file or training folder (default: the shipped model for this task and size)",
    )
    p.add_argument(
        "--device", default="auto", help="auto (cuda when available), cpu or cuda (default auto)"
    )
    p.add_argument(
        "--batch-size", type=int, default=256, help="puzzles per forward pass (default 256)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _load(args):
    """(dataset, loaded model, spec, device) for --input/--checkpoint/--device."""
    from models.checkpoint import load_model
    from puzzles.datasets import load_dataset
    from sampling.solve import resolve_device

    if args.batch_size < 1:
        raise UnmaskError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.temperature < 0:
        raise UnmaskError(f"--temperature must be >= 0, got {args.temperature}")
    ds = load_dataset(args.input, task=args.task)
    if len(ds) == 0:
        raise UnmaskError(f"{args.input}: no puzzles")
    device = resolve_device(args.device)
    loaded = load_model(args.checkpoint, task=args.task, size=ds.size, device=device)
    spec: TaskSpec = loaded.spec
    if ds.puzzles.shape[1:] != (spec.height, spec.width):
        raise UnmaskError(
            f"{args.input}: {args.task} grids are {ds.puzzles.shape[1]}x{ds.puzzles.shape[2]} but "
            f"the model {loaded.path} expects {spec.height}x{spec.width}"
        )
    return ds, loaded, spec, device


def _solve(args) -> int:
    from puzzles.formats import write_maze, write_sudoku
    from sampling.solve import solve_puzzles

    sampler_from_args(args)  # knob errors before the model loads
    if args.retries < 0:
        raise UnmaskError(f"--retries must be >= 0, got {args.retries}")
    ds, loaded, spec, device = _load(args)
    _, sampler = sampler_from_args(args, spec)  # with the grid, for the 2-D DUS plan
    report = solve_puzzles(
        loaded.model,
        spec,
        ds.puzzles,
        sampler,
        batch_size=args.batch_size,
        device=device,
        temperature=args.temperature,
        seed=args.seed,
        retries=args.retries,
        retry_temperature=args.retry_temperature,
        progress=not args.quiet,
    )
    (write_sudoku if args.task == "sudoku" else write_maze)(args.output, report.answers)
    s = report.summary()
    if args.stats:
        stats = {
            **s,
            "task": args.task,
            "size": ds.size,
            "input": args.input,
            "output": args.output,
            "checkpoint": loaded.path,
            "device": str(device),
            "batch_size": args.batch_size,
            "sampler": sampler.config(),
            "temperature": args.temperature,
            "seed": args.seed,
            "retries": args.retries,
            "per_puzzle": report.per_puzzle(),
        }
        atomic_write_text(args.stats, json.dumps(stats, indent=2) + "\n")
    print(
        f"solved {s['solved']}/{s['n']} ({100 * s['accuracy']:.1f}%) with {sampler!r}; "
        f"mean NFE {s['mean_nfe']:.2f} (median {s['median_nfe']:g}); "
        f"{s['puzzles_per_second']:.1f} puzzles/s on {device}; answers in {args.output}"
    )
    failed = [(i, r) for i, r in enumerate(report.reasons) if r is not None]
    for i, reason in failed[:3]:
        print(f"  puzzle {i + 1}: {reason}", file=sys.stderr)
    if len(failed) > 3:
        print(f"  ... and {len(failed) - 3} more", file=sys.stderr)
    return 0


def _bench(args) -> int:
    from sampling.bench import markdown_table, run_bench, write_bench

    if args.limit is not None and args.limit < 1:
        raise UnmaskError(f"--limit must be >= 1, got {args.limit}")
    ds, loaded, spec, device = _load(args)
    samplers = parse_sampler_specs(args.samplers, height=spec.height, width=spec.width)
    puzzles = ds.puzzles if args.limit is None else ds.puzzles[: args.limit]
    rows = run_bench(
        loaded.model,
        spec,
        np.asarray(puzzles),
        samplers,
        batch_size=args.batch_size,
        device=device,
        temperature=args.temperature,
        seed=args.seed,
        progress=not args.quiet,
        context={
            "task": args.task,
            "size": ds.size,
            "checkpoint": loaded.path,
            "input": args.input,
            "device": str(device),
            "batch_size": args.batch_size,
        },
    )
    print(f"{args.task} {ds.size}: {len(puzzles)} puzzles, model {loaded.path}, device {device}\n")
    print(markdown_table(rows))
    csv_path, json_path = write_bench(args.out, rows)
    print(f"wrote {csv_path} and {json_path}")
    return 0
