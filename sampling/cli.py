"""``unmask solve`` and ``unmask bench``: the sampling package's subcommands.

Every flag is made from a declaration: the inputs (``Inputs``), the solve options
(``sampling.options.SolveOptions``), the sampler's knobs (each sampler class), and each
command's own (``SolveOutputs``, ``BenchRun``). The handlers build one ``SolveOptions`` from
them (``options_from_args``) and hand it down whole. ``--print-config`` prints the resolved
options; ``--config FILE`` reads them back (flags typed on the command line override it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass

import numpy as np

from puzzles.argtypes import positive_int
from puzzles.atomic import check_outputs, write_files
from puzzles.errors import UnmaskError
from puzzles.options import (
    add_command,
    add_flags,
    build,
    config_json,
    given,
    option,
    read_config,
    to_plain,
)
from sampling.options import SolveOptions
from sampling.search import MODES as SEARCH_MODES
from sampling.specs import add_sampler_flags, parse_sampler_specs, sampler_from_args

DEFAULT_BENCH_SAMPLERS = (
    "topk:k=1,eb:gamma=0.01,eb:gamma=0.1,eb:gamma=1,threshold:tau=0.9,random:k=1,dus,dus:two_d=true"
)


def task_names() -> tuple[str, ...]:
    """The registered families (read when a parser is built)."""
    from puzzles.task import task_names as names

    return names()


@dataclass(frozen=True, kw_only=True)
class Inputs:
    """What every command that runs a model reads."""

    task: str = option(help="puzzle kind", flag=None, choices=task_names)
    input: str = option(required=True, metavar="FILE",
                        help="puzzles: .txt, .csv (Sudoku) or .npz, as `unmask generate` writes")  # fmt: skip
    checkpoint: str | None = option(
        None, metavar="PATH", help="model file or training folder",
        shown="the shipped model for this task and size",
    )  # fmt: skip


def quiet_option():
    """``--quiet``: the commands that show a progress bar."""
    return option(False, help="no progress bar")


@dataclass(frozen=True, kw_only=True)
class SolveOutputs:
    """What ``unmask solve`` writes."""

    output: str = option(required=True, metavar="FILE", help="answers, one per puzzle")
    stats: str | None = option(None, metavar="FILE.json", shown=None,
                               help="also write accuracy/NFE/speed as JSON")  # fmt: skip
    quiet: bool = quiet_option()


@dataclass(frozen=True, kw_only=True)
class BenchRun:
    """What ``unmask bench`` compares, and where it writes."""

    samplers: str = option(
        DEFAULT_BENCH_SAMPLERS,
        help="comma-separated sampler specs: 'name:key=value' starts a sampler, a following "
        "'key=value' adds to it, e.g. 'topk:k=1,eb:gamma=0.1,proxy=confidence,dus:two_d=true'",
    )  # fmt: skip
    limit: int | None = option(None, type=positive_int, metavar="N", shown="all",
                               help="use only the first N puzzles")  # fmt: skip
    search: list[str] = option(
        factory=lambda: ["none"], nargs="+", choices=("none", *SEARCH_MODES), metavar="MODE",
        help="one row per sampler and mode: none (the sampler alone), backtrack (depth-first "
        "search over the sampler's guesses, undone on a broken rule), remask (mask the culprit "
        "again and ban its value); e.g. --search none backtrack",
    )  # fmt: skip
    out: str | None = option(None, metavar="PREFIX", shown="print the table only",
                             help="also write PREFIX.csv and PREFIX.json")  # fmt: skip
    quiet: bool = quiet_option()


# Which SolveOptions fields are not flags of a command (solve has them all).
BENCH_SKIP = ("search", "retries", "retry_temperature")  # bench: --search is a list, no retries
PICTURE_SKIP = ("retries", "retry_temperature", "batch_size", "compile")  # one puzzle, eager


def add_solve_flags(p: argparse.ArgumentParser, *, skip=(), sampler: bool = True) -> None:
    """The sampler flags (``--sampler`` and its knobs) and ``SolveOptions``' flags, grouped."""
    if sampler:
        add_sampler_flags(p.add_argument_group("sampler"))
    rules = ("constrain", "propagate", "search", "branch_entropy", "max_nfe")
    g = p.add_argument_group("the puzzle's rules inside the loop (off by default: the model alone)")
    add_flags(g, SolveOptions, only=[r for r in rules if r not in skip])
    g = p.add_argument_group("sampling and running")
    add_flags(g, SolveOptions, skip=[*rules, *skip])


def check_flags(typed: dict, searches: list[str], retries: int) -> None:
    """Refuse typed flags that would do nothing (one line naming them); ``searches`` and
    ``retries`` are the values in effect (typed, from a config file, or the defaults)."""
    modes = set(searches) - {"none"}
    if "max_nfe" in typed and not modes:
        raise UnmaskError("--max-nfe is the budget of a search: it needs --search backtrack or remask")
    if "branch_entropy" in typed and "backtrack" not in modes:
        raise UnmaskError("--branch-entropy applies to --search backtrack only")
    if "retry_temperature" in typed and not retries:
        raise UnmaskError("--retry-temperature needs --retries R (R >= 1)")


def options_from_args(args: argparse.Namespace, *, section: dict | None = None, **fixed):
    """(label, SolveOptions) from the typed flags over a config section (``--config``) over the
    declared defaults; ``fixed`` are values the command itself decides."""
    section = dict(section or {})
    typed = given(args, SolveOptions)
    values = {**section, **typed}
    check_flags(typed, [values.get("search", "none")], values.get("retries", 0))
    label, sampler = sampler_from_args(args, section.pop("sampler", None))
    opts = build(SolveOptions, {**section, **typed, "sampler": sampler, **fixed})
    return label, opts


def read_sections(args, sections: dict[str, type]) -> dict[str, dict]:
    """The sections of ``--config`` (checked by their options' own parsers), or none."""
    return read_config(args.config, sections) if getattr(args, "config", None) else {}


def _solve_flags(p) -> None:
    add_solve_flags(p)


def _bench_flags(p) -> None:
    add_solve_flags(p, skip=BENCH_SKIP, sampler=False)


def register(sub) -> None:
    """Add ``solve`` and ``bench`` to the ``unmask`` subparsers."""
    add_command(
        sub, "solve", func=_solve, config="solve", flags=[Inputs, _solve_flags, SolveOutputs],
        help="solve puzzles from a file with a trained model and one sampler",
        description="Solve every puzzle in --input with a masked diffusion model and write one "
        "answer per puzzle, in the same order and text format, to --output. Answers are checked "
        "by the exact validator; --stats writes accuracy, NFE and speed as JSON. Output paths "
        "are checked before any work: an output that is an input, or that cannot be written, "
        "is refused.",
    )  # fmt: skip
    add_command(
        sub, "bench", func=_bench, config="bench", flags=[Inputs, BenchRun, _bench_flags],
        help="compare samplers on the same puzzles (accuracy, NFE, speed)",
        description="Run each sampler of --samplers on the same puzzles and print a markdown "
        "table of accuracy, mean NFE, speed-up in NFE against top-1 and puzzles per second; "
        "with --out, also write PREFIX.csv and PREFIX.json for plots (`unmask plot bench`).",
    )  # fmt: skip


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


def input_paths(inputs) -> dict[str, str]:
    """The files a command reads (--input, its solutions file beside it, --checkpoint), for
    ``check_outputs``."""
    from pathlib import Path

    from puzzles.datasets import solutions_path

    paths = {"--input": inputs.input}
    sidecar = solutions_path(inputs.input)
    if Path(inputs.input).suffix.lower() == ".txt" and sidecar.exists():
        paths["--input (solutions)"] = str(sidecar)
    if getattr(inputs, "checkpoint", None):
        paths["--checkpoint"] = inputs.checkpoint
    return paths


def load_inputs(inputs, device_name: str):
    """(dataset, loaded model, spec, device) for an ``Inputs`` and a device."""
    from puzzles.datasets import load_dataset
    from sampling.solve import load_for, resolve_device

    device = resolve_device(device_name)
    ds = load_dataset(inputs.input, task=inputs.task)
    if len(ds) == 0:
        raise UnmaskError(f"{inputs.input}: no puzzles")
    loaded = load_for(inputs.checkpoint, ds.spec, device, source=inputs.input)
    return ds, loaded, loaded.spec, device


def _solve(args) -> int:
    from sampling.solve import solve_puzzles

    inputs, outputs = build(Inputs, given(args, Inputs)), build(SolveOutputs, given(args, SolveOutputs))
    label, opts = options_from_args(args, section=read_sections(args, {"solve": SolveOptions})
                                    .get("solve"))  # fmt: skip
    if args.print_config:
        sys.stdout.write(config_json({"solve": opts}))
        return 0
    check_outputs({"--output": outputs.output, "--stats": outputs.stats}, input_paths(inputs))
    ds, loaded, spec, device = load_inputs(inputs, opts.device)
    report = solve_puzzles(loaded.model, spec, ds.puzzles, opts, progress=not outputs.quiet)
    files = {outputs.output: ds.family.format_text(report.answers)}
    s = report.summary()
    if outputs.stats:
        stats = {
            **s, "task": inputs.task, "size": ds.size, "input": inputs.input,
            "output": outputs.output, "checkpoint": loaded.path, "device": str(device),
            "batch_size": opts.batch_size, "sampler": opts.sampler.config(),
            "temperature": opts.temperature, "seed": opts.seed, "retries": opts.retries,
            "constrain": opts.rules, "propagate": opts.propagate,
            "search": opts.search_config(spec.task), "per_puzzle": report.per_puzzle(),
        }  # fmt: skip
        files[outputs.stats] = json.dumps(stats, indent=2) + "\n"
    write_files(files)
    print(
        f"solved {s['solved']}/{s['n']} ({100 * s['accuracy']:.1f}%) with {opts.sampler!r}; "
        f"mean NFE {s['mean_nfe']:.2f} (median {s['median_nfe']:g}); "
        f"{s['puzzles_per_second']:.1f} puzzles/s on {device}; answers in {outputs.output}"
    )
    failed = [(i, r) for i, r in enumerate(report.reasons) if r is not None]
    for i, reason in failed[:3]:
        print(f"  puzzle {i + 1}: {reason}", file=sys.stderr)
    if len(failed) > 3:
        print(f"  ... and {len(failed) - 3} more", file=sys.stderr)
    return 0


def bench_runs(samplers: list, searches: list[str], opts: SolveOptions) -> list:
    """[(label, SolveOptions)]: every sampler once per search mode, over ``opts``."""
    return [
        (label, dataclasses.replace(opts, sampler=sampler, search=mode))
        for label, sampler in samplers
        for mode in dict.fromkeys(searches)
    ]


def _bench(args) -> int:
    from sampling.bench import bench_files, markdown_table, run_bench

    inputs = build(Inputs, given(args, Inputs))
    config = read_sections(args, {"bench": SolveOptions, "bench_run": BenchRun})
    bench = build(BenchRun, {**config.get("bench_run", {}), **given(args, BenchRun)})
    typed = given(args, SolveOptions, skip=BENCH_SKIP)
    check_flags(typed, bench.search, 0)
    opts = build(SolveOptions, {**config.get("bench", {}), **typed})
    samplers = parse_sampler_specs(bench.samplers)
    if args.print_config:
        plain = to_plain(opts)
        for key in ("sampler", *BENCH_SKIP):
            plain.pop(key)
        run = {"samplers": bench.samplers, "search": bench.search, "limit": bench.limit}
        sys.stdout.write(config_json({"bench": plain, "bench_run": run}))
        return 0
    if bench.out is not None:
        outputs = {"--out (csv)": f"{bench.out}.csv", "--out (json)": f"{bench.out}.json"}
        check_outputs(outputs, input_paths(inputs))
    ds, loaded, spec, device = load_inputs(inputs, opts.device)
    puzzles = ds.puzzles if bench.limit is None else ds.puzzles[: bench.limit]
    context = {
        "task": inputs.task, "size": ds.size, "checkpoint": loaded.path, "input": inputs.input,
        "device": str(device), "machine": machine_name(device),
        "dtype": "bfloat16" if device.type == "cuda" else "float32",
        "batch_size": opts.batch_size,
    }  # fmt: skip
    rows = run_bench(loaded.model, spec, np.asarray(puzzles), bench_runs(samplers, bench.search,
                     opts), progress=not bench.quiet, context=context)  # fmt: skip
    print(f"{inputs.task} {ds.size}: {len(puzzles)} puzzles, model {loaded.path}, "
          f"{machine_name(device)}\n")  # fmt: skip
    print(markdown_table(rows))
    if bench.out is not None:
        files = bench_files(bench.out, rows)
        write_files(files)
        print(f"wrote {' and '.join(files)}")
    return 0
