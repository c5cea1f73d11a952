"""The shared parallel generator: any family's puzzles, reproducibly, on every core.

``generate_many(task, spec, count, seed, **options)`` cuts the run into chunks of
``task.seed_chunk`` puzzles; chunk c draws from ``np.random.SeedSequence(seed).spawn(number of
chunks)[c]``, so the output depends only on (task, spec, count, seed, options), never on the
number of workers. ``check_memory`` refuses, before any work, a run that would not fit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np

from puzzles.errors import UnmaskError
from puzzles.task import Generated, Task, TaskSpec, get_task


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
    check_fits(task.generate_bytes(spec, count), f"{what}: {count} {spec.describe()} puzzles need",
               "ask for a smaller size or fewer puzzles")  # fmt: skip


def check_fits(need: int, what: str, advice: str, share: float = 1.0) -> None:
    """UnmaskError "WHAT about N of memory and M is available; ADVICE" when ``need`` bytes are
    more than ``share`` of the memory available (nothing when that is unknown)."""
    have = available_memory()
    if have is not None and need > have * share:
        raise UnmaskError(f"{what} about {human_bytes(need)} of memory and {human_bytes(have)} "
                          f"is available; {advice}")  # fmt: skip


def human_bytes(n: float) -> str:
    """'1.2 GB' (powers of 1000)."""
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


def _whole(name: str, value, low: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value}")
    return int(value)


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
    """``count`` puzzles of ``spec`` in parallel, reproducibly (see the module docstring).

    ``workers`` defaults to every usable core; ``options`` go to ``task.generate_chunk``.
    Shows a tqdm bar on stderr when ``progress``. Returns puzzles (N, H, W) int8, solutions
    (N, H, W) int8 and the per-puzzle ``extra`` facts as one array per key (strings stay
    strings).
    """
    from tqdm import tqdm

    task = get_task(task) if isinstance(task, str) else task
    count, seed = _whole("count", count, 0), _whole("seed", seed, 0)
    workers = _whole("workers", usable_cpus() if workers is None else workers, 1)
    chunk = max(1, int(task.seed_chunk))
    starts = list(range(0, count, chunk))
    seqs = np.random.SeedSequence(seed).spawn(len(starts))
    jobs = [
        (task.name, spec, seq, s, min(chunk, count - s), options)
        for seq, s in zip(seqs, starts, strict=True)
    ]
    puzzles = np.zeros((count, spec.height, spec.width), dtype=np.int8)  # (N, H, W)
    solutions = np.zeros((count, spec.height, spec.width), dtype=np.int8)
    records: list[dict] = []
    workers = min(workers, max(1, len(jobs)))
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
