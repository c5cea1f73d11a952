"""The partial-board checks (``Task.partial_check``) against brute force on random partial boards.

The brute force states the rules cell by cell in plain Python:

* conflict: a revealed cell that takes part in a broken rule (Sudoku: a peer holds the same
  digit; maze: a path position with more than two chain neighbours or fewer than two that could
  still be on the chain, S and G likewise with one);
* allowed, mazes: value v at a masked cell is allowed when placing it creates no conflict that
  the board did not already have (the conflict set after placing it is a subset of the one
  before);
* allowed, Sudoku: no peer holds the digit, and no other digit has this cell as its last place
  in one of the cell's units; broken: a unit where a digit has neither a holder nor a place.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from puzzles import maze, sudoku
from puzzles.task import get_task
from puzzles.tokens import GOAL, PATH, START, WALL

# --- Sudoku ------------------------------------------------------------------------------------


def _sudoku_conflicts(tokens: np.ndarray, n: int) -> np.ndarray:
    """(L,) bool by the rule: a revealed cell whose digit a peer also holds."""
    box = int(round(n**0.5))
    out = np.zeros(n * n, dtype=bool)
    for i in range(n * n):
        if tokens[i] == n:
            continue
        r, c = divmod(i, n)
        for j in range(n * n):
            if j == i or tokens[j] != tokens[i]:
                continue
            rj, cj = divmod(j, n)
            if rj == r or cj == c or (rj // box == r // box and cj // box == c // box):
                out[i] = True
    return out


def _sudoku_units(n: int) -> list[list[int]]:
    box = int(round(n**0.5))
    rows = [[r * n + c for c in range(n)] for r in range(n)]
    cols = [[r * n + c for r in range(n)] for c in range(n)]
    boxes = [
        [(br + i) * n + bc + j for i in range(box) for j in range(box)]
        for br in range(0, n, box)
        for bc in range(0, n, box)
    ]
    return rows + cols + boxes


def _sudoku_brute(tokens: np.ndarray, n: int):
    """(conflict (L,), allowed (L, n), broken) by the rules, cell by cell."""
    units = _sudoku_units(n)
    conflict = _sudoku_conflicts(tokens, n)
    masked = tokens == n
    peers = [set() for _ in range(n * n)]
    for u in units:
        for i in u:
            peers[i] |= set(u) - {i}
    free = np.zeros((n * n, n), dtype=bool)
    for i in np.flatnonzero(masked):
        held = {int(tokens[j]) for j in peers[i] if tokens[j] != n}
        free[i] = [d not in held for d in range(n)]
    broken = False
    last_place: dict[tuple[int, int], int] = {}  # (unit, digit) -> the only free cell
    for k, u in enumerate(units):
        for d in range(n):
            if any(tokens[i] == d for i in u):
                continue
            places = [i for i in u if free[i, d]]
            if not places:
                broken = True
            elif len(places) == 1:
                last_place[(k, d)] = places[0]
    allowed = np.ones((n * n, n), dtype=bool)
    for i in np.flatnonzero(masked):
        for v in range(n):
            needed_elsewhere = any(
                cell == i and d != v for (k, d), cell in last_place.items() if i in units[k]
            )
            allowed[i, v] = free[i, v] and not needed_elsewhere
    return conflict, allowed, broken


def _brute(tokens: np.ndarray, conflicts, mask_id: int, values: int):
    before = conflicts(tokens)
    allowed = np.ones((len(tokens), values), dtype=bool)
    for i in np.flatnonzero(tokens == mask_id):
        for v in range(values):
            t = tokens.copy()
            t[i] = v
            allowed[i, v] = not (conflicts(t) & ~before).any()
    return before, allowed


def _random_sudoku_boards(n: int, count: int, seed: int) -> np.ndarray:
    """Partial boards: cells of a solution masked at random, some overwritten with random digits
    (so conflicts and dead cells occur)."""
    rng = np.random.default_rng(seed)
    box = int(round(n**0.5))
    rows = []
    for k in range(count):
        grid = sudoku.random_grid(rng, box).reshape(-1).astype(np.int64) - 1
        t = np.where(rng.random(n * n) < rng.uniform(0.2, 0.8), n, grid)
        noise = rng.random(n * n) < (rng.uniform(0.0, 0.3) if k % 2 else 0.0)
        t = np.where(noise, rng.integers(0, n, n * n), t)
        rows.append(t)
    return np.stack(rows)


@pytest.mark.parametrize("n", [4, 9])
def test_sudoku_partial_check_matches_brute_force(n):
    spec = get_task("sudoku").spec(n)
    boards = _random_sudoku_boards(n, 40 if n == 4 else 12, seed=n)
    check = spec.family.partial_check(spec, torch.from_numpy(boards))
    assert check.conflict.shape == boards.shape and check.allowed.shape == (*boards.shape, n)
    kinds = set()
    for b, tokens in enumerate(boards):
        conflict, allowed, broken = _sudoku_brute(tokens, n)
        assert np.array_equal(check.conflict[b].numpy(), conflict), b
        assert np.array_equal(check.allowed[b].numpy(), allowed), b
        assert bool(check.broken[b]) == broken, b
        kinds.add((bool(conflict.any()), bool(check.dead[b].any())))
        kinds.add(("broken", broken))
        kinds.add(("forced", bool(((check.allowed[b].sum(-1) == 1) & check.masked[b]).any())))
    # the boards cover every case
    assert {(True, True), (False, False), ("broken", True), ("broken", False)} <= kinds
    assert ("forced", True) in kinds


def test_sudoku_partial_check_of_a_solved_board_and_a_clash():
    spec = get_task("sudoku").spec(9)
    grid = sudoku.random_grid(np.random.default_rng(0), 3).reshape(1, -1).astype(np.int64) - 1
    ok = spec.family.partial_check(spec, torch.from_numpy(grid))
    assert not ok.conflict.any() and not ok.violated.any()
    clash = grid.copy()
    clash[0, 1] = clash[0, 0]  # the same digit twice in row 1
    bad = spec.family.partial_check(spec, torch.from_numpy(clash))
    assert bad.conflict[0, 0] and bad.conflict[0, 1] and bad.violated.all()


# --- mazes -------------------------------------------------------------------------------------


def _maze_local(tokens: np.ndarray, h: int, w: int, mask_id: int) -> np.ndarray:
    """(L,) bool by the count rules, position by position."""
    grid = tokens.reshape(h, w)
    out = np.zeros((h, w), dtype=bool)
    for r in range(h):
        for c in range(w):
            v = grid[r, c]
            if v not in (PATH, START, GOAL):
                continue
            need = 2 if v == PATH else 1
            on = could = 0
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < h and 0 <= cc < w:
                    u = grid[rr, cc]
                    on += u in (PATH, START, GOAL)
                    could += u in (PATH, START, GOAL) or u == mask_id
            out[r, c] = on > need or could < need
    return out.reshape(-1)


def _grid_bfs(grid: np.ndarray, src: tuple[int, int], ok) -> dict:
    """Grid steps from src through positions where ok(code) holds."""
    h, w = grid.shape
    dist, front = {src: 0}, [src]
    while front:
        nxt = []
        for r, c in front:
            for q in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= q[0] < h and 0 <= q[1] < w and q not in dist and ok(grid[q]):
                    dist[q] = dist[(r, c)] + 1
                    nxt.append(q)
        front = nxt
    return dist


def _maze_rules(tokens: np.ndarray, h: int, w: int, mask_id: int):
    """(local conflicts, conflicts with the distance rule, positions on a shortest possible
    path, broken) by plain BFS."""
    grid = tokens.reshape(h, w)
    s = tuple(int(x) for x in np.argwhere(grid == START)[0])
    g = tuple(int(x) for x in np.argwhere(grid == GOAL)[0])
    d = _grid_bfs(grid, s, lambda v: v != WALL)[g]

    def possible(v):
        return v in (PATH, START, GOAL) or v == mask_id

    ds, dg = _grid_bfs(grid, s, possible), _grid_bfs(grid, g, possible)
    on = np.zeros((h, w), dtype=bool)
    for q in ds:
        if q in dg and ds[q] + dg[q] == d:
            on[q] = True
    local = _maze_local(tokens, h, w, mask_id)
    full = local | ((tokens == PATH) & ~on.reshape(-1))
    return local, full, on.reshape(-1), not on[g]


def _maze_brute(tokens: np.ndarray, h: int, w: int, mask_id: int):
    """(conflict, allowed, broken) as ``MazeTask.partial_check`` documents them."""
    local, full, on, broken = _maze_rules(tokens, h, w, mask_id)
    allowed = np.ones((len(tokens), 2), dtype=bool)
    for i in np.flatnonzero(tokens == mask_id):
        t = tokens.copy()
        t[i] = 0  # OPEN: no new conflict by the count rules
        allowed[i, 0] = not (_maze_local(t, h, w, mask_id) & ~local).any()
        t[i] = PATH  # PATH: no new conflict by any rule
        allowed[i, 1] = not (_maze_rules(t, h, w, mask_id)[1] & ~full).any()
    return full, allowed, broken


def _random_maze_boards(cells: int, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spec = get_task("maze").spec(cells)
    puzzles, solutions, _ = maze.generate_many(count, seed, cells, workers=1, progress=False)
    rows = []
    for p, s in zip(spec.encode_puzzle(puzzles), spec.encode_solution(solutions), strict=True):
        unknown = p == spec.mask_id
        t = np.where(unknown & (rng.random(len(p)) < rng.uniform(0.2, 0.9)), spec.mask_id, s)
        flip = unknown & (t != spec.mask_id) & (rng.random(len(p)) < rng.uniform(0.0, 0.25))
        rows.append(np.where(flip, 1 - t, t))  # some OPEN <-> PATH mistakes
    return np.stack(rows)


@pytest.mark.parametrize("cells", [2, 3, 4])
def test_maze_partial_check_matches_brute_force(cells):
    spec = get_task("maze").spec(cells)
    boards = _random_maze_boards(cells, 30, seed=cells)
    check = spec.family.partial_check(spec, torch.from_numpy(boards))
    h, w = spec.height, spec.width
    kinds = set()
    for b, tokens in enumerate(boards):
        conflict, allowed, broken = _maze_brute(tokens, h, w, spec.mask_id)
        assert np.array_equal(check.conflict[b].numpy(), conflict), b
        assert np.array_equal(check.allowed[b].numpy(), allowed), b
        assert bool(check.broken[b]) == broken, b
        kinds.add(bool(conflict.any()))
        kinds.add(("broken", broken))
        kinds.add(("forced", bool((check.allowed[b].sum(-1) == 1).any())))
    assert {True, False, ("forced", True), ("broken", True), ("broken", False)} <= kinds


def test_maze_solution_has_no_conflict_and_a_branch_has_one():
    spec = get_task("maze").spec(5)
    _, solutions, _ = maze.generate_many(5, 9, 5, workers=1, progress=False)
    tokens = torch.from_numpy(spec.encode_solution(solutions))
    assert not spec.family.partial_check(spec, tokens).violated.any()
    # a path cell with a third path neighbour: open a wall next to the path and mark it path
    grid = tokens.view(5, spec.height, spec.width).clone()
    r, c = map(int, torch.nonzero(grid[0] == PATH)[0])
    for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
        if grid[0, rr, cc] != PATH and grid[0, rr, cc] not in (START, GOAL):
            grid[0, rr, cc] = PATH
            break
    bad = spec.family.partial_check(spec, grid.view(5, -1))
    assert bad.violated[0] and not bad.violated[1:].any()
