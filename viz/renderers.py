"""How each puzzle family looks: a renderer registry of viz's own (presentation stays out of
``puzzles``).

A ``Renderer`` decides a board's fills, the text in its cells, the lines and marks drawn on it
and the legend entries. ``renderer_for(spec)`` picks the family's renderer, or the generic
``GridRenderer`` (each value as text on a grid, givens bold on grey) for a family that has no
renderer of its own; ``register_renderer`` adds one.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from puzzles.task import TaskSpec
from puzzles.tokens import GOAL, PATH, START, WALL

# Palette (colour-blind safe: a viridis scale for scores, greys for structure).
GIVEN_FILL = "#cfcfcf"  # givens of grid puzzles
START_GOAL_FILL = "#e66100"  # maze S and G (white letters); no viridis colour is orange
MASKED_GRID = "#ffffff"  # grid cells still masked
MASKED_MAZE = "#b3b3b3"  # maze corridor cells still masked
WALL_FILL = "#262626"
REVEALED_OPEN = "#ffffff"  # revealed maze cells off the path (their score shows as a dot)
GRID_THIN = "#9a9a9a"


class GridRenderer:
    """Any family: each cell's value written as text (the family's own characters), givens bold
    on grey, cells still masked white, revealed cells filled with their score's colour."""

    #: How a revealed cell shows its score: "fill" (the whole cell) or "dot" (a dot on white).
    score_mark = "fill"

    def title(self, spec: TaskSpec) -> str:
        family = spec.family
        return f"{family.title or family.name} {spec.height}x{spec.width}"

    def label(self, spec: TaskSpec, token: int) -> str:
        """The text shown for a value token."""
        family = spec.family
        code = int(token) + family.token_offset
        chars = family.board_chars
        return chars[code] if 0 <= code < len(chars) else str(code)

    def has_text(self, spec: TaskSpec) -> bool:
        """Whether every cell carries its value as text."""
        return True

    def base_fills(self, spec: TaskSpec, values: np.ndarray, given: np.ndarray) -> np.ndarray:
        """(L, 4) RGBA of givens and of cells still masked (revealed cells are painted over)."""
        rgba = np.empty((spec.num_cells, 4))
        rgba[:] = to_rgba(MASKED_GRID)
        rgba[given] = to_rgba(GIVEN_FILL)
        return rgba

    def revealed_fills(self, values: np.ndarray, colored: np.ndarray) -> np.ndarray:
        """(R, 4) fills of revealed cells from their score colours (R, 4)."""
        return colored

    def dotted(self, values: np.ndarray, revealed: np.ndarray) -> np.ndarray:
        """(L,) bool: revealed cells that show their score as a dot (``score_mark == "dot"``)."""
        return np.zeros_like(revealed)

    def draw_lines(self, ax: Axes, spec: TaskSpec, pts: float) -> list:
        """Grid lines on top of the fills; returns their artists."""
        h, w = spec.height, spec.width
        lw = max(0.5, pts / 60)
        return [
            ax.vlines(range(w + 1), 0, h, colors=GRID_THIN, linewidths=lw, zorder=3),
            ax.hlines(range(h + 1), 0, w, colors=GRID_THIN, linewidths=lw, zorder=3),
        ]

    def draw_marks(self, ax: Axes, spec: TaskSpec, puzzle: np.ndarray, pts: float) -> dict:
        """Fixed texts on given cells that never change ({flat index: Text}); none here."""
        return {}

    def legend(self, spec: TaskSpec) -> list:
        """Legend entries of an animation (besides the outline of the current pass)."""
        return [
            Patch(facecolor=GIVEN_FILL, edgecolor="black", label="given (bold)"),
            Patch(facecolor=MASKED_GRID, edgecolor="black", label="still masked"),
        ]

    # --- the reveal-order figure --------------------------------------------------------
    def order_given_fills(self, spec: TaskSpec, tokens: np.ndarray, given: np.ndarray):
        """(L, 4) fills of the givens in the reveal-order heatmap."""
        return self.base_fills(spec, tokens, given)

    def order_numbers(self, spec: TaskSpec, text_points: float) -> bool:
        """Write each revealed cell's pass number?"""
        return True

    def order_overlay(self, ax: Axes, spec: TaskSpec, tokens: np.ndarray, pts: float) -> list:
        """Draw lines and marks over the heatmap; returns the legend entries."""
        self.draw_lines(ax, spec, pts)
        return [Patch(facecolor=GIVEN_FILL, edgecolor="black", label="given")]


class SudokuRenderer(GridRenderer):
    """Sudoku: digits 1-9 then A-G, thin cell lines and thick box lines."""

    def title(self, spec: TaskSpec) -> str:
        return f"Sudoku {spec.height}x{spec.width}"

    def draw_lines(self, ax: Axes, spec: TaskSpec, pts: float) -> list:
        n = spec.height
        box = int(round(np.sqrt(n)))
        thin = [k for k in range(n + 1) if k % box]
        thick = [k for k in range(n + 1) if k % box == 0]
        lw_thin = max(0.5, pts / 60)
        lw_thick = max(1.5, pts / 16)
        style = dict(colors="black", linewidths=lw_thick, zorder=4, capstyle="projecting")
        return [
            ax.vlines(thin, 0, n, colors=GRID_THIN, linewidths=lw_thin, zorder=3),
            ax.hlines(thin, 0, n, colors=GRID_THIN, linewidths=lw_thin, zorder=3),
            ax.vlines(thick, 0, n, **style),
            ax.hlines(thick, 0, n, **style),
        ]


class MazeRenderer(GridRenderer):
    """Mazes: walls dark, S and G orange with white letters, corridor cells grey until
    revealed; revealed path cells take their score's colour, other revealed cells stay white
    with a dot in it; the reveal-order figure draws the answer's path as a line."""

    score_mark = "dot"

    def title(self, spec: TaskSpec) -> str:
        return f"Maze {(spec.height - 1) // 2}x{(spec.width - 1) // 2} cells"

    def has_text(self, spec: TaskSpec) -> bool:
        return False

    def base_fills(self, spec, values, given):
        rgba = np.empty((spec.num_cells, 4))
        rgba[:] = to_rgba(MASKED_MAZE)
        rgba[given & (values == WALL)] = to_rgba(WALL_FILL)
        rgba[given & ((values == START) | (values == GOAL))] = to_rgba(START_GOAL_FILL)
        return rgba

    def revealed_fills(self, values, colored):
        on_path = values == PATH
        return np.where(on_path[:, None], colored, to_rgba(REVEALED_OPEN))

    def dotted(self, values, revealed):
        return revealed & (values != PATH)

    def draw_lines(self, ax, spec, pts) -> list:
        return []

    def draw_marks(self, ax, spec, puzzle, pts) -> dict:
        return draw_endpoints(ax, puzzle, spec.width, pts)

    def legend(self, spec) -> list:
        return [
            Patch(facecolor=WALL_FILL, edgecolor="black", label="wall"),
            Patch(facecolor=START_GOAL_FILL, edgecolor="black", label="start S / goal G"),
            Patch(facecolor=MASKED_MAZE, edgecolor="black", label="still masked"),
            Line2D([], [], marker="o", linestyle="none", markersize=6, markerfacecolor="#7f7f7f",
                   markeredgecolor="none", label="revealed, off the path (dot)"),
        ]  # fmt: skip

    def order_given_fills(self, spec, tokens, given):
        rgba = self.base_fills(spec, tokens, given)
        return rgba

    def order_numbers(self, spec, text_points) -> bool:
        return text_points >= 7

    def order_overlay(self, ax, spec, tokens, pts) -> list:
        draw_endpoints(ax, tokens, spec.width, pts)
        legend = [
            Patch(facecolor=WALL_FILL, edgecolor="black", label="wall (given)"),
            Patch(facecolor=START_GOAL_FILL, edgecolor="black", label="start S / goal G"),
        ]
        if draw_path_line(ax, tokens.reshape(spec.height, spec.width), pts):
            legend.append(Line2D([], [], color="black", linewidth=2, label="path in the answer"))
        else:
            legend.append(
                Patch(facecolor="none", edgecolor="none", label="(the answer has no path)")
            )
        return legend


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


def draw_path_line(ax: Axes, grid: np.ndarray, pts: float) -> int:
    """Black segments joining orthogonally adjacent path / S / G cells; returns how many."""
    on = (grid == PATH) | (grid == START) | (grid == GOAL)
    segs = []
    for dr, dc in ((0, 1), (1, 0)):
        a = on[: on.shape[0] - dr, : on.shape[1] - dc] & on[dr:, dc:]
        for r, c in np.argwhere(a):
            segs.append([(c + 0.5, r + 0.5), (c + dc + 0.5, r + dr + 0.5)])
    ax.add_collection(
        LineCollection(
            segs, colors="black", linewidths=max(1.5, pts / 10), capstyle="round", zorder=4
        )
    )
    return len(segs)


_RENDERERS: dict[str, GridRenderer] = {"sudoku": SudokuRenderer(), "maze": MazeRenderer()}
_GENERIC = GridRenderer()


def register_renderer(task: str, renderer: GridRenderer) -> None:
    """Draw boards of ``task`` with ``renderer``."""
    _RENDERERS[task] = renderer


def renderer_for(spec: TaskSpec) -> GridRenderer:
    """The renderer of ``spec``'s family, or the generic grid renderer."""
    return _RENDERERS.get(spec.task, _GENERIC)
