"""Static figures: reveal-order heatmap, accuracy against NFE, training curves."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from PIL import Image

from puzzles.errors import UnmaskError
from viz import plots as P
from viz.renderers import GIVEN_FILL
from viz.trace import row_trace


def _listing(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


# --- reveal order --------------------------------------------------------------------------


def test_order_figure_colours_each_cell_by_its_pass(sudoku_trace, tmp_path):
    spec, result = sudoku_trace(9, seed=1, per_step=(1, 4))
    trace = row_trace(result)
    fig = P.order_figure(spec, trace, label="eb:gamma=0.1", title="Reveal order")
    board, bars = fig.axes[0], fig.axes[1]
    rgba = board.images[0].get_array().reshape(-1, 4)
    cmap = matplotlib.colormaps["viridis"].resampled(trace.nfe)
    for idx in np.flatnonzero(trace.reveal_step >= 1):
        step = trace.reveal_step[idx]
        np.testing.assert_allclose(rgba[idx], cmap(step - 1))
    for idx in np.flatnonzero(trace.given):
        np.testing.assert_allclose(rgba[idx], to_rgba(GIVEN_FILL))
    # Every revealed cell carries its pass number; the bars count cells per pass.
    numbers = sorted(int(t.get_text()) for t in board.texts)
    assert numbers == sorted(trace.reveal_step[trace.reveal_step >= 1].tolist())
    heights = [int(p.get_height()) for p in bars.patches]
    assert heights == np.bincount(trace.reveal_step[trace.reveal_step >= 1])[1:].tolist()
    for name in ("order.png", "order.svg"):
        P.save_figure(fig, tmp_path / name)
    assert _listing(tmp_path) == ["order.png", "order.svg"]
    with Image.open(tmp_path / "order.png") as im:
        assert im.size[0] > 400 and im.size[1] > 400
    assert (tmp_path / "order.svg").read_text().lstrip().startswith("<?xml")


def test_order_figure_maze_draws_the_path(maze_trace):
    spec, result = maze_trace(seed=0)
    fig = P.order_figure(spec, row_trace(result))
    board = fig.axes[0]
    segments = board.collections[-1].get_segments()
    # S + 7 path cells + G form a chain of 8 links.
    assert len(segments) == 8
    letters = sorted(t.get_text() for t in board.texts if t.get_text().isalpha())
    assert letters == ["G", "S"]
    labels = [t.get_text() for t in board.get_legend().get_texts()]
    assert "path in the answer" in labels


def test_save_figure_rejects_unknown_suffix(sudoku_trace, tmp_path):
    spec, result = sudoku_trace(4)
    fig = P.order_figure(spec, row_trace(result))
    with pytest.raises(UnmaskError, match="png"):
        P.save_figure(fig, tmp_path / "order.jpg")
    assert _listing(tmp_path) == []


# --- accuracy vs NFE -----------------------------------------------------------------------


def _row(label, family, params, acc, nfe, **extra):
    return {
        "sampler": label,
        "name": label.split(":")[0],
        "family": family,
        "params": params,
        "n": 100,
        "solved": round(acc * 100),
        "accuracy": acc,
        "mean_nfe": nfe,
        **extra,
    }


BENCH_ROWS = [
    _row("topk:k=1", "topk", {"k": 1, "proxy": "entropy"}, 0.98, 50.0),
    _row("topk:k=2", "topk", {"k": 2, "proxy": "entropy"}, 0.95, 25.0),
    _row("topk:k=4", "topk", {"k": 4, "proxy": "entropy"}, 0.80, 13.0),
    _row("eb:gamma=0.01", "eb", {"gamma": 0.01, "proxy": "entropy"}, 0.98, 20.0),
    _row("eb:gamma=0.1", "eb", {"gamma": 0.1, "proxy": "entropy"}, 0.97, 9.0),
    _row("eb:gamma=1", "eb", {"gamma": 1.0, "proxy": "entropy"}, 0.90, 4.0),
    _row("random:k=1", "random", {"k": 1}, 0.40, 50.0),
    _row("dus:two_d=true", "dus2d", {"two_d": True, "block": None}, 0.30, 8.0),
]


def test_bench_series_one_line_per_family(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(BENCH_ROWS))
    points = P.read_bench([path])
    assert [p.accuracy for p in points][:2] == [98.0, 95.0]  # fraction -> percent
    series = P.bench_series(points)
    assert sorted(series) == ["dus2d", "eb", "random", "topk"]
    assert [p.mean_nfe for p in series["topk"]] == [13.0, 25.0, 50.0]  # sorted by NFE
    fig = P.bench_figure(points)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert sorted(labels) == ["Pareto front", "dus2d", "eb", "random", "topk"]
    assert ax.get_xscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto front" in legend and "eb" in legend
    P.save_figure(fig, tmp_path / "bench.png")
    assert _listing(tmp_path) == ["bench.json", "bench.png"]


def test_pareto_front_is_exactly_the_undominated_points():
    points = P.read_bench_rows(BENCH_ROWS, "mem")
    front = P.pareto_front(points)
    assert [p.label for p in front] == ["eb:gamma=1", "eb:gamma=0.1", "eb:gamma=0.01"]

    def dominated(p):
        return any(
            q.mean_nfe <= p.mean_nfe
            and q.accuracy >= p.accuracy
            and (q.mean_nfe, q.accuracy) != (p.mean_nfe, p.accuracy)
            for q in points
        )

    for p in points:
        assert (p in front) == (not dominated(p)), p.label


def test_bench_several_files(tmp_path):
    a, b = tmp_path / "model_a.json", tmp_path / "model_b.json"
    a.write_text(json.dumps(BENCH_ROWS[:6]))
    # A second model's sweep of EB (same family) and a file wrapping its rows in an object.
    b.write_text(json.dumps({"rows": [_row("eb:gamma=0.1", "eb", {"gamma": 0.1}, 0.5, 7.0)]}))
    series = P.bench_series(P.read_bench([a, b]))
    assert sorted(series) == ["eb (model_a)", "eb (model_b)", "topk"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not a JSON file"),
        ('{"a": 1}', "list of sampler rows"),
        ('[{"sampler": "eb", "accuracy": 0.5}]', "row 0 lacks"),
        ('[{"sampler": "eb", "accuracy": 0.5, "mean_nfe": 0}]', "mean NFE"),
        ("[]", "no sampler rows"),
    ],
)
def test_bad_bench_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UnmaskError, match=message):
        P.read_bench([path])


# --- training curves -----------------------------------------------------------------------


def _write_metrics(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ["epoch", "step", "train/acc", "train/loss", "val/loss", "val/solve_rate"]
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def test_training_figure_two_panels(tmp_path):
    rows = [(0, s, 0.5, 2.0 / (1 + s), None, None) for s in range(0, 200, 20)]
    rows += [(0, 99, None, None, 0.4, 0.25), (1, 199, None, None, 0.2, 0.75)]
    _write_metrics(tmp_path / "run" / "logs" / "version_0" / "metrics.csv", rows)
    logs = P.read_training_logs(tmp_path / "run")
    assert len(logs) == 1
    assert sorted(logs[0].loss) == ["train/loss", "val/loss"]
    assert sorted(logs[0].solve) == ["val/solve_rate"]  # train/acc is not a solve rate
    fig = P.training_figure(logs, root="run")
    loss_ax, solve_ax = fig.axes
    assert len(loss_ax.get_lines()) == 2 and len(solve_ax.get_lines()) == 1
    np.testing.assert_allclose(solve_ax.get_lines()[0].get_ydata(), [25.0, 75.0])  # percent
    np.testing.assert_allclose(solve_ax.get_lines()[0].get_xdata(), [99, 199])
    assert "step" in loss_ax.get_xlabel() and "%" in solve_ax.get_ylabel()


def test_training_logs_missing(tmp_path):
    with pytest.raises(UnmaskError, match="no metrics.csv"):
        P.read_training_logs(tmp_path)
    with pytest.raises(UnmaskError, match="not a directory"):
        P.read_training_logs(tmp_path / "nope")
    (tmp_path / "metrics.csv").write_text("epoch,step,lr\n0,1,0.1\n")
    with pytest.raises(UnmaskError, match="no loss or solve-rate column"):
        P.read_training_logs(tmp_path)
