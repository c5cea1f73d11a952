"""Training data: puzzle/solution sets on disk or generated, and the masked-batch stream.

Every training batch is a pure function of (seed, rank, global step): the stream draws its
examples, symmetry transforms and masks from ``np.random.default_rng([seed, rank, step])``. A
run resumed from ``last.ckpt`` at step k therefore sees exactly the batches k, k+1, ... that
the uninterrupted run saw, with no data-loader state to save.

A batch is a dict of tensors:
    tokens  (B, L) long   the noisy input: masked cells hold ``mask_id``
    target  (B, L) long   the clean solution tokens
    masked  (B, L) bool   cells whose prediction is scored (at least one per row)
    t       (B,)   float  the masking rate drawn for each row

Masking (absorbing-state MDM): each row draws t ~ U(eps, 1) and masks each cell of its
*unknown set* U with probability t. U is every cell whose solution token is a value (maze walls,
S and G are context and stay visible; every Sudoku cell is a value), except that with
probability ``clue_mask_prob`` a row uses a real puzzle's blanks as U: its states then look like
the ones a sampler visits while solving that puzzle (all blanks masked at t near 1, a few left
at t near 0). Symmetries come from the task (``Task.symmetry_pool``): a pool of transforms per
batch, each row taking a random one.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset, get_worker_info

from models.config import TrainConfig
from puzzles.atomic import atomic_open
from puzzles.errors import UnmaskError
from puzzles.generate import check_memory, generate_many
from puzzles.task import TaskSpec

T_MIN = 1e-3  # lower end of t ~ U(T_MIN, 1): keeps the 1/t ELBO weight bounded
SYMMETRY_POOL = 64  # transforms a task draws per batch; each row takes a random one of them

# Distinct streams of np.random.SeedSequence([seed, stream]) for generated data.
_TRAIN_STREAM, _VAL_STREAM = 0x747261696E, 0x76616C


@dataclass
class PuzzleSet:
    """Puzzles and their solutions as boards (N, H, W) in ``puzzles`` conventions."""

    puzzles: np.ndarray
    solutions: np.ndarray
    source: str  # human-readable description for the model file's summary

    def __len__(self) -> int:
        return int(self.puzzles.shape[0])


def stream_seed(seed: int, stream: int) -> int:
    """A 32-bit seed for ``generate_many`` derived from the run seed and a stream id."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def generate_set(
    spec: TaskSpec,
    count: int,
    seed: int,
    generator: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> PuzzleSet:
    """Generate ``count`` puzzles with solutions for ``spec`` (reproducible from ``seed``);
    ``generator`` picks one of the task's generators (None: its default)."""
    family = spec.family
    options = family.generator_options(generator)
    check_memory(family, spec, count, "train: generating data")
    puzzles, solutions, _ = generate_many(
        family, spec, count, seed, workers=workers, progress=progress, **options
    )
    source = f"generated {count} {spec.describe()} (seed {seed})"
    if generator is not None:
        source += f" {generator}"
    return PuzzleSet(np.asarray(puzzles), np.asarray(solutions), source)


def load_set(spec: TaskSpec, paths: str, progress: bool = True) -> PuzzleSet:
    """Read dataset file(s) (comma-separated; ``puzzles.datasets.load_dataset``), check they fit
    ``spec`` and concatenate them. Puzzles without solutions are solved by the task's exact
    solver when it has one."""
    from puzzles.datasets import load_dataset

    puzzle_parts, solution_parts = [], []
    names = [p.strip() for p in str(paths).split(",") if p.strip()]
    for path in names:
        if not os.path.isfile(path):
            raise UnmaskError(f"{path}: dataset file not found")
        ds = load_dataset(path, task=spec.task)
        puzzles = np.asarray(ds.puzzles)
        if puzzles.ndim != 3 or puzzles.shape[1:] != (spec.height, spec.width):
            raise UnmaskError(
                f"{path}: holds {spec.task} grids of shape {tuple(puzzles.shape[1:])}, "
                f"expected {spec.height}x{spec.width} for size {spec.size}"
            )
        solutions = ds.solutions
        if solutions is None:
            solutions = _solve_all(spec, puzzles, path, progress)
        puzzle_parts.append(puzzles)
        solution_parts.append(np.asarray(solutions))
    if not names:
        raise UnmaskError("--data names no file")
    source = "file " + ", ".join(os.path.abspath(p) for p in names)
    return PuzzleSet(np.concatenate(puzzle_parts), np.concatenate(solution_parts), source)


def _solve_all(spec: TaskSpec, puzzles: np.ndarray, path: str, progress: bool) -> np.ndarray:
    from tqdm import tqdm

    family = spec.family
    out = np.zeros_like(puzzles)
    for k, board in enumerate(
        tqdm(puzzles, desc="solving", unit="puzzle", disable=not progress, leave=False)
    ):
        try:
            solution = family.solve(board)
        except NotImplementedError:
            raise UnmaskError(
                f"{path}: {spec.task} dataset has no solutions (save them with it)"
            ) from None
        if solution is None:
            raise UnmaskError(f"{path}: puzzle {k + 1} has no solution")
        out[k] = solution
    return out


def drop_overlap(train: PuzzleSet, val: PuzzleSet) -> tuple[PuzzleSet, int]:
    """Remove validation puzzles that also occur (exactly) in the training set."""
    seen = {p.tobytes() for p in train.puzzles.astype(np.int8)}
    keep = np.array([p.tobytes() not in seen for p in val.puzzles.astype(np.int8)], dtype=bool)
    dropped = int((~keep).sum())
    return PuzzleSet(val.puzzles[keep], val.solutions[keep], val.source), dropped


def build_sets(
    cfg: TrainConfig, spec: TaskSpec, progress: bool = True
) -> tuple[PuzzleSet, PuzzleSet, dict]:
    """Training and validation sets for a run, as ``cfg`` says; returns (train, val, info)."""
    info: dict = {}
    if cfg.data:
        train = load_set(spec, cfg.data, progress)
        if cfg.val_data:
            val = load_set(spec, cfg.val_data, progress)
        else:  # hold out a seeded random subset of the file
            if len(train) < 2 * cfg.val_size:
                raise UnmaskError(
                    f"{cfg.data}: {len(train)} puzzles is too few to hold out {cfg.val_size} "
                    "for validation; pass --val-data or a smaller --val-size"
                )
            order = np.random.default_rng([cfg.seed, _VAL_STREAM]).permutation(len(train))
            v, t = order[: cfg.val_size], np.sort(order[cfg.val_size :])
            val = PuzzleSet(train.puzzles[v], train.solutions[v], train.source + " (held out)")
            train = PuzzleSet(train.puzzles[t], train.solutions[t], train.source)
    else:
        train = generate_set(
            spec, cfg.train_size, stream_seed(cfg.seed, _TRAIN_STREAM), cfg.generator,
            progress=progress,
        )  # fmt: skip
        val = generate_set(
            spec, cfg.val_size, stream_seed(cfg.seed, _VAL_STREAM), cfg.generator,
            progress=progress,
        )  # fmt: skip
    val, dropped = drop_overlap(train, val)
    info["val_overlap_dropped"] = dropped
    if len(val) == 0:
        raise UnmaskError("every validation puzzle also occurs in the training set")
    return train, val, info


def worker_steps(start: int):
    """Global steps start, start+1, ... for this DataLoader worker: worker w of W takes steps
    start+w, start+w+W, ... (PyTorch's round-robin over workers keeps the step order)."""
    info = get_worker_info()
    step, stride = start, 1
    if info is not None:
        step, stride = start + info.id, info.num_workers
    while True:
        yield step
        step += stride


# --- the masked-batch stream ------------------------------------------------------------------


def masked_batch(
    spec: TaskSpec,
    target: torch.Tensor,
    puzzle: torch.Tensor,
    draws,
    *,
    clue_mask_prob: float = 0.0,
    augment: bool = True,
    fresh: float = 0.0,
) -> dict[str, torch.Tensor]:
    """The masking recipe (see the module docstring), once for every random source: solution
    and puzzle tokens (B, L) of the drawn rows in, the batch dict out. ``draws`` is where the
    randomness comes from (``_HostDraws``: numpy on the host, in DataLoader workers;
    ``_DeviceDraws``: a torch generator on the training device); both make a batch a pure
    function of (seed, rank, step)."""
    B, L = target.shape
    if fresh > 0:
        target, puzzle = draws.fresh_rows(spec, fresh, target, puzzle)
    if augment:
        cells, tokens = spec.family.symmetry_pool(draws.host, spec, min(B, SYMMETRY_POOL))
        which = draws.integers(len(cells), B)  # (B,)
        cells, tokens = draws.tensor(cells), draws.tensor(tokens)  # (P, L), (P, vocab)
        cell_perm, tok_perm = cells[which], tokens[which]  # (B, L), (B, vocab)
        # new[b, i] = tok_perm[b, old[b, cell_perm[b, i]]]
        target = tok_perm.gather(1, target.gather(1, cell_perm))
        puzzle = tok_perm.gather(1, puzzle.gather(1, cell_perm))
    unknown = target < spec.num_values  # (B, L) value cells; context stays visible
    if clue_mask_prob > 0:
        blanks = puzzle == spec.mask_id  # (B, L)
        use = (draws.uniform(B) < clue_mask_prob) & blanks.any(1)  # (B,)
        unknown = torch.where(use[:, None], blanks, unknown)
    t = T_MIN + (1.0 - T_MIN) * draws.uniform(B)  # (B,)
    u = draws.uniform(B, L)  # (B, L)
    masked = unknown & (u < t[:, None])
    # At least one masked cell per row: the unknown cell of largest tie-break value.
    empty = ~masked.any(1, keepdim=True)  # (B, 1)
    pick = torch.where(unknown, draws.tiebreak(u, empty), -1.0).argmax(1)  # (B,)
    masked = masked | (empty & (torch.arange(L, device=target.device) == pick[:, None]))
    tokens = torch.where(masked, spec.mask_id, target)  # (B, L)
    return {"tokens": tokens, "target": target, "masked": masked, "t": t.float()}


class _HostDraws:
    """The random source of ``MaskedBatchStream``: one numpy generator per (seed, rank, step),
    drawn from in the recipe's order (float64 uniforms, as numpy gives them)."""

    def __init__(self, rng: np.random.Generator):
        self.host = rng

    def tensor(self, array) -> torch.Tensor:
        return torch.from_numpy(np.asarray(array))

    def integers(self, high: int, n: int) -> torch.Tensor:
        return torch.from_numpy(self.host.integers(0, high, size=n))

    def uniform(self, *shape: int) -> torch.Tensor:
        return torch.from_numpy(self.host.random(shape))

    def tiebreak(self, u: torch.Tensor, empty: torch.Tensor) -> torch.Tensor:
        """Fresh uniforms for the rows that drew no mask (drawn only when there are any)."""
        return self.uniform(*u.shape) if bool(empty.any()) else u

    def fresh_rows(self, spec, share, target, puzzle):
        t, p = _with_fresh_rows(self.host, spec, share, target.numpy(), puzzle.numpy())
        return torch.from_numpy(t), torch.from_numpy(p)


class _DeviceDraws:
    """The random source of ``DeviceBatches``: a torch generator on the training device seeded
    per (seed, rank, step), and a numpy one on the host for the few host-side draws (a task's
    symmetry pool, new examples); no host sync per step."""

    def __init__(self, seed: int, rank: int, step: int, device: torch.device):
        self.device = device
        self.g = torch.Generator(device=device)
        self.g.manual_seed(_step_seed(seed, rank, step))
        self.host = np.random.default_rng([seed, rank, step])
        self.seed, self.step = seed, step

    def tensor(self, array) -> torch.Tensor:
        return torch.as_tensor(array, device=self.device)

    def integers(self, high: int, n: int) -> torch.Tensor:
        return torch.randint(0, high, (n,), generator=self.g, device=self.device)

    def uniform(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.g, device=self.device)

    def tiebreak(self, u: torch.Tensor, empty: torch.Tensor) -> torch.Tensor:
        return u

    def fresh_rows(self, spec, share, target, puzzle):
        """New examples are made on the host: a few rows' worth of numbers."""
        rows = np.flatnonzero(self.host.random(target.shape[0]) < share)
        if len(rows):
            zeros = np.zeros((len(rows), spec.num_cells), np.int64)
            t_new, p_new = _with_fresh_rows(np.random.default_rng([self.seed, self.step, 1]),
                                            spec, 1.0, zeros, zeros.copy())  # fmt: skip
            at = torch.as_tensor(rows, device=self.device)
            target = target.index_copy(0, at, self.tensor(t_new))
            puzzle = puzzle.index_copy(0, at, self.tensor(p_new))
        return target, puzzle


class MaskedBatchStream(IterableDataset):
    """Endless stream of training batches; batch k depends only on (seed, rank, k).

    Iteration starts at ``start_step``. With several DataLoader workers, worker w produces
    steps start+w, start+w+W, ...; PyTorch's round-robin over workers keeps the step order.
    """

    def __init__(
        self,
        spec: TaskSpec,
        data: PuzzleSet,
        batch_size: int,
        seed: int,
        rank: int = 0,
        start_step: int = 0,
        clue_mask_prob: float = 0.0,
        augment: bool = True,
        fresh: float = 0.0,
    ):
        super().__init__()
        self.fresh = fresh
        self.spec = spec
        self.puzzle_tokens = spec.encode_puzzle(data.puzzles)  # (N, L) int64
        self.target = spec.encode_solution(data.solutions)  # (N, L) int64
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.start_step = start_step
        self.clue_mask_prob = clue_mask_prob
        self.augment = augment

    def __iter__(self):
        return (self.batch(step) for step in worker_steps(self.start_step))

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        """The training batch for global step ``step`` on this rank."""
        rng = np.random.default_rng([self.seed, self.rank, step])
        idx = rng.integers(0, self.target.shape[0], size=self.batch_size)
        target = torch.from_numpy(self.target[idx])  # (B, L)
        puzzle = torch.from_numpy(self.puzzle_tokens[idx])
        return masked_batch(self.spec, target, puzzle, _HostDraws(rng), fresh=self.fresh,
                            clue_mask_prob=self.clue_mask_prob, augment=self.augment)  # fmt: skip


def _with_fresh_rows(rng, spec, share: float, target: np.ndarray, puzzle: np.ndarray):
    """Replace a ``share`` of the rows by new examples (``Task.random_example``)."""
    fresh = np.flatnonzero(rng.random(target.shape[0]) < share)
    if len(fresh):
        target, puzzle = target.copy(), puzzle.copy()
        for i in fresh.tolist():
            p, s = spec.family.random_example(rng, spec)
            target[i] = spec.encode_solution(s[None])[0]
            puzzle[i] = spec.encode_puzzle(p[None])[0]
    return target, puzzle


class SizeMix(IterableDataset):
    """Batches of several grid sizes for a model with rotary positions: step k is a whole batch
    of size ``sizes[k % len(sizes)]`` (bucketed: no padding), with about the same number of
    cells as a batch of the base size; each batch dict also carries its ``grid`` (H, W)."""

    def __init__(self, parts: list[tuple[tuple[int, int], object]], start_step: int = 0):
        super().__init__()
        self.parts, self.start_step = parts, start_step

    def batch(self, step: int) -> dict:
        grid, stream = self.parts[step % len(self.parts)]
        return {**stream.batch(step), "grid": grid}

    def __iter__(self):
        return (self.batch(step) for step in worker_steps(self.start_step))


def rows_for(spec: TaskSpec, base: TaskSpec, batch_size: int) -> int:
    """Rows of a ``spec`` batch holding about as many cells as ``batch_size`` rows of ``base``."""
    return max(1, round(batch_size * base.num_cells / spec.num_cells))


class StepStream(IterableDataset):
    """Endless global step numbers from ``start_step`` (Python ints): the batches themselves are
    made on the training device by ``DeviceBatches`` (``PuzzleDataModule.on_after_batch_transfer``)."""

    def __init__(self, start_step: int = 0):
        super().__init__()
        self.start_step = start_step

    def __iter__(self):
        step = self.start_step
        while True:
            yield {"step": step}
            step += 1


def _step_seed(seed: int, rank: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, rank, step, 0x746F7263]).generate_state(1)[0])


class DeviceBatches:
    """The masked-batch stream made with torch on the training device (no host work per step
    beyond drawing a task's symmetry pool, a few kB): the recipe of a ``MaskedBatchStream``
    (its data and knobs; a different random stream, ``_DeviceDraws``), and again a pure
    function of (seed, rank, step), so resuming replays it exactly. The puzzles live on the
    device once."""

    def __init__(self, recipe: MaskedBatchStream, device: torch.device | str = "cpu"):
        self.spec, self.batch_size, self.seed = recipe.spec, recipe.batch_size, recipe.seed
        self.rank, self.fresh = recipe.rank, recipe.fresh
        self.clue_mask_prob, self.augment = recipe.clue_mask_prob, recipe.augment
        self.device = torch.device(device)
        self.puzzle = torch.from_numpy(recipe.puzzle_tokens).to(self.device)  # (N, L)
        self.target = torch.from_numpy(recipe.target).to(self.device)

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        draws = _DeviceDraws(self.seed, self.rank, step, self.device)
        idx = draws.integers(self.target.shape[0], self.batch_size)
        return masked_batch(self.spec, self.target[idx], self.puzzle[idx], draws,
                            fresh=self.fresh, clue_mask_prob=self.clue_mask_prob,
                            augment=self.augment)  # fmt: skip


# --- the LightningDataModule ------------------------------------------------------------------


class PuzzleDataModule(L.LightningDataModule):
    """Training stream and validation puzzles for one run.

    ``prepare_data`` (one process per node) generates or reads the sets and caches them under
    ``DIR/data/``; ``setup`` (every process) loads the cache, so DDP ranks share one copy and a
    resumed run skips generation.
    """

    def __init__(
        self, cfg: TrainConfig, spec: TaskSpec, out_dir: str | os.PathLike, progress: bool = True
    ):
        super().__init__()
        self.cfg = cfg
        self.spec = spec
        self.cache_dir = Path(out_dir) / "data"
        self.progress = progress
        self.train_set: PuzzleSet | None = None
        self.val_set: PuzzleSet | None = None
        self.other_sizes: dict[int, PuzzleSet] = {}  # training sets of the --sizes besides this one
        self.device_batches: DeviceBatches | SizeMix | None = None
        self.info: dict = {}

    def _cache_key(self) -> str:
        c = self.cfg
        key = dict(task=c.task, size=c.size, seed=c.seed, data=c.data, val_data=c.val_data,
                   train_size=None if c.data else c.train_size, val_size=c.val_size,
                   generator=c.generator, sizes=c.sizes)  # fmt: skip
        return json.dumps(key, sort_keys=True)

    def _other_specs(self) -> dict[int, TaskSpec]:
        family = self.spec.family
        return {s: family.spec(s) for s in (self.cfg.sizes or []) if s != self.cfg.size}

    def _cache_valid(self) -> bool:
        path = self.cache_dir / "sets.npz"
        if not path.exists():
            return False
        try:
            with np.load(path) as z:
                return str(z["key"]) == self._cache_key()
        except (OSError, ValueError, KeyError):
            return False

    def prepare_data(self) -> None:
        if self._cache_valid():
            return
        cfg, by_size = self.cfg, {}
        if cfg.sizes and cfg.data:  # data files of several sizes: group them by grid size
            from puzzles.datasets import load_dataset

            for path in (p.strip() for p in cfg.data.split(",") if p.strip()):
                size = load_dataset(path, task=cfg.task).size
                if size not in cfg.sizes:
                    raise UnmaskError(f"{path}: holds size {size}, which --sizes leaves out")
                by_size.setdefault(size, []).append(path)
            if cfg.size not in by_size:
                raise UnmaskError(f"--data holds no file of the base size {cfg.size}")
            cfg = dataclasses.replace(cfg, data=",".join(by_size[cfg.size]))
        train, val, info = build_sets(cfg, self.spec, self.progress)
        others = {}
        for size, spec in self._other_specs().items():  # seeds apart from the base size's
            if by_size:
                if size not in by_size:
                    raise UnmaskError(f"--data holds no file of size {size} (in --sizes)")
                part = load_set(spec, ",".join(by_size[size]), self.progress)
            else:
                part = generate_set(spec, cfg.train_size, stream_seed(cfg.seed, 1000 + size),
                                    cfg.generator, progress=self.progress)  # fmt: skip
            others[f"train_puzzles_{size}"] = part.puzzles.astype(np.int8)
            others[f"train_solutions_{size}"] = part.solutions.astype(np.int8)
        with atomic_open(self.cache_dir / "sets.npz", "wb") as f:
            np.savez(
                f,
                key=np.array(self._cache_key()),
                info=np.array(json.dumps(info | {"train_source": train.source,
                                                 "val_source": val.source})),
                train_puzzles=train.puzzles.astype(np.int8),
                train_solutions=train.solutions.astype(np.int8),
                val_puzzles=val.puzzles.astype(np.int8),
                val_solutions=val.solutions.astype(np.int8),
                **others,
            )  # fmt: skip

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        with np.load(self.cache_dir / "sets.npz") as z:
            meta = json.loads(str(z["info"]))
            self.train_set = PuzzleSet(z["train_puzzles"], z["train_solutions"],
                                       meta.pop("train_source"))  # fmt: skip
            self.val_set = PuzzleSet(z["val_puzzles"], z["val_solutions"], meta.pop("val_source"))
            for size in self._other_specs():
                self.other_sizes[size] = PuzzleSet(
                    z[f"train_puzzles_{size}"], z[f"train_solutions_{size}"], f"generated {size}"
                )
        self.info = meta

    def _streams(self, device_batches: bool, rank: int, start: int, device) -> list:
        """(grid, stream) for the base size and every other --size."""
        c = self.cfg
        parts = [(self.spec, self.train_set)]
        parts += [(spec, self.other_sizes[size]) for size, spec in self._other_specs().items()]
        out = []
        for spec, data in parts:
            rows = rows_for(spec, self.spec, c.batch_size)
            stream = MaskedBatchStream(spec, data, rows, c.seed, rank=rank, start_step=start,
                                       clue_mask_prob=c.clue_mask_prob, augment=c.augment,
                                       fresh=c.fresh_grids)  # fmt: skip
            if device_batches:
                stream = DeviceBatches(stream, device)
            out.append((spec.grid, stream))
        return out

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        start = trainer.global_step if trainer is not None else 0
        rank = trainer.global_rank if trainer is not None else 0
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        parts = self._streams(self.cfg.device_batches, rank, start, device)
        if self.cfg.device_batches:
            self.device_batches = parts[0][1] if len(parts) == 1 else SizeMix(parts)
            return DataLoader(StepStream(start), batch_size=None)
        stream = parts[0][1] if len(parts) == 1 else SizeMix(parts, start)
        workers = self.cfg.num_workers
        return DataLoader(
            stream,
            batch_size=None,  # the stream yields whole batches
            num_workers=workers,
            persistent_workers=False,
            pin_memory=torch.cuda.is_available(),
            prefetch_factor=4 if workers > 0 else None,
        )

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        if isinstance(batch, dict) and set(batch) == {"step"}:  # a step of DeviceBatches
            return self.device_batches.batch(int(batch["step"]))
        return batch

    def val_dataloader(self) -> DataLoader:
        puzzles = torch.from_numpy(self.spec.encode_puzzle(self.val_set.puzzles))  # (N, L)
        solutions = torch.from_numpy(self.spec.encode_solution(self.val_set.solutions))
        return DataLoader(TensorDataset(puzzles, solutions), batch_size=256, shuffle=False)
