"""Datasets of puzzles with optional solutions: save, load and split, for any registered task.

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
    Text formats belong to each task (``Task.parse`` / ``Task.format_text``).
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from puzzles import formats
from puzzles.atomic import write_files
from puzzles.errors import UnmaskError
from puzzles.task import Task, get_task, infer_task

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
        get_task(self.task)  # an unknown task is an UnmaskError naming the known ones
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
    def family(self) -> Task:
        return get_task(self.task)

    @property
    def size(self) -> int:
        """The family's size (Sudoku: n; maze: cells per side h, the grid is 2h+1 tall)."""
        return self.family.size_of(*self.puzzles.shape[1:])

    @property
    def spec(self):
        """The ``TaskSpec`` of these grids."""
        return self.family.spec_for_grid(*self.puzzles.shape[1:])

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


def _npz_dataset_bytes(ds: Dataset) -> bytes:
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
    return _npz_bytes(arrays)


def solutions_path(path: str | os.PathLike) -> Path:
    """``data/x.txt`` -> ``data/x.solutions.txt``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.solutions{path.suffix}")


def dataset_files(path: str | os.PathLike, ds: Dataset) -> dict[Path, bytes]:
    """The files that ``save_dataset(path, ds)`` writes, as {path: bytes}, puzzles first."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return {path: _npz_dataset_bytes(ds)}
    if suffix == ".txt":
        files = {path: ds.family.format_text(ds.puzzles).encode()}
        if ds.solutions is not None:
            files[solutions_path(path)] = ds.family.format_text(ds.solutions).encode()
        return files
    raise UnmaskError(f"{path}: unknown dataset suffix {path.suffix!r} (use .npz or .txt)")


def save_dataset(path: str | os.PathLike, ds: Dataset) -> list[Path]:
    """Write ``ds`` to ``path`` (.npz, or .txt plus ``<stem>.solutions.txt``), atomically.

    The same dataset always gives byte-identical files. Returns the paths written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        write_files({path: _npz_dataset_bytes(ds)})
        return [path]
    if suffix == ".txt":
        files = dataset_files(path, ds)
        write_files(files)
        return list(files)
    raise UnmaskError(f"{path}: unknown dataset suffix {path.suffix!r} (use .npz or .txt)")


# --- loading ----------------------------------------------------------------------------------


def _load_npz(path: Path, task: str | None) -> Dataset:
    name = str(path)
    formats.check_input_file(path)
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
    if not isinstance(meta, dict) or not isinstance(meta.get("task"), str):
        raise UnmaskError(f"{name}: dataset metadata names no task")
    if task is not None and meta["task"] != task:
        raise UnmaskError(f"{name}: holds {meta['task']} puzzles, not {task}")
    family = get_task(meta["task"])
    family.check_boards(puzzles, name, "puzzles")
    if solutions is not None:
        family.check_boards(solutions, name, "solutions")
        if solutions.shape != puzzles.shape:
            raise UnmaskError(f"{name}: solutions {solutions.shape} != puzzles {puzzles.shape}")
    for k, v in extra.items():
        if len(v) != len(puzzles):
            raise UnmaskError(f"{name}: extra.{k} has {len(v)} rows for {len(puzzles)} puzzles")
    if solutions is not None:
        solutions = solutions.astype(np.int8)
    return Dataset(meta["task"], puzzles.astype(np.int8), solutions, meta, extra)


def _text_family(path: Path, task: str | None, text: str) -> Task:
    suffix = path.suffix.lower()
    family = infer_task(text, suffix) if task is None else get_task(task)
    if suffix not in family.suffixes:
        raise UnmaskError(
            f"{path}: {family.name} puzzles are read from "
            f"{', '.join([*family.suffixes, '.npz'])} files, not {path.suffix or 'no suffix'}"
        )
    return family


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
    family = _text_family(path, task, text)
    puzzles, solutions = family.parse(text, str(path), answers=True)
    return puzzles if solutions is None else solutions


def load_dataset(path: str | os.PathLike, task: str | None = None) -> Dataset:
    """Load a dataset from .npz or a family's text format (.txt, .csv); ``task`` None infers it
    (npz metadata, or the text's look).

    A .txt file picks up ``<stem>.solutions.txt`` beside it when present. Puzzles are read
    strictly (Sudoku clues may not repeat a digit; mazes need one S, one G and no path);
    solutions leniently, since validators judge them. Raises UnmaskError on any bad input.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if task is not None:
        get_task(task)
    if suffix == ".npz":
        return _load_npz(path, task)
    if suffix not in {s for t in _all_tasks() for s in t.suffixes}:
        known = sorted({s for t in _all_tasks() for s in t.suffixes} | {".npz"})
        raise UnmaskError(
            f"{path}: unknown dataset suffix {path.suffix!r} (use {', '.join(known)})"
        )
    text = formats.read_text(path)
    family = _text_family(path, task, text)
    puzzles, solutions = family.parse(text, str(path))
    sol_path = solutions_path(path)
    if solutions is None and suffix == ".txt" and sol_path.exists():
        solutions = read_answers(sol_path, family.name)
        if solutions.shape != puzzles.shape:
            raise UnmaskError(
                f"{sol_path}: {len(solutions)} solutions of size {solutions.shape[1]}x"
                f"{solutions.shape[2]} for {len(puzzles)} puzzles of size "
                f"{puzzles.shape[1]}x{puzzles.shape[2]} in {path}"
            )
    meta = {"task": family.name, "count": int(len(puzzles)), "source": path.name}
    ds = Dataset(family.name, puzzles, solutions, meta)
    ds.meta["size"] = ds.size
    return ds


def _all_tasks() -> list[Task]:
    from puzzles.task import tasks

    return tasks()


# --- splits -------------------------------------------------------------------------


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


# --- held out up to symmetry -------------------------------------------------------------------


def held_out_class(key: bytes, every: int) -> bool:
    """Is the symmetry class with this key (``Task.symmetry_key``) one of the held-out ones?
    One class in ``every``, chosen by a hash of the key (the same on every machine)."""
    import hashlib

    return int(hashlib.sha256(key).hexdigest(), 16) % every == 0


def split_by_class(ds: Dataset, every: int) -> tuple[Dataset, Dataset]:
    """(the puzzles of ``ds`` outside the held-out symmetry classes, those inside), so that a
    model trained on the first part never sees any symmetric copy of a puzzle of the second."""
    family = ds.family
    held = np.array([held_out_class(family.symmetry_key(p), every) for p in ds.puzzles], dtype=bool)
    return ds.subset(np.flatnonzero(~held)), ds.subset(np.flatnonzero(held))
