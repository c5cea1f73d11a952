"""Puzzle families behind one interface: ``Task``, its ``TaskSpec`` and the registry.

A *task* is one puzzle family (Sudoku, mazes, or one a user adds), and holds the puzzle alone:
its grid and vocabulary for a size (``spec``), its generators and their declared options
(``Options``: the flags of ``unmask generate NAME`` are made from them), its text format, its
exact answer check and solver, its partial-board check (used by search and ``--constrain``) and
its symmetries (training augmentation, held-out checks). How a family is trained, searched or
drawn lives with the code that does it (``models``, ``sampling``, ``viz``). Everything outside
the family's own module reaches it through ``get_task(name)`` (or ``spec.family``). Adding a
family is one module that subclasses ``Task`` and calls ``register_task``;
``tests/puzzles/test_plugin_task.py`` takes one (Latin squares) through generate, train, solve,
validate and animate with no change to the package.

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
    A name is registered once: a second family under a taken name is refused.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from puzzles import formats
from puzzles.errors import UnmaskError

if TYPE_CHECKING:
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
        default_size  size used when none is given
        size_help     what the size is ("grid side n: 4, 9 or 16"); the size option's help
        size_option   the field of ``Options`` that holds the size ("size"; mazes: "cells")
        token_offset  board code of a value cell = token + token_offset
        blank         board code of a cell to fill in a puzzle
        max_code      largest board code (file checks)
        suffixes      file suffixes the text format reads, besides .npz
        generators    generator names, default first
        generator_option  the field of ``Options`` that picks one of them (None: no choice)
        seed_chunk    puzzles drawn from one random stream by ``generate_many``
        Options       a frozen dataclass of the generator's options, each field declared with
                      ``puzzles.options.option`` (size included; its docstring is the
                      description of ``unmask generate NAME``); None: the size alone
    """

    name: str = ""
    title: str = ""
    default_size: int = 0
    size_help: str = "grid side"
    size_option: str = "size"
    token_offset: int = 0
    blank: int = 0
    max_code: int = 0
    suffixes: tuple[str, ...] = (".txt",)
    generators: tuple[str, ...] = ("default",)
    generator_option: str | None = None
    seed_chunk: int = 1
    Options: ClassVar[type | None] = None

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

    # --- generation -------------------------------------------------------------------
    def options(self) -> type:
        """The dataclass of this family's generator options (``Options``, or one holding only
        the size, declared from ``default_size`` and ``size_help``)."""
        if type(self).Options is None:
            from puzzles.argtypes import positive_int
            from puzzles.options import option

            size = option(self.default_size, help=self.size_help, type=positive_int)
            type(self).Options = dataclasses.make_dataclass(
                f"{type(self).__name__}Options", [("size", int, size)], frozen=True
            )
        return type(self).Options

    def split_options(self, opts) -> tuple[TaskSpec, dict]:
        """(spec, keyword options for ``generate``) from an ``options()`` object; ValueError
        when the size is not one of this family's."""
        values = dataclasses.asdict(opts)
        return self.spec(values.pop(self.size_option)), values

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
        return formats.parse_char_grids(text, path, self.board_chars, blank=self.blank), None

    def format_text(self, boards: np.ndarray) -> str:
        """Boards (N, H, W) as text that ``parse`` reads back."""
        return formats.format_char_grids(boards, self.board_chars)

    @property
    def board_chars(self) -> str:
        """Default text format: character ``board_chars[code]`` writes board code ``code``
        (one board per line, row-major). Index ``blank`` is the blank character."""
        return ".123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: self.max_code + 1]

    def check_boards(self, boards: np.ndarray, path: str, what: str) -> None:
        """Raise UnmaskError unless ``boards`` (N, H, W) are this family's grids (npz files):
        integers of a grid size the family has, within 0..max_code. A family whose text reader
        checks more (a maze's border, its S and G) checks the same here."""
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
    """Make ``task`` known under ``task.name``. A name already taken by another family is
    refused (ValueError); the same family imported again (its class has the same module and
    name) replaces itself."""
    if not task.name or not task.name.isidentifier():
        raise ValueError(f"a task needs a name made of letters, digits and '_', got {task.name!r}")
    old = _REGISTRY.get(task.name)
    if old is not None and _origin(old) != _origin(task):
        raise ValueError(
            f"task name {task.name!r} is taken by {_origin(old)}; {_origin(task)} cannot "
            "register it again (choose another name)"
        )
    _REGISTRY[task.name] = task
    return task


def _origin(task: Task) -> str:
    return f"{type(task).__module__}.{type(task).__qualname__}"


def _load_plugins() -> None:
    """Import the families named by ``UNMASK_TASKS`` and the ``unmask.tasks`` entry points.

    A plugin named in ``UNMASK_TASKS`` that fails (missing, raising, a bad name, a name clash)
    is an ``UnmaskError`` naming it; a broken installed entry point is a one-line warning, so
    a package the user did not name cannot stop every command."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    import os

    for module in filter(None, (m.strip() for m in os.environ.get("UNMASK_TASKS", "").split(","))):
        try:
            importlib.import_module(module)
        except Exception as err:  # any failure of the user's module is the user's input
            raise UnmaskError(
                f"UNMASK_TASKS: task plugin {module!r} failed to load: "
                f"{type(err).__name__}: {_one_line(err)}"
            ) from None
    try:
        from importlib.metadata import entry_points

        points = list(entry_points(group="unmask.tasks"))
    except Exception:  # a broken installation's metadata: no entry points
        points = []
    for ep in points:
        try:
            ep.load()
        except Exception as err:
            print(f"unmask: warning: task plugin {ep.value!r} (entry point {ep.name!r}) failed "
                  f"to load: {type(err).__name__}: {_one_line(err)}", file=sys.stderr)  # fmt: skip


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or "no message"


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


def infer_task(text: str, suffix: str) -> Task:
    """The family whose text format ``text`` looks like; else the first that reads ``suffix``
    (whose parser then says precisely what is wrong)."""
    candidates = [t for t in tasks() if suffix in t.suffixes]
    for t in candidates:
        if t.sniff(text):
            return t
    if candidates:
        return candidates[0]
    raise UnmaskError(f"no task reads {suffix!r} files")


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
