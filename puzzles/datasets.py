"""Datasets of puzzles with optional solutions: save, load, split, and turn into tensors.

Files
    ``.npz``  one compressed archive holding ``puzzles`` (N, H, W) int8, ``solutions`` (same shape,
              when present), ``meta`` (a JSON string: task, size, generator, seed, difficulty
              summary, version, count, ...) and per-puzzle arrays ``extra.<name>`` (N, ...), such
              as difficulty scores or maze path lengths. Loads with ``allow_pickle=False``. The
              archive is written by hand with fixed zip timestamps, so the same dataset always
              gives the same bytes (``np.savez_compressed`` stamps the current time).
    ``.txt``  the puzzles in the text format of :mod:`puzzles.formats`, plus
              ``<stem>.solutions.txt`` beside it when there are solutions. Metadata and extras
              are not kept.
    ``.csv``  Sudoku only, read-only here: a ``puzzle``/``question`` column and optionally a
              ``solution``/``answer`` column.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from puzzles import formats
from puzzles.atomic import atomic_open
from puzzles.errors import UnmaskError
from puzzles.tokens import GOAL, TASKS, TaskSpec

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamp: identical inputs give identical bytes


@dataclass
class Dataset:
    """Puzzles of one task and size, with optional solutions and metadata.

    task: "sudoku" | "maze".
    puzzles: (N, H, W) int8 boards (Sudoku: 0 blank; maze: codes of :mod:`puzzles.tokens`).
    solutions: (N, H, W) int8 or None.
    meta: JSON-able dict (task, size, generator, seed, version, count, ...).
    extra: per-puzzle arrays, each (N, ...) (difficulty scores, path lengths, ...).
    """

    task: str
    puzzles: np.ndarray
    solutions: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {TASKS}")
        self.puzzles = np.asarray(self.puzzles)
        if self.puzzles.ndim != 3:
            raise ValueError(f"puzzles must be (N, H, W), got shape {self.puzzles.shape}")
        if self.solutions is not None:
            self.solutions = np.asarray(self.solutions)
            if self.solutions.shape != self.puzzles.shape:
                raise ValueError(
                    f"solutions {self.solutions.shape} do not match puzzles {self.puzzles.shape}"
                )
        for name, arr in self.extra.items():
            if len(arr) != len(self.puzzles):
                raise ValueError(f"extra {name!r} has {len(arr)} rows, expected {len(self)}")

    def __len__(self) -> int:
        return int(self.puzzles.shape[0])

    @property
    def size(self) -> int:
        """Sudoku: n (4, 9, 16). Maze: cells per side h (grid is 2h+1 tall)."""
        h = int(self.puzzles.shape[1])
        return h if self.task == "sudoku" else (h - 1) // 2

    def subset(self, index: np.ndarray) -> Dataset:
        """The puzzles at ``index`` (an int array), with their solutions and extras."""
        index = np.asarray(index, dtype=np.int64)
        meta = dict(self.meta)
        meta["count"] = int(len(index))
        return Dataset(
            self.task,
            self.puzzles[index],
            None if self.solutions is None else self.solutions[index],
            meta,
            {k: v[index] for k, v in self.extra.items()},
        )


# --- saving -----------------------------------------------------------------------------------


def _jsonable(obj):
    """Numpy scalars/arrays and tuples -> plain JSON types (sorted keys are applied on dump)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A deflated .npz archive of ``arrays`` with fixed member timestamps (deterministic)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            arr = np.asarray(arr)  # np.ascontiguousarray would turn a 0-d array into 1-d
            if not arr.flags.c_contiguous:
                arr = arr.copy(order="C")
            np.lib.format.write_array(member, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def solutions_path(path: str | os.PathLike) -> Path:
    """``data/x.txt`` -> ``data/x.solutions.txt``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.solutions{path.suffix}")


def save_dataset(path: str | os.PathLike, ds: Dataset) -> list[Path]:
    """Write ``ds`` to ``path`` (.npz, or .txt plus ``<stem>.solutions.txt``), atomically.

    The same dataset always gives byte-identical files. Returns the paths written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        meta = dict(ds.meta)
        meta.update(task=ds.task, size=ds.size, count=len(ds), format_version=FORMAT_VERSION)
        arrays = {"puzzles": ds.puzzles.astype(np.int8)}
        if ds.solutions is not None:
            arrays["solutions"] = ds.solutions.astype(np.int8)
        arrays["meta"] = np.array(json.dumps(_jsonable(meta), sort_keys=True))
        for name, arr in sorted(ds.extra.items()):
            arr = np.asarray(arr)
            if arr.dtype == object:
                arr = arr.astype(str)
            arrays[f"extra.{name}"] = arr
        data = _npz_bytes(arrays)
        with atomic_open(path, "wb") as f:
            f.write(data)
        return [path]
    if suffix == ".txt":
        write = formats.write_sudoku if ds.task == "sudoku" else formats.write_maze
        written = []
        if ds.solutions is not None:
            write(solutions_path(path), ds.solutions)
            written.append(solutions_path(path))
        write(path, ds.puzzles)
        return [path, *written]
    raise UnmaskError(f"{path}: unknown dataset suffix {path.suffix!r} (use .npz or .txt)")


# --- loading ----------------------------------------------------------------------------------


def _looks_like_maze(text: str) -> bool:
    """Maze text starts with a row of walls followed by a row of the same length framed by '#'.

    (Sudoku comment lines also start with '#', so a single '#' line is not enough.)
    """
    rows = [r.rstrip() for r in text.split("\n")]
    rows = [r for r in rows if r]
    if len(rows) < 2:
        return bool(rows) and set(rows[0]) == {"#"} and len(rows[0]) >= 5
    first, second = rows[0], rows[1]
    return (
        len(first) >= 5
        and set(first) == {"#"}
        and len(second) == len(first)
        and second[0] == second[-1] == "#"
        and set(second) != {"#"}
    )


def _check_values(task: str, boards: np.ndarray, path: str, name: str) -> None:
    if boards.ndim != 3:
        raise UnmaskError(f"{path}: {name} must be (N, H, W), got shape {boards.shape}")
    if not np.issubdtype(boards.dtype, np.integer):
        raise UnmaskError(f"{path}: {name} must hold integers, got {boards.dtype}")
    h, w = boards.shape[1:]
    if task == "sudoku":
        if h != w or h not in formats.SUDOKU_SIZES:
            raise UnmaskError(f"{path}: {name} are {h}x{w}, not a 4x4, 9x9 or 16x16 Sudoku")
        hi = h
    else:
        if h % 2 == 0 or w % 2 == 0 or h < 5 or w < 5:
            raise UnmaskError(f"{path}: {name} are {h}x{w}, not a (2h+1)x(2w+1) maze")
        hi = GOAL
    if boards.size and (boards.min() < 0 or boards.max() > hi):
        raise UnmaskError(f"{path}: {name} hold values outside 0..{hi}")


def _load_npz(path: Path, task: str | None) -> Dataset:
    name = str(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if "puzzles" not in keys or "meta" not in keys:
                raise UnmaskError(f"{name}: not an unmask dataset (no 'puzzles' or 'meta' array)")
            puzzles = z["puzzles"]
            solutions = z["solutions"] if "solutions" in keys else None
            meta_arr = z["meta"]
            if meta_arr.shape != () or meta_arr.dtype.kind != "U":
                raise UnmaskError(f"{name}: not an unmask dataset (bad 'meta' array)")
            meta = json.loads(meta_arr.item())
            extra = {k[len("extra.") :]: z[k] for k in sorted(keys) if k.startswith("extra.")}
    except UnmaskError:
        raise
    except FileNotFoundError:
        raise UnmaskError(f"{name}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise UnmaskError(f"{name}: not a readable .npz dataset ({err})") from None
    if not isinstance(meta, dict) or meta.get("task") not in TASKS:
        raise UnmaskError(f"{name}: dataset metadata names no task (sudoku or maze)")
    if task is not None and meta["task"] != task:
        raise UnmaskError(f"{name}: holds {meta['task']} puzzles, not {task}")
    _check_values(meta["task"], puzzles, name, "puzzles")
    if solutions is not None:
        _check_values(meta["task"], solutions, name, "solutions")
        if solutions.shape != puzzles.shape:
            raise UnmaskError(f"{name}: solutions {solutions.shape} != puzzles {puzzles.shape}")
    for k, v in extra.items():
        if len(v) != len(puzzles):
            raise UnmaskError(f"{name}: extra.{k} has {len(v)} rows for {len(puzzles)} puzzles")
    if solutions is not None:
        solutions = solutions.astype(np.int8)
    return Dataset(meta["task"], puzzles.astype(np.int8), solutions, meta, extra)


def read_answers(path: str | os.PathLike, task: str) -> np.ndarray:
    """Grids to be judged by a validator, read leniently: (N, H, W) int8.

    Text/CSV Sudoku answers may repeat digits or leave blanks; maze answers need not have one
    S and one G (the validator says what is wrong). From a CSV the solution/answer column is
    used when there is one, else the puzzle column; from an .npz its ``solutions``.
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        ds = _load_npz(path, task)
        if ds.solutions is None:
            raise UnmaskError(f"{path}: has no solutions array")
        return ds.solutions
    text = formats.read_text(path)
    if task == "sudoku":
        puzzles, solutions = formats.parse_sudoku_records(text, str(path), check_repeats=False)
        return puzzles if solutions is None else solutions
    if task == "maze":
        if path.suffix.lower() == ".csv":
            raise UnmaskError(f"{path}: mazes are read from text files, not CSV")
        return formats.parse_maze_text(text, str(path), check_endpoints=False)
    raise UnmaskError(f"unknown task {task!r}; expected one of {TASKS}")


def load_dataset(path: str | os.PathLike, task: str | None = None) -> Dataset:
    """Load a dataset from .npz, .txt or .csv; ``task`` None infers it (npz metadata or text).

    A .txt file picks up ``<stem>.solutions.txt`` beside it when present. Puzzles are read
    strictly (Sudoku clues may not repeat a digit; mazes need one S, one G and no path);
    solutions leniently, since validators judge them. Raises UnmaskError on any bad input.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if task is not None and task not in TASKS:
        raise UnmaskError(f"unknown task {task!r}; expected one of {TASKS}")
    if suffix == ".npz":
        return _load_npz(path, task)
    if suffix not in (".txt", ".csv"):
        raise UnmaskError(f"{path}: unknown dataset suffix {path.suffix!r} (use .npz, .txt, .csv)")
    text = formats.read_text(path)
    if task is None:
        task = "sudoku" if suffix == ".csv" or not _looks_like_maze(text) else "maze"
    solutions = None
    if task == "sudoku":
        puzzles, solutions = formats.parse_sudoku_records(text, str(path))
    else:
        if suffix == ".csv":
            raise UnmaskError(f"{path}: mazes are read from text files, not CSV")
        puzzles = formats.parse_maze_text(text, str(path), allow_path=False)
    sol_path = solutions_path(path)
    if solutions is None and suffix == ".txt" and sol_path.exists():
        solutions = read_answers(sol_path, task)
        if solutions.shape != puzzles.shape:
            raise UnmaskError(
                f"{sol_path}: {len(solutions)} solutions of size {solutions.shape[1]}x"
                f"{solutions.shape[2]} for {len(puzzles)} puzzles of size "
                f"{puzzles.shape[1]}x{puzzles.shape[2]} in {path}"
            )
    meta = {"task": task, "count": int(len(puzzles)), "source": path.name}
    ds = Dataset(task, puzzles, solutions, meta)
    ds.meta["size"] = ds.size
    return ds


# --- tensors and splits -------------------------------------------------------------------------


def to_tensors(spec: TaskSpec, ds: Dataset) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Model tokens for a dataset: (puzzle_tokens (N, L) int64, solution_tokens (N, L) or None).

    Unknown cells of the puzzles are ``spec.mask_id``; L = H*W row-major (see puzzles.tokens).
    """
    import torch  # only loaders touch torch in puzzles/

    if ds.task != spec.task or ds.puzzles.shape[1:] != (spec.height, spec.width):
        raise UnmaskError(
            f"dataset holds {ds.task} {ds.puzzles.shape[1]}x{ds.puzzles.shape[2]} grids but the "
            f"model expects {spec.task} {spec.height}x{spec.width}"
        )
    puzzle_tokens = torch.from_numpy(spec.encode_puzzle(ds.puzzles))  # (N, L) int64
    solution_tokens = None
    if ds.solutions is not None:
        solution_tokens = torch.from_numpy(spec.encode_solution(ds.solutions))  # (N, L) int64
    return puzzle_tokens, solution_tokens


def parse_split_spec(spec: str) -> dict[str, float]:
    """``"train=0.9,val=0.05,test=0.05"`` -> {"train": 0.9, "val": 0.05, "test": 0.05}.

    Names are letters, digits, '-' or '_'; fractions are positive and add up to 1.
    """
    fractions: dict[str, float] = {}
    for part in spec.split(","):
        name, eq, value = part.strip().partition("=")
        name = name.strip()
        if not eq or not name:
            raise UnmaskError(f"bad split {part.strip()!r}: expected NAME=FRACTION, e.g. train=0.9")
        if not name.replace("-", "").replace("_", "").isalnum() or not name.isascii():
            raise UnmaskError(f"bad split name {name!r}: use letters, digits, '-' or '_'")
        if name in fractions:
            raise UnmaskError(f"split {name!r} named twice")
        try:
            frac = float(value)
        except ValueError:
            raise UnmaskError(f"bad fraction {value.strip()!r} for split {name!r}") from None
        if not (0.0 < frac <= 1.0) or math.isnan(frac):
            raise UnmaskError(f"fraction for split {name!r} must lie in (0, 1], got {value}")
        fractions[name] = frac
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        raise UnmaskError(f"split fractions add up to {total:g}, not 1")
    return fractions


def _split_counts(total: int, fractions: dict[str, float]) -> list[int]:
    """Largest-remainder allocation of ``total`` items (ties go to the earlier split)."""
    exact = [total * f for f in fractions.values()]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def split_dataset(ds: Dataset, fractions: dict[str, float], seed: int) -> dict[str, Dataset]:
    """Split ``ds`` into named parts with no puzzle in two parts.

    Identical puzzles are first reduced to their first occurrence; the unique puzzles are then
    shuffled with ``seed`` and cut by ``fractions`` (largest-remainder rounding). Deterministic.
    Each part's meta records the split name, fractions, seed and duplicates removed.
    """
    flat = ds.puzzles.reshape(len(ds), -1)
    _, first = np.unique(flat, axis=0, return_index=True)
    unique = np.sort(first)  # first occurrences, in file order
    perm = unique[np.random.default_rng(seed).permutation(len(unique))]
    counts = _split_counts(len(unique), fractions)
    parts: dict[str, Dataset] = {}
    start = 0
    for (name, _), count in zip(fractions.items(), counts, strict=True):
        index = np.sort(perm[start : start + count])  # keep file order inside each part
        start += count
        part = ds.subset(index)
        part.meta["split"] = {
            "name": name,
            "fractions": dict(fractions),
            "seed": int(seed),
            "duplicates_removed": int(len(ds) - len(unique)),
        }
        parts[name] = part
    return parts
