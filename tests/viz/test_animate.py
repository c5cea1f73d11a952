"""Rendered animations: frame counts, highlighted pixels, compare panels, files written."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from puzzles.errors import UnmaskError
from puzzles.tokens import PATH
from viz import animate as A
from viz.trace import row_trace, state_at


def _gif_frames(path):
    """(frame count, list of per-frame durations in ms) of a GIF."""
    with Image.open(path) as im:
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
        return im.n_frames, durations


def _listing(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def test_gif_has_one_frame_per_pass_plus_start_and_hold(sudoku_trace, tmp_path):
    spec, result = sudoku_trace(4, seed=1, per_step=(1, 2))
    trace = row_trace(result)
    out = tmp_path / "anim.gif"
    info = A.write_animation(spec, [trace], ["topk:k=1"], out, fps=5, hold_frames=3, progress=False)
    assert _listing(tmp_path) == ["anim.gif"]  # nothing else written, no temp file left
    assert info.num_frames == trace.nfe + 1 + 3
    count, durations = _gif_frames(out)
    # Pillow stores the identical hold frames once, as a longer last frame.
    assert count == trace.nfe + 1
    assert durations[:-1] == [200] * trace.nfe
    assert durations[-1] == 200 * (1 + 3)
    with Image.open(out) as im:
        assert im.size == A.AnimationFigure(spec, [trace], ["x"]).size_px


def test_highlighted_pixels_are_the_cells_of_this_step(sudoku_trace):
    spec, result = sudoku_trace(9, seed=2, per_step=(2, 6))
    trace = row_trace(result)
    anim = A.AnimationFigure(spec, [trace], ["eb"], hold_frames=0)
    board = anim.boards[0]
    # a point on the black part of a cell's highlight outline: its left side, halfway down
    dx, dy = board.inset + 0.35 * board.outline_width / board.pts, 0.5
    for t in (1, trace.nfe // 2, trace.nfe):
        anim.show(t)
        rgb = anim.rgb()
        state = state_at(trace, t)
        for idx in range(spec.num_cells):
            if not (state.revealed[idx] or state.given[idx]):
                continue
            r, c = divmod(idx, spec.width)
            y, x = anim.cell_pixel(0, r, c, dx, dy)
            window = rgb[y, x - 2 : x + 3]  # a few pixels across the outline's black band
            dark = bool((window.max(axis=1) < 40).any())
            assert dark == bool(state.highlighted[idx]), (t, idx, window)


def test_incremental_frames_equal_full_redraws(sudoku_trace, maze_trace):
    # Frames are drawn by redrawing only the newly revealed cells; they must match a redraw of
    # the whole figure pixel for pixel, also when panels finish at different steps. One figure
    # plays every frame in order; a new figure, whose first frame is always drawn in full, is the
    # reference.
    for spec, results in (
        (
            sudoku_trace(9, seed=4)[0],
            [sudoku_trace(9, 4, per_step=p)[1] for p in ((3, 6), (7, 12))],
        ),
        (maze_trace()[0], [maze_trace(s, per_step=p)[1] for s, p in ((0, (1, 2)), (1, (3, 5)))]),
    ):
        traces = [row_trace(r) for r in results]
        anim = A.AnimationFigure(spec, traces, ["a", "b"], hold_frames=1)
        for f in range(anim.num_frames):
            anim.show(f)
            fast = anim.rgb()
            if f % 3 == 0 or f == anim.num_frames - 1:
                ref = A.AnimationFigure(spec, traces, ["a", "b"], hold_frames=1)
                ref.show(f)
                np.testing.assert_array_equal(fast, ref.rgb(), err_msg=f"frame {f}")
                ref.close()


def test_compare_mode_panels_and_timeline(sudoku_trace, tmp_path):
    spec, slow = sudoku_trace(4, seed=5, per_step=(1, 1))
    _, fast = sudoku_trace(4, seed=5, per_step=(3, 6))
    _, mid = sudoku_trace(4, seed=5, per_step=(2, 2))
    traces = [row_trace(r) for r in (slow, fast, mid)]
    labels = ["topk:k=1", "eb:gamma=1", "topk:k=2"]
    outcomes = ["valid answer", "invalid: row 1 repeats 2", None]
    anim = A.AnimationFigure(spec, traces, labels, hold_frames=2, outcomes=outcomes)
    assert anim.num_panels == 3
    assert len(anim.figure.axes) == 3 + 1  # three boards and the shared colour bar
    nfes = [t.nfe for t in traces]
    assert anim.num_frames == max(nfes) + 1 + 2
    assert fast.nfe.item() < slow.nfe.item()
    anim.show(anim.num_frames - 1)
    for ax, label, nfe, outcome in zip(anim.axes, labels, nfes, outcomes, strict=True):
        assert ax.get_title().startswith(label)
        assert f"NFE {nfe}" in ax.get_title()
        assert outcome is None or ax.get_title().endswith(outcome)
    anim.show(1)  # the outcome appears only once a panel is done
    assert all("valid" not in ax.get_title() for ax in anim.axes)
    out = tmp_path / "cmp.gif"
    info = A.write_animation(spec, traces, labels, out, hold_frames=2, progress=False)
    assert info.num_panels == 3 and info.steps.shape == (max(nfes) + 3, 3)
    count, _ = _gif_frames(out)
    assert count == max(nfes) + 1


def test_compare_needs_the_same_puzzle(sudoku_trace):
    spec, a = sudoku_trace(4, seed=0)
    _, b = sudoku_trace(4, seed=9)
    with pytest.raises(ValueError, match="same puzzle"):
        A.AnimationFigure(spec, [row_trace(a), row_trace(b)], ["a", "b"])


def test_maze_dots_mark_revealed_cells_off_the_path(maze_trace, tmp_path):
    spec, result = maze_trace(seed=0, per_step=(1, 3))
    trace = row_trace(result)
    anim = A.AnimationFigure(spec, [trace], ["eb"], color="confidence")
    board = anim.boards[0]
    assert sorted(board.texts) == [8, 40]  # S at (1, 1), G at (5, 5)
    for t in range(trace.nfe + 1):
        anim.show(t)
        state = state_at(trace, t)
        visible = {i for i, d in board.dots.items() if d.get_visible()}
        assert visible == set(np.flatnonzero(state.revealed & (state.values != PATH)).tolist())
    A.write_animation(spec, [trace], ["eb"], tmp_path / "maze.gif", progress=False)
    assert _gif_frames(tmp_path / "maze.gif")[0] == trace.nfe + 1


def test_color_scale_is_shared_and_covers_the_values(sudoku_trace):
    spec, a = sudoku_trace(4, seed=0, per_step=(1, 1))
    _, b = sudoku_trace(4, seed=0, per_step=(2, 2))
    traces = [row_trace(a), row_trace(b)]
    _, norm, label = A.color_scale(traces, "entropy")
    top = max(np.nanmax(t.entropy) for t in traces)
    assert norm.vmin == 0 and top <= norm.vmax <= top * 1.1 + 1e-9
    assert "nats" in label
    _, norm, label = A.color_scale(traces, "confidence")
    low = min(np.nanmin(t.prob) for t in traces)
    assert norm.vmax == 1 and norm.vmin <= low
    assert "probability" in label


def test_bad_output_suffix_writes_nothing(sudoku_trace, tmp_path):
    spec, result = sudoku_trace(4)
    with pytest.raises(UnmaskError, match=r"\.gif or \.mp4"):
        A.write_animation(spec, [row_trace(result)], ["a"], tmp_path / "a.avi", progress=False)
    assert _listing(tmp_path) == []


def test_mp4_without_ffmpeg_says_to_use_gif(sudoku_trace, tmp_path, monkeypatch):
    spec, result = sudoku_trace(4)
    monkeypatch.setattr(A.shutil, "which", lambda name: None)
    with pytest.raises(UnmaskError, match="ffmpeg.*FILE.gif"):
        A.write_animation(spec, [row_trace(result)], ["a"], tmp_path / "a.mp4", progress=False)
    assert _listing(tmp_path) == []


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH")
def test_mp4_with_ffmpeg(sudoku_trace, tmp_path):
    spec, result = sudoku_trace(4)
    A.write_animation(spec, [row_trace(result)], ["a"], tmp_path / "a.mp4", progress=False)
    assert _listing(tmp_path) == ["a.mp4"]
    assert (tmp_path / "a.mp4").stat().st_size > 1000


def test_failed_render_leaves_no_file(sudoku_trace, tmp_path, monkeypatch):
    spec, result = sudoku_trace(4, per_step=(1, 1))
    calls = {"n": 0}
    real = A.AnimationFigure.rgb

    def flaky(self):
        calls["n"] += 1
        if calls["n"] > 4:
            raise RuntimeError("boom")
        return real(self)

    monkeypatch.setattr(A.AnimationFigure, "rgb", flaky)
    (tmp_path / "old.gif").write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        A.write_animation(spec, [row_trace(result)], ["a"], tmp_path / "old.gif", progress=False)
    assert _listing(tmp_path) == ["old.gif"]
    assert (tmp_path / "old.gif").read_bytes() == b"previous"


# --- search traces: passes and the backtracks that take cells back ------------------------------


def _search_trace():
    """A real search on 4x4 puzzles with a mostly wrong state-dependent model, and a row that
    backtracked."""
    from puzzles import sudoku
    from puzzles.task import get_task
    from sampling.samplers import EBSampler
    from sampling.search import Search

    spec = get_task("sudoku").spec(4)
    puzzles, _, _ = sudoku.generate_many(8, seed=4, box=2, workers=1, progress=False)
    W = torch.randint(-4, 5, (16, 4, 16, 5), generator=torch.Generator().manual_seed(3)).float()

    def model(t):
        return 0.25 * torch.einsum("lvjc,bjc->blv", W, torch.nn.functional.one_hot(t, 5).float())

    tokens = torch.from_numpy(spec.encode_puzzle(puzzles))
    res = Search("backtrack", 0.0, max_nfe=None).run(model, EBSampler(0.1), spec, tokens,
                                                    record=True)  # fmt: skip
    row = int(torch.argmax(res.backtracks))
    assert res.backtracks[row] > 0
    return spec, res, row


def test_search_frames_show_every_pass_and_every_take_back():
    from viz.trace import frame_states

    spec, res, row = _search_trace()
    trace = row_trace(res, row)
    states = frame_states(trace)
    events = trace.events
    passes = [f.nfe for f in events]
    assert passes == sorted(passes) and passes[-1] == trace.nfe
    assert len(states) == len(events) + 1
    backs = [s for s in states if s.retracted.any()]
    assert len(backs) >= int(res.backtracks[row])  # every backtrack is a frame
    for s in backs:  # a take-back frame costs no pass; its cells are masked again or replaced
        before = states[s.step - 1]
        assert s.passes == before.passes
        back = np.flatnonzero(s.retracted)
        assert before.revealed[back].all()
        assert (~s.revealed[back] | (s.values[back] != before.values[back])).all()
    final = states[-1]
    assert np.array_equal(final.values[~final.given], trace.tokens[~final.given])


def test_search_animation_incremental_frames_equal_full_redraws(tmp_path):
    spec, res, row = _search_trace()
    trace = row_trace(res, row)
    anim = A.AnimationFigure(spec, [trace], ["eb+backtrack"], hold_frames=0)
    assert anim.num_frames == len(trace.events) + 1
    for f in range(anim.num_frames):
        anim.show(f)
        fast = anim.rgb()
        if f % 4 == 0 or f == anim.num_frames - 1:
            ref = A.AnimationFigure(spec, [trace], ["eb+backtrack"], hold_frames=0)
            ref.show(f)
            np.testing.assert_array_equal(fast, ref.rgb(), err_msg=f"frame {f}")
            ref.close()
    info = A.write_animation(spec, [trace], ["eb+backtrack"], tmp_path / "s.gif", progress=False)
    assert info.num_frames == len(trace.events) + 1 + 4
