"""Solving many puzzles: batches, devices, exact validation and retries.

Shared by ``unmask solve``, ``unmask bench`` and the pictures in ``viz`` (which get their traces
from ``trace_puzzle`` and never run a sampling loop of their own).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from puzzles.errors import UnmaskError
from puzzles.task import TaskSpec, check_answers
from sampling import rng
from sampling.options import SolveOptions, as_options
from sampling.samplers import Sampler
from sampling.search import EXHAUSTED, OVER_BUDGET, Search
from sampling.step import SampleResult


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu. A device this machine does not have (cuda
    without a GPU, a GPU index past the last, mps off a Mac) or a name torch does not know is a
    user error naming ``--device``."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UnmaskError(f"--device {name!r}: unknown device; use auto, cpu or cuda") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UnmaskError(f"--device {name}: torch sees no CUDA device here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UnmaskError(f"--device {name}: this machine has {torch.cuda.device_count()} "
                              "CUDA device(s)")  # fmt: skip
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise UnmaskError(f"--device {name}: this machine has no Apple GPU (use auto or cpu)")
    elif device.type != "cpu":
        raise UnmaskError(f"--device {name}: unmask runs on auto, cpu, cuda or mps")
    return device


def forward_fn(
    model: Callable, device: torch.device, compile: bool | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model as the samplers call it, float32 logits out: with ``compile`` (default: on
    CUDA) the bf16, compiled, bucketed ``sampling.fast.FastForward``; else eager, with bf16
    autocast on CUDA."""
    if device.type == "cuda" if compile is None else compile:
        from sampling.fast import fast_forward

        fast = fast_forward(model, device)
        if fast is not model:
            return fast
    if device.type != "cuda":
        return model

    def forward(tokens: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return model(tokens).float()  # (B, L, V)

    return forward


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _to_cpu(res: SampleResult) -> SampleResult:
    moved = {
        f.name: (v.cpu() if isinstance(v, torch.Tensor) else v)
        for f in dataclasses.fields(res)
        for v in [getattr(res, f.name)]
    }
    return type(res)(**moved)


def _cat(results: list[SampleResult]) -> SampleResult:
    """One result from per-batch results (tensors concatenated, frame lists joined)."""

    def cat(name: str):
        parts = [getattr(r, name) for r in results]
        if parts[0] is None:
            return None
        if isinstance(parts[0], list):
            return [x for part in parts for x in part]
        return torch.cat(parts)

    return type(results[0])(**{f.name: cat(f.name) for f in dataclasses.fields(results[0])})


def solve_tokens(
    model: Callable,
    spec: TaskSpec,
    puzzle_tokens: torch.Tensor,
    opts: SolveOptions | Sampler,
    *,
    generator: torch.Generator | None = None,
    row_seeds: torch.Tensor | None = None,
    record: bool | str = True,
    progress: bool = False,
) -> SampleResult:
    """Run ``opts`` (a ``SolveOptions``, or a bare sampler) over puzzle tokens (N, L) in batches
    of ``opts.batch_size`` on ``opts.device``, once (no retries).

    Row seeds (when the sampler draws) are fixed for all N rows before the first batch, from
    ``row_seeds`` or else ``generator``, so the answers do not depend on the batch size. With a
    search the result is a ``SearchResult``. ``record``: see ``sampling.step``. Returns one
    result for all N rows, on the CPU.
    """
    opts = as_options(opts)
    device = resolve_device(opts.device)
    N = puzzle_tokens.shape[0]
    if opts.sampler.needs_seeds(opts.temperature) and row_seeds is None:
        row_seeds = rng.draw_row_seeds(N, generator)
    fn = forward_fn(model, device, opts.compile)
    search, size = opts.searcher(spec.task), opts.batch_size
    results = []
    name = opts.sampler.name
    with tqdm(total=N, unit="puzzle", disable=not progress, desc=name, leave=False) as bar:
        for start in range(0, N, size):
            stop = min(start + size, N)
            tokens = puzzle_tokens[start:stop].to(device)  # (b, L)
            seeds = None if row_seeds is None else row_seeds[start:stop].to(device)
            results.append(_to_cpu(_solve_batch(fn, spec, tokens, opts, search, seeds, record)))
            bar.update(stop - start)
    if not results:
        L = puzzle_tokens.shape[1]
        empty = torch.zeros(0, L, dtype=torch.long)
        return SampleResult(empty, empty.clone(), torch.zeros(0, dtype=torch.long))
    return _cat(results)


def _solve_batch(fn, spec, tokens, opts: SolveOptions, search: Search | None, seeds, record):
    if search is not None:
        return search.run(fn, opts.sampler, spec, tokens, temperature=opts.temperature,
                          row_seeds=seeds, record=record, constrain=opts.constrain,
                          propagate=opts.propagate)  # fmt: skip
    return opts.sampler.sample(
        fn, tokens, spec.mask_id, grid=spec.grid, temperature=opts.temperature, row_seeds=seeds,
        record=record, constrain=constrainer(spec) if opts.rules else None,
        propagate=opts.propagate,
    )  # fmt: skip


def constrainer(spec: TaskSpec):
    """``tokens (A, L) -> allowed (A, L, V)`` from the task's partial-board check."""
    family = spec.family

    def allowed(tokens: torch.Tensor) -> torch.Tensor:
        return family.partial_check(spec, tokens).allowed

    return allowed


def explain_failures(spec: TaskSpec, puzzles: np.ndarray, reasons: list[str | None]) -> None:
    """In place: prefix the reason of every failed puzzle that has no solution at all with
    "unsolvable", found by the task's exact solver (only failures are checked)."""
    family = spec.family
    for i, reason in enumerate(reasons):
        if reason is None:
            continue
        try:
            solution = family.solve(puzzles[i])
        except NotImplementedError:
            return
        if solution is None:
            reasons[i] = f"unsolvable: the puzzle has no solution ({reason})"


@dataclass
class SolveReport:
    """What ``solve_puzzles`` found, per puzzle and in total.

    answers:  (N, H, W) boards, the last attempt's answer of every puzzle.
    reasons:  None where the answer is valid, else the validator's reason.
    nfe:      (N,) forward passes spent on the puzzle over all attempts (every branch of a
              search counted).
    attempts: (N,) attempts used (1 + retries spent).
    seconds:  wall time spent sampling (model load and validation excluded).
    branch_points, backtracks: (N,) what a search did (zeros without search).
    forward_calls: model calls over all batches and attempts: a batch makes as many calls as
              its slowest row has passes, so on a device where a call's cost hardly depends on
              how many rows it carries, wall time follows this, not the mean NFE.
    """

    answers: np.ndarray
    reasons: list[str | None]
    nfe: np.ndarray
    attempts: np.ndarray
    seconds: float
    branch_points: np.ndarray | None = None
    backtracks: np.ndarray | None = None
    forward_calls: int = 0

    def __post_init__(self) -> None:
        zeros = np.zeros(len(self.reasons), dtype=np.int64)
        if self.branch_points is None:
            self.branch_points = zeros
        if self.backtracks is None:
            self.backtracks = zeros.copy()

    @property
    def n(self) -> int:
        return len(self.reasons)

    @property
    def solved(self) -> int:
        return sum(r is None for r in self.reasons)

    def summary(self) -> dict:
        """n, solved, accuracy, mean/median/p90/max NFE, solved_at_0_nfe (valid answers no
        forward pass was needed for: with ``propagate`` the rules alone filled them), seconds,
        puzzles_per_second."""
        n = self.n
        return {
            "n": n,
            "solved": self.solved,
            "accuracy": self.solved / n if n else 0.0,
            "mean_nfe": float(self.nfe.mean()) if n else 0.0,
            "median_nfe": float(np.median(self.nfe)) if n else 0.0,
            "p90_nfe": float(np.percentile(self.nfe, 90)) if n else 0.0,
            "max_nfe": int(self.nfe.max()) if n else 0,
            "solved_at_0_nfe": sum(
                int(f) == 0 and r is None for f, r in zip(self.nfe, self.reasons, strict=True)
            ),
            "mean_branch_points": float(self.branch_points.mean()) if n else 0.0,
            "mean_backtracks": float(self.backtracks.mean()) if n else 0.0,
            "mean_attempts": float(self.attempts.mean()) if n else 0.0,
            "forward_calls": self.forward_calls,
            "seconds": self.seconds,
            "puzzles_per_second": n / self.seconds if self.seconds > 0 else float("inf"),
        }

    def per_puzzle(self) -> list[dict]:
        return [
            {"nfe": int(f), "branch_points": int(b), "backtracks": int(k), "valid": r is None,
             "attempts": int(a), "reason": r}
            for f, b, k, a, r in zip(self.nfe, self.branch_points, self.backtracks, self.attempts,
                                     self.reasons, strict=True)
        ]  # fmt: skip


def solve_puzzles(
    model: Callable,
    spec: TaskSpec,
    puzzles: np.ndarray,
    opts: SolveOptions | Sampler,
    *,
    progress: bool = False,
) -> SolveReport:
    """Solve puzzle boards (N, H, W) with ``opts``, validate exactly and retry the failures.

    Attempt 0 runs at ``opts.temperature``. Each retry re-samples, from the puzzle, only the
    rows whose answer failed the validator, at ``opts.later_temperature``; up to
    ``opts.retries`` times. Puzzle i's randomness in attempt a comes from
    ``sampling.rng.derive_seeds(opts.seed, i, a)``, so answers do not depend on the batch size.
    With a search, each attempt is a search (``sampling.search``) over the sampler's passes.
    """
    opts = as_options(opts)
    device = resolve_device(opts.device)
    puzzles = np.asarray(puzzles)
    N = len(puzzles)
    tokens = torch.from_numpy(spec.encode_puzzle(puzzles))  # (N, L)
    tally = _Tally(N, tokens.clone())
    todo = np.arange(N)
    for attempt in range(opts.retries + 1):
        if len(todo) == 0:
            break
        idx = torch.from_numpy(todo)
        temperature = opts.temperature if attempt == 0 else opts.later_temperature
        _sync(device)
        t0 = time.perf_counter()
        res = solve_tokens(model, spec, tokens[idx], dataclasses.replace(opts, temperature=temperature),
                           row_seeds=rng.derive_seeds(opts.seed, idx, attempt), progress=progress,
                           record=False)  # fmt: skip
        _sync(device)
        tally.seconds += time.perf_counter() - t0
        found = check_answers(spec, puzzles[todo], res.tokens)
        if opts.search != "none":
            found = _search_reasons(opts.max_nfe, res, found)
        todo = tally.add(todo, res, found, opts.batch_size)
    answers = spec.decode(tally.answer_tokens.numpy())
    explain_failures(spec, puzzles, tally.reasons)
    return SolveReport(answers, tally.reasons, tally.nfe, tally.attempts, tally.seconds,
                       tally.branch_points, tally.backtracks, tally.calls)  # fmt: skip


class _Tally:
    """What ``solve_puzzles`` adds up over attempts, per puzzle."""

    def __init__(self, n: int, answer_tokens: torch.Tensor):
        self.answer_tokens = answer_tokens
        self.nfe, self.attempts = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        self.branch_points, self.backtracks = np.zeros(n, np.int64), np.zeros(n, np.int64)
        self.reasons: list[str | None] = [None] * n
        self.calls, self.seconds = 0, 0.0

    def add(self, todo: np.ndarray, res, found: list[str | None], batch_size: int) -> np.ndarray:
        """Count one attempt over the puzzles ``todo``; returns those still failing."""
        self.answer_tokens[torch.from_numpy(todo)] = res.tokens
        self.nfe[todo] += res.nfe.numpy()
        # a batch makes as many model calls as its slowest row has passes
        self.calls += sum(int(res.nfe[i : i + batch_size].max())
                          for i in range(0, len(todo), batch_size))  # fmt: skip
        self.attempts[todo] += 1
        if getattr(res, "status", None) is not None:
            self.branch_points[todo] += res.branch_points.numpy()
            self.backtracks[todo] += res.backtracks.numpy()
        for i, reason in zip(todo.tolist(), found, strict=True):
            self.reasons[i] = reason
        failed = [i for i, r in zip(todo.tolist(), found, strict=True) if r is not None]
        return np.array(failed, dtype=np.int64)


def _search_reasons(max_nfe: int, res, found: list[str | None]) -> list[str | None]:
    """The validator's verdicts, with why the search stopped where it found no answer."""
    out = []
    for reason, status in zip(found, res.status.tolist(), strict=True):
        if reason is not None and status == OVER_BUDGET:
            reason = f"no valid answer within --max-nfe {max_nfe} forward passes ({reason})"
        elif reason is not None and status == EXHAUSTED:
            reason = f"search exhausted: no untried value left ({reason})"
        out.append(reason)
    return out


def warm_up(
    model: Callable,
    spec: TaskSpec,
    device: str | torch.device,
    batch_size: int,
    compile: bool | None = None,
) -> None:
    """Untimed forward passes (CUDA context, kernels, allocator; compiled shapes) before
    anything is timed: one per batch bucket up to ``batch_size`` when compiled."""
    device = resolve_device(device)
    fn = forward_fn(model, device, compile)
    sizes = [min(batch_size, 64)]
    if hasattr(fn, "buckets_seen"):
        from sampling.fast import bucket

        sizes = sorted({bucket(n) for n in (1 << k for k in range(13)) if n <= bucket(batch_size)})
    with torch.inference_mode():
        for n in sizes:
            fn(torch.full((n, spec.num_cells), spec.mask_id, device=device))
    _sync(device)


def trace_puzzle(
    model: Callable,
    spec: TaskSpec,
    board: np.ndarray,
    runs: list[tuple[str, SolveOptions | Sampler]],
    *,
    index: int = 0,
    record: bool | str = True,
) -> list[tuple[SampleResult, str]]:
    """Solve one puzzle board (H, W) once per (label, options) and keep the whole trace.

    Randomness is what ``unmask solve --seed SEED`` gives puzzle ``index`` on its first attempt,
    so a picture shows the same answer as the solve run. Returns, per run, the ``SampleResult``
    (one row, with entropies and probabilities at reveal; ``record`` "full" also keeps every
    pass, see ``sampling.step``) and the exact validator's verdict: "valid answer" or
    "invalid: <reason>".
    """
    tokens = torch.from_numpy(spec.encode_puzzle(board[None]))  # (1, L)
    out = []
    for _, opts in runs:
        opts = dataclasses.replace(as_options(opts), batch_size=1)
        seeds = rng.derive_seeds(opts.seed, torch.tensor([index]), 0)  # (1,)
        result = solve_tokens(model, spec, tokens, opts, row_seeds=seeds, record=record)
        reasons = check_answers(spec, board[None], result.tokens)
        if opts.search != "none":
            reasons = _search_reasons(opts.max_nfe, result, reasons)
        explain_failures(spec, board[None], reasons)
        out.append((result, "valid answer" if reasons[0] is None else f"invalid: {reasons[0]}"))
    return out


def load_for(checkpoint: str | None, spec: TaskSpec, device: torch.device | str, source: str):
    """The model for puzzles of ``spec`` (``checkpoint``, or by default the shipped model for
    the task and size, else the task's shipped any-size model), checked against their grid; a
    model that takes any grid size comes back bound to this one. ``source`` names the input in
    messages."""
    from models.checkpoint import load_model

    loaded = load_model(checkpoint, task=spec.task, size=spec.size, device=resolve_device(device))
    if loaded.spec.grid != spec.grid:
        same_vocab = (loaded.spec.num_values, loaded.spec.mask_id, loaded.spec.vocab_size) == (
            spec.num_values, spec.mask_id, spec.vocab_size)  # fmt: skip
        if not (loaded.model.any_size and same_vocab):
            raise UnmaskError(
                f"{source}: {spec.task} grids are {spec.height}x{spec.width} but the model "
                f"{loaded.path} expects {loaded.spec.height}x{loaded.spec.width}"
            )
        loaded = dataclasses.replace(loaded, model=_Bound(loaded.model, spec.grid), spec=spec)
    return loaded


class _Bound(torch.nn.Module):
    """An any-size denoiser fixed to one grid: ``model(tokens)`` as the samplers call it."""

    def __init__(self, model: torch.nn.Module, grid: tuple[int, int]):
        super().__init__()
        self.inner, self.grid = model, tuple(grid)
        self.cfg = model.cfg

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.inner(tokens, grid=self.grid)

    def num_parameters(self) -> int:
        return self.inner.num_parameters()
