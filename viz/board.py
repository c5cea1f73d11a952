"""Drawing one Sudoku or maze board on a matplotlib ``Axes``, frame after frame.

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

from puzzles.tokens import GOAL, PATH, START, WALL, TaskSpec
from viz.trace import FrameState

# Palette (colour-blind safe: a viridis scale for scores, greys for structure).
GIVEN_FILL = "#cfcfcf"  # Sudoku givens
START_GOAL_FILL = "#e66100"  # maze S and G (white letters); no viridis colour is orange
MASKED_SUDOKU = "#ffffff"  # Sudoku cells still masked
MASKED_MAZE = "#b3b3b3"  # maze corridor cells still masked
WALL_FILL = "#262626"
REVEALED_OPEN = "#ffffff"  # revealed maze cells off the path (their score shows as a dot)
NO_SCORE_FILL = "#7f7f7f"  # revealed cell whose trace has no score (should not happen)
HIGHLIGHT_OUTER = "#000000"
HIGHLIGHT_INNER = "#ffffff"
GRID_THIN = "#9a9a9a"


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


def draw_sudoku_lines(ax: Axes, spec: TaskSpec, pts: float) -> list:
    """Thin cell lines and thick box lines (box = sqrt(n)); returns their collections."""
    n = spec.height
    box = int(round(np.sqrt(n)))
    thin = [k for k in range(n + 1) if k % box]
    thick = [k for k in range(n + 1) if k % box == 0]
    lw_thin = max(0.5, pts / 60)
    lw_thick = max(1.5, pts / 16)
    return [
        ax.vlines(thin, 0, n, colors=GRID_THIN, linewidths=lw_thin, zorder=3),
        ax.hlines(thin, 0, n, colors=GRID_THIN, linewidths=lw_thin, zorder=3),
        ax.vlines(
            thick, 0, n, colors="black", linewidths=lw_thick, zorder=4, capstyle="projecting"
        ),
        ax.hlines(
            thick, 0, n, colors="black", linewidths=lw_thick, zorder=4, capstyle="projecting"
        ),
    ]


SUDOKU_DIGITS = "123456789ABCDEFG"  # as in the project's text format (puzzles.formats)


def digit_label(token: int) -> str:
    """Sudoku token (digit - 1) -> the character shown: 1-9, then A-G on 16x16 boards."""
    return SUDOKU_DIGITS[int(token)]


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


def draw_endpoints(ax: Axes, cells: np.ndarray, w: int, pts: float) -> dict[int, Text]:
    """Write S and G in white on a maze's start and goal; ``cells`` is the flat (H*W,) board,
    ``pts`` a cell's size in points. Returns {flat index: Text}."""
    texts = {}
    for idx in np.flatnonzero((cells == START) | (cells == GOAL)):
        r, c = divmod(int(idx), w)
        texts[int(idx)] = ax.text(
            c + 0.5,
            r + 0.53,
            "S" if cells[idx] == START else "G",
            ha="center",
            va="center",
            fontsize=pts * 0.7,
            fontweight="bold",
            color="white",
            zorder=5,
        )
    return texts


class BoardArtist:
    """The artists of one board; ``update(state)`` points them at a ``FrameState``.

    Layers, bottom to top: the cell-fill image and Sudoku grid lines (``fill_layers``), maze
    dots (score of revealed cells off the path), one text per cell index (Sudoku digits, maze S
    and G), and the highlight outlines of the cells revealed in the current step (``overlay``).
    ``draw_board`` draws all but the overlay; ``draw_cells`` redraws only some cells on top of
    an earlier rendering. ``puzzle`` (L,) holds the given tokens (-1 where masked).
    """

    def __init__(
        self, ax: Axes, spec: TaskSpec, cmap: Colormap, norm: Normalize, puzzle: np.ndarray
    ):
        self.ax, self.spec, self.cmap, self.norm = ax, spec, cmap, norm
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
        if spec.task == "sudoku":
            self.fill_layers.extend(draw_sudoku_lines(ax, spec, pts))
            size = pts * (0.55 if spec.height < 10 else 0.5)
            for idx in range(spec.num_cells):
                r, c = divmod(idx, w)
                self.texts[idx] = ax.text(
                    c + 0.5, r + 0.53, "", ha="center", va="center", fontsize=size, zorder=5
                )
        else:
            # Revealed cells off the path: white with a dot in their score's colour.
            # One circle per maze cell to fill (separate artists draw identically whether all
            # or a few are drawn, unlike a scatter, so ``draw_cells`` matches a full redraw).
            for idx in np.flatnonzero(puzzle < 0):
                r, c = divmod(int(idx), w)
                dot = Circle((c + 0.5, r + 0.5), 0.19, linewidth=0, zorder=3, visible=False)
                self.dots[int(idx)] = ax.add_patch(dot)
            self.texts.update(draw_endpoints(ax, puzzle, w, pts))
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
        ax.add_collection(self.outline_outer)
        ax.add_collection(self.outline_inner)
        self.overlay = [self.outline_outer, self.outline_inner]

    def fills(self, state: FrameState) -> np.ndarray:
        """(H, W, 4) RGBA cell fills for ``state``."""
        spec = self.spec
        values = state.values
        rgba = np.empty((spec.num_cells, 4))
        if spec.task == "sudoku":
            rgba[:] = to_rgba(MASKED_SUDOKU)
            rgba[state.given] = to_rgba(GIVEN_FILL)
        else:
            rgba[:] = to_rgba(MASKED_MAZE)
            rgba[state.given & (values == WALL)] = to_rgba(WALL_FILL)
            rgba[state.given & ((values == START) | (values == GOAL))] = to_rgba(START_GOAL_FILL)
        rev = state.revealed
        if rev.any():
            score = state.score[rev]
            colored = np.asarray(self.cmap(self.norm(np.nan_to_num(score, nan=0.0))))
            colored[np.isnan(score)] = to_rgba(NO_SCORE_FILL)
            if spec.task == "maze":
                on_path = values[rev] == PATH
                colored = np.where(on_path[:, None], colored, to_rgba(REVEALED_OPEN))
            rgba[rev] = colored
        rgba[:, 3] = 1.0
        return rgba.reshape(spec.height, spec.width, 4)

    def update(self, state: FrameState) -> None:
        """Point every artist at ``state`` (no drawing happens here)."""
        rgba = self.fills(state)
        self.image.set_data(rgba)
        flat = rgba.reshape(-1, 4)
        w = self.spec.width
        if self.spec.task == "sudoku":
            for idx, text in self.texts.items():
                v = int(state.values[idx])
                if v < 0:
                    text.set_text("")
                    continue
                text.set_text(digit_label(v))
                text.set_color(text_color(flat[idx]))
                text.set_fontweight("bold" if state.given[idx] else "normal")
        else:
            off = state.revealed & (state.values != PATH)
            colors = self.cmap(self.norm(np.nan_to_num(state.score)))  # (L, 4)
            for idx, dot in self.dots.items():
                dot.set_visible(bool(off[idx]))
                if off[idx]:
                    dot.set_facecolor(colors[idx])
        segs = _outline_segments(np.flatnonzero(state.highlighted), w, self.inset)
        self.outline_outer.set_segments(segs)
        self.outline_inner.set_segments(segs)

    def outline_probe(self) -> tuple[float, float]:
        """(dx, dy) in cell units of a point on the black part of a cell's highlight outline
        (its left side, halfway down), for tests that read pixels."""
        return self.inset + 0.35 * self.outline_width / self.pts, 0.5

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
