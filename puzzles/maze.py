"""Mazes: generators, shortest-path solutions, an exact validator and dihedral symmetries.

Layout (pinned in ``tests/puzzles/test_maze.py``): a maze of ``h x w`` cells is an int8 grid of
shape ``(2h+1, 2w+1)`` holding the codes of :mod:`puzzles.tokens` (``OPEN, PATH, WALL, START,
GOAL``). Cell ``(i, j)`` sits at grid position ``(2i+1, 2j+1)``; the wall between two
neighbouring cells sits at the grid position between them (``(2i+1, 2j+2)`` between ``(i, j)``
and ``(i, j+1)``, ``(2i+2, 2j+1)`` between ``(i, j)`` and ``(i+1, j)``); the border and every
``(even, even)`` post are always walls. A wall position that is OPEN is a passage.

A puzzle has exactly one START and one GOAL, both at cell positions. Its solution marks every
grid position strictly between them on one shortest path (cells and the passages between them)
with PATH; START and GOAL keep their codes. A path length counts moves between cells, so the
grid path between S and G has ``2 * length`` steps.

Generation runs on flat ``bytearray`` grids with precomputed neighbour tables and batched
random draws (about 10k-20k 10x10 mazes with solutions per second per core, see
``benchmarks/bench_maze_generate.py``); :func:`to_graph` is the networkx view for users and
for the tests' oracle.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
import numpy as np

from puzzles import maze_text
from puzzles.argtypes import fraction, nonneg_int
from puzzles.errors import UnmaskError
from puzzles.generate import generate_many as _generate_many
from puzzles.options import option
from puzzles.task import Generated, PartialCheck, Task, TaskSpec, register_task
from puzzles.tokens import GOAL, MAZE_MASK, OPEN, PATH, START, WALL

__all__ = [
    "ALGORITHMS",
    "CHUNK",
    "GENERATORS",
    "MazeError",
    "check_answer",
    "dihedral",
    "dihedral_ks",
    "dihedral_permutation",
    "generate",
    "generate_many",
    "shortest_path_length",
    "to_graph",
]


class MazeError(UnmaskError, ValueError):
    """Bad maze parameters or an impossible request (e.g. ``min_path`` longer than any path).

    A ``ValueError`` for library callers and an ``UnmaskError`` so the CLI prints one line.
    """


# ---------------------------------------------------------------------------------------------
# Precomputed tables for an h x w maze (flat grid positions p = row * W + col).
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    h: int
    w: int
    H: int  # grid rows, 2h+1
    W: int  # grid columns, 2w+1
    n: int  # cells, h*w
    cells: tuple[int, ...]  # flat grid position of cell k = i*w + j
    all_wall: bytes  # (H*W,) every position WALL: carvers open cells as they join the maze
    cells_open: bytes  # (H*W,) cells OPEN, every wall position WALL
    nbrs: list  # nbrs[p] = ((nb, gap), ...) for cell position p, None elsewhere
    perms24: list  # perms24[p][r], r in 0..23: a permutation of nbrs[p] (uniform over r)
    step12: list  # step12[p][r], r in 0..11: a neighbour cell of p (uniform over r)
    edges: tuple[tuple[int, int, int], ...]  # internal walls (gap, cell a, cell b)
    gaps: np.ndarray  # (E,) int64 flat positions of the internal walls


@functools.lru_cache(maxsize=64)
def _tables(h: int, w: int) -> _Tables:
    H, W = 2 * h + 1, 2 * w + 1
    cells = tuple((2 * i + 1) * W + 2 * j + 1 for i in range(h) for j in range(w))
    nbrs: list = [None] * (H * W)
    perms24: list = [None] * (H * W)
    step12: list = [None] * (H * W)
    edges = []
    for i in range(h):
        for j in range(w):
            p = (2 * i + 1) * W + 2 * j + 1
            nb = []
            for di, dj in ((-1, 0), (0, 1), (1, 0), (0, -1)):
                if 0 <= i + di < h and 0 <= j + dj < w:
                    off = di * W + dj
                    nb.append((p + 2 * off, p + off))
            nbrs[p] = tuple(nb)
            perms = list(itertools.permutations(nb))  # 1, 1, 2, 6 or 24 of them
            perms24[p] = tuple(perms[r % len(perms)] for r in range(24))  # 24 = 0 mod each
            step12[p] = tuple(nb[r % len(nb)][0] for r in range(12)) if nb else ()
            if j + 1 < w:
                edges.append((p + 1, p, p + 2))
            if i + 1 < h:
                edges.append((p + W, p, p + 2 * W))
    cells_open = bytearray([WALL]) * (H * W)
    for p in cells:
        cells_open[p] = OPEN
    return _Tables(
        h=h,
        w=w,
        H=H,
        W=W,
        n=h * w,
        cells=cells,
        all_wall=bytes([WALL]) * (H * W),
        cells_open=bytes(cells_open),
        nbrs=nbrs,
        perms24=perms24,
        step12=step12,
        edges=tuple(edges),
        gaps=np.array([e[0] for e in edges], dtype=np.int64),
    )


# ---------------------------------------------------------------------------------------------
# Carvers: rng + tables -> (flat bytearray grid of WALL/OPEN forming a perfect maze, parents).
# In the carvers a cell position still WALL means "not yet in the maze". ``parents`` maps each
# cell position to its parent's position in the spanning tree (the root maps to itself), or is
# None when the carver does not grow a rooted tree; it lets the solver skip the BFS.
# Random draws are batched: float arrays scaled and cast in numpy (small Python ints are cached,
# so ``tolist`` of them is cheap), never one Generator call per step.
# ---------------------------------------------------------------------------------------------

_Carved = tuple[bytearray, list[int] | None]


def _uniform_ints(rng: np.random.Generator, high: int, size: int) -> list[int]:
    """``size`` independent uniform ints in [0, high) (floor of scaled doubles; the bias of
    order 2**-53 is immaterial here), as a list."""
    return (rng.random(size) * high).astype(np.intp).tolist()


def _carve_dfs(rng: np.random.Generator, t: _Tables) -> _Carved:
    """Recursive backtracker with an explicit stack. Each cell draws one random order of its
    neighbours when first visited and the walk resumes that order on backtracking, which is the
    same law as picking a uniform unvisited neighbour at every step."""
    g = bytearray(t.all_wall)
    par = [0] * (t.H * t.W)
    u = rng.random(t.n + 1)  # (n+1,)
    order = (u[:-1] * 24).astype(np.intp).tolist()  # a permutation index per cell, visit order
    start = t.cells[int(u[-1] * t.n)]
    perms = t.perms24
    g[start] = OPEN
    par[start] = start
    stack = [iter(perms[start][order[0]])]
    k = 1
    while stack:
        for nb, gap in stack[-1]:
            if g[nb]:  # not yet visited
                g[nb] = OPEN
                g[gap] = OPEN
                par[nb] = gap + gap - nb  # the cell we came from
                stack.append(iter(perms[nb][order[k]]))
                k += 1
                break
        else:
            stack.pop()
    return g, par


def _carve_wilson(rng: np.random.Generator, t: _Tables) -> _Carved:
    """Wilson's algorithm: a uniform spanning tree of the cell grid. From each cell not yet in
    the tree, a simple random walk runs until it hits the tree; its loop erasure (kept as the
    last exit taken from each cell) joins the tree."""
    g = bytearray(t.all_wall)
    step = t.step12
    nxt = [0] * (t.H * t.W)  # last exit taken from each cell; the tree's parent once joined
    batch = 8 * t.n + 64  # a 10x10 maze takes about 500 steps on average
    u = rng.random(batch + 1)  # (batch+1,)
    root = t.cells[int(u[-1] * t.n)]
    draws = iter((u[:-1] * 12).astype(np.intp).tolist())
    g[root] = OPEN  # the law of the tree does not depend on the root
    nxt[root] = root
    for s in t.cells:
        cur = s
        while g[cur]:
            for r in draws:
                nb = step[cur][r]
                nxt[cur] = nb
                cur = nb
                if not g[cur]:
                    break
            else:
                draws = iter(_uniform_ints(rng, 12, batch))
        cur = s
        while g[cur]:  # retrace the loop-erased walk into the tree
            nb = nxt[cur]
            g[cur] = OPEN
            g[(cur + nb) >> 1] = OPEN
            cur = nb
    return g, nxt


def _carve_kruskal(rng: np.random.Generator, t: _Tables) -> _Carved:
    """Randomized Kruskal: internal walls in uniformly random order; a wall is opened when it
    joins two different components (union-find with path halving)."""
    g = bytearray(t.cells_open)
    uf = list(range(t.H * t.W))  # union-find parent, indexed by cell position
    edges = t.edges
    left = t.n - 1
    for e in rng.permutation(len(edges)).tolist():
        gap, a, b = edges[e]
        while uf[a] != a:
            uf[a] = a = uf[uf[a]]
        while uf[b] != b:
            uf[b] = b = uf[uf[b]]
        if a != b:
            uf[a] = b
            g[gap] = OPEN
            left -= 1
            if not left:
                break
    return g, None


def _carve_prim(rng: np.random.Generator, t: _Tables) -> _Carved:
    """Randomized Prim: grow from a random cell; each step takes a uniformly random wall on the
    frontier and opens it when the cell behind it is not yet in the maze."""
    g = bytearray(t.all_wall)
    par = [0] * (t.H * t.W)
    # A wall enters the frontier at most once (from the first of its cells to join, only while
    # the other is outside), so at most E pops. Index = draw % len(frontier), draws uniform in
    # [0, 2**31): the modulo bias is below len / 2**31, about 1e-8 here.
    draws = (rng.random(len(t.edges) + 1) * 2147483648.0).astype(np.int64).tolist()
    nbrs = t.nbrs
    start = t.cells[draws.pop() % t.n]
    g[start] = OPEN
    par[start] = start
    front = list(nbrs[start])  # (cell behind the wall, wall position)
    left = t.n - 1
    for x in draws if left else ():
        i = x % len(front)
        nb, gap = front[i]
        front[i] = front[-1]  # swap-remove
        front.pop()
        if g[nb]:  # the cell behind is outside: open the wall, grow
            g[nb] = OPEN
            g[gap] = OPEN
            par[nb] = gap + gap - nb
            left -= 1
            if not left:
                break
            for e in nbrs[nb]:
                if g[e[0]]:
                    front.append(e)
    return g, par


def _check_size(h: int, w: int) -> None:
    if int(h) != h or int(w) != w or h < 1 or w < 1:
        raise MazeError(f"maze size must be positive whole numbers of cells, got {h}x{w}")


def _as_grid(g: bytearray, t: _Tables) -> np.ndarray:
    return np.frombuffer(bytes(g), dtype=np.int8).reshape(t.H, t.W).copy()


@dataclass(frozen=True)
class MazeGenerator:
    """A registered maze generator. Call it as ``gen(rng, h, w)`` for an int8 grid (2h+1, 2w+1)
    of WALL/OPEN forming a perfect maze (a spanning tree of the cells), no start or goal, drawn
    only from ``rng``; ``carve`` is its fast core on flat tables, used by ``generate``."""

    name: str
    carve: Callable[[np.random.Generator, _Tables], _Carved]
    summary: str

    def __call__(self, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
        _check_size(h, w)
        t = _tables(int(h), int(w))
        return _as_grid(self.carve(rng, t)[0], t)


#: The registry of maze generators, in the order that ``algorithm="mix"`` cycles through them.
GENERATORS: dict[str, MazeGenerator] = {
    g.name: g
    for g in (
        MazeGenerator("dfs", _carve_dfs, "recursive backtracker: long corridors, few branches"),
        MazeGenerator("wilson", _carve_wilson, "uniform spanning tree (Wilson's algorithm)"),
        MazeGenerator("kruskal", _carve_kruskal, "randomized Kruskal: many short dead ends"),
        MazeGenerator("prim", _carve_prim, "randomized Prim: grows outwards from a random cell"),
    )
}
ALGORITHMS: tuple[str, ...] = tuple(GENERATORS)


# ---------------------------------------------------------------------------------------------
# Extra openings, start/goal placement and the shortest-path solution.
# ---------------------------------------------------------------------------------------------


def _open_extra(rng: np.random.Generator, g: bytearray, t: _Tables, fraction: float) -> int:
    """Open ``round(fraction * #closed internal walls)`` uniformly chosen closed internal walls."""
    view = np.frombuffer(g, dtype=np.int8)  # (H*W,) writable view of g
    closed = t.gaps[view[t.gaps] != OPEN]  # (E_closed,)
    k = int(fraction * len(closed) + 0.5)
    if k:
        view[rng.permutation(closed)[:k]] = OPEN
    del view  # release the buffer export before anyone resizes g
    return k


def _bfs_cells(g: bytearray, t: _Tables, s: int, goal: int = -1):
    """BFS over cells from cell position s, level by level, until the level holding ``goal``
    (every level when goal < 0). Yields (parents per position, the new level) per level."""
    nbrs = t.nbrs
    par = [-1] * (t.H * t.W)
    par[s] = s
    front = [s]
    yield par, front
    while front and (goal < 0 or par[goal] < 0):
        nxt = []
        for p in front:
            for nb, gap in nbrs[p]:
                if not g[gap] and par[nb] < 0:
                    par[nb] = p
                    nxt.append(nb)
        if nxt:
            yield par, nxt
        front = nxt


def _bfs_levels(g: bytearray, t: _Tables, s: int) -> tuple[list[int], list[list[int]]]:
    """Full BFS over cells from cell position s. Returns (parent per position, cells per level)."""
    steps = list(_bfs_cells(g, t, s))
    return steps[-1][0], [level for _, level in steps]


def _bfs_to(g: bytearray, t: _Tables, s: int, goal: int) -> list[int]:
    """BFS over cells from s that stops once goal is reached. Returns parents per position."""
    *_, (par, _) = _bfs_cells(g, t, s, goal)
    return par


def _max_distance_at_least(g: bytearray, t: _Tables, min_path: int, is_tree: bool) -> bool:
    """Does some pair of cells lie ``min_path`` or more moves apart?"""
    if is_tree:  # double sweep: the farthest cell from anywhere ends a longest path of a tree
        _, levels = _bfs_levels(g, t, t.cells[0])
        _, levels = _bfs_levels(g, t, levels[-1][0])
        return len(levels) - 1 >= min_path
    return any(len(_bfs_levels(g, t, s)[1]) - 1 >= min_path for s in t.cells)


_MAX_INFEASIBLE_MAZES = 1000  # then give up: min_path is (nearly) out of reach


def _generate_one(
    rng: np.random.Generator,
    t: _Tables,
    carve: Callable[[np.random.Generator, _Tables], _Carved],
    extra_openings: float,
    min_path: int,
) -> tuple[bytearray, bytearray, int]:
    """One maze with S, G and solution. Returns (puzzle, solution, path length in moves).

    (S, G) is uniform over ordered pairs of distinct cells at least ``min_path`` moves apart:
    S is drawn uniformly and accepted with probability #eligible(S) / (n - 1), G uniformly among
    its eligible cells. A maze is redrawn only when no such pair exists in it.
    """
    n = t.n
    tree = None  # parent per cell position when the maze is a rooted tree we can climb
    for _ in range(_MAX_INFEASIBLE_MAZES):
        g, tree = carve(rng, t)
        opened = _open_extra(rng, g, t, extra_openings) if extra_openings > 0 else 0
        if opened:
            tree = None
        if min_path <= 1:  # every pair of distinct cells qualifies
            u = rng.random(2).tolist()
            si, gi = int(u[0] * n), int(u[1] * (n - 1))
            gi += gi >= si
            s, goal = t.cells[si], t.cells[gi]
            par = None if tree is not None else _bfs_to(g, t, s, goal)
            break
        tree = None  # the BFS below yields the parents anyway
        checked = False
        found = False
        while not found:
            u = rng.random(3).tolist()
            s = t.cells[int(u[0] * n)]
            par, levels = _bfs_levels(g, t, s)
            eligible = [c for lvl in levels[min_path:] for c in lvl]
            if u[1] * (n - 1) < len(eligible):
                goal = eligible[int(u[2] * len(eligible))]
                found = True
            elif not checked:
                if not _max_distance_at_least(g, t, min_path, is_tree=opened == 0):
                    break  # no pair in this maze is far enough apart: draw another maze
                checked = True
        if found:
            break
    else:
        raise MazeError(
            f"min_path={min_path}: no {t.h}x{t.w} maze with two cells that far apart in "
            f"{_MAX_INFEASIBLE_MAZES} tries; lower --min-path"
        )
    g[s] = START
    g[goal] = GOAL
    sol = bytearray(g)
    if tree is not None:
        # Unique path in a tree: up from G to the first ancestor of S, then up from S to it.
        mark = bytearray(t.H * t.W)
        p = s
        while not mark[p]:  # the root is its own parent, so this stops there
            mark[p] = 1
            p = tree[p]
        lca = goal
        while not mark[lca]:
            lca = tree[lca]
        length = _climb(sol, tree, goal, lca) + _climb(sol, tree, s, lca)
        sol[s] = START
        sol[goal] = GOAL
    else:  # BFS parents point back towards S
        length = _climb(sol, par, goal, s)
        sol[s] = START
    return g, sol, length


def _climb(sol: bytearray, up: list[int], p: int, stop: int) -> int:
    """Mark with PATH the grid path from cell position p up the parent links ``up`` to cell
    ``stop`` (the cells and the passages between them); returns the moves taken."""
    moves = 0
    while p != stop:
        q = up[p]
        sol[(p + q) >> 1] = PATH
        sol[q] = PATH
        p = q
        moves += 1
    return moves


def _check_params(h, w, algorithm, extra_openings, min_path, allow_mix=False) -> tuple[int, int]:
    w = h if w is None else w
    _check_size(h, w)
    h, w = int(h), int(w)
    names = ALGORITHMS + (("mix",) if allow_mix else ())
    if algorithm not in names:
        raise MazeError(f"unknown maze algorithm {algorithm!r}; choose one of {', '.join(names)}")
    if h * w < 2:
        raise MazeError(f"a {h}x{w} maze has no room for distinct start and goal cells")
    if not 0.0 <= float(extra_openings) <= 1.0:
        raise MazeError(f"extra_openings must lie in [0, 1], got {extra_openings}")
    if int(min_path) != min_path or min_path < 0:
        raise MazeError(f"min_path must be a whole number >= 0, got {min_path}")
    if min_path > h * w - 1:
        raise MazeError(
            f"min_path={min_path} is impossible in a {h}x{w} maze (no path has more than "
            f"{h * w - 1} moves)"
        )
    return h, w


def generate(
    rng: np.random.Generator,
    h: int,
    w: int | None = None,
    algorithm: str = "dfs",
    extra_openings: float = 0.0,
    min_path: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """One maze of h x w cells (w defaults to h) with a start, a goal and a shortest path.

    ``algorithm``: a name in :data:`GENERATORS`. ``extra_openings``: fraction (0..1) of the
    internal walls left closed by the generator that are opened afterwards, so loops appear and
    several shortest paths may exist. ``min_path``: least number of moves between S and G.
    Returns ``(puzzle, solution)``, int8 grids (2h+1, 2w+1); the solution marks the path's
    positions strictly between S and G with PATH. Raises :class:`MazeError` (a ValueError) on
    bad parameters or an impossible ``min_path``.
    """
    h, w = _check_params(h, w, algorithm, extra_openings, min_path)
    t = _tables(h, w)
    puz, sol, _ = _generate_one(
        rng, t, GENERATORS[algorithm].carve, float(extra_openings), int(min_path)
    )
    return _as_grid(puz, t), _as_grid(sol, t)


# ---------------------------------------------------------------------------------------------
# Many mazes, reproducibly, on several cores.
# ---------------------------------------------------------------------------------------------

#: Mazes per chunk. Chunk c draws from ``SeedSequence(seed).spawn(...)[c]``; as the chunk size
#: is fixed (not derived from ``workers``), output depends only on the arguments.
CHUNK = 256


def _chunk(
    rng: np.random.Generator,
    t: _Tables,
    first: int,
    count: int,
    algorithm: str,
    extra_openings: float,
    min_path: int,
) -> list[Generated]:
    out = []
    for i in range(count):
        name = ALGORITHMS[(first + i) % len(ALGORITHMS)] if algorithm == "mix" else algorithm
        puz, sol, length = _generate_one(rng, t, GENERATORS[name].carve, extra_openings, min_path)
        out.append(Generated(_as_grid(puz, t), _as_grid(sol, t),
                             {"algorithm": name, "path_length": length}))  # fmt: skip
    return out


def generate_many(
    count: int,
    seed: int,
    h: int,
    w: int | None = None,
    algorithm: str = "dfs",
    extra_openings: float = 0.0,
    min_path: int = 0,
    workers: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``count`` mazes as :func:`generate` makes them, reproducible from ``seed``
    (``puzzles.generate.generate_many``).

    ``algorithm="mix"`` cycles dfs, wilson, kruskal, prim by maze index (maze i uses
    ``ALGORITHMS[i % 4]``). The mazes are made in chunks of :data:`CHUNK`, chunk c drawing from
    ``np.random.SeedSequence(seed).spawn(...)[c]``, so the same arguments give the same arrays
    for any ``workers`` (default: all usable cores), and a smaller ``count`` gives a prefix.

    Returns ``(puzzles, solutions, meta)``: int8 arrays (count, 2h+1, 2w+1) and one dict per
    maze ``{"algorithm": name, "path_length": moves from S to G}``.
    """
    h, w = _check_params(h, w, algorithm, extra_openings, min_path, allow_mix=True)
    try:
        puzzles, solutions, extra = _generate_many(
            TASK, maze_grid_spec(h, w), count, seed, workers=workers, progress=progress,
            algorithm=algorithm, extra_openings=float(extra_openings), min_path=int(min_path),
        )  # fmt: skip
    except ValueError as err:
        raise MazeError(str(err)) from None
    meta = [
        {"algorithm": str(a), "path_length": int(n)}
        for a, n in zip(extra.get("algorithm", []), extra.get("path_length", []), strict=True)
    ]
    return puzzles, solutions, meta


# ---------------------------------------------------------------------------------------------
# Views and exact checks on any grid.
# ---------------------------------------------------------------------------------------------


def to_graph(grid: np.ndarray) -> nx.Graph:
    """networkx view: one node ``(row, col)`` per non-wall grid position (attribute ``code``),
    an edge between 4-neighbours that are both non-wall. In this module's layout a move between
    two cells is two edges (cell - passage - cell)."""
    g = np.asarray(grid)
    if g.ndim != 2:
        raise ValueError(f"maze grid must be 2-D, got shape {g.shape}")
    free = g != WALL  # (H, W)
    graph = nx.Graph()
    rs, cs = np.nonzero(free)
    codes = g[free].tolist()
    graph.add_nodes_from(
        ((r, c), {"code": code}) for r, c, code in zip(rs.tolist(), cs.tolist(), codes, strict=True)
    )
    rs, cs = np.nonzero(free[:, :-1] & free[:, 1:])
    graph.add_edges_from(
        ((r, c), (r, c + 1)) for r, c in zip(rs.tolist(), cs.tolist(), strict=True)
    )
    rs, cs = np.nonzero(free[:-1, :] & free[1:, :])
    graph.add_edges_from(
        ((r, c), (r + 1, c)) for r, c in zip(rs.tolist(), cs.tolist(), strict=True)
    )
    return graph


def _rc(pos) -> str:
    return f"r{int(pos[0]) + 1}c{int(pos[1]) + 1}"


def _grid_distance(grid: np.ndarray, src: tuple[int, int], dst: tuple[int, int]) -> int:
    """BFS grid steps between two positions over non-wall positions; -1 when unreachable."""
    H, W = grid.shape
    W2 = W + 2
    free = np.pad(grid != WALL, 1).ravel().tolist()  # (H+2)*(W+2), walled border: no bounds checks
    s = (src[0] + 1) * W2 + src[1] + 1
    d = (dst[0] + 1) * W2 + dst[1] + 1
    seen = bytearray(len(free))
    seen[s] = 1
    front = [s]
    dist = 0
    offs = (1, -1, W2, -W2)
    while front:
        if seen[d]:
            return dist
        dist += 1
        nxt = []
        for p in front:
            for o in offs:
                q = p + o
                if free[q] and not seen[q]:
                    seen[q] = 1
                    nxt.append(q)
        front = nxt
    return -1


def _start_goal(p: np.ndarray) -> tuple[str | None, tuple | None, tuple | None]:
    found = []
    for code, name in ((START, "start (S)"), (GOAL, "goal (G)")):
        where = np.argwhere(p == code)
        if len(where) != 1:
            return (
                f"puzzle has {len(where) or 'no'} {name}{'s' if len(where) > 1 else ''}",
                None,
                None,
            )
        found.append(tuple(int(x) for x in where[0]))
    return None, found[0], found[1]


def shortest_path_length(puzzle: np.ndarray) -> int:
    """Moves between cells on a shortest S-G path (half the grid steps). Raises MazeError when
    the puzzle has not exactly one S and one G, when G cannot be reached, or when S and G are
    not an even number of grid steps apart (not this module's layout)."""
    p = np.asarray(puzzle)
    reason, s, g = _start_goal(p)
    if reason:
        raise MazeError(reason)
    d = _grid_distance(p, s, g)
    if d < 0:
        raise MazeError(f"goal {_rc(g)} cannot be reached from start {_rc(s)}")
    if d % 2:
        raise MazeError(f"start {_rc(s)} and goal {_rc(g)} are not both at cell positions")
    return d // 2


def _first(mask: np.ndarray) -> tuple[int, int] | None:
    """Row-major first True position of a 2-D mask, or None."""
    flat = np.flatnonzero(mask)
    return divmod(int(flat[0]), mask.shape[1]) if flat.size else None


_FIXED_NAMES = {WALL: "a wall", START: "the start", GOAL: "the goal"}
_CODE_NAMES = {
    OPEN: "an open cell",
    PATH: "a path cell",
    WALL: "a wall",
    START: "a start",
    GOAL: "a goal",
}


def check_answer(puzzle: np.ndarray, answer: np.ndarray) -> str | None:
    """Exact validator. None when ``answer`` solves ``puzzle``, else one line saying why
    (positions 1-based as ``r<row>c<col>`` of the grid).

    Valid: the answer equals the puzzle on every position that is not OPEN there (walls, S and
    G unchanged); OPEN positions hold OPEN or PATH; the PATH positions plus S and G form one
    simple 4-connected chain from S to G (each path position has exactly two chain neighbours,
    S and G one each, nothing left over); and its step count equals the shortest S-G distance,
    so any shortest path counts when there are several.
    """
    p = np.asarray(puzzle)
    a = np.asarray(answer)
    if p.ndim != 2:
        return f"puzzle must be a 2-D grid, got shape {p.shape}"
    if a.shape != p.shape:
        return f"answer shape {a.shape} differs from puzzle shape {p.shape}"
    odd = _first(~np.isin(p, (OPEN, WALL, START, GOAL)))
    if odd:
        what = "a path cell" if p[odd] == PATH else f"unknown code {int(p[odd])}"
        return f"puzzle has {what} at {_rc(odd)}"
    reason, s, g = _start_goal(p)
    if reason:
        return reason
    for pos, name in ((s, "start"), (g, "goal")):
        if pos[0] % 2 == 0 or pos[1] % 2 == 0:
            return f"puzzle has its {name} {_rc(pos)} on a passage, not on a cell"

    fixed = _first((p != OPEN) & (a != p))
    if fixed:
        return f"{_rc(fixed)} changes {_FIXED_NAMES[int(p[fixed])]}"
    bad = _first((p == OPEN) & (a != OPEN) & (a != PATH))
    if bad:
        code = int(a[bad])
        return f"{_rc(bad)} puts {_CODE_NAMES.get(code, f'unknown code {code}')} on an open cell"

    path = a == PATH  # (H, W)
    chain = np.pad(path | (p == START) | (p == GOAL), 1).astype(np.int8)  # (H+2, W+2)
    deg = chain[:-2, 1:-1] + chain[2:, 1:-1] + chain[1:-1, :-2] + chain[1:-1, 2:]  # (H, W)
    n_path = int(path.sum())
    if n_path == 0 and deg[s] == 0:
        return "answer marks no path"
    branch = _first(path & (deg > 2))
    if branch:
        return f"path branches at {_rc(branch)}"
    for pos, name in ((s, "start"), (g, "goal")):
        if deg[pos] > 1:
            return f"path branches at the {name} {_rc(pos)}"
        if deg[pos] == 0:
            return f"no path touches the {name} {_rc(pos)}"
    end = _first(path & (deg < 2))
    if end:
        kind = "stray path cell" if deg[end] == 0 else "dead end of the path"
        return f"{kind} at {_rc(end)}"

    # Degrees are right, so the walk from S follows one chain, which must end at G.
    H, W = p.shape
    on = chain[1:-1, 1:-1].astype(bool)  # (H, W)
    walked = {s}
    prev, cur = None, s
    while cur != g:
        r, c = cur
        for nb in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if nb != prev and 0 <= nb[0] < H and 0 <= nb[1] < W and on[nb]:
                prev, cur = cur, nb
                break
        walked.add(cur)
    steps = len(walked) - 1
    if steps != n_path + 1:  # the remaining path cells form closed loops
        loop = next(rc for rc in map(tuple, np.argwhere(path).tolist()) if rc not in walked)
        return f"path cells at {_rc(loop)} form a loop apart from the S-G path"
    dist = _grid_distance(p, s, g)
    if steps != dist:
        return f"path is not a shortest one: {steps} grid steps where {dist} suffice"
    return None


# ---------------------------------------------------------------------------------------------
# Dihedral symmetries (training augmentation).
# ---------------------------------------------------------------------------------------------


def dihedral_ks(height: int, width: int) -> tuple[int, ...]:
    """The k in 0..7 that :func:`dihedral` accepts for this grid shape: all eight when square,
    else the four that keep the shape (0 identity, 2 half turn, 4 mirror, 6 upside down)."""
    return tuple(range(8)) if height == width else (0, 2, 4, 6)


def dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """Element k (0..7) of the dihedral group applied to the last two axes of ``grid``.

    k = 0..3: ``np.rot90`` by k quarter turns (counter-clockwise); k = 4..7: mirror left-right
    (``np.flip`` of the columns) then rotate by k - 4 quarter turns. A maze stays a maze and a
    shortest path stays a shortest path. On non-square grids only k in ``dihedral_ks`` (those
    that keep the shape) are allowed; others raise ValueError. Returns a new array.
    """
    g = np.asarray(grid)
    if g.ndim < 2:
        raise ValueError(f"dihedral needs a grid with at least 2 axes, got shape {g.shape}")
    if int(k) != k or not 0 <= k < 8:
        raise ValueError(f"dihedral k must be in 0..7, got {k}")
    k = int(k)
    if k not in dihedral_ks(g.shape[-2], g.shape[-1]):
        raise ValueError(
            f"dihedral k={k} would change the shape of a {g.shape[-2]}x{g.shape[-1]} grid"
        )
    if k >= 4:
        g = np.flip(g, axis=-1)
    return np.ascontiguousarray(np.rot90(g, k % 4, axes=(-2, -1)))


def dihedral_permutation(height: int, width: int, k: int) -> np.ndarray:
    """Flat index permutation, int64 (height*width,), with
    ``dihedral(grid, k).ravel() == grid.ravel()[perm]``; for vectorised use on token rows
    (``tokens[:, perm]``)."""
    return dihedral(np.arange(height * width, dtype=np.int64).reshape(height, width), k).ravel()


# ---------------------------------------------------------------------------------------------
# Exact solver and the task.
# ---------------------------------------------------------------------------------------------


def solve(puzzle: np.ndarray) -> np.ndarray | None:
    """One shortest S-G path of ``puzzle`` (H, W) marked with PATH (BFS over grid positions,
    neighbours tried up, down, left, right), or None when G cannot be reached."""
    p = np.asarray(puzzle)
    reason, s, g = _start_goal(p)
    if reason:
        return None
    H, W = p.shape
    free = p != WALL
    parent = {s: s}
    front = [s]
    while front and g not in parent:
        nxt = []
        for r, c in front:
            for nb in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= nb[0] < H and 0 <= nb[1] < W and free[nb] and nb not in parent:
                    parent[nb] = (r, c)
                    nxt.append(nb)
        front = nxt
    if g not in parent:
        return None
    sol = p.astype(np.int8).copy()
    cur = parent[g]
    while cur != s:
        sol[cur] = PATH
        cur = parent[cur]
    return sol


def maze_grid_spec(h: int, w: int | None = None) -> TaskSpec:
    """Spec of an h x w-cell maze: (2h+1) x (2w+1) tokens, values OPEN/PATH, mask id 5."""
    w = h if w is None else w
    if isinstance(h, bool) or isinstance(w, bool) or int(h) != h or int(w) != w or h < 2 or w < 2:
        raise ValueError(f"maze needs at least 2x2 cells, got {h}x{w}")
    return TaskSpec("maze", 2 * int(h) + 1, 2 * int(w) + 1, num_values=2, mask_id=MAZE_MASK,
                    vocab_size=6)  # fmt: skip


def _shift_sum(x):
    """(B, H, W) -> (B, H, W): how many of each position's 4 neighbours are set."""
    import torch.nn.functional as F

    p = F.pad(x.float(), (1, 1, 1, 1))
    return p[:, :-2, 1:-1] + p[:, 2:, 1:-1] + p[:, 1:-1, :-2] + p[:, 1:-1, 2:]


_FAR = 1 << 20  # the distance of an unreachable position


def _bfs(source, passable):
    """(B, H, W) long: grid steps from ``source`` to each position moving through ``passable``
    ones (4-neighbours), ``_FAR`` where unreachable; one dilation per step."""
    import torch
    import torch.nn.functional as F

    dist = torch.where(source, 0, _FAR)
    reached, front = source.clone(), source
    step = 0
    while True:
        step += 1
        p = F.pad(front, (1, 1, 1, 1))
        grow = p[:, :-2, 1:-1] | p[:, 2:, 1:-1] | p[:, 1:-1, :-2] | p[:, 1:-1, 2:]
        front = grow & passable & ~reached
        if not front.any():
            return dist
        dist = torch.where(front, step, dist)
        reached = reached | front


@dataclass(frozen=True)
class MazeOptions:
    """Perfect mazes from a spanning-tree generator, optionally with extra openings so that
    several shortest paths exist; start and goal are random distinct cells and the solution
    marks one shortest path."""

    cells: int = option(
        10, help="cells per side h; the grid is (2h+1) x (2h+1) tokens", type=int,
        aliases=("--size",),
    )  # fmt: skip
    algorithm: str = option(
        "dfs", help="maze generator: "
        + "; ".join(f"{g.name}: {g.summary}" for g in GENERATORS.values())
        + "; mix: a different one per maze", choices=(*ALGORITHMS, "mix"),
    )  # fmt: skip
    extra_openings: float = option(
        0.0, help="fraction 0..1 of remaining inner walls to open, creating loops and several "
        "shortest paths (0: a perfect maze)", type=fraction, metavar="F",
    )  # fmt: skip
    min_path: int = option(
        0, help="redraw start and goal until the shortest path is at least L steps",
        type=nonneg_int, metavar="L",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.cells < 2:
            raise ValueError(f"--cells must be at least 2, got {self.cells}")
        _check_params(self.cells, None, self.algorithm, self.extra_openings, self.min_path, True)


class MazeTask(Task):
    """Mazes as a ``puzzles.task.Task``: (2h+1) x (2w+1) grids of OPEN/PATH/WALL/START/GOAL;
    the values are OPEN and PATH, walls, S and G are context tokens."""

    name = "maze"
    title = "Maze"
    size_help = "cells per side h; the grid is (2h+1) x (2h+1) tokens"
    size_option = "cells"
    default_size = 10
    token_offset = 0
    blank = OPEN
    max_code = GOAL
    suffixes = (".txt",)
    generators = (*ALGORITHMS, "mix")
    generator_option = "algorithm"
    seed_chunk = CHUNK
    Options = MazeOptions

    def spec(self, size: int, width: int | None = None) -> TaskSpec:
        return maze_grid_spec(size, width)

    def size_of(self, height: int, width: int) -> int:
        if height % 2 == 0 or width % 2 == 0 or height < 5 or width < 5:
            raise ValueError(f"{height}x{width} is not a (2h+1)x(2w+1) maze")
        return (int(height) - 1) // 2

    def spec_for_grid(self, height: int, width: int) -> TaskSpec:
        self.size_of(height, width)
        return maze_grid_spec((height - 1) // 2, (width - 1) // 2)

    def vocabulary(self, spec: TaskSpec) -> list[str]:
        return ["open", "path", "wall", "start", "goal", "mask"]

    def generate_bytes(self, spec: TaskSpec, count: int) -> int:
        # neighbour tables of Python objects (about 1.1 kB per grid position, measured with
        # tracemalloc at 20x20 and 60x60 cells), one chunk of mazes, then the output twice
        return 1200 * spec.num_cells + 4 * (count + CHUNK) * spec.num_cells

    def generate_chunk(self, rng, spec, first, count, algorithm="dfs", extra_openings=0.0,
                       min_path=0):  # fmt: skip
        h, w = (spec.height - 1) // 2, (spec.width - 1) // 2
        h, w = _check_params(h, w, algorithm, extra_openings, min_path, allow_mix=True)
        return _chunk(rng, _tables(h, w), first, count, algorithm, float(extra_openings),
                      int(min_path))  # fmt: skip

    def generate(self, rng, spec, **options) -> Generated:
        return self.generate_chunk(rng, spec, 0, 1, **options)[0]

    def sniff(self, text: str) -> bool:
        return maze_text.looks_like_maze(text)

    def parse(self, text: str, path: str, *, answers: bool = False):
        grids = maze_text.parse_maze_text(
            text, path, allow_path=answers, check_endpoints=not answers
        )
        return grids, None

    def format_text(self, boards: np.ndarray) -> str:
        return maze_text.format_maze_text(boards)

    def check_boards(self, boards: np.ndarray, path: str, what: str) -> None:
        """The text reader's rules for grids from .npz files too: a wall border, and in
        puzzles no path cell and one S and one G, each on a cell."""
        super().check_boards(boards, path, what)
        maze_text.check_grids(boards, path, what, puzzles=what == "puzzles")

    def check_answer(self, puzzle, answer) -> str | None:
        return check_answer(puzzle, answer)

    def solve(self, puzzle) -> np.ndarray | None:
        return solve(puzzle)

    def partial_check(self, spec: TaskSpec, tokens):
        """The rules of a shortest path, on positions still possible for it (PATH, S, G or
        masked; walls and revealed OPEN cells are out).

        Local: a PATH position has exactly two neighbours on the chain (PATH, S or G), S and G
        one each; a revealed chain position with more neighbours on the chain than that, or
        fewer that still could be, is a conflict. Distance: d is the S-G distance over every
        non-wall position (the shortest path's length); a revealed PATH position that no S-G
        path of length d through possible positions passes is a conflict, and a board with no
        such path at all is broken. Allowed: OPEN unless a chain neighbour then has too few
        possible neighbours left; PATH unless the position itself or a chain neighbour then
        breaks its count, or no shortest path through possible positions passes it."""
        import torch

        B = tokens.shape[0]
        grid = tokens.view(B, spec.height, spec.width)  # (B, H, W)
        masked = grid == spec.mask_id
        is_path = grid == PATH
        start, goal = grid == START, grid == GOAL
        chain = is_path | start | goal
        need = 2.0 * is_path + 1.0 * (chain & ~is_path)  # (B, H, W): 2 for PATH, 1 for S/G
        on = _shift_sum(chain)  # chain neighbours
        could = _shift_sum(chain | masked)  # neighbours that are or may become chain
        conflict = chain & ((on > need) | (could < need))
        ok = chain & ~conflict  # chain positions that a new neighbour value could break
        breaks_open = _shift_sum(ok & (could == need)) > 0  # OPEN here leaves one short
        breaks_path = (on > 2) | (could < 2) | (_shift_sum(ok & (on == need)) > 0)
        # distances: d over free positions, then from S and from G over possible ones
        possible = chain | masked
        d = _bfs(start, grid != WALL).masked_fill(~goal, 0).amax((1, 2))  # (B,)
        through = _bfs(start, possible) + _bfs(goal, possible)  # (B, H, W)
        on_shortest = through == d.view(B, 1, 1)
        conflict = conflict | (is_path & ~on_shortest)
        broken = ~(on_shortest & goal).any((1, 2))
        breaks_path = breaks_path | ~on_shortest
        allowed = torch.stack((~breaks_open | ~masked, ~breaks_path | ~masked), dim=-1)
        L = spec.num_cells
        return PartialCheck(masked.view(B, L), conflict.view(B, L), allowed.view(B, L, 2), broken)

    def symmetry_key(self, board: np.ndarray) -> bytes:
        """Canonical form under the dihedral group: the smallest of the transformed grids."""
        g = np.asarray(board, dtype=np.int8)
        return min(dihedral(g, k).tobytes() for k in dihedral_ks(*g.shape))

    def symmetry_pool(self, rng, spec, size):
        ks = dihedral_ks(spec.height, spec.width)
        cells = np.stack([dihedral_permutation(spec.height, spec.width, k) for k in ks])
        tokens = np.tile(np.arange(spec.vocab_size), (len(ks), 1))
        return cells, tokens  # (P, L), (P, vocab): the whole dihedral group, no draws


TASK = register_task(MazeTask())
