"""Shared fixtures for the viz tests: synthetic sampler traces (valid boards, reveal orders chosen
by a seeded RNG), tiny random-init models with puzzle files, and for the browser tests one
headless Chromium per module (``browser``) and pages opened from disk (``opened``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from puzzles.task import get_task
from puzzles.tokens import GOAL, OPEN, PATH, START, WALL
from sampling.step import SampleResult


@pytest.fixture
def one_thread():
    """Tiny forward passes on a busy 2-core machine: one intra-op thread (see sampling tests)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sudoku_grid_tokens(n: int) -> np.ndarray:
    """A valid solved n x n Sudoku as tokens (digit - 1), row-major (n*n,)."""
    box = int(round(n**0.5))
    grid = [[(box * (r % box) + r // box + c) % n for c in range(n)] for r in range(n)]
    return np.asarray(grid, dtype=np.int64).reshape(-1)


def reveal_order(
    rng: np.random.Generator, masked: np.ndarray, per_step: tuple[int, int]
) -> tuple[np.ndarray, int]:
    """reveal_step (L,) with -1 off ``masked`` and 1..nfe on it, ``per_step`` cells per pass."""
    cells = np.flatnonzero(masked)
    rng.shuffle(cells)
    reveal = np.full(masked.shape, -1, dtype=np.int64)
    step = i = 0
    while i < len(cells):
        step += 1
        k = int(rng.integers(per_step[0], per_step[1] + 1))
        reveal[cells[i : i + k]] = step
        i += k
    return reveal, step


def result_from(tokens: np.ndarray, reveal: np.ndarray, rng: np.random.Generator) -> SampleResult:
    """A one-row SampleResult with random entropies (nats) and matching probabilities."""
    masked = reveal >= 1
    entropy = np.where(masked, rng.random(tokens.shape) * 1.5, np.nan)
    prob = np.where(masked, np.exp(-entropy), np.nan)
    return SampleResult(
        tokens=torch.as_tensor(tokens[None], dtype=torch.long),
        reveal_step=torch.as_tensor(reveal[None], dtype=torch.long),
        nfe=torch.tensor([int(reveal.max(initial=0))]).clamp(min=0),
        entropy=torch.as_tensor(entropy[None], dtype=torch.float32),
        prob=torch.as_tensor(prob[None], dtype=torch.float32),
    )


def synth_sudoku(n: int = 9, seed: int = 0, given_frac: float = 0.35, per_step=(1, 3)):
    """(spec, SampleResult) for a solved n x n grid; the given mask depends on ``seed`` only."""
    rng = np.random.default_rng(seed)
    tokens = sudoku_grid_tokens(n)
    masked = rng.random(n * n) >= given_frac
    order_rng = np.random.default_rng([seed, per_step[0], per_step[1]])
    reveal, _ = reveal_order(order_rng, masked, per_step)
    return get_task("sudoku").spec(n), result_from(tokens, reveal, order_rng)


def synth_maze(seed: int = 0, per_step=(1, 4)):
    """(spec, SampleResult) for a hand-drawn 3x3-cell maze (7x7 grid): its path and a dead end."""
    rows = [
        "#######",
        "#S....#",
        "#####.#",
        "#.....#",
        "#.###.#",
        "#...#G#",
        "#######",
    ]
    code = {"#": WALL, ".": OPEN, "S": START, "G": GOAL}
    grid = np.array([[code[ch] for ch in row] for row in rows], dtype=np.int64)
    puzzle = grid.reshape(-1)
    solution = puzzle.copy()
    # The only route: along row 1, then down column 5; rows 3-5 on the left are a dead end.
    for r, c in [(1, 2), (1, 3), (1, 4), (1, 5), (2, 5), (3, 5), (4, 5)]:
        solution[r * 7 + c] = PATH
    rng = np.random.default_rng([seed, per_step[0], per_step[1]])
    reveal, _ = reveal_order(rng, puzzle == OPEN, per_step)
    return get_task("maze").spec(3), result_from(solution, reveal, rng)


@pytest.fixture
def sudoku_trace():
    return synth_sudoku


@pytest.fixture
def maze_trace():
    return synth_maze


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory):
    """Random-init one-layer models and two puzzles per task, written like real user files.

    Returns a dict: sudoku_model, sudoku_puzzles (4x4), maze_model, maze_puzzles (3x3 cells).
    """
    from models.checkpoint import save_model
    from models.config import ModelConfig
    from models.denoiser import Denoiser
    from puzzles import maze, sudoku
    from puzzles.maze_text import format_maze_text
    from puzzles.sudoku_text import format_sudoku_text

    root = tmp_path_factory.mktemp("viz_inputs")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    files = {}
    for spec in (get_task("sudoku").spec(4), get_task("maze").spec(3)):
        cfg = ModelConfig.from_spec(spec, "tiny", d_model=32, n_layers=1, n_heads=2, d_ff=64)
        path = root / f"{spec.task}.pt"
        save_model(path, Denoiser(cfg), {"note": "random init, for tests"})
        files[f"{spec.task}_model"] = path
    boards = np.stack([sudoku.generate(rng, 2).puzzle for _ in range(2)])
    (root / "sudoku.txt").write_text(format_sudoku_text(boards))
    (root / "maze.txt").write_text(
        format_maze_text(np.stack([maze.generate(rng, 3)[0] for _ in range(2)]))
    )
    files["sudoku_puzzles"] = root / "sudoku.txt"
    files["maze_puzzles"] = root / "maze.txt"
    return files


@pytest.fixture(scope="session")
def view_inputs(tiny_files, tmp_path_factory):
    """What the `unmask view` / `report` tests solve: per family (sudoku 4x4, maze 3x3 cells,
    and the plugin family latin 4x4 of ``tests/plugins/latin_task.py``) a random-init model and
    a puzzle file with its solutions (``<stem>.solutions.txt``), written like user files.

    Returns {family: (puzzles path, model path)}.
    """
    import sys

    from models.checkpoint import save_model
    from models.config import ModelConfig
    from models.denoiser import Denoiser
    from puzzles import maze, sudoku
    from puzzles.datasets import Dataset, save_dataset
    from puzzles.generate import generate_many

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
    import latin_task  # noqa: F401  (registers the family "latin")

    root = tmp_path_factory.mktemp("view_inputs")
    rng = np.random.default_rng(1)
    games = [sudoku.generate(rng, 2) for _ in range(8)]
    save_dataset(root / "sudoku.txt", Dataset("sudoku", np.stack([g.puzzle for g in games]),
                                              np.stack([g.solution for g in games])))  # fmt: skip
    mazes = [maze.generate(rng, 3) for _ in range(2)]
    save_dataset(root / "maze.txt", Dataset("maze", np.stack([m[0] for m in mazes]),
                                            np.stack([m[1] for m in mazes])))  # fmt: skip
    task = get_task("latin")
    spec = task.spec(4)
    puzzles, solutions, _ = generate_many(task, spec, 3, seed=5, workers=1, progress=False)
    save_dataset(root / "latin.txt", Dataset("latin", puzzles, solutions))
    torch.manual_seed(1)
    cfg = ModelConfig.from_spec(spec, "tiny", d_model=32, n_layers=1, n_heads=2, d_ff=64)
    save_model(root / "latin.pt", Denoiser(cfg), {"note": "random init, for tests"})
    return {
        "sudoku": (root / "sudoku.txt", tiny_files["sudoku_model"]),
        "maze": (root / "maze.txt", tiny_files["maze_model"]),
        "latin": (root / "latin.txt", root / "latin.pt"),
    }


# --- the HTML pages in a browser (the modules that use these skip without one) --------------


@pytest.fixture(scope="module")
def browser():
    from viz.browser import chromium

    with chromium() as b:
        yield b


class Opened:
    """A page opened from disk, with what it logged and requested."""

    def __init__(self, browser, path: Path):
        self.url = Path(path).resolve().as_uri()
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.route("**/*", self._route)
        self.page.goto(self.url)

    def _route(self, route):
        self.requests.append(route.request.url)
        if route.request.url == self.url:
            route.continue_()
        else:
            route.abort()

    # --- reading and driving the viewer ---------------------------------------------------
    def tokens(self, run: int | None = None) -> list[str]:
        sel = ".board" if run is None else f'.board[data-run="{run}"]'
        return self.page.eval_on_selector(
            sel, "b => [...b.querySelectorAll('.cell')].map(c => c.dataset.token)"
        )

    def event(self) -> int:
        return int(self.page.get_attribute("#event-index", "data-event"))

    def go(self, k: int) -> None:
        self.page.eval_on_selector(
            "#event-slider", "(e, k) => { e.value = k; e.dispatchEvent(new Event('input')); }", k
        )

    def run_tab(self, i: int) -> None:
        self.page.click(f'.run-tab[data-run="{i}"]')

    def puzzle(self, i: int) -> None:
        self.page.select_option("#puzzle-picker", str(i))

    def boards_over_events(self, n_events: int) -> list[list[str]]:
        """Slide to every event 0..n_events in turn and read the board: one round trip."""
        return self.page.evaluate(
            """n => { const s = document.getElementById('event-slider'), out = [];
                 for (let k = 0; k <= n; k++) { s.value = k; s.dispatchEvent(new Event('input'));
                   out.push([...document.querySelectorAll('.board .cell')].map(c => c.dataset.token)); }
                 return out; }""",
            n_events,
        )


@pytest.fixture
def opened(browser):
    """opened(path) -> Opened; on teardown: no console error and no request but the file."""
    pages: list[Opened] = []

    def open_(path, strict: bool = True) -> Opened:
        o = Opened(browser, path)
        o.strict = strict
        pages.append(o)
        return o

    yield open_
    for o in pages:
        o.page.close()
        if o.strict:
            assert o.errors == [], f"console errors on {o.url}: {o.errors}"
            assert set(o.requests) == {o.url}, f"requests besides the file: {o.requests}"
