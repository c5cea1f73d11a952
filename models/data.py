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
from puzzles.task import TaskSpec, check_memory, generate_many

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


# --- the masked-batch stream ------------------------------------------------------------------


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
    ):
        super().__init__()
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
        info = get_worker_info()
        step, stride = self.start_step, 1
        if info is not None:
            step, stride = self.start_step + info.id, info.num_workers
        while True:
            yield self.batch(step)
            step += stride

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        """The training batch for global step ``step`` on this rank."""
        spec, B = self.spec, self.batch_size
        rng = np.random.default_rng([self.seed, self.rank, step])
        idx = rng.integers(0, self.target.shape[0], size=B)
        target = self.target[idx]  # (B, L)
        puzzle = self.puzzle_tokens[idx]  # (B, L)
        if self.augment:
            cells, tokens = spec.family.symmetry_pool(rng, spec, min(B, SYMMETRY_POOL))
            which = rng.integers(0, len(cells), size=B)  # (B,)
            cell_perm, tok_perm = cells[which], tokens[which]  # (B, L), (B, vocab)
            # new[b, i] = tok_perm[b, old[b, cell_perm[b, i]]]
            target = np.take_along_axis(tok_perm, np.take_along_axis(target, cell_perm, 1), 1)
            puzzle = np.take_along_axis(tok_perm, np.take_along_axis(puzzle, cell_perm, 1), 1)
        unknown = target < spec.num_values  # (B, L) value cells; context stays visible
        if self.clue_mask_prob > 0:
            blanks = puzzle == spec.mask_id  # (B, L)
            use_clues = (rng.random(B) < self.clue_mask_prob) & blanks.any(axis=1)  # (B,)
            unknown = np.where(use_clues[:, None], blanks, unknown)
        t = T_MIN + (1.0 - T_MIN) * rng.random(B)  # (B,)
        masked = unknown & (rng.random(unknown.shape) < t[:, None])  # (B, L)
        # At least one masked cell per row: a random unknown cell where none was drawn.
        empty = ~masked.any(axis=1)  # (B,)
        if empty.any():
            pick = np.argmax(np.where(unknown, rng.random(unknown.shape), -1.0), axis=1)  # (B,)
            masked[np.nonzero(empty)[0], pick[empty]] = True
        tokens = np.where(masked, spec.mask_id, target)  # (B, L)
        return {
            "tokens": torch.from_numpy(tokens),
            "target": torch.from_numpy(np.ascontiguousarray(target)),
            "masked": torch.from_numpy(masked),
            "t": torch.from_numpy(t.astype(np.float32)),
        }


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
        self.info: dict = {}

    def _cache_key(self) -> str:
        c = self.cfg
        key = dict(task=c.task, size=c.size, seed=c.seed, data=c.data, val_data=c.val_data,
                   train_size=None if c.data else c.train_size, val_size=c.val_size,
                   generator=c.generator)  # fmt: skip
        return json.dumps(key, sort_keys=True)

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
        train, val, info = build_sets(self.cfg, self.spec, self.progress)
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
            )  # fmt: skip

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        with np.load(self.cache_dir / "sets.npz") as z:
            meta = json.loads(str(z["info"]))
            self.train_set = PuzzleSet(z["train_puzzles"], z["train_solutions"],
                                       meta.pop("train_source"))  # fmt: skip
            self.val_set = PuzzleSet(z["val_puzzles"], z["val_solutions"], meta.pop("val_source"))
        self.info = meta

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        stream = MaskedBatchStream(
            self.spec,
            self.train_set,
            self.cfg.batch_size,
            self.cfg.seed,
            rank=trainer.global_rank if trainer is not None else 0,
            start_step=trainer.global_step if trainer is not None else 0,
            clue_mask_prob=self.cfg.clue_mask_prob,
            augment=self.cfg.augment,
        )
        workers = self.cfg.num_workers
        return DataLoader(
            stream,
            batch_size=None,  # the stream yields whole batches
            num_workers=workers,
            persistent_workers=False,
            pin_memory=torch.cuda.is_available(),
            prefetch_factor=4 if workers > 0 else None,
        )

    def val_dataloader(self) -> DataLoader:
        puzzles = torch.from_numpy(self.spec.encode_puzzle(self.val_set.puzzles))  # (N, L)
        solutions = torch.from_numpy(self.spec.encode_solution(self.val_set.solutions))
        return DataLoader(TensorDataset(puzzles, solutions), batch_size=256, shuffle=False)
