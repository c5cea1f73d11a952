"""Synthetic payloads for the HTML viewer (schema: docs/view-format.md), built by simulating a
model whose uncertainty falls as the board fills, and applying the samplers' real rules to it.

Every number the page recomputes from is rounded first (to the page's 4 significant digits) and
the rules run on the rounded numbers, summed in the same order as the page, so the recorded
``set`` cells are exactly what the page's rule panel must find. Real traces (from
``sampling``) will replace these; the builders stay small on purpose.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from puzzles import maze, sudoku

SUDOKU_SYMBOLS = [str(d) for d in range(1, 10)]
MAZE_SYMBOLS = [".", "*", "#", "S", "G"]  # OPEN, PATH (values), WALL, START, GOAL (context)


def r4(x: float) -> float:
    """Round to the page's 4 significant digits."""
    return float(f"{x:.4g}")


def sampler_label(name: str, knobs: dict) -> str:
    return name + (":" + ",".join(f"{k}={v}" for k, v in knobs.items()) if knobs else "")


# --- the simulated model -----------------------------------------------------------------------


class ToyModel:
    """Cells become certain in waves, as in a real solve: each cell has a wave (0..7); a masked
    cell of the earliest wave still masked has a small error (1e-7..1e-3, log-uniform), or 0.2..0.4
    for one cell in twenty (the model hesitates: a branch point; it does not hold back the
    next wave); later waves are unsure
    (error >= 0.12, growing with the distance). The error is split over the other values
    0.75 / 0.2 / the rest. ``wrong`` cells put their top probability on a wrong value."""

    waves = 8

    def __init__(self, solution, num_values: int, rng: np.random.Generator, wrong=()):
        L = len(solution)
        self.solution = list(solution)
        self.nv = num_values
        self.wave = rng.integers(0, self.waves, L)
        self.low = 10.0 ** rng.uniform(-7, -3, L)
        self.hesitant = rng.random(L) < 0.05
        self.low[self.hesitant] = rng.uniform(0.2, 0.4, int(self.hesitant.sum()))
        self.wrong = set(wrong)

    def error(self, cell: int, masked) -> float:
        sure = [self.wave[c] for c in masked if not self.hesitant[c]]
        now = min(sure) if sure else self.waves
        ahead = int(self.wave[cell]) - int(now)
        return float(self.low[cell]) if ahead <= 0 else min(0.8, 0.12 * 1.6**ahead)

    def dist(self, cell: int, masked) -> list[tuple[int, float]]:
        """[(token, prob)] sorted by probability, over all num_values tokens."""
        err = self.error(cell, masked)
        right = self.solution[cell]
        others = [t for t in range(self.nv) if t != right]
        # a fixed, cell-dependent order of the other values
        others = others[cell % len(others) :] + others[: cell % len(others)]
        if cell in self.wrong:
            err = max(err, 0.45)
            order = [others[0], right] + others[1:]
        else:
            order = [right] + others
        if self.nv == 2:
            probs = [1 - err, err]
        else:
            rest = 0.05 * err / max(1, self.nv - 3)
            probs = [1 - err, 0.75 * err, 0.2 * err] + [rest] * (self.nv - 3)
        return list(zip(order, probs[: self.nv], strict=True))


def _entropy(probs) -> float:
    return -sum(p * math.log(p) for p in probs if p > 0)


def _take(name: str, knobs: dict, entropy: list[float], confidence: list[float]) -> int:
    """How many cells of the proxy order the rule takes (the same arithmetic as view.js)."""
    n = len(entropy)
    if name == "eb":
        total, top, k = 0.0, -math.inf, 0
        for h in entropy:
            total += h
            top = max(top, h)
            if total - top > knobs["gamma"]:
                break
            k += 1
        return max(1, k)
    if name == "topk":
        return min(n, knobs["k"])
    if name == "threshold":
        return max(1, sum(c >= knobs["tau"] for c in confidence))
    raise ValueError(name)


def simulate_run(
    puzzle: list[int],
    solution: list[int],
    num_values: int,
    name: str,
    knobs: dict,
    *,
    seed: int = 0,
    wrong=(),
    backtrack_at: int | None = None,
    branch_entropy: float = 0.02,
    propagate: bool = False,
    check=None,
) -> dict:
    """One Run of the schema. ``name``: eb / topk / threshold / dus. ``wrong``: cells whose top
    value is wrong. ``backtrack_at``: pass whose first cell goes wrong and is taken back two
    passes later by a backtrack (a search run). ``propagate``: cells with error < 1e-5 are filled
    by a "fill" event before the pass. ``check(final) -> reason or None``: the validator."""
    rng = np.random.default_rng(seed)
    model = ToyModel(solution, num_values, rng, wrong)
    board = list(puzzle)
    unknown = [c for c, t in enumerate(puzzle) if t < 0]
    events: list[dict] = []
    nfe = 0
    reveal_pass: dict[int, int] = {}  # cell -> pass that placed its current value
    branch_cell = branch_alt = branch_pass = None
    backed = False
    dus_plan = [unknown[i :: max(1, math.ceil(math.log2(len(unknown))))]
                for i in range(max(1, math.ceil(math.log2(len(unknown)))))]  # fmt: skip
    while any(board[c] < 0 for c in unknown):
        masked = [c for c in unknown if board[c] < 0]
        if propagate:
            forced = [c for c in masked if model.error(c, masked) < 1e-5]
            if forced and len(forced) < len(masked):
                for c in forced:
                    board[c] = solution[c]
                events.append({"kind": "fill", "nfe": nfe, "set": [[c, solution[c]] for c in forced],
                               "unset": []})  # fmt: skip
                continue
        dists = {c: model.dist(c, masked) for c in masked}
        H = {c: r4(_entropy(p for _, p in dists[c])) for c in masked}
        conf = {c: r4(dists[c][0][1]) for c in masked}
        proxy = H if knobs.get("proxy", "entropy") == "entropy" else {c: -conf[c] for c in masked}
        order = sorted(masked, key=lambda c: (proxy[c], c))
        if name == "dus":
            step = sum(e["kind"] == "pass" for e in events)
            planned = {c for c in dus_plan[min(step, len(dus_plan) - 1)] if board[c] < 0}
            taken = [c for c in order if c in planned] or order[:1]
        else:
            taken = order[: _take(name, knobs, [H[c] for c in order], [conf[c] for c in order])]
        if backtrack_at is not None and branch_cell is None and nfe + 1 >= backtrack_at:
            uncertain = [c for c in taken if H[c] > branch_entropy]
            if uncertain:  # a guess that goes wrong: the right value second, same probabilities
                branch_cell, branch_pass = uncertain[0], nfe + 1
                d = dists[branch_cell]
                branch_alt = d[0][0]
                dists[branch_cell] = [(d[1][0], d[0][1]), (d[0][0], d[1][1])] + d[2:]
        nfe += 1
        info = {}
        for c in taken:
            d = dists[c]
            board[c] = d[0][0]
            reveal_pass[c] = nfe
            info[str(c)] = {"top": [[t, r4(p)] for t, p in d[:3]], "entropy": H[c],
                            "prob": r4(d[0][1]), "branch": H[c] > branch_entropy}  # fmt: skip
        if backtrack_at is None:
            for c in taken:
                info[str(c)].pop("branch")
        events.append({
            "kind": "pass", "nfe": nfe, "set": [[c, board[c]] for c in taken], "unset": [],
            "order": order, "proxy": [proxy[c] for c in order], "entropy": [H[c] for c in order],
            "confidence": [conf[c] for c in order], "info": info,
        })  # fmt: skip
        full = all(board[c] >= 0 for c in unknown)
        if branch_cell is not None and not backed and (nfe == branch_pass + 2 or full):
            backed = True
            later = [c for c in unknown if board[c] >= 0 and reveal_pass.get(c, 0) > branch_pass]
            for c in later:
                board[c] = -1
            board[branch_cell] = branch_alt
            events.append({"kind": "backtrack", "nfe": nfe, "set": [[branch_cell, branch_alt]],
                           "unset": sorted(later), "cell": branch_cell, "token": branch_alt})  # fmt: skip
    reason = check(board) if check else None
    first_wrong = None
    if solution is not None:
        placed = sorted(unknown, key=lambda c: (reveal_pass.get(c, 0), c))
        first_wrong = next((c for c in placed if board[c] != solution[c]), None)
    run = {
        "label": sampler_label(name, knobs), "sampler": {"name": name, **knobs},
        "search": None, "constrain": False, "propagate": propagate,
        "nfe": nfe, "valid": reason is None, "reason": reason, "first_wrong": first_wrong,
        "final": board, "events": events,
    }  # fmt: skip
    if backtrack_at is not None:
        run["search"] = {"mode": "backtrack", "branch_entropy": branch_entropy, "max_nfe": 200}
        run["label"] += "+backtrack"
        run["constrain"] = True
    return run


def with_remask(run: dict, j: int) -> dict:
    """A copy of ``run`` as a remask search: after pass ``j`` (1-based event) its cells are masked
    again and the same pass runs once more (one more forward pass; the rest is unchanged)."""
    import copy

    out = copy.deepcopy(run)
    ev = out["events"][j - 1]
    assert ev["kind"] == "pass"
    remask = {"kind": "remask", "nfe": ev["nfe"], "set": [], "unset": [c for c, _ in ev["set"]]}
    again = copy.deepcopy(ev)
    later = out["events"][j:]
    for e in [again, *later]:
        e["nfe"] += 1
    out["events"] = out["events"][:j] + [remask, again] + later
    out["nfe"] += 1
    out["search"] = {"mode": "remask", "branch_entropy": 0.02, "max_nfe": 200}
    out["label"] += "+remask"
    return out


# --- puzzles -----------------------------------------------------------------------------------

EB = ("eb", {"gamma": 0.01, "proxy": "entropy"})
TOP1 = ("topk", {"k": 1, "proxy": "entropy"})
THRESHOLD = ("threshold", {"tau": 0.9})


def sudoku_puzzle(seed: int = 0, runs=(EB, TOP1, THRESHOLD), wrong_in=(), search: bool = False,
                  source: str = "synthetic.txt") -> dict:  # fmt: skip
    """A 9x9 Sudoku (a real generated puzzle, ~56 cells to fill) with one run per (name, knobs);
    the runs whose labels are in ``wrong_in`` place one wrong digit (and fail). ``search``: add
    an EB run with a backtrack (a search trace that ends valid)."""
    rng = np.random.default_rng(seed)
    g = sudoku.generate(rng, 3, clues=25)
    puzzle = [int(v) - 1 for v in g.puzzle.reshape(-1)]  # blank 0 -> -1
    solution = [int(v) - 1 for v in g.solution.reshape(-1)]
    unknown = [c for c, t in enumerate(puzzle) if t < 0]

    def check(tokens):
        answer = np.asarray(tokens).reshape(9, 9) + 1
        return sudoku.check_answer(g.puzzle, answer)

    out = []
    for i, (name, knobs) in enumerate(runs):
        label = sampler_label(name, knobs)
        wrong = [unknown[len(unknown) // 2]] if label in wrong_in else []
        out.append(simulate_run(puzzle, solution, 9, name, knobs, seed=seed * 10 + i,
                                wrong=wrong, check=check))  # fmt: skip
    if search:
        out.append(simulate_run(puzzle, solution, 9, "eb", dict(EB[1]), seed=seed * 10 + 9,
                                backtrack_at=3, check=check))  # fmt: skip
    return {
        "id": f"sudoku-{seed}", "source": source, "index": seed, "task": "sudoku",
        "renderer": "sudoku", "height": 9, "width": 9, "box": 3, "num_values": 9,
        "symbols": SUDOKU_SYMBOLS, "puzzle": puzzle, "solution": solution, "runs": out,
    }  # fmt: skip


def maze_puzzle(seed: int = 0, cells: int = 5) -> dict:
    """A maze of cells x cells (a real generated one) with an EB run and a top-1 run."""
    rng = np.random.default_rng(seed)
    grid, solved = maze.generate(rng, cells)
    puzzle = [-1 if v == maze.OPEN else int(v) for v in grid.reshape(-1)]
    solution = [int(v) for v in solved.reshape(-1)]

    def check(tokens):
        return maze.check_answer(grid, np.asarray(tokens).reshape(grid.shape))

    runs = [simulate_run(puzzle, solution, 2, name, knobs, seed=seed * 10 + i, check=check)
            for i, (name, knobs) in enumerate([("eb", {"gamma": 0.1, "proxy": "entropy"}), TOP1])]  # fmt: skip
    h, w = grid.shape
    return {
        "id": f"maze-{seed}", "source": "mazes.txt", "index": seed, "task": "maze",
        "renderer": "maze", "height": h, "width": w, "box": None, "num_values": 2,
        "symbols": MAZE_SYMBOLS, "puzzle": puzzle, "solution": solution, "runs": runs,
    }  # fmt: skip


def grid_puzzle(seed: int = 0) -> dict:
    """A 5x5 Latin square (a family with no renderer of its own): a top-2 run by margin with
    propagation ("fill" events) and a DUS run."""
    n = 5
    square = [(r * 2 + c) % n for r in range(n) for c in range(n)]
    rng = np.random.default_rng(seed)
    hidden = set(rng.choice(n * n, size=15, replace=False).tolist())
    puzzle = [-1 if c in hidden else t for c, t in enumerate(square)]

    def check(tokens):
        rows = [sorted(tokens[r * n : r * n + n]) for r in range(n)]
        cols = [sorted(tokens[c::n]) for c in range(n)]
        bad = [i for i, line in enumerate(rows + cols) if line != list(range(n))]
        return None if not bad else f"line {bad[0] + 1} is not a permutation"

    margin = simulate_run(puzzle, square, n, "topk", {"k": 2, "proxy": "margin"},
                          seed=seed, propagate=True, check=check)  # fmt: skip
    for ev in margin["events"]:  # proxy = -margin, not derivable from entropy or confidence
        if ev["kind"] == "pass":
            ev["proxy"] = [r4(-(c - 0.75 * (1 - c))) for c in ev["confidence"]]
    dus = simulate_run(puzzle, square, n, "dus", {}, seed=seed + 1, check=check)
    return {
        "id": f"latin-{seed}", "source": "latin.txt", "index": seed, "task": "latin",
        "renderer": "grid", "height": n, "width": n, "box": None, "num_values": n,
        "symbols": ["a", "b", "c", "d", "e"], "puzzle": puzzle, "solution": square,
        "runs": [margin, dus],
    }  # fmt: skip


def view_payload(puzzles: list[dict], title: str = "unmask view (synthetic traces)") -> dict:
    return {"kind": "view", "version": 1, "title": title, "puzzles": puzzles}


def bench_rows(puzzles: list[dict]) -> list[dict]:
    """Bench rows (the keys of ``sampling.bench.run_bench``) summarising the runs of ``puzzles``."""
    rows = []
    labels = list(dict.fromkeys(r["label"] for p in puzzles for r in p["runs"]))
    for label in labels:
        runs = [r for p in puzzles for r in p["runs"] if r["label"] == label]
        nfes = np.array([r["nfe"] for r in runs], dtype=float)
        solved = sum(r["valid"] for r in runs)
        first = runs[0]
        rows.append({
            "sampler": label, "name": first["sampler"]["name"],
            "family": first["sampler"]["name"] + ("+" + first["search"]["mode"] if first["search"] else ""),
            "params": {k: v for k, v in first["sampler"].items() if k != "name"},
            "search": first["search"], "validator_in_loop": first["search"] is not None,
            "n": len(runs), "solved": solved, "accuracy": solved / len(runs),
            "mean_nfe": float(nfes.mean()), "median_nfe": float(np.median(nfes)),
            "p90_nfe": float(np.percentile(nfes, 90)), "max_nfe": int(nfes.max()),
            "puzzles_per_second": 100.0 / float(nfes.mean()), "seconds": float(nfes.sum()) / 100,
        })  # fmt: skip
    ref = next((r for r in rows if r["name"] == "topk" and r["params"].get("k") == 1), rows[0])
    for r in rows:
        r["reference"] = ref["sampler"]
        r["speedup_nfe"] = ref["mean_nfe"] / r["mean_nfe"]
    return rows


def report_payload(puzzles: list[dict], title: str = "unmask bench (synthetic)") -> dict:
    return {"kind": "report", "version": 1, "title": title, "machine": "test machine (CPU)",
            "rows": bench_rows(puzzles), "puzzles": puzzles}  # fmt: skip


def sudoku_16x3() -> dict:
    """The size budget's payload: 16 Sudoku puzzles x (top-1, EB, threshold)."""
    return view_payload([sudoku_puzzle(s, runs=(TOP1, EB, THRESHOLD)) for s in range(16)])


def need_browser() -> None:
    """Skip the calling test module without a browser, with one line saying how to install
    one; under CI (``.ci/run`` installs both) fail instead, so a broken page cannot pass unseen.
    Call it at the module's top, before the imports it guards."""
    from viz.browser import missing

    why = missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests: {why}", pytrace=False)
        pytest.skip(why, allow_module_level=True)


def embedded(path) -> dict:
    """The payload a written page holds."""
    text = Path(path).read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="unmask-payload">(.*?)</script>', text, re.S)
    return json.loads(m.group(1))


def fold(puzzle: list[int], events: list[dict], k: int) -> list[int]:
    """The board after events 1..k (set, then unset), -1 where masked."""
    board = list(puzzle)
    for ev in events[:k]:
        for cell, token in ev["set"]:
            board[cell] = token
        for cell in ev["unset"]:
            board[cell] = -1
    return board
