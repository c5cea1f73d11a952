"""Animations of the unmasking order: one frame per forward pass, one panel per sampler.

``AnimationFigure`` lays out the panels on one ``matplotlib.figure.Figure`` (Agg canvas, no pyplot
state) and redraws them for a frame index of the shared timeline from ``viz.trace.frame_steps``.
``write_animation`` renders every frame to a GIF (Pillow, always available) or an MP4 (ffmpeg,
when it is on PATH), written atomically.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from puzzles.atomic import atomic_write_bytes
from puzzles.errors import UnmaskError
from puzzles.task import TaskSpec
from viz import board as B
from viz.renderers import renderer_for
from viz.trace import RowTrace, frame_states, frame_steps

FORMATS = (".gif", ".mp4")

# Figure geometry in pixels at DPI. Boards are placed on whole pixels with a whole number of
# pixels per cell, so a cell can be redrawn alone without seams (see ``AnimationFigure.rgb``).
DPI = 100
_TITLE_H = 42  # figure title
_PANEL_TITLE_H = 62  # two lines above each board
_LEGEND_H = 50
_LEFT = 25
_GAP = 45
_CBAR_GAP = 30
_CBAR_W = 20
_CBAR_LABEL = 95


def color_scale(traces: Sequence[RowTrace], color: str) -> tuple[str, Normalize, str]:
    """(colormap name, shared norm, colour bar label) for ``color`` across all panels.

    Bright means uncertain for both scales: entropy on viridis (0 nats dark), confidence on
    reversed viridis (probability 1 dark). The range spans what the traces hold, so a confident
    model still shows its differences; the colour bar gives the numbers.
    """
    parts = [t.color_values(color)[t.reveal_step >= 1] for t in traces]
    for t in traces:  # a search's frames also show values it later took back
        for f in t.events or ():
            parts.append((f.entropy if color == "entropy" else f.prob)[f.values >= 0])
    values = np.concatenate(parts)
    values = values[np.isfinite(values)]
    if color == "entropy":
        top = float(values.max()) if values.size else 0.0
        vmax = _round_up(max(top, 0.01))
        return "viridis", Normalize(0.0, vmax), "entropy at reveal (nats)"
    low = float(values.min()) if values.size else 1.0
    vmin = 1.0 - _round_up(max(1.0 - low, 0.01))
    return "viridis_r", Normalize(vmin, 1.0), "confidence at reveal (probability of placed value)"


def _round_up(x: float) -> float:
    """Round up to two significant digits (0.0137 -> 0.014, 1.93 -> 2.0)."""
    if x <= 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(x)) - 1)
    return math.ceil(x / scale - 1e-9) * scale


class AnimationFigure:
    """Panels side by side on one timeline; ``show(frame)`` then ``rgb()`` gives one frame.

    traces: one ``RowTrace`` per panel (same puzzle, same spec); labels: the sampler of each.
    ``steps`` (F, P) is the step each panel shows in each frame (``viz.trace.frame_steps``).
    """

    def __init__(
        self,
        spec: TaskSpec,
        traces: Sequence[RowTrace],
        labels: Sequence[str],
        *,
        color: str = "entropy",
        hold_frames: int = 4,
        title: str | None = None,
        outcomes: Sequence[str | None] | None = None,
    ):
        if not traces:
            raise ValueError("need at least one trace")
        if len(labels) != len(traces):
            raise ValueError("one label per trace")
        for t in traces:
            if t.tokens.shape != (spec.num_cells,):
                raise ValueError(f"trace of {t.tokens.shape[0]} cells for a {spec.task} spec")
        if len({tuple(t.given) for t in traces}) > 1:
            raise ValueError("compare panels must show the same puzzle (givens differ)")
        self.spec, self.traces, self.labels, self.color = spec, list(traces), list(labels), color
        self.outcomes = list(outcomes) if outcomes is not None else [None] * len(traces)
        if len(self.outcomes) != len(traces):
            raise ValueError("one outcome per trace")
        # one FrameState per frame of each panel: passes (and a search's backtracks)
        self.timelines = [frame_states(t, color=color) for t in self.traces]
        self.steps = frame_steps([len(tl) - 1 for tl in self.timelines], hold_frames)  # (F, P)
        cmap_name, self.norm, cbar_label = color_scale(self.traces, color)
        self.cmap = matplotlib.colormaps[cmap_name]

        p = len(traces)
        cell = max(12, round(B.board_inches(spec) * DPI / max(spec.height, spec.width)))
        bw, bh = cell * spec.width, cell * spec.height  # board size in pixels
        width = _LEFT + p * bw + (p - 1) * _GAP + _CBAR_GAP + _CBAR_W + _CBAR_LABEL
        height = _LEGEND_H + bh + _PANEL_TITLE_H + _TITLE_H
        width, height = width + width % 2, height + height % 2  # even sizes suit H.264
        self.size_px = (width, height)
        self.figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.figure)
        self.axes = []
        self.boards: list[B.BoardArtist] = []
        for i, trace in enumerate(self.traces):
            left = _LEFT + i * (bw + _GAP)
            ax = self.figure.add_axes((left / width, _LEGEND_H / height, bw / width, bh / height))
            self.axes.append(ax)
            puzzle = np.where(trace.given, trace.tokens, -1)
            self.boards.append(B.BoardArtist(ax, spec, self.cmap, self.norm, puzzle))
            ax.set_title(" ", fontsize=11, linespacing=1.4, pad=6)
        cax_left = _LEFT + p * bw + (p - 1) * _GAP + _CBAR_GAP
        cax = self.figure.add_axes(
            (cax_left / width, _LEGEND_H / height, _CBAR_W / width, bh / height)
        )
        cbar = self.figure.colorbar(ScalarMappable(norm=self.norm, cmap=self.cmap), cax=cax)
        cbar.set_label(cbar_label, fontsize=10)
        self.colorbar = cbar
        if title:
            self.figure.suptitle(title, y=1 - 10 / height, va="top", fontsize=13)
        self.figure.legend(
            handles=_legend_handles(spec, search=any(t.events for t in self.traces)),
            loc="lower center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=5,
            frameon=False,
            fontsize=9.5,
            handlelength=1.2,
            columnspacing=1.2,
        )
        # Rendering state: the board artists are drawn by hand (``rgb``), not by canvas.draw().
        for board, ax in zip(self.boards, self.axes, strict=True):
            for artist in [*board.artists, ax.title]:
                artist.set_animated(True)
        self._static = None  # figure without boards and panel titles
        self._base = None  # figure with boards at ``_base_steps``, no outlines or panel titles
        self._base_steps: np.ndarray | None = None
        self._base_states: list | None = None
        self._clip_paths: list = []
        self._shown = self.steps[0]
        self.show(0)

    @property
    def num_frames(self) -> int:
        return int(self.steps.shape[0])

    @property
    def num_panels(self) -> int:
        return len(self.axes)

    def show(self, frame: int) -> None:
        """Point every panel at its step in frame ``frame`` of the timeline (no drawing)."""
        self._shown = self.steps[frame]
        for ax, board, timeline, label, outcome, step in zip(
            self.axes,
            self.boards,
            self.timelines,
            self.labels,
            self.outcomes,
            self._shown,
            strict=True,
        ):
            state = timeline[int(step)]
            board.update(state)
            status = _status(state, outcome, last=int(step) == len(timeline) - 1)
            ax.set_title(f"{label}\n{status}", fontsize=11, linespacing=1.4, pad=6)

    def rgb(self) -> np.ndarray:
        """Render the frame chosen by ``show``: uint8 array (height_px, width_px, 3).

        The fixed parts (figure title, legend, colour bar) are drawn once. The boards are kept
        as a layer that, when frames go forward, only redraws the cells whose value, fill or
        score changed since the last frame (clipped to those cells); outlines and panel titles
        go on top each frame.
        """
        draw = self.figure.draw_artist
        if self._static is None:
            self.canvas.draw()  # animated artists are skipped
            self._static = self.canvas.copy_from_bbox(self.figure.bbox)
        steps = self._shown
        if self._base is None or (steps < self._base_steps).any():
            self.canvas.restore_region(self._static)
            for board in self.boards:
                board.draw_board(draw)
        else:
            self.canvas.restore_region(self._base)
            for board, timeline, old, new in zip(
                self.boards, self.timelines, self._base_steps, steps, strict=True
            ):
                if new == old:
                    continue
                changed = np.flatnonzero(_differs(timeline[int(old)], timeline[int(new)]))
                board.draw_cells(draw, changed, self._clip_paths)
        self._base = self.canvas.copy_from_bbox(self.figure.bbox)
        self._base_steps = steps.copy()
        for board, ax in zip(self.boards, self.axes, strict=True):
            for artist in board.overlay:
                draw(artist)
            draw(ax.title)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def rgba_buffer(self) -> np.ndarray:
        """The canvas as rendered by the last ``rgb()``: (height_px, width_px, 4), no copy."""
        return np.asarray(self.canvas.buffer_rgba())

    def cell_pixel(self, panel: int, row: int, col: int, dx: float = 0.5, dy: float = 0.5):
        """(y, x) pixel of the point ``(col + dx, row + dy)`` of a board, in ``rgb()`` arrays."""
        x, y = self.axes[panel].transData.transform((col + dx, row + dy))
        return int(math.floor(self.size_px[1] - y)), int(math.floor(x))

    def close(self) -> None:
        self.figure.clear()


def _differs(a, b) -> np.ndarray:
    """(L,) bool: cells drawn differently in two states of one board."""
    score = ~((a.score == b.score) | (np.isnan(a.score) & np.isnan(b.score)))
    return (a.values != b.values) | (a.revealed != b.revealed) | score


def _status(state, outcome: str | None = None, last: bool | None = None) -> str:
    """Second title line: passes, cells revealed so far, NFE; the outcome once done."""
    total = state.num_masked
    done = state.passes == state.nfe if last is None else last
    if state.step == 0:
        return f"start: {total} cells masked · NFE 0"
    if state.retracted.any():
        return f"backtrack: {int(state.retracted.sum())} cells taken back · NFE {state.passes}"
    if done:
        if outcome:
            return f"done · NFE {state.nfe} · {outcome}"
        return f"done: {state.num_revealed}/{total} cells revealed · NFE {state.nfe}"
    return (f"pass {state.passes} of {state.nfe} · {state.num_revealed}/{total} revealed · "
            f"NFE {state.passes}")  # fmt: skip


def _legend_handles(spec: TaskSpec, search: bool = False) -> list:
    outline = Line2D(
        [],
        [],
        marker="s",
        linestyle="none",
        markersize=11,
        markerfacecolor="none",
        markeredgecolor="black",
        markeredgewidth=2.5,
        label="revealed in this pass",
    )
    handles = [*renderer_for(spec).legend(spec), outline]
    if search:
        handles.append(
            Line2D([], [], marker="s", linestyle="none", markersize=11, markerfacecolor="none",
                   markeredgecolor=B.RETRACTED, markeredgewidth=2.0, label="taken back (search)")
        )  # fmt: skip
    return handles


@dataclass(frozen=True)
class AnimationInfo:
    """What ``write_animation`` wrote: the timeline has ``num_frames`` frames (holds included).

    A GIF stores runs of identical frames once with a longer duration (Pillow merges them), so
    the held last frame is one GIF frame lasting ``hold_frames + 1`` frame durations.
    """

    path: Path
    num_frames: int
    num_panels: int
    steps: np.ndarray  # (F, P) step shown by each panel in each frame
    fps: float


def write_animation(
    spec: TaskSpec,
    traces: Sequence[RowTrace],
    labels: Sequence[str],
    out: str | os.PathLike,
    *,
    color: str = "entropy",
    fps: float = 4.0,
    hold_frames: int = 4,
    title: str | None = None,
    outcomes: Sequence[str | None] | None = None,
    progress: bool = True,
) -> AnimationInfo:
    """Render the animation of ``traces`` (one panel each) to ``out`` (.gif or .mp4), atomically.

    ``outcomes`` (optional, one per panel) is shown once a panel is done, e.g. "valid answer".
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise UnmaskError(f"{out}: animation must be written as .gif or .mp4, not {suffix!r}")
    if not fps > 0:
        raise UnmaskError(f"--fps must be positive, got {fps}")
    if hold_frames < 0:
        raise UnmaskError(f"--hold-frames must be >= 0, got {hold_frames}")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise UnmaskError(
            f"{out}: writing MP4 needs ffmpeg on PATH and none was found; use --out FILE.gif"
        )
    anim = AnimationFigure(
        spec,
        traces,
        labels,
        color=color,
        hold_frames=hold_frames,
        title=title,
        outcomes=outcomes,
    )
    _check_memory(anim, out)
    frames = range(anim.num_frames)
    bar = _progress(frames, progress, desc=f"animate {out.name}")
    try:
        if suffix == ".gif":
            _write_gif(anim, bar, out, fps)
        else:
            _write_mp4(anim, bar, out, fps)
    finally:
        with contextlib.suppress(AttributeError):
            bar.close()
        anim.close()
    return AnimationInfo(out, anim.num_frames, anim.num_panels, anim.steps, fps)


def _check_memory(anim: AnimationFigure, out: Path) -> None:
    """UnmaskError (and the figure closed) when the frames would not fit in memory: a GIF keeps
    one byte per pixel of every frame until it is written."""
    from puzzles.generate import check_fits

    h, w = anim.size_px
    try:
        check_fits(anim.num_frames * h * w * 2, f"{out}: {anim.num_frames} frames of {w}x{h} "
                   "pixels need", "use fewer --hold-frames", share=0.5)  # fmt: skip
    except UnmaskError:
        anim.close()
        raise


def _progress(frames, enabled: bool, desc: str):
    if not enabled:
        return frames
    from tqdm import tqdm

    return tqdm(frames, desc=desc, unit="frame", file=sys.stderr, leave=False)


def _write_gif(anim: AnimationFigure, frames, out: Path, fps: float) -> None:

    # One palette for every frame, so colours do not flicker: the 256 most frequent exact colours
    # of the first and last frames (between them every fill colour; white and black exact).
    anim.show(0)
    first = anim.rgb()
    anim.show(anim.num_frames - 1)
    last = anim.rgb()
    scale = (anim.cmap(np.linspace(0, 1, 64))[:, :3] * 255).round()  # (64, 3) colour bar
    palette = _Palette(np.concatenate([first, last], axis=0), extra=scale)
    images = []
    for f in frames:
        anim.show(f)
        anim.rgb()
        images.append(palette.convert(anim.rgba_buffer()))
    duration = int(round(1000.0 / fps))
    buf = io.BytesIO()
    images[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=[duration] * len(images),
        loop=0,
        optimize=False,
        disposal=1,
    )
    atomic_write_bytes(out, buf.getvalue())


def _pack(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3 or 4) uint8 -> (H, W) uint32 keys b << 16 | g << 8 | r (alpha dropped)."""
    if rgb.shape[-1] == 3:
        rgb = np.concatenate([rgb, np.zeros_like(rgb[..., :1])], axis=-1)
    rgba = np.ascontiguousarray(rgb, dtype=np.uint8)
    return rgba.view("<u4")[..., 0] & np.uint32(0xFFFFFF)


def _unpack(keys: np.ndarray) -> np.ndarray:
    """(N,) keys from ``_pack`` -> (N, 3) int64 RGB."""
    keys = keys.astype(np.int64)
    return np.stack([keys & 255, (keys >> 8) & 255, (keys >> 16) & 255], axis=1)


class _Palette:
    """Exact-where-possible mapping of RGB frames onto one 256-colour palette.

    The palette holds ``extra`` colours (the colour bar's scale, so its gradient stays smooth)
    and the most frequent colours of a sample image; every other colour maps to its nearest
    palette entry (squared RGB distance), found once and cached in a table. (Pillow's own
    quantize-to-palette is approximate: it maps pure white to a near-white.)
    """

    def __init__(self, sample: np.ndarray, extra: np.ndarray | None = None):
        colors, counts = np.unique(_pack(sample), return_counts=True)
        order = colors[np.argsort(-counts, kind="stable")]
        keep = np.zeros(0, dtype=order.dtype)
        if extra is not None and len(extra):
            keep = np.unique(_pack(np.asarray(extra, dtype=np.uint8)[None]))[:128]
        rest = order[~np.isin(order, keep)][: 256 - len(keep)]
        top = np.concatenate([rest, keep])
        self.rgb = _unpack(top)  # (K, 3)
        self.lut = np.full(1 << 24, -1, dtype=np.int16)  # packed RGB -> palette index
        self.lut[top] = np.arange(len(top))
        entries = self.rgb.astype(np.uint8).reshape(-1).tolist()
        self.entries = entries + entries[:3] * (256 - len(top))

    def convert(self, rgb: np.ndarray):
        """(H, W, 3 or 4) uint8 -> a "P" mode PIL image on this palette."""
        from PIL import Image

        keys = _pack(rgb)  # (H, W)
        idx = self.lut[keys]
        missing = np.unique(keys[idx < 0])
        if missing.size:
            want = _unpack(missing)
            dist = ((want[:, None, :] - self.rgb[None, :, :]) ** 2).sum(-1)  # (M, K)
            self.lut[missing] = dist.argmin(1)
            idx = self.lut[keys]
        image = Image.fromarray(idx.astype(np.uint8), mode="P")
        image.putpalette(self.entries)
        return image


def _write_mp4(anim: AnimationFigure, frames, out: Path, fps: float) -> None:
    """Pipe raw RGB frames to ffmpeg (H.264, yuv420p: plays everywhere); temp file, then rename."""
    import subprocess

    anim.show(0)
    height, width, _ = anim.rgb().shape
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".mp4", dir=out.parent)
    os.close(fd)
    cmd = [
        shutil.which("ffmpeg") or "ffmpeg",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        f"{fps:g}",
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        tmp,
    ]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for f in frames:
                anim.show(f)
                proc.stdin.write(anim.rgb().tobytes())
        except BrokenPipeError:
            pass
        _, err = proc.communicate()
        if proc.returncode != 0:
            reason = err.decode(errors="replace").strip().splitlines()
            raise UnmaskError(f"{out}: ffmpeg failed ({reason[-1] if reason else 'no message'})")
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
