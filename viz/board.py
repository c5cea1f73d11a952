"""Drawing one board on a matplotlib ``Axes``, frame after frame (its look: ``viz.renderers``).

``BoardArtist`` creates its artists once (an RGBA image for the cell fills, one text per cell,
one line collection for the highlight outlines) and ``update(state)`` only changes their data, so
an animation of hundreds of frames costs one canvas draw per frame. Cell ``(r, c)`` covers
``[c, c+1] x [r, r+1]`` in data coordinates with row 0 at the top.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap, Normalize, to_rgba
from matplotlib.patches import Circle
from matplotlib.path import Path
from matplotlib.text import Text

from puzzles.task import TaskSpec
from viz.renderers import renderer_for
from viz.trace import FrameState

NO_SCORE_FILL = "#7f7f7f"  # revealed cell whose trace has no score (should not happen)
HIGHLIGHT_OUTER = "#000000"
HIGHLIGHT_INNER = "#ffffff"
RETRACTED = "#d62728"  # outline of cells a search took back


def board_inches(spec: TaskSpec) -> float:
    """Side of one board in inches: larger boards get more room so digits stay readable."""
    cells = max(spec.height, spec.width)
    return float(np.clip(0.5 * cells, 4.4, 7.0))


def cell_points(ax: Axes, spec: TaskSpec) -> float:
    """Size of one cell in typographic points, from the axes' size on its figure."""
    fig = ax.get_figure()
    width_in = ax.get_position().width * fig.get_figwidth()
    height_in = ax.get_position().height * fig.get_figheight()
    return 72.0 * min(width_in / spec.width, height_in / spec.height)


def setup_board_axes(ax: Axes, spec: TaskSpec) -> None:
    """Limits, aspect and no ticks; row 0 at the top."""
    ax.set_xlim(0, spec.width)
    ax.set_ylim(spec.height, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)


def text_color(rgba: np.ndarray) -> str:
    """Black or white, whichever reads better on the fill (relative luminance)."""
    r, g, b = rgba[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "white"


def _outline_segments(cells: np.ndarray, width: int, inset: float) -> list[np.ndarray]:
    """Closed square outlines, inset into each cell, for flat cell indices ``cells``."""
    segs = []
    for idx in cells:
        r, c = divmod(int(idx), width)
        x0, y0, x1, y1 = c + inset, r + inset, c + 1 - inset, r + 1 - inset
        segs.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]))
    return segs


class BoardArtist:
    """The artists of one board; ``update(state)`` points them at a ``FrameState``.

    What the board looks like comes from the family's renderer (``viz.renderers``). Layers,
    bottom to top: the cell-fill image and grid lines (``fill_layers``), dots (score of revealed
    cells the renderer marks with a dot, such as maze cells off the path), one text per cell
    (values, or fixed marks such as a maze's S and G), and the highlight outlines of the cells
    revealed in the current step (``overlay``).
    ``draw_board`` draws all but the overlay; ``draw_cells`` redraws only some cells on top of
    an earlier rendering. ``puzzle`` (L,) holds the given tokens (-1 where masked).
    """

    def __init__(
        self, ax: Axes, spec: TaskSpec, cmap: Colormap, norm: Normalize, puzzle: np.ndarray
    ):
        self.ax, self.spec, self.cmap, self.norm = ax, spec, cmap, norm
        self.renderer = renderer_for(spec)
        setup_board_axes(ax, spec)
        pts = cell_points(ax, spec)
        self.pts = pts
        h, w = spec.height, spec.width
        self.image = ax.imshow(
            np.ones((h, w, 4)),
            extent=(0, w, h, 0),
            interpolation="nearest",
            origin="upper",
            zorder=1,
        )
        self.fill_layers: list = [self.image]
        self.texts: dict[int, Text] = {}
        self.dots: dict[int, Circle] = {}
        self.fill_layers.extend(self.renderer.draw_lines(ax, spec, pts))
        if self.renderer.has_text(spec):
            size = pts * (0.55 if spec.height < 10 else 0.5)
            for idx in range(spec.num_cells):
                r, c = divmod(idx, w)
                self.texts[idx] = ax.text(
                    c + 0.5, r + 0.53, "", ha="center", va="center", fontsize=size, zorder=5
                )
        if self.renderer.score_mark == "dot":
            # One circle per cell to fill (separate artists draw identically whether all or a
            # few are drawn, unlike a scatter, so ``draw_cells`` matches a full redraw).
            for idx in np.flatnonzero(puzzle < 0):
                r, c = divmod(int(idx), w)
                dot = Circle((c + 0.5, r + 0.5), 0.19, linewidth=0, zorder=3, visible=False)
                self.dots[int(idx)] = ax.add_patch(dot)
        self.fixed_texts = self.renderer.draw_marks(ax, spec, puzzle, pts)
        self.texts.update(self.fixed_texts)
        # Highlight: a black outer and a white inner outline read on every fill colour.
        lw = float(np.clip(pts / 8, 2.5, 6.0))
        style = dict(capstyle="projecting", joinstyle="miter")  # closed corners
        self.outline_outer = LineCollection(
            [], colors=HIGHLIGHT_OUTER, linewidths=lw, zorder=6, **style
        )
        self.outline_inner = LineCollection(
            [], colors=HIGHLIGHT_INNER, linewidths=lw / 2.5, zorder=7, **style
        )
        self.outline_width = lw  # points
        self.inset = min(0.45, lw / pts / 2 + 0.05)  # the outline sits inside its cell
        # Cells a search just took back: a red dashed outline.
        self.outline_retracted = LineCollection(
            [], colors=RETRACTED, linewidths=lw / 1.5, linestyles=(0, (2, 1)), zorder=8, **style
        )
        ax.add_collection(self.outline_outer)
        ax.add_collection(self.outline_inner)
        ax.add_collection(self.outline_retracted)
        self.overlay = [self.outline_outer, self.outline_inner, self.outline_retracted]

    def fills(self, state: FrameState) -> np.ndarray:
        """(H, W, 4) RGBA cell fills for ``state``."""
        spec = self.spec
        values = state.values
        rgba = self.renderer.base_fills(spec, values, state.given)
        rev = state.revealed
        if rev.any():
            score = state.score[rev]
            colored = np.asarray(self.cmap(self.norm(np.nan_to_num(score, nan=0.0))))
            colored[np.isnan(score)] = to_rgba(NO_SCORE_FILL)
            rgba[rev] = self.renderer.revealed_fills(values[rev], colored)
        rgba[:, 3] = 1.0
        return rgba.reshape(spec.height, spec.width, 4)

    def update(self, state: FrameState) -> None:
        """Point every artist at ``state`` (no drawing happens here)."""
        rgba = self.fills(state)
        self.image.set_data(rgba)
        flat = rgba.reshape(-1, 4)
        w = self.spec.width
        for idx, text in self.texts.items():
            if idx in self.fixed_texts:
                continue
            v = int(state.values[idx])
            if v < 0:
                text.set_text("")
                continue
            text.set_text(self.renderer.label(self.spec, v))
            text.set_color(text_color(flat[idx]))
            text.set_fontweight("bold" if state.given[idx] else "normal")
        if self.dots:
            off = self.renderer.dotted(state.values, state.revealed)
            colors = self.cmap(self.norm(np.nan_to_num(state.score)))  # (L, 4)
            for idx, dot in self.dots.items():
                dot.set_visible(bool(off[idx]))
                if off[idx]:
                    dot.set_facecolor(colors[idx])
        segs = _outline_segments(np.flatnonzero(state.highlighted), w, self.inset)
        self.outline_outer.set_segments(segs)
        self.outline_inner.set_segments(segs)
        back = _outline_segments(np.flatnonzero(state.retracted), w, self.inset)
        self.outline_retracted.set_segments(back)

    @property
    def artists(self) -> list:
        """Every artist this board draws by hand (they are set animated by the caller)."""
        return [*self.fill_layers, *self.dots.values(), *self.texts.values(), *self.overlay]

    def draw_board(self, draw) -> None:
        """Draw fills, lines, dots and texts (not the overlay) with ``draw(artist)``."""
        for artist in self.fill_layers:
            draw(artist)
        for dot in self.dots.values():
            draw(dot)
        for text in self.texts.values():
            draw(text)

    def draw_cells(self, draw, cells: np.ndarray, keep: list) -> None:
        """Redraw only ``cells`` (flat indices) over an earlier rendering of this board.

        Fills and lines are clipped to the cells' squares; dots and texts are drawn for those
        cells only. ``keep`` collects
        the clip paths: Agg reuses its clip mask when a new path has the id() of the previous
        one, so every clip path must stay alive while the canvas is in use.
        """
        clip = self.cells_path(cells)
        keep.append(clip)
        for artist in self.fill_layers:
            artist.set_clip_path(clip, self.ax.transData)
            draw(artist)
            artist.set_clip_path(self.ax.patch)
        for idx in cells:
            dot = self.dots.get(int(idx))
            if dot is not None:
                draw(dot)
        for idx in cells:
            text = self.texts.get(int(idx))
            if text is not None:
                draw(text)

    def cells_path(self, cells: np.ndarray) -> Path:
        """A compound path of the squares of ``cells`` (flat indices), in data coordinates."""
        verts, codes = [], []
        for idx in cells:
            r, c = divmod(int(idx), self.spec.width)
            verts += [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1), (c, r)]
            codes += [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
        return Path(np.asarray(verts, dtype=float), codes)
