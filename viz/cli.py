"""Subcommands owned by the viz package: ``unmask animate`` and ``unmask plot order|bench|training``.

``animate`` and ``plot order`` load one puzzle and a model through ``sampling`` (the loader that
checks the model against the grid, and ``trace_puzzle``, which returns one ``SampleResult`` per
sampler) and draw those traces; viz has no sampling loop of its own. Heavy imports (torch,
matplotlib) happen inside the handlers so ``unmask --help`` stays quick.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from puzzles.argtypes import nonneg_int, positive_float
from puzzles.atomic import check_outputs
from puzzles.errors import UnmaskError
from puzzles.task import task_names
from sampling.cli import add_sampler_args, sampler_flags_given, sampler_from_args
from viz.trace import COLORS

# --------------------------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------------------------


def _add_puzzle_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input",
        required=True,
        metavar="FILE",
        help="puzzle file (.txt, .csv or .npz, as written by `unmask generate`)",
    )
    p.add_argument(
        "--index",
        type=nonneg_int,
        default=0,
        metavar="I",
        help="which puzzle of the file to draw, 0-based (default: 0)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="model file or training folder (default: the shipped model for this task and size)",
    )
    p.add_argument(
        "--device",
        default="cpu",
        help="where the model runs: auto, cpu or cuda (default: cpu; one puzzle is quick)",
    )


def register(sub) -> None:
    """Add ``animate`` and ``plot`` to the ``unmask`` subparsers."""
    anim = sub.add_parser(
        "animate",
        help="animate the order in which a model unmasks one puzzle (GIF or MP4)",
        description=(
            "Solve one puzzle with a model and draw one frame per forward pass: givens in bold on "
            "grey, each revealed cell coloured by its entropy (or confidence) at reveal, the cells "
            "revealed in that pass outlined. With --compare, one panel per sampler on a shared "
            "timeline (a sampler that finishes early holds its last frame)."
        ),
    )
    anim.add_argument("task", choices=task_names(), help="puzzle kind")
    _add_puzzle_args(anim)
    add_sampler_args(anim)
    anim.add_argument(
        "--compare",
        nargs="+",
        metavar="SPEC",
        help='samplers side by side, e.g. --compare "topk:k=1" "eb:gamma=0.01" (replaces --sampler '
        "and its knobs; --temperature and --seed still apply)",
    )
    anim.add_argument(
        "--color",
        choices=COLORS,
        default="entropy",
        help="what a revealed cell's colour shows: entropy (nats) or probability of the placed "
        "value, both at reveal (default: entropy)",
    )
    anim.add_argument(
        "--fps", type=positive_float, default=4.0, help="frames per second (default: 4)"
    )
    anim.add_argument(
        "--hold-frames",
        type=nonneg_int,
        default=4,
        help="extra frames showing the finished board at the end (default: 4)",
    )
    anim.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="FILE.gif (always available) or FILE.mp4 (needs ffmpeg on PATH)",
    )
    anim.add_argument("--quiet", action="store_true", help="no progress bar")
    anim.set_defaults(func=cmd_animate)

    plot = sub.add_parser(
        "plot",
        help="static figures: reveal order, accuracy vs NFE, training curves",
        description="Static figures (PNG, SVG or PDF by the --out suffix).",
    )
    kinds = plot.add_subparsers(dest="figure", metavar="FIGURE", required=True)

    order = kinds.add_parser(
        "order",
        help="heatmap of the forward pass that revealed each cell of one puzzle",
        description=(
            "Solve one puzzle and draw, for every cell, the forward pass that revealed it "
            "(givens grey), with a bar chart of cells revealed per pass."
        ),
    )
    order.add_argument(
        "task",
        nargs="?",
        choices=task_names(),
        help="puzzle kind (default: inferred from the file)",
    )
    _add_puzzle_args(order)
    add_sampler_args(order)
    order.add_argument("--out", required=True, metavar="FILE", help="FILE.png, .svg or .pdf")
    order.set_defaults(func=cmd_plot_order)

    bench = kinds.add_parser(
        "bench",
        help="accuracy against mean NFE from `unmask bench` JSON files",
        description=(
            "Accuracy (%% of puzzles solved) against mean forward passes (log axis) for every "
            "sampler row of one or more `unmask bench` JSON outputs: one line per sampler family "
            "(gamma or k sweeps joined in NFE order), the Pareto front dashed."
        ),
    )
    bench.add_argument("results", nargs="+", metavar="RESULTS.json", help="bench JSON file(s)")
    bench.add_argument("--out", required=True, metavar="FILE", help="FILE.png, .svg or .pdf")
    bench.add_argument("--title", help="figure title (default: a description of the axes)")
    bench.set_defaults(func=cmd_plot_bench)

    train = kinds.add_parser(
        "training",
        help="loss and validation solve rate from `unmask train` logs",
        description=(
            "Loss and validation solve rate against the training step, read from the Lightning "
            "CSV logs (every metrics.csv below DIR; columns named with 'loss' and 'solve')."
        ),
    )
    train.add_argument("dir", metavar="DIR", help="training output folder")
    train.add_argument(
        "--out", metavar="FILE", help="FILE.png, .svg or .pdf (default: DIR/training.png)"
    )
    train.set_defaults(func=cmd_plot_training)


# --------------------------------------------------------------------------------------------
# Shared: puzzle, model, sampler, trace
# --------------------------------------------------------------------------------------------


def samplers_from_compare(specs: list[str]) -> list:
    """[(label, Sampler)] from --compare specs (each may itself hold several, comma-separated)."""
    from sampling.specs import parse_sampler_specs

    out = []
    for text in specs:
        out.extend(parse_sampler_specs(text))
    return out


def load_puzzle(path: str, task: str | None, index: int):
    """(TaskSpec, puzzle board (H, W), dataset) for puzzle ``index`` of ``path``."""
    from puzzles.datasets import load_dataset

    if not Path(path).exists():
        raise UnmaskError(f"{path}: no such file")
    ds = load_dataset(path, task)
    if len(ds) == 0:
        raise UnmaskError(f"{path}: holds no puzzles")
    if not 0 <= index < len(ds):
        raise UnmaskError(f"{path}: no puzzle #{index} (the file has {len(ds)}, numbered from 0)")
    return ds.spec, ds.puzzles[index], ds


def traces_for(args, spec, board, samplers):
    """Run each (label, sampler) once on the puzzle (``sampling.solve.trace_puzzle``).

    Returns ([RowTrace], [outcome text], model path); the outcome comes from the exact
    validator: "valid answer" or "invalid: <reason>".
    """
    from sampling.cli import searches_from_args
    from sampling.solve import load_for, resolve_device, trace_puzzle
    from viz.trace import row_trace

    device = resolve_device(args.device)
    loaded = load_for(args.checkpoint, spec, device, source=args.input)
    results = trace_puzzle(
        loaded.model, spec, board, samplers, index=args.index, seed=args.seed,
        temperature=args.temperature, device=device, constrain=args.constrain,
        propagate=args.propagate, search=searches_from_args(args)[0],
    )  # fmt: skip
    traces = [row_trace(result, 0) for result, _ in results]
    return traces, [outcome for _, outcome in results], loaded.path


def _puzzle_title(spec, path: str, index: int) -> str:
    from viz.renderers import renderer_for

    return f"{renderer_for(spec).title(spec)}, puzzle #{index} of {Path(path).name}"


# --------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------


def cmd_animate(args) -> int:
    from viz.animate import FORMATS, write_animation

    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise UnmaskError(f"--out {out}: animations are written as .gif or .mp4")
    check_outputs({"--out": out}, _inputs(args))
    spec, board, ds = load_puzzle(args.input, args.task, args.index)
    if args.compare:
        given = sampler_flags_given(args)
        if given:
            flag = given[0]
            raise UnmaskError(
                f"{flag} does not combine with --compare; put knobs in each spec, "
                'e.g. --compare "topk:k=1" "eb:gamma=0.1"'
            )
        samplers = samplers_from_compare(args.compare)
    else:
        samplers = [sampler_from_args(args)]
    traces, outcomes, model_path = traces_for(args, spec, board, samplers)
    title = f"{_puzzle_title(spec, args.input, args.index)} · model {Path(model_path).name}"
    info = write_animation(
        spec,
        traces,
        [label for label, _ in samplers],
        out,
        color=args.color,
        fps=args.fps,
        hold_frames=args.hold_frames,
        title=title,
        outcomes=outcomes,
        progress=not args.quiet,
    )
    nfes = ", ".join(
        f"{label} NFE {t.nfe} ({o})"
        for (label, _), t, o in zip(samplers, traces, outcomes, strict=True)
    )
    print(f"wrote {info.path} ({info.num_frames} frames at {args.fps:g} fps; {nfes})")
    return 0


def cmd_plot_order(args) -> int:
    from viz.plots import FIGURE_FORMATS, order_figure, save_figure

    if Path(args.out).suffix.lower() not in FIGURE_FORMATS:
        raise UnmaskError(f"--out {args.out}: figures are written as .png, .svg or .pdf")
    check_outputs({"--out": args.out}, _inputs(args))
    label, sampler = sampler_from_args(args)
    spec, board, ds = load_puzzle(args.input, args.task, args.index)
    traces, outcomes, model_path = traces_for(args, spec, board, [(label, sampler)])
    fig = order_figure(
        spec,
        traces[0],
        label=label,
        outcome=outcomes[0],
        title=f"Reveal order: {_puzzle_title(spec, args.input, args.index)}",
    )
    path = save_figure(fig, args.out)
    print(f"wrote {path} (NFE {traces[0].nfe}, {outcomes[0]}, model {Path(model_path).name})")
    return 0


def cmd_plot_bench(args) -> int:
    from viz.plots import FIGURE_FORMATS, bench_figure, bench_series, read_bench, save_figure

    if Path(args.out).suffix.lower() not in FIGURE_FORMATS:
        raise UnmaskError(f"--out {args.out}: figures are written as .png, .svg or .pdf")
    check_outputs({"--out": args.out}, {f"RESULTS #{i + 1}": p for i, p in enumerate(args.results)})
    points = read_bench(args.results)
    path = save_figure(bench_figure(points, title=args.title), args.out)
    series = bench_series(points)
    print(f"wrote {path} ({len(points)} samplers in {len(series)} series: {', '.join(series)})")
    return 0


def cmd_plot_training(args) -> int:
    from viz.plots import FIGURE_FORMATS, read_training_logs, save_figure, training_figure

    out = Path(args.out) if args.out else Path(args.dir) / "training.png"
    if out.suffix.lower() not in FIGURE_FORMATS:
        raise UnmaskError(f"--out {out}: figures are written as .png, .svg or .pdf")
    logs = read_training_logs(args.dir)
    check_outputs({"--out": out}, {f"log {log.path}": log.path for log in logs})
    path = save_figure(training_figure(logs, root=args.dir), out)
    print(f"wrote {path} (from {', '.join(str(log.path) for log in logs)})")
    return 0


def _inputs(args) -> dict:
    from sampling.cli import input_paths

    return input_paths(args)
