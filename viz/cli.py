"""Subcommands owned by the viz package: ``unmask animate`` and ``unmask plot order|bench|training``.

``animate`` and ``plot order`` load one puzzle and a model through ``sampling`` (the loader that
checks the model against the grid, and ``trace_puzzle``, which returns one ``SampleResult`` per
sampler) and draw those traces; viz has no sampling loop of its own. Heavy imports (torch,
matplotlib) happen inside the handlers so ``unmask --help`` stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from puzzles.argtypes import int_at_least, nonneg_int, number
from puzzles.atomic import check_outputs
from puzzles.errors import UnmaskError
from puzzles.options import add_command, build, given, option
from sampling.cli import (
    PICTURE_SKIP,
    Inputs,
    add_solve_flags,
    options_from_args,
    quiet_option,
    task_names,
)
from sampling.specs import sampler_flags_given
from viz.trace import COLORS


@dataclass(frozen=True, kw_only=True)
class OnePuzzle(Inputs):
    """The puzzle a picture shows (``--index`` of ``--input``) and the model that solves it."""

    index: int = option(0, type=nonneg_int, metavar="I",
                        help="which puzzle of the file to draw, 0-based")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class OrderPuzzle(OnePuzzle):
    """``plot order``: the task may be left out (inferred from the file)."""

    task: str | None = option(None, help="puzzle kind", flag=None, choices=task_names,
                              nargs="?", shown="inferred from the file")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Animation:
    """What ``unmask animate`` draws and writes."""

    compare: list[str] | None = option(
        None, nargs="+", metavar="SPEC", shown=None,
        help='samplers side by side, e.g. --compare "topk:k=1" "eb:gamma=0.01" (replaces '
        "--sampler and its knobs; --temperature and --seed still apply)",
    )  # fmt: skip
    color: str = option(
        "entropy", choices=COLORS,
        help="what a revealed cell's colour shows: entropy (nats) or probability of the placed "
        "value, both at reveal",
    )  # fmt: skip
    fps: float = option(4.0, type=number(0.0, 120.0, low_open=True), help="frames per second")
    hold_frames: int = option(4, type=int_at_least(0, 1000),
                              help="extra frames showing the finished board at the end")  # fmt: skip
    out: str = option(required=True, metavar="FILE",
                      help="FILE.gif (always available) or FILE.mp4 (needs ffmpeg on PATH)")  # fmt: skip
    quiet: bool = quiet_option()


@dataclass(frozen=True, kw_only=True)
class Figure:
    """Where a figure goes."""

    out: str = option(required=True, metavar="FILE", help="FILE.png, .svg or .pdf")


@dataclass(frozen=True, kw_only=True)
class BenchFigure:
    """``plot bench``: bench JSON files in, one figure out."""

    results: list[str] = option(help="bench JSON file(s)", flag=None, nargs="+",
                                metavar="RESULTS.json")  # fmt: skip
    out: str = option(required=True, metavar="FILE", help="FILE.png, .svg or .pdf")
    title: str | None = option(None, help="figure title", shown="a description of the axes")


@dataclass(frozen=True, kw_only=True)
class TrainingFigure:
    """``plot training``: a training folder in, one figure out."""

    dir: str = option(help="training output folder", flag=None, metavar="DIR")
    out: str | None = option(None, metavar="FILE", help="FILE.png, .svg or .pdf",
                             shown="DIR/training.png")  # fmt: skip


def _picture_flags(p) -> None:
    add_solve_flags(p, skip=PICTURE_SKIP)


def register(sub) -> None:
    """Add ``animate`` and ``plot`` to the ``unmask`` subparsers."""
    add_command(
        sub, "animate", func=cmd_animate, flags=[OnePuzzle, _picture_flags, Animation],
        help="animate the order in which a model unmasks one puzzle (GIF or MP4)",
        description="Solve one puzzle with a model and draw one frame per forward pass: givens "
        "in bold on grey, each revealed cell coloured by its entropy (or confidence) at reveal, "
        "the cells revealed in that pass outlined. With --compare, one panel per sampler on a "
        "shared timeline (a sampler that finishes early holds its last frame).",
    )  # fmt: skip
    plot = sub.add_parser(
        "plot",
        help="static figures: reveal order, accuracy vs NFE, training curves",
        description="Static figures (PNG, SVG or PDF by the --out suffix).",
    )
    kinds = plot.add_subparsers(dest="figure", metavar="FIGURE", required=True)
    add_command(
        kinds, "order", func=cmd_plot_order, flags=[OrderPuzzle, _picture_flags, Figure],
        help="heatmap of the forward pass that revealed each cell of one puzzle",
        description="Solve one puzzle and draw, for every cell, the forward pass that revealed "
        "it (givens grey), with a bar chart of cells revealed per pass.",
    )  # fmt: skip
    add_command(
        kinds, "bench", func=cmd_plot_bench, flags=[BenchFigure],
        help="accuracy against mean NFE from `unmask bench` JSON files",
        description="Accuracy (%% of puzzles solved) against mean forward passes (log axis) for "
        "every sampler row of one or more `unmask bench` JSON outputs: one line per sampler "
        "family (gamma or k sweeps joined in NFE order), the Pareto front dashed.",
    )  # fmt: skip
    add_command(
        kinds, "training", func=cmd_plot_training, flags=[TrainingFigure],
        help="loss and validation solve rate from `unmask train` logs",
        description="Loss and validation solve rate against the training step, read from the "
        "Lightning CSV logs (every metrics.csv below DIR; columns named with 'loss' and "
        "'solve').",
    )  # fmt: skip


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


def picture_runs(args) -> list[tuple[str, object]]:
    """[(label, SolveOptions)] of a picture: the one sampler of the flags, or with --compare
    one per spec (then the sampler flags are refused); the model runs eagerly."""
    import dataclasses

    label, opts = options_from_args(args, compile=False)
    compare = getattr(args, "compare", None)
    if not compare:
        return [(label, opts)]
    typed = sampler_flags_given(args)
    if typed:
        raise UnmaskError(
            f"{typed[0]} does not combine with --compare; put knobs in each spec, "
            'e.g. --compare "topk:k=1" "eb:gamma=0.1"'
        )
    return [(lab, dataclasses.replace(opts, sampler=s)) for lab, s in samplers_from_compare(compare)]


def traces_for(pick: OnePuzzle, spec, board, runs, record: bool | str = True):
    """Run each (label, SolveOptions) once on the puzzle (``sampling.solve.trace_puzzle``).

    Returns ([RowTrace], [outcome text], model path, [SampleResult]); the outcome comes from the
    exact validator: "valid answer" or "invalid: <reason>".
    """
    from sampling.solve import load_for, resolve_device, trace_puzzle
    from viz.trace import row_trace

    device = resolve_device(runs[0][1].device)
    loaded = load_for(pick.checkpoint, spec, device, source=pick.input)
    results = trace_puzzle(loaded.model, spec, board, runs, index=pick.index, record=record)
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

    pick, anim = build(OnePuzzle, given(args, OnePuzzle)), build(Animation, given(args, Animation))
    out = Path(anim.out)
    if out.suffix.lower() not in FORMATS:
        raise UnmaskError(f"--out {out}: animations are written as .gif or .mp4")
    runs = picture_runs(args)
    check_outputs({"--out": out}, _inputs(pick))
    spec, board, ds = load_puzzle(pick.input, pick.task, pick.index)
    traces, outcomes, model_path = traces_for(pick, spec, board, runs)
    title = f"{_puzzle_title(spec, pick.input, pick.index)} · model {Path(model_path).name}"
    labels = [label for label, _ in runs]
    info = write_animation(spec, traces, labels, out, color=anim.color, fps=anim.fps,
                           hold_frames=anim.hold_frames, title=title, outcomes=outcomes,
                           progress=not anim.quiet)  # fmt: skip
    nfes = ", ".join(
        f"{label} NFE {t.nfe} ({o})" for label, t, o in zip(labels, traces, outcomes, strict=True)
    )
    print(f"wrote {info.path} ({info.num_frames} frames at {anim.fps:g} fps; {nfes})")
    return 0


def cmd_plot_order(args) -> int:
    from viz.plots import FIGURE_FORMATS, order_figure, save_figure

    pick, fig_out = build(OrderPuzzle, given(args, OrderPuzzle)), build(Figure, given(args, Figure))
    if Path(fig_out.out).suffix.lower() not in FIGURE_FORMATS:
        raise UnmaskError(f"--out {fig_out.out}: figures are written as .png, .svg or .pdf")
    runs = picture_runs(args)
    check_outputs({"--out": fig_out.out}, _inputs(pick))
    spec, board, ds = load_puzzle(pick.input, pick.task, pick.index)
    traces, outcomes, model_path = traces_for(pick, spec, board, runs)
    fig = order_figure(spec, traces[0], label=runs[0][0], outcome=outcomes[0],
                       title=f"Reveal order: {_puzzle_title(spec, pick.input, pick.index)}")  # fmt: skip
    path = save_figure(fig, fig_out.out)
    print(f"wrote {path} (NFE {traces[0].nfe}, {outcomes[0]}, model {Path(model_path).name})")
    return 0


def cmd_plot_bench(args) -> int:
    from viz.plots import FIGURE_FORMATS, bench_figure, bench_series, read_bench, save_figure

    args = build(BenchFigure, given(args, BenchFigure))
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

    args = build(TrainingFigure, given(args, TrainingFigure))
    out = Path(args.out) if args.out else Path(args.dir) / "training.png"
    if out.suffix.lower() not in FIGURE_FORMATS:
        raise UnmaskError(f"--out {out}: figures are written as .png, .svg or .pdf")
    logs = read_training_logs(args.dir)
    check_outputs({"--out": out}, {f"log {log.path}": log.path for log in logs})
    path = save_figure(training_figure(logs, root=args.dir), out)
    print(f"wrote {path} (from {', '.join(str(log.path) for log in logs)})")
    return 0


def _inputs(pick) -> dict:
    from sampling.cli import input_paths

    return input_paths(pick)
