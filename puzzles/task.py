"""Puzzle families behind one interface: ``Task``, its ``TaskSpec``, the registry and the shared
parallel generator.

A *task* is one puzzle family (Sudoku, mazes, or one a user adds). Everything outside the
family's own module reaches it through ``get_task(name)`` (or ``spec.family``): its grid and
vocabulary for a size, its generators, its text formats, its exact answer check, its
partial-board check (used by search and ``--constrain``) and its symmetries (training
augmentation). Adding a family is one module that subclasses ``Task`` and calls
``register_task``; ``python -m pytest tests/puzzles/test_plugin_task.py`` shows one (Latin
squares) going through generate, train, solve, validate and animate with no change to the
package.

Boards and tokens
    A family's *boards* are int arrays (N, H, W) of its own codes; ``blank`` marks a cell a
    solver must fill. Model *tokens* are row-major (N, H*W): ids ``0 .. num_values-1`` are the
    values the denoiser predicts, ids from ``num_values`` up to ``mask_id - 1`` are context the
    model sees but never predicts (maze walls, start, goal), ``mask_id`` is a cell still to
    fill. A value cell's board code is ``token + token_offset``.

Registry
    The built-in families (``sudoku``, ``maze``) are imported on first use. Others register
    themselves with ``register_task(task)`` when their module is imported: by the caller, by the
    environment variable ``UNMASK_TASKS`` (comma-separated module names, imported by
    ``task_names()``), or through the ``unmask.tasks`` entry-point group of an installed package.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import argparse

    import torch


# --- the spec --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    """One family's grid and vocabulary at one size: what a model and a sampler need to know.

    Plain data (saved inside every model file); behaviour comes from ``family``.
    """

    task: str  # registry name of the family
    height: int  # grid rows in tokens
    width: int  # grid columns in tokens
    num_values: int  # logits per cell
    mask_id: int
    vocab_size: int

    @property
    def family(self) -> Task:
        """The ``Task`` this spec belongs to."""
        return get_task(self.task)

    @property
    def num_cells(self) -> int:
        return self.height * self.width

    @property
    def grid(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def size(self) -> int:
        """The family's size parameter (Sudoku n, maze cells per side, ...)."""
        return self.family.size_of(self.height, self.width)

    def describe(self) -> str:
        """'sudoku 9x9', 'maze 10x10' (cells)."""
        return self.family.describe(self.size)

    # --- boards <-> tokens (the family's rules) ---------------------------------------
    def encode_puzzle(self, boards: np.ndarray) -> np.ndarray:
        """Puzzle boards (N, H, W) -> tokens (N, H*W) int64, cells to fill set to ``mask_id``."""
        return self.family.encode_puzzle(self, boards)

    def encode_solution(self, boards: np.ndarray) -> np.ndarray:
        """Solved boards (N, H, W) -> tokens (N, H*W) int64 with no mask."""
        return self.family.encode_solution(self, boards)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens (N, H*W) -> boards (N, H, W); masked cells decode to the family's blank."""
        return self.family.decode(self, tokens)

    def unknown_mask(self, puzzles: np.ndarray) -> np.ndarray:
        """Boolean (N, H*W): the cells a solver must fill."""
        return self.family.unknown_mask(self, puzzles)


# --- what generators and checks return --------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """One generated puzzle (H, W), its solution (H, W) and per-puzzle facts (JSON-able scalars:
    difficulty, path length, generator name, ...), stored as ``extra.<name>`` in .npz files."""

    puzzle: np.ndarray
    solution: np.ndarray
    extra: dict = field(default_factory=dict)


@dataclass
class PartialCheck:
    """What the revealed cells of a batch of partial boards already rule out.

    masked:   (B, L) bool, cells still holding the mask id.
    conflict: (B, L) bool, revealed cells (givens included) that break a rule of the family
              whatever the masked cells turn out to be.
    allowed:  (B, L, V) bool, for masked cells the values the family's rules do not rule out at
              once (each family says which); True for revealed cells.
    broken:   (B,) bool or None, rows that break a rule no single cell carries (a Sudoku digit
              with no place left in a row, column or box).
    """

    masked: torch.Tensor
    conflict: torch.Tensor
    allowed: torch.Tensor
    broken: torch.Tensor | None = None

    @property
    def dead(self) -> torch.Tensor:
        """(B, L) bool: masked cells with no value left."""
        return self.masked & ~self.allowed.any(-1)

    @property
    def violated(self) -> torch.Tensor:
        """(B,) bool: rows with a conflict, a dead cell or a broken rule (no completion can be
        valid)."""
        bad = self.conflict.any(1) | self.dead.any(1)
        return bad if self.broken is None else bad | self.broken


# --- the interface ----------------------------------------------------------------------------


class Task:
    """A puzzle family. Subclasses set the class attributes and implement the methods that
    raise ``NotImplementedError``; the rest has working defaults.

    Class attributes
        name          registry key and command-line word (``unmask solve NAME``)
        title         for figure titles ("Sudoku")
        size_flag     the flag that sets the size in ``unmask train`` (and its help text)
        size_aliases  more flags accepted for the size
        default_size  size used when none is given
        token_offset  board code of a value cell = token + token_offset
        blank         board code of a cell to fill in a puzzle
        max_code      largest board code (file checks)
        suffixes      file suffixes the text format reads, besides .npz
        generators    generator names, default first
        generator_option  the ``generate`` option that takes one of them (None: no choice)
        seed_chunk    puzzles drawn from one random stream by ``generate_many`` (see there)
        search_branch_entropy  nats: the default ``--branch-entropy`` of ``unmask solve/bench
                      --search backtrack`` for this family, chosen by measurement
                      (``benchmarks/search_sweep.py``)
    """

    name: str = ""
    title: str = ""
    size_flag: str = "--size"
    size_help: str = "grid side"
    size_aliases: tuple[str, ...] = ()
    default_size: int = 0
    token_offset: int = 0
    blank: int = 0
    max_code: int = 0
    suffixes: tuple[str, ...] = (".txt",)
    generators: tuple[str, ...] = ("default",)
    generator_option: str | None = None
    search_branch_entropy: float = 0.02
    seed_chunk: int = 1
    generate_help: str = ""  # one line for `unmask generate --help`
    generate_description: str = ""  # the paragraph of `unmask generate NAME --help`

    def __repr__(self) -> str:
        return f"<task {self.name}>"

    # --- grid and vocabulary ----------------------------------------------------------
    def spec(self, size: int) -> TaskSpec:
        """The grid and vocabulary at ``size``; ValueError when the size is not allowed."""
        raise NotImplementedError

    def size_of(self, height: int, width: int) -> int:
        """The size whose grid is height x width tokens; ValueError when there is none."""
        raise NotImplementedError

    def spec_for_grid(self, height: int, width: int) -> TaskSpec:
        """The spec of a height x width grid (a non-square family overrides this)."""
        spec = self.spec(self.size_of(height, width))
        if spec.grid != (height, width):
            raise ValueError(f"{self.name} has no {height}x{width} grid")
        return spec

    def describe(self, size: int) -> str:
        return f"{self.name} {size}x{size}"

    def vocabulary(self, spec: TaskSpec) -> list[str]:
        """What each token id 0 .. vocab_size-1 means (stored in model files for readers)."""
        names = [f"value {self.token_offset + v}" for v in range(spec.num_values)]
        names += [f"context {v}" for v in range(spec.num_values, spec.mask_id)]
        return [*names, "mask"]

    # --- boards <-> tokens ------------------------------------------------------------
    def encode_puzzle(self, spec: TaskSpec, boards) -> np.ndarray:
        flat = _flat(boards)
        return np.where(flat == self.blank, spec.mask_id, flat - self.token_offset)

    def encode_solution(self, spec: TaskSpec, boards) -> np.ndarray:
        return _flat(boards) - self.token_offset

    def decode(self, spec: TaskSpec, tokens) -> np.ndarray:
        tokens = np.asarray(tokens).astype(np.int64)
        boards = np.where(tokens == spec.mask_id, self.blank, tokens + self.token_offset)
        return boards.reshape(tokens.shape[0], spec.height, spec.width)

    def unknown_mask(self, spec: TaskSpec, puzzles) -> np.ndarray:
        return _flat(puzzles) == self.blank

    def train_defaults(self, size: int, tiny: bool) -> dict:
        """Training options that suit this family at ``size`` (``tiny``: the CPU preset), over
        the generic defaults of ``models.train.default_config``."""
        return {}

    # --- generation -------------------------------------------------------------------
    def add_generate_args(self, parser: argparse.ArgumentParser) -> None:
        """Add this family's own flags to ``unmask generate NAME`` (size flag included)."""
        parser.add_argument(
            self.size_flag, dest="size", type=int, default=self.default_size, help=self.size_help
        )

    def generate_options(self, args: argparse.Namespace) -> tuple[TaskSpec, dict]:
        """(spec, options for ``generate``) from the flags of ``add_generate_args``. Raises
        UnmaskError naming the flag on a bad value."""
        from puzzles.errors import UnmaskError

        try:
            spec = self.spec(args.size)
        except ValueError as err:
            raise UnmaskError(f"{self.size_flag}: {err}") from None
        return spec, {}

    def generator_options(self, generator: str | None) -> dict:
        """``generate`` options that pick ``generator`` (a name in ``generators``; None: the
        default). ValueError on an unknown name."""
        if generator is None:
            return {}
        if generator not in self.generators:
            raise ValueError(
                f"{self.name} has no generator {generator!r}; choose one of "
                f"{', '.join(self.generators)}"
            )
        return {self.generator_option: generator} if self.generator_option else {}

    def generate_bytes(self, spec: TaskSpec, count: int) -> int:
        """About how much memory generating ``count`` puzzles of ``spec`` takes (the puzzles
        and solutions, twice over for the file being written)."""
        return 4 * count * spec.num_cells

    def generator_meta(self, spec: TaskSpec, options: dict) -> dict:
        """How the puzzles were made, for a dataset's metadata."""
        return {"name": f"{type(self).__module__}.generate_many", **options}

    def generate(self, rng: np.random.Generator, spec: TaskSpec, **options) -> Generated:
        """One uniquely solvable puzzle with its solution, drawn only from ``rng``."""
        raise NotImplementedError

    def random_example(
        self, rng: np.random.Generator, spec: TaskSpec
    ) -> tuple[np.ndarray, np.ndarray]:
        """A new (puzzle, solution) pair for training on fresh data, cheaper than ``generate``
        where the family can (Sudoku: a random complete grid and an empty puzzle)."""
        gen = self.generate(rng, spec)
        return gen.puzzle, gen.solution

    def generate_chunk(
        self, rng: np.random.Generator, spec: TaskSpec, first: int, count: int, **options
    ) -> list[Generated]:
        """``count`` puzzles from one stream; ``first`` is the index of the first one in the
        whole run (a family may vary its generator by index)."""
        return [self.generate(rng, spec, **options) for _ in range(count)]

    # --- text formats -----------------------------------------------------------------
    def sniff(self, text: str) -> bool:
        """Does this text look like this family's text format? (for files read without a task)"""
        return False

    def parse(
        self, text: str, path: str, *, answers: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Boards (N, H, W) from text, and solutions when the format carries them.

        ``answers=False`` reads puzzles strictly (a puzzle must be a puzzle); ``answers=True``
        reads grids leniently for a validator to judge. Raises ``PuzzleFormatError``.
        Default format: one board per line, one character per cell (``board_chars``)."""
        from puzzles import formats

        return formats.parse_char_grids(text, path, self.board_chars, blank=self.blank), None

    def format_text(self, boards: np.ndarray) -> str:
        """Boards (N, H, W) as text that ``parse`` reads back."""
        from puzzles import formats

        return formats.format_char_grids(boards, self.board_chars)

    @property
    def board_chars(self) -> str:
        """Default text format: character ``board_chars[code]`` writes board code ``code``
        (one board per line, row-major). Index ``blank`` is the blank character."""
        return ".123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: self.max_code + 1]

    def check_boards(self, boards: np.ndarray, path: str, what: str) -> None:
        """Raise UnmaskError unless ``boards`` (N, H, W) are this family's grids (npz files)."""
        from puzzles.errors import UnmaskError

        if boards.ndim != 3:
            raise UnmaskError(f"{path}: {what} must be (N, H, W), got shape {boards.shape}")
        if not np.issubdtype(boards.dtype, np.integer):
            raise UnmaskError(f"{path}: {what} must hold integers, got {boards.dtype}")
        try:
            self.size_of(*boards.shape[1:])
        except ValueError as err:
            raise UnmaskError(f"{path}: {what} are not {self.name} grids ({err})") from None
        if boards.size and (boards.min() < 0 or boards.max() > self.max_code):
            raise UnmaskError(f"{path}: {what} hold values outside 0..{self.max_code}")

    # --- exact checks -----------------------------------------------------------------
    def check_answer(self, puzzle: np.ndarray, answer: np.ndarray) -> str | None:
        """None when ``answer`` (H, W) solves ``puzzle`` (H, W), else a short reason naming the
        first failure found."""
        raise NotImplementedError

    def solve(self, puzzle: np.ndarray) -> np.ndarray | None:
        """An exact solution of ``puzzle`` (H, W), or None when it has none. Families without an
        exact solver raise NotImplementedError (then datasets must carry solutions)."""
        raise NotImplementedError

    def partial_check(self, spec: TaskSpec, tokens: torch.Tensor) -> PartialCheck:
        """Rule check of partial boards, tokens (B, L) with ``mask_id`` in cells still to fill,
        vectorised over the batch (see ``PartialCheck``). Default: no rules known."""
        import torch

        masked = tokens == spec.mask_id
        allowed = torch.ones(*tokens.shape, spec.num_values, dtype=torch.bool, device=tokens.device)
        return PartialCheck(masked, torch.zeros_like(masked), allowed)

    # --- symmetries -------------------------------------------------------------------
    def symmetry_key(self, board: np.ndarray) -> bytes:
        """A key equal for boards that one of the family's training symmetries maps onto each
        other (``symmetry_pool``), for checking held-out puzzles against training data. Exact
        (a canonical form) where the group is small enough to search; otherwise an invariant,
        so different boards may share a key and a shared key counts as an overlap: the check
        stays conservative. Default: the board itself (no symmetries)."""
        return np.ascontiguousarray(board, dtype=np.int8).tobytes()

    def symmetry_pool(
        self, rng: np.random.Generator, spec: TaskSpec, size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validity-preserving transforms for augmentation, as index arrays:
        ``cell_perm`` (P, L) and ``token_perm`` (P, vocab_size), such that
        ``token_perm[p][tokens[..., cell_perm[p]]]`` maps a (puzzle, solution) pair to another
        one. ``size`` is how many a family that draws them at random should draw; a family with
        a small group may return all of it. Default: the identity only."""
        L = spec.num_cells
        return np.arange(L)[None], np.arange(spec.vocab_size)[None]


def _flat(boards) -> np.ndarray:
    boards = np.asarray(boards)
    return boards.reshape(boards.shape[0], -1).astype(np.int64)


# --- registry ---------------------------------------------------------------------------------

_BUILTIN = {"sudoku": "puzzles.sudoku", "maze": "puzzles.maze"}
_REGISTRY: dict[str, Task] = {}
_plugins_loaded = False


def register_task(task: Task) -> Task:
    """Make ``task`` known under ``task.name`` (replacing an earlier one of that name)."""
    if not task.name or not task.name.isidentifier():
        raise ValueError(f"a task needs a name made of letters, digits and '_', got {task.name!r}")
    _REGISTRY[task.name] = task
    return task


def unregister_task(name: str) -> None:
    """Forget a registered task (tests that register a family clean up with this)."""
    _REGISTRY.pop(name, None)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in filter(None, (m.strip() for m in os.environ.get("UNMASK_TASKS", "").split(","))):
        importlib.import_module(module)
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group="unmask.tasks"):
            ep.load()
    except Exception as err:  # a broken plugin must not break the built-in tasks
        print(f"unmask: warning: a task plugin failed to load ({err})", file=sys.stderr)


def get_task(name: str) -> Task:
    """The task registered as ``name``; UnmaskError (a one-line message) when there is none."""
    task = _REGISTRY.get(name)
    if task is None and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
        task = _REGISTRY.get(name)
    if task is None:
        _load_plugins()
        task = _REGISTRY.get(name)
    if task is None:
        from puzzles.errors import UnmaskError

        raise UnmaskError(f"unknown task {name!r}; expected one of {', '.join(task_names())}")
    return task


def task_names() -> tuple[str, ...]:
    """Every known task: the built-in ones first, then the registered ones."""
    for module in _BUILTIN.values():
        importlib.import_module(module)
    _load_plugins()
    return tuple(dict.fromkeys([*_BUILTIN, *_REGISTRY]))


def tasks() -> list[Task]:
    return [get_task(n) for n in task_names()]


def spec_for(task: str, size: int) -> TaskSpec:
    """``spec_for("sudoku", 9)`` or ``spec_for("maze", 10)``; ValueError on a bad size."""
    return get_task(task).spec(size)


def infer_task(text: str, suffix: str) -> Task:
    """The family whose text format ``text`` looks like; else the first that reads ``suffix``
    (whose parser then says precisely what is wrong)."""
    candidates = [t for t in tasks() if suffix in t.suffixes]
    for t in candidates:
        if t.sniff(text):
            return t
    if candidates:
        return candidates[0]
    from puzzles.errors import UnmaskError

    raise UnmaskError(f"no task reads {suffix!r} files")


# --- the shared parallel generator ------------------------------------------------------------


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(task: Task, spec: TaskSpec, count: int, what: str) -> None:
    """UnmaskError, with the figures, when generating would not fit in memory."""
    need = task.generate_bytes(spec, count)
    have = available_memory()
    if have is not None and need > have:
        from puzzles.errors import UnmaskError

        raise UnmaskError(
            f"{what}: {count} {spec.describe()} puzzles need about {_human(need)} of memory and "
            f"{_human(have)} is available; ask for a smaller size or fewer puzzles"
        )


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def usable_cpus() -> int:
    """Cores this process may run on (the default number of generator workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_chunk(job) -> list[Generated]:
    name, spec, seed_seq, first, count, options = job
    task = get_task(name)
    return task.generate_chunk(np.random.default_rng(seed_seq), spec, first, count, **options)


def generate_many(
    task: Task | str,
    spec: TaskSpec,
    count: int,
    seed: int,
    *,
    workers: int | None = None,
    progress: bool = True,
    **options,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``count`` puzzles of ``spec`` in parallel, reproducibly.

    The run is cut into chunks of ``task.seed_chunk`` puzzles; chunk c draws from
    ``np.random.SeedSequence(seed).spawn(number of chunks)[c]``. The output depends only on
    (task, spec, count, seed, options), never on ``workers`` (default: every usable core).
    Shows a tqdm bar on stderr when ``progress``.

    Returns puzzles (N, H, W) int8, solutions (N, H, W) int8 and the per-puzzle ``extra``
    facts as one array per key (strings stay strings).
    """
    from tqdm import tqdm

    task = get_task(task) if isinstance(task, str) else task
    if isinstance(count, bool) or int(count) != count or count < 0:
        raise ValueError(f"count must be a whole number >= 0, got {count}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed}")
    count = int(count)
    workers = usable_cpus() if workers is None else workers
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    chunk = max(1, int(task.seed_chunk))
    starts = list(range(0, count, chunk))
    seqs = np.random.SeedSequence(int(seed)).spawn(len(starts))
    jobs = [
        (task.name, spec, seq, s, min(chunk, count - s), options)
        for seq, s in zip(seqs, starts, strict=True)
    ]
    puzzles = np.zeros((count, spec.height, spec.width), dtype=np.int8)  # (N, H, W)
    solutions = np.zeros((count, spec.height, spec.width), dtype=np.int8)
    records: list[dict] = []
    workers = min(int(workers), max(1, len(jobs)))
    bar = tqdm(
        total=count, desc=spec.describe(), unit="puzzle", file=sys.stderr, disable=not progress
    )
    with bar:
        pool = None
        if workers == 1:
            results = map(_run_chunk, jobs)
        else:
            import multiprocessing

            # fork: workers inherit the registry, so a family registered at run time works too
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
            pool = multiprocessing.get_context(method).Pool(workers)
            per_call = max(1, min(64, len(jobs) // (workers * 8)))
            results = pool.imap(_run_chunk, jobs, chunksize=per_call)  # keeps job order
        try:
            k = 0
            for part in results:
                for gen in part:
                    puzzles[k] = gen.puzzle
                    solutions[k] = gen.solution
                    records.append(gen.extra)
                    k += 1
                bar.update(len(part))
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    return puzzles, solutions, records_to_arrays(records)


def records_to_arrays(records: Sequence[dict]) -> dict[str, np.ndarray]:
    """Per-puzzle dicts -> one array per key (strings stay strings)."""
    if not records:
        return {}
    out = {}
    for key in records[0]:
        arr = np.asarray([r[key] for r in records])
        out[key] = arr.astype(str) if arr.dtype == object else arr
    return out


# --- exact checks of many answers --------------------------------------------------------------


def check_answers(spec: TaskSpec, puzzles: Any, answers: Any) -> list[str | None]:
    """Exact validation: None where ``answers[i]`` solves ``puzzles[i]``, else the reason.

    Both are boards (N, H, W) or tokens (N, H*W), numpy arrays or tensors; tokens are decoded
    with ``spec``.
    """
    task = spec.family

    def boards(x) -> np.ndarray:
        if hasattr(x, "detach"):  # a torch tensor, without importing torch here
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        return spec.decode(x) if x.ndim == 2 else x

    pairs = zip(boards(puzzles), boards(answers), strict=True)
    return [task.check_answer(p, a) for p, a in pairs]
