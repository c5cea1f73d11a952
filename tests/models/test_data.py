"""The masked-batch stream: deterministic per step, masks only unknown cells, valid augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from models.data import MaskedBatchStream, PuzzleSet, drop_overlap
from puzzles import maze, sudoku
from puzzles.task import get_task
from puzzles.tokens import OPEN


@pytest.fixture(scope="module")
def sudoku4():
    puzzles, solutions, _ = sudoku.generate_many(40, seed=5, box=2, progress=False)
    return get_task("sudoku").spec(4), PuzzleSet(puzzles, solutions, "test")


@pytest.fixture(scope="module")
def sudoku9():
    puzzles, solutions, _ = sudoku.generate_many(6, seed=6, box=3, progress=False)
    return get_task("sudoku").spec(9), PuzzleSet(puzzles, solutions, "test")


@pytest.fixture(scope="module")
def maze4():
    puzzles, solutions, _ = maze.generate_many(30, seed=7, h=4, progress=False)
    return get_task("maze").spec(4), PuzzleSet(puzzles, solutions, "test")


def _equal(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_batch_is_a_function_of_seed_rank_and_step(sudoku4):
    spec, data = sudoku4
    s = MaskedBatchStream(spec, data, 16, seed=1, clue_mask_prob=0.5)
    assert _equal(
        s.batch(7), MaskedBatchStream(spec, data, 16, seed=1, clue_mask_prob=0.5).batch(7)
    )
    assert not _equal(s.batch(7), s.batch(8))
    other_rank = MaskedBatchStream(spec, data, 16, seed=1, rank=1, clue_mask_prob=0.5)
    assert not _equal(s.batch(7), other_rank.batch(7))
    # Iteration from start_step k yields batch(k), batch(k+1), ...
    it = iter(MaskedBatchStream(spec, data, 16, seed=1, start_step=5, clue_mask_prob=0.5))
    assert _equal(next(it), s.batch(5)) and _equal(next(it), s.batch(6))


def test_workers_keep_the_step_order(sudoku4):
    spec, data = sudoku4
    stream = MaskedBatchStream(spec, data, 8, seed=2, start_step=3)
    loader = DataLoader(stream, batch_size=None, num_workers=2)
    got = []
    for batch in loader:
        got.append(batch)
        if len(got) == 4:
            break
    for k, batch in enumerate(got):
        assert _equal(batch, stream.batch(3 + k))


@pytest.mark.parametrize("fixture", ["sudoku4", "sudoku9"])
def test_sudoku_batches(fixture, request):
    spec, data = request.getfixturevalue(fixture)
    s = MaskedBatchStream(spec, data, 64, seed=3, clue_mask_prob=0.5)
    for step in range(3):
        b = s.batch(step)
        tokens, target, masked = b["tokens"], b["target"], b["masked"]
        assert tokens.shape == target.shape == masked.shape == (64, spec.num_cells)
        assert masked.sum(1).min() >= 1  # at least one scored cell per row
        assert torch.equal(tokens == spec.mask_id, masked)
        assert torch.equal(tokens[~masked], target[~masked])
        assert ((b["t"] > 0) & (b["t"] <= 1)).all()
        # Augmented targets are still valid complete grids.
        for grid in spec.decode(target.numpy()):
            assert sudoku.check_answer(grid, grid) is None


def test_sudoku_clue_masks_stay_inside_a_real_puzzles_blanks(sudoku4):
    """With clue_mask_prob=1 every masked cell is a blank of the (transformed) puzzle whose
    solution is the target, so each noisy input is a sub-puzzle of a uniquely solvable one."""
    spec, data = sudoku4
    s = MaskedBatchStream(spec, data, 64, seed=4, clue_mask_prob=1.0)
    b = s.batch(0)
    boards = spec.decode(b["tokens"].numpy())
    targets = spec.decode(b["target"].numpy())
    for board, target in zip(boards, targets, strict=True):
        assert sudoku.check_answer(board, target) is None  # givens agree with the target
    n_given = (b["tokens"] != spec.mask_id).sum(1)
    min_clues = int((data.puzzles != 0).reshape(len(data), -1).sum(1).min())
    assert int(n_given.min()) >= min_clues  # never fewer givens than the puzzle had


def test_sudoku_without_augmentation_uses_the_data_as_is(sudoku4):
    spec, data = sudoku4
    s = MaskedBatchStream(spec, data, 32, seed=4, augment=False)
    known = {row.tobytes() for row in spec.encode_solution(data.solutions)}
    assert all(row.tobytes() in known for row in s.batch(0)["target"].numpy())


def test_maze_batches_mask_only_open_cells_and_stay_valid(maze4):
    spec, data = maze4
    s = MaskedBatchStream(spec, data, 64, seed=5)
    b = s.batch(0)
    tokens, target, masked = b["tokens"], b["target"], b["masked"]
    assert masked.sum(1).min() >= 1
    assert (target[masked] <= 1).all()  # only OPEN/PATH cells are ever masked
    assert torch.equal(tokens[~masked], target[~masked])  # walls, S, G always visible
    # Rotated/reflected solutions are valid answers to the rotated puzzles.
    solutions = spec.decode(target.numpy())
    puzzles = np.where(np.isin(solutions, (OPEN, 1)), OPEN, solutions)
    assert all(maze.check_answer(p, a) is None for p, a in zip(puzzles, solutions, strict=True))
    # and the eight symmetries do occur
    starts = {int(np.flatnonzero(row == 3)[0]) for row in target.numpy()}
    assert len(starts) > 4


def test_drop_overlap():
    a = np.zeros((3, 4, 4), np.int8)
    a[1, 0, 0] = 1
    a[2, 0, 0] = 2
    val = PuzzleSet(np.stack([a[1], a[1] + 3]), np.stack([a[1], a[1]]), "v")
    kept, dropped = drop_overlap(PuzzleSet(a, a, "t"), val)
    assert dropped == 1 and len(kept) == 1 and kept.puzzles[0, 0, 0] == 4


# --- the same recipe made with torch on the training device (here the CPU) ---------------------


def test_device_batches_are_a_function_of_seed_rank_and_step(sudoku4):
    from models.data import DeviceBatches

    spec, data = sudoku4
    a = DeviceBatches(MaskedBatchStream(spec, data, 16, seed=1, clue_mask_prob=0.5))
    b = DeviceBatches(MaskedBatchStream(spec, data, 16, seed=1, clue_mask_prob=0.5))
    assert _equal(a.batch(7), b.batch(7)) and not _equal(a.batch(7), a.batch(8))
    other = DeviceBatches(MaskedBatchStream(spec, data, 16, seed=1, rank=1))
    assert not _equal(a.batch(7), other.batch(7))


@pytest.mark.parametrize("fixture", ["sudoku4", "sudoku9"])
@pytest.mark.parametrize("clue_mask_prob, fresh", [(0.5, 0.0), (1.0, 0.0), (0.0, 0.5)])
def test_device_batches_are_valid(fixture, clue_mask_prob, fresh, request):
    from models.data import DeviceBatches

    spec, data = request.getfixturevalue(fixture)
    s = DeviceBatches(MaskedBatchStream(spec, data, 64, 3, clue_mask_prob=clue_mask_prob,
                                        fresh=fresh))  # fmt: skip
    b = s.batch(2)
    tokens, target, masked = b["tokens"], b["target"], b["masked"]
    assert masked.sum(1).min() >= 1
    assert torch.equal(tokens == spec.mask_id, masked)
    assert torch.equal(tokens[~masked], target[~masked])
    known = {row.tobytes() for row in spec.encode_solution(data.solutions)}
    for grid in spec.decode(target.numpy()):
        assert sudoku.check_answer(grid, grid) is None  # augmented targets stay valid grids
    if clue_mask_prob == 1.0:  # every masked cell is a blank of a real puzzle
        for board, grid in zip(spec.decode(tokens.numpy()), spec.decode(target.numpy()),
                               strict=True):  # fmt: skip
            assert sudoku.check_answer(board, grid) is None
    if fresh:  # some rows are new grids, not (transformed) training solutions
        s0 = DeviceBatches(MaskedBatchStream(spec, data, 64, 3, augment=False, fresh=fresh))
        rows = s0.batch(2)["target"].numpy()
        assert 0 < sum(r.tobytes() not in known for r in rows) < 64


def test_device_batches_for_mazes(maze4):
    from models.data import DeviceBatches

    spec, data = maze4
    b = DeviceBatches(MaskedBatchStream(spec, data, 64, seed=5)).batch(0)
    target, masked = b["target"], b["masked"]
    assert (target[masked] <= 1).all() and masked.sum(1).min() >= 1
    solutions = spec.decode(target.numpy())
    puzzles = np.where(np.isin(solutions, (OPEN, 1)), OPEN, solutions)
    assert all(maze.check_answer(p, a) is None for p, a in zip(puzzles, solutions, strict=True))


def test_size_mix_alternates_grid_sizes_with_about_equal_cells():
    from models.data import SizeMix, rows_for

    small, big = get_task("maze").spec(2), get_task("maze").spec(4)
    parts = []
    for spec in (big, small):
        p, s, _ = maze.generate_many(10, seed=3, h=spec.size, progress=False)
        rows = rows_for(spec, big, 16)
        parts.append((spec.grid, MaskedBatchStream(spec, PuzzleSet(p, s, "t"), rows, seed=1)))
    mix = SizeMix(parts)
    a, b, c = mix.batch(0), mix.batch(1), mix.batch(2)
    assert a["grid"] == (9, 9) and b["grid"] == (5, 5) and c["grid"] == (9, 9)
    assert a["tokens"].shape == (16, 81) and b["tokens"].shape == (rows_for(small, big, 16), 25)
    assert abs(b["tokens"].numel() - a["tokens"].numel()) <= 25  # about the same cells per step
    it = iter(SizeMix(parts, start_step=1))
    assert _equal({k: v for k, v in next(it).items() if k != "grid"},
                  {k: v for k, v in b.items() if k != "grid"})  # fmt: skip
