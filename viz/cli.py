"""Subcommands owned by the viz package: ``unmask animate``, ``unmask view``, ``unmask report``
and ``unmask plot order|bench|training``.

``animate``, ``view`` and ``plot order`` load puzzles and a model through ``sampling`` (the
loader that checks the model against the grid, and ``trace_puzzle``, which returns one
``SampleResult`` per sampler) and draw those traces; ``report`` also asks ``sampling`` to solve
the first puzzles of a bench's input to find each row's failures. viz has no sampling loop of
its own. Heavy imports (torch, matplotlib) happen inside the handlers so ``unmask --help`` stays
quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from puzzles.argtypes import int_at_least, nonneg_int, number, seed_int
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

VIEW_COLORS = (*COLORS, "pass")
PAGE_SUFFIXES = (".html", ".htm")


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


def compare_option(still: str):
    """``--compare SPEC ...``; ``still``: the flags that still apply to every panel."""
    return option(
        None, nargs="+", metavar="SPEC", shown=None,
        help='samplers side by side, e.g. --compare "topk:k=1" "eb:gamma=0.01" (replaces '
        f"--sampler and its knobs; {still} still apply)",
    )  # fmt: skip


def color_option(choices, shows: str):
    return option("entropy", choices=choices, help=f"what a revealed cell's colour shows{shows}")


def html_out_option():
    return option(required=True, metavar="FILE.html",
                  help="one self-contained HTML file (opens from disk, no network)")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Animation:
    """What ``unmask animate`` draws and writes."""

    compare: list[str] | None = compare_option("--temperature and --seed")
    color: str = color_option(COLORS, ": entropy (nats) or probability of the placed value, "
                              "both at reveal")  # fmt: skip
    fps: float = option(4.0, type=number(0.0, 120.0, low_open=True), help="frames per second")
    hold_frames: int = option(4, type=int_at_least(0, 1000),
                              help="extra frames showing the finished board at the end")  # fmt: skip
    out: str = option(required=True, metavar="FILE",
                      help="FILE.gif (always available) or FILE.mp4 (needs ffmpeg on PATH)")  # fmt: skip
    quiet: bool = quiet_option()


@dataclass(frozen=True, kw_only=True)
class ViewPuzzles(Inputs):
    """The puzzles a view shows (``--index`` of ``--input``) and the model that solves them."""

    index: list[int] = option(
        factory=lambda: [0], nargs="+", type=nonneg_int, metavar="I",
        help="which puzzles of the file to show, 0-based (several: a picker on the page), "
        "e.g. --index 0 1 2 or --index $(seq 0 15)",
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ViewPage:
    """What ``unmask view`` shows and writes."""

    compare: list[str] | None = compare_option("--temperature, --seed, the rules and --search")
    color: str = color_option(VIEW_COLORS, " first (the page can switch): entropy (nats) or "
                              "probability of the placed value at reveal, or the pass that "
                              "revealed it")  # fmt: skip
    title: str | None = option(None, help="page title",
                               shown="the puzzles, the file and the model")  # fmt: skip
    out: str = html_out_option()
    quiet: bool = quiet_option()


@dataclass(frozen=True, kw_only=True)
class ReportPage:
    """``unmask report``: bench JSON files in, one HTML page out."""

    results: list[str] = option(help="bench JSON file(s), as `unmask bench --out PREFIX` writes "
                                "PREFIX.json", flag=None, nargs="+", metavar="BENCH.json")  # fmt: skip
    out: str = html_out_option()
    input: str | None = option(
        None, metavar="FILE", shown="the input the bench file names",
        help="puzzles of the embedded views (the bench's own input, or one like it)",
    )  # fmt: skip
    checkpoint: str | None = option(None, metavar="PATH", shown="the model the bench file names",
                                    help="model file or training folder")  # fmt: skip
    scan: int = option(
        16, type=int_at_least(0, 100_000), metavar="N",
        help="solve the first N puzzles of the input with every row of the bench to find its "
        "failures, then embed the views of a few (0: the table and chart alone)",
    )  # fmt: skip
    per_sampler: int = option(2, type=int_at_least(1, 100), metavar="K",
                              help="puzzles embedded per bench row, failures first")  # fmt: skip
    seed: int = option(0, type=seed_int, help="seed of the re-run rows' draws where a bench "
                       "row does not say (older files); matters only at temperature > 0 and for "
                       "random orders")  # fmt: skip
    device: str = option("auto", help="auto (cuda when available), cpu or cuda")
    title: str | None = option(None, help="page title", shown="the benches' task and input")
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
    add_command(
        sub, "view", func=cmd_view, flags=[ViewPuzzles, _picture_flags, ViewPage],
        help="one HTML page that replays how a model solved some puzzles, pass by pass",
        description="Solve puzzles with a model, recording every forward pass, and write one "
        "self-contained HTML file (opens from disk: no server, no network): per puzzle and "
        "sampler the board after every pass (slider, play, arrow keys), each cell's top-3 "
        "values and probabilities at its reveal, the sampler's rule at work on the masked "
        "cells' scores (EB's running sum(H) - max(H) against gamma), a search's backtracks, "
        "the validator's verdict and the first wrong cell. With --compare, samplers side by "
        "side on the same puzzle.",
    )  # fmt: skip
    add_command(
        sub, "report", func=cmd_report, flags=[ReportPage],
        help="one HTML page of `unmask bench` results: table, chart and a few solves",
        description="Read `unmask bench` JSON files and write one self-contained HTML file: "
        "the bench table (click a header to sort), accuracy against mean NFE (hover a point), "
        "and the views of a few puzzles per bench row, failures first: each row re-run on the "
        "first --scan puzzles of its input with the model the bench names, as `unmask view` "
        "shows them.",
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


def load_puzzles(path: str, task: str | None, indices: list[int]):
    """The dataset of ``path``, checked to hold puzzles ``indices``."""
    from puzzles.datasets import load_dataset

    if not Path(path).exists():
        raise UnmaskError(f"{path}: no such file")
    ds = load_dataset(path, task)
    if len(ds) == 0:
        raise UnmaskError(f"{path}: holds no puzzles")
    for index in indices:
        if not 0 <= index < len(ds):
            raise UnmaskError(
                f"{path}: no puzzle #{index} (the file has {len(ds)}, numbered from 0)"
            )
    return ds


def load_puzzle(path: str, task: str | None, index: int):
    """(TaskSpec, puzzle board (H, W), dataset) for puzzle ``index`` of ``path``."""
    ds = load_puzzles(path, task, [index])
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
    return [
        (lab, dataclasses.replace(opts, sampler=s)) for lab, s in samplers_from_compare(compare)
    ]


def traces_for(pick: OnePuzzle, spec, board, runs, record: bool | str = True):
    """Run each (label, SolveOptions) once on the puzzle (``sampling.solve.trace_puzzle``).

    Returns ([RowTrace], [outcome text], model path, [SampleResult]); the outcome comes from the
    exact validator: "valid answer" or "invalid: <reason>".
    """
    from sampling.solve import trace_puzzle
    from viz.trace import row_trace

    loaded = model_for(pick, spec, runs)
    results = trace_puzzle(loaded.model, spec, board, runs, index=pick.index, record=record)
    traces = [row_trace(result, 0) for result, _ in results]
    return traces, [outcome for _, outcome in results], loaded.path


def model_for(inputs: Inputs, spec, runs):
    """The loaded model of ``inputs`` (``--checkpoint``, else the shipped one) for ``spec``, on
    the device of the first run."""
    from sampling.solve import load_for, resolve_device

    device = resolve_device(runs[0][1].device)
    return load_for(inputs.checkpoint, spec, device, source=inputs.input)


def traced_puzzle(model, spec, ds, index: int, runs, source: str, pid: str | None = None):
    """Puzzle ``index`` of dataset ``ds`` solved once by every (label, SolveOptions) of ``runs``
    with every pass recorded (``trace_puzzle(..., record="full")``), as a page's puzzle."""
    from sampling.solve import trace_puzzle
    from viz.payload import puzzle_payload

    board = ds.puzzles[index]
    results = trace_puzzle(model, spec, board, runs, index=index, record="full")
    traced = [(label, opts, result, outcome)
              for (label, opts), (result, outcome) in zip(runs, results, strict=True)]  # fmt: skip
    solution = None if ds.solutions is None else ds.solutions[index]
    return puzzle_payload(spec, board, traced, source=source, index=index, solution=solution,
                          pid=pid)  # fmt: skip


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


def _check_page_out(out: str) -> None:
    if Path(out).suffix.lower() not in PAGE_SUFFIXES:
        raise UnmaskError(f"--out {out}: pages are written as .html")


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def cmd_view(args) -> int:
    from tqdm import tqdm

    from viz.html import write_page
    from viz.payload import view_payload

    pick = build(ViewPuzzles, given(args, ViewPuzzles))
    page = build(ViewPage, given(args, ViewPage))
    _check_page_out(page.out)
    seen = set()
    for index in pick.index:
        if index in seen:
            raise UnmaskError(f"--index {index} is given twice")
        seen.add(index)
    runs = picture_runs(args)
    check_outputs({"--out": page.out}, _inputs(pick))
    ds = load_puzzles(pick.input, pick.task, pick.index)
    spec = ds.spec
    loaded = model_for(pick, spec, runs)
    source = Path(pick.input).name
    puzzles = []
    for index in tqdm(pick.index, unit="puzzle", disable=page.quiet, leave=False, desc="view"):
        puzzles.append(traced_puzzle(loaded.model, spec, ds, index, runs, source,
                                     pid=f"{Path(pick.input).stem}-{index}"))  # fmt: skip
    title = page.title
    if title is None:
        shown = (f"puzzle #{pick.index[0]}" if len(pick.index) == 1
                 else f"{len(pick.index)} puzzles")  # fmt: skip
        title = f"{_family_title(spec)}: {shown} of {source} · model {Path(loaded.path).name}"
    path = write_page(page.out, view_payload(puzzles, title, page.color))
    solved = [sum(p["runs"][i]["valid"] for p in puzzles) for i in range(len(runs))]
    runs_text = ", ".join(f"{p_run['label']} {k}/{len(puzzles)} valid"
                          for p_run, k in zip(puzzles[0]["runs"], solved, strict=True))  # fmt: skip
    print(f"wrote {path} ({_size(path)}; {len(puzzles)} puzzle(s) x {len(runs)} run(s): "
          f"{runs_text}; model {Path(loaded.path).name})")  # fmt: skip
    return 0


def _family_title(spec) -> str:
    from viz.renderers import renderer_for

    return renderer_for(spec).title(spec)


def cmd_report(args) -> int:
    from viz.html import write_page
    from viz.payload import report_payload

    rep = build(ReportPage, given(args, ReportPage))
    _check_page_out(rep.out)
    inputs = {f"BENCH #{i + 1}": p for i, p in enumerate(rep.results)}
    inputs.update({"--input": rep.input, "--checkpoint": rep.checkpoint})
    check_outputs({"--out": rep.out}, inputs)
    files = read_bench_files(rep.results)
    rows = [row for _, file_rows in files for row in file_rows]
    groups = [] if rep.scan == 0 else bench_groups(files, rep)
    puzzles = []
    for g, group in enumerate(groups):
        for puzzle in report_puzzles(group, rep):
            if any(p["id"] == puzzle["id"] for p in puzzles):  # same input, another model
                puzzle["id"] += f" ({g + 1})"
            puzzles.append(puzzle)
    title = rep.title or "unmask bench: " + "; ".join(
        dict.fromkeys(_bench_name(r) for r in rows)
    )  # fmt: skip
    path = write_page(rep.out, report_payload(rows, puzzles, title, _machines(files)))
    failed = sum(not all(r["valid"] for r in p["runs"]) for p in puzzles)
    print(f"wrote {path} ({_size(path)}; {len(rows)} bench rows from {len(files)} file(s), "
          f"{len(puzzles)} puzzles embedded, {failed} with a failed run)")  # fmt: skip
    return 0


def _machines(files: list[tuple[str, list[dict]]]) -> str | None:
    """Where the bench files were run ("machine", else "device" of their rows), each named
    once; with files of several machines, each with its file's name."""
    found: dict[str, list[str]] = {}
    for path, rows in files:
        for row in rows:
            where = row.get("machine") or row.get("device")
            if isinstance(where, str):
                names = found.setdefault(where, [])
                if Path(path).name not in names:
                    names.append(Path(path).name)
    if len(found) <= 1:
        return next(iter(found), None)
    return "; ".join(f"{where} ({', '.join(names)})" for where, names in found.items())


def _bench_name(row: dict) -> str:
    """'sudoku 9x9 (sudoku.txt)' for a bench row that names its task, size and input."""
    from puzzles.task import get_task

    task, size, source = row.get("task"), row.get("size"), row.get("input")
    name = str(task or "bench")
    if isinstance(task, str) and isinstance(size, int):
        try:
            name = get_task(task).describe(size)
        except UnmaskError:  # a family this installation does not have
            name = f"{task} {size}"
    return f"{name} ({Path(source).name})" if isinstance(source, str) else name


def read_bench_files(paths: list[str]) -> list[tuple[str, list[dict]]]:
    """[(path, rows)] of ``unmask bench`` JSON files, every row checked for what the page shows
    (sampler, n, solved, accuracy, mean NFE; numbers that are not finite become null);
    ``UnmaskError`` naming the file and row."""
    from viz.html import check_bench_row
    from viz.payload import bench_row_for_page
    from viz.plots import read_bench_json, read_bench_rows

    out = []
    for p in paths:
        rows = read_bench_json(p)
        read_bench_rows(rows, str(p))  # labels, accuracy and NFE as `plot bench` reads them
        rows = [bench_row_for_page(row) for row in rows]
        for i, row in enumerate(rows):
            try:
                check_bench_row(row, f"row {i}")
            except ValueError as err:
                raise UnmaskError(f"{p}: {err}") from None
            if not 0 <= row["accuracy"] <= 1 or row["solved"] > row["n"]:
                raise UnmaskError(f"{p}: row {i} ({row['sampler']}) has accuracy "
                                  f"{row['accuracy']} and solved {row['solved']} of {row['n']}; "
                                  "expected a fraction from 0 to 1, as `unmask bench` writes it")  # fmt: skip
        out.append((str(p), rows))
    return out


@dataclass
class BenchGroup:
    """Rows of the bench files that share a task, an input and a model: solved together."""

    source: str  # the bench file (for messages)
    task: str
    input: str
    checkpoint: str | None
    rows: list[dict]


def bench_groups(files: list[tuple[str, list[dict]]], rep: ReportPage) -> list[BenchGroup]:
    """The rows grouped by (task, input, model), with ``--input`` / ``--checkpoint`` in place of
    what the rows name; ``UnmaskError`` when a group cannot be re-run here."""
    groups: dict[tuple, BenchGroup] = {}
    for path, rows in files:
        for i, row in enumerate(rows):
            task = row.get("task")
            if not isinstance(task, str):
                raise UnmaskError(f"{path}: row {i} names no task, so its puzzles cannot be "
                                  "re-run (--scan 0 makes the table and chart alone)")  # fmt: skip
            source = rep.input or row.get("input")
            if not isinstance(source, str):
                raise UnmaskError(f"{path}: row {i} names no input file; give --input FILE "
                                  "(or --scan 0 for the table and chart alone)")  # fmt: skip
            if not Path(source).is_file():
                flag = "--input" if rep.input else f"its input {source}"
                raise UnmaskError(f"{path}: {flag}: no such file here; give --input FILE "
                                  "(or --scan 0 for the table and chart alone)")  # fmt: skip
            model = rep.checkpoint or row.get("checkpoint")
            if isinstance(model, str) and not Path(model).exists():
                raise UnmaskError(f"{path}: its model {model}: no such file here; give "
                                  "--checkpoint PATH (or --scan 0 for the table and chart "
                                  "alone)")  # fmt: skip
            key = (task, source, model if isinstance(model, str) else None)
            if key not in groups:
                groups[key] = BenchGroup(path, *key, rows=[])
            groups[key].rows.append(row)
    tasks = {g.task for g in groups.values()}
    if rep.input and len(tasks) > 1:
        raise UnmaskError(f"--input {rep.input}: the bench files hold rows of {len(tasks)} "
                          f"tasks ({', '.join(sorted(tasks))}); --input fits one")  # fmt: skip
    return list(groups.values())


def report_puzzles(group: BenchGroup, rep: ReportPage) -> list[dict]:
    """The page puzzles of one group: every row re-run (``solve_puzzles``) on the first
    ``--scan`` puzzles of its input to find its failures, then up to ``--per-sampler`` puzzles
    per row, failures first, traced with every row (``trace_puzzle``, record "full")."""
    import dataclasses

    from tqdm import tqdm

    from puzzles.task import get_task
    from sampling.bench import row_options
    from sampling.options import SolveOptions
    from sampling.solve import solve_puzzles

    ds = load_puzzles(group.input, group.task, [])
    spec = ds.spec
    for row in group.rows:
        size = row.get("size")
        if size is not None and size != ds.size:
            raise UnmaskError(f"{group.source}: rows of {get_task(group.task).describe(size)} "
                              f"but {group.input} holds {spec.describe()} puzzles")  # fmt: skip
    base = build(SolveOptions, {"device": rep.device, "seed": rep.seed, "compile": False})
    runs = []
    for row in group.rows:
        try:
            runs.append(row_options(row, base))
        except ValueError as err:
            raise UnmaskError(f"{group.source}: {err}") from None
    inputs = Inputs(task=group.task, input=group.input, checkpoint=group.checkpoint)
    loaded = model_for(inputs, spec, runs)
    n = min(rep.scan, len(ds))
    picked: list[int] = []
    for _, opts in tqdm(runs, unit="row", disable=rep.quiet, leave=False, desc="scan"):
        # the row's own verdicts, batched and without retries
        report = solve_puzzles(loaded.model, spec, ds.puzzles[:n],
                               dataclasses.replace(opts, retries=0))  # fmt: skip
        failed = [i for i, r in enumerate(report.reasons) if r is not None]
        rest = [i for i in range(n) if i not in failed]
        for i in (failed + rest)[: rep.per_sampler]:
            if i not in picked:
                picked.append(i)
    source, stem = Path(group.input).name, Path(group.input).stem
    return [traced_puzzle(loaded.model, spec, ds, i, runs, source, pid=f"{stem}-{i}")
            for i in tqdm(sorted(picked), unit="puzzle", disable=rep.quiet, leave=False,
                          desc="trace")]  # fmt: skip


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
