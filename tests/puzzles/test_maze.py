"""Maze generators, solutions, validator and symmetries (puzzles/maze.py).

The networkx view (``to_graph``) is the oracle for shortest paths; the layout convention
(cell (i, j) at grid (2i+1, 2j+1), walls between) is pinned on hand-made grids.
"""

from __future__ import annotations

import collections
import itertools
import random

import networkx as nx
import numpy as np
import pytest

from puzzles import maze
from puzzles.errors import UnmaskError
from puzzles.tokens import GOAL, OPEN, PATH, START, WALL

ALGS = maze.ALGORITHMS


def rc(pos) -> str:
    return f"r{pos[0] + 1}c{pos[1] + 1}"


def find(grid: np.ndarray, code: int) -> tuple[int, int]:
    (pos,) = np.argwhere(grid == code)
    return int(pos[0]), int(pos[1])


def passages(grid: np.ndarray) -> int:
    """Open wall positions between two cells: (odd, even) and (even, odd) positions."""
    free = grid != WALL
    return int(free[1::2, 2:-1:2].sum() + free[2:-1:2, 1::2].sum())


def mark(puzzle: np.ndarray, nodes) -> np.ndarray:
    """Answer that marks the given grid positions (S and G skipped) as PATH."""
    answer = puzzle.copy()
    for r, c in nodes:
        if puzzle[r, c] == OPEN:
            answer[r, c] = PATH
    return answer


def graph_distance(puzzle: np.ndarray) -> int:
    return nx.shortest_path_length(maze.to_graph(puzzle), find(puzzle, START), find(puzzle, GOAL))


def chi_square(counts, expected: float) -> float:
    obs = np.asarray(list(counts), dtype=float)
    return float(((obs - expected) ** 2 / expected).sum())


# --- layout ---------------------------------------------------------------------------------


def test_layout_pinned_on_the_one_maze_of_one_by_two_cells():
    # 1 x 2 cells has a single spanning tree: cells (1,1), (1,3) and the passage (1,2) open.
    expected = np.array(
        [[WALL] * 5, [WALL, OPEN, OPEN, OPEN, WALL], [WALL] * 5],
        dtype=np.int8,
    )
    for name, gen in maze.GENERATORS.items():
        grid = gen(np.random.default_rng(0), 1, 2)
        assert grid.dtype == np.int8, name
        np.testing.assert_array_equal(grid, expected, err_msg=name)
    puzzle, solution = maze.generate(np.random.default_rng(3), 1, 2)
    assert {find(puzzle, START), find(puzzle, GOAL)} == {(1, 1), (1, 3)}
    assert solution[1, 2] == PATH and (solution == PATH).sum() == 1


@pytest.mark.parametrize("alg", ALGS)
def test_layout_cells_posts_border_and_passages(alg):
    h, w = 4, 6
    grid = maze.GENERATORS[alg](np.random.default_rng(1), h, w)
    assert grid.shape == (2 * h + 1, 2 * w + 1)
    assert (grid[0] == WALL).all() and (grid[-1] == WALL).all()
    assert (grid[:, 0] == WALL).all() and (grid[:, -1] == WALL).all()
    assert (grid[::2, ::2] == WALL).all()  # posts
    assert (grid[1::2, 1::2] == OPEN).all()  # cell (i, j) at (2i+1, 2j+1)
    graph = maze.to_graph(grid)
    for i, j in itertools.product(range(h), range(w)):
        r, c = 2 * i + 1, 2 * j + 1
        if j + 1 < w:  # wall between (i, j) and (i, j+1) sits at (2i+1, 2j+2)
            assert graph.has_edge((r, c), (r, c + 1)) == (grid[r, c + 1] == OPEN)
        if i + 1 < h:
            assert graph.has_edge((r, c), (r + 1, c)) == (grid[r + 1, c] == OPEN)


def test_to_graph_nodes_are_non_wall_positions_with_codes():
    puzzle, _ = maze.generate(np.random.default_rng(2), 3, 5, extra_openings=0.4)
    graph = maze.to_graph(puzzle)
    assert set(graph.nodes) == {tuple(p) for p in np.argwhere(puzzle != WALL).tolist()}
    assert all(type(r) is int and type(c) is int for r, c in graph.nodes)
    assert all(puzzle[node] == data["code"] for node, data in graph.nodes(data=True))
    for (r1, c1), (r2, c2) in graph.edges:
        assert abs(r1 - r2) + abs(c1 - c2) == 1


# --- generators -----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("h, w", [(1, 1), (1, 7), (2, 2), (5, 8), (10, 10), (13, 4)])
def test_generators_make_perfect_mazes(alg, h, w):
    rng = np.random.default_rng(h * 100 + w)
    for _ in range(5):
        grid = maze.GENERATORS[alg](rng, h, w)
        assert set(np.unique(grid).tolist()) <= {OPEN, WALL}
        assert passages(grid) == h * w - 1
        graph = maze.to_graph(grid)
        assert nx.is_connected(graph) and nx.is_tree(graph)
        assert graph.number_of_nodes() == h * w + h * w - 1


@pytest.mark.parametrize("alg", ALGS)
def test_generators_draw_only_from_their_rng(alg):
    np.random.seed(123)
    random.seed(123)
    np_state, py_state = np.random.get_state(), random.getstate()
    a = maze.GENERATORS[alg](np.random.default_rng(7), 6, 6)
    b = maze.GENERATORS[alg](np.random.default_rng(7), 6, 6)
    c = maze.GENERATORS[alg](np.random.default_rng(8), 6, 6)
    p1, s1 = maze.generate(np.random.default_rng(9), 6, 6, alg, extra_openings=0.2, min_path=4)
    p2, s2 = maze.generate(np.random.default_rng(9), 6, 6, alg, extra_openings=0.2, min_path=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(s1, s2)
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert random.getstate() == py_state


def test_wilson_is_uniform_over_spanning_trees_and_the_test_can_tell():
    # The 2 x 3 cell grid has 15 spanning trees; chi-square with 14 dof, 0.1% critical 36.1.
    def stat(alg: str) -> tuple[int, float]:
        rng = np.random.default_rng(11)
        counts = collections.Counter(maze.GENERATORS[alg](rng, 2, 3).tobytes() for _ in range(6000))
        return len(counts), chi_square(counts.values(), 6000 / 15)

    n_trees, wilson = stat("wilson")
    assert n_trees == 15 and wilson < 36.1
    assert stat("dfs")[1] > 100  # the recursive backtracker is far from uniform


# --- generate: start, goal, solution ----------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("extra", [0.0, 0.3, 1.0])
def test_generate_marks_a_shortest_path(alg, extra):
    rng = np.random.default_rng(5)
    for h, w in [(2, 2), (6, 6), (4, 9)]:
        puzzle, solution = maze.generate(rng, h, w, alg, extra_openings=extra)
        s, g = find(puzzle, START), find(puzzle, GOAL)
        assert s != g and s[0] % 2 == s[1] % 2 == g[0] % 2 == g[1] % 2 == 1
        assert not (puzzle == PATH).any()
        changed = solution != puzzle
        assert (solution[changed] == PATH).all() and (puzzle[changed] == OPEN).all()
        graph = maze.to_graph(puzzle)
        on_path = [tuple(p) for p in np.argwhere(solution == PATH).tolist()]
        chain = graph.subgraph([s, g, *on_path])  # must be a simple path graph from S to G
        assert nx.is_connected(chain) and chain.degree(s) == chain.degree(g) == 1
        assert all(chain.degree(node) == 2 for node in on_path)
        assert len(on_path) + 1 == nx.shortest_path_length(graph, s, g)
        assert maze.shortest_path_length(puzzle) * 2 == len(on_path) + 1
        assert maze.check_answer(puzzle, solution) is None


def test_extra_openings_open_that_fraction_of_the_closed_walls():
    h, w = 6, 7
    internal = h * (w - 1) + (h - 1) * w
    rng = np.random.default_rng(4)
    for frac in (0.0, 0.25, 0.5, 1.0):
        puzzle, _ = maze.generate(rng, h, w, "kruskal", extra_openings=frac)
        closed_after_tree = internal - (h * w - 1)
        assert passages(puzzle) == h * w - 1 + round(frac * closed_after_tree)
    several = 0
    for _ in range(20):
        puzzle, _ = maze.generate(rng, 6, 6, extra_openings=0.3, min_path=5)
        graph = maze.to_graph(puzzle)
        paths = itertools.islice(
            nx.all_shortest_paths(graph, find(puzzle, START), find(puzzle, GOAL)), 2
        )
        several += len(list(paths)) > 1
    assert several > 0


@pytest.mark.parametrize("alg", ALGS)
def test_min_path_is_respected(alg):
    rng = np.random.default_rng(6)
    for extra in (0.0, 0.2):
        for _ in range(10):
            puzzle, solution = maze.generate(rng, 5, 5, alg, extra_openings=extra, min_path=7)
            assert maze.shortest_path_length(puzzle) >= 7
            assert maze.check_answer(puzzle, solution) is None
    # 3 x 3 with min_path 8 needs a tree that is a Hamiltonian path between S and G.
    puzzle, _ = maze.generate(rng, 3, 3, alg, min_path=8)
    assert maze.shortest_path_length(puzzle) == 8


def test_start_and_goal_are_uniform_over_pairs_far_enough_apart():
    # A 1 x 5 corridor; ordered pairs at least 2 moves apart: 12, each with probability 1/12.
    # (Drawing S uniformly and then G among S's eligible cells would favour the middle.)
    rng = np.random.default_rng(12)
    counts = collections.Counter()
    for _ in range(3600):
        puzzle, _ = maze.generate(rng, 1, 5, "wilson", min_path=2)
        counts[find(puzzle, START), find(puzzle, GOAL)] += 1
    assert len(counts) == 12
    assert all(abs(s[1] - g[1]) >= 4 for s, g in counts)
    assert chi_square(counts.values(), 300) < 31.3  # 11 dof, 0.1%


def test_impossible_requests_raise_maze_error():
    rng = np.random.default_rng(0)
    with pytest.raises(maze.MazeError, match="impossible"):
        maze.generate(rng, 3, 3, min_path=9)
    # Fully open 2 x 3 grid: no two cells are more than 3 moves apart.
    with pytest.raises(ValueError, match="min_path=4"):
        maze.generate(rng, 2, 3, extra_openings=1.0, min_path=4)
    for kwargs in (
        {"algorithm": "eller"},
        {"extra_openings": 1.5},
        {"min_path": -1},
        {"h": 0},
        {"h": 1, "w": 1},
    ):
        args = {"h": 4, **kwargs}
        with pytest.raises(UnmaskError):
            maze.generate(rng, **args)
    with pytest.raises(maze.MazeError, match="mix"):
        maze.generate(rng, 4, algorithm="mix")


# --- generate_many ----------------------------------------------------------------------------


def test_generate_many_is_reproducible_for_any_workers_and_prefix_stable():
    count = maze.CHUNK * 2 + 40  # three chunks
    kwargs = dict(h=5, w=6, algorithm="mix", extra_openings=0.1, min_path=2, progress=False)
    p1, s1, m1 = maze.generate_many(count, 42, workers=1, **kwargs)
    p2, s2, m2 = maze.generate_many(count, 42, workers=2, **kwargs)
    p3, s3, m3 = maze.generate_many(maze.CHUNK + 10, 42, workers=1, **kwargs)
    assert p1.shape == s1.shape == (count, 11, 13) and p1.dtype == s1.dtype == np.int8
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(s1, s2)
    assert m1 == m2
    np.testing.assert_array_equal(p1[: len(p3)], p3)
    np.testing.assert_array_equal(s1[: len(s3)], s3)
    assert m1[: len(m3)] == m3
    assert [m["algorithm"] for m in m1] == [ALGS[i % 4] for i in range(count)]
    for i in range(0, count, 7):
        assert maze.check_answer(p1[i], s1[i]) is None
        assert m1[i]["path_length"] == maze.shortest_path_length(p1[i]) >= 2
    other, _, _ = maze.generate_many(50, 43, workers=1, **kwargs)
    assert not np.array_equal(other, p1[:50])
    assert len(np.unique(p1.reshape(count, -1), axis=0)) == count


def test_generate_many_single_algorithm_and_empty():
    puzzles, solutions, meta = maze.generate_many(12, 0, 3, progress=False)
    assert puzzles.shape == (12, 7, 7) and {m["algorithm"] for m in meta} == {"dfs"}
    empty, _, meta = maze.generate_many(0, 0, 3, progress=False)
    assert empty.shape == (0, 7, 7) and meta == []
    for bad in ({"count": -1}, {"seed": -5}, {"count": 2.5}, {"algorithm": "nope"}):
        with pytest.raises(maze.MazeError):
            maze.generate_many(**{"count": 3, "seed": 0, "h": 3, "progress": False, **bad})


# --- check_answer -----------------------------------------------------------------------------


def test_every_shortest_path_validates_against_the_networkx_oracle():
    rng = np.random.default_rng(21)
    checked = 0
    for _ in range(15):
        puzzle, solution = maze.generate(rng, 6, 6, "wilson", extra_openings=0.35)
        graph = maze.to_graph(puzzle)
        s, g = find(puzzle, START), find(puzzle, GOAL)
        dist = nx.shortest_path_length(graph, s, g)
        assert dist == 2 * maze.shortest_path_length(puzzle)
        for path in itertools.islice(nx.all_shortest_paths(graph, s, g), 30):
            assert maze.check_answer(puzzle, mark(puzzle, path)) is None
            checked += 1
    assert checked > 30


def test_a_longer_simple_path_is_rejected_as_not_shortest():
    rng = np.random.default_rng(22)
    found = 0
    while found < 5:
        puzzle, _ = maze.generate(rng, 5, 5, extra_openings=0.5, min_path=3)
        graph = maze.to_graph(puzzle)
        s, g = find(puzzle, START), find(puzzle, GOAL)
        dist = nx.shortest_path_length(graph, s, g)
        for path in itertools.islice(nx.shortest_simple_paths(graph, s, g), 50):
            if len(path) - 1 > dist:
                reason = maze.check_answer(puzzle, mark(puzzle, path))
                assert (
                    reason
                    == f"path is not a shortest one: {len(path) - 1} grid steps where {dist} suffice"
                )
                found += 1
                break


def _tree_case(seed: int):
    puzzle, solution = maze.generate(np.random.default_rng(seed), 7, 7, "kruskal", min_path=6)
    graph = maze.to_graph(puzzle)
    s, g = find(puzzle, START), find(puzzle, GOAL)
    path = nx.shortest_path(graph, s, g)
    return puzzle, solution, graph, path


def test_a_gap_is_rejected_as_a_dead_end():
    puzzle, solution, _, path = _tree_case(31)
    hole = path[len(path) // 2]
    answer = solution.copy()
    answer[hole] = OPEN
    ends = sorted([path[len(path) // 2 - 1], path[len(path) // 2 + 1]])
    assert maze.check_answer(puzzle, answer) == f"dead end of the path at {rc(ends[0])}"
    answer = solution.copy()
    answer[path[1]] = OPEN  # the first step off S
    assert maze.check_answer(puzzle, answer) == f"no path touches the start {rc(path[0])}"


def test_a_branch_is_rejected_where_it_leaves_the_path():
    puzzle, solution, graph, path = _tree_case(32)
    on_path = set(path)
    for node in path[1:-1]:
        side = [nb for nb in graph[node] if nb not in on_path]
        if side:
            answer = solution.copy()
            answer[side[0]] = PATH
            assert maze.check_answer(puzzle, answer) == f"path branches at {rc(node)}"
            return
    pytest.fail("no side passage along the path")  # pragma: no cover


def test_fixed_cells_and_codes_are_checked_first():
    puzzle, solution, _, path = _tree_case(33)
    walls = [tuple(p) for p in np.argwhere(puzzle[1:-1, 1:-1] == WALL).tolist()]
    wall = (walls[3][0] + 1, walls[3][1] + 1)
    answer = solution.copy()
    answer[wall] = PATH  # a path through a wall
    assert maze.check_answer(puzzle, answer) == f"{rc(wall)} changes a wall"
    answer = solution.copy()
    answer[path[0]] = PATH
    assert maze.check_answer(puzzle, answer) == f"{rc(path[0])} changes the start"
    answer = solution.copy()
    answer[path[-1]] = OPEN
    assert maze.check_answer(puzzle, answer) == f"{rc(path[-1])} changes the goal"
    open_cell = tuple(np.argwhere(solution == OPEN)[0].tolist())
    answer = solution.copy()
    answer[open_cell] = WALL
    assert maze.check_answer(puzzle, answer) == f"{rc(open_cell)} puts a wall on an open cell"
    answer[open_cell] = 9
    assert (
        maze.check_answer(puzzle, answer) == f"{rc(open_cell)} puts unknown code 9 on an open cell"
    )
    assert maze.check_answer(puzzle, puzzle) == "answer marks no path"
    assert maze.check_answer(puzzle, solution[:, :-1]).startswith("answer shape")
    first_path = tuple(np.argwhere(solution == PATH)[0].tolist())
    assert maze.check_answer(solution, solution) == f"puzzle has a path cell at {rc(first_path)}"
    no_goal = puzzle.copy()
    no_goal[path[-1]] = OPEN
    assert maze.check_answer(no_goal, solution) == "puzzle has no goal (G)"


def test_hand_made_grid_with_a_detached_loop():
    # 2 x 4 cells, every internal wall open; S at cell (0, 3), G at cell (1, 3).
    grid = np.full((5, 9), WALL, dtype=np.int8)
    grid[1:4, 1:8] = OPEN
    grid[2, 2:8:2] = WALL  # posts
    grid[1, 7], grid[3, 7] = START, GOAL
    answer = grid.copy()
    answer[2, 7] = PATH
    assert maze.check_answer(grid, answer) is None
    assert maze.shortest_path_length(grid) == 1
    loop = [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1), (2, 1)]
    for pos in loop:
        answer[pos] = PATH
    assert (
        maze.check_answer(grid, answer) == "path cells at r2c2 form a loop apart from the S-G path"
    )
    answer = grid.copy()
    answer[2, 7] = answer[1, 3] = PATH
    assert maze.check_answer(grid, answer) == "stray path cell at r2c4"


def test_shortest_path_length_errors():
    puzzle, _ = maze.generate(np.random.default_rng(1), 4)
    no_start = np.where(puzzle == START, OPEN, puzzle).astype(np.int8)
    with pytest.raises(maze.MazeError, match="no start"):
        maze.shortest_path_length(no_start)
    walled = puzzle.copy()
    r, c = find(puzzle, GOAL)
    walled[r - 1 : r + 2, c - 1 : c + 2] = WALL
    walled[r, c] = GOAL
    with pytest.raises(maze.MazeError, match="cannot be reached"):
        maze.shortest_path_length(walled)


# --- dihedral symmetries ----------------------------------------------------------------------


def test_dihedral_is_the_group_of_the_square_with_pinned_conventions():
    g = np.arange(20).reshape(4, 5)
    square = np.arange(16).reshape(4, 4)
    np.testing.assert_array_equal(maze.dihedral(square, 1), np.rot90(square))
    np.testing.assert_array_equal(maze.dihedral(square, 4), square[:, ::-1])
    np.testing.assert_array_equal(maze.dihedral(g, 6), g[::-1, :])
    images = {maze.dihedral(square, k).tobytes() for k in range(8)}
    assert len(images) == 8
    for k in range(8):  # each element's inverse is in the set; rotations compose
        back = [
            j
            for j in range(8)
            if np.array_equal(maze.dihedral(maze.dihedral(square, k), j), square)
        ]
        assert len(back) == 1
    np.testing.assert_array_equal(maze.dihedral(maze.dihedral(square, 1), 3), square)
    assert maze.dihedral_ks(4, 5) == (0, 2, 4, 6) and maze.dihedral_ks(5, 5) == tuple(range(8))
    for k in (1, 3, 5, 7):
        with pytest.raises(ValueError, match="change the shape"):
            maze.dihedral(g, k)
        with pytest.raises(ValueError):
            maze.dihedral_permutation(4, 5, k)
    with pytest.raises(ValueError):
        maze.dihedral(square, 8)


@pytest.mark.parametrize("h, w", [(5, 5), (3, 6)])
def test_dihedral_keeps_solutions_valid_and_matches_its_permutation(h, w):
    puzzles, solutions, meta = maze.generate_many(
        6, 3, h, w, algorithm="mix", extra_openings=0.2, workers=1, progress=False
    )
    H, W = 2 * h + 1, 2 * w + 1
    for k in maze.dihedral_ks(H, W):
        perm = maze.dihedral_permutation(H, W, k)
        assert perm.dtype == np.int64 and sorted(perm.tolist()) == list(range(H * W))
        batch = maze.dihedral(puzzles, k)  # (N, H', W') on the last two axes
        np.testing.assert_array_equal(
            batch.reshape(len(puzzles), -1), puzzles.reshape(len(puzzles), -1)[:, perm]
        )
        for puzzle, solution, m in zip(puzzles, solutions, meta, strict=True):
            tp, ts = maze.dihedral(puzzle, k), maze.dihedral(solution, k)
            np.testing.assert_array_equal(tp.ravel(), puzzle.ravel()[perm])
            assert maze.check_answer(tp, ts) is None
            assert maze.shortest_path_length(tp) == m["path_length"]
            assert (tp[1::2, 1::2] != WALL).all()  # still this module's layout
