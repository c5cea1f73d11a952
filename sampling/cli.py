"""``unmask solve`` and ``unmask bench``: the sampling package's subcommands."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from puzzles.argtypes import nonneg_float, nonneg_int, number, positive_int
from puzzles.atomic import check_outputs, write_files
from puzzles.errors import UnmaskError
from puzzles.task import get_task, task_names, tasks
from sampling.loop import Sampler
from sampling.samplers import SAMPLERS
from sampling.search import DEFAULT_MAX_NFE
from sampling.search import MODES as SEARCH_MODES
from sampling.specs import make_sampler, parse_sampler_specs
from sampling.stats import PROXIES

fraction = number(0.0, 1.0, low_open=True)  # tau in (0, 1]
positive_temperature = number(0.0, low_open=True)

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
        type=nonneg_float,
        help="eb: entropy budget in nats per pass; larger reveals more cells per pass "
        "(default 0.01)",
    )
    g.add_argument(
        "--proxy", choices=PROXIES, help="eb/topk: error proxy that orders cells (default entropy)"
    )
    g.add_argument(
        "--k", type=positive_int, help="topk/random: cells revealed per pass (default 1)"
    )
    g.add_argument(
        "--tau", type=fraction, help="threshold: confidence threshold in (0, 1] (default 0.9)"
    )
    g.add_argument(
        "--block", type=positive_int, help="dus: cells per block (default: all masked cells)"
    )
    g.add_argument(
        "--two-d",
        dest="two_d",
        action="store_true",
        default=None,
        help="dus: dilate over rows and columns of the grid instead of the row-major order",
    )
    add_temperature_seed(g)
    add_search_args(p)


def add_search_args(p: argparse.ArgumentParser, *, several: bool = False) -> None:
    """--constrain, --propagate, --search (one mode, or with ``several`` a list of modes), --branch-entropy,
    --max-nfe: the puzzle's rules inside the sampling loop."""
    g = p.add_argument_group("the puzzle's rules inside the loop (off by default: the model alone)")
    g.add_argument(
        "--constrain",
        action="store_true",
        help="give probability 0 to the values the puzzle's rules already rule out (a digit "
        "a peer holds, a path cell off every shortest path) before the error proxies are "
        "computed: a forced cell gets entropy 0 and is revealed in that pass",
    )
    g.add_argument(
        "--propagate",
        action="store_true",
        help="--constrain, and before every forward pass fill the cells the rules force (one "
        "value left), again until none is (no forward pass, no NFE), so the model sees them. "
        "The rules alone complete easy Sudokus and every perfect maze (NFE 0): a solving aid, "
        "not a measure of the model",
    )
    modes = ("none", *SEARCH_MODES)
    if several:
        g.add_argument(
            "--search",
            nargs="+",
            choices=modes,
            default=["none"],
            metavar="MODE",
            help="one row per sampler and mode: none (the sampler alone), backtrack (depth-first "
            "search over the sampler's guesses, undone on a broken rule), remask (mask the "
            "culprit again and ban its value); e.g. --search none backtrack (default: none)",
        )
    else:
        g.add_argument(
            "--search",
            choices=modes,
            default="none",
            help="none (default), backtrack (depth-first search over the sampler's guesses, "
            "undone when a rule breaks or the validator refuses the answer) or remask",
        )
    g.add_argument(
        "--branch-entropy",
        type=nonneg_float,
        default=None,
        metavar="NATS",
        help="backtrack: a cell revealed with more entropy than this becomes a branch point "
        "(default: the family's, measured on its held-out sets: "
        + ", ".join(f"{t.name} {t.search_branch_entropy:g}" for t in tasks())
        + "; 0 makes the search complete)",
    )
    g.add_argument(
        "--max-nfe",
        type=positive_int,
        default=DEFAULT_MAX_NFE,
        metavar="N",
        help=f"search: forward passes per puzzle before it counts as failed (default "
        f"{DEFAULT_MAX_NFE})",
    )


def searches_from_args(args) -> list:
    """[Search or None] for the --search modes given (None for "none")."""
    from sampling.search import Search

    modes = args.search if isinstance(args.search, list) else [args.search]
    return [
        None if mode == "none" else Search(mode, branch_entropy(args), args.max_nfe)
        for mode in dict.fromkeys(modes)
    ]


def branch_entropy(args) -> float:
    """--branch-entropy, or the family's measured default."""
    if args.branch_entropy is not None:
        return args.branch_entropy
    return get_task(args.task).search_branch_entropy


def add_temperature_seed(g) -> None:
    g.add_argument(
        "--temperature",
        type=nonneg_float,
        default=0.0,
        help="0 places the most likely value (default); T > 0 draws from softmax(logits/T)",
    )
    g.add_argument(
        "--seed",
        type=nonneg_int,
        default=0,
        help="seed for draws and random orders; the same puzzle and seed give the same answer "
        "in solve, animate and plot (default 0)",
    )


def sampler_flags_given(args) -> list[str]:
    """The sampler flags (as typed, e.g. ``--gamma``) given on the command line."""
    dests = [d for d in ("sampler", *SAMPLER_KNOBS) if getattr(args, d, None) is not None]
    return ["--" + d.replace("_", "-") for d in dests]


def sampler_from_args(args) -> tuple[str, Sampler]:
    """(label, Sampler) from the ``add_sampler_args`` flags; a knob of another sampler is an error.

    The label reads like a ``--samplers`` spec with the defaults filled in (``eb:gamma=0.01,
    proxy=entropy``).
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
    sampler = make_sampler(name, **kwargs)
    label = name + (":" + ",".join(f"{k}={_fmt(v)}" for k, v in kwargs.items()) if kwargs else "")
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
            "exact validator; --stats writes accuracy, NFE and speed as JSON. Output paths are "
            "checked before any work: an output that is an input, or that cannot be written, is "
            "refused."
        ),
    )
    p.add_argument("task", choices=task_names(), help="puzzle kind")
    _add_io(p)
    add_sampler_args(p)
    p.add_argument(
        "--retries",
        type=nonneg_int,
        default=0,
        help="re-sample puzzles whose answer fails the validator up to R times (default 0)",
    )
    p.add_argument(
        "--retry-temperature",
        type=positive_temperature,
        help="temperature of retries, > 0 (default: --temperature if > 0, else 0.5)",
    )
    p.add_argument("--output", required=True, metavar="FILE", help="answers, one per puzzle")
    p.add_argument("--stats", metavar="FILE.json", help="also write accuracy/NFE/speed as JSON")
    p.set_defaults(func=_solve)

    b = sub.add_parser(
        "bench",
        help="compare samplers on the same puzzles (accuracy, NFE, speed)",
        description=(
            "Run each sampler of --samplers on the same puzzles and print a markdown table of "
            "accuracy, mean NFE, speed-up in NFE against top-1 and puzzles per second; with "
            "--out, also write PREFIX.csv and PREFIX.json for plots (`unmask plot bench`)."
        ),
    )
    b.add_argument("task", choices=task_names(), help="puzzle kind")
    _add_io(b)
    b.add_argument(
        "--samplers",
        default=DEFAULT_BENCH_SAMPLERS,
        help="comma-separated sampler specs: 'name:key=value' starts a sampler, a following "
        "'key=value' adds to it, e.g. 'topk:k=1,eb:gamma=0.1,proxy=confidence,dus:two_d=true' "
        f"(default: {DEFAULT_BENCH_SAMPLERS})",
    )
    b.add_argument("--limit", type=positive_int, help="use only the first N puzzles")
    add_temperature_seed(b)
    add_search_args(b, several=True)
    b.add_argument(
        "--out",
        metavar="PREFIX",
        help="also write PREFIX.csv and PREFIX.json (default: print the table only)",
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
        "--batch-size",
        type=positive_int,
        default=256,
        help="puzzles per forward pass (default 256)",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the model compiled in bf16 over bucketed batch sizes (sampling.fast); "
        "default: on with CUDA, off on the CPU",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def machine_name(device) -> str:
    """'NVIDIA H100 80GB HBM3' or 'cpu (2 threads, AMD EPYC ...)'."""
    import platform

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       cpu)  # fmt: skip
    except OSError:
        pass
    return f"cpu ({torch.get_num_threads()} threads, {cpu})"


def input_paths(args) -> dict[str, str]:
    """The files a command reads (--input, its solutions file beside it, --checkpoint), for
    ``check_outputs``."""
    from pathlib import Path

    from puzzles.datasets import solutions_path

    paths = {"--input": args.input}
    sidecar = solutions_path(args.input)
    if Path(args.input).suffix.lower() == ".txt" and sidecar.exists():
        paths["--input (solutions)"] = str(sidecar)
    if getattr(args, "checkpoint", None):
        paths["--checkpoint"] = args.checkpoint
    return paths


def load_inputs(args):
    """(dataset, loaded model, spec, device) for --input/--checkpoint/--device."""
    from puzzles.datasets import load_dataset
    from sampling.solve import load_for, resolve_device

    ds = load_dataset(args.input, task=args.task)
    if len(ds) == 0:
        raise UnmaskError(f"{args.input}: no puzzles")
    device = resolve_device(args.device)
    loaded = load_for(args.checkpoint, ds.spec, device, source=args.input)
    return ds, loaded, loaded.spec, device


def _solve(args) -> int:
    from sampling.solve import solve_puzzles

    _, sampler = sampler_from_args(args)  # knob errors before the model loads
    check_outputs({"--output": args.output, "--stats": args.stats}, input_paths(args))
    ds, loaded, spec, device = load_inputs(args)
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
        constrain=args.constrain,
        propagate=args.propagate,
        search=searches_from_args(args)[0],
        compile=args.compile,
    )
    files = {args.output: ds.family.format_text(report.answers)}
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
            "constrain": args.constrain or args.propagate,
            "propagate": args.propagate,
            "search": None if args.search == "none" else searches_from_args(args)[0].config(),
            "per_puzzle": report.per_puzzle(),
        }
        files[args.stats] = json.dumps(stats, indent=2) + "\n"
    write_files(files)
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
    from sampling.bench import bench_files, markdown_table, run_bench

    samplers = parse_sampler_specs(args.samplers)
    if args.out is not None:
        outputs = {"--out (csv)": f"{args.out}.csv", "--out (json)": f"{args.out}.json"}
        check_outputs(outputs, input_paths(args))
    ds, loaded, spec, device = load_inputs(args)
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
        constrain=args.constrain,
        propagate=args.propagate,
        searches=searches_from_args(args),
        compile=args.compile,
        context={
            "task": args.task,
            "size": ds.size,
            "checkpoint": loaded.path,
            "input": args.input,
            "device": str(device),
            "machine": machine_name(device),
            "dtype": "bfloat16" if device.type == "cuda" else "float32",
            "batch_size": args.batch_size,
        },
    )
    print(f"{args.task} {ds.size}: {len(puzzles)} puzzles, model {loaded.path}, "
          f"{machine_name(device)}\n")  # fmt: skip
    print(markdown_table(rows))
    if args.out is not None:
        files = bench_files(args.out, rows)
        write_files(files)
        print(f"wrote {' and '.join(files)}")
    return 0
