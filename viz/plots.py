"""Static figures: the reveal-order heatmap, accuracy against NFE, and training curves.

Every function builds a ``matplotlib.figure.Figure`` (no pyplot state) and ``save_figure`` writes
it atomically as PNG, SVG or PDF.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patheffects import withStroke
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from puzzles.atomic import atomic_open
from puzzles.errors import UnmaskError
from puzzles.task import TaskSpec
from viz import board as B
from viz.renderers import renderer_for
from viz.trace import RowTrace

FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
OKABE_ITO = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def save_figure(fig: Figure, out: str | os.PathLike, dpi: int = 150) -> Path:
    """Write ``fig`` to ``out`` (format from the suffix: .png, .svg or .pdf), atomically."""
    out = Path(out)
    fmt = FIGURE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UnmaskError(
            f"{out}: figures are written as {', '.join(FIGURE_FORMATS)}; got {out.suffix or 'no suffix'!r}"
        )
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format=fmt, dpi=dpi, bbox_inches="tight", facecolor="white")
    return out


# --------------------------------------------------------------------------------------------
# Reveal order
# --------------------------------------------------------------------------------------------


def order_figure(
    spec: TaskSpec,
    trace: RowTrace,
    *,
    label: str = "",
    title: str | None = None,
    outcome: str | None = None,
):
    """Heatmap of the forward pass that revealed each cell, with a bar chart of cells per pass.

    Givens are grey (maze walls dark, S and G orange); on Sudoku every revealed cell carries its
    pass number. ``outcome`` (e.g. "valid answer") ends the subtitle. Returns the ``Figure``;
    ``fig.axes[0]`` is the board, ``[1]`` the bar chart.
    """
    nfe = max(trace.nfe, 1)
    cmap = matplotlib.colormaps["viridis"].resampled(nfe)
    norm = BoundaryNorm(np.arange(0.5, nfe + 1.5), ncolors=nfe)
    side = B.board_inches(spec)
    bars_h = 1.5
    width, height = side + 1.6, side + bars_h + 1.95
    fig = Figure(figsize=(width, height), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.4 / width, (bars_h + 0.9) / height, side / width, side / height))
    bars = fig.add_axes((0.4 / width + 0.08, 0.5 / height, side / width - 0.08, bars_h / height))
    cax = fig.add_axes(((0.55 + side) / width, (bars_h + 0.9) / height, 0.2 / width, side / height))

    B.setup_board_axes(ax, spec)
    pts = B.cell_points(ax, spec)
    steps = trace.reveal_step
    rgba = np.empty((spec.num_cells, 4))
    revealed = steps >= 1
    rgba[revealed] = cmap(norm(steps[revealed]))
    tokens = trace.tokens
    renderer = renderer_for(spec)
    rgba[~revealed] = renderer.order_given_fills(spec, tokens, ~revealed)[~revealed]
    ax.imshow(
        rgba.reshape(spec.height, spec.width, 4),
        extent=(0, spec.width, spec.height, 0),
        interpolation="nearest",
        zorder=1,
    )
    w = spec.width
    size = pts * (0.42 if nfe < 100 else 0.34)
    if renderer.order_numbers(spec, size):  # pass numbers where they stay readable
        for idx in np.flatnonzero(revealed):
            r, c = divmod(int(idx), w)
            ax.text(
                c + 0.5,
                r + 0.53,
                str(int(steps[idx])),
                ha="center",
                va="center",
                fontsize=size,
                color=B.text_color(rgba[idx]),
                zorder=5,
                # A halo in the cell's colour keeps the number readable over the path line.
                path_effects=[withStroke(linewidth=3, foreground=rgba[idx])],
            )
    legend = renderer.order_overlay(ax, spec, tokens, pts)
    ax.legend(
        handles=legend,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(legend),
        frameon=False,
        fontsize=9,
    )
    cbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax)
    cbar.set_label("forward pass that revealed the cell (1 = first)")
    cbar.ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=10))

    counts = np.bincount(steps[revealed], minlength=nfe + 1)[1:]  # (nfe,) cells per pass
    passes = np.arange(1, nfe + 1)
    bars.bar(passes, counts, width=0.85, color=cmap(norm(passes)), edgecolor="none")
    bars.set_xlim(0.4, nfe + 0.6)
    bars.set_xlabel("forward pass (NFE)")
    bars.set_ylabel("cells revealed")
    bars.xaxis.set_major_locator(MaxNLocator(integer=True))
    bars.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    bars.spines[["top", "right"]].set_visible(False)
    head = title or f"Reveal order: {renderer.title(spec)}"
    sub = f"{label}: " if label else ""
    tail = f" · {outcome}" if outcome else ""
    fig.suptitle(
        f"{head}\n{sub}{trace.num_masked} cells in {trace.nfe} forward passes{tail}",
        y=1 - 0.08 / height,
        va="top",
        fontsize=12,
    )
    return fig


# --------------------------------------------------------------------------------------------
# Accuracy against NFE from `unmask bench` JSON
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchPoint:
    """One sampler row of a bench file."""

    label: str  # e.g. "eb:gamma=0.01"
    family: str  # "eb", "topk", ...
    params: dict = field(hash=False, compare=False)
    accuracy: float  # percent of puzzles solved
    mean_nfe: float
    source: str  # file the row came from


_LABEL_KEYS = ("sampler", "label", "spec", "name")
_ACC_KEYS = ("accuracy", "acc", "solve_rate", "solved_fraction")
_NFE_KEYS = ("mean_nfe", "nfe_mean", "avg_nfe", "nfe")
_PARAM_NAMES = {"gamma": "γ", "k": "k", "tau": "τ", "temperature": "T"}


def _rows_of(data, path: Path) -> list[dict]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("rows", "results", "samplers", "runs"):
            if isinstance(data.get(key), list):
                return data[key]
    raise UnmaskError(f"{path}: expected a list of sampler rows (an `unmask bench` JSON output)")


def _parse_label(label: str) -> tuple[str, dict]:
    family, _, rest = label.partition(":")
    params = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, _, value = part.partition("=")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            params[key.strip()] = value.strip()
    return family.strip(), params


def read_bench_rows(rows: Sequence, source: str) -> list[BenchPoint]:
    """Sampler rows (dicts as ``unmask bench`` writes them) -> ``BenchPoint`` list.

    Tolerant of field names (sampler/label/name, accuracy/acc/solve_rate, mean_nfe/nfe); the
    family defaults to the label's prefix. Accuracy as a fraction (all rows <= 1, which is what
    ``unmask bench`` writes) becomes percent. ``source`` names the file in messages and series.
    """
    parsed = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise UnmaskError(f"{source}: row {i} is not an object")
        label = next((str(row[k]) for k in _LABEL_KEYS if row.get(k) is not None), None)
        acc = next((row[k] for k in _ACC_KEYS if row.get(k) is not None), None)
        nfe = next((row[k] for k in _NFE_KEYS if row.get(k) is not None), None)
        if label is None or acc is None or nfe is None:
            raise UnmaskError(
                f"{source}: row {i} lacks a sampler label, accuracy or mean_nfe "
                f"(has {', '.join(sorted(row)) or 'nothing'})"
            )
        fam, label_params = _parse_label(label)
        family = str(row.get("family") or fam)
        params = row.get("params") if isinstance(row.get("params"), dict) else label_params
        try:
            acc, nfe = float(acc), float(nfe)
        except (TypeError, ValueError, OverflowError):
            raise UnmaskError(f"{source}: row {i} has a non-numeric accuracy or NFE") from None
        if isinstance(row.get(_ACC_KEYS[0]), bool) or not (math.isfinite(acc) and 0 <= acc <= 100):
            raise UnmaskError(f"{source}: row {i} ({label}) has accuracy {acc}; expected a "
                              "finite number from 0 to 1 (or percent)")  # fmt: skip
        parsed.append((label, family, dict(params), acc, nfe))
    fraction = all(acc <= 1.0 for _, _, _, acc, _ in parsed)
    points = []
    for label, family, params, acc, nfe in parsed:
        if not (math.isfinite(nfe) and nfe > 0):
            raise UnmaskError(f"{source}: sampler {label} has mean NFE {nfe}; expected > 0")
        points.append(
            BenchPoint(label, family, params, 100.0 * acc if fraction else acc, nfe, source)
        )
    return points


def read_bench_json(p: str | os.PathLike) -> list:
    """The sampler rows of one ``unmask bench`` JSON file (not yet checked row by row);
    ``UnmaskError`` for a file that is not such JSON or holds no rows."""
    path = Path(p)
    try:
        from puzzles.formats import check_input_file

        data = json.loads(check_input_file(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnmaskError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnmaskError(f"{path}: is a folder, not a bench JSON file") from None
    except (UnicodeDecodeError, ValueError) as err:  # ValueError: bad JSON, huge numbers
        raise UnmaskError(f"{path}: not a JSON file ({err})") from None
    except OSError as err:
        raise UnmaskError(f"{path}: cannot read ({err.strerror or err})") from None
    rows = _rows_of(data, path)
    if not rows:
        raise UnmaskError(f"{path}: holds no sampler rows")
    return rows


def read_bench(paths: Sequence[str | os.PathLike]) -> list[BenchPoint]:
    """Sampler rows from one or more ``unmask bench`` JSON files (see ``read_bench_rows``)."""
    points: list[BenchPoint] = []
    for p in paths:
        path = Path(p)
        rows = read_bench_json(path)
        for point in read_bench_rows(rows, str(path)):
            points.append(dataclasses.replace(point, source=path.stem))
    return points


def bench_series(points: Sequence[BenchPoint]) -> dict[str, list[BenchPoint]]:
    """Group rows into series, each sorted by NFE: one per sampler family.

    A family that appears in several files (say, two models' benches) gets one series per file,
    named ``"family (file)"``; families that each come from one file are merged across files.
    """
    sources: dict[str, set[str]] = {}
    for p in points:
        sources.setdefault(p.family, set()).add(p.source)
    series: dict[str, list[BenchPoint]] = {}
    for p in points:
        key = p.family if len(sources[p.family]) == 1 else f"{p.family} ({p.source})"
        series.setdefault(key, []).append(p)
    return {k: sorted(v, key=lambda p: (p.mean_nfe, -p.accuracy)) for k, v in series.items()}


def pareto_front(points: Sequence[BenchPoint]) -> list[BenchPoint]:
    """Points no other point beats on both counts (fewer NFE and higher accuracy), by NFE."""
    front: list[BenchPoint] = []
    best = -math.inf
    for p in sorted(points, key=lambda p: (p.mean_nfe, -p.accuracy)):
        if p.accuracy > best:
            front.append(p)
            best = p.accuracy
    return front


def _param_text(p: BenchPoint) -> str:
    parts = []
    for key, value in p.params.items():
        if key in ("proxy", "two_d", "height", "width") or value is None:
            continue
        name = _PARAM_NAMES.get(key, key)
        parts.append(f"{name}={value:g}" if isinstance(value, (int, float)) else f"{name}={value}")
    return ",".join(parts)


# Colour by base family, marker by variant (error proxy or 2-D plan), line style by file.
_FAMILY_COLORS = {
    "eb": "#D55E00",
    "topk": "#0072B2",
    "threshold": "#009E73",
    "random": "#CC79A7",
    "dus": "#E69F00",
}
_VARIANT_MARKERS = {"": "o", "confidence": "s", "margin": "^", "2d": "D"}
_FILE_STYLES = ("-", "--", ":", "-.", (0, (7, 2, 1, 2, 1, 2)), (0, (1, 1)))


def family_style(family: str, extra_colors: dict[str, str]) -> tuple[str, str]:
    """(colour, marker) of a sampler family such as ``eb``, ``eb-confidence`` or ``dus2d``."""
    base = "dus" if family.startswith("dus") else family.split("-")[0]
    variant = family[len(base) :].lstrip("-")
    if base not in _FAMILY_COLORS and base not in extra_colors:
        spare = [c for c in OKABE_ITO if c not in _FAMILY_COLORS.values()]
        extra_colors[base] = spare[len(extra_colors) % len(spare)]
    color = _FAMILY_COLORS.get(base) or extra_colors[base]
    marker = _VARIANT_MARKERS.get(variant, MARKERS[(len(variant) + 4) % len(MARKERS)])
    return color, marker


def bench_figure(points: Sequence[BenchPoint], title: str | None = None) -> Figure:
    """Accuracy (%) against mean NFE (log axis), one line per series (``bench_series``).

    Colour = sampler family (eb, topk, ...), marker = its variant (proxy, 2-D plan), line style
    = bench file when there are several. Each file's Pareto front (the best accuracy reachable
    within an NFE budget) is a wide grey step line behind the series. Sweep points are labelled
    with their knob (gamma, k, tau), skipping labels that would overlap.
    """
    series = bench_series(points)
    sources = list(dict.fromkeys(p.source for p in points))
    fig = Figure(figsize=(9.5, 5.2), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    extra: dict[str, str] = {}
    for name, pts in series.items():
        color, marker = family_style(pts[0].family, extra)
        style = _FILE_STYLES[sources.index(pts[0].source) % len(_FILE_STYLES)]
        ax.plot(
            [p.mean_nfe for p in pts],
            [p.accuracy for p in pts],
            linestyle=style,
            marker=marker,
            color=color,
            linewidth=1.6,
            markersize=7,
            label=name,
            zorder=3,
        )
    for source in sources:
        front = pareto_front([p for p in points if p.source == source])
        ax.step(
            [p.mean_nfe for p in front],
            [p.accuracy for p in front],
            where="post",
            color="#9a9a9a",
            alpha=0.45,
            linewidth=6,
            solid_capstyle="butt",
            label="Pareto front" + (f" ({source})" if len(sources) > 1 else ""),
            zorder=1,
        )
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.08)
    ax.set_xlabel("mean NFE per puzzle (forward passes, log scale)")
    ax.set_ylabel("accuracy (% of puzzles solved)")
    low = min(p.accuracy for p in points)
    ax.set_ylim(max(0.0, low - 5.0) if low > 20 else -1.0, 101.0)
    ax.grid(True, which="both", alpha=0.25)
    ax.set_title(title or "Accuracy against forward passes (up and left is better)")

    # Legend: one entry per family, one per file (line style), and the Pareto front.
    handles = []
    for family in dict.fromkeys(p.family for p in points):
        color, marker = family_style(family, extra)
        handles.append(Line2D([], [], color=color, marker=marker, markersize=7, label=family))
    if len(sources) > 1:
        for i, source in enumerate(sources):
            style = _FILE_STYLES[i % len(_FILE_STYLES)]
            handles.append(Line2D([], [], color="#333333", linestyle=style, label=source))
    handles.append(Line2D([], [], color="#9a9a9a", alpha=0.45, linewidth=6, label="Pareto front"))
    ax.legend(
        handles=handles,
        title="sampler family" + (" / file" if len(sources) > 1 else ""),
        fontsize=9,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    fig.tight_layout()
    _label_sweeps(ax, series, extra)
    return fig


def _label_sweeps(ax, series: dict[str, list[BenchPoint]], extra: dict[str, str]) -> None:
    """Label the points of sweeps (series of 2+ points) with their knob, skipping overlaps."""
    placed: list[tuple[float, float, float]] = []  # (x, y, width) in display pixels
    for pts in series.values():
        if len(pts) < 2:
            continue
        color, _ = family_style(pts[0].family, extra)
        for p in pts:
            text = _param_text(p)
            if not text:
                continue
            x, y = ax.transData.transform((p.mean_nfe, p.accuracy))
            x, y = x + 5, y - 11  # below right of the marker
            width = 6.0 * len(text) + 4.0
            if any(abs(y - py) < 10 and x < px + pw and px < x + width for px, py, pw in placed):
                continue
            placed.append((x, y, width))
            ax.annotate(
                text,
                (p.mean_nfe, p.accuracy),
                textcoords="offset points",
                xytext=(5 * 72 / ax.figure.dpi, -11 * 72 / ax.figure.dpi),
                fontsize=7.5,
                color=color,
                va="center",
            )


# --------------------------------------------------------------------------------------------
# Training curves from Lightning CSV logs
# --------------------------------------------------------------------------------------------


@dataclass
class TrainingLog:
    """Columns of one ``metrics.csv``: step values and (step, value) pairs per metric."""

    path: Path
    loss: dict[str, tuple[np.ndarray, np.ndarray]]
    solve: dict[str, tuple[np.ndarray, np.ndarray]]


def read_training_logs(directory: str | os.PathLike) -> list[TrainingLog]:
    """Every ``metrics.csv`` under ``directory`` (Lightning CSVLogger), oldest first.

    Metric columns are found by name: those containing ``loss`` and those containing ``solve``.
    Rows without a value for a metric are skipped for that metric.
    """
    root = Path(directory)
    if not root.is_dir():
        raise UnmaskError(f"{root}: not a directory (expected a training log folder)")
    files = sorted(root.rglob("metrics.csv"), key=lambda p: (p.stat().st_mtime, str(p)))
    if not files:
        raise UnmaskError(
            f"{root}: no metrics.csv below it (Lightning CSV logs from `unmask train`)"
        )
    logs = []
    for path in files:
        if path.is_dir():
            raise UnmaskError(f"{path}: is a folder, not a metrics file")
        try:
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                rows = list(reader)
                columns = reader.fieldnames or []
        except UnicodeDecodeError as err:
            raise UnmaskError(f"{path}: not a UTF-8 CSV file (byte {err.start})") from None
        except (OSError, csv.Error) as err:
            raise UnmaskError(f"{path}: cannot read the CSV ({err})") from None
        step_col = next(
            (c for c in ("step", "global_step", "trainer/global_step") if c in columns), None
        )
        loss, solve = {}, {}
        for col in columns:
            low = col.lower()
            target = loss if "loss" in low else solve if "solve" in low else None
            if target is None:
                continue
            xs, ys = [], []
            for i, row in enumerate(rows):
                try:
                    y = float(row[col])
                    x = float(row[step_col]) if step_col else float(i)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(y):
                    xs.append(x)
                    ys.append(y)
            if ys:
                target[col] = (np.asarray(xs), np.asarray(ys))
        logs.append(TrainingLog(path, loss, solve))
    if not any(log.loss or log.solve for log in logs):
        raise UnmaskError(f"{root}: the metrics.csv files have no loss or solve-rate column")
    return logs


def _pretty_metric(name: str) -> str:
    return re.sub(r"[/_]+", " ", name).strip()


def training_figure(logs: Sequence[TrainingLog], root: str | os.PathLike = "") -> Figure:
    """Two panels against the training step: losses, and validation solve rate in percent."""
    fig = Figure(figsize=(11.0, 4.2), dpi=100, facecolor="white")
    FigureCanvasAgg(fig)
    ax_loss, ax_solve = fig.subplots(1, 2, sharex=True)
    several = len(logs) > 1
    color_i = 0
    for log in logs:
        run = f" [{log.path.parent.name}]" if several else ""
        for name, (x, y) in log.loss.items():
            style = "-" if "train" in name.lower() else "-o"
            ax_loss.plot(
                x,
                y,
                style,
                markersize=4,
                linewidth=1.3,
                color=OKABE_ITO[color_i % 8],
                label=_pretty_metric(name) + run,
            )
            color_i += 1
        for name, (x, y) in log.solve.items():
            scale = 100.0 if np.nanmax(y) <= 1.0 else 1.0
            ax_solve.plot(
                x,
                y * scale,
                "-o",
                markersize=4,
                linewidth=1.3,
                color=OKABE_ITO[color_i % 8],
                label=_pretty_metric(name) + run,
            )
            color_i += 1
    all_loss = [y for log in logs for _, y in log.loss.values()]
    if all_loss:
        values = np.concatenate(all_loss)
        if values.min() > 0 and values.max() / values.min() > 20:
            ax_loss.set_yscale("log")
        ax_loss.legend(fontsize=9)
    else:
        ax_loss.text(
            0.5, 0.5, "no loss column in the logs", ha="center", transform=ax_loss.transAxes
        )
    if any(log.solve for log in logs):
        ax_solve.legend(fontsize=9, loc="lower right")
        ax_solve.set_ylim(-2, 102)
    else:
        ax_solve.text(
            0.5, 0.5, "no solve-rate column in the logs", ha="center", transform=ax_solve.transAxes
        )
    ax_loss.set_title("Loss")
    ax_loss.set_xlabel("training step (optimizer updates)")
    ax_loss.set_ylabel("loss (cross-entropy, nats)")
    ax_solve.set_title("Validation solve rate")
    ax_solve.set_xlabel("training step (optimizer updates)")
    ax_solve.set_ylabel("puzzles solved (%)")
    for ax in (ax_loss, ax_solve):
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"Training curves: {root}" if root else "Training curves")
    fig.tight_layout()
    return fig
